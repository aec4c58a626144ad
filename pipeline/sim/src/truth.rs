//! Ground truth: for every leg the simulator creates, the cause a correct diagnosis names, the
//! scope entities that explain it, and the participant to blame. Written as NDJSON, one label
//! per line.

use crate::fault::{Fault, FaultKind, Target};
use crate::world::World;
use callsight_model::keys;
use callsight_model::types::EntityKind;
use serde::{Deserialize, Serialize};

/// A leg of a call record: its session and side (callsight's leg id is
/// `call/participant/session/side`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LegRef {
    /// Session id in the record.
    pub session_id: String,
    /// `caller` or `callee`.
    pub side: String,
}

/// An entity a verdict's scope may name, as callsight names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeRef {
    /// Entity kind (`client`, `ap_radio`, `ap`, `switch_port`, `switch`, `wan_link`, `site`).
    pub kind: String,
    /// Entity id (MACs as 12 hex digits; ports `switch/port`; WAN links `gateway/port`).
    pub entity_id: String,
}

/// The truth about one leg.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// Call record id.
    pub call_id: String,
    /// Session id.
    pub session_id: String,
    /// `caller` or `callee`.
    pub side: String,
    /// The participant (index in the world's clients).
    pub participant: usize,
    /// The participant's site.
    pub site_id: Option<String>,
    /// The cause code a correct verdict names, or `good` for a leg nothing impaired.
    pub cause: String,
    /// The injected fault behind it.
    pub fault: Option<usize>,
    /// Scope entities that are a correct answer (empty: scope not scored for this leg).
    pub scope: Vec<ScopeRef>,
    /// The leg of the participant to blame (`None`: nobody, or not scored).
    pub guilty: Option<LegRef>,
    /// A fault touched the call only in part: the leg is left out of the scores.
    pub ambiguous: bool,
}

impl Label {
    /// This leg.
    pub fn leg(&self) -> LegRef {
        LegRef {
            session_id: self.session_id.clone(),
            side: self.side.clone(),
        }
    }
}

fn r(kind: EntityKind, entity_id: String) -> ScopeRef {
    ScopeRef {
        kind: kind.symbol().into(),
        entity_id,
    }
}

/// The scope entities that correctly explain `fault` for `client`.
pub fn scope_of(world: &World, fault: &Fault, client: usize) -> Vec<ScopeRef> {
    let c = &world.clients[client];
    match (&fault.target, fault.kind) {
        (_, FaultKind::TelemetryGap | FaultKind::HiddenProblem | FaultKind::MediaRelay) => {
            Vec::new()
        }
        (_, FaultKind::RemoteBadNetwork) => Vec::new(),
        (Target::Client { .. }, _) => c
            .mac
            .iter()
            .map(|m| r(EntityKind::Client, m.clone()))
            .collect(),
        (Target::Radio { site, ap, radio }, _) => {
            vec![r(
                EntityKind::ApRadio,
                world.sites[*site].aps[*ap].radios[*radio].mac.clone(),
            )]
        }
        (Target::Ap { site, ap }, _) => {
            let ap = &world.sites[*site].aps[*ap];
            let mut v = vec![r(EntityKind::Ap, ap.mac.clone())];
            v.extend(
                ap.radios
                    .iter()
                    .map(|x| r(EntityKind::ApRadio, x.mac.clone())),
            );
            v
        }
        (Target::Port { site, switch, port }, _) => {
            let sw = &world.sites[*site].switches[*switch];
            vec![
                r(EntityKind::SwitchPort, keys::port_id(&sw.mac, port)),
                r(EntityKind::Switch, sw.mac.clone()),
            ]
        }
        (Target::Uplink { site, switch }, _) => {
            let sw = &world.sites[*site].switches[*switch];
            vec![
                r(EntityKind::SwitchPort, keys::port_id(&sw.mac, &sw.uplink)),
                r(EntityKind::Switch, sw.mac.clone()),
            ]
        }
        (Target::Wan { site }, _) => {
            let s = &world.sites[*site];
            let mut v: Vec<ScopeRef> = s
                .wan_links
                .iter()
                .filter(|l| !l.backup || fault.kind == FaultKind::WanFailover)
                .map(|l| r(EntityKind::WanLink, keys::wan_link_id(&s.gateway, &l.port)))
                .collect();
            v.push(r(EntityKind::Site, s.id.clone()));
            v
        }
        (Target::VpnPool | Target::Site { .. }, _) => Vec::new(),
    }
}
