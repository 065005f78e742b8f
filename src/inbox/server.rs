//! The HTTP server: routes, request handling and the replies sent from the service window.
//!
//! Every event is encrypted and fsynced (`EventStore::put`) before the answer is sent, so a 200
//! means it is on disk; a crash before that means no 200, and Meta (or the person) retries.
//! What a request may cost (connections, time, buffered bytes) is bounded by
//! [`super::listener`]; the sign-up and opt-out routes are in [`super::forms`].

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::Deserialize;
use tokio::net::TcpListener;

use super::events::Envelope;
use super::listener::{BodyBudget, Limits};
use super::memory::{Memory, MemoryWriter};
use super::store::{EventStore, Stored};
use super::webhook::{self, Keywords, Reply, ReplyKind};
use super::{Secrets, forms, signup};
use crate::config::Config;
use crate::providers::whatsapp::{Payload, WhatsAppClient};
use crate::subscribers::mask;

/// Webhook payloads can be up to 3 MB (contract §5.3).
pub const WEBHOOK_BODY_LIMIT: usize = 3 * 1024 * 1024;

pub(super) struct Inbox {
    pub(super) config: Config,
    pub(super) secrets: Secrets,
    pub(super) store: Arc<EventStore>,
    keywords: Keywords,
    phone_number_id: Option<String>,
    client: Option<WhatsAppClient>,
    pub(super) form_key: [u8; 32],
    /// The rate limits and the service-text memory, persisted in the data dir.
    pub(super) memory: Arc<Memory>,
    /// Batched writes of `memory`.
    pub(super) writer: Arc<MemoryWriter>,
    /// Bytes of request bodies buffered at once.
    pub(super) budget: BodyBudget,
    /// Sign-up stamps already accepted.
    pub(super) used_stamps: signup::UsedStamps,
    /// Sends the e-mail sign-up's confirmation mails; `None` without an e-mail channel.
    pub(super) mailer: Option<Arc<super::email_signup::Mailer>>,
}

/// A running inbox server.
pub struct RunningInbox {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    writer: Arc<MemoryWriter>,
}

