//! Graph v1.0: `/me`, `/organization`, call records, their sessions, the record list, and
//! subscriptions with the validation handshake.

use crate::Shared;
use crate::state::{Grant, Sub, guid};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) fn now_rfc3339() -> String {
    graph_time(jiff::Timestamp::now())
}

/// Graph writes at most seven fractional digits; microseconds keep well inside that.
pub(crate) fn graph_time(t: jiff::Timestamp) -> String {
    t.round(jiff::Unit::Microsecond).unwrap_or(t).to_string()
}

fn no_such_subscription() -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        "The object was not found.",
    )
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": guid(),
                    "client-request-id": guid(),
                }
            }
        })),
    )
        .into_response()
}

/// Applies the faults and checks the bearer token; the grant, or the answer to send instead.
async fn admit(shared: &Shared, headers: &HeaderMap, delegated: bool) -> Result<Grant, Response> {
    let delay = shared.lock().faults.delay_ms;
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let mut state = shared.lock();
    state.stats.graph_requests += 1;
    if state.faults.throttle_next > 0 {
        state.faults.throttle_next -= 1;
        state.stats.throttled += 1;
        let after = state.faults.retry_after_seconds;
        let mut response = graph_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Please retry again later.",
        );
        if let Ok(value) = format!("{after}").parse() {
            response.headers_mut().insert("Retry-After", value);
        }
        return Err(response);
    }
    if state.faults.unavailable_next > 0 {
        state.faults.unavailable_next -= 1;
        state.stats.unavailable += 1;
        return Err(graph_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "The service is temporarily unavailable.",
        ));
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    match state.grants.get(token) {
        Some(grant) if grant.expires > Instant::now() && grant.delegated == delegated => {
            Ok(grant.clone())
        }
        Some(grant) if grant.expires <= Instant::now() => Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        )),
        _ => Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        )),
    }
}

pub(crate) async fn me(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let grant = match admit(&shared, &headers, true).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let state = shared.lock();
    let Some(tenant) = state.tenants.get(&grant.tenant_id) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            "No such user.",
        );
    };
    let admin = &tenant.spec.admin;
    Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#users/$entity", shared.base_url),
        "id": guid(),
        "displayName": admin.display_name,
        "mail": admin.mail,
        "userPrincipalName": admin.user_principal_name,
    }))
    .into_response()
}

pub(crate) async fn organization(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    let grant = match admit(&shared, &headers, true).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let state = shared.lock();
    let name = state
        .tenants
        .get(&grant.tenant_id)
        .map(|t| t.spec.display_name.clone())
        .unwrap_or_default();
    Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#organization", shared.base_url),
        "value": [ { "id": grant.tenant_id, "displayName": name } ],
    }))
    .into_response()
}

fn page_size(shared: &Shared, headers: &HeaderMap) -> usize {
    let asked = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        })
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    asked.min(shared.config.page_size).max(1)
}

pub(crate) async fn get_record(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let grant = match admit(&shared, &headers, false).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let page = page_size(&shared, &headers);
    let mut state = shared.lock();
    let record = state
        .tenants
        .get_mut(&grant.tenant_id)
        .and_then(|t| t.records.get_mut(&id));
    let Some(record) = record else {
        return graph_error(StatusCode::NOT_FOUND, "NotFound", "Resource not found.");
    };
    if record.not_ready_left > 0 {
        record.not_ready_left -= 1;
        state.stats.not_ready += 1;
        return graph_error(StatusCode::NOT_FOUND, "NotFound", "Resource not found.");
    }
    let mut body = record.json.clone();
    if state.faults.malformed_next > 0 {
        state.faults.malformed_next -= 1;
        return (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            format!("{{\"id\": \"{id}\", \"sessions\": "),
        )
            .into_response();
    }
    let sessions = body["sessions"].as_array().cloned().unwrap_or_default();
    body["@odata.context"] = Value::String(format!(
        "{}/v1.0/$metadata#communications/callRecords(sessions(segments()))/$entity",
        shared.base_url
    ));
    body["sessions"] = Value::Array(sessions.iter().take(page).cloned().collect());
    if let Some(map) = body.as_object_mut() {
        map.remove("sessions@odata.nextLink");
        if sessions.len() > page {
            map.insert(
                "sessions@odata.nextLink".into(),
                Value::String(format!(
                    "{}/v1.0/communications/callRecords/{id}/sessions?$expand=segments&$skiptoken={page}",
                    shared.base_url
                )),
            );
        }
    }
    Json(body).into_response()
}

