//! `consent-api`: the consent and data-subject-rights API for businesses, behind API Gateway
//! (HTTP API, payload 2.0), under `/v1`, authenticated by one tenant's bearer API key.
//!
//! Every request is scoped to the key's tenant; another tenant's contact is answered exactly like
//! a missing one. Every change commits with its audit event. Routes: [`ROUTES`].

mod account;
mod analytics;
mod api_keys;
mod audit_trail;
mod billing;
mod campaigns;
mod consent;
mod contact_list;
mod contacts;
mod conversation;
mod erasure;
mod faq;
mod paging;
mod record_of_processing;
mod rights_requests;
mod routes;
mod send_message;
mod settings;
mod templates;
mod views;
mod webhooks;

pub use mizan_shared::http_api::{ApiError, Caller, Reply};
pub use routes::{resolve, Operation, Resolved, Route, ROUTES};

use lambda_http::{Body, Request, Response};
use mizan_shared::adapters::backoff::RetryPolicy;
use mizan_shared::adapters::graph::GraphSettings;
use mizan_shared::adapters::graph_templates::GraphTemplates;
use mizan_shared::backend::Services;
use mizan_shared::config::{processing_deployment, Config, GraphConfig};
use mizan_shared::domain::campaign::Control;
use mizan_shared::domain::contact_change::ContactChange;
use mizan_shared::domain::record_of_processing::{Deployment, Storage};
use mizan_shared::domain::webhook::UrlPolicy;
use mizan_shared::http_api::{auth, input, request_path};
use mizan_shared::ports::archives::ArchiveStore;
use mizan_shared::ports::template_catalog::TemplateCatalog;
use mizan_shared::store::{ErasureReason, Store};
use std::sync::Arc;
use std::time::Instant;

/// What the handler needs, built once per Lambda instance (or once by the local runner).
#[derive(Clone)]
pub struct Deps {
    pub store: Store,
    /// Where export archives live: erasure removes the contact's.
    pub archives: Arc<dyn ArchiveStore>,
    /// Meta's side of the tenants' message templates.
    pub templates: Arc<dyn TemplateCatalog>,
    /// Where data is stored and who reads it, for the record of processing.
    pub deployment: Deployment,
    /// Which webhook URLs a business may register (the runner also takes loopback ones).
    pub webhook_urls: UrlPolicy,
}

/// consent-api's settings: the Graph API's, and what the record of processing names
/// (`MIZAN_AI_BASE_URL`, `AWS_REGION`).
pub struct Settings {
    pub graph: GraphConfig,
    pub lookup: std::collections::HashMap<&'static str, String>,
}

pub use mizan_shared::startup::{StartupError, Wiring};

impl Deps {
    /// The dependencies managing templates through `templates` (the local runner's stand-in
    /// when no Graph API token is configured).
    pub fn with_catalog(services: &Services, templates: Arc<dyn TemplateCatalog>) -> Deps {
        Deps {
            store: services.store.clone(),
            archives: services.archives.clone(),
            templates,
            deployment: Deployment {
                storage: match services.embedded {
                    Some(_) => Storage::Embedded,
                    None => Storage::Aws {
                        region: "(unknown)".into(),
                    },
                },
                model_provider: None,
            },
            webhook_urls: UrlPolicy::default(),
        }
    }

    /// Takes webhook URLs by `policy`.
    pub fn with_webhook_urls(self, webhook_urls: UrlPolicy) -> Deps {
        Deps {
            webhook_urls,
            ..self
        }
    }

    /// What the record of processing names of this deployment.
    pub fn with_deployment(self, deployment: Deployment) -> Deps {
        Deps { deployment, ..self }
    }
}

/// The Graph API's template endpoints with the configured token.
pub fn graph_templates(
    graph: &GraphConfig,
    access_token: secrecy::SecretString,
) -> Arc<dyn TemplateCatalog> {
    Arc::new(GraphTemplates::new(GraphSettings {
        base_url: graph.base_url.clone(),
        version: graph.version.clone(),
        access_token,
        timeout: graph.timeout,
        retry: RetryPolicy::default(),
    }))
}

impl Wiring for Deps {
    /// Erasures and expiries delete export archives: S3's DeleteObject alone is linked.
    const AWS_ARCHIVES: mizan_shared::backend::AwsArchives =
        mizan_shared::backend::s3_archive_deletion;

    type Settings = Settings;

    fn settings(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Settings, StartupError> {
        let lookup_of = |var: &'static str| lookup(var).map(|value| (var, value));
        Ok(Settings {
            graph: GraphConfig::from_lookup(lookup)?,
            lookup: ["MIZAN_AI_BASE_URL", "AWS_REGION"]
                .into_iter()
                .filter_map(lookup_of)
                .collect(),
        })
    }

    /// Managing templates through the Graph API, whose token is required here.
    fn new(
        services: &Services,
        config: &Config,
        settings: &Settings,
    ) -> Result<Deps, StartupError> {
        let graph = &settings.graph;
        let token = graph.require_token("by consent-api to manage message templates")?;
        let deployment = processing_deployment(config, &|var| settings.lookup.get(var).cloned());
        Ok(Deps::with_catalog(services, graph_templates(graph, token)).with_deployment(deployment))
    }
}

/// The Lambda handler: the story of one request. Every outcome is an HTTP answer.
pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    let started = Instant::now();
    let path = request_path(&request);
    let method = request.method().as_str().to_owned();
    let (operation, contact) = match resolve(&method, &path) {
        Resolved::Found {
            operation,
            parameter: contact,
        } => (operation, contact),
        Resolved::MethodNotAllowed(allowed) => {
            return Ok(ApiError::method_not_allowed(&allowed).into_response())
        }
        // The path may hold a phone number: it is never logged.
        Resolved::NotFound => return Ok(ApiError::route_not_found(&method).into_response()),
    };
    let (tenant, outcome) = match auth::authenticate(&deps.store, request.headers()).await {
        Ok(caller) => {
            let outcome = dispatch(deps, &caller, operation, contact, &request).await;
            (Some(caller.tenant), outcome)
        }
        Err(e) => (None, Err(e)),
    };
    let response = match outcome {
        Ok(reply) => reply.into_response(),
        Err(e) => e.into_response(),
    };
    tracing::info!(
        operation = operation.name(),
        tenant = tenant.as_ref().map(|t| t.as_str()),
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request answered"
    );
    Ok(response)
}

