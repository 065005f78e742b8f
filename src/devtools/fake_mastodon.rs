//! A fake Mastodon instance for tests, faithful to the documented contract: `GET
//! /api/v2/instance` with `configuration.statuses.{max_characters, characters_reserved_per_url}`;
//! `POST /api/v1/statuses` (form fields `status`, `visibility`, `language`, `in_reply_to_id`)
//! with a bearer token (401 otherwise), an `Idempotency-Key` remembered so a repeat gets the
//! status created the first time and posts nothing, 422 when the text is over the limit (every
//! URL counting as the reserved length), and 429 with `X-RateLimit-*` headers as often as
//! configured.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct FakeMastodonConfig {
    pub token: String,
    pub max_characters: usize,
    pub url_chars: usize,
    /// Answer this many posts with 429 first (reset one second later).
    pub throttle_times: u32,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub id: String,
    pub status: String,
    pub visibility: String,
    pub in_reply_to_id: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
struct Record {
    statuses: Vec<Status>,
    keys: HashMap<String, usize>,
    requests: u32,
    throttled: u32,
}

pub struct FakeMastodon {
    addr: SocketAddr,
    record: Arc<Mutex<Record>>,
    task: tokio::task::JoinHandle<()>,
}

type AppState = (Arc<FakeMastodonConfig>, Arc<Mutex<Record>>);

impl FakeMastodon {
    pub async fn start(config: FakeMastodonConfig) -> std::io::Result<FakeMastodon> {
        let record = Arc::new(Mutex::new(Record::default()));
        let app = Router::new()
            .route("/api/v2/instance", get(instance))
            .route("/api/v1/statuses", post(statuses))
            .with_state((Arc::new(config), record.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeMastodon { addr, record, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The statuses posted (a repeated idempotency key adds none).
    pub fn statuses(&self) -> Vec<Status> {
        self.record.lock().expect("record").statuses.clone()
    }

    pub fn requests(&self) -> u32 {
        self.record.lock().expect("record").requests
    }
}

impl Drop for FakeMastodon {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn instance(State((config, _)): State<AppState>) -> Response {
    Json(json!({
        "domain": "social.test.example",
        "configuration": {"statuses": {
            "max_characters": config.max_characters,
            "max_media_attachments": 4,
            "characters_reserved_per_url": config.url_chars,
        }}
    }))
    .into_response()
}

/// Mastodon's length: every http(s) URL counts as `url_chars`.
fn length(text: &str, url_chars: usize) -> usize {
    text.split_inclusive(char::is_whitespace)
        .map(|w| {
            let word = w.trim_end();
            if word.starts_with("https://") || word.starts_with("http://") {
                url_chars + (w.chars().count() - word.chars().count())
            } else {
                w.chars().count()
            }
        })
        .sum()
}

fn status_json(s: &Status) -> Response {
    Json(json!({
        "id": s.id, "content": s.status, "visibility": s.visibility,
        "in_reply_to_id": s.in_reply_to_id, "uri": format!("https://social.test.example/statuses/{}", s.id),
    }))
    .into_response()
}

async fn statuses(
    State((config, record)): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut r = record.lock().expect("record");
    r.requests += 1;
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(config.token.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "The access token is invalid"})),
        )
            .into_response();
    }
    if r.throttled < config.throttle_times {
        r.throttled += 1;
        let reset = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("X-RateLimit-Limit", "300".to_string()),
                ("X-RateLimit-Remaining", "0".to_string()),
                ("X-RateLimit-Reset", reset.to_string()),
            ],
            Json(json!({"error": "Too many requests"})),
        )
            .into_response();
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    if let Some(i) = key.as_ref().and_then(|k| r.keys.get(k)) {
        return status_json(&r.statuses[*i]);
    }
    let text = form.get("status").cloned().unwrap_or_default();
    if text.trim().is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": "Validation failed: Text can't be blank"})),
        )
            .into_response();
    }
    if length(&text, config.url_chars) > config.max_characters {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": format!("Validation failed: Text character limit of {} exceeded", config.max_characters)})),
        )
            .into_response();
    }
    let in_reply_to_id = form.get("in_reply_to_id").cloned();
    if let Some(id) = &in_reply_to_id
        && !r.statuses.iter().any(|s| &s.id == id)
    {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "Record not found"})),
        )
            .into_response();
    }
    let status = Status {
        id: format!("1100{:04}", r.statuses.len() + 1),
        status: text,
        visibility: form
            .get("visibility")
            .cloned()
            .unwrap_or_else(|| "public".into()),
        in_reply_to_id,
        idempotency_key: key.clone(),
    };
    let index = r.statuses.len();
    r.statuses.push(status);
    if let Some(k) = key {
        r.keys.insert(k, index);
    }
    status_json(&r.statuses[index])
}
