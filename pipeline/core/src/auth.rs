//! Bearer tokens, compared in constant time.

use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

/// Whether `headers` carry `Authorization: Bearer <expected>`, compared in constant time. An
/// empty `expected` matches nothing: each caller decides what no token configured means.
pub fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    !expected.is_empty()
        && given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_the_exact_bearer_token_matches() {
        let with = |value: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            h
        };
        assert!(bearer_matches(&with("Bearer op"), "op"));
        for wrong in ["Bearer po", "op", "Bearer op ", "Basic op"] {
            assert!(!bearer_matches(&with(wrong), "op"), "{wrong}");
        }
        assert!(!bearer_matches(&HeaderMap::new(), "op"));
        assert!(
            !bearer_matches(&with("Bearer "), ""),
            "no token configured matches nothing"
        );
    }
}
