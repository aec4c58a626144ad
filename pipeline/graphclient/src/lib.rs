//! Microsoft Graph and Entra over HTTP.
//!
//! Layout:
//! - [`token`]: app-only tokens per tenant, cached and refreshed.
//! - [`api`]: call records with paging, the record list, subscriptions; throttling retried.
//! - [`delegated`]: the linking administrator's sign-in (`/me`, `/organization`).
//! - [`error`]: Entra and Graph errors.

pub mod api;
pub mod delegated;
pub mod error;
pub mod token;

pub use api::{Graph, RetryPolicy};
pub use error::{EntraError, GraphError};
pub use token::Tokens;
