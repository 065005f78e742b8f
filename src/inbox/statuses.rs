//! Delivery status webhooks on the batch side: resolving uncertain journal entries and keeping a
//! record of failures.
//!
//! A status carries our `biz_opaque_callback_data` (`m=<message key>;s=<subscriber id>;a=<n>`,
//! see `delivery::correlation`). A `sent`/`delivered`/`read` status for a delivery the
//! journal holds as uncertain (killed mid-request, or no answer) records it as `sent`, so
//! `--resend-uncertain` is not needed for it; a `failed` status for such a delivery records it as
//! failed. Every `failed` status is kept in `subscribers/inbox/statuses.jsonl` (ids and codes only).
//!
//! [`record_batch`] is what `aushang inbox pull` calls: the above, plus learning BSUIDs from
//! statuses, template state changes (`inbox::templates`) and marking subscribers that fail
//! with 131026 repeatedly `unreachable` (`inbox::undeliverable`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::events::{Envelope, Event};
use crate::config::Config;
use crate::delivery::correlation::parse_correlation;
use crate::delivery::journal::{DeliveryLine, DeliveryState, FailureClass, Journal, journal_dir};
use crate::providers::whatsapp::templates::TemplateBook;
use crate::subscribers::SubscriberList;

pub const STATUSES_FILE: &str = "statuses.jsonl";
/// Failures with this code for the same subscriber, counted as "repeatedly undeliverable".
pub const UNDELIVERABLE: i64 = 131026;

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
    /// `(subscriber id, masked address)` marked `unreachable` by this pull.
    pub unreachable: Vec<(String, String)>,
    /// Subscribers whose business-scoped user id was learned from a status.
    pub bsuids_learned: usize,
    /// Template changes applied to `subscribers/inbox/templates.json`.
    pub template_changes: usize,
    /// Loud lines about the configured templates (paused, disabled, re-categorised…).
    pub template_alerts: Vec<String>,
}

impl StatusSummary {
    /// Adds the counts of a later page of the same pull.
    pub fn merge(&mut self, s: StatusSummary) {
        for (k, v) in s.by_status {
            *self.by_status.entry(k).or_default() += v;
        }
        self.resolved += s.resolved;
        self.failures_recorded += s.failures_recorded;
        self.unreachable.extend(s.unreachable);
        self.bsuids_learned += s.bsuids_learned;
        self.template_changes += s.template_changes;
        if !s.template_alerts.is_empty() {
            self.template_alerts = s.template_alerts;
        }
    }

    /// The lines `aushang inbox pull` prints after the status counts; the template alerts are
    /// shouted, since the next broadcast will stop on them.
    pub fn report_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (id, masked) in &self.unreachable {
            out.push(format!(
                "  {id} ({masked}): jetzt nicht erreichbar (131026 bei mehreren Bekanntmachungen \
                 nacheinander); bekommt nichts, bis START geschrieben wird"
            ));
        }
        if self.bsuids_learned > 0 {
            out.push(format!(
                "  {} geschäftsbezogene Nutzer-ID(s) (BSUID) gelernt",
                self.bsuids_learned
            ));
        }
        if self.template_changes > 0 {
            out.push(format!(
                "  {} Vorlagen-Änderung(en) in subscribers/inbox/templates.json festgehalten",
                self.template_changes
            ));
        }
        for a in &self.template_alerts {
            out.push(format!("WARNUNG: {a}"));
        }
        out
    }
}

/// Records the status events among `events` (already decrypted) under the state directory `root`.
pub fn record(root: &Path, events: &[Envelope]) -> std::io::Result<StatusSummary> {
    let mut summary = StatusSummary::default();
    let statuses: Vec<&Envelope> = events
        .iter()
        .filter(|e| matches!(e.event, Event::Status { .. }))
        .collect();
    if statuses.is_empty() {
        return Ok(summary);
    }
    let path = crate::subscribers::records_dir(root).join(STATUSES_FILE);
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
    let mut logs: HashMap<String, crate::delivery::journal::DeliveryLog> = HashMap::new();
    for e in statuses {
        let Event::Status {
            at,
            message_id,
            status,
            correlation,
            error_codes,
            ..
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
                    run: None,
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
    Ok(summary)
}

/// Everything a pull does with the non-subscriber events of one page, before the list is
/// saved: [`record`], BSUIDs from statuses, template states, and `unreachable` marking (which
/// changes `list`). Idempotent: the same events again change nothing.
pub fn record_batch(
    config: &Config,
    events: &[Envelope],
    list: &mut SubscriberList,
    now: Timestamp,
) -> std::io::Result<StatusSummary> {
    let root = &config.subscribers_dir();
    let mut summary = record(root, events)?;
    super::reach_ledger::record(root, events, now)?;
    for e in events {
        if let Event::Status {
            correlation: Some(c),
            bsuid: Some(b),
            ..
        } = &e.event
            && let Some((_, sub, _)) = parse_correlation(c)
            && super::apply::learn_bsuid(list, &sub, b)
        {
            summary.bsuids_learned += 1;
        }
    }
    if events
        .iter()
        .any(|e| matches!(e.event, Event::Template { .. }))
    {
        let mut book = TemplateBook::load(root).map_err(std::io::Error::other)?;
        if book.apply(events) {
            summary.template_changes = events
                .iter()
                .filter(|e| matches!(e.event, Event::Template { .. }))
                .count();
            book.save(root)?;
        }
    }
    summary.template_alerts = crate::providers::whatsapp::templates::alerts(config);
    let threshold = config.inbox.as_ref().map_or(3, |i| i.unreachable_after);
    let r = super::undeliverable::update(root, events, list, threshold, now)?;
    summary.unreachable = r.marked;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                run: None,
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
                correlation: Some(crate::delivery::correlation::correlation(msg, sub, 1)),
                error_codes: codes,
                bsuid: None,
                pricing: None,
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
