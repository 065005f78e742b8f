//! Confirmation requests (double opt-in): the template `aushang inbox pull` sends to each new web
//! sign-up, and `aushang inbox confirm --resend`, which asks pending sign-ups once more when the
//! first request was lost (a crash before it was sent, a failed delivery, a message overlooked).
//!
//! Sign-ups for a number that is already on the list (active or unreachable) wait in
//! `subscribers/inbox/requests.age` for the person's JA (see [`super::requests`]); a lost request
//! for them is resent under the same limits, counted per subscriber together with any earlier
//! request to that number. A waiting sign-up for an **unsubscribed** number is never resent: that
//! person said STOP, and the pull's single request is all an anonymous web form may cause; they
//! can still confirm by writing START.
//!
//! Never spam: each resend is recorded in `subscribers/inbox/confirmations.jsonl` (subscriber
//! ids, times and outcomes only, no addresses) **before** it is sent, so a crash or a second run
//! cannot send again; a subscriber is asked at most once per `--every` and at most
//! `--max-resends` times.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::apply::AppliedLog;
use crate::config::Config;
use crate::lock::SiteLock;
use crate::providers::whatsapp::{Payload, WhatsAppClient};
use crate::subscribers::records_dir;
use crate::subscribers::{Channel, Identity, Status, Subscriber, SubscriberList, mask};

pub const CONFIRMATIONS_FILE: &str = "confirmations.jsonl";
/// Longer than any pending sign-up lives (`subscribers.prune_pending_after`, 30 days).
const KEEP: SignedDuration = SignedDuration::from_hours(90 * 24);
/// The outcome recorded before a request is sent; it stays if the run dies while sending.
const SENDING: &str = "sending";

/// The confirmation template, as pull and resend send it.
pub fn payload(template: &str, language: &str) -> Payload {
    Payload::Template {
        name: template.to_string(),
        language: language.to_string(),
        body_params: Vec::new(),
        button_suffix: None,
    }
}

