//! A whole callsight in one process for the demo and the end-to-end benchmarks: graphsim standing
//! in for Graph and Entra with the simulated tenant, mistsim for the simulated Mist org (on the
//! Mist path: callsight's poller reads it, its webhooks reach the ingest role), every role on
//! the embedded broker, the tenant and the org declared in configuration, and a follower of
//! `rca.verdicts`.

use anyhow::Context as _;
use callsight::Config;
use callsight::follow::Verdicts;
use callsight::run::{self, Roles, Running};
use callsight_core::config::Secret;
use callsight_core::shutdown::Shutdown;
use callsight_graphsim::state::TenantSpec;
use callsight_graphsim::{GraphSim, SimConfig as GraphSimConfig};
use callsight_ingest::config::MistOrgConfig;
use callsight_mistsim::{MistSim, MistSimConfig};
use callsight_model::types::RootCauseVerdict;
use callsight_sim::accuracy::Observed;
use callsight_sim::truth::ScopeRef;
use callsight_teams::config::StaticTenantConfig;
use std::sync::Arc;
use std::time::Duration;

/// A schema symbol (`poor`, `wan_loss`, `ap_radio`) of a serde enum.
pub fn symbol<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// What scoring needs from a verdict.
pub fn observed(v: &RootCauseVerdict) -> Observed {
    Observed {
        leg_id: v.leg_id.clone(),
        participant_id: v.participant_id.clone(),
        quality: symbol(&v.quality),
        poor_feedback: v.poor_feedback,
        primary_cause: symbol(&v.primary_cause),
        guilty_participant_id: v.guilty_participant_id.clone(),
        scope: v.scope.as_ref().map(|s| ScopeRef {
            kind: symbol(&s.kind),
            entity_id: s.entity_id.clone(),
        }),
    }
}

/// callsight, graphsim and the follower, running.
pub struct Stage {
    /// The roles.
    pub running: Running,
    /// Graph and Entra.
    pub graphsim: GraphSim,
    /// The Mist cloud, on the Mist path.
    pub mistsim: Option<Arc<MistSim>>,
    /// Stops the roles.
    pub shutdown: Shutdown,
    /// `rca.verdicts`.
    pub verdicts: Verdicts,
    /// The configuration the roles run with.
    pub config: Config,
    /// Base URL of the ingest role.
    pub ingest_url: String,
}

/// `addr` as this machine reaches it: a wildcard listen address (`0.0.0.0`, `::`) becomes the
/// loopback address with the same port.
pub fn local(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    if addr.ip().is_unspecified() {
        let loopback = match addr {
            std::net::SocketAddr::V4(_) => std::net::IpAddr::from([127, 0, 0, 1]),
            std::net::SocketAddr::V6(_) => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        };
        std::net::SocketAddr::new(loopback, addr.port())
    } else {
        addr
    }
}

/// A fresh 256-bit key as hex.
fn random_key() -> anyhow::Result<String> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(key))
}

