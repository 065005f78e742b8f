//! The HTTP server: routes, request handling and the replies sent from the service window.
//!
//! Every event is encrypted and fsynced (`EventStore::put`) before the answer is sent, so a 200
//! means it is on disk; a crash before that means no 200, and Meta (or the person) retries.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::Deserialize;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;

use super::events::{Envelope, Event, random_id};
use super::memory::Memory;
use super::store::{EventStore, Stored};
use super::webhook::{self, Keywords, Reply, ReplyKind};
use super::{Secrets, pages, signup};
use crate::broadcast::channels::whatsapp::{Payload, WhatsAppClient};
use crate::config::Config;
use crate::subscribers::mask;

/// Webhook payloads can be up to 3 MB (contract §5.3).
pub const WEBHOOK_BODY_LIMIT: usize = 3 * 1024 * 1024;
const FORM_BODY_LIMIT: usize = 16 * 1024;

pub(super) struct Inbox {
    config: Config,
    pub(super) secrets: Secrets,
    pub(super) store: Arc<EventStore>,
    keywords: Keywords,
    phone_number_id: Option<String>,
    client: Option<WhatsAppClient>,
    form_key: [u8; 32],
    /// The sign-up rate limit and the service-text memory, persisted in the data dir.
    memory: Arc<Memory>,
}

/// A running inbox server.
pub struct RunningInbox {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningInbox {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets running requests finish, and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.map_err(std::io::Error::other)?
    }

    /// Serves until Ctrl-C / SIGTERM.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        self.shutdown().await
    }
}