async fn dispatch(
    deps: &Deps,
    caller: &Caller,
    operation: Operation,
    parameter: Option<&str>,
    request: &Request,
) -> Result<Reply, ApiError> {
    // A closed account's keys only export its data (data-export's routes).
    caller.require_open()?;
    caller.require(operation.scope())?;
    // Routes with `{contact}` (or `{id}`) always capture it; the empty default serves the others.
    let contact = parameter.unwrap_or_default();
    match operation {
        Operation::ListContacts => contact_list::list(deps, caller, request).await,
        Operation::GetContact => contacts::get(deps, caller, contact).await,
        Operation::CorrectContact => contacts::correct(deps, caller, contact, request).await,
        Operation::GetConsent => consent::get(deps, caller, contact).await,
        Operation::RecordConsent => consent::record(deps, caller, contact, request).await,
        Operation::Restrict => {
            input::empty_body(request)?;
            contacts::change(deps, caller, contact, ContactChange::Restrict).await
        }
        Operation::LiftRestriction => {
            input::empty_body(request)?;
            contacts::change(deps, caller, contact, ContactChange::LiftRestriction).await
        }
        Operation::TakeOver => {
            input::empty_body(request)?;
            contacts::take_over(deps, caller, contact).await
        }
        Operation::HandBack => {
            input::empty_body(request)?;
            contacts::change(deps, caller, contact, ContactChange::HandBack).await
        }
        Operation::Erase => {
            erasure::erase(deps, caller, contact, request, ErasureReason::Request).await
        }
        Operation::FlagMinor => {
            erasure::erase(deps, caller, contact, request, ErasureReason::Minor).await
        }
        Operation::GetSettings => settings::get(deps, caller).await,
        Operation::UpdateSettings => settings::update(deps, caller, request).await,
        Operation::GetAudit => audit_trail::list(deps, caller, request).await,
        Operation::GetRecordOfProcessing => record_of_processing::get(deps, caller, request).await,
        Operation::GetAccount => account::get(deps, caller).await,
        Operation::GetAnalytics => analytics::get(deps, caller, request).await,
        Operation::GetAnalyticsReport => analytics::report(deps, caller, request).await,
        Operation::ListStatements => billing::list(deps, caller, request).await,
        Operation::GetStatement => billing::get(deps, caller, contact, request).await,
        Operation::UpdateAccount => account::update(deps, caller, request).await,
        Operation::CloseAccount => account::close(deps, caller, request).await,
        Operation::ListFaq => faq::list(deps, caller).await,
        Operation::AddFaq => faq::add(deps, caller, request).await,
        Operation::ReplaceFaq => faq::replace(deps, caller, contact, request).await,
        Operation::DeleteFaq => faq::remove(deps, caller, contact, request).await,
        Operation::ListRightsRequests => rights_requests::list(deps, caller, request).await,
        Operation::CloseRightsRequest => {
            rights_requests::close(deps, caller, contact, request).await
        }
        Operation::ReadConversation => conversation::read(deps, caller, contact, request).await,
        Operation::SendMessage => send_message::send(deps, caller, contact, request).await,
        Operation::ListTemplates => templates::list(deps, caller).await,
        Operation::SubmitTemplate => templates::submit(deps, caller, request).await,
        Operation::GetTemplate => templates::get(deps, caller, contact).await,
        Operation::CreateCampaign => campaigns::create(deps, caller, request).await,
        Operation::GetCampaign => campaigns::get(deps, caller, contact).await,
        Operation::CampaignRecipients => {
            campaigns::recipients(deps, caller, contact, request).await
        }
        Operation::PauseCampaign => {
            input::empty_body(request)?;
            campaigns::control(deps, caller, contact, Control::Pause).await
        }
        Operation::ResumeCampaign => {
            input::empty_body(request)?;
            campaigns::control(deps, caller, contact, Control::Resume).await
        }
        Operation::CancelCampaign => {
            input::empty_body(request)?;
            campaigns::control(deps, caller, contact, Control::Cancel).await
        }
        Operation::DeleteTemplate => {
            input::empty_body(request)?;
            templates::delete(deps, caller, contact).await
        }
        Operation::ListApiKeys => api_keys::list(deps, caller).await,
        Operation::IssueApiKey => api_keys::issue(deps, caller, request).await,
        Operation::RevokeApiKey => api_keys::revoke(deps, caller, contact, request).await,
        Operation::ListWebhooks => webhooks::list(deps, caller).await,
        Operation::AddWebhook => webhooks::add(deps, caller, request).await,
        Operation::RemoveWebhook => webhooks::remove(deps, caller, contact, request).await,
        Operation::EnableWebhook => webhooks::enable(deps, caller, contact, request).await,
        Operation::ListWebhookDeliveries => {
            webhooks::deliveries(deps, caller, contact, request).await
        }
        Operation::ReplayWebhookDelivery => webhooks::replay(deps, caller, contact, request).await,
    }
}
