//! The routes this function serves, in one table: the router matches on it, and tests compare it
//! with the OpenAPI document and `template.yaml`.

use mizan_shared::domain::api_key::Scope;
use mizan_shared::http_api::route;

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    ListContacts,
    GetContact,
    CorrectContact,
    GetConsent,
    RecordConsent,
    ReadConversation,
    SendMessage,
    Restrict,
    LiftRestriction,
    TakeOver,
    HandBack,
    Erase,
    FlagMinor,
    GetSettings,
    UpdateSettings,
    GetAudit,
    ListApiKeys,
    IssueApiKey,
    RevokeApiKey,
    ListTemplates,
    SubmitTemplate,
    GetTemplate,
    DeleteTemplate,
    CreateCampaign,
    GetCampaign,
    CampaignRecipients,
    PauseCampaign,
    ResumeCampaign,
    CancelCampaign,
    ListRightsRequests,
    CloseRightsRequest,
    GetRecordOfProcessing,
    GetAccount,
    UpdateAccount,
    GetAnalytics,
    GetAnalyticsReport,
    ListStatements,
    GetStatement,
    CloseAccount,
    ListFaq,
    AddFaq,
    ReplaceFaq,
    DeleteFaq,
    ListWebhooks,
    AddWebhook,
    RemoveWebhook,
    EnableWebhook,
    ListWebhookDeliveries,
    ReplayWebhookDelivery,
}

pub type Route = mizan_shared::http_api::Route<Operation>;

#[cfg(test)]
const CONTACT_PARAMETER: &str = "{contact}";

pub const ROUTES: &[Route] = &[
    route(Operation::ListContacts, "GET", "/v1/contacts"),
    route(Operation::GetContact, "GET", "/v1/contacts/{contact}"),
    route(Operation::CorrectContact, "PATCH", "/v1/contacts/{contact}"),
    route(
        Operation::GetConsent,
        "GET",
        "/v1/contacts/{contact}/consent",
    ),
    route(
        Operation::RecordConsent,
        "POST",
        "/v1/contacts/{contact}/consent",
    ),
    route(
        Operation::ReadConversation,
        "GET",
        "/v1/contacts/{contact}/messages",
    ),
    route(
        Operation::SendMessage,
        "POST",
        "/v1/contacts/{contact}/messages",
    ),
    route(
        Operation::Restrict,
        "POST",
        "/v1/contacts/{contact}/restriction",
    ),
    route(
        Operation::LiftRestriction,
        "DELETE",
        "/v1/contacts/{contact}/restriction",
    ),
    route(
        Operation::TakeOver,
        "POST",
        "/v1/contacts/{contact}/takeover",
    ),
    route(
        Operation::HandBack,
        "DELETE",
        "/v1/contacts/{contact}/takeover",
    ),
    route(Operation::Erase, "POST", "/v1/contacts/{contact}/erasure"),
    route(Operation::FlagMinor, "POST", "/v1/contacts/{contact}/minor"),
    route(Operation::GetSettings, "GET", "/v1/settings"),
    route(Operation::UpdateSettings, "PATCH", "/v1/settings"),
    route(Operation::GetAudit, "GET", "/v1/audit"),
    route(Operation::ListApiKeys, "GET", "/v1/api-keys"),
    route(Operation::IssueApiKey, "POST", "/v1/api-keys"),
    route(Operation::RevokeApiKey, "DELETE", "/v1/api-keys/{id}"),
    route(Operation::ListTemplates, "GET", "/v1/templates"),
    route(Operation::SubmitTemplate, "POST", "/v1/templates"),
    route(
        Operation::GetTemplate,
        "GET",
        "/v1/templates/{name}/{language}",
    ),
    route(
        Operation::DeleteTemplate,
        "DELETE",
        "/v1/templates/{name}/{language}",
    ),
    route(Operation::CreateCampaign, "POST", "/v1/campaigns"),
    route(Operation::GetCampaign, "GET", "/v1/campaigns/{id}"),
    route(
        Operation::CampaignRecipients,
        "GET",
        "/v1/campaigns/{id}/recipients",
    ),
    route(Operation::PauseCampaign, "POST", "/v1/campaigns/{id}/pause"),
    route(
        Operation::ResumeCampaign,
        "POST",
        "/v1/campaigns/{id}/resume",
    ),
    route(
        Operation::CancelCampaign,
        "POST",
        "/v1/campaigns/{id}/cancel",
    ),
    route(Operation::ListRightsRequests, "GET", "/v1/rights-requests"),
    route(Operation::GetAccount, "GET", "/v1/account"),
    route(Operation::GetAnalytics, "GET", "/v1/analytics"),
    route(Operation::GetAnalyticsReport, "GET", "/v1/analytics/report"),
    route(Operation::ListStatements, "GET", "/v1/billing/statements"),
    route(
        Operation::GetStatement,
        "GET",
        "/v1/billing/statements/{month}",
    ),
    route(Operation::UpdateAccount, "PATCH", "/v1/account"),
    route(Operation::CloseAccount, "POST", "/v1/account/close"),
    route(Operation::ListFaq, "GET", "/v1/faq"),
    route(Operation::AddFaq, "POST", "/v1/faq"),
    route(Operation::ReplaceFaq, "PUT", "/v1/faq/{id}"),
    route(Operation::DeleteFaq, "DELETE", "/v1/faq/{id}"),
    route(
        Operation::GetRecordOfProcessing,
        "GET",
        "/v1/record-of-processing",
    ),
    route(
        Operation::CloseRightsRequest,
        "POST",
        "/v1/rights-requests/{id}/close",
    ),
    route(Operation::ListWebhooks, "GET", "/v1/webhooks"),
    route(Operation::AddWebhook, "POST", "/v1/webhooks"),
    route(Operation::RemoveWebhook, "DELETE", "/v1/webhooks/{id}"),
    route(Operation::EnableWebhook, "POST", "/v1/webhooks/{id}/enable"),
    route(
        Operation::ListWebhookDeliveries,
        "GET",
        "/v1/webhooks/{id}/deliveries",
    ),
    route(
        Operation::ReplayWebhookDelivery,
        "POST",
        "/v1/webhooks/{id}/deliveries/{delivery}/replay",
    ),
];

