//! The command line. `mizan-local` alone is `mizan-local serve`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub const DEFAULT_PORT: u16 = 3000;

#[derive(Debug, Parser)]
#[command(
    name = "mizan-local",
    version,
    about = "Runs Mizan on 127.0.0.1 with embedded adapters, and administers tenants",
    after_help = "Without a command, runs `serve`. Exit codes: 0 success, 2 bad input or not found, 1 other failures."
)]
pub struct Cli {
    /// Storage for admin commands (`serve` is always embedded); `aws` reads MIZAN_DATA_TABLE,
    /// MIZAN_KEY_TABLE, MIZAN_KMS_KEY_ID, MIZAN_EXPORT_BUCKET, MIZAN_HASH_KEY and the AWS SDK's own variables
    #[arg(long, global = true, value_enum, default_value_t = BackendChoice::Embedded)]
    pub backend: BackendChoice,

    /// Directory of the embedded backend [default: $MIZAN_DATA_DIR, else .mizan]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Port of `serve` when no command is given
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    Embedded,
    Aws,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve every function's routes, the change feed and the schedules on 127.0.0.1
    Serve(ServeArgs),
    /// Post a WhatsApp text message to the running runner, signed like Meta signs it
    Send(SendCommand),
    /// Apply the retention policy to the embedded data directory (stop the runner first) or,
    /// with --backend aws, to DynamoDB; prints the report as JSON
    Purge(PurgeArgs),
    #[command(flatten)]
    Admin(AdminCommand),
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Report what the purge would do; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Apply the policy as at this moment (RFC 3339, e.g. 2027-01-31T00:00:00Z) instead of now
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Go through at most N tenants, then stop; the next run resumes after them
    #[arg(long, value_name = "N")]
    pub max_tenants: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1; 0 picks a free one (the chosen address is printed) [default: 3000]
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
}

