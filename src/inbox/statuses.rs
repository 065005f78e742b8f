//! Delivery status webhooks on the batch side: resolving uncertain journal entries and keeping a
//! record of failures.
//!
//! A status carries our `biz_opaque_callback_data` (`m=<message key>;s=<subscriber id>;a=<n>`,
//! see `broadcast::send::correlation`). A `sent`/`delivered`/`read` status for a delivery the
//! journal holds as uncertain (killed mid-request, or no answer) records it as `sent`, so
//! `--resend-uncertain` is not needed for it; a `failed` status for such a delivery records it as
//! failed. Every `failed` status is kept in `subscribers/inbox/statuses.jsonl` (ids and codes only)
//! so numbers that repeatedly fail with 131026 (not on WhatsApp) can be found.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::events::{Envelope, Event};
use crate::broadcast::journal::{DeliveryLine, DeliveryState, FailureClass, Journal, journal_dir};

pub const STATUSES_FILE: &str = "statuses.jsonl";
/// Failures with this code for the same subscriber, counted as "repeatedly undeliverable".
pub const UNDELIVERABLE: i64 = 131026;
pub const REPEATED: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureLine {
    pub t: Timestamp,
    /// The status event id (dedup).
    pub ev: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusSummary {
    pub by_status: BTreeMap<String, usize>,
    /// Uncertain journal entries now known to be sent (or failed).
    pub resolved: usize,
    pub failures_recorded: usize,
    /// Subscriber ids with at least [`REPEATED`] 131026 failures on record.
    pub repeatedly_undeliverable: Vec<String>,
}

/// `m=<key>;s=<sub>;a=<n>` → (key, sub, attempt).
pub fn parse_correlation(c: &str) -> Option<(String, String, u32)> {
    let mut parts = c.rsplitn(3, ';');
    let attempt = parts.next()?.strip_prefix("a=")?.parse().ok()?;
    let sub = parts.next()?.strip_prefix("s=")?.to_string();
    let msg = parts.next()?.strip_prefix("m=")?.to_string();
    Some((msg, sub, attempt))
}

/// Records the status events among `events` (already decrypted) under `root`.
pub fn record(root: &Path, events: &[Envelope]) -> std::io::Result<StatusSummary> {
    let mut summary = StatusSummary::default();
    let statuses: Vec<&Envelope> = events
        .iter()
        .filter(|e| matches!(e.event, Event::Status { .. }))
        .collect();
    if statuses.is_empty() {
        return Ok(summary);
    }
    let path = super::apply::records_dir(root).join(STATUSES_FILE);
    let mut lines: Vec<FailureLine> = match std::fs::read_to_string(&path) {
        Ok(text) => text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    let known: HashSet<String> = lines.iter().map(|l| l.ev.clone()).collect();
    let journal = Journal::open(&journal_dir(root))?;
    let mut logs: HashMap<String, crate::broadcast::journal::DeliveryLog> = HashMap::new();
    for e in statuses {
        let Event::Status {
            at,
            message_id,
            status,
            correlation,
            error_codes,
        } = &e.event
        else {
            continue;
        };
        *summary.by_status.entry(status.clone()).or_default() += 1;
        let parsed = correlation.as_deref().and_then(parse_correlation);
        if let Some((msg, sub, attempt)) = &parsed {
            if !logs.contains_key(msg) {
                logs.insert(msg.clone(), journal.deliveries(msg, "whatsapp")?);
            }
            let log = logs.get_mut(msg).expect("inserted above");
            if log.is_uncertain(sub) {
                let failed = status == "failed";
                let line = DeliveryLine {
                    t: *at,
                    sub: sub.clone(),
                    state: if failed {
                        DeliveryState::Failed
                    } else {
                        DeliveryState::Sent
                    },
                    id: Some(message_id.clone()),
                    code: if failed {
                        error_codes.first().copied()
                    } else {
                        None
                    },
                    // Meta accepted it, so a resend could arrive twice: never retried blindly.
                    class: failed.then_some(FailureClass::Permanent),
                    attempt: Some(*attempt),
                };
                journal.record(msg, "whatsapp", &line)?;
                log.last.insert(sub.clone(), line);
                summary.resolved += 1;
            }
        }
        if status == "failed" && !known.contains(&e.id) {
            lines.push(FailureLine {
                t: *at,
                ev: e.id.clone(),
                msg: parsed.as_ref().map(|p| p.0.clone()),
                sub: parsed.as_ref().map(|p| p.1.clone()),
                codes: error_codes.clone(),
            });
            summary.failures_recorded += 1;
        }
    }
    journal.sync()?;
    if summary.failures_recorded > 0 {
        let mut text = String::new();
        for l in &lines {
            text.push_str(&serde_json::to_string(l).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        crate::fsutil::write_atomic(&path, text.as_bytes())?;
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for l in &lines {
        if let Some(sub) = &l.sub
            && l.codes.contains(&UNDELIVERABLE)
        {
            *counts.entry(sub).or_default() += 1;
        }
    }
    summary.repeatedly_undeliverable = counts
        .into_iter()
        .filter(|(_, n)| *n >= REPEATED)
        .map(|(s, _)| s.to_string())
        .collect();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_roundtrip() {
        let c =
            crate::broadcast::send::correlation("/bekanntmachungen/2026/x/#notice", "s_00aa", 2);
        assert_eq!(
            parse_correlation(&c),
            Some((
                "/bekanntmachungen/2026/x/#notice".into(),
                "s_00aa".into(),
                2
            ))
        );
        assert_eq!(parse_correlation("confirm"), None);
    }

    #[test]
    fn an_uncertain_delivery_is_resolved_by_its_status() {
        let root = tempfile::tempdir().unwrap();
        let journal = Journal::open(&journal_dir(root.path())).unwrap();
        let msg = "/bekanntmachungen/2026/x/#notice";
        let t0 = Timestamp::from_second(1_800_000_000).unwrap();
        for sub in ["s_a", "s_b"] {
            let line = DeliveryLine {
                t: t0,
                sub: sub.into(),
                state: DeliveryState::Uncertain,
                id: None,
                code: None,
                class: None,
                attempt: Some(1),
            };
            journal.record(msg, "whatsapp", &line).unwrap();
        }
        journal.sync().unwrap();
        let status = |sub: &str, status: &str, codes: Vec<i64>| Envelope {
            id: crate::inbox::events::status_id(&format!("wamid.{sub}"), status),
            received_at: t0,
            event: Event::Status {
                at: t0,
                message_id: format!("wamid.{sub}"),
                status: status.into(),
                correlation: Some(crate::broadcast::send::correlation(msg, sub, 1)),
                error_codes: codes,
            },
        };
        let events = vec![
            status("s_a", "delivered", vec![]),
            status("s_b", "failed", vec![131026]),
        ];
        let s = record(root.path(), &events).unwrap();
        assert_eq!((s.resolved, s.failures_recorded), (2, 1));
        let log = Journal::open(&journal_dir(root.path()))
            .unwrap()
            .deliveries(msg, "whatsapp")
            .unwrap();
        assert!(log.is_final("s_a") && !log.is_uncertain("s_a"));
        assert!(log.is_final("s_b"));
        let again = record(root.path(), &events).unwrap();
        assert_eq!(
            (again.resolved, again.failures_recorded),
            (0, 0),
            "idempotent"
        );
    }
}
