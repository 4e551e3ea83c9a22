//! The local runner: Mizan in one process on 127.0.0.1 with embedded adapters (DESIGN §2), and
//! the admin commands that manage tenants on either backend.

pub mod admin;
pub mod api_error;
pub mod background;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod feed;
pub mod functions;
pub mod http_server;
pub mod lambda_bridge;
pub mod purge;
pub mod routes;
pub mod schedule;
pub mod send;
pub mod serve;
pub mod shutdown;

use clap::Parser;
use cli::{Cli, Command, ServeArgs};
use error::CliError;
use std::process::ExitCode;
use std::time::Duration;

/// How long blocking storage work may take to finish once the command is done.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(5);

/// Parses the command line, runs the command, and maps its outcome to an exit code:
/// 0 success, 2 bad input or not found (also clap's usage errors), 1 any other failure.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return fail(&CliError::Failed(format!(
                "cannot start the async runtime: {e}"
            )))
        }
    };
    let outcome = runtime.block_on(run(cli));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(error: &CliError) -> ExitCode {
    eprintln!("mizan-local: {error}");
    ExitCode::from(error.exit_code())
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let command = cli
        .command
        .unwrap_or(Command::Serve(ServeArgs { port: None }));
    match command {
        Command::Serve(args) => {
            if cli.backend != cli::BackendChoice::Embedded {
                return Err(CliError::Usage(
                    "serve always runs on the embedded backend; --backend aws is for admin commands"
                        .into(),
                ));
            }
            let port = args.port.or(cli.port).unwrap_or(cli::DEFAULT_PORT);
            serve::run(config::embedded(cli.data_dir)?, port).await
        }
        Command::Send(args) => {
            let config = config::embedded(cli.data_dir)?;
            let data_dir = config::data_dir(&config)
                .ok_or_else(|| CliError::Usage("send works with the embedded runner".into()))?;
            send::run(
                data_dir,
                &send::SendArgs {
                    text: args.text,
                    from: args.from,
                    name: args.name,
                    phone_number_id: args.phone_number_id,
                    at: args.at,
                },
            )
        }
        Command::Purge(args) => {
            let loaded = match cli.backend {
                cli::BackendChoice::Embedded => config::embedded(cli.data_dir)?,
                cli::BackendChoice::Aws => config::aws(cli.data_dir)?,
            };
            purge::run(&loaded, &args).await
        }
        Command::Admin(command) => {
            if cli.port.is_some() {
                return Err(CliError::Usage("--port applies to serve only".into()));
            }
            let loaded = match cli.backend {
                cli::BackendChoice::Embedded => config::embedded(cli.data_dir)?,
                cli::BackendChoice::Aws => config::aws(cli.data_dir)?,
            };
            admin::run(&loaded, command).await
        }
    }
}
