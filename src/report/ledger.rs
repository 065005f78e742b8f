//! The reach ledger, `subscribers/inbox/reach-ledger.json`: what the delivery status webhooks
//! said about each message, as counts only (delivered, read, failed by code, billed and free by
//! category), plus the ids of the status events already counted so a pull that fetches the same
//! events again (a crash before the acknowledgement, `--no-ack` and a failed `inbox ack`)
//! counts nothing twice.
//!
//! No subscriber id, number or name is kept. A status event id is a hash of Meta's message id
//! and the status (`inbox::events::status_id`); a message's pricing is counted once however
//! many of its events carry it (an id `status_id(wamid, "pricing")` marks it counted), and a
//! `read` whose `delivered` never came counts as delivered too. Ids are kept for
//! [`SEEN_DAYS`] days after their event: Meta gives up on a message after 30.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::inbox::events::{Envelope, Event, status_id};
use crate::inbox::statuses::parse_correlation;

pub const LEDGER_FILE: &str = "reach-ledger.json";
/// How long a counted status id is remembered.
pub const SEEN_DAYS: i64 = 60;
/// The key of statuses without our correlation data (e.g. confirmation requests) of the month
/// of `day`: `-@2026-11`.
pub fn other_key(day: jiff::civil::Date) -> String {
    format!("-@{}", day.strftime("%Y-%m"))
}

/// Whether `key` is an [`other_key`]; the month (`2026-11`) if so.
pub fn other_month(key: &str) -> Option<&str> {
    key.strip_prefix("-@")
}

/// What the status webhooks said about one message key (or [`other_key`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    #[serde(default)]
    pub delivered: u64,
    #[serde(default)]
    pub read: u64,
    /// `failed` statuses by error code (`0`: none given).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed: BTreeMap<i64, u64>,
    /// Billed messages by pricing category.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub billable: BTreeMap<String, u64>,
    /// Free messages (`free_customer_service`, …) by pricing category.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub free: BTreeMap<String, u64>,
}

impl StatusCounts {
    pub fn add(&mut self, other: &StatusCounts) {
        self.delivered += other.delivered;
        self.read += other.read;
        for (k, v) in &other.failed {
            *self.failed.entry(*k).or_default() += v;
        }
        for (k, v) in &other.billable {
            *self.billable.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.free {
            *self.free.entry(k.clone()).or_default() += v;
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Message key (`/bekanntmachungen/2026/x/#notice`) or [`other_key`] → counts.
    #[serde(default)]
    pub messages: BTreeMap<String, StatusCounts>,
    /// Counted status ids → the day of their event (for pruning).
    #[serde(default)]
    pub seen: BTreeMap<String, jiff::civil::Date>,
}

pub fn ledger_path(state: &Path) -> PathBuf {
    crate::inbox::apply::records_dir(state).join(LEDGER_FILE)
}

impl Ledger {
    pub fn load(state: &Path) -> std::io::Result<Ledger> {
        let path = ledger_path(state);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                std::io::Error::other(format!(
                    "{}: line {}, column {}: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, state: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        let path = ledger_path(state);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::fsutil::write_atomic(&path, text.as_bytes())
    }

    /// Counts the status events among `events` not counted before; returns how many were new.
    pub fn count(&mut self, events: &[Envelope]) -> usize {
        let mut new = 0;
        for e in events {
            let Event::Status {
                at,
                message_id,
                status,
                correlation,
                error_codes,
                pricing,
                ..
            } = &e.event
            else {
                continue;
            };
            let day = at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
            let key = correlation
                .as_deref()
                .and_then(parse_correlation)
                .map_or_else(|| other_key(day), |(msg, _, _)| msg);
            let mut changed = false;
            let counts = self.messages.entry(key).or_default();
            if !self.seen.contains_key(&e.id) {
                self.seen.insert(e.id.clone(), day);
                changed = true;
                match status.as_str() {
                    "delivered" => counts.delivered += 1,
                    "read" => {
                        counts.read += 1;
                        // A read message was delivered, even if that status never came.
                        let delivered = status_id(message_id, "delivered");
                        if !self.seen.contains_key(&delivered) {
                            self.seen.insert(delivered, day);
                            counts.delivered += 1;
                        }
                    }
                    "failed" => {
                        *counts
                            .failed
                            .entry(error_codes.first().copied().unwrap_or(0))
                            .or_default() += 1
                    }
                    _ => {}
                }
            }
            if let Some(p) = pricing {
                let priced = status_id(message_id, "pricing");
                if !self.seen.contains_key(&priced) {
                    self.seen.insert(priced, day);
                    changed = true;
                    let bucket = if p.is_billed() {
                        &mut counts.billable
                    } else {
                        &mut counts.free
                    };
                    *bucket.entry(p.category_key()).or_default() += 1;
                }
            }
            if changed {
                new += 1;
            }
        }
        new
    }

    /// Forgets ids of events older than [`SEEN_DAYS`] before `now`.
    pub fn prune(&mut self, now: Timestamp) {
        let cutoff = (now - SignedDuration::from_hours(24 * SEEN_DAYS))
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date();
        self.seen.retain(|_, day| *day >= cutoff);
    }
}

/// What `aushang inbox pull` calls for each page of events, before the list is saved and the
/// events are acknowledged: counts the new status events into the ledger (atomic write).
pub fn record(state: &Path, events: &[Envelope], now: Timestamp) -> std::io::Result<usize> {
    if !events
        .iter()
        .any(|e| matches!(e.event, Event::Status { .. }))
    {
        return Ok(0);
    }
    let mut ledger = Ledger::load(state)?;
    let new = ledger.count(events);
    if new > 0 {
        ledger.prune(now);
        ledger.save(state)?;
    }
    Ok(new)
}
