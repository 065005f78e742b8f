//! Write-ahead for the pipeline: before a run sends anything, it claims what it is about to send
//! (`aushang broadcast --claim RUN`), the pipeline pushes the claim to the remote, and only then
//! does `aushang broadcast --run RUN` send — to exactly what that run claimed. A claim by another
//! run with no outcome after it is an unknown outcome (see [`crate::delivery::delivered`]), so a
//! run that died after its claim was pushed is never silently repeated (the due check is in
//! [`crate::broadcast::due`]). Design: `docs/exactly-once.md`.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::{Context, bail};
use jiff::{SignedDuration, Timestamp};

use crate::broadcast::audience::SubscriberSource;
use crate::broadcast::plan::{Decision, Guards, PlannedMessage, plan};
use crate::broadcast::run::{BroadcastOptions, is_recipient};
use crate::config::Config;
use crate::content::Notice;
use crate::delivery::journal::{
    DeliveryLine, DeliveryState, IdSet, IndexEvent, Journal, journal_dir,
};
use crate::lock::SiteLock;
use crate::providers::select::choose_deliverer;
use crate::subscribers::Subscriber;

/// What one message's claim found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClaimedMessage {
    pub key: String,
    pub title: String,
    /// Newly claimed by this run (or claimed by it before and not yet sent).
    pub claimed: usize,
    /// Already sent or failed for good.
    pub skipped: usize,
    /// Unknown outcome from an earlier run: not claimed without `--resend-uncertain`.
    pub uncertain: usize,
    /// Over the daily messaging limit: left for a later run.
    pub deferred_by_limit: usize,
    /// Over the budget: not claimed, left due for a later run (`budget_reason` says why).
    pub deferred_by_budget: usize,
    pub budget_reason: Option<String>,
}

/// The claim of one run.
#[derive(Debug, Default, Clone)]
pub struct ClaimReport {
    pub run: String,
    pub channel: String,
    pub messages: Vec<ClaimedMessage>,
    /// Due messages, but none of them yet (quiet hours, stale): reported by name.
    pub not_due: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

impl ClaimReport {
    pub fn claimed(&self) -> usize {
        self.messages.iter().map(|m| m.claimed).sum()
    }

    pub fn uncertain(&self) -> usize {
        self.messages.iter().map(|m| m.uncertain).sum()
    }

    pub fn deferred_by_budget(&self) -> usize {
        self.messages.iter().map(|m| m.deferred_by_budget).sum()
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for m in &self.messages {
            let _ = writeln!(out, "{} [claim {}] {}", self.channel, self.run, m.key);
            let _ = writeln!(out, "    {}", m.title);
            let _ = write!(
                out,
                "    übernommen {}, übersprungen {}",
                m.claimed, m.skipped
            );
            if m.uncertain > 0 {
                let _ = write!(
                    out,
                    ", unsicher {} (nicht übernommen: mit --resend-uncertain oder \
                     --accept-uncertain klären)",
                    m.uncertain
                );
            }
            if m.deferred_by_limit > 0 {
                let _ = write!(
                    out,
                    ", wegen Tageslimit zurückgestellt {}",
                    m.deferred_by_limit
                );
            }
            out.push('\n');
            if m.deferred_by_budget > 0 {
                let _ = writeln!(
                    out,
                    "    Budget: {} {}",
                    m.deferred_by_budget,
                    crate::broadcast::budget::deferred_text(m.budget_reason.as_deref(), &m.key)
                );
            }
        }
        for (key, why) in &self.not_due {
            let _ = writeln!(out, "{} [{why}] {key}", self.channel);
        }
        for w in &self.warnings {
            let _ = writeln!(out, "Warnung: {w}");
        }
        let _ = writeln!(
            out,
            "{} Zustellungen für den Lauf {} übernommen",
            self.claimed(),
            self.run
        );
        out
    }
}

/// Checks that a run id is safe to write into the journal and a commit message.
pub fn check_run_id(run: &str) -> anyhow::Result<()> {
    let ok = !run.is_empty()
        && run.len() <= 100
        && run
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!(
            "Lauf-Kennung `{run}`: 1 bis 100 Buchstaben, Ziffern, `-`, `_` oder `.` verwenden (z. B. \
             run id und attempt des Workflows)"
        );
    }
    Ok(())
}

