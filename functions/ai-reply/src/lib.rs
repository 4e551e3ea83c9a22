//! `ai-reply`: answers new inbound customer messages, triggered by the data table's stream (in
//! the local runner, by the embedded change feed in the same record shape).
//!
//! A batch is grouped by contact; each contact's burst gets at most one reply, to its newest
//! message (the reply workflow, `mizan_shared::workflows::reply`, over the rules of
//! `mizan_shared::domain::reply`), claimed exactly once in the store before anything is sent. Records that fail in a way worth retrying are reported as batch item
//! failures (`ReportBatchItemFailures`), so one contact's failure does not replay the others.

mod batch;
pub mod campaigns;

pub use batch::{handle, handle_batch, BatchReport};
pub use mizan_shared::workflows::reply::Outcome;

use mizan_shared::adapters::backoff::RetryPolicy;
use mizan_shared::adapters::counted_messenger::CountedMessenger;
use mizan_shared::adapters::faq::FaqResponder;
use mizan_shared::adapters::graph::{GraphMessenger, GraphSettings};
use mizan_shared::adapters::openai::{ChatCompletions, ChatSettings};
use mizan_shared::backend::Services;
use mizan_shared::config::{Config, ExportConfig, ReplyConfig};
use mizan_shared::domain::download_token::TokenSigner;
use mizan_shared::ports::archives::ArchiveStore;
use mizan_shared::ports::messenger::Messenger;
use mizan_shared::ports::pace_ledger::PaceLedger;
use mizan_shared::ports::responder::Responder;
use mizan_shared::store::Store;
use mizan_shared::workflows::rights_chat::ExportLinks;
use std::sync::Arc;

/// What the handler needs, built once per Lambda instance (or once by the local runner).
#[derive(Clone)]
pub struct Deps {
    pub store: Store,
    pub responder: Arc<dyn Responder>,
    /// Conversational sends (the AI's, people's, keyword confirmations), each noted in the
    /// number's pace ledger so campaigns leave room for them.
    pub messenger: Arc<dyn Messenger>,
    /// The campaign sender's: paced by its own pacer, which reads the ledger.
    pub broadcast: Arc<dyn Messenger>,
    pub pace_ledger: Arc<dyn PaceLedger>,
    /// How many recent messages of the conversation the responder sees.
    pub history: usize,
    /// A person's erasure in the chat removes their export archives (on AWS this function does
    /// not reach the bucket: the purge removes them, the content being unreadable at once).
    pub archives: Arc<dyn ArchiveStore>,
    /// Download links sent in the chat; `None` without a public address and signing key.
    pub links: Option<Arc<ExportLinks>>,
}

/// ai-reply's settings: the reply's, and the export links' (`MIZAN_EXPORT_TOKEN_SECRET`,
/// `MIZAN_PUBLIC_BASE_URL`) for the data a person asks for in the chat.
pub struct Settings {
    pub reply: ReplyConfig,
    pub export: ExportConfig,
}

/// The links of exports asked for in the chat, when both their signing key and the API's
/// public address are configured.
pub fn export_links(config: &Config, export: &ExportConfig) -> Option<Arc<ExportLinks>> {
    let key = mizan_shared::backend::export_token_key(config, export).ok()?;
    let base_url = export.public_base_url.clone()?;
    Some(Arc::new(ExportLinks {
        signer: Arc::new(TokenSigner::new(key.to_vec())),
        base_url,
    }))
}

pub use mizan_shared::startup::{StartupError, Wiring};

/// The responder the configuration names: the model when `MIZAN_AI_BASE_URL` is set, else the
/// built-in FAQ responder.
pub fn responder(config: &ReplyConfig) -> Result<Arc<dyn Responder>, StartupError> {
    Ok(match &config.model {
        Some(model) => Arc::new(
            ChatCompletions::new(ChatSettings {
                base_url: model.base_url.clone(),
                model: model.model.clone(),
                api_key: model.api_key.clone(),
                timeout: model.timeout,
                retry: RetryPolicy {
                    max_attempts: model.max_attempts,
                    ..RetryPolicy::default()
                },
            })
            .map_err(|e| StartupError::Http(e.to_string()))?,
        ),
        None => Arc::new(FaqResponder),
    })
}

/// The Graph API sender with the configured token.
pub fn graph_messenger(
    config: &ReplyConfig,
    access_token: secrecy::SecretString,
) -> Arc<dyn Messenger> {
    Arc::new(GraphMessenger::new(GraphSettings {
        base_url: config.graph.base_url.clone(),
        version: config.graph.version.clone(),
        access_token,
        timeout: config.graph.timeout,
        retry: RetryPolicy::default(),
    }))
}

impl Deps {
    /// The dependencies sending through `messenger`: the local runner's outbox when no Graph
    /// API token is configured.
    pub fn sending_through(
        services: &Services,
        reply: &ReplyConfig,
        messenger: Arc<dyn Messenger>,
    ) -> Result<Deps, StartupError> {
        Ok(Deps::from_parts(
            services.store.clone(),
            responder(reply)?,
            messenger,
            services.pace_ledger.clone(),
            reply.history,
        )
        .with_archives(services.archives.clone()))
    }

    /// The archives a chat erasure removes.
    pub fn with_archives(self, archives: Arc<dyn ArchiveStore>) -> Deps {
        Deps { archives, ..self }
    }

    /// The download links a chat export is sent with.
    pub fn with_links(self, links: Option<Arc<ExportLinks>>) -> Deps {
        Deps { links, ..self }
    }

    /// The dependencies from their parts: conversational sends through `messenger` are noted
    /// in `pace_ledger`; the campaign sender's go through it as they are.
    pub fn from_parts(
        store: Store,
        responder: Arc<dyn Responder>,
        messenger: Arc<dyn Messenger>,
        pace_ledger: Arc<dyn PaceLedger>,
        history: usize,
    ) -> Deps {
        Deps {
            store,
            responder,
            messenger: Arc::new(CountedMessenger::new(
                messenger.clone(),
                pace_ledger.clone(),
            )),
            broadcast: messenger,
            pace_ledger,
            history,
            archives: mizan_shared::backend::refusing_archives(),
            links: None,
        }
    }
}

impl Wiring for Deps {
    type Settings = Settings;

    fn settings(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Settings, StartupError> {
        Ok(Settings {
            reply: ReplyConfig::from_lookup(lookup)?,
            export: ExportConfig::from_lookup(lookup)?,
        })
    }

    /// Sending through the Graph API, whose token is required here.
    fn new(
        services: &Services,
        config: &Config,
        settings: &Settings,
    ) -> Result<Deps, StartupError> {
        let reply = &settings.reply;
        let token = reply.require_graph_token()?;
        let links = export_links(config, &settings.export);
        Ok(
            Deps::sending_through(services, reply, graph_messenger(reply, token))?
                .with_links(links),
        )
    }
}