#[derive(Debug, Args)]
pub struct SendCommand {
    /// The message text
    pub text: String,
    /// The sender's WhatsApp number (wa_id)
    #[arg(long, default_value = "15550100001")]
    pub from: String,
    /// The sender's profile name
    #[arg(long, default_value = "Amina")]
    pub name: String,
    /// The business number it is sent to (metadata.phone_number_id): any tenant's, not only the
    /// demo tenant's [default: the demo number]
    #[arg(long, value_name = "ID")]
    pub phone_number_id: Option<String>,
    /// When the customer sent it (RFC 3339, e.g. 2026-12-01T09:30:00Z): a message dated in the
    /// past, as Meta redelivers them [default: now]
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create and inspect tenants
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Route a WhatsApp phone number id to a tenant
    #[command(subcommand)]
    Phone(PhoneCommand),
    /// Issue, revoke and list a tenant's API keys
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Change a tenant's settings
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Put one contact under legal hold (dispute resolution) or lift it
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Name the WhatsApp Business Account whose templates are a tenant's
    #[command(subcommand)]
    Waba(WabaCommand),
    /// Read a tenant's message templates from the Graph API into its registry
    #[command(subcommand)]
    Templates(TemplatesCommand),
    /// Print a tenant's record of processing activities (GDPR Art. 30) as Markdown, generated
    /// from the code, the tenant's settings and this configuration (TENANT_ID may be left out
    /// when there is one tenant)
    Ropa {
        tenant_id: Option<String>,
        /// JSON instead of Markdown
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WabaCommand {
    /// Attach Meta's WhatsApp Business Account id (the `entry.id` of template webhooks) to a
    /// tenant; prints {"tenant_id","business_account"}
    Attach {
        tenant_id: String,
        business_account_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Read every template of the tenant's business account from the Graph API
    /// (MIZAN_WHATSAPP_ACCESS_TOKEN, MIZAN_GRAPH_BASE_URL, MIZAN_GRAPH_API_VERSION), store
    /// them and remove those Meta no longer lists; prints {"saved","removed","skipped"}
    Sync { tenant_id: String },
}

#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// Put in the contact list (GET /v1/contacts) every contact of the tenant written before
    /// the list existed; prints {"listed"}
    Reindex { tenant_id: String },
    /// Suspend (on) or resume (off) every deletion of the contact's data; audited
    LegalHold {
        tenant_id: String,
        /// The contact's phone number (wa_id) or business-scoped user id
        contact: String,
        #[arg(value_enum)]
        state: Switch,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; prints {"tenant_id"}
    Create {
        /// The business's name
        #[arg(long)]
        name: String,
    },
    /// Print a tenant as JSON
    Show { tenant_id: String },
    /// Close the account: nothing more is stored or sent for it, its keys only export its data
    /// for closed_export_days, and the purge removes everything 2 years later; audited
    Close { tenant_id: String },
    /// Reopen a closed account (within the 2 years its data is kept); audited
    Reopen { tenant_id: String },
}

#[derive(Debug, Subcommand)]
pub enum PhoneCommand {
    /// Attach Meta's phone number id (metadata.phone_number_id) to a tenant, and apply the
    /// deliveries kept for it while no tenant owned it; prints {"tenant_id","phone_numbers","replayed"}
    Attach {
        tenant_id: String,
        phone_number_id: String,
    },
    /// Apply again the deliveries kept (sealed, 14 days) for a number no tenant owned when they
    /// came; prints {"replayed","still_unrouted","intake"}
    Replay { phone_number_id: String },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Issue a key; prints {"key_id","api_key","scopes","expires_at"}: the token is shown this once
    Issue {
        tenant_id: String,
        /// What the key is for, shown in listings
        #[arg(long, default_value = "admin")]
        label: String,
        /// What it may do, comma-separated: read, rights, messages, admin
        #[arg(
            long,
            default_value = "read,rights,messages,admin",
            value_name = "LIST"
        )]
        scopes: String,
        /// When it stops working (RFC 3339, e.g. 2027-06-30T00:00:00Z); never when omitted
        #[arg(long, value_name = "TIME")]
        expires_at: Option<String>,
    },
    /// Revoke a key (its id, or the whole key: it is never printed back); revoking twice keeps
    /// the first revocation time
    Revoke { tenant_id: String, key_id: String },
    /// List a tenant's keys: ids, labels, creation and revocation times (never hashes)
    List { tenant_id: String },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Change one or more settings; the change is audited as `settings.updated`
    Set(SettingsSet),
}

#[derive(Debug, Args)]
pub struct SettingsSet {
    pub tenant_id: String,
    /// Days chat content is kept
    #[arg(long, value_name = "N")]
    pub chat_retention_days: Option<u32>,
    /// Whether the AI answers contacts
    #[arg(long, value_enum)]
    pub automation: Option<Switch>,
    /// Instructions the AI follows when answering
    #[arg(long, value_name = "TEXT")]
    pub ai_instructions: Option<String>,
    /// Suspend every deletion for the tenant (dispute resolution); a hold set here cannot be
    /// lifted with a tenant's API key
    #[arg(long, value_enum)]
    pub legal_hold: Option<Switch>,
    /// Why the legal hold is set or lifted (required with --legal-hold)
    #[arg(long, value_name = "TEXT")]
    pub legal_hold_reason: Option<String>,
    /// Replace phone numbers, e-mail addresses, card numbers and IBANs in what the model
    /// provider receives (on by default)
    #[arg(long, value_enum)]
    pub model_redaction: Option<Switch>,
    /// Hours a person's take-over of a conversation lasts unless handed back (1-168)
    #[arg(long, value_name = "N")]
    pub takeover_expires_hours: Option<u32>,
    /// Messages a second campaigns send from one of the tenant's numbers (1-1000; WhatsApp's
    /// default throughput is 80)
    #[arg(long, value_name = "N")]
    pub messages_per_second: Option<u32>,
    /// The business's privacy notice (https://…; "" removes it): the chat's privacy answer
    /// links to it
    #[arg(long, value_name = "URL")]
    pub privacy_notice_url: Option<String>,
    /// People get a copy of their data and erase it by writing in the chat (on by default);
    /// off: their requests wait for the business
    #[arg(long, value_enum)]
    pub rights_self_service: Option<Switch>,
    /// Days after the account's closure its API keys may still export its data (1-365)
    #[arg(long, value_name = "N")]
    pub closed_export_days: Option<u32>,
    /// The country local phone numbers are read in (ISO code, e.g. MA; "" removes it)
    #[arg(long, value_name = "CODE")]
    pub default_country: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    pub fn is_on(self) -> bool {
        self == Switch::On
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_means_serve_and_global_flags_go_after_subcommands() {
        let cli = Cli::try_parse_from(["mizan-local"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from(["mizan-local", "--port", "0"]).unwrap();
        assert_eq!(cli.port, Some(0));
        let cli =
            Cli::try_parse_from(["mizan-local", "tenant", "show", "ten_1", "--data-dir", "d"])
                .unwrap();
        assert_eq!(cli.data_dir, Some(PathBuf::from("d")));
    }
}