impl Stage {
    /// Starts graphsim with `tenant` and every role configured against it, the tenant declared
    /// in configuration for `org`; on the Mist path also mistsim for `org`, polled every 100 ms
    /// (the drive waits for a poll of each simulated minute).
    pub async fn start(
        mut config: Config,
        tenant: &str,
        org: &str,
        path: crate::simdrive::TelemetryPath,
    ) -> anyhow::Result<Stage> {
        // Self-contained whatever the configuration says: the embedded broker (simulated
        // telemetry never reaches a real cluster, and no verdict of a real one is read back),
        // graphsim's tenant only, notifications to the in-process ingest, no Mist polling.
        config.kafka.brokers = String::new();
        config.graph.public_url = String::new();
        config.graph.tenants.clear();
        // The simulator's timeline starts on a fixed day in the past (its runs repeat exactly):
        // the in-process ingest takes event times however old. The bound ahead of the clock
        // stays as configured.
        config.ingest.max_event_age = Duration::MAX;
        config.ingest.mist.orgs.clear();
        let mistsim = match path {
            crate::simdrive::TelemetryPath::Mist => {
                let mist = MistSim::start(MistSimConfig {
                    org_id: org.to_string(),
                    api_token: random_key()?,
                    webhook_secret: random_key()?,
                    // Polled every 100 ms while the drive keeps its pace, the org is read many
                    // times per simulated minute, far beyond Mist's 5,000 requests per hour of
                    // a poller at its default minute (mistsim's own tests check the limit).
                    requests_per_hour: u32::MAX,
                    ..MistSimConfig::default()
                })
                .await?;
                config.ingest.mist.api_url = mist.url();
                config.ingest.mist.poll_interval = Duration::from_millis(100);
                config.ingest.mist.orgs.insert(
                    org.to_string(),
                    MistOrgConfig {
                        webhook_secret: Secret(mist.webhook_secret().to_string()),
                        api_token: Secret(mist.api_token().to_string()),
                        ..MistOrgConfig::default()
                    },
                );
                Some(Arc::new(mist))
            }
            crate::simdrive::TelemetryPath::Ndjson => None,
        };
        let graphsim = GraphSim::start(GraphSimConfig::default()).await?;
        graphsim.add_tenant(TenantSpec {
            consented: true,
            ..crate::graphsim::tenant_spec(&format!("{tenant}=Contoso"))
        });
        config.graph.base_url = graphsim.graph_url();
        config.graph.login_url = graphsim.login_url();
        config.graph.client_id = graphsim.client_id();
        config.graph.client_secret = Secret(graphsim.client_secret());
        config.graph.manage_interval = Duration::from_secs(1);
        config.graph.fetch_retry_base = Duration::from_millis(200);
        config.graph.tenants.insert(
            tenant.to_string(),
            StaticTenantConfig {
                org_id: org.to_string(),
                ..StaticTenantConfig::default()
            },
        );
        if config.privacy.master_key.0.is_empty() {
            config.privacy.master_key = Secret(random_key()?);
        }
        config.validate()?;
        let shutdown = Shutdown::new();
        let roles = Roles {
            mist_poll: mistsim.is_some(),
            ..Roles::ALL
        };
        let running = run::start(&config, roles, &shutdown).await?;
        let ingest_url = format!(
            "http://{}",
            local(running.ingest_addr.context("the ingest role runs")?)
        );
        if let Some(mist) = &mistsim {
            mist.set_webhook_url(Some(format!("{ingest_url}/telemetry/mist/{org}")));
        }
        let verdicts = Verdicts::follow(
            &config.kafka,
            &running.bootstrap,
            &format!("callsight-stage-{}", std::process::id()),
            &config.topics.verdicts.name,
        )?;
        // Calls completed before the subscription exists would only be found by a backfill.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while graphsim.subscriptions().is_empty() {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "no Graph subscription within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Stage {
            running,
            graphsim,
            mistsim,
            shutdown,
            verdicts,
            config,
            ingest_url,
        })
    }

    /// The latest verdict per leg, as the accuracy scoring reads them.
    pub fn observed(&self) -> Vec<Observed> {
        self.verdicts
            .with(|s| s.by_leg.values().map(observed).collect())
    }

    /// A driver for this stage, completing calls of `tenant`, its telemetry through mistsim on
    /// the Mist path.
    pub fn driver(&self, tenant: &str) -> crate::simdrive::Driver {
        let driver = crate::simdrive::Driver::new(
            self.ingest_url.clone(),
            Some(self.config.ingest.telemetry_token.0.clone()).filter(|t| !t.is_empty()),
            format!("http://{}", self.graphsim.addr),
            tenant.to_string(),
        );
        match &self.mistsim {
            Some(mist) => driver.through_mist(mist.clone()),
            None => driver,
        }
    }

    /// Stops everything, draining within the configured bound.
    pub async fn stop(self) {
        let Stage {
            running,
            graphsim,
            mistsim,
            shutdown,
            verdicts,
            config,
            ..
        } = self;
        drop(verdicts);
        shutdown.drain(config.shutdown.drain_timeout).await;
        graphsim.shutdown();
        if let Some(mist) = mistsim {
            mist.shutdown();
        }
        drop(running);
    }
}
