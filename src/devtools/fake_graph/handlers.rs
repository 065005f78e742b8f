//! The fake's Graph endpoints: auth, version, rate limit, injected faults, validation, the
//! accepted-message record, and the template list.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use super::config::{self, Fault, default_http_status};
use super::validate::{self, GraphError, number_digits};
use super::{AcceptedMessage, ConnKill, Shared, lock, number_hash};
use crate::subscribers::mask;

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

pub(super) async fn send_message(
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
        optout_suffix: msg.optout_suffix,
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
pub(super) struct TemplateQuery {
    #[serde(default)]
    name: Option<String>,
}

pub(super) async fn list_templates(
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
    use crate::devtools::fake_graph::{FakeConfig, FakeStats, Injection};
    use std::collections::{HashMap, VecDeque};
    use std::sync::Mutex;
    use std::sync::atomic::AtomicU64;

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
}
