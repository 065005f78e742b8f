//! A fake Telegram Bot API (`sendMessage` only) for tests, faithful to the documented contract:
//! `{"ok": true, "result": {"message_id": N, …}}`, or `{"ok": false, "error_code", "description",
//! "parameters": {"retry_after"}}`; 401 for a wrong token, 400 "chat not found" for an unknown
//! chat, 400 for a text over 4,096 characters or an unknown parse mode, 429 with `retry_after`
//! as often as configured. `reply_parameters.message_id` is recorded; an unknown one is refused
//! ("message to be replied not found") unless `allow_sending_without_reply` is set.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::post};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct FakeTelegramConfig {
    pub token: String,
    /// The channel the bot administers, e.g. `@teststadt`.
    pub chat_id: String,
    /// Answer this many requests with 429 first.
    pub throttle_times: u32,
    pub retry_after: u64,
}

/// A post the fake accepted.
#[derive(Debug, Clone)]
pub struct Post {
    pub message_id: i64,
    pub chat_id: String,
    pub text: String,
    pub parse_mode: Option<String>,
    pub link_preview: Option<Value>,
    /// `reply_parameters.message_id`: the post this one answers.
    pub reply_to: Option<i64>,
}

#[derive(Default)]
struct Record {
    posts: Vec<Post>,
    requests: u32,
    throttled: u32,
}

pub struct FakeTelegram {
    addr: SocketAddr,
    record: Arc<Mutex<Record>>,
    _task: tokio::task::JoinHandle<()>,
}

impl FakeTelegram {
    pub async fn start(config: FakeTelegramConfig) -> std::io::Result<FakeTelegram> {
        let record = Arc::new(Mutex::new(Record::default()));
        let app = Router::new()
            .route("/{bot}/sendMessage", post(send_message))
            .with_state((Arc::new(config), record.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeTelegram {
            addr,
            record,
            _task: task,
        })
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn posts(&self) -> Vec<Post> {
        self.record.lock().expect("record").posts.clone()
    }

    /// Every request, answered or refused.
    pub fn requests(&self) -> u32 {
        self.record.lock().expect("record").requests
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self._task.abort();
    }
}

type AppState = (Arc<FakeTelegramConfig>, Arc<Mutex<Record>>);

fn error(status: StatusCode, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (status, Json(body)).into_response()
}

async fn send_message(
    State((config, record)): State<AppState>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut r = record.lock().expect("record");
    r.requests += 1;
    if bot.strip_prefix("bot") != Some(config.token.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }
    if r.throttled < config.throttle_times {
        r.throttled += 1;
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too Many Requests: retry after {}", config.retry_after),
            Some(json!({"retry_after": config.retry_after})),
        );
    }
    let chat = match &body["chat_id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "Bad Request: chat_id is empty",
                None,
            );
        }
    };
    if chat != config.chat_id {
        return error(StatusCode::BAD_REQUEST, "Bad Request: chat not found", None);
    }
    let Some(text) = body["text"].as_str() else {
        return error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message text is empty",
            None,
        );
    };
    let parse_mode = body["parse_mode"].as_str().map(String::from);
    let visible = match parse_mode.as_deref() {
        None => text.to_string(),
        Some("HTML") => match strip_html(text) {
            Some(t) => t,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: can't parse entities: unsupported start tag",
                    None,
                );
            }
        },
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Bad Request: unsupported parse_mode",
                None,
            );
        }
    };
    if visible.chars().count() > 4096 {
        return error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message is too long",
            None,
        );
    }
    let reply_to = body["reply_parameters"]["message_id"].as_i64();
    let may_go_alone = body["reply_parameters"]["allow_sending_without_reply"] == json!(true);
    if let Some(id) = reply_to
        && !may_go_alone
        && !r.posts.iter().any(|p| p.message_id == id)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message to be replied not found",
            None,
        );
    }
    let message_id = r.posts.len() as i64 + 1;
    r.posts.push(Post {
        message_id,
        chat_id: chat.clone(),
        text: text.to_string(),
        parse_mode,
        link_preview: body.get("link_preview_options").cloned(),
        reply_to,
    });
    Json(json!({"ok": true, "result": {"message_id": message_id, "chat": {"id": -1001, "username": chat.trim_start_matches('@'), "type": "channel"}, "date": 0, "text": visible}})).into_response()
}

/// The text after HTML entity parsing, or `None` for a tag Telegram does not support.
fn strip_html(text: &str) -> Option<String> {
    const TAGS: [&str; 9] = ["b", "strong", "i", "em", "u", "s", "a", "code", "pre"];
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let j = rest[i..].find('>')? + i;
        let tag = rest[i + 1..j].trim_start_matches('/');
        let name = tag.split_whitespace().next().unwrap_or("");
        if !TAGS.contains(&name) {
            return None;
        }
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    Some(
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}