pub(crate) async fn get_sessions(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let grant = match admit(&shared, &headers, false).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let page = page_size(&shared, &headers);
    let skip: usize = query
        .get("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let state = shared.lock();
    let Some(record) = state
        .tenants
        .get(&grant.tenant_id)
        .and_then(|t| t.records.get(&id))
    else {
        return graph_error(StatusCode::NOT_FOUND, "NotFound", "Resource not found.");
    };
    let sessions = record.json["sessions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#communications/callRecords('{id}')/sessions(segments())", shared.base_url),
        "value": sessions.iter().skip(skip).take(page).cloned().collect::<Vec<_>>(),
    });
    if sessions.len() > skip + page {
        body["@odata.nextLink"] = Value::String(format!(
            "{}/v1.0/communications/callRecords/{id}/sessions?$expand=segments&$skiptoken={}",
            shared.base_url,
            skip + page
        ));
    }
    Json(body).into_response()
}

/// `$filter=startDateTime ge A and startDateTime lt B` (also `gt`, `le`).
fn filter_matches(filter: &str, start: Option<jiff::Timestamp>) -> bool {
    let Some(start) = start else { return false };
    filter.split(" and ").all(|clause| {
        let parts: Vec<&str> = clause.split_whitespace().collect();
        let [field, op, value] = parts.as_slice() else {
            return true;
        };
        if !field.eq_ignore_ascii_case("startDateTime") {
            return true;
        }
        let Ok(bound) = value.trim_matches('\'').parse::<jiff::Timestamp>() else {
            return false;
        };
        match *op {
            "ge" => start >= bound,
            "gt" => start > bound,
            "le" => start <= bound,
            "lt" => start < bound,
            _ => true,
        }
    })
}

pub(crate) async fn list_records(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let grant = match admit(&shared, &headers, false).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let filter = query.get("$filter").cloned().unwrap_or_default();
    let skip: usize = query
        .get("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let state = shared.lock();
    let Some(tenant) = state.tenants.get(&grant.tenant_id) else {
        return graph_error(StatusCode::NOT_FOUND, "NotFound", "Resource not found.");
    };
    let items: Vec<Value> = tenant
        .records
        .values()
        .filter(|r| {
            let start = r.json["startDateTime"]
                .as_str()
                .and_then(|s| s.parse().ok());
            filter.is_empty() || filter_matches(&filter, start)
        })
        .map(|r| {
            let mut item = r.json.clone();
            if let Some(map) = item.as_object_mut() {
                map.remove("sessions");
                map.remove("sessions@odata.nextLink");
            }
            item
        })
        .collect();
    let page = 60;
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#communications/callRecords", shared.base_url),
        "value": items.iter().skip(skip).take(page).cloned().collect::<Vec<_>>(),
    });
    if items.len() > skip + page
        && let Ok(mut next) = reqwest::Url::parse(&format!(
            "{}/v1.0/communications/callRecords",
            shared.base_url
        ))
    {
        next.query_pairs_mut()
            .append_pair("$filter", &filter)
            .append_pair("$skiptoken", &(skip + page).to_string());
        body["@odata.nextLink"] = Value::String(next.to_string());
    }
    Json(body).into_response()
}

pub(crate) fn subscription_json(shared: &Shared, sub: &Sub, app_id: &str) -> Value {
    json!({
        "@odata.context": format!("{}/v1.0/$metadata#subscriptions/$entity", shared.base_url),
        "id": sub.id,
        "resource": sub.resource,
        "applicationId": app_id,
        "changeType": sub.change_type,
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "notificationQueryOptions": null,
        "lifecycleNotificationUrl": sub.lifecycle_url,
        "expirationDateTime": sub.expiration,
        "creatorId": app_id,
        "includeResourceData": null,
        "latestSupportedTlsVersion": sub.tls,
        "encryptionCertificate": null,
        "encryptionCertificateId": null,
        "notificationUrlAppId": null,
    })
}

/// Graph's validation handshake: POST the URL with a `validationToken`; it must answer 200 with
/// the decoded token as text within 10 s.
async fn validate_endpoint(shared: &Shared, url: &str) -> bool {
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        guid()
    );
    let Ok(mut target) = reqwest::Url::parse(url) else {
        return false;
    };
    target
        .query_pairs_mut()
        .append_pair("validationToken", &token);
    let request = shared
        .http
        .post(target)
        .header("Content-Type", "text/plain; charset=utf-8")
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    match request {
        Ok(response) if response.status() == StatusCode::OK => {
            let valid = response.text().await.is_ok_and(|body| body == token);
            if valid {
                shared.lock().stats.validations += 1;
            }
            valid
        }
        _ => false,
    }
}

