//! Making and steering campaigns (the business API): a request checked against the template
//! registry (approved, every recipient's parameters fitting, a marketing template carrying an
//! opt-out) and stored with its audience; pause, resume and cancel, each audited.

use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::campaign::{
    broadcastable, Audience, Campaign, CampaignState, CheckedCampaign, Control, ControlError,
    Offender, Unbroadcastable,
};
use crate::domain::ids::{ApiKeyId, CampaignId};
use crate::domain::tenant::Tenant;
use crate::store::{DataError, Store};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("the tenant has no template with this name and language")]
    TemplateNotFound,
    #[error(transparent)]
    Unbroadcastable(#[from] Unbroadcastable),
    #[error("{} recipient(s) do not fit the template", .0.len())]
    Recipients(Vec<Offender>),
    #[error("no campaign of this tenant has this id")]
    NotFound,
    #[error(transparent)]
    Control(ControlError),
    #[error("the campaign changed meanwhile; read it again and retry")]
    Conflict,
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Checks the request against the registry and stores the campaign (scheduled; the sender
/// starts it at `send_at`, or at once).
pub async fn create(
    store: &Store,
    tenant: &Tenant,
    by: &ApiKeyId,
    request: CheckedCampaign,
) -> Result<Campaign, CampaignError> {
    let template = store
        .template(
            &tenant.id,
            &request.template.name,
            &request.template.language,
        )
        .await?
        .ok_or(CampaignError::TemplateNotFound)?;
    broadcastable(&template)?;
    let offenders = request.offenders(&template);
    if !offenders.is_empty() {
        return Err(CampaignError::Recipients(offenders));
    }
    let now = store.now();
    let campaign = Campaign {
        id: CampaignId::generate(),
        tenant: tenant.id.clone(),
        name: request.name.clone(),
        template: template.reference(),
        category: template.category,
        defaults: request.defaults.clone(),
        audience: request.audience,
        recipients: u32::try_from(request.listed.len()).unwrap_or(u32::MAX),
        resolved: request.audience == Audience::Listed,
        prepared_chunks: 0,
        prepared: false,
        progress: 0,
        look_again_at: None,
        send_at: request.send_at.unwrap_or(now),
        created_at: now,
        created_by: by.clone(),
        state: CampaignState::Scheduled,
        reason: None,
        state_at: now,
    };
    let audit = AuditEvent::new(
        tenant.id.clone(),
        Actor::ApiKey(by.clone()),
        "campaign.created",
        None,
        now,
    )
    .with_detail(json!({
        "campaign": campaign.id,
        "template": {"name": campaign.template.name, "language": campaign.template.language},
        "recipients": campaign.recipients,
        "send_at": campaign.send_at.to_rfc3339(),
    }));
    store
        .create_campaign(&campaign, &request.listed, &audit)
        .await?;
    Ok(campaign)
}

/// Pauses, resumes or cancels a campaign (audited when it changes anything).
pub async fn control(
    store: &Store,
    tenant: &Tenant,
    id: &CampaignId,
    control: Control,
    actor: &Actor,
) -> Result<Campaign, CampaignError> {
    for _ in 0..3 {
        let mut campaign = store
            .campaign(&tenant.id, id)
            .await?
            .ok_or(CampaignError::NotFound)?;
        let changed = campaign
            .value
            .control(control, store.now())
            .map_err(CampaignError::Control)?;
        if !changed {
            return Ok(campaign.value);
        }
        let action = match control {
            Control::Pause => "campaign.paused",
            Control::Resume => "campaign.resumed",
            Control::Cancel => "campaign.cancelled",
        };
        let audit = AuditEvent::new(tenant.id.clone(), actor.clone(), action, None, store.now())
            .with_detail(json!({ "campaign": id }));
        if store.save_campaign(&campaign, Some(&audit)).await? {
            return Ok(campaign.value);
        }
    }
    Err(CampaignError::Conflict)
}

/// Pauses every active campaign of `tenant` that broadcasts `template` (Meta paused, disabled
/// or rejected it), saying why; returns how many were paused.
pub async fn pause_using(
    store: &Store,
    tenant: &crate::domain::ids::TenantId,
    template: &crate::domain::template::TemplateRef,
    reason: &str,
) -> Result<u32, DataError> {
    let mut paused = 0;
    for (_, id) in store.active_campaigns(Some(tenant)).await? {
        let Some(mut campaign) = store.campaign(tenant, &id).await? else {
            continue;
        };
        if campaign.value.template != *template || !campaign.value.pause_for(reason, store.now()) {
            continue;
        }
        let audit = AuditEvent::new(
            tenant.clone(),
            Actor::System("meta".into()),
            "campaign.paused",
            None,
            store.now(),
        )
        .with_detail(json!({ "campaign": id, "reason": reason }));
        // A campaign that changed meanwhile is seen paused by the sender's own check.
        if store.save_campaign(&campaign, Some(&audit)).await? {
            paused += 1;
        }
    }
    Ok(paused)
}