/// `aushang broadcast --claim RUN`: plans, and writes a `claimed` line per subscriber this run is
/// to send each due message to (ids only). Sends nothing; needs the list's key.
pub fn claim(
    config: &Config,
    notices: &[Notice],
    opts: &BroadcastOptions,
    run: &str,
) -> anyhow::Result<ClaimReport> {
    check_run_id(run)?;
    let _lock = SiteLock::acquire(&config.root)?;
    let (deliverer, fallback) = choose_deliverer(config, opts.channel.as_deref(), &opts.secrets)?;
    if !deliverer.is_real() {
        bail!(
            "--claim ist für einen echten Kanal (sein Journal wird committet); dieser Lauf würde \
             in den lokalen Ordner outbox/ zustellen{}",
            fallback.map(|w| format!(" ({w})")).unwrap_or_default()
        );
    }
    let deliverer = Arc::new(deliverer);
    let channel = deliverer.channel_name();
    let journal = Journal::open(&journal_dir(&config.subscribers_dir()))
        .context("das Journal lässt sich nicht lesen")?;
    let planned = plan(config, notices, &journal, channel, opts.now, real_guards());
    let mut report = ClaimReport {
        run: run.into(),
        channel: channel.into(),
        ..ClaimReport::default()
    };
    report.warnings.extend(fallback);
    // `--accept-uncertain`: before claiming, every unknown outcome (another run's claim without
    // outcome included) is recorded as delivered; they are then final and nobody is claimed twice.
    if opts.accept_uncertain {
        let accepted =
            crate::broadcast::accept::accept_uncertain(&journal, &planned, channel, opts.now)?;
        for a in &accepted {
            report.warnings.push(format!(
                "--accept-uncertain: {} unsichere Zustellungen von {} als zugestellt festgehalten (`accepted`), an sie wurde nichts gesendet",
                a.count, a.key
            ));
        }
    }
    let due: Vec<&PlannedMessage> = planned
        .iter()
        .filter(|p| p.decision == Decision::Due)
        .collect();
    report.not_due = planned
        .iter()
        .filter(|p| p.decision != Decision::Due)
        .map(|p| (p.message.key.clone(), p.decision.label().to_string()))
        .collect();
    if due.is_empty() {
        return Ok(report);
    }
    let mut source = match deliverer.public_audience() {
        Some(reader) => SubscriberSource::public(reader),
        None => SubscriberSource::open(config, true)?,
    };
    let messages: Vec<_> = due.iter().map(|p| &p.message).collect();
    source
        .census(&messages, |s, m| is_recipient(&deliverer, s, m))
        .context("die Abonnentenliste ist nicht verwendbar; nichts wurde übernommen")?;
    // This channel's own limit (only WhatsApp has one), never another channel's.
    let (_, _, daily_limit) = deliverer.pacing();
    let since = opts
        .now
        .checked_sub(SignedDuration::from_hours(24))
        .unwrap_or(opts.now);
    let mut recent = match daily_limit {
        Some(_) => journal.recipients_since(channel, since)?,
        None => IdSet::default(),
    };
    let mut capacity = daily_limit.map(|l| (l as usize).saturating_sub(recent.len()));
    // The budget guard (WhatsApp only: the other channels cost nothing per message).
    let mut budget = match channel {
        "whatsapp" => crate::broadcast::budget::Guard::load(config, &journal, &planned, opts.now)?,
        _ => None,
    };
    for p in due {
        let message = &p.message;
        let states = journal.delivery_states_for(message.keys(), channel, Some(run))?;
        let mut entry = ClaimedMessage {
            key: message.key.clone(),
            title: message.title.clone(),
            ..ClaimedMessage::default()
        };
        // Held back without a journal line: counted for the reach (no ids).
        let mut held = crate::delivery::held_back::HeldBack {
            t: opts.now,
            run: Some(run.into()),
            msg: message.key.clone(),
            ch: channel.into(),
            by_limit: 0,
            by_budget: 0,
        };
        let wants = {
            let deliverer = deliverer.clone();
            let message = message.clone();
            move |s: &Subscriber| is_recipient(&deliverer, s, &message)
        };
        for row in source.recipients(wants) {
            let sub = row
                .context("die Abonnentenliste ließ sich nicht weiterlesen; Lauf fehlgeschlagen")?;
            if states.is_final(&sub.id) {
                entry.skipped += 1;
            } else if states.is_claimed(&sub.id) {
                entry.claimed += 1;
            } else if states.is_uncertain(&sub.id) && !opts.resend_uncertain {
                entry.uncertain += 1;
            } else if let Some(why) = budget.as_ref().and_then(|g| g.refusal(message)) {
                entry.deferred_by_budget += 1;
                entry.budget_reason.get_or_insert(why);
                held.by_budget += u64::from(!states.knows(&sub.id));
            } else if !within_limit(&mut capacity, &mut recent, &sub.id) {
                entry.deferred_by_limit += 1;
                held.by_limit += u64::from(!states.knows(&sub.id));
            } else {
                if let Some(g) = budget.as_mut() {
                    g.take(message);
                }
                journal.record(
                    &message.key,
                    channel,
                    &DeliveryLine {
                        run: Some(run.into()),
                        ..DeliveryLine::marker(opts.now, &sub.id, DeliveryState::Claimed)
                    },
                )?;
                entry.claimed += 1;
            }
        }
        if entry.claimed > 0 {
            if journal.started_at(&message.key, channel).is_none() {
                journal.record_index(&message.key, channel, IndexEvent::Started, opts.now)?;
            }
            journal.record_index(&message.key, channel, IndexEvent::Claimed, opts.now)?;
        } else if entry.uncertain > 0 {
            // Nothing claimed, uncertain ones left: the notice waits for a person's decision,
            // whatever the budget or the daily limit deferred besides (the due check waits too).
            journal.record_index(&message.key, channel, IndexEvent::Waiting, opts.now)?;
        } else if entry.uncertain == 0 && entry.deferred_by_limit + entry.deferred_by_budget == 0 {
            // Everyone has it (e.g. uncertain ones resolved by statuses or accepted).
            if journal.started_at(&message.key, channel).is_none() {
                journal.record_index(&message.key, channel, IndexEvent::Started, opts.now)?;
            }
            journal.record_index(&message.key, channel, IndexEvent::Completed, opts.now)?;
        }
        crate::delivery::held_back::record(&journal_dir(&config.subscribers_dir()), &held)?;
        report.messages.push(entry);
    }
    journal.sync()?;
    Ok(report)
}

