//! Sending campaigns: each active campaign in turn, its recipients in order, each claimed before
//! the Graph API call (exactly once, whatever crashes or concurrent senders do), asked of the
//! outbound gate with the contact as it is at that moment, paced per business number, and its
//! outcome recorded with the campaign's counters. Meta's answers decide what happens next:
//! throttling waits, 131049 defers a recipient 24 hours (once), 131050 records the opt-out,
//! template errors pause the campaign, a timed-out send is `unknown`, never repeated.

use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::campaign::{
    broadcastable, Campaign, CampaignState, Recipient, RecipientState, Skip, DEFER_FOR,
};
use crate::domain::consent::ConsentEvent;
use crate::domain::ids::{CampaignId, PhoneNumberId, TenantId};
use crate::domain::message::{CampaignLink, DeliveryError, Message, MessageContent};
use crate::domain::personal::Personal;
use crate::domain::template::{fill, Template};
use crate::domain::time::Timestamp;
use crate::ports::messenger::{Messenger, OutboundBody, OutboundSend, Recipient as To, SendError};
use crate::store::{DataError, Store, Versioned, AUDIENCE_CHUNK};
pub use crate::workflows::pacing::{Pacer, PACING_WINDOW};
use crate::workflows::persons_gate;
use serde::Serialize;
use std::time::Duration;

/// Meta's template errors: the campaign stops until a person fixes the template and resumes.
pub const TEMPLATE_ERRORS: &[i64] = &[132000, 132001, 132015, 132016];
pub const PER_USER_MARKETING_LIMIT: i64 = 131049;
/// How long a claimed recipient may stay `sending` before a completing campaign reports it
/// `unknown` (its sender crashed mid-call: it may have gone out, it is never sent again).
pub const STUCK_AFTER: Duration = Duration::from_secs(120);
/// Audience chunks one turn turns into recipient records (a turn stays well within a Lambda
/// invocation on DynamoDB).
pub const PREPARE_CHUNKS_PER_TURN: u32 = 5;

/// What one turn of the sender did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TurnReport {
    pub campaigns: u32,
    pub sent: u32,
    pub skipped: u32,
    pub failed: u32,
    pub deferred: u32,
    pub unknown: u32,
    /// Given back after a retryable failure (throttling, 5xx): sent on a later turn.
    pub released: u32,
    pub paused: u32,
    pub completed: u32,
    /// Recipients whose records were made (at most a chunk's worth over the true number).
    pub prepared: u32,
    /// Campaigns that could not go on (state `failed`).
    pub failed_campaigns: u32,
}

impl TurnReport {
    /// Whether the turn did anything to a recipient (a sender with nothing left to do stops
    /// taking turns).
    pub fn worked(&self) -> bool {
        self.sent + self.skipped + self.failed + self.deferred + self.unknown + self.prepared > 0
    }

