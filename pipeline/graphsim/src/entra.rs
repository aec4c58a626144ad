//! Entra: the token endpoint and the interactive sign-in with admin consent.

use crate::Shared;
use crate::state::{Code, Grant, guid, token as new_token};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// An Entra error body, with its AADSTS code.
fn entra_error(status: StatusCode, error: &str, code: u32, text: &str) -> Response {
    let description = format!(
        "AADSTS{code}: {text}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
        guid(),
        guid(),
        crate::graph::now_rfc3339()
    );
    (
        status,
        axum::Json(json!({
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": crate::graph::now_rfc3339(),
            "trace_id": guid(),
            "correlation_id": guid(),
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        })),
    )
        .into_response()
}

pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let mut state = shared.lock();
    if field("client_id") != state.client_id {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            "Application was not found in the directory.",
        );
    }
    if field("client_secret") != state.client_secret {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
        );
    }
    let lifetime = state.token_lifetime;
    let (tenant_id, delegated) = match field("grant_type") {
        "client_credentials" => {
            if tenant == "common" || tenant == "organizations" || tenant == "consumers" {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    9001023,
                    "The grant type isn't supported over the /common or /consumers endpoints.",
                );
            }
            if field("scope") != "https://graph.microsoft.com/.default" {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    70011,
                    "The provided request must include a 'scope' input parameter ending with '/.default'.",
                );
            }
            match state.tenants.get(&tenant) {
                None => {
                    return entra_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        90002,
                        "Tenant not found.",
                    );
                }
                Some(t) if !t.spec.consented => {
                    return entra_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        65001,
                        "The user or administrator has not consented to use the application.",
                    );
                }
                Some(_) => (tenant.clone(), false),
            }
        }
        "authorization_code" => {
            let Some(code) = state.codes.remove(field("code")) else {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70008,
                    "The provided authorization code or refresh token has expired or was already used.",
                );
            };
            if code.redirect_uri != field("redirect_uri") {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    50148,
                    "The redirect_uri does not match the one of the authorization request.",
                );
            }
            (code.tenant_id, true)
        }
        other => {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{other}'."),
            );
        }
    };
    let access_token = new_token();
    state.grants.insert(
        access_token.clone(),
        Grant {
            tenant_id,
            delegated,
            expires: Instant::now() + lifetime,
        },
    );
    state.stats.tokens_issued += 1;
    let seconds = lifetime.as_secs();
    axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": seconds,
        "ext_expires_in": seconds,
        "access_token": access_token,
    }))
    .into_response()
}

/// The administrator's sign-in: it succeeds at once (or is refused, as a fault), consents for
/// the tenant, and redirects back with a code.
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    Path(_authority): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| query.get(k).cloned().unwrap_or_default();
    let redirect_uri = get("redirect_uri");
    let state_param = get("state");
    let mut state = shared.lock();
    if get("client_id") != state.client_id {
        return (
            StatusCode::BAD_REQUEST,
            "AADSTS700016: Application was not found in the directory.",
        )
            .into_response();
    }
    let Ok(mut location) = reqwest::Url::parse(&redirect_uri) else {
        return (
            StatusCode::BAD_REQUEST,
            "AADSTS50011: The redirect URI specified in the request does not match.",
        )
            .into_response();
    };
    if state.faults.deny_next_consent {
        state.faults.deny_next_consent = false;
        location
            .query_pairs_mut()
            .append_pair("admin_consent", "True")
            .append_pair("error", "consent_required")
            .append_pair(
                "error_description",
                "AADSTS65004: User declined to consent to access the app.",
            )
            .append_pair("state", &state_param);
    } else {
        let Some(tenant) = state.signin_tenant.clone() else {
            return (StatusCode::BAD_REQUEST, "no simulated tenant to sign in to").into_response();
        };
        if let Some(t) = state.tenants.get_mut(&tenant) {
            t.spec.consented = true;
        }
        let code = new_token();
        state.codes.insert(
            code.clone(),
            Code {
                tenant_id: tenant,
                redirect_uri: redirect_uri.clone(),
            },
        );
        location
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &state_param)
            .append_pair("session_state", &guid());
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}
