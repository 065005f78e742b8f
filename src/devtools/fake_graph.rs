//! A fake WhatsApp Graph API server (real HTTP on 127.0.0.1) that implements the contract in
//! `shared/api/whatsapp-cloud-api.md`: bearer auth, Meta-strict validation, per-message wamids,
//! a messages-per-second limit (130429), latency, injected error codes and dropped connections.
//! It records every accepted message so tests can check exactly-once delivery, in-process
//! ([`FakeGraph::messages`]), over HTTP (`GET /_fake/messages`, `GET /_fake/stats`) and
//! optionally as JSON lines in a file. Numbers are never logged or written in full.

mod config;
mod validate;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

pub use config::{FakeConfig, FakeTemplate, Fault, Injection, default_http_status};
pub use validate::{GraphError, PARAM_TEXT_DETAILS, number_digits};

use crate::subscribers::mask;

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
        .route("/{version}/{phone_number_id}/messages", post(send_message))
        .route(
            "/{version}/{waba_id}/message_templates",
            get(list_templates),
        )
        .with_state(shared)
}

async fn list_messages(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&shared.accepted).clone()).into_response()
}

async fn get_stats(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&shared.stats).clone()).into_response()
}

/// A Graph error answer (§3.1).
fn graph_error(shared: &Shared, e: &GraphError) -> Response {
    let status = e
        .http_status
        .unwrap_or_else(|| default_http_status(e.code, shared.config.throttle_http_status));
    *lock(&shared.stats).errors.entry(e.code).or_default() += 1;
    let trace: String = format!(
        "A{:08x}{:06x}",
        shared.instance,
        rand::random::<u32>() & 0xff_ffff
    );
    let body = json!({ "error": {
        "message": format!("(#{}) {}", e.code, config::title(e.code)),
        "type": "OAuthException",
        "code": e.code,
        "error_data": { "messaging_product": "whatsapp", "details": e.details },
        "fbtrace_id": trace,
    }});
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(body),
    )
        .into_response()
}

fn check_auth(shared: &Shared, headers: &HeaderMap) -> Result<(), GraphError> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(shared.config.token.as_str()) {
        Ok(())
    } else {
        Err(GraphError {
            code: 190,
            http_status: Some(401),
            details: "Invalid OAuth access token - Cannot parse access token".into(),
        })
    }
}

fn check_version(version: &str) -> Result<(), GraphError> {
    let ok = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(GraphError {
            code: 100,
            http_status: None,
            details: "Unknown path components: the Graph API version is not valid".into(),
        })
    }
}

/// Whether this request fits the messages-per-second limit; counts it if so.
fn within_rate(shared: &Shared, now: Instant) -> bool {
    let mut window = lock(&shared.window);
    while window
        .front()
        .is_some_and(|&t| t + Duration::from_secs(1) <= now)
    {
        window.pop_front();
    }
    if let Some(limit) = shared.config.messages_per_second
        && window.len() >= limit as usize
    {
        return false;
    }
    window.push_back(now);
    let n = window.len() as u64;
    drop(window);
    let mut stats = lock(&shared.stats);
    stats.max_per_second = stats.max_per_second.max(n);
    true
}

/// The first injection that applies to this request, counting it as fired.
fn injected(shared: &Shared, call: u64, to_digits: Option<&str>) -> Option<Fault> {
    let mut fired = lock(&shared.fired);
    for (i, inj) in shared.config.inject.iter().enumerate() {
        let matches = inj.call.is_none_or(|n| n == call)
            && inj.from_call.is_none_or(|n| call >= n)
            && inj.to.as_deref().is_none_or(|t| {
                number_digits(t)
                    .as_deref()
                    .is_some_and(|d| Some(d) == to_digits)
            });
        let count = fired.entry(i).or_default();
        if matches && inj.times.is_none_or(|max| *count < max) {
            *count += 1;
            return Some(inj.fault.clone());
        }
    }
    None
}

async fn send_message(
    State(shared): State<Arc<Shared>>,
    Path((version, phone_number_id)): Path<(String, String)>,
    Extension(kill): Extension<ConnKill>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    let call = shared.calls.fetch_add(1, Ordering::SeqCst) + 1;
    lock(&shared.stats).requests += 1;
    let outcome = handle_send(
        &shared,
        &version,
        &phone_number_id,
        &headers,
        &body,
        call,
        arrived,
    );
    if shared.config.latency_ms > 0 {
        tokio::time::sleep_until(arrived + Duration::from_millis(shared.config.latency_ms)).await;
    }
    match outcome {
        Outcome::Answer(r) => r,
        Outcome::Drop => {
            lock(&shared.stats).dropped += 1;
            kill.0.notify_one();
            // never answer: the connection task drops this future with the connection
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
}

enum Outcome {
    Answer(Response),
    Drop,
}

fn handle_send(
    shared: &Shared,
    version: &str,
    phone_number_id: &str,
    headers: &HeaderMap,
    body: &[u8],
    call: u64,
    arrived: Instant,
) -> Outcome {
    let fail = |e: GraphError| Outcome::Answer(graph_error(shared, &e));
    if let Err(e) = check_version(version).and_then(|_| check_auth(shared, headers)) {
        return fail(e);
    }
    if phone_number_id != shared.config.phone_number_id {
        return fail(GraphError {
            code: 100,
            http_status: None,
            details: format!(
                "Unsupported post request. Object with ID '{phone_number_id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation"
            ),
        });
    }
    if !within_rate(shared, arrived) {
        return fail(GraphError {
            code: 130429,
            http_status: None,
            details: "Cloud API message throughput has been reached.".into(),
        });
    }
    // the number is read before validation so injections by number work for any request shape
    let to_digits = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("to").and_then(|t| t.as_str()).and_then(number_digits));
    let fault = injected(shared, call, to_digits.as_deref());
    match fault {
        Some(Fault::Error {
            code,
            http_status,
            details,
        }) => {
            return fail(GraphError {
                code,
                http_status,
                details: details.unwrap_or_else(|| format!("injected error {code}")),
            });
        }
        Some(Fault::DropBeforeAccept) => return Outcome::Drop,
        Some(Fault::DropAfterAccept) | None => {}
    }
    let msg = match validate::validate(
        body,
        &shared.config.templates,
        &shared.config.service_window,
    ) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let wamid = accept(shared, msg.clone());
    if matches!(fault, Some(Fault::DropAfterAccept)) {
        return Outcome::Drop;
    }
    let mut answer = json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": msg.to, "wa_id": msg.digits }],
        "messages": [{ "id": wamid }],
    });
    if msg.kind == "template" {
        answer["messages"][0]["message_status"] = json!("accepted");
    }
    Outcome::Answer((StatusCode::OK, axum::Json(answer)).into_response())
}

