//! callsight's root-cause engine: a call leg and its state view in, a verdict out. Pure and
//! synchronous: no Kafka, no async, no clock; everything it needs is passed in.
//!
//! Layout:
//! - [`classify`]: Microsoft's Call Quality Dashboard stream classification.
//! - [`view`]: the state view, what the network was doing around the leg.
//! - [`features`]: the evidence features with their thresholds.
//! - [`evidence`]: measuring and scoring the features per domain.
//! - [`precedence`]: causes that explain other causes' symptoms.
//! - [`attribution`]: the noisy-OR scoring model and its exact Shapley values.
//! - [`scope`]: how far a cause reaches across calls, and scope alerts.
//! - [`engine`]: `evaluate`, which puts it all together.
//! - [`summary`]: the sentence a person reads; [`explain`]: the whole verdict as text.
//! - [`scenario`]: a compact JSON form of a leg and its view, for golden tests and `explain`.
//! - [`config`]: thresholds and parameters; [`stats`]: percentiles and the binomial tail.

pub mod attribution;
pub mod classify;
pub mod config;
pub mod engine;
pub mod evidence;
pub mod explain;
pub mod features;
pub mod precedence;
pub mod scenario;
pub mod scope;
pub mod stats;
pub mod summary;
pub mod view;

pub use config::{ClassificationConfig, RcaConfig, RuleSet};
pub use engine::{Evaluation, Settings, evaluate, evaluate_at};
pub use scope::{LegObservation, ScopeTracker};
pub use view::StateView;