/// Sends the confirmation template to one subscriber; the answer is the message id, or the
/// error (which never contains the number).
pub async fn send(
    client: &WhatsAppClient,
    template: &Payload,
    subscriber: &Subscriber,
) -> Result<String, String> {
    client
        .send(
            &subscriber.address,
            template,
            &format!("confirm;s={}", subscriber.id),
        )
        .await
        .map_err(|e| e.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationLine {
    /// When the request was (about to be) sent.
    pub t: Timestamp,
    pub sub: String,
    /// `sending`, `sent <message id>` or `failed: …`.
    pub outcome: String,
}

/// `subscribers/inbox/confirmations.jsonl`: every resent confirmation request.
#[derive(Debug)]
pub struct ConfirmationLog {
    path: PathBuf,
    lines: Vec<ConfirmationLine>,
}

impl ConfirmationLog {
    pub fn load(dir: &Path) -> anyhow::Result<ConfirmationLog> {
        let path = dir.join(CONFIRMATIONS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => bail!("{}: {e}", path.display()),
        };
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            lines.push(
                serde_json::from_str(raw)
                    .with_context(|| format!("{}, line {}", path.display(), i + 1))?,
            );
        }
        Ok(ConfirmationLog { path, lines })
    }

    pub fn lines(&self) -> &[ConfirmationLine] {
        &self.lines
    }

    /// Writes the record atomically, dropping lines older than [`KEEP`].
    fn save(&mut self, now: Timestamp) -> anyhow::Result<()> {
        self.lines.retain(|l| now.duration_since(l.t) < KEEP);
        let mut text = String::new();
        for l in &self.lines {
            text.push_str(&serde_json::to_string(l)?);
            text.push('\n');
        }
        crate::fsutil::write_atomic(&self.path, text.as_bytes())
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

#[derive(Debug, Clone)]
pub struct ResendOptions {
    /// Only sign-ups at least this old, whose last request is at least this old, too.
    pub older_than: SignedDuration,
    /// At most one request per subscriber in this period.
    pub every: SignedDuration,
    /// Resends per subscriber, ever (the first request from the pull not counted).
    pub max_resends: usize,
    /// `None`: report who is due, send nothing.
    pub whatsapp_token: Option<String>,
    pub dry_run: bool,
    pub now: Timestamp,
}

#[derive(Debug, Default)]
pub struct ResendReport {
    pub pending: usize,
    /// Sign-ups for numbers already on the list, waiting for the person's JA
    /// (`subscribers/inbox/requests.age`); asked again under the same limits as pending rows.
    pub waiting: usize,
    /// Of those, requests for unsubscribed numbers: never asked again (see the module docs).
    pub unsubscribed: usize,
    /// (subscriber id, masked address, outcome) of each subscriber asked (or due, in a dry run).
    pub asked: Vec<(String, String, String)>,
    /// Asked within `every`, or the sign-up is younger than `older_than`.
    pub too_recent: usize,
    pub max_reached: usize,
    /// About to be pruned (older than `prune_pending_after`): asking again makes no sense.
    pub expiring: usize,
    pub notes: Vec<String>,
}

impl ResendReport {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let waiting = if self.waiting > 0 {
            format!(
                " und {} Anmeldung(en) für schon eingetragene Nummern",
                self.waiting
            )
        } else {
            String::new()
        };
        let unsubscribed = if self.unsubscribed > 0 {
            format!(
                ", {} von abgemeldeten Nummern (sie bestätigen, indem sie START schreiben)",
                self.unsubscribed
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "Bestätigungsanfragen: {} unbestätigte Anmeldung(en){waiting}, {} erneut gefragt; nicht gefragt: {} zu frisch, {} schon so oft wie erlaubt gefragt, {} werden bald gelöscht{unsubscribed}",
            self.pending,
            self.asked.len(),
            self.too_recent,
            self.max_reached,
            self.expiring
        );
        for (id, masked, outcome) in &self.asked {
            let outcome = super::outcome_text::outcome(outcome);
            let _ = writeln!(out, "  {id} ({masked}): {outcome}");
        }
        for n in &self.notes {
            let _ = writeln!(out, "Hinweis: {n}");
        }
        out
    }

    pub fn failed(&self) -> usize {
        self.asked
            .iter()
            .filter(|(_, _, o)| o.starts_with("failed"))
            .count()
    }
}

/// The pull's first confirmation requests to one subscriber within [`PULL_ASKS_PERIOD`]: a fake
/// sign-up a day for a listed number must not become a daily message to that person.
pub const PULL_ASKS_PER_PERIOD: usize = 3;
pub const PULL_ASKS_PERIOD: SignedDuration = SignedDuration::from_hours(30 * 24);

/// Whether the pull may send `sub` a confirmation request now (`applied.jsonl` records each one
/// it sent): not within 24 h of the last, and at most [`PULL_ASKS_PER_PERIOD`] per
/// [`PULL_ASKS_PERIOD`]. `Err` says why not.
pub fn pull_may_ask(log: &AppliedLog, sub: &str, now: Timestamp) -> Result<(), &'static str> {
    let sent: Vec<Timestamp> = log
        .lines()
        .iter()
        .filter(|l| {
            l.kind == "confirmation"
                && l.sub.as_deref() == Some(sub)
                && l.outcome.starts_with("confirmation sent")
        })
        .map(|l| l.t)
        .collect();
    if sent
        .iter()
        .any(|t| now.duration_since(*t) < SignedDuration::from_hours(24))
    {
        return Err("eine ging in den letzten 24 Stunden hinaus");
    }
    if sent
        .iter()
        .filter(|t| now.duration_since(**t) < PULL_ASKS_PERIOD)
        .count()
        >= PULL_ASKS_PER_PERIOD
    {
        return Err(
            "3 gingen in den letzten 30 Tagen hinaus (bestätigen geht weiterhin mit START)",
        );
    }
    Ok(())
}

/// When each subscriber was asked: the pull's first requests (`applied.jsonl`, kind
/// `confirmation`) and the resends.
fn history(applied: &AppliedLog, log: &ConfirmationLog) -> HashMap<String, (Timestamp, usize)> {
    let mut last: HashMap<String, (Timestamp, usize)> = HashMap::new();
    for l in applied.lines().iter().filter(|l| l.kind == "confirmation") {
        if let Some(sub) = &l.sub {
            let e = last.entry(sub.clone()).or_insert((l.t, 0));
            e.0 = e.0.max(l.t);
        }
    }
    for l in log.lines() {
        let e = last.entry(l.sub.clone()).or_insert((l.t, 0));
        e.0 = e.0.max(l.t);
        e.1 += 1;
    }
    last
}

/// Asks pending web sign-ups again (see the module docs). Blocking; takes the site lock.
pub fn resend(
    config: &Config,
    identity: &Identity,
    opts: &ResendOptions,
) -> anyhow::Result<ResendReport> {
    let Some(template) = config
        .inbox
        .as_ref()
        .and_then(|i| i.confirmation_template.clone())
    else {
        bail!(
            "inbox.confirmation_template ist in aushang.yaml nicht gesetzt: unbestätigte Anmeldungen bestätigen mit START, es gibt nichts erneut zu senden"
        );
    };
    let Some(whatsapp) = config.broadcast.channels.whatsapp.clone() else {
        bail!(
            "Bestätigungsanfragen gehen über WhatsApp hinaus, aber aushang.yaml hat kein broadcast.channels.whatsapp"
        );
    };
    let _lock = SiteLock::acquire(&config.root)?;
    let list = SubscriberList::load(&config.subscribers_dir(), identity)?;
    let records = records_dir(&config.subscribers_dir());
    let applied = AppliedLog::load(&records).map_err(anyhow::Error::msg)?;
    let mut log = ConfirmationLog::load(&records)?;
    let asked_before = history(&applied, &log);
    let mut report = ResendReport::default();
    // Sign-ups for numbers already on the list wait in `requests.age` for the person's JA; their
    // row is not pending, so they are found here (the newest request per subscriber).
    let requests = super::requests::Requests::load(&records, identity)?;
    let waiting: HashMap<&str, Timestamp> = requests
        .items()
        .iter()
        .map(|r| (r.sub.as_str(), r.at))
        .collect();
    let mut due: Vec<&Subscriber> = Vec::new();
    for s in list.subscribers() {
        if s.channel != Channel::WhatsApp {
            continue;
        }
        let signed_up = match (s.status, waiting.get(s.id.as_str())) {
            (Status::Pending, _) => {
                report.pending += 1;
                s.consent_at.unwrap_or(opts.now)
            }
            // They said STOP: the pull's one request is all an anonymous form earns; they can
            // still confirm by writing START.
            (Status::Unsubscribed, Some(_)) => {
                report.waiting += 1;
                report.unsubscribed += 1;
                continue;
            }
            (_, Some(&at)) => {
                report.waiting += 1;
                at
            }
            (_, None) => continue,
        };
        if opts.now.duration_since(signed_up) >= config.subscribers.prune_pending_after {
            report.expiring += 1;
            continue;
        }
        let waited = match asked_before.get(&s.id) {
            Some(&(_, resends)) if resends >= opts.max_resends => {
                report.max_reached += 1;
                continue;
            }
            // Asked before: not again within `every`.
            Some(&(last, _)) => opts.now.duration_since(last) >= opts.every.max(opts.older_than),
            // Never asked (the request was lost before it was sent): once the sign-up is old enough.
            None => opts.now.duration_since(signed_up) >= opts.older_than,
        };
        if !waited {
            report.too_recent += 1;
            continue;
        }
        due.push(s);
    }
    if due.is_empty() {
        return Ok(report);
    }
    // A paused confirmation template is the admin's matter (pull warns loudly); it must not fail
    // the pipeline step and hold back the broadcast of notices.
    if let Some(why) = crate::providers::whatsapp::templates::confirmation_refusal(config) {
        report.notes.push(format!(
            "keine Bestätigungsanfrage an {} unbestätigte Anmeldung(en): {why}",
            due.len()
        ));
        return Ok(report);
    }
    let token = match (&opts.whatsapp_token, opts.dry_run) {
        (_, true) => None,
        (Some(t), false) => Some(t.clone()),
        (None, false) => {
            report.notes.push(format!(
                "{} ist nicht gesetzt: nichts an {} unbestätigte Anmeldung(en) gesendet",
                crate::providers::whatsapp::TOKEN_ENV,
                due.len()
            ));
            None
        }
    };
    let Some(token) = token else {
        let what = if opts.dry_run {
            "fällig (Probelauf: nicht gesendet)"
        } else {
            "fällig, nicht gesendet"
        };
        report.asked = due
            .iter()
            .map(|s| (s.id.clone(), s.masked_address(), what.to_string()))
            .collect();
        return Ok(report);
    };
    let client = WhatsAppClient::new(&whatsapp.api_url, &whatsapp.phone_number_id, token)
        .map_err(|e| anyhow::anyhow!("der WhatsApp-Zugang lässt sich nicht einrichten: {e}"))?;
    // Recorded first: if this run dies while sending, the next one finds `sending` and waits
    // `every` instead of asking again at once.
    log.lines.extend(due.iter().map(|s| ConfirmationLine {
        t: opts.now,
        sub: s.id.clone(),
        outcome: SENDING.into(),
    }));
    log.save(opts.now)?;
    // Saving keeps the order and drops only old lines, so this run's lines are the last ones.
    let first = log.lines.len() - due.len();
    let payload = payload(&template, &whatsapp.template.language);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcomes: Vec<String> = runtime.block_on(async {
        let mut out = Vec::with_capacity(due.len());
        for s in &due {
            out.push(match send(&client, &payload, s).await {
                Ok(wamid) => format!("sent {wamid}"),
                Err(e) => format!("failed: {e}"),
            });
        }
        out
    });
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let line = &mut log.lines[first + i];
        line.outcome = outcome.clone();
        report
            .asked
            .push((line.sub.clone(), mask(&due[i].address), outcome));
    }
    log.save(opts.now)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::apply::AppliedLine;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn history_counts_resends_not_the_first_request_and_keeps_the_latest_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut applied = AppliedLog::load(dir.path()).unwrap();
        applied.push(AppliedLine {
            t: at("2026-11-01T10:00:00Z"),
            id: "confirm-e1".into(),
            at: at("2026-11-01T10:00:00Z"),
            kind: "confirmation".into(),
            outcome: "confirmation sent (wamid.1)".into(),
            sub: Some("s_a".into()),
        });
        applied.push(AppliedLine {
            t: at("2026-11-01T10:00:00Z"),
            id: "e1".into(),
            at: at("2026-11-01T10:00:00Z"),
            kind: "signup".into(),
            outcome: "pending".into(),
            sub: Some("s_b".into()),
        });
        let log = ConfirmationLog {
            path: dir.path().join(CONFIRMATIONS_FILE),
            lines: vec![
                ConfirmationLine {
                    t: at("2026-11-08T10:00:00Z"),
                    sub: "s_a".into(),
                    outcome: SENDING.into(),
                },
                ConfirmationLine {
                    t: at("2026-11-03T10:00:00Z"),
                    sub: "s_c".into(),
                    outcome: "sent wamid.2".into(),
                },
            ],
        };
        let h = history(&applied, &log);
        assert_eq!(h["s_a"], (at("2026-11-08T10:00:00Z"), 1));
        assert_eq!(h["s_c"], (at("2026-11-03T10:00:00Z"), 1));
        assert!(!h.contains_key("s_b"), "a sign-up is not a request");
    }

    #[test]
    fn the_pull_asks_one_number_once_a_day_and_three_times_a_month_at_most() {
        let dir = tempfile::tempdir().unwrap();
        let mut applied = AppliedLog::load(dir.path()).unwrap();
        let sent = |t: &str, outcome: &str| AppliedLine {
            t: at(t),
            id: format!("confirm-{t}"),
            at: at(t),
            kind: "confirmation".into(),
            outcome: outcome.into(),
            sub: Some("s_a".into()),
        };
        assert!(pull_may_ask(&applied, "s_a", at("2026-11-01T10:00:00Z")).is_ok());
        applied.push(sent("2026-11-01T10:00:00Z", "confirmation sent (wamid.1)"));
        assert!(pull_may_ask(&applied, "s_a", at("2026-11-02T09:00:00Z")).is_err());
        assert!(pull_may_ask(&applied, "s_b", at("2026-11-02T09:00:00Z")).is_ok());
        applied.push(sent("2026-11-02T10:00:00Z", "confirmation sent (wamid.2)"));
        applied.push(sent("2026-11-03T10:00:00Z", "confirmation failed: x"));
        assert!(pull_may_ask(&applied, "s_a", at("2026-11-04T10:00:00Z")).is_ok());
        applied.push(sent("2026-11-04T10:00:00Z", "confirmation sent (wamid.3)"));
        let err = pull_may_ask(&applied, "s_a", at("2026-11-10T10:00:00Z")).unwrap_err();
        assert!(err.contains("30 Tagen"), "{err}");
        // A month after the first, one more.
        assert!(pull_may_ask(&applied, "s_a", at("2026-12-01T10:00:01Z")).is_ok());
    }

    #[test]
    fn the_record_round_trips_and_forgets_old_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = ConfirmationLog::load(dir.path()).unwrap();
        log.lines.push(ConfirmationLine {
            t: at("2026-01-01T00:00:00Z"),
            sub: "s_old".into(),
            outcome: "sent wamid.1".into(),
        });
        log.lines.push(ConfirmationLine {
            t: at("2026-11-01T00:00:00Z"),
            sub: "s_new".into(),
            outcome: "failed: x".into(),
        });
        log.save(at("2026-11-28T00:00:00Z")).unwrap();
        let again = ConfirmationLog::load(dir.path()).unwrap();
        assert_eq!(again.lines().len(), 1);
        assert_eq!(again.lines()[0].sub, "s_new");
        std::fs::write(dir.path().join(CONFIRMATIONS_FILE), "{\"t\":1}\n").unwrap();
        let err = ConfirmationLog::load(dir.path()).unwrap_err();
        assert!(
            format!("{err:#}").contains("confirmations.jsonl, line 1"),
            "{err:#}"
        );
    }
}