/// Opens the event store in `data_dir` and serves on `listen` in the background.
pub async fn start(
    config: Config,
    secrets: Secrets,
    data_dir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<RunningInbox> {
    let Some(inbox_cfg) = config.inbox.clone() else {
        anyhow::bail!("aushang.yaml has no `inbox:` section (at least `url:`); see docs/inbox.md");
    };
    let recipients = crate::subscribers::Recipients::load(&config.subscribers_dir())?;
    let store = Arc::new(EventStore::open(data_dir, recipients)?);
    let memory = Arc::new(
        Memory::open(data_dir, inbox_cfg.signups_per_ip_per_hour)
            .map_err(|e| anyhow::anyhow!("{}: {e}", data_dir.display()))?,
    );
    let whatsapp = config.broadcast.channels.whatsapp.clone();
    let client = match (&whatsapp, &secrets.whatsapp_token) {
        (Some(w), Some(token)) => Some(
            WhatsAppClient::new(&w.api_url, &w.phone_number_id, token.clone())
                .map_err(|e| anyhow::anyhow!("cannot set up the WhatsApp client: {e}"))?,
        ),
        _ => None,
    };
    if whatsapp.is_none() {
        tracing::warn!(
            "no broadcast.channels.whatsapp in aushang.yaml: WhatsApp webhooks are refused"
        );
    } else if client.is_none() {
        tracing::warn!("WHATSAPP_TOKEN is not set: STOP/START are recorded but not answered");
    }
    let state = Arc::new(Inbox {
        keywords: Keywords {
            stop: inbox_cfg.stop_words.clone(),
            start: inbox_cfg.start_words.clone(),
        },
        phone_number_id: whatsapp.map(|w| w.phone_number_id),
        form_key: rand::random(),
        memory,
        config,
        secrets,
        store,
        client,
    });
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(RunningInbox { addr, stop, task })
}

fn router(state: Arc<Inbox>) -> Router {
    let webhook = Router::new()
        .route("/webhooks/whatsapp", get(webhook_get).post(webhook_post))
        .layer(RequestBodyLimitLayer::new(WEBHOOK_BODY_LIMIT));
    let forms = Router::new()
        .route("/signup", post(signup_post))
        .route("/abmelden", get(optout_get).post(optout_post))
        .layer(RequestBodyLimitLayer::new(FORM_BODY_LIMIT));
    let pull = Router::new()
        .route("/events", get(super::pull_api::events_list))
        .route("/events/ack", post(super::pull_api::events_ack))
        .layer(RequestBodyLimitLayer::new(1024 * 1024));
    Router::new()
        .route("/", get(|| async { "aushang inbox\n" }))
        .merge(webhook)
        .merge(forms)
        .merge(pull)
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

/// Stores events on the blocking pool; `Err` is an answer to send instead.
async fn store_all(
    state: &Arc<Inbox>,
    events: Vec<Envelope>,
) -> Result<Vec<(String, Stored)>, StatusCode> {
    let store = state.store.clone();
    let result = tokio::task::spawn_blocking(move || {
        events
            .iter()
            .map(|e| store.put(e).map(|s| (e.id.clone(), s)))
            .collect::<Result<Vec<_>, _>>()
    })
    .await;
    match result {
        Ok(Ok(stored)) => Ok(stored),
        Ok(Err(e)) => {
            tracing::error!("cannot store an event: {e}");
            Err(StatusCode::INTERNAL_SERVER_ERROR)
        }
        Err(e) => {
            tracing::error!("event writer failed: {e}");
            Err(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

// ---- WhatsApp webhooks ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct HandshakeQuery {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

async fn webhook_get(State(state): State<Arc<Inbox>>, Query(q): Query<HandshakeQuery>) -> Response {
    match webhook::handshake(
        q.mode.as_deref(),
        q.token.as_deref(),
        q.challenge.as_deref(),
        &state.secrets.verify_token,
    ) {
        Some(challenge) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            challenge,
        )
            .into_response(),
        None => StatusCode::FORBIDDEN.into_response(),
    }
}

async fn webhook_post(
    State(state): State<Arc<Inbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !webhook::signature_valid(state.secrets.app_secret.as_bytes(), signature, &body) {
        return (StatusCode::UNAUTHORIZED, "bad signature\n").into_response();
    }
    let Some(phone_number_id) = &state.phone_number_id else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "WhatsApp is not configured\n",
        )
            .into_response();
    };
    let parsed = match webhook::parse(&body, phone_number_id, &state.keywords, Timestamp::now()) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("{e}");
            return (StatusCode::BAD_REQUEST, "not a WhatsApp webhook payload\n").into_response();
        }
    };
    if parsed.ignored > 0 {
        tracing::debug!(
            "{} webhook change(s) for another number or field ignored",
            parsed.ignored
        );
    }
    let stored = match store_all(&state, parsed.events).await {
        Ok(s) => s,
        Err(status) => return status.into_response(),
    };
    let fresh: Vec<&String> = stored
        .iter()
        .filter(|(_, s)| *s == Stored::New)
        .map(|(id, _)| id)
        .collect();
    let mut answers = Vec::new();
    let mut remembered = false;
    for reply in parsed.replies {
        // At most one service text per sender and 24 h (also covers Meta's retries).
        let answer = match reply.kind {
            ReplyKind::Service => {
                let due = state.memory.service_reply_due(&reply.to, Timestamp::now());
                remembered |= due;
                due
            }
            _ => fresh.contains(&&reply.event_id),
        };
        if answer {
            answers.push(reply);
        }
    }
    // Remembered on disk before the answer goes out, so a restart does not answer again.
    if remembered {
        persist_memory(&state).await;
    }
    for reply in answers {
        send_reply(&state, reply);
    }
    (StatusCode::OK, "ok\n").into_response()
}

/// Writes the memory on the blocking pool; a failure is logged (the memory is a courtesy, the
/// events are what must not be lost).
async fn persist_memory(state: &Arc<Inbox>) {
    let memory = state.memory.clone();
    match tokio::task::spawn_blocking(move || memory.save(Timestamp::now())).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("cannot write the inbox memory: {e}"),
        Err(e) => tracing::warn!("inbox memory writer failed: {e}"),
    }
}

fn send_reply(state: &Arc<Inbox>, reply: Reply) {
    let Some(client) = state.client.clone() else {
        tracing::info!(
            "not answering {} ({:?}): WHATSAPP_TOKEN is not set",
            mask(&reply.to),
            reply.kind
        );
        return;
    };
    let body = reply_text(&state.config, &reply.kind);
    tokio::spawn(async move {
        let payload = Payload::Text {
            body,
            preview_url: false,
        };
        match client.send(&reply.to, &payload, "").await {
            Ok(_) => tracing::info!("answered {} ({:?})", mask(&reply.to), reply.kind),
            Err(e) => tracing::warn!("answer to {} failed: {e}", mask(&reply.to)),
        }
    });
}

