//! Starting roles: `callsight run` starts every role in one process (the Kafka cluster, embedded
//! or configured, its topics, the admin server, the ingest endpoints with the Graph webhook and
//! linking endpoints, the Mist poller, fetch with the subscription manager's election, and the
//! processor); `callsight ingest`, `mist-poll`, `fetch` and `process` start one role each with
//! the admin server.

use crate::config::Config;
use anyhow::Context as _;
use callsight_core::Process;
use callsight_core::admin;
use callsight_core::metrics::Metrics;
use callsight_core::readiness::Readiness;
use callsight_core::shutdown::Shutdown;
use callsight_ingest::Ingest;
use callsight_kafka::Services;
use callsight_teams::WebhookLimits;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Which roles a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The ingest endpoints (telemetry, the Graph webhook, linking).
    pub ingest: bool,
    /// The Mist statistics poller (one per deployment).
    pub mist_poll: bool,
    /// The fetcher and the subscription manager's election.
    pub fetch: bool,
    /// The stateful processor.
    pub process: bool,
}

impl Roles {
    /// Every role, the Mist poller included (`callsight run` leaves the poller out when
    /// `ingest.mist.poll` is false).
    pub const ALL: Roles = Roles {
        ingest: true,
        mist_poll: true,
        fetch: true,
        process: true,
    };
    /// No role: only the admin server and the cluster.
    pub const NONE: Roles = Roles {
        ingest: false,
        mist_poll: false,
        fetch: false,
        process: false,
    };
    /// Only ingest (`callsight ingest`).
    pub const INGEST: Roles = Roles {
        ingest: true,
        ..Roles::NONE
    };
    /// Only the Mist poller (`callsight mist-poll`).
    pub const MIST_POLL: Roles = Roles {
        mist_poll: true,
        ..Roles::NONE
    };
    /// Only fetch (`callsight fetch`).
    pub const FETCH: Roles = Roles {
        fetch: true,
        ..Roles::NONE
    };
    /// Only the processor (`callsight process`).
    pub const PROCESS: Roles = Roles {
        process: true,
        ..Roles::NONE
    };
}

/// A started process: where it listens, and what keeps it alive.
pub struct Running {
    /// Address of the admin server.
    pub admin_addr: SocketAddr,
    /// Address of the ingest endpoints, when the role runs.
    pub ingest_addr: Option<SocketAddr>,
    /// Where Graph and browsers reach the ingest endpoints (`graph.public_url`, else the
    /// in-process ingest address).
    pub public_url: String,
    /// `bootstrap.servers` of the cluster in use.
    pub bootstrap: String,
    /// The broker runs inside this process.
    pub embedded: bool,
    /// The process's metrics.
    pub metrics: Metrics,
    /// The process's readiness.
    pub readiness: Readiness,
    /// The cluster, codec and shared parts the roles run on (holds the embedded broker).
    services: Services,
}

impl Running {
    /// What the roles run on: the cluster, the codec, metrics, readiness, shutdown.
    pub fn services(&self) -> &Services {
        &self.services
    }
}

/// Starts `roles`; they run until `shutdown.token` is cancelled.
pub async fn start(config: &Config, roles: Roles, shutdown: &Shutdown) -> anyhow::Result<Running> {
    // POST /telemetry open to anyone is a development setup (the embedded broker), or an
    // explicit choice.
    anyhow::ensure!(
        !roles.ingest
            || !config.ingest.telemetry_token.is_empty()
            || config.ingest.allow_unauthenticated
            || config.kafka.brokers.is_empty(),
        "ingest: set ingest.telemetry_token (the bearer token POST /telemetry requires), or \
         ingest.allow_unauthenticated = true to take telemetry from anyone who reaches the \
         endpoint"
    );
    let process = Process::with_shutdown(shutdown.clone(), config.shutdown.drain_timeout);
    // Not ready until the cluster is connected, from the admin server's first answer.
    process.readiness.register("broker", "connecting");
    process.readiness.register("topics", "not checked yet");
    let listener = TcpListener::bind(config.admin.listen)
        .await
        .with_context(|| format!("admin server: cannot listen on {}", config.admin.listen))?;
    let admin_addr = listener.local_addr()?;
    callsight_core::serve::spawn(
        shutdown,
        listener,
        admin::router(
            process.metrics.clone(),
            process.readiness.clone(),
            config.admin.token.clone(),
        ),
        "admin",
        &config.http,
    );
    let services = Services::connect(process, &config.kafka, &config.topics, &config.codec)
        .await
        .context("starting")?;

    let mut ingest_addr = None;
    let mut public_url = config.graph.public_url.trim_end_matches('/').to_string();
    // The endpoints and the poller share one producer and one bound on records in flight.
    let ingest = if roles.ingest || roles.mist_poll {
        Some(Ingest::new(&services, &config.ingest).context("the ingest roles")?)
    } else {
        None
    };
    if let (true, Some(ingest)) = (roles.ingest, &ingest) {
        let listener = TcpListener::bind(config.ingest.listen)
            .await
            .with_context(|| format!("ingest: cannot listen on {}", config.ingest.listen))?;
        let addr = listener.local_addr()?;
        if public_url.is_empty() {
            public_url = local_url(addr);
        }
        let limits = WebhookLimits {
            max_body_bytes: config.graph.webhook_max_body_bytes,
            max_in_flight: config.ingest.max_in_flight,
            overload_wait: config.ingest.overload_wait,
            parse_threads: config.ingest.parse_threads,
        };
        let router = ingest.routes().merge(
            callsight_teams::webhook_routes(
                &services,
                &config.graph,
                &config.privacy,
                limits,
                &public_url,
            )
            .await
            .context("the Graph webhook and linking endpoints")?,
        );
        callsight_core::serve::spawn(shutdown, listener, router, "ingest", &config.http);
        ingest_addr = Some(addr);
    }
    if let (true, Some(ingest)) = (roles.mist_poll, &ingest) {
        ingest.start_mist_poll(&services);
    }
    if roles.fetch {
        callsight_teams::start_fetch(
            &services,
            &config.graph,
            &config.privacy,
            &config.classification,
            &public_url,
        )
        .await
        .context("the fetch role")?;
    }
    if roles.process {
        callsight_processor::start(
            &services,
            &config.processor,
            &config.classification,
            &config.rca,
        )
        .await
        .context("the process role")?;
    }
    services.watch_broker();

    Ok(Running {
        admin_addr,
        ingest_addr,
        public_url,
        embedded: services.cluster().is_embedded(),
        bootstrap: services.bootstrap.clone(),
        metrics: services.metrics.clone(),
        readiness: services.readiness.clone(),
        services,
    })
}

/// The URL this machine reaches a listener at: `localhost` for a wildcard address.
fn local_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}
