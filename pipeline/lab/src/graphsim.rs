//! `callsight-lab graphsim`: the Graph and Entra simulator as a process of its own.

use callsight_core::shutdown::Shutdown;
use callsight_graphsim::state::{Admin, TenantSpec};
use callsight_graphsim::{GraphSim, SimConfig};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

/// The command's arguments.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Client id of the simulated app.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Largest page of sessions.
    pub page_size: usize,
    /// Tenants to create: `GUID[=Name]`.
    pub tenants: Vec<String>,
}

/// A tenant from `GUID[=Name]`.
pub fn tenant_spec(text: &str) -> TenantSpec {
    let (id, name) = text.split_once('=').unwrap_or((text, "Contoso"));
    let domain: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    TenantSpec {
        tenant_id: id.trim().to_string(),
        display_name: name.to_string(),
        admin: Admin {
            display_name: format!("{name} Administrator"),
            mail: None,
            user_principal_name: format!("admin@{domain}.example"),
        },
        consented: false,
    }
}

/// Runs the simulator until ctrl-c or SIGTERM.
pub async fn run(options: Options) -> anyhow::Result<ExitCode> {
    let sim = GraphSim::start(SimConfig {
        listen: options.listen,
        client_id: options.client_id,
        client_secret: options.client_secret,
        page_size: options.page_size,
        ..SimConfig::default()
    })
    .await?;
    for tenant in &options.tenants {
        sim.add_tenant(tenant_spec(tenant));
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "graph.base_url = \"{}\"", sim.graph_url())?;
        writeln!(out, "graph.login_url = \"{}\"", sim.login_url())?;
        out.flush()?;
    }
    tracing::info!(
        graph = %sim.graph_url(),
        login = %sim.login_url(),
        control = %format!("http://{}/_sim", sim.addr),
        "graphsim running; ctrl-c to stop"
    );
    Shutdown::new().wait_for_signal().await;
    sim.shutdown();
    Ok(ExitCode::SUCCESS)
}