impl Operation {
    /// The name logs and audit events use.
    pub fn name(self) -> &'static str {
        match self {
            Operation::ListContacts => "contact.list",
            Operation::GetContact => "contact.get",
            Operation::CorrectContact => "contact.correct",
            Operation::GetConsent => "consent.get",
            Operation::RecordConsent => "consent.record",
            Operation::ReadConversation => "conversation.read",
            Operation::SendMessage => "message.send",
            Operation::Restrict => "restriction.set",
            Operation::LiftRestriction => "restriction.lift",
            Operation::TakeOver => "takeover.set",
            Operation::HandBack => "takeover.lift",
            Operation::Erase => "contact.erase",
            Operation::FlagMinor => "contact.flag_minor",
            Operation::GetSettings => "settings.get",
            Operation::UpdateSettings => "settings.update",
            Operation::GetAudit => "audit.list",
            Operation::ListApiKeys => "api_key.list",
            Operation::IssueApiKey => "api_key.issue",
            Operation::RevokeApiKey => "api_key.revoke",
            Operation::ListTemplates => "template.list",
            Operation::SubmitTemplate => "template.submit",
            Operation::GetTemplate => "template.get",
            Operation::DeleteTemplate => "template.delete",
            Operation::CreateCampaign => "campaign.create",
            Operation::GetCampaign => "campaign.get",
            Operation::CampaignRecipients => "campaign.recipients",
            Operation::PauseCampaign => "campaign.pause",
            Operation::ResumeCampaign => "campaign.resume",
            Operation::CancelCampaign => "campaign.cancel",
            Operation::ListRightsRequests => "rights_request.list",
            Operation::CloseRightsRequest => "rights_request.close",
            Operation::GetRecordOfProcessing => "record_of_processing.get",
            Operation::GetAccount => "account.get",
            Operation::GetAnalytics => "analytics.get",
            Operation::GetAnalyticsReport => "analytics.report",
            Operation::ListStatements => "billing.statements",
            Operation::GetStatement => "billing.statement",
            Operation::UpdateAccount => "account.update",
            Operation::CloseAccount => "account.close",
            Operation::ListFaq => "faq.list",
            Operation::AddFaq => "faq.add",
            Operation::ReplaceFaq => "faq.replace",
            Operation::DeleteFaq => "faq.delete",
            Operation::ListWebhooks => "webhook.list",
            Operation::AddWebhook => "webhook.add",
            Operation::RemoveWebhook => "webhook.remove",
            Operation::EnableWebhook => "webhook.enable",
            Operation::ListWebhookDeliveries => "webhook.deliveries",
            Operation::ReplayWebhookDelivery => "webhook.replay",
        }
    }

    /// What the caller's key must be allowed to do.
    pub fn scope(self) -> Scope {
        match self {
            Operation::ListContacts
            | Operation::GetContact
            | Operation::GetConsent
            | Operation::ReadConversation
            | Operation::GetSettings
            | Operation::GetAudit
            | Operation::ListTemplates
            | Operation::GetTemplate
            | Operation::GetCampaign
            | Operation::CampaignRecipients
            | Operation::ListRightsRequests
            | Operation::GetRecordOfProcessing
            | Operation::GetAccount
            | Operation::GetAnalytics
            | Operation::GetAnalyticsReport
            | Operation::ListStatements
            | Operation::GetStatement
            | Operation::ListFaq => Scope::Read,
            Operation::CorrectContact
            | Operation::RecordConsent
            | Operation::Restrict
            | Operation::LiftRestriction
            | Operation::Erase
            | Operation::FlagMinor
            | Operation::CloseRightsRequest => Scope::Rights,
            Operation::TakeOver
            | Operation::HandBack
            | Operation::SendMessage
            | Operation::CreateCampaign
            | Operation::PauseCampaign
            | Operation::ResumeCampaign
            | Operation::CancelCampaign => Scope::Messages,
            Operation::UpdateSettings
            | Operation::ListApiKeys
            | Operation::IssueApiKey
            | Operation::RevokeApiKey
            | Operation::SubmitTemplate
            | Operation::DeleteTemplate
            | Operation::CloseAccount
            | Operation::UpdateAccount
            | Operation::AddFaq
            | Operation::ReplaceFaq
            | Operation::DeleteFaq
            | Operation::ListWebhooks
            | Operation::AddWebhook
            | Operation::RemoveWebhook
            | Operation::EnableWebhook
            | Operation::ListWebhookDeliveries
            | Operation::ReplayWebhookDelivery => Scope::Admin,
        }
    }
}

pub type Resolved<'a> = mizan_shared::http_api::Resolved<'a, Operation>;

pub fn resolve<'a>(method: &str, path: &'a str) -> Resolved<'a> {
    mizan_shared::http_api::resolve(ROUTES, method, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_resolves_to_its_operation() {
        for route in ROUTES {
            let path = route
                .path
                .replace(CONTACT_PARAMETER, "%2B212600000000")
                .replace("{id}", "key_0123456789ab")
                .replace("{delivery}", "dlv_1")
                .replace("{month}", "2026-11")
                .replace("{name}/{language}", "order_update/en_US");
            let Resolved::Found {
                operation,
                parameter: contact,
            } = resolve(route.method, &path)
            else {
                panic!("{} {} does not resolve", route.method, route.path);
            };
            assert_eq!(operation, route.operation);
            assert_eq!(
                contact.is_some(),
                route.path.contains('{'),
                "{}",
                route.path
            );
        }
    }
}