    /// Adds another turn's counts (`campaigns`: the most any turn saw).
    pub fn absorb(&mut self, turn: &TurnReport) {
        self.campaigns = self.campaigns.max(turn.campaigns);
        self.sent += turn.sent;
        self.skipped += turn.skipped;
        self.failed += turn.failed;
        self.deferred += turn.deferred;
        self.unknown += turn.unknown;
        self.released += turn.released;
        self.paused += turn.paused;
        self.completed += turn.completed;
        self.prepared += turn.prepared;
        self.failed_campaigns += turn.failed_campaigns;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CampaignSendError {
    #[error(transparent)]
    Data(#[from] DataError),
}

/// The sender's dependencies.
pub struct CampaignSender<'a> {
    pub store: &'a Store,
    pub messenger: &'a dyn Messenger,
    pub pacer: &'a Pacer,
    /// The most recipients one campaign gets per turn (so one campaign does not starve others).
    pub batch: u32,
    /// When this sender started. Campaigns have one sender at a time (the runner's one process;
    /// on AWS a function with a reserved concurrency of 1): a claim older than this is a crashed
    /// sender's.
    pub started_at: Timestamp,
}

impl CampaignSender<'_> {
    /// One turn over every active campaign.
    pub async fn turn(&self) -> Result<TurnReport, CampaignSendError> {
        let mut report = TurnReport::default();
        for (tenant, id) in self.store.active_campaigns(None).await? {
            report.campaigns += 1;
            match self.run(&tenant, &id, &mut report).await {
                Ok(()) => {}
                // Retrying cannot help (its audience unreadable, a record that does not
                // decode): this campaign fails, saying why, and the others go on.
                Err(CampaignSendError::Data(e)) if !e.is_retryable() => {
                    self.fail(&tenant, &id, &e, &mut report).await?;
                }
                Err(e) => return Err(e),
            }
        }
        if report.worked() || report.released + report.paused + report.completed > 0 {
            tracing::info!(
                campaigns = report.campaigns,
                sent = report.sent,
                skipped = report.skipped,
                failed = report.failed,
                deferred = report.deferred,
                unknown = report.unknown,
                released = report.released,
                paused = report.paused,
                completed = report.completed,
                prepared = report.prepared,
                failed_campaigns = report.failed_campaigns,
                "campaign sender turn"
            );
        }
        Ok(report)
    }

    /// Sends up to `batch` recipients of one campaign.
    pub async fn run(
        &self,
        tenant_id: &TenantId,
        id: &CampaignId,
        report: &mut TurnReport,
    ) -> Result<(), CampaignSendError> {
        let store = self.store;
        let Some(mut campaign) = store.campaign(tenant_id, id).await? else {
            // Purged (its retention ended, or its account closed) while still listed.
            store.forget_active_campaign(tenant_id, id).await?;
            return Ok(());
        };
        let now = store.now();
        if !campaign.value.is_sending(now) {
            return Ok(());
        }
        let Some(tenant) = store.tenant(tenant_id).await? else {
            return Ok(());
        };
        if !tenant.is_active() {
            // Paused, not cancelled: a reopened account resumes it if it wants.
            self.pause(&mut campaign, "the account is closed".into(), report)
                .await?;
            return Ok(());
        }
        // The template as it is now: one Meta paused or disabled stops the campaign.
        let template = store
            .template(
                tenant_id,
                &campaign.value.template.name,
                &campaign.value.template.language,
            )
            .await?;
        let Some(template) = template else {
            self.pause(&mut campaign, "the template is deleted".into(), report)
                .await?;
            return Ok(());
        };
        // Meta may pause, disable or recategorize a template (a marketing one must carry an
        // opt-out).
        if let Err(e) = broadcastable(&template) {
            self.pause(&mut campaign, e.to_string(), report).await?;
            return Ok(());
        }
        let template = &template;
        let Some(from) = tenant.phone_numbers.first().cloned() else {
            self.pause(
                &mut campaign,
                "the tenant has no WhatsApp number".into(),
                report,
            )
            .await?;
            return Ok(());
        };
        if !campaign.value.prepared {
            let ready = self.prepare(&mut campaign, report).await? && campaign.value.prepared;
            if !ready {
                return Ok(()); // more to prepare on the next turn, or changed meanwhile
            }
        }
        if campaign.value.state == CampaignState::Scheduled {
            campaign.value.state = CampaignState::Running;
            campaign.value.state_at = now;
            if !self.save(&mut campaign).await? {
                return Ok(()); // changed meanwhile (paused, cancelled): the next turn sees it
            }
        }
        let rate = tenant.settings.messages_per_second;
        let end = campaign
            .value
            .recipients
            .min(campaign.value.progress.saturating_add(self.batch));
        let mut progress = campaign.value.progress;
        let mut stop = None;
        while progress < end {
            // A pause or cancel takes effect before the next recipient.
            let now_sending = store
                .campaign(tenant_id, id)
                .await?
                .is_some_and(|c| c.value.is_sending(store.now()));
            if !now_sending {
                break;
            }
            match self
                .recipient_turn(&campaign.value, template, &from, rate, progress, report)
                .await?
            {
                Turn::Done => progress += 1,
                Turn::Stop(reason) => {
                    stop = reason;
                    break;
                }
            }
        }
        let progressed = progress != campaign.value.progress;
        campaign.value.progress = progress;
        if let Some(reason) = stop {
            self.pause(&mut campaign, reason, report).await?;
            return Ok(());
        }
        if progress >= campaign.value.recipients {
            // Once only deferred or claimed recipients are left, the campaign rests until the
            // first of them may need the sender (no pass over every recipient each turn).
            if campaign.value.look_again_at.is_some_and(|at| at > now) {
                return Ok(());
            }
            self.finish_or_retry_deferred(&mut campaign, template, &from, rate, report)
                .await?;
        } else if progressed {
            self.save(&mut campaign).await?;
        }
        Ok(())
    }

    /// One step of preparing a campaign that starts: a segment resolved into its audience, then
    /// up to [`PREPARE_CHUNKS_PER_TURN`] chunks of the audience turned into recipient records.
    /// `false` when the campaign changed meanwhile (the next turn sees it).
    async fn prepare(
        &self,
        campaign: &mut Versioned<Campaign>,
        report: &mut TurnReport,
    ) -> Result<bool, DataError> {
        let store = self.store;
        if !campaign.value.audience_resolved() {
            campaign.value.recipients = store.resolve_marketing_segment(&campaign.value).await?;
            campaign.value.resolved = true;
            if !self.save(campaign).await? {
                return Ok(false);
            }
        }
        let chunks = campaign.value.recipients.div_ceil(AUDIENCE_CHUNK as u32);
        let from = campaign.value.prepared_chunks;
        let to = chunks.min(from + PREPARE_CHUNKS_PER_TURN);
        store.prepare_recipients(&campaign.value, from..to).await?;
        campaign.value.prepared_chunks = to;
        campaign.value.prepared = to == chunks;
        report.prepared += (to - from) * AUDIENCE_CHUNK as u32;
        if !self.save(campaign).await? {
            return Ok(false);
        }
        if campaign.value.prepared {
            // Every recipient has its own record now (which erasure finds): the audience is
            // not kept beside them.
            store.forget_campaign_audience(&campaign.value).await?;
        }
        Ok(true)
    }

    /// Marks a campaign `failed` for an error retrying cannot mend, audited.
    async fn fail(
        &self,
        tenant: &TenantId,
        id: &CampaignId,
        error: &DataError,
        report: &mut TurnReport,
    ) -> Result<(), DataError> {
        tracing::error!(error = %error, "a campaign cannot go on and fails");
        let Some(mut campaign) = self.store.campaign(tenant, id).await? else {
            return Ok(());
        };
        let now = self.store.now();
        let reason = format!("Mizan could not go on: {error}");
        if !campaign.value.fail_for(reason.clone(), now) {
            return Ok(());
        }
        let audit = AuditEvent::new(
            tenant.clone(),
            Actor::System("campaign-sender".into()),
            "campaign.failed",
            None,
            now,
        )
        .with_detail(serde_json::json!({ "campaign": id, "reason": reason }));
        if self.store.save_campaign(&campaign, Some(&audit)).await? {
            report.failed_campaigns += 1;
        }
        Ok(())
    }

    async fn save(&self, campaign: &mut Versioned<Campaign>) -> Result<bool, DataError> {
        let saved = self.store.save_campaign(campaign, None).await?;
        if saved {
            campaign.version += 1;
        }
        Ok(saved)
    }

    async fn pause(
        &self,
        campaign: &mut Versioned<Campaign>,
        reason: String,
        report: &mut TurnReport,
    ) -> Result<(), DataError> {
        if campaign.value.pause_for(reason.clone(), self.store.now()) {
            let audit = AuditEvent::new(
                campaign.value.tenant.clone(),
                Actor::System("campaign-sender".into()),
                "campaign.paused",
                None,
                self.store.now(),
            )
            .with_detail(serde_json::json!({ "campaign": campaign.value.id, "reason": reason }));
            if self.store.save_campaign(campaign, Some(&audit)).await? {
                campaign.version += 1;
                report.paused += 1;
            }
        }
        Ok(())
    }

    /// One recipient's turn after the first pass; `false` when the campaign's turn must end
    /// (paused for a reason, or Meta throttling).
    async fn later_turn(
        &self,
        campaign: &mut Versioned<Campaign>,
        template: &Template,
        from: &PhoneNumberId,
        rate: u32,
        ordinal: u32,
        report: &mut TurnReport,
    ) -> Result<bool, CampaignSendError> {
        match self
            .recipient_turn(&campaign.value, template, from, rate, ordinal, report)
            .await?
        {
            Turn::Done => Ok(true),
            Turn::Stop(Some(reason)) => {
                self.pause(campaign, reason, report).await?;
                Ok(false)
            }
            Turn::Stop(None) => Ok(false),
        }
    }

    /// After every recipient's first turn: the deferred ones whose day has passed get their one
    /// more try, those given back theirs, a crashed sender's claims are settled; the campaign
    /// completes when none is left waiting, and otherwise is not looked at again before the
    /// first of them may need the sender (a deferred day, a claim turning stuck).
    async fn finish_or_retry_deferred(
        &self,
        campaign: &mut Versioned<Campaign>,
        template: &Template,
        from: &PhoneNumberId,
        rate: u32,
        report: &mut TurnReport,
    ) -> Result<(), CampaignSendError> {
        let store = self.store;
        let (tenant, id) = (campaign.value.tenant.clone(), campaign.value.id.clone());
        let mut look_again: Option<Timestamp> = None;
        let mut after = None;
        loop {
            let page = store.campaign_recipients(&tenant, &id, 500, after).await?;
            for r in &page.items {
                let now = store.now();
                let crashed_or_stuck = r.value.updated_at < self.started_at
                    || now.since(r.value.updated_at) >= STUCK_AFTER;
                let go_on = match r.value.state {
                    RecipientState::Deferred if r.value.retry_at.is_some_and(|at| at <= now) => {
                        self.later_turn(campaign, template, from, rate, r.value.ordinal, report)
                            .await?
                    }
                    // Given back after a retryable failure.
                    RecipientState::Pending => {
                        self.later_turn(campaign, template, from, rate, r.value.ordinal, report)
                            .await?
                    }
                    RecipientState::Sending if crashed_or_stuck && r.value.dispatched => {
                        // It may have gone out: never resent; a status webhook settles it.
                        let next = Recipient {
                            state: RecipientState::Unknown,
                            updated_at: now,
                            ..r.value.clone()
                        };
                        if store.move_recipient(r, &next).await? {
                            report.unknown += 1;
                        }
                        true
                    }
                    RecipientState::Sending if crashed_or_stuck => {
                        // Claimed, never sent: given back, and its turn now.
                        let pending = Recipient {
                            state: RecipientState::Pending,
                            ..r.value.clone()
                        };
                        if store.give_back_recipient(r, pending).await? {
                            report.released += 1;
                            self.later_turn(campaign, template, from, rate, r.value.ordinal, report)
                                .await?
                        } else {
                            true
                        }
                    }
                    RecipientState::Deferred | RecipientState::Sending => true,
                    _ => continue, // settled: nothing more to do for it
                };
                if !go_on {
                    return Ok(()); // paused, or Meta throttling: the next turn goes on
                }
                let left = store
                    .campaign_recipient(&tenant, &id, r.value.ordinal)
                    .await?;
                if let Some(at) = left.and_then(|r| needs_sender_at(&r.value)) {
                    look_again = Some(look_again.map_or(at, |t| t.min(at)));
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let now = store.now();
        let audit = match look_again {
            Some(at) => {
                campaign.value.look_again_at = Some(at);
                None
            }
            None => {
                campaign.value.state = CampaignState::Completed;
                campaign.value.state_at = now;
                Some(
                    AuditEvent::new(
                        tenant.clone(),
                        Actor::System("campaign-sender".into()),
                        "campaign.completed",
                        None,
                        now,
                    )
                    .with_detail(serde_json::json!({ "campaign": id })),
                )
            }
        };
        if store.save_campaign(campaign, audit.as_ref()).await? {
            campaign.version += 1;
            if audit.is_some() {
                report.completed += 1;
            }
        }
        Ok(())
    }

    /// One recipient's turn: claim, gate, send, record.
    async fn recipient_turn(
        &self,
        campaign: &Campaign,
        template: &Template,
        from: &PhoneNumberId,
        rate: u32,
        ordinal: u32,
        report: &mut TurnReport,
    ) -> Result<Turn, CampaignSendError> {
        let store = self.store;
        let Some((current, record)) = store
            .campaign_recipient_record(&campaign.tenant, &campaign.id, ordinal)
            .await?
        else {
            return Ok(Turn::Done); // erased
        };
        let due = match current.value.state {
            RecipientState::Pending => true,
            RecipientState::Deferred => current.value.retry_at.is_some_and(|at| at <= store.now()),
            _ => false,
        };
        if !due {
            return Ok(Turn::Done);
        }
        let claimed = Recipient {
            state: RecipientState::Sending,
            dispatched: false,
            updated_at: store.now(),
            ..current.value.clone()
        };
        if !store.move_recipient(&current, &claimed).await? {
            return Ok(Turn::Done); // another sender has it
        }
        let claimed = Versioned {
            value: claimed,
            version: current.version + 1,
        };
        let finish = |state: RecipientState| Recipient {
            state,
            updated_at: store.now(),
            ..claimed.value.clone()
        };
        let parameters = store
            .recipient_parameters(&campaign.tenant, &campaign.id, &record)
            .await?
            // A segment's recipients have none of their own.
            .unwrap_or_else(|| campaign.defaults.clone());
        let filled = match fill(template, &parameters) {
            Ok(filled) => filled,
            Err(e) => {
                // The template changed since the campaign was made: a person must look.
                store
                    .move_recipient(&claimed, &finish(RecipientState::Pending))
                    .await?;
                return Ok(Turn::Stop(Some(format!(
                    "the recipients' parameters no longer fit the template ({e})"
                ))));
            }
        };
        // Its slot first (the wait may be long), then who it is and whether anything may reach
        // them, read now: the gate is asked right before the call (DESIGN §8).
        self.pacer.admit(from, rate).await;
        let contact = store
            .contact_by_alias(&campaign.tenant, &claimed.value.alias)
            .await?
            .filter(|c| c.value.profile.is_some());
        let refusal = match &contact {
            None if store
                .was_erased(&campaign.tenant, &claimed.value.alias)
                .await? =>
            {
                Some(Skip::Erased)
            }
            None => Some(Skip::UnknownContact),
            Some(contact) => persons_gate::ask(
                store,
                &campaign.tenant,
                &contact.value,
                Some(template.category),
            )
            .await?
            .err()
            .map(Skip::of),
        };
        let to = contact.as_ref().and_then(|c| To::of(&c.value));
        let (Some(contact), Some(to), None) = (contact, to, refusal) else {
            self.pacer.release(from);
            let reason = refusal.unwrap_or(Skip::Erased);
            store
                .move_recipient(&claimed, &finish(RecipientState::Skipped { reason }))
                .await?;
            report.skipped += 1;
            return Ok(Turn::Done);
        };
        let message = Message::from_campaign(
            campaign.tenant.clone(),
            contact.value.id.clone(),
            CampaignLink {
                id: campaign.id.clone(),
                ordinal,
            },
            MessageContent::template(filled.graph.expose(), filled.text.expose()),
            template.reference(),
            store.now(),
        );
        // From here the message may reach Meta: a crash leaves it `unknown`, never resent.
        let dispatched = Recipient {
            dispatched: true,
            message: Some(message.id.clone()),
            contact: Some(contact.value.id.clone()),
            updated_at: store.now(),
            ..claimed.value.clone()
        };
        if !store
            .dispatch_campaign_message(&claimed, &dispatched, &message)
            .await?
        {
            return Ok(Turn::Done);
        }
        let claimed = Versioned {
            value: dispatched,
            version: claimed.version + 1,
        };
        let finish = |state: RecipientState| Recipient {
            state,
            updated_at: store.now(),
            ..claimed.value.clone()
        };
        self.pacer.sending(from);
        let sent = self
            .messenger
            .send(&OutboundSend {
                from: from.clone(),
                to,
                body: OutboundBody::Template(Personal::new(filled.graph.expose().clone())),
            })
            .await;
        // `finish` keeps the message and contact the dispatched recipient carries.
        match sent {
            Ok(wamid) => {
                store
                    .record_campaign_sent(&claimed, &finish(RecipientState::Sent), &message, &wamid)
                    .await?;
                report.sent += 1;
                Ok(Turn::Done)
            }
            Err(e) => {
                self.failed(campaign, &claimed, &message, e, finish, report)
                    .await
            }
        }
    }

    async fn failed(
        &self,
        campaign: &Campaign,
        claimed: &Versioned<Recipient>,
        message: &Message,
        error: SendError,
        finish: impl Fn(RecipientState) -> Recipient,
        report: &mut TurnReport,
    ) -> Result<Turn, CampaignSendError> {
        let store = self.store;
        let code = error.code();
        let title = error.title().to_owned();
        // Nothing went out: the recipient waits as it was before its claim (its message goes).
        if error.is_retryable() {
            // This recipient waits for a later turn, the campaign for Meta.
            store
                .give_back_recipient(claimed, finish(RecipientState::Pending))
                .await?;
            report.released += 1;
            return Ok(Turn::Stop(None));
        }
        match code {
            Some(c) if TEMPLATE_ERRORS.contains(&c) => {
                store
                    .give_back_recipient(claimed, finish(RecipientState::Pending))
                    .await?;
                Ok(Turn::Stop(Some(format!(
                    "Meta refused the template (code {c}): {title}"
                ))))
            }
            Some(PER_USER_MARKETING_LIMIT) if claimed.value.attempts == 0 => {
                let deferred = Recipient {
                    attempts: 1,
                    retry_at: Some(store.now().plus(DEFER_FOR)),
                    ..finish(RecipientState::Deferred)
                };
                store.give_back_recipient(claimed, deferred).await?;
                report.deferred += 1;
                Ok(Turn::Done)
            }
            None if matches!(error, SendError::Unanswered { .. }) => {
                // It may have gone out: never repeated; a status webhook settles it.
                store
                    .move_recipient(claimed, &finish(RecipientState::Unknown))
                    .await?;
                report.unknown += 1;
                Ok(Turn::Done)
            }
            code => {
                if let Some(event) = code.and_then(|c| {
                    ConsentEvent::from_delivery_error(
                        campaign.tenant.clone(),
                        message.contact.clone(),
                        &message.id,
                        c,
                        store.now(),
                    )
                }) {
                    store.record_consent(&event, None).await?;
                }
                let errors = vec![DeliveryError {
                    code: code.unwrap_or_default(),
                    title: title.clone(),
                }];
                store
                    .record_outbound_failed(
                        &message.tenant,
                        &message.contact,
                        &message.id,
                        errors,
                        None,
                    )
                    .await?;
                store
                    .move_recipient(claimed, &finish(RecipientState::Failed { code }))
                    .await?;
                report.failed += 1;
                Ok(Turn::Done)
            }
        }
    }
}

/// When a recipient not yet settled may need the sender: at once when it waits its turn, at its
/// retry time when deferred, when its claim would turn stuck when claimed.
fn needs_sender_at(recipient: &Recipient) -> Option<Timestamp> {
    match recipient.state {
        RecipientState::Pending => Some(recipient.updated_at),
        RecipientState::Deferred => Some(recipient.retry_at.unwrap_or(recipient.updated_at)),
        RecipientState::Sending => Some(recipient.updated_at.plus(STUCK_AFTER)),
        _ => None,
    }
}

enum Turn {
    Done,
    /// Stop this campaign's turn; `Some`: pause it for this reason.
    Stop(Option<String>),
}
