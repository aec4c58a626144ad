//! The command line.

use crate::config::Config;
use callsight_core::logging::{self, LogConfig};
use clap::{Parser, Subcommand};
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

/// callsight: why a Microsoft Teams call was bad, and how far the problem reaches.
#[derive(Debug, Parser)]
#[command(name = "callsight", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Environment variables `CALLSIGHT__SECTION__KEY` override it.
    #[arg(long, short = 'c', global = true, env = "CALLSIGHT_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every role in one process. With no `kafka.brokers` it starts the embedded broker.
    Run,
    /// The ingest role: telemetry endpoints (Mist webhooks, NDJSON), the Graph webhook and the
    /// tenant linking endpoints.
    Ingest,
    /// The Mist statistics poller: polls every org with an API token (`ingest.mist.orgs`) and
    /// produces what it finds. Run exactly one per deployment.
    MistPoll,
    /// The fetch role: Graph notifications to call legs, and (when elected) the subscription
    /// manager.
    Fetch,
    /// The process role: call legs joined with network state in event time, verdicts and scope
    /// alerts out (RocksDB in `processor.state_dir`).
    Process,
    /// The embedded broker alone, with every topic created, for external clients (kcat, Python).
    Broker,
    /// Create the missing topics on the configured cluster (when `kafka.create_topics` is set),
    /// check every topic's partition count, print them and exit: a deployment's set-up step.
    Topics,
    /// Evaluate one leg from a JSON file (a saved leg and view, or a scenario) with the
    /// configured thresholds, and print the verdict with its evidence and attribution. Exits 1
    /// when a scenario's expectation is not met.
    Explain {
        /// The file.
        file: PathBuf,
        /// Print the verdict as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the call legs (JSON) a saved Graph call record normalises to: what callsight
    /// understood from the record.
    Legs(crate::legs::Options),
    /// The pipeline over recorded inputs (Graph call records as fetched, Mist webhook bodies,
    /// NDJSON telemetry and inventory) in event-time order, in this process on the embedded
    /// broker; the verdicts are written as NDJSON.
    Replay(crate::replay::Options),
    /// Configuration tools.
    Config {
        /// What to do with the configuration.
        #[command(subcommand)]
        action: ConfigAction,
    },
}

/// `callsight config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration as TOML, secrets redacted.
    Print,
    /// Load and validate the configuration, then exit (0 when valid).
    Check,
}

/// Loads the configuration a command line names (`--config`, then the environment), or prints
/// why it cannot be used and returns the exit code 2.
pub fn load_config(program: &str, file: Option<&std::path::Path>) -> Result<Config, ExitCode> {
    Config::load(file).map_err(|e| {
        eprintln!("{program}: {e}");
        ExitCode::from(2)
    })
}

/// Sets up logging (warnings only when `quiet` and the filter is the default, for commands that
/// print their own report) and runs `command` on a new Tokio runtime. An error is logged with
/// its causes and exits 1.
pub fn run_async(
    program: &str,
    log: &LogConfig,
    quiet: bool,
    command: impl Future<Output = anyhow::Result<ExitCode>>,
) -> ExitCode {
    let mut log = log.clone();
    if quiet && log.filter == "info" {
        log.filter = "warn".into();
    }
    logging::init(&log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{program}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "{program} stopped");
            ExitCode::FAILURE
        }
    }
}