/// The expiry Graph grants: at least 45 minutes away; more than 4230 minutes is refused.
fn granted_expiry(asked: &str) -> Result<String, String> {
    let asked: jiff::Timestamp = asked
        .parse()
        .map_err(|_| "expirationDateTime is not a timestamp".to_string())?;
    let now = jiff::Timestamp::now();
    let minutes = asked.as_second().saturating_sub(now.as_second()) / 60;
    if minutes > 4230 {
        return Err("Subscription expiration can only be 4230 minutes in the future.".into());
    }
    let earliest = now
        .checked_add(jiff::SignedDuration::from_mins(45))
        .map_err(|e| e.to_string())?;
    Ok(graph_time(if asked < earliest { earliest } else { asked }))
}

pub(crate) async fn create_subscription(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let grant = match admit(&shared, &headers, false).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let text = |k: &str| body[k].as_str().unwrap_or("").to_string();
    let resource = text("resource");
    if resource.trim_start_matches('/') != "communications/callRecords" {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "The simulator serves /communications/callRecords only.",
        );
    }
    let notification_url = text("notificationUrl");
    let lifecycle = body["lifecycleNotificationUrl"]
        .as_str()
        .map(str::to_string);
    let expiration = match granted_expiry(&text("expirationDateTime")) {
        Ok(e) => e,
        Err(e) => return graph_error(StatusCode::BAD_REQUEST, "InvalidRequest", &e),
    };
    {
        let state = shared.lock();
        let duplicate = state.subscriptions.values().find(|s| {
            s.tenant_id == grant.tenant_id
                && s.resource.trim_start_matches('/') == "communications/callRecords"
                && s.change_type == text("changeType")
        });
        if let Some(existing) = duplicate {
            return graph_error(
                StatusCode::CONFLICT,
                "ExtensionError",
                &format!(
                    "Subscription Id {} already exists for the requested combination",
                    existing.id
                ),
            );
        }
    }
    if !validate_endpoint(&shared, &notification_url).await {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "Subscription validation request failed. Response must exactly match validationToken query parameter.",
        );
    }
    if let Some(url) = &lifecycle
        && !validate_endpoint(&shared, url).await
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "Subscription validation request failed for the lifecycle notification URL.",
        );
    }
    let sub = Sub {
        id: guid(),
        tenant_id: grant.tenant_id,
        change_type: text("changeType"),
        resource,
        notification_url,
        lifecycle_url: lifecycle,
        client_state: body["clientState"].as_str().map(str::to_string),
        expiration,
        tls: body["latestSupportedTlsVersion"]
            .as_str()
            .unwrap_or("v1_2")
            .to_string(),
    };
    let mut state = shared.lock();
    let answer = subscription_json(&shared, &sub, &state.app_id);
    state.subscriptions.insert(sub.id.clone(), sub);
    (StatusCode::CREATED, Json(answer)).into_response()
}

pub(crate) async fn list_subscriptions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    let grant = match admit(&shared, &headers, false).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let state = shared.lock();
    let value: Vec<Value> = state
        .subscriptions
        .values()
        .filter(|s| s.tenant_id == grant.tenant_id)
        .map(|s| subscription_json(&shared, s, &state.app_id))
        .collect();
    Json(json!({ "value": value })).into_response()
}

pub(crate) async fn renew_subscription(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let grant = match admit(&shared, &headers, false).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let expiration = match granted_expiry(body["expirationDateTime"].as_str().unwrap_or("")) {
        Ok(e) => e,
        Err(e) => return graph_error(StatusCode::BAD_REQUEST, "InvalidRequest", &e),
    };
    let mut state = shared.lock();
    let app_id = state.app_id.clone();
    match state.subscriptions.get_mut(&id) {
        Some(sub) if sub.tenant_id == grant.tenant_id => {
            sub.expiration = expiration;
            let sub = sub.clone();
            Json(subscription_json(&shared, &sub, &app_id)).into_response()
        }
        _ => no_such_subscription(),
    }
}

pub(crate) async fn reauthorize_subscription(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let grant = match admit(&shared, &headers, false).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let state = shared.lock();
    match state.subscriptions.get(&id) {
        Some(sub) if sub.tenant_id == grant.tenant_id => StatusCode::NO_CONTENT.into_response(),
        _ => no_such_subscription(),
    }
}

pub(crate) async fn delete_subscription(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let grant = match admit(&shared, &headers, false).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let mut state = shared.lock();
    match state.subscriptions.get(&id) {
        Some(sub) if sub.tenant_id == grant.tenant_id => {
            state.subscriptions.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => no_such_subscription(),
    }
}
