//! Linking an organization to a Teams tenant, served by the ingest role.
//!
//! - `GET /teams/link?org=ORG[&keep_identity=true]` (operator token): redirects (302) to
//!   Entra's sign-in with admin consent, carrying a signed, expiring `state` bound to the org;
//!   the body also gives the URL, to hand to the tenant's administrator.
//! - `GET /teams/callback`: where Entra sends the administrator back. `error` is checked first
//!   (Entra's error callback still says `admin_consent=True`); the state must verify; the code
//!   is exchanged; the tenant comes from the directory (`/organization`), never from the
//!   callback's `tenant` value; the administrator's name and e-mail (else user principal name)
//!   from `/me`. The link request goes to the subscription manager, and the answer waits (a
//!   while) for the link to be made.
//! - `GET /teams/links` (operator token): every link, its consent state and subscription expiry.
//! - `DELETE /teams/link/{org}` (operator token): unlink: the subscription is deleted, the link
//!   marked unlinked and the tenant's keys destroyed.
//! - `POST /teams/link/{org}/rotate-key` (operator token): a new tenant key; older ones stay to
//!   open what they sealed.
//!
//! The operator token is `graph.admin_token`, sent as `Authorization: Bearer ...`; without one
//! configured these endpoints answer 403.

use crate::Connector;
use crate::link::state::{LinkRequest, Nonces};
use crate::manage::control;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use callsight_core::error::Report;
use callsight_graph_client::delegated::Delegated;
use callsight_model::clock::now_ms;
use callsight_model::types::{ControlKind, LinkState, TenantLink};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// What the linking handlers share.
pub struct LinkingState {
    /// The connector.
    pub connector: Arc<Connector>,
    /// The sign-in flow.
    pub delegated: Delegated,
    /// States already used here.
    pub nonces: Nonces,
}

/// The linking routes.
pub fn router(state: Arc<LinkingState>) -> Router {
    Router::new()
        .route("/teams/link", get(start_link))
        .route(crate::link::CALLBACK_PATH, get(callback))
        .route("/teams/links", get(list_links))
        .route("/teams/link/{org}", delete(unlink))
        .route("/teams/link/{org}/rotate-key", post(rotate_key))
        .with_state(state)
}

fn reply(state: &LinkingState, endpoint: &str, status: StatusCode, body: Value) -> Response {
    state
        .connector
        .metrics
        .link_requests
        .with_label_values(&[endpoint, status.as_str()])
        .inc();
    (status, axum::Json(body)).into_response()
}

fn refuse(state: &LinkingState, endpoint: &str, status: StatusCode, error: &str) -> Response {
    reply(state, endpoint, status, json!({ "error": error }))
}

/// Checks the operator token: `None` when it is right, else the refusal to send.
fn not_operator(state: &LinkingState, endpoint: &str, headers: &HeaderMap) -> Option<Response> {
    let expected = state.connector.graph.admin_token.expose();
    if expected.is_empty() {
        return Some(refuse(
            state,
            endpoint,
            StatusCode::FORBIDDEN,
            "the /teams endpoints are disabled: set graph.admin_token",
        ));
    }
    (!callsight_core::auth::bearer_matches(headers, expected)).then(|| {
        refuse(
            state,
            endpoint,
            StatusCode::UNAUTHORIZED,
            "a valid operator token is required (Authorization: Bearer ...)",
        )
    })
}

fn callback_url(connector: &Connector) -> String {
    format!("{}{}", connector.public_url, crate::link::CALLBACK_PATH)
}

#[derive(Debug, Deserialize)]
struct StartQuery {
    org: Option<String>,
    #[serde(default)]
    keep_identity: bool,
}

async fn start_link(
    State(state): State<Arc<LinkingState>>,
    headers: HeaderMap,
    Query(query): Query<StartQuery>,
) -> Response {
    const EP: &str = "link";
    if let Some(r) = not_operator(&state, EP, &headers) {
        return r;
    }
    let connector = &state.connector;
    let Some(org) = query.org.filter(|o| !o.trim().is_empty()) else {
        return refuse(&state, EP, StatusCode::BAD_REQUEST, "org is required");
    };
    let Some(master) = &connector.master else {
        return refuse(
            &state,
            EP,
            StatusCode::SERVICE_UNAVAILABLE,
            "privacy.master_key is not configured",
        );
    };
    if connector.graph.client_id.is_empty() || connector.public_url.is_empty() {
        return refuse(
            &state,
            EP,
            StatusCode::SERVICE_UNAVAILABLE,
            "graph.client_id and graph.public_url must be configured",
        );
    }
    let expires_at = now_ms() + connector.graph.link_state_ttl.as_millis() as i64;
    let request = match LinkRequest::new(&org, query.keep_identity, expires_at) {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                &state,
                EP,
                StatusCode::INTERNAL_SERVER_ERROR,
                &e.to_string(),
            );
        }
    };
    let url = state
        .delegated
        .authorize_url(&callback_url(connector), &request.sign(master));
    tracing::info!(org = %org, "tenant link started");
    let mut response = reply(
        &state,
        EP,
        StatusCode::FOUND,
        json!({ "org_id": org, "authorize_url": url }),
    );
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The longest `error_description` echoed back.
const MAX_ERROR_DESCRIPTION_CHARS: usize = 1000;