/// The free-form answers (inside the 24 h window the citizen's message opened).
pub fn reply_text(config: &Config, kind: &ReplyKind) -> String {
    let org = if config.contact.organisation.is_empty() {
        &config.title
    } else {
        &config.contact.organisation
    };
    match kind {
        ReplyKind::Stopped => format!(
            "Sie sind abgemeldet und erhalten keine Bekanntmachungen von {org} mehr. Wieder anmelden: START schreiben."
        ),
        ReplyKind::Started => format!(
            "Danke! Sie erhalten ab jetzt neue Bekanntmachungen von {org} per WhatsApp. Abmelden: jederzeit STOP schreiben."
        ),
        ReplyKind::Service => config.inbox.as_ref().and_then(|i| i.service_reply.clone()).unwrap_or_else(|| {
            let phone = if config.contact.phone.is_empty() { String::new() } else { format!("Telefon {} oder ", config.contact.phone) };
            format!(
                "Diese Nummer von {org} verschickt nur Bekanntmachungen und beantwortet keine Nachrichten. \
                 Fragen bitte an {phone}{}. Abmelden: STOP schreiben.",
                config.base_url
            )
        }),
    }
}

// ---- web sign-up -----------------------------------------------------------------------------------

/// The client address: behind the local TLS proxy (peer on loopback) the last `X-Forwarded-For`
/// entry, which the proxy itself appended; otherwise the peer.
fn client_ip(peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if peer.ip().is_loopback()
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.ip()
}

async fn signup_post(
    State(state): State<Arc<Inbox>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let config = &state.config;
    let ip = client_ip(peer, &headers);
    let allowed = state.memory.allow_signup(ip, Timestamp::now());
    persist_memory(&state).await;
    if !allowed {
        let retry = state.memory.retry_after().as_secs().max(1);
        let mut r = html(StatusCode::TOO_MANY_REQUESTS, pages::too_many(config));
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry));
        return r;
    }
    let form = signup::SignupForm::parse(&body);
    match signup::decide(&form, config, &state.form_key, Timestamp::now()) {
        signup::Decision::Accept(event) => {
            let envelope = Envelope {
                id: random_id(),
                received_at: Timestamp::now(),
                event,
            };
            match store_all(&state, vec![envelope]).await {
                Ok(_) => html(StatusCode::OK, pages::signup_received(config)),
                Err(status) => html(status, pages::invalid(config, &["Ein technischer Fehler ist aufgetreten. Bitte versuchen Sie es später noch einmal.".into()])),
            }
        }
        signup::Decision::Honeypot => html(StatusCode::OK, pages::signup_received(config)),
        signup::Decision::Review { stamp } => {
            let masked = crate::subscribers::address::normalize_mobile(&form.number)
                .map(|a| mask(&a))
                .unwrap_or_default();
            html(
                StatusCode::OK,
                pages::review(config, &form, &stamp, &masked),
            )
        }
        signup::Decision::Invalid(problems) => {
            html(StatusCode::BAD_REQUEST, pages::invalid(config, &problems))
        }
    }
}

// ---- opt-out link (also RFC 8058 one-click) ----------------------------------------------------------

#[derive(Deserialize)]
struct TokenQuery {
    t: Option<String>,
}

async fn optout_get(State(state): State<Arc<Inbox>>, Query(q): Query<TokenQuery>) -> Response {
    let config = &state.config;
    match (&state.secrets.token_secret, q.t) {
        (Some(secret), Some(t)) if super::optout::verify(secret.as_bytes(), &t).is_some() => {
            html(StatusCode::OK, pages::optout_confirm(config, &t))
        }
        _ => html(StatusCode::BAD_REQUEST, pages::optout_invalid(config)),
    }
}

async fn optout_post(
    State(state): State<Arc<Inbox>>,
    Query(q): Query<TokenQuery>,
    body: Bytes,
) -> Response {
    let config = &state.config;
    // RFC 8058: the token is in the URI and the body is `List-Unsubscribe=One-Click`; the
    // confirmation page posts it as a form field instead.
    let token = q.t.or_else(|| {
        form_urlencoded::parse(&body)
            .find(|(k, _)| k == "t")
            .map(|(_, v)| v.into_owned())
    });
    let subscriber = match (&state.secrets.token_secret, token) {
        (Some(secret), Some(t)) => super::optout::verify(secret.as_bytes(), &t),
        _ => None,
    };
    let Some(subscriber) = subscriber else {
        return html(StatusCode::BAD_REQUEST, pages::optout_invalid(config));
    };
    let now = Timestamp::now();
    let envelope = Envelope {
        id: random_id(),
        received_at: now,
        event: Event::LinkUnsubscribe {
            at: now,
            subscriber,
        },
    };
    match store_all(&state, vec![envelope]).await {
        Ok(_) => html(StatusCode::OK, pages::optout_done(config)),
        Err(status) => status.into_response(),
    }
}