/// Records an accepted message and returns its wamid.
fn accept(shared: &Shared, msg: validate::ValidMessage) -> String {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut accepted = lock(&shared.accepted);
    let seq = accepted.len() as u64 + 1;
    let wamid = format!(
        "wamid.HBgL{:08X}{:012X}{:06X}",
        shared.instance,
        seq,
        rand::random::<u32>() & 0xff_ffff
    );
    let (template, language) = msg
        .template
        .map_or((None, None), |(n, l)| (Some(n), Some(l)));
    let record = AcceptedMessage {
        seq,
        wamid: wamid.clone(),
        to_masked: mask(&format!("+{}", msg.digits)),
        to_sha256: number_hash(&msg.digits),
        to: msg.to,
        kind: msg.kind.into(),
        template,
        language,
        params: msg.params,
        button_suffix: msg.button_suffix,
        text: msg.text,
        correlation: msg.correlation,
        received_unix_ms: now_ms,
    };
    tracing::debug!(to = %record.to_masked, seq, "fake Graph API accepted a message");
    if let Some(file) = &shared.record {
        // one write per line while holding `accepted`, so file order equals `seq` order
        let mut line = serde_json::to_vec(&record).unwrap_or_default();
        line.push(b'\n');
        if let Err(e) = lock(file).write_all(&line) {
            tracing::error!("fake Graph API could not append to its record file: {e}");
        }
    }
    accepted.push(record);
    lock(&shared.stats).accepted += 1;
    wamid
}

#[derive(Deserialize)]
struct TemplateQuery {
    #[serde(default)]
    name: Option<String>,
}

async fn list_templates(
    State(shared): State<Arc<Shared>>,
    Path((version, waba_id)): Path<(String, String)>,
    Query(query): Query<TemplateQuery>,
    headers: HeaderMap,
) -> Response {
    if shared.config.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(shared.config.latency_ms)).await;
    }
    if let Err(e) = check_version(&version).and_then(|_| check_auth(&shared, &headers)) {
        return graph_error(&shared, &e);
    }
    if waba_id != shared.config.waba_id {
        return graph_error(
            &shared,
            &GraphError {
                code: 100,
                http_status: None,
                details: format!(
                    "Unsupported get request. Object with ID '{waba_id}' does not exist"
                ),
            },
        );
    }
    let data: Vec<_> = shared
        .config
        .templates
        .iter()
        .enumerate()
        .filter(|(_, t)| query.name.as_deref().is_none_or(|n| n == t.name))
        .map(|(i, t)| {
            json!({ "name": t.name, "language": t.language, "status": t.status,
                    "category": t.category, "id": format!("{}", 900_000_000_000_000u64 + i as u64) })
        })
        .collect();
    axum::Json(
        json!({ "data": data, "paging": { "cursors": { "before": "MAZDZD", "after": "MjQZD" } } }),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injections_fire_by_call_number_and_times() {
        let config = FakeConfig {
            inject: vec![
                Injection::code_at_call(2, 131000),
                Injection::code_for_number("+49 151 23456789", 131026).times(1),
                Injection::code_from_call(5, 190),
            ],
            ..FakeConfig::default()
        };
        let shared = Shared {
            config,
            calls: AtomicU64::new(0),
            window: Mutex::new(VecDeque::new()),
            accepted: Mutex::new(Vec::new()),
            stats: Mutex::new(FakeStats::default()),
            fired: Mutex::new(HashMap::new()),
            record: None,
            instance: 1,
        };
        let code = |f: Option<Fault>| match f {
            Some(Fault::Error { code, .. }) => Some(code),
            _ => None,
        };
        assert_eq!(code(injected(&shared, 1, Some("4915000000001"))), None);
        assert_eq!(
            code(injected(&shared, 2, Some("4915000000001"))),
            Some(131000)
        );
        assert_eq!(
            code(injected(&shared, 3, Some("4915123456789"))),
            Some(131026)
        );
        assert_eq!(code(injected(&shared, 4, Some("4915123456789"))), None);
        assert_eq!(code(injected(&shared, 5, None)), Some(190));
        assert_eq!(code(injected(&shared, 500, None)), Some(190));
    }

    #[test]
    fn hash_ignores_formatting() {
        assert_eq!(
            number_hash("+49 151 23456789"),
            number_hash("4915123456789")
        );
        assert_ne!(number_hash("+4915123456789"), number_hash("+4915123456788"));
    }
}