impl RunningInbox {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How often the server's memory (`memory.json`) was written so far (batched writes).
    pub fn memory_writes(&self) -> u64 {
        self.writer
            .writes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops accepting, lets running requests finish, and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        let served = self.task.await.map_err(std::io::Error::other)?;
        self.writer.flush().await;
        served
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
    start_with_limits(config, secrets, data_dir, listen, Limits::default()).await
}

/// [`start`] with other resource limits (tests, the benchmark).
pub async fn start_with_limits(
    config: Config,
    secrets: Secrets,
    data_dir: &Path,
    listen: SocketAddr,
    limits: Limits,
) -> anyhow::Result<RunningInbox> {
    start_with(config, secrets, data_dir, listen, limits, Extras::default()).await
}

/// What the inbox offers beyond sign-ups and webhooks, each with the secret the command's edge
/// read for it: the editors' login (`editor.auth`) and the e-mail sign-up's confirmation mails.
#[derive(Default)]
pub struct Extras {
    pub editor: Option<super::editor_auth::EditorLogin>,
    /// `SMTP_PASSWORD`, when the mail server wants a login.
    pub smtp_password: Option<String>,
}

/// [`start_with_limits`] with the [`Extras`].
pub async fn start_with(
    config: Config,
    secrets: Secrets,
    data_dir: &Path,
    listen: SocketAddr,
    limits: Limits,
    extras: Extras,
) -> anyhow::Result<RunningInbox> {
    let Some(inbox_cfg) = config.inbox.clone() else {
        anyhow::bail!(
            "aushang.yaml hat keinen Abschnitt `inbox:` (mindestens `url:`); siehe docs/inbox.md"
        );
    };
    let recipients = crate::subscribers::Recipients::load(&config.subscribers_dir())?;
    // Every event is encrypted to these keys: not to the public demo key of a real site, not to
    // keys added without a rekey (as far as a server without a secret key can tell).
    match crate::subscribers::companions::check_for_server(&config.subscribers_dir(), &recipients) {
        Ok(None) => {}
        Ok(Some(note)) => tracing::warn!("{note}"),
        Err(refusal) => anyhow::bail!("der Posteingang startet nicht: {refusal}"),
    }
    crate::subscribers::companions::check_demo_key_unreachable(&recipients, &inbox_cfg.url)
        .map_err(|refusal| anyhow::anyhow!("der Posteingang startet nicht: {refusal}"))?;
    let store = Arc::new(EventStore::open(data_dir, recipients)?);
    let memory = Arc::new(
        Memory::open(
            data_dir,
            inbox_cfg.signups_per_ip_per_hour,
            inbox_cfg.signups_per_hour,
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", data_dir.display()))?,
    );
    let whatsapp = config.broadcast.channels.whatsapp.clone();
    let client = match (&whatsapp, &secrets.whatsapp_token) {
        (Some(w), Some(token)) => Some(
            WhatsAppClient::new(&w.api_url, &w.phone_number_id, token.clone()).map_err(|e| {
                anyhow::anyhow!("der WhatsApp-Zugang lässt sich nicht einrichten: {e}")
            })?,
        ),
        _ => None,
    };
    if whatsapp.is_none() {
        tracing::warn!(
            "kein broadcast.channels.whatsapp in aushang.yaml: WhatsApp-Webhooks werden abgewiesen"
        );
    } else if client.is_none() {
        tracing::warn!(
            "WHATSAPP_TOKEN ist nicht gesetzt: STOP/START werden festgehalten, aber nicht beantwortet"
        );
    }
    let state = Arc::new(Inbox {
        keywords: Keywords {
            stop: inbox_cfg.stop_words.clone(),
            start: inbox_cfg.start_words.clone(),
        },
        phone_number_id: whatsapp.map(|w| w.phone_number_id),
        form_key: rand::random(),
        writer: MemoryWriter::start(memory.clone()),
        memory,
        budget: BodyBudget::new(&limits),
        used_stamps: signup::UsedStamps::default(),
        mailer: super::email_signup::Mailer::from_config(&config, extras.smtp_password)
            .map(Arc::new),
        config,
        secrets,
        store,
        client,
    });
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let writer = state.writer.clone();
    let login_limits =
        super::editor_auth::limit::LoginLimits::new(state.memory.clone(), state.writer.clone());
    let app = router(state.clone()).merge(super::editor_auth::routes(
        &state.config,
        extras.editor,
        login_limits,
    ));
    let task = tokio::spawn(super::listener::serve(listener, app, limits, stopped));
    Ok(RunningInbox {
        addr,
        stop,
        task,
        writer,
    })
}

/// Every handler reads its body itself (after its cheap checks, within its limit and the shared
/// budget), so axum's own limit is off.
fn router(state: Arc<Inbox>) -> Router {
    Router::new()
        .route("/", get(|| async { "aushang inbox\n" }))
        .route("/webhooks/whatsapp", get(webhook_get).post(webhook_post))
        .route("/signup", post(forms::signup_post))
        .route("/signup/stempel", get(forms::stamp_get))
        .route("/abmelden", get(forms::optout_get).post(forms::optout_post))
        .route(
            "/bestaetigen",
            get(super::email_signup::confirm_get).post(super::email_signup::confirm_post),
        )
        .route("/events", get(super::pull_api::events_list))
        .route("/events/ack", post(super::pull_api::events_ack))
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// Stores events on the blocking pool; `Err` is an answer to send instead.
pub(super) async fn store_all(
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
            tracing::error!("ein Ereignis lässt sich nicht speichern: {e}");
            Err(StatusCode::INTERNAL_SERVER_ERROR)
        }
        Err(e) => {
            tracing::error!("das Speichern der Ereignisse ist abgebrochen: {e}");
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

async fn webhook_post(State(state): State<Arc<Inbox>>, headers: HeaderMap, body: Body) -> Response {
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    // What can never be signed is refused before a byte of the body is read.
    if !signature.is_some_and(webhook::signature_well_formed) {
        return (StatusCode::UNAUTHORIZED, "bad signature\n").into_response();
    }
    let body = match state.budget.read(&headers, body, WEBHOOK_BODY_LIMIT).await {
        Ok(b) => b,
        Err(r) => return r,
    };
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
            "{} Webhook-Änderung(en) für eine andere Nummer oder ein anderes Feld ignoriert",
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
    let now = Timestamp::now();
    for reply in parsed.replies {
        // At most one service text per sender and 24 h (also covers Meta's retries).
        let answer = match reply.kind {
            ReplyKind::Service => {
                let due = state.memory.service_reply_due(&reply.to, now);
                remembered |= due;
                due
            }
            _ => fresh.contains(&&reply.event_id),
        };
        if answer {
            answers.push(reply);
        }
    }
    // Remembered on disk before the answer goes out, so a restart does not answer again
    // (a group commit: concurrent webhooks share one write).
    if remembered {
        state.writer.durable().await;
    }
    for reply in answers {
        send_reply(&state, reply);
    }
    (StatusCode::OK, "ok\n").into_response()
}

fn send_reply(state: &Arc<Inbox>, reply: Reply) {
    let Some(client) = state.client.clone() else {
        tracing::info!(
            "keine Antwort an {} ({}): WHATSAPP_TOKEN ist nicht gesetzt",
            mask(&reply.to),
            kind_label(&reply.kind)
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
            Ok(_) => tracing::info!(
                "beantwortet: {} ({})",
                mask(&reply.to),
                kind_label(&reply.kind)
            ),
            Err(e) => tracing::warn!("Antwort an {} fehlgeschlagen: {e}", mask(&reply.to)),
        }
    });
}

/// How a reply is named in the log (not Rust's `Debug` spelling).
fn kind_label(kind: &ReplyKind) -> &'static str {
    match kind {
        ReplyKind::Stopped => "STOP bestätigt",
        ReplyKind::Started => "START bestätigt",
        ReplyKind::Service => "Service-Antwort",
    }
}

/// The free-form answers (inside the 24 h window the citizen's message opened).
pub fn reply_text(config: &Config, kind: &ReplyKind) -> String {
    let org = if config.contact.organisation.is_empty() {
        &config.title
    } else {
        &config.contact.organisation
    };
    match kind {
        // The sender's name can be long ("Stadt Neuhof – Der Bürgermeister"): it stands alone
        // after a colon, never inside a sentence it would break up.
        ReplyKind::Stopped => format!(
            "Sie sind abgemeldet und erhalten keine Bekanntmachungen mehr. Absender: {org}. Wieder anmelden: START schreiben."
        ),
        ReplyKind::Started => format!(
            "Danke! Sie erhalten ab jetzt neue Bekanntmachungen per WhatsApp. Absender: {org}. Abmelden: jederzeit STOP schreiben."
        ),
        ReplyKind::Service => config.inbox.as_ref().and_then(|i| i.service_reply.clone()).unwrap_or_else(|| {
            let phone = if config.contact.phone.is_empty() { String::new() } else { format!("Telefon {} oder ", config.contact.phone) };
            format!(
                "Diese Nummer verschickt nur Bekanntmachungen und beantwortet keine Nachrichten. \
                 Absender: {org}. Fragen bitte an {phone}{}. Abmelden: STOP schreiben.",
                config.base_url
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = "title: T\nbase_url: https://www.neuhof.example/\ncontact:\n  organisation: Stadt Neuhof – Der Bürgermeister\n  phone: 01234 5678\ninbox:\n  url: https://inbox.neuhof.example/\n";
        crate::config::parse(
            std::path::Path::new("/"),
            std::path::Path::new("aushang.yaml"),
            text,
        )
        .unwrap()
    }

    #[test]
    fn a_long_sender_name_never_splits_a_sentence() {
        let config = config();
        for kind in [ReplyKind::Stopped, ReplyKind::Started, ReplyKind::Service] {
            let text = reply_text(&config, &kind);
            assert!(
                text.contains("Absender: Stadt Neuhof – Der Bürgermeister."),
                "{text}"
            );
            assert!(!text.contains("Bürgermeister mehr"), "{text}");
            assert!(!text.contains("Bürgermeister per"), "{text}");
            assert!(!text.contains("Bürgermeister verschickt"), "{text}");
        }
        let stop = reply_text(&config, &ReplyKind::Stopped);
        assert!(stop.starts_with("Sie sind abgemeldet"), "{stop}");
        assert!(stop.contains("START"), "{stop}");
        let service = reply_text(&config, &ReplyKind::Service);
        assert!(
            service.contains("Telefon 01234 5678 oder https://www.neuhof.example/"),
            "{service}"
        );
    }
}
