//! What a hostile client can cost the inbox: the accept loop with a connection cap, header and
//! body read timeouts, and a shared budget for buffered request bodies.
//!
//! - **Connections**: at most [`Limits::max_connections`] are served at once. One more is accepted
//!   and answered at once with `503` and `Retry-After` (then closed), so the process never runs
//!   out of file descriptors and a client beyond the cap gets an answer instead of a hang.
//! - **Headers** must arrive within [`Limits::header_timeout`] (hyper closes the connection
//!   otherwise; this also ends idle keep-alive connections) and fit in 32 KiB.
//! - **Bodies** are read only after the cheap checks (signature header present, bearer token,
//!   rate limit), each within its route's size limit and [`Limits::body_timeout`], and only
//!   while the sum of all bodies being buffered stays under [`Limits::body_budget`] bytes
//!   ([`BodyBudget`]: small bodies have a pool of their own, so large slow ones cannot crowd
//!   them out). A request without room gets `503` without its body being read.
//!
//! So memory stays bounded under any number of slow or large requests: at most `body_budget` of
//! bodies plus `max_connections` × 32 KiB of header buffers.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// Header buffer per connection (hyper's minimum is 8 KiB).
const MAX_HEADER_BUFFER: usize = 32 * 1024;
/// How long a request waits for its share of the body budget before it gets `503`.
const BUDGET_WAIT: Duration = Duration::from_secs(3);

/// The server's resource limits. [`Limits::default`] is what `aushang inbox serve` uses.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    /// Bytes of request bodies buffered at once, over all connections.
    pub body_budget: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(20),
            body_budget: 32 * 1024 * 1024,
        }
    }
}

/// Bodies up to this size are "small" (every real sign-up, opt-out and nearly every webhook).
const SMALL_BODY: usize = 64 * 1024;

/// The shared body budget, counted in KiB permits, in two pools: a quarter for small bodies,
/// which may wait a moment for room, and the rest for large ones, which never wait (they get
/// `503` at once when it is full). So large slow bodies can never queue in front of the small
/// honest requests, and a full large pool does not stop them.
#[derive(Debug)]
pub struct BodyBudget {
    small: Arc<Semaphore>,
    small_kib: usize,
    large: Arc<Semaphore>,
    large_kib: usize,
    timeout: Duration,
}

impl BodyBudget {
    pub fn new(limits: &Limits) -> BodyBudget {
        let total_kib = (limits.body_budget / 1024).max(4);
        let small_kib = (total_kib / 4).max(SMALL_BODY / 1024);
        let large_kib = total_kib.saturating_sub(small_kib).max(1);
        BodyBudget {
            small: Arc::new(Semaphore::new(small_kib)),
            small_kib,
            large: Arc::new(Semaphore::new(large_kib)),
            large_kib,
            timeout: limits.body_timeout,
        }
    }

    /// Reads a body of at most `limit` bytes: `413` at once when `Content-Length` says it is
    /// larger, `503` when there is no room in the budget, `408` when it does not arrive in time.
    pub async fn read(
        &self,
        headers: &HeaderMap,
        body: Body,
        limit: usize,
    ) -> Result<Bytes, Response> {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        // Without a length (chunked), the route's limit is what it may cost.
        let reserve = declared.unwrap_or(limit);
        let kib = reserve.div_ceil(1024).max(1);
        let permit = if reserve <= SMALL_BODY {
            let kib = kib.min(self.small_kib) as u32;
            match tokio::time::timeout(BUDGET_WAIT, self.small.clone().acquire_many_owned(kib))
                .await
            {
                Ok(Ok(p)) => p,
                _ => return Err(busy()),
            }
        } else {
            let kib = kib.min(self.large_kib) as u32;
            match self.large.clone().try_acquire_many_owned(kib) {
                Ok(p) => p,
                Err(_) => return Err(busy()),
            }
        };
        let read = tokio::time::timeout(self.timeout, axum::body::to_bytes(body, limit)).await;
        drop(permit);
        match read {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(_)) => Err(too_large()),
            Err(_) => Err((
                StatusCode::REQUEST_TIMEOUT,
                "Die Anfrage kam zu langsam an.\n",
            )
                .into_response()),
        }
    }
}

fn too_large() -> Response {
    (StatusCode::PAYLOAD_TOO_LARGE, "Die Anfrage ist zu groß.\n").into_response()
}

/// `503` with `Retry-After`, for a server at one of its limits.
pub fn busy() -> Response {
    let mut r = (
        StatusCode::SERVICE_UNAVAILABLE,
        "Der Posteingang ist gerade ausgelastet. Bitte versuchen Sie es in einigen Sekunden noch einmal.\n",
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

const BUSY_ANSWER: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Serves `router` on `listener` until `stopped` turns true, then lets running connections
/// finish their requests and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (mut stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(e) => {
                    // out of file descriptors or similar: back off instead of spinning
                    tracing::warn!("eine Verbindung ließ sich nicht annehmen: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = until_stopped(&mut stopped) => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY_ANSWER))
                    .await;
            });
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let svc = tower::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req.map(Body::new))
        });
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(MAX_HEADER_BUFFER)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = until_stopped(&mut stopped) => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
    // Every connection holds a slot: having them all back means every connection has finished.
    let _all = slots
        .acquire_many(limits.max_connections as u32)
        .await
        .map_err(std::io::Error::other)?;
    Ok(())
}

async fn until_stopped(rx: &mut watch::Receiver<bool>) {
    // the guard `wait_for` returns is not Send: drop it before anything else awaits
    let _ = rx.wait_for(|s| *s).await.is_ok();
}
