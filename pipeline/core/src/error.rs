//! Errors as a log line shows them: the error and every cause under it.

use std::error::Error;
use std::fmt;

/// Displays an error with its whole chain of causes, `outer: cause: root cause`, the way
/// `{:#}` of an `anyhow::Error` does. Log fields use it (`error = %Report(&e)`), since an error's
/// own `Display` says only what failed at its level.
pub struct Report<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

/// What a caught panic said (its `&str` or `String` payload), or a stand-in.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("opening the store")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn every_cause_is_shown() {
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(Report(&e).to_string(), "opening the store: disk full");
    }
}
