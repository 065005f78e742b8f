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
use std::collections::btree_map::Entry;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::delivery::correlation::parse_correlation;
use crate::inbox::events::{Envelope, Event, status_id};

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
    crate::subscribers::records_dir(state).join(LEDGER_FILE)
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
                        if let Entry::Vacant(v) = self.seen.entry(delivered) {
                            v.insert(day);
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
                if let Entry::Vacant(v) = self.seen.entry(priced) {
                    v.insert(day);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::payload::parse;
    use crate::inbox::webhook::Keywords;

    /// A status webhook as in the API notes §5.5, with or without `pricing`.
    fn webhook(wamid: &str, status: &str, pricing: &str, extra: &str) -> String {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"41445551234","phone_number_id":"42"}},"statuses":[{{"id":"{wamid}","status":"{status}","timestamp":"1764325012","recipient_id":"41791234567","biz_opaque_callback_data":"m=/bekanntmachungen/2026/x/#notice;s=s_00000000000000aa;a=1"{pricing}{extra}}}]}}}}]}}]}}"#
        )
    }

    const BILLED: &str = r#","pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"utility"}"#;
    const FREE: &str = r#","pricing":{"billable":false,"pricing_model":"PMP","type":"free_customer_service","category":"service"}"#;

    fn events(bodies: &[String]) -> Vec<Envelope> {
        let keywords = Keywords {
            stop: vec!["stop".into()],
            start: vec!["start".into()],
        };
        bodies
            .iter()
            .flat_map(|b| {
                parse(b.as_bytes(), "42", &keywords, Timestamp::now())
                    .unwrap()
                    .events
            })
            .collect()
    }

    #[test]
    fn pricing_is_parsed_counted_once_per_message_and_never_twice() {
        let evs = events(&[
            // pricing on sent, delivered and read of the same message: billed once
            webhook("wamid.A", "sent", BILLED, ""),
            webhook("wamid.A", "delivered", BILLED, ""),
            webhook("wamid.A", "read", BILLED, ""),
            // read before (instead of) delivered: delivered too
            webhook("wamid.B", "read", BILLED, ""),
            webhook("wamid.C", "delivered", FREE, ""),
            webhook(
                "wamid.D",
                "failed",
                "",
                r#","errors":[{"code":131049,"title":"x"}]"#,
            ),
        ]);
        match &evs[1].event {
            Event::Status { pricing, .. } => {
                let p = pricing.as_ref().expect("pricing parsed");
                assert!(p.is_billed() && p.category == "utility" && p.pricing_model == "PMP");
            }
            other => panic!("{other:?}"),
        }
        let mut ledger = Ledger::default();
        assert_eq!(ledger.count(&evs), 6);
        let c = &ledger.messages["/bekanntmachungen/2026/x/#notice"];
        assert_eq!((c.delivered, c.read), (3, 2));
        assert_eq!(c.billable, BTreeMap::from([("utility".to_string(), 2)]));
        assert_eq!(c.free, BTreeMap::from([("service".to_string(), 1)]));
        assert_eq!(c.failed, BTreeMap::from([(131049, 1)]));
        let before = ledger.clone();
        assert_eq!(ledger.count(&evs), 0, "the same events again count nothing");
        // B's late `delivered` was already counted with its `read`.
        assert_eq!(
            ledger.count(&events(&[webhook("wamid.B", "delivered", BILLED, "")])),
            0
        );
        assert_eq!(ledger, before);
    }

    #[test]
    fn statuses_without_our_data_count_per_month_and_old_ids_are_pruned() {
        let body = webhook("wamid.Z", "delivered", BILLED, "").replace(
            r#","biz_opaque_callback_data":"m=/bekanntmachungen/2026/x/#notice;s=s_00000000000000aa;a=1""#,
            "",
        );
        let mut ledger = Ledger::default();
        ledger.count(&events(&[body]));
        // 1764325012 is 28 November 2025
        assert_eq!(
            ledger.messages["-@2025-11"].billable,
            BTreeMap::from([("utility".to_string(), 1)])
        );
        assert_eq!(ledger.seen.len(), 2, "the status and its pricing");
        ledger.prune("2026-01-26T00:00:00Z".parse().unwrap());
        assert_eq!(ledger.seen.len(), 2, "59 days: kept");
        ledger.prune("2026-01-28T00:00:00Z".parse().unwrap());
        assert!(ledger.seen.is_empty());
    }
}
