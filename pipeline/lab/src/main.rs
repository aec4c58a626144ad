//! The `callsight-lab` command: parse the command line, load callsight's configuration, set up
//! logging, run the demo, a simulator or a benchmark.

use callsight::Config;
use callsight_lab::cli::{BenchCommand, Cli, Command};
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// jemalloc is the whole process's allocator, as in the product binary: the benchmarks measure
/// what the product runs (README, "Processor", "Memory").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match callsight::cli::load_config("callsight-lab", cli.config.as_deref()) {
        Ok(config) => config,
        Err(code) => return code,
    };
    // The demo and the benchmarks print to the terminal: only warnings in between.
    let quiet = matches!(cli.command, Command::Demo { .. } | Command::Bench { .. });
    callsight::cli::run_async("callsight-lab", &config.log, quiet, async {
        match cli.command {
            Command::Graphsim {
                listen,
                client_id,
                client_secret,
                page_size,
                tenants,
            } => {
                callsight_lab::graphsim::run(callsight_lab::graphsim::Options {
                    listen,
                    client_id,
                    client_secret,
                    page_size,
                    tenants,
                })
                .await
            }
            Command::Bench { which } => bench(&config, which).await,
            Command::Sim(options) => callsight_lab::sim::run(options).await,
            Command::Demo {
                seed,
                duration,
                speed,
                telemetry,
            } => {
                callsight_lab::demo::run(
                    config.clone(),
                    callsight_lab::demo::DemoOptions {
                        seed,
                        duration,
                        speed,
                        telemetry,
                    },
                )
                .await
            }
        }
    })
}

async fn bench(config: &Config, which: BenchCommand) -> anyhow::Result<ExitCode> {
    match which {
        BenchCommand::Accuracy {
            seed,
            faults,
            speed,
            calls_per_site_hour,
            out,
            telemetry,
            world,
        } => {
            let run = callsight_lab::bench::accuracy(
                config.clone(),
                &callsight_lab::bench::AccuracyOptions {
                    seed,
                    faults,
                    speed,
                    calls_per_site_hour,
                    out,
                    telemetry,
                    world,
                },
            )
            .await?;
            let mut stdout = std::io::stdout().lock();
            writeln!(
                stdout,
                "# callsight-lab bench accuracy\n\n{}\n\n{}",
                run.setup, run.report
            )?;
            // A run where legs got no verdict measured the pipeline's failure, not its accuracy.
            if run.report.legs_scored == 0 || run.report.legs_without_verdict > 0 {
                writeln!(
                    stdout,
                    "incomplete: {} of {} scored legs got no verdict",
                    run.report.legs_without_verdict, run.report.legs_scored
                )?;
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        BenchCommand::State { clients, minutes } => {
            tokio::task::spawn_blocking(move || {
                callsight_lab::bench::processor::state(clients, minutes)
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        BenchCommand::Kafka {
            clients,
            minutes,
            legs,
            partitions,
        } => {
            callsight_lab::bench::processor::kafka(clients, minutes, legs, partitions).await;
            Ok(ExitCode::SUCCESS)
        }
        BenchCommand::Peer {
            clients,
            minutes,
            legs,
        } => {
            callsight_lab::bench::processor::peer(clients, minutes, legs).await;
            Ok(ExitCode::SUCCESS)
        }
        BenchCommand::Graph {
            seconds,
            concurrency,
            records,
        } => {
            callsight_lab::bench::graph::graph(config.clone(), seconds, concurrency, records).await;
            Ok(ExitCode::SUCCESS)
        }
        BenchCommand::Ingest {
            seconds,
            concurrency,
            phase,
        } => {
            callsight_lab::bench::ingest::load(
                config.clone(),
                seconds,
                concurrency,
                phase.as_deref().unwrap_or_default(),
            )
            .await;
            Ok(ExitCode::SUCCESS)
        }
    }
}
