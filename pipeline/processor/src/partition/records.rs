//! What goes into a partition and what comes out: its settings, the consumed records, the
//! outputs with their outbox encoding, the committed offsets of a restore, and the counts.

use crate::config::ProcessorConfig;
use callsight_model::codec::single_object;
use callsight_model::types::{CallLeg, NetworkSample, RootCauseVerdict, ScopeAlert};
use callsight_rca::{ClassificationConfig, RcaConfig};
use callsight_state::StateError;

/// Event-time settings of the processor.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Telemetry may be this late and still count as on time.
    pub lateness_ms: i64,
    /// Extra wait after a leg's window has passed the watermark.
    pub settle_ms: i64,
    /// The watermark never passes wall clock plus this.
    pub max_lead_ms: i64,
    /// Network history kept.
    pub retention_ms: i64,
    /// How long a wired attachment is kept without a new report.
    pub attachment_retention_ms: i64,
    /// Wall-clock wait after which a leg is evaluated partial.
    pub max_wait_ms: i64,
    /// History read for baselines.
    pub baseline_history_ms: i64,
    /// Slices of that history.
    pub baseline_slices: u32,
    /// Stream classification.
    pub classification: ClassificationConfig,
    /// Root-cause settings.
    pub rca: RcaConfig,
}

impl Settings {
    /// The settings of the processor's and the engine's sections.
    pub fn new(
        p: &ProcessorConfig,
        classification: &ClassificationConfig,
        rca: &RcaConfig,
    ) -> Self {
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Settings {
            lateness_ms: ms(p.allowed_lateness),
            settle_ms: ms(p.settle_margin),
            max_lead_ms: ms(p.max_event_lead),
            retention_ms: ms(p.retention),
            attachment_retention_ms: ms(p.attachment_retention),
            max_wait_ms: ms(p.max_wait),
            baseline_history_ms: ms(p.baseline_history),
            baseline_slices: p.baseline_slices,
            classification: classification.clone(),
            rca: rca.clone(),
        }
    }

    pub(super) fn margin_ms(&self) -> i64 {
        self.rca.evidence_margin_seconds * 1000
    }
}

/// One consumed record of the partition.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "samples are the common case: unboxed, they cost no allocation"
)]
pub enum Record {
    /// From `net.telemetry`.
    Sample {
        /// The observation.
        sample: NetworkSample,
        /// Its single-object encoding (what the windows keep, but the IP binding window, which
        /// keeps only the client's MAC).
        bytes: Vec<u8>,
        /// Offset in `net.telemetry`.
        offset: i64,
    },
    /// From `calls.legs`.
    Leg {
        /// The leg.
        leg: Box<CallLeg>,
        /// Offset in `calls.legs`.
        offset: i64,
    },
}

/// Something to publish.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A verdict (for `rca.verdicts`).
    Verdict {
        /// The verdict.
        verdict: Box<RootCauseVerdict>,
        /// Offset of the leg in `calls.legs`.
        leg_offset: i64,
    },
    /// A scope alert raised or cleared (for `rca.alerts`).
    Alert(Box<ScopeAlert>),
}

impl Output {
    /// The bytes the outbox keeps: `kind | leg offset | single-object record`.
    pub fn encode(&self) -> Result<Vec<u8>, StateError> {
        let (kind, offset, body) = match self {
            Output::Verdict {
                verdict,
                leg_offset,
            } => (0u8, *leg_offset, single_object::encode(verdict.as_ref())),
            Output::Alert(alert) => (1u8, -1, single_object::encode(alert.as_ref())),
        };
        let body = body.map_err(|e| StateError::encode("output", e))?;
        let mut out = vec![kind];
        out.extend_from_slice(&offset.to_be_bytes());
        out.extend(body);
        Ok(out)
    }

    /// Reads outbox bytes back.
    pub fn decode(bytes: &[u8]) -> Option<Output> {
        let offset = i64::from_be_bytes(bytes.get(1..9)?.try_into().ok()?);
        let body = bytes.get(9..)?;
        match bytes.first()? {
            0 => Some(Output::Verdict {
                verdict: Box::new(single_object::decode(body).ok()?),
                leg_offset: offset,
            }),
            1 => Some(Output::Alert(Box::new(single_object::decode(body).ok()?))),
            _ => None,
        }
    }
}

/// An output in the outbox, under its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Its key in the outbox (after the partition).
    pub outbox_key: Vec<u8>,
    /// The output.
    pub output: Output,
}

/// A waiting leg whose evaluation panicked: forgotten by the partition, to be kept in the
/// dead-letter topic with the panic's message (taken with [`Partition::take_unappliable`]).
///
/// [`Partition::take_unappliable`]: super::Partition::take_unappliable
#[derive(Debug, Clone, PartialEq)]
pub struct Unappliable {
    /// The leg.
    pub leg: CallLeg,
    /// Its offset on `calls.legs`.
    pub offset: i64,
    /// What the panic said.
    pub error: String,
}

/// Committed offsets (next to consume) of a partition being restored: outputs that evaluation
/// of records below both were already published, and are not published again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// Of `calls.legs`.
    pub legs: i64,
    /// Of `net.telemetry`.
    pub telemetry: i64,
}

/// What a call did, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Observations applied on time.
    pub samples: u64,
    /// Observations older than the watermark, applied.
    pub late_applied: u64,
    /// Observations older than retention, dropped.
    pub late_dropped: u64,
    /// Observations stamped further ahead of the wall clock than `max_event_lead`: applied,
    /// but moving the watermark only to wall clock plus the lead.
    pub clamped: u64,
    /// Legs taken (waiting or evaluated).
    pub legs: u64,
    /// Legs skipped: a version not newer than one seen.
    pub stale_legs: u64,
    /// Evaluations with complete windows.
    pub evaluated: u64,
    /// Evaluations marked partial.
    pub partial: u64,
    /// Outputs not published again while restoring (already published before).
    pub suppressed: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.samples += o.samples;
        self.late_applied += o.late_applied;
        self.late_dropped += o.late_dropped;
        self.clamped += o.clamped;
        self.legs += o.legs;
        self.stale_legs += o.stale_legs;
        self.evaluated += o.evaluated;
        self.partial += o.partial;
        self.suppressed += o.suppressed;
    }
}
