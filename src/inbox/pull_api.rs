//! The pull API of the inbox server: `GET /events` lists the encrypted events, `POST
//! /events/ack` deletes them; both need the bearer pull token (constant-time compare).

use std::sync::Arc;

use axum::body::Bytes;
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
}

#[derive(serde::Serialize, Deserialize)]
pub struct EventList {
    pub events: Vec<StoredEvent>,
    /// Events left in the inbox after this page.
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
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.list(limit).map(|e| (e, store.pending()))).await
    {
        Ok(Ok((events, pending))) => {
            let remaining = pending.saturating_sub(events.len());
            axum::Json(EventList { events, remaining }).into_response()
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

pub(super) async fn events_ack(
    State(state): State<Arc<Inbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(request) = serde_json::from_slice::<AckRequest>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.ack(&request.ids)).await {
        Ok(Ok(deleted)) => axum::Json(AckResponse { deleted }).into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