/// The error codes of an authorization response (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6,
/// and those Entra adds); any other text is `unrecognised`.
fn entra_error_code(error: &str) -> &'static str {
    const CODES: [&str; 16] = [
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "invalid_client",
        "invalid_resource",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
    ];
    CODES
        .into_iter()
        .find(|code| *code == error)
        .unwrap_or("unrecognised")
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    tenant: Option<String>,
}

async fn callback(
    State(state): State<Arc<LinkingState>>,
    Query(query): Query<CallbackQuery>,
) -> Response {
    const EP: &str = "callback";
    let connector = &state.connector;
    // Entra's error callback still carries admin_consent=True: the error decides.
    if let Some(error) = &query.error {
        // The query is anyone's text: only a known code is logged, never the text itself (a
        // newline in it would forge a log line).
        let code = entra_error_code(error);
        tracing::warn!(
            error = code,
            "the administrator's sign-in or consent failed"
        );
        let description: String = query
            .error_description
            .as_deref()
            .unwrap_or_default()
            .chars()
            .take(MAX_ERROR_DESCRIPTION_CHARS)
            .collect();
        return reply(
            &state,
            EP,
            StatusCode::BAD_REQUEST,
            json!({ "error": code, "error_description": description }),
        );
    }
    let Some(master) = &connector.master else {
        return refuse(
            &state,
            EP,
            StatusCode::SERVICE_UNAVAILABLE,
            "privacy.master_key is not configured",
        );
    };
    let request = match query
        .state
        .as_deref()
        .ok_or(crate::link::state::StateError::Forged)
        .and_then(|s| LinkRequest::verify(s, master, now_ms()))
        .and_then(|r| state.nonces.check(&r, now_ms()).map(|()| r))
    {
        Ok(r) => r,
        Err(e) => return refuse(&state, EP, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let Some(code) = query.code.as_deref().filter(|c| !c.is_empty()) else {
        return refuse(
            &state,
            EP,
            StatusCode::BAD_REQUEST,
            "the callback has no code",
        );
    };
    let token = match state
        .delegated
        .exchange_code(code, &callback_url(connector))
        .await
    {
        // The nonce is used up only now: a made-up code does not burn the state.
        Ok(t) => match state.nonces.use_once(&request, now_ms()) {
            Ok(()) => t,
            Err(e) => return refuse(&state, EP, StatusCode::BAD_REQUEST, &e.to_string()),
        },
        Err(e) => {
            tracing::warn!(status = e.status, error = %e.error, codes = ?e.codes, "code exchange refused");
            return reply(
                &state,
                EP,
                StatusCode::BAD_GATEWAY,
                json!({"error": "Entra refused the sign-in", "entra_error": e.error, "codes": e.codes}),
            );
        }
    };
    let (tenant, me) = match tokio::try_join!(
        state.delegated.tenant_id(&token),
        state.delegated.me(&token)
    ) {
        Ok(both) => both,
        Err(e) => {
            tracing::warn!(error = %Report(&e), "cannot read the signed-in administrator");
            return refuse(
                &state,
                EP,
                StatusCode::BAD_GATEWAY,
                "cannot read the signed-in administrator from Graph",
            );
        }
    };
    if let Some(claimed) = &query.tenant
        && !claimed.eq_ignore_ascii_case(&tenant)
    {
        tracing::warn!(org = %request.org_id, "the callback's tenant differs from the signed-in tenant; the directory's is used");
    }
    if let Some(other) = connector.links.by_tenant(&tenant)
        && other.org_id != request.org_id
    {
        return refuse(
            &state,
            EP,
            StatusCode::CONFLICT,
            "this tenant is already linked to another organization; unlink it there first",
        );
    }
    let now = now_ms();
    let link = TenantLink {
        org_id: request.org_id.clone(),
        tenant_id: tenant.clone(),
        state: LinkState::Linked,
        linked_by_name: me.display_name.clone(),
        linked_by_email: me.mail.clone().or(me.user_principal_name.clone()),
        linked_at: now,
        updated_at: now,
        static_config: false,
        keep_identity: request.keep_identity,
        key_id: None,
        wrapped_keys: Vec::new(),
        subscription_id: None,
        subscription_expires_at: None,
    };
    if let Err(e) = control::send(connector, &control::link(link, now)).await {
        tracing::error!(error = %Report(&e), "cannot hand the link to the subscription manager");
        return refuse(
            &state,
            EP,
            StatusCode::SERVICE_UNAVAILABLE,
            "the link could not be recorded; sign in again",
        );
    }
    let org = request.org_id.clone();
    let done = connector
        .links
        .wait_for(connector.apply_wait, |links| {
            links.get(&org).is_some_and(|l| {
                l.tenant_id.eq_ignore_ascii_case(&tenant)
                    && l.state == LinkState::Linked
                    && l.updated_at >= now
            })
        })
        .await;
    tracing::info!(org = %org, applied = done, "tenant linked");
    let status = if done {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    reply(
        &state,
        EP,
        status,
        json!({
            "org_id": org,
            "tenant_id": tenant,
            "state": if done { "linked" } else { "pending" },
            "linked_by": {
                "name": me.display_name,
                "email": me.mail.or(me.user_principal_name),
            },
        }),
    )
}

fn rfc3339(ms: i64) -> Value {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| Value::String(t.to_string()))
        .unwrap_or(Value::Null)
}

/// A link as the operator sees it (no key material).
pub fn describe(link: &TenantLink) -> Value {
    json!({
        "org_id": link.org_id,
        "tenant_id": link.tenant_id,
        "state": link.state,
        "linked_by_name": link.linked_by_name,
        "linked_by_email": link.linked_by_email,
        "linked_at": rfc3339(link.linked_at),
        "updated_at": rfc3339(link.updated_at),
        "static_config": link.static_config,
        "keep_identity": link.keep_identity,
        "key_id": link.key_id,
        "keys": link.wrapped_keys.len(),
        "subscription_id": link.subscription_id,
        "subscription_expires_at": link.subscription_expires_at.map(rfc3339),
    })
}

async fn list_links(State(state): State<Arc<LinkingState>>, headers: HeaderMap) -> Response {
    const EP: &str = "links";
    if let Some(r) = not_operator(&state, EP, &headers) {
        return r;
    }
    let links: Vec<Value> = state.connector.links.all().iter().map(describe).collect();
    reply(&state, EP, StatusCode::OK, json!({ "links": links }))
}

/// Sends an instruction about an existing link and waits for `applied` to hold of it.
async fn instruct(
    state: &LinkingState,
    endpoint: &str,
    kind: ControlKind,
    org: &str,
    applied: impl Fn(&TenantLink, &TenantLink) -> bool,
) -> Response {
    let connector = &state.connector;
    let Some(before) = connector.links.get(org) else {
        return refuse(
            state,
            endpoint,
            StatusCode::NOT_FOUND,
            "no link for this org",
        );
    };
    if let Err(e) = control::send(connector, &control::message(kind, org, now_ms())).await {
        tracing::error!(error = %Report(&e), "cannot hand an instruction to the subscription manager");
        return refuse(
            state,
            endpoint,
            StatusCode::SERVICE_UNAVAILABLE,
            "the request could not be recorded; try again",
        );
    }
    let done = connector
        .links
        .wait_for(connector.apply_wait, |links| {
            links.get(org).is_some_and(|now| applied(&before, &now))
        })
        .await;
    let link = connector.links.get(org).unwrap_or(before);
    let status = if done {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    reply(state, endpoint, status, describe(&link))
}

async fn unlink(
    State(state): State<Arc<LinkingState>>,
    headers: HeaderMap,
    Path(org): Path<String>,
) -> Response {
    const EP: &str = "unlink";
    if let Some(r) = not_operator(&state, EP, &headers) {
        return r;
    }
    tracing::info!(org = %org, "unlink requested");
    instruct(&state, EP, ControlKind::Unlink, &org, |_, now| {
        now.state == LinkState::Unlinked && now.wrapped_keys.is_empty()
    })
    .await
}

async fn rotate_key(
    State(state): State<Arc<LinkingState>>,
    headers: HeaderMap,
    Path(org): Path<String>,
) -> Response {
    const EP: &str = "rotate_key";
    if let Some(r) = not_operator(&state, EP, &headers) {
        return r;
    }
    if state
        .connector
        .links
        .get(&org)
        .is_some_and(|l| l.state == LinkState::Unlinked)
    {
        return refuse(&state, EP, StatusCode::CONFLICT, "the org is unlinked");
    }
    instruct(&state, EP, ControlKind::RotateKey, &org, |before, now| {
        now.key_id.is_some() && now.key_id != before.key_id
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::entra_error_code;

    #[test]
    fn only_known_error_codes_pass_through() {
        assert_eq!(entra_error_code("access_denied"), "access_denied");
        assert_eq!(entra_error_code("consent_required"), "consent_required");
        assert_eq!(
            entra_error_code("access_denied\nINFO forged line"),
            "unrecognised"
        );
        assert_eq!(entra_error_code(""), "unrecognised");
    }
}
