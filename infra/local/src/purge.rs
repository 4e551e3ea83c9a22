//! `mizan-local purge [--dry-run] [--as-of TIME] [--max-tenants N]`: the retention purge on
//! demand, so an operator can see what a policy will remove at a given moment before it does.

use crate::cli::PurgeArgs;
use crate::config;
use crate::error::CliError;
use mizan_shared::backend;
use mizan_shared::config::Config;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::workflows::purge::{self, PurgeOptions};

pub async fn run(config: &Config, args: &PurgeArgs) -> Result<(), CliError> {
    if let Some(dir) = config::data_dir(config) {
        if !dir.is_dir() {
            return Err(CliError::Usage(format!(
                "no embedded data in {}: pass the runner's --data-dir",
                dir.display()
            )));
        }
    }
    let as_of = match &args.as_of {
        None => Timestamp::now(),
        Some(text) => Timestamp::parse_rfc3339(text).map_err(|e| {
            CliError::Usage(format!(
                "--as-of must be an RFC 3339 time such as 2027-01-31T00:00:00Z: {e}"
            ))
        })?,
    };
    let services = backend::connect(config).await?;
    let mut options = PurgeOptions::at(as_of);
    options.dry_run = args.dry_run;
    if args.max_tenants == Some(0) {
        return Err(CliError::Usage("--max-tenants must be at least 1".into()));
    }
    options.max_tenants = args.max_tenants;
    let report = purge::run(&services.store, services.archives.as_ref(), options).await?;
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| CliError::Failed(format!("the report does not serialize: {e}")))?;
    println!("{text}");
    match report.failures() {
        0 => Ok(()),
        n => Err(CliError::Failed(format!(
            "{n} purge operations failed; run again to retry them"
        ))),
    }
}
