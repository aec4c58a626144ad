//! What can go wrong talking to Graph and Entra.

/// An error from Entra's token endpoint (`{"error", "error_description", "error_codes"}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Entra refused ({status}): {error} {codes:?}: {description}")]
pub struct EntraError {
    /// HTTP status.
    pub status: u16,
    /// `error`, e.g. `invalid_client`.
    pub error: String,
    /// `error_codes`, e.g. `[7000215]` (AADSTS codes; branch on these, not the text).
    pub codes: Vec<i64>,
    /// `error_description`.
    pub description: String,
}

impl EntraError {
    /// No answer came (the network failed).
    pub fn transport(error: impl std::fmt::Display) -> Self {
        EntraError {
            status: 0,
            error: "transport".into(),
            codes: Vec::new(),
            description: error.to_string(),
        }
    }

    /// A 2xx answer that is not what Entra sends.
    pub fn unexpected(error: impl std::fmt::Display) -> Self {
        EntraError {
            status: 200,
            error: "unexpected_answer".into(),
            codes: Vec::new(),
            description: error.to_string(),
        }
    }
}

/// A Graph request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraphError {
    /// No token could be had.
    #[error("token")]
    Token(#[from] EntraError),
    /// 404: not produced yet, expired (30 days), or gone.
    #[error("not found")]
    NotFound,
    /// Throttled or unavailable after every retry.
    #[error("Graph is throttling or unavailable ({status}) after {attempts} attempts")]
    Unavailable {
        /// Last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// Graph answered an error that retrying will not fix.
    #[error("Graph refused ({status} {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// `error.code`.
        code: String,
        /// `error.message`.
        message: String,
    },
    /// The network failed (no answer, or an answer cut short): worth retrying.
    #[error("{0}")]
    Transport(String),
    /// A whole answer that is not what Graph documents (it does not parse), or a request that
    /// cannot be made (an id that is not a GUID): retrying gives the same.
    #[error("{0}")]
    Invalid(String),
}

impl GraphError {
    /// A closed set of short names, for metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            GraphError::Token(_) => "token",
            GraphError::NotFound => "not_found",
            GraphError::Unavailable { .. } => "unavailable",
            GraphError::Refused { .. } => "refused",
            GraphError::Transport(_) => "transport",
            GraphError::Invalid(_) => "invalid",
        }
    }
}
