//! The `callsight` command: parse the command line, load the configuration, set up logging,
//! run the chosen subcommand until SIGTERM or ctrl-c.

use callsight::Config;
use callsight::cli::{self, Cli, Command, ConfigAction};
use callsight::run::Roles;
use callsight_core::shutdown::{Drained, Shutdown};
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// jemalloc is the whole process's allocator: it also serves RocksDB's and librdkafka's `malloc`
/// (README, "Processor", "Memory").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli::load_config("callsight", cli.config.as_deref()) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match cli.command {
        Command::Config { action } => config_command(&config, action),
        Command::Explain { file, json } => callsight::explain::run(&config, &file, json),
        Command::Legs(options) => callsight::legs::run(&config, &options),
        command => {
            // A replay prints its summary to the terminal: only warnings in between.
            let quiet = matches!(command, Command::Replay(_));
            cli::run_async("callsight", &config.log, quiet, async {
                match command {
                    Command::Run => {
                        let roles = Roles {
                            mist_poll: config.ingest.mist.poll,
                            ..Roles::ALL
                        };
                        run(&config, roles).await
                    }
                    Command::Ingest => run(&config, Roles::INGEST).await,
                    Command::MistPoll => run(&config, Roles::MIST_POLL).await,
                    Command::Fetch => run(&config, Roles::FETCH).await,
                    Command::Process => run(&config, Roles::PROCESS).await,
                    Command::Broker => broker(&config).await,
                    Command::Topics => topics(&config).await,
                    Command::Replay(options) => {
                        callsight::replay::run(config.clone(), options).await
                    }
                    Command::Config { .. } | Command::Explain { .. } | Command::Legs(_) => {
                        unreachable!("handled above")
                    }
                }
            })
        }
    }
}

fn config_command(config: &Config, action: ConfigAction) -> ExitCode {
    match action {
        ConfigAction::Print => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(config.to_redacted_toml().as_bytes());
        }
        ConfigAction::Check => eprintln!("callsight: configuration is valid"),
    }
    ExitCode::SUCCESS
}

async fn run(config: &Config, roles: Roles) -> anyhow::Result<ExitCode> {
    let shutdown = Shutdown::new();
    let running = callsight::run::start(config, roles, &shutdown).await?;
    tracing::info!(
        admin = %running.admin_addr,
        metrics = %format!("http://{}/metrics", running.admin_addr),
        ingest = %running
            .ingest_addr
            .map(|a| format!("http://{a}/telemetry"))
            .unwrap_or_else(|| "-".into()),
        graph_webhook = %format!("{}/graph/notifications", running.public_url),
        bootstrap = %running.bootstrap,
        embedded = running.embedded,
        "callsight is running; ctrl-c to stop"
    );
    shutdown.wait_for_signal().await;
    let drained = shutdown.drain(config.shutdown.drain_timeout).await;
    drop(running);
    Ok(match drained {
        Drained::Clean if !shutdown.failed() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

async fn broker(config: &Config) -> anyhow::Result<ExitCode> {
    let broker = callsight::broker::start(config)?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", broker.bootstrap_servers())?;
        out.flush()?;
    }
    tracing::info!(
        bootstrap = broker.bootstrap_servers(),
        "embedded broker running; try: kcat -L -b {}; ctrl-c to stop",
        broker.bootstrap_servers()
    );
    let shutdown = Shutdown::new();
    shutdown.wait_for_signal().await;
    drop(broker);
    Ok(ExitCode::SUCCESS)
}

async fn topics(config: &Config) -> anyhow::Result<ExitCode> {
    if config.kafka.embedded() {
        eprintln!(
            "callsight: `topics` sets up a Kafka cluster: set kafka.brokers (the embedded broker creates its topics itself)"
        );
        return Ok(ExitCode::from(2));
    }
    let cluster = callsight_kafka::cluster::Cluster::connect(&config.kafka, &config.topics).await?;
    let mut out = std::io::stdout().lock();
    for spec in cluster.specs() {
        writeln!(
            out,
            "{}\t{} partitions\t{}",
            spec.name,
            spec.partitions,
            if spec.compacted { "compact" } else { "delete" }
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
