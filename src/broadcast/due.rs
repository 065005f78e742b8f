//! The secret-free due check of the scheduled workflow (`aushang broadcast --due`): from the
//! content and the journal alone (no list, no key, no token), whether a broadcast run has work and
//! whether the site changed since the last deploy. See `docs/exactly-once.md`.

use std::fmt::Write as _;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};

use crate::broadcast::claim::real_guards;
use crate::broadcast::plan::{Decision, plan};
use crate::config::Config;
use crate::content::Notice;
use crate::delivery::journal::{IndexEvent, IndexLine, Journal, journal_dir};

/// What the secret-free due check found.
#[derive(Debug, Default, Clone)]
pub struct DueReport {
    /// `(key, why)` of each message a broadcast run would claim now.
    pub due: Vec<(String, String)>,
    /// `(key, why)` of each open message that does not need a run now.
    pub waiting: Vec<(String, String)>,
    /// With `--site-since`: the notices whose publishing state changed since then (a
    /// `publish_at`, `expires` or update date passed), so the site needs a new deploy.
    pub site_changes: Option<Vec<String>>,
}

impl DueReport {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (key, why) in &self.due {
            let _ = writeln!(out, "fällig: {key} ({why})");
        }
        for (key, why) in &self.waiting {
            let _ = writeln!(out, "wartet: {key} ({why})");
        }
        let _ = writeln!(out, "due={}", !self.due.is_empty());
        if let Some(changes) = &self.site_changes {
            for path in changes {
                let _ = writeln!(out, "Änderung der Website: {path}");
            }
            let _ = writeln!(out, "site_due={}", !changes.is_empty());
        }
        out
    }
}

/// `aushang broadcast --due`: whether a broadcast run has anything to do, from the content and
/// the journal alone (no list, no key, no token), so the scheduled workflow asks for a
/// broadcast approval only then. A message counts as due unless it is waiting on uncertain
/// deliveries only (its last claim found nothing else and some are still unknown) or the daily
/// limit is used up.
pub fn due(config: &Config, notices: &[Notice], now: Timestamp) -> anyhow::Result<DueReport> {
    let journal = Journal::open(&journal_dir(&config.subscribers_dir()))
        .context("das Journal lässt sich nicht lesen")?;
    let index = journal.index_lines();
    let mut report = DueReport::default();
    // Every configured real channel has its own journal entries: due on any one means a run.
    for channel in crate::broadcast::run::real_channels(config) {
        let daily_limit = match channel {
            "whatsapp" => config
                .broadcast
                .channels
                .whatsapp
                .as_ref()
                .and_then(|w| w.daily_limit),
            _ => None,
        };
        let planned = plan(config, notices, &journal, channel, now, real_guards());
        let budget = match channel {
            "whatsapp" => crate::broadcast::budget::Guard::load(config, &journal, &planned, now)?,
            _ => None,
        };
        let limit_reached = match daily_limit {
            Some(limit) => {
                let since = now
                    .checked_sub(SignedDuration::from_hours(24))
                    .unwrap_or(now);
                journal.recipients_since(channel, since)?.len() >= limit as usize
            }
            None => false,
        };
        for p in &planned {
            let key = format!("{} [{channel}]", p.message.key);
            if p.decision != Decision::Due {
                report.waiting.push((key, p.decision.label().into()));
            } else if waits_on_uncertain(&index, &p.message.key, channel)
                && any_uncertain(&journal, p.message.keys(), channel)?
            {
                report
                    .waiting
                    .push((key, "wartet auf die Klärung unsicherer Zustellungen".into()));
            } else if let Some(why) = budget.as_ref().and_then(|g| g.refusal(&p.message)) {
                // Uncertain deliveries come before the budget: the claim must run once to stop
                // the pipeline for a person's decision (it then records `waiting`, see above).
                if any_uncertain(&journal, p.message.keys(), channel)? {
                    report
                        .due
                        .push((key, "unsichere Zustellungen zu klären".into()));
                } else {
                    report
                        .waiting
                        .push((key, format!("Budget erreicht: {why}")));
                }
            } else if limit_reached {
                report
                    .waiting
                    .push((key, "Tageslimit für Nachrichten erreicht".into()));
            } else if journal.started_at(&p.message.key, channel).is_some() {
                report
                    .due
                    .push((key, "begonnen, nicht abgeschlossen".into()));
            } else {
                report.due.push((key, "neu".into()));
            }
        }
    }
    Ok(report)
}

/// Notices whose publishing state changed in `(since, now]`: published (`publish_at`), expired
/// (`expires`) or updated (an update's date). Drafts never change the site.
pub fn site_changes(notices: &[Notice], since: Timestamp, now: Timestamp) -> Vec<String> {
    let passed = |t: Option<Timestamp>| t.is_some_and(|t| since < t && t <= now);
    notices
        .iter()
        .filter(|n| !n.draft)
        .filter(|n| {
            passed(n.publish_at)
                || passed(n.expires)
                || n.updates.iter().any(|u| passed(Some(u.date)))
        })
        .map(|n| n.path.clone())
        .collect()
}

/// Whether any delivery of the message still has an unknown outcome (status webhooks or an
/// `accept` may have settled them all since the message started waiting).
fn any_uncertain<'k>(
    journal: &Journal,
    keys: impl IntoIterator<Item = &'k str>,
    channel: &str,
) -> std::io::Result<bool> {
    let mut log = crate::delivery::journal::DeliveryLog::default();
    for key in keys {
        log.last.extend(journal.deliveries(key, channel)?.last);
    }
    Ok(log.last.keys().any(|sub| log.is_uncertain(sub)))
}

/// Whether the last claim of `key` found only uncertain deliveries left.
fn waits_on_uncertain(index: &[IndexLine], key: &str, channel: &str) -> bool {
    index
        .iter()
        .rfind(|l| {
            l.msg == key
                && l.ch == channel
                && matches!(l.event, IndexEvent::Claimed | IndexEvent::Waiting)
        })
        .is_some_and(|l| l.event == IndexEvent::Waiting)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "2026-11-28T11:00:00Z";

    #[test]
    fn a_message_waits_only_while_its_last_claim_found_nothing_but_uncertain_ones() {
        let at = |event| IndexLine {
            t: T.parse().unwrap(),
            msg: "/n/".into(),
            ch: "whatsapp".into(),
            event,
        };
        let waits = |events: &[IndexEvent]| {
            let index: Vec<IndexLine> = events.iter().map(|&e| at(e)).collect();
            waits_on_uncertain(&index, "/n/", "whatsapp")
        };
        assert!(!waits(&[]));
        assert!(!waits(&[IndexEvent::Started, IndexEvent::Claimed]));
        assert!(waits(&[IndexEvent::Claimed, IndexEvent::Waiting]));
        assert!(waits(&[IndexEvent::Waiting, IndexEvent::Started]));
        assert!(!waits(&[IndexEvent::Waiting, IndexEvent::Claimed]));
    }
}
