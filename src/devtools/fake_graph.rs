//! A fake WhatsApp Graph API server (real HTTP on 127.0.0.1) that implements the contract in
//! `shared/api/whatsapp-cloud-api.md`: bearer auth, Meta-strict validation, per-message wamids,
//! a messages-per-second limit (130429), latency, injected error codes and dropped connections.
//! It records every accepted message so tests can check exactly-once delivery, in-process
//! ([`FakeGraph::messages`]), over HTTP (`GET /_fake/messages`, `GET /_fake/stats`) and
//! optionally as JSON lines in a file, and posts Meta's signed delivery status webhooks (with
//! `pricing`) for them to an inbox (`statuses`). Numbers are never logged or written in full.

mod config;
mod handlers;
mod statuses;
mod validate;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

pub use config::{FakeConfig, FakeTemplate, Fault, Injection, default_http_status};
pub use statuses::Fate;
pub use validate::{GraphError, PARAM_TEXT_DETAILS, number_digits};

/// One message the fake accepted (= "sent").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AcceptedMessage {
    /// 1-based order of acceptance.
    pub seq: u64,
    pub wamid: String,
    /// The number as sent. In memory only: never serialized.
    #[serde(skip)]
    pub to: String,
    pub to_masked: String,
    /// [`number_hash`] of the number, so out-of-process tests can match recipients.
    pub to_sha256: String,
    /// `template` or `text`.
    pub kind: String,
    pub template: Option<String>,
    pub language: Option<String>,
    pub params: Vec<String>,
    /// The URL button suffix exactly as sent (percent-encoded).
    pub button_suffix: Option<String>,
    /// The opt-out button's suffix (the subscriber's token), for templates with one.
    #[serde(default)]
    pub optout_suffix: Option<String>,
    pub text: Option<String>,
    pub correlation: Option<String>,
    pub received_unix_ms: u64,
}

/// Hex SHA-256 of a number's digits (`+49 151…` and `49151…` hash alike).
pub fn number_hash(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    hex::encode(Sha256::digest(digits.as_bytes()))
}

/// Counters for tests and benchmarks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FakeStats {
    /// Requests to the messages endpoint.
    pub requests: u64,
    pub accepted: u64,
    /// Error answers by code.
    pub errors: BTreeMap<i64, u64>,
    /// Connections closed without an answer.
    pub dropped: u64,
    /// The most requests seen in one 1-second window (only requests that were not throttled).
    pub max_per_second: u64,
}

/// A running fake server; stops when dropped or on [`FakeGraph::shutdown`].
pub struct FakeGraph {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

struct Shared {
    config: FakeConfig,
    calls: AtomicU64,
    /// Times of the not-throttled requests in the last second.
    window: Mutex<VecDeque<Instant>>,
    accepted: Mutex<Vec<AcceptedMessage>>,
    stats: Mutex<FakeStats>,
    /// How often each injection fired (for `times`).
    fired: Mutex<HashMap<usize, u64>>,
    record: Option<Mutex<std::fs::File>>,
    /// Makes wamids unique across restarts of the fake.
    instance: u32,
}

/// Closes the connection a request came on, without an answer.
#[derive(Clone)]
struct ConnKill(Arc<Notify>);

impl FakeGraph {
    /// Binds 127.0.0.1:`config.port` and serves in the background on the current tokio runtime.
    pub async fn start(config: FakeConfig) -> std::io::Result<FakeGraph> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let record = match &config.record_file {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                    })?,
            )),
            None => None,
        };
        let shared = Arc::new(Shared {
            config,
            calls: AtomicU64::new(0),
            window: Mutex::new(VecDeque::new()),
            accepted: Mutex::new(Vec::new()),
            stats: Mutex::new(FakeStats::default()),
            fired: Mutex::new(HashMap::new()),
            record,
            instance: rand::random(),
        });
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(serve(listener, router(shared.clone()), stopped));
        Ok(FakeGraph { addr, shared, stop })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port` (no version).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `api_url` to configure: base URL plus a Graph version.
    pub fn api_url(&self) -> String {
        format!("http://{}/v25.0", self.addr)
    }

    pub fn config(&self) -> &FakeConfig {
        &self.shared.config
    }

    /// Every accepted message so far, in order.
    pub fn messages(&self) -> Vec<AcceptedMessage> {
        lock(&self.shared.accepted).clone()
    }

    pub fn stats(&self) -> FakeStats {
        lock(&self.shared.stats).clone()
    }

    /// Stops accepting and closes open connections.
    pub fn shutdown(self) {}

    /// Serves until the process is killed (for the hidden subcommand).
    pub async fn wait(&self) {
        until_stopped(&mut self.stop.subscribe()).await;
    }
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Accept loop with hyper directly (not `axum::serve`) so a handler can close its own
/// connection without answering.
async fn serve(listener: TcpListener, router: Router, mut stopped: watch::Receiver<bool>) {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // out of file descriptors or similar: back off instead of spinning
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = until_stopped(&mut stopped) => return,
        };
        let _ = stream.set_nodelay(true);
        let kill = Arc::new(Notify::new());
        let conn_kill = ConnKill(kill.clone());
        let router = router.clone();
        let svc = tower::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(conn_kill.clone());
            router.clone().oneshot(req.map(axum::body::Body::new))
        });
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
            // dropping `conn` closes the socket: the client sees no answer at all
            tokio::select! {
                _ = conn => {}
                _ = kill.notified() => {}
                _ = until_stopped(&mut stopped) => {}
            }
        });
    }
}

async fn until_stopped(rx: &mut watch::Receiver<bool>) {
    // the guard `wait_for` returns is not Send: drop it before anything else awaits
    let _ = rx.wait_for(|s| *s).await.is_ok();
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_fake/messages", get(list_messages))
        .route("/_fake/stats", get(get_stats))
        .route("/_fake/statuses", post(statuses::post_statuses))
        .route(
            "/{version}/{phone_number_id}/messages",
            post(handlers::send_message),
        )
        .route(
            "/{version}/{waba_id}/message_templates",
            get(handlers::list_templates),
        )
        .with_state(shared)
}

async fn list_messages(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&shared.accepted).clone()).into_response()
}

async fn get_stats(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&shared.stats).clone()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_formatting() {
        assert_eq!(
            number_hash("+49 151 23456789"),
            number_hash("4915123456789")
        );
        assert_ne!(number_hash("+4915123456789"), number_hash("+4915123456788"));
    }
}