/// The exit status of `broadcast --claim` (one channel or all): 0 something claimed, 3 nothing
/// due, 4 nothing claimed but uncertain deliveries wait, 5 the budget deferred someone.
/// 4 goes before 5: an unknown outcome needs a person's decision (`--resend-uncertain` or
/// `--accept-uncertain`, docs/exactly-once.md) before anything more goes out, so
/// `scripts/pipeline claim-send` must stop on it, not carry on as for a reached budget.
pub fn exit_status(claimed: usize, uncertain: usize, over_budget: bool) -> u8 {
    match (claimed, uncertain) {
        (0, u) if u > 0 => 4,
        _ if over_budget => 5,
        (0, _) => 3,
        _ => 0,
    }
}

fn within_limit(capacity: &mut Option<usize>, recent: &mut IdSet, id: &str) -> bool {
    let Some(capacity) = capacity else {
        return true;
    };
    if recent.contains(id) {
        true
    } else if *capacity > 0 {
        *capacity -= 1;
        recent.insert(id);
        true
    } else {
        false
    }
}

pub(crate) fn real_guards() -> Guards {
    Guards {
        quiet_hours: true,
        staleness: true,
    }
}

/// After `--run RUN`: every subscriber the run claimed but never sent to (the run stopped, a
/// pre-flight failed, the notice stopped being due) gets a `released` line, so the next run
/// sends to them instead of reporting them as uncertain. A `sending` line is written before
/// every request, so a claim that is still the last line means no request went out.
pub fn release_unsent(
    journal: &Journal,
    keys: &[String],
    channel: &str,
    run: &str,
    now: Timestamp,
) -> std::io::Result<usize> {
    let mut released = 0;
    for key in keys {
        let log = journal.deliveries(key, channel)?;
        let mut open: Vec<&DeliveryLine> = log
            .last
            .values()
            .filter(|l| l.state == DeliveryState::Claimed && l.run.as_deref() == Some(run))
            .collect();
        open.sort_by(|a, b| a.sub.cmp(&b.sub));
        for line in open {
            journal.record(
                key,
                channel,
                &DeliveryLine {
                    run: Some(run.into()),
                    ..DeliveryLine::marker(now, &line.sub, DeliveryState::Released)
                },
            )?;
            released += 1;
        }
    }
    journal.sync()?;
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncertain_deliveries_come_before_the_budget_in_the_exit_status() {
        assert_eq!(exit_status(0, 0, false), 3);
        assert_eq!(exit_status(0, 2, false), 4);
        assert_eq!(exit_status(0, 2, true), 4, "a person decides first");
        assert_eq!(exit_status(0, 0, true), 5);
        assert_eq!(exit_status(3, 2, true), 5, "what was claimed is sent");
        assert_eq!(exit_status(3, 0, false), 0);
        assert_eq!(exit_status(3, 2, false), 0);
    }

    const T: &str = "2026-11-28T11:00:00Z";

    fn line(sub: &str, state: DeliveryState, run: Option<&str>) -> DeliveryLine {
        DeliveryLine {
            t: T.parse().unwrap(),
            sub: sub.into(),
            state,
            id: None,
            code: None,
            class: None,
            attempt: Some(1),
            run: run.map(Into::into),
        }
    }

    #[test]
    fn another_runs_claim_without_outcome_is_uncertain_and_a_runs_own_claim_is_to_send() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let key = "/n/#notice";
        for sub in ["s1", "s2", "s3"] {
            j.record(
                key,
                "whatsapp",
                &line(sub, DeliveryState::Claimed, Some("A")),
            )
            .unwrap();
        }
        j.record(key, "whatsapp", &line("s1", DeliveryState::Sent, None))
            .unwrap();
        j.record(
            key,
            "whatsapp",
            &line("s3", DeliveryState::Released, Some("A")),
        )
        .unwrap();
        let seen_by = |run: Option<&str>| j.delivery_states_for([key], "whatsapp", run).unwrap();
        for run in [None, Some("B")] {
            let states = seen_by(run);
            assert!(states.is_final("s1"), "{run:?}");
            assert!(
                states.is_uncertain("s2") && !states.is_claimed("s2"),
                "{run:?}"
            );
            assert!(
                !states.is_uncertain("s3") && !states.is_final("s3"),
                "{run:?}"
            );
        }
        let own = seen_by(Some("A"));
        assert!(own.is_claimed("s2") && !own.is_uncertain("s2"));
        assert!(!own.is_claimed("s3"), "a released claim is not to be sent");
        // A claim counts no attempt: the next request is attempt 2, not 1 again.
        assert_eq!(own.attempts("s2"), 1);
        // Status webhooks resolve claims like any unknown outcome.
        assert!(j.deliveries(key, "whatsapp").unwrap().is_uncertain("s2"));
    }

    #[test]
    fn only_the_runs_own_claims_without_a_request_are_released() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let key = "/n/#notice";
        j.record(
            key,
            "whatsapp",
            &line("s1", DeliveryState::Claimed, Some("A")),
        )
        .unwrap();
        j.record(key, "whatsapp", &line("s1", DeliveryState::Sending, None))
            .unwrap();
        j.record(
            key,
            "whatsapp",
            &line("s2", DeliveryState::Claimed, Some("A")),
        )
        .unwrap();
        j.record(
            key,
            "whatsapp",
            &line("s3", DeliveryState::Claimed, Some("B")),
        )
        .unwrap();
        let now: Timestamp = T.parse().unwrap();
        let n = release_unsent(&j, &[key.to_string()], "whatsapp", "A", now).unwrap();
        assert_eq!(n, 1);
        let states = j.delivery_states_for([key], "whatsapp", None).unwrap();
        assert!(
            states.is_uncertain("s1"),
            "a request went out: still unknown"
        );
        assert!(!states.is_uncertain("s2") && !states.is_final("s2"));
        assert!(states.is_uncertain("s3"), "another run's claim stays");
        assert_eq!(
            release_unsent(&j, &[key.to_string()], "whatsapp", "A", now).unwrap(),
            0
        );
    }

    #[test]
    fn run_ids_are_plain() {
        assert!(check_run_id("gh-123456-1").is_ok());
        for bad in ["", "a b", "x;rm", "a/b", &"x".repeat(101)] {
            assert!(check_run_id(bad).is_err(), "{bad}");
        }
    }
}
