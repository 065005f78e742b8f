//! The pull API of the inbox server: `GET /events` lists the encrypted events, `POST
//! /events/ack` deletes them; both need the bearer pull token (constant-time compare), checked
//! before any body is read.
//!
//! `GET /events?limit=N&skip=M` lists unsubscribes first, then the rest oldest first, and says
//! how many are `remaining` after this page, so a pull can page through everything that waits
//! (`skip` = what it has fetched so far) before the broadcast runs.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::server::Inbox;
use super::store::StoredEvent;
use super::webhook::secret_eq;

fn authorized(state: &Inbox, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| secret_eq(t.trim(), &state.secrets.pull_token))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    limit: Option<usize>,
    skip: Option<usize>,
}

/// Largest ack body: 5,000 ids of ~26 bytes, with room to spare.
const ACK_BODY_LIMIT: usize = 256 * 1024;

#[derive(serde::Serialize, Deserialize)]
pub struct EventList {
    pub events: Vec<StoredEvent>,
    /// Events left in the inbox after this page (after `skip` + this page's events).
    pub remaining: usize,
}

#[derive(serde::Serialize, Deserialize)]
pub struct AckRequest {
    pub ids: Vec<String>,
}

#[derive(serde::Serialize, Deserialize)]
pub struct AckResponse {
    pub deleted: usize,
}

pub(super) async fn events_list(
    State(state): State<Arc<Inbox>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    if !authorized(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let limit = q.limit.unwrap_or(1000).clamp(1, 5000);
    let skip = q.skip.unwrap_or(0);
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.list(skip, limit).map(|e| (e, store.pending())))
        .await
    {
        Ok(Ok((events, pending))) => {
            let remaining = pending.saturating_sub(skip + events.len());
            axum::Json(EventList { events, remaining }).into_response()
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

pub(super) async fn events_ack(
    State(state): State<Arc<Inbox>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !authorized(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let body = match state.budget.read(&headers, body, ACK_BODY_LIMIT).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(request) = serde_json::from_slice::<AckRequest>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.ack(&request.ids)).await {
        Ok(Ok(deleted)) => axum::Json(AckResponse { deleted }).into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
