//! `aushang inbox pull`: fetch the encrypted events, decrypt them in memory, apply them to the
//! subscriber list, record statuses, send confirmation templates to new sign-ups (a lost one is
//! sent again by `aushang inbox confirm --resend`, see [`super::confirm`]), and only then
//! acknowledge the events so the inbox deletes them.
//!
//! Crash safety: the list and `subscribers/inbox/applied.jsonl` are written (atomically) before
//! the acknowledgement. A crash in between leaves the events in the inbox; the next pull fetches
//! them again, finds their ids applied, and only acknowledges them.
//!
//! A pull pages through **everything** that waits (unsubscribes come first) and fails if it
//! could not, so the broadcast after it never runs while a STOP is still in the inbox. Every
//! decrypted event is checked by [`super::validate`] first; a refused one is reported (id and
//! reason only), acknowledged and never applied.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use jiff::Timestamp;

use super::apply::{AppliedLine, AppliedLog, apply_all};
use super::events::Envelope;
use super::pull_api::{AckRequest, AckResponse, EventList};
use crate::subscribers::records_dir;

use super::statuses::{self, StatusSummary};
use crate::config::Config;
use crate::lock::SiteLock;
use crate::providers::whatsapp::WhatsAppClient;
use crate::subscribers::{Identity, Recipients, SubscriberList};

/// Events fetched per request, and the most requests per pull (a bound, not a target).
const PAGE: usize = 1000;
const MAX_PAGES: usize = 500;

#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The inbox base URL (default: `inbox.url`).
    pub url: String,
    pub pull_token: String,
    /// WhatsApp access token for confirmation templates; `None` sends none.
    pub whatsapp_token: Option<String>,
    pub now: Timestamp,
    /// `None`: acknowledge each page at once. `Some(file)`: append the ids to `file` instead
    /// (paging on with `skip`), so the workflow can commit first and acknowledge with
    /// [`ack_file`] after.
    pub defer_ack: Option<std::path::PathBuf>,
}

#[derive(Debug, Default)]
pub struct PullReport {
    pub fetched: usize,
    /// (event id, kind, outcome, subscriber id) of each newly applied event.
    pub applied: Vec<(String, String, String, Option<String>)>,
    pub already_applied: usize,
    pub undecryptable: usize,
    /// Events that failed validation: acknowledged, never applied.
    pub refused: usize,
    /// Unsubscribes that changed nothing (repeats); applied but not recorded.
    pub unchanged_unsubscribes: usize,
    pub statuses: StatusSummary,
    pub confirmations_sent: usize,
    pub confirmations_failed: usize,
    pub acked: usize,
    /// Event ids written to the `--no-ack` file for `aushang inbox ack`.
    pub deferred: usize,
    /// Unconfirmed sign-ups deleted because they outlived `subscribers.prune_pending_after`.
    pub pruned: usize,
    pub notes: Vec<String>,
}

impl PullReport {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Posteingang: {} Ereignis(se) abgeholt, {} quittiert",
            self.fetched, self.acked
        );
        for (id, kind, outcome, sub) in &self.applied {
            let _ = writeln!(
                out,
                "  {id} {}: {}{}",
                super::outcome_text::kind(kind),
                super::outcome_text::outcome(outcome),
                sub.as_ref().map(|s| format!(" ({s})")).unwrap_or_default()
            );
        }
        if self.already_applied > 0 {
            let _ = writeln!(
                out,
                "  {} Ereignis(se) waren schon übernommen (nicht erneut übernommen)",
                self.already_applied
            );
        }
        if !self.statuses.by_status.is_empty() {
            let by: Vec<String> = self
                .statuses
                .by_status
                .iter()
                .map(|(k, v)| format!("{} {v}", super::outcome_text::status(k)))
                .collect();
            let _ = writeln!(
                out,
                "  Zustellstatus: {}; {} unsichere Zustellungen geklärt, {} Fehlschlag/Fehlschläge festgehalten",
                by.join(", "),
                self.statuses.resolved,
                self.statuses.failures_recorded
            );
        }
        for line in self.statuses.report_lines() {
            let _ = writeln!(out, "{line}");
        }
        if self.confirmations_sent + self.confirmations_failed > 0 {
            let _ = writeln!(
                out,
                "  Bestätigungsanfragen: {} gesendet, {} fehlgeschlagen",
                self.confirmations_sent, self.confirmations_failed
            );
        }
        if self.pruned > 0 {
            let _ = writeln!(
                out,
                "  {} unbestätigte Anmeldung(en), älter als subscribers.prune_pending_after, gelöscht",
                self.pruned
            );
        }
        if self.unchanged_unsubscribes > 0 {
            let _ = writeln!(
                out,
                "  {} Abmeldung(en) änderten nichts (schon abgemeldet oder unbekannt; nicht festgehalten)",
                self.unchanged_unsubscribes
            );
        }
        if self.refused > 0 {
            let _ = writeln!(
                out,
                "  {} Ereignis(se) als ungültig abgelehnt (siehe Hinweise): quittiert, nicht übernommen",
                self.refused
            );
        }
        if self.undecryptable > 0 {
            let _ = writeln!(
                out,
                "  {} Ereignis(se) ließen sich mit diesem Schlüssel nicht entschlüsseln und bleiben im Posteingang",
                self.undecryptable
            );
        }
        for n in &self.notes {
            let _ = writeln!(out, "Hinweis: {n}");
        }
        out
    }
}

/// Runs a whole pull (blocking; starts its own runtime).
pub fn pull(
    config: &Config,
    identity: &Identity,
    opts: &PullOptions,
) -> anyhow::Result<PullReport> {
    let _lock = SiteLock::acquire(&config.root)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(pull_async(config, identity, opts))
}

async fn pull_async(
    config: &Config,
    identity: &Identity,
    opts: &PullOptions,
) -> anyhow::Result<PullReport> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .user_agent(concat!("aushang/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let base = opts.url.trim_end_matches('/').to_string();
    let dir = config.subscribers_dir();
    let recipients = Recipients::load(&dir)?;
    let mut list = SubscriberList::load(&dir, identity)?;
    // Before fetching anything: a list that may not be saved must not take events it cannot keep.
    list.check_recipients(&recipients)?;
    let records = records_dir(&config.subscribers_dir());
    let mut log = AppliedLog::load(&records).map_err(anyhow::Error::msg)?;
    log.requests = super::requests::Requests::load(&records, identity)?;
    let clock = Timestamp::now().max(opts.now);
    let consent_version = config
        .inbox
        .as_ref()
        .map_or("v1".to_string(), |i| i.consent_version.clone());
    let mut report = PullReport::default();
    // Events fetched but left in the inbox (not acknowledged yet or undecryptable): skipped by
    // the next page request.
    let mut skip = 0;
    let mut drained = false;
    for _ in 0..MAX_PAGES {
        let page: EventList = fetch(&http, &base, &opts.pull_token, skip).await?;
        if page.events.is_empty() {
            drained = page.remaining == 0;
            break;
        }
        report.fetched += page.events.len();
        let mut envelopes = Vec::new();
        let mut ids = Vec::new();
        let mut left = 0;
        for stored in &page.events {
            let label = format!("Ereignis {} im Posteingang", stored.id);
            let decrypted = crate::subscribers::store::decrypt(
                stored.age.as_bytes(),
                identity,
                Path::new(&label),
            )
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                serde_json::from_slice::<Envelope>(&bytes).map_err(|e| e.to_string())
            });
            match decrypted {
                Ok(env) if env.id == stored.id => {
                    ids.push(stored.id.clone());
                    match super::validate::check(&env, config, clock) {
                        Ok(()) => envelopes.push(env),
                        Err(why) => {
                            report.refused += 1;
                            report
                                .notes
                                .push(format!("{label}: abgelehnt und übersprungen: {why}"));
                        }
                    }
                }
                Ok(_) => {
                    left += 1;
                    report.undecryptable += 1;
                    report.notes.push(format!(
                        "{label}: die ID im Inhalt passt nicht; bleibt im Posteingang"
                    ));
                }
                Err(e) => {
                    left += 1;
                    report.undecryptable += 1;
                    report.notes.push(format!("{label}: {e}"));
                }
            }
        }
        let before = list.clone();
        let fresh = envelopes
            .iter()
            .filter(|e| !matches!(e.event, super::events::Event::Status { .. }))
            .filter(|e| !log.contains(&e.id))
            .count();
        let unrecorded_before = log.unrecorded;
        let results = apply_all(&mut list, &mut log, &envelopes, &consent_version, opts.now);
        report.unchanged_unsubscribes += log.unrecorded - unrecorded_before;
        report.already_applied += envelopes
            .iter()
            .filter(|e| !matches!(e.event, super::events::Event::Status { .. }))
            .count()
            - fresh;
        let s = statuses::record_batch(config, &envelopes, &mut list, opts.now)
            .context("Festhalten der Zustellstatus")?;
        report.statuses.merge(s);
        if list != before {
            list.save(&dir, &recipients)?;
        }
        log.requests.save(&list, &recipients)?;
        log.save(opts.now)?;
        let to_confirm: Vec<(String, String)> = results
            .iter()
            .filter(|(_, a)| a.needs_confirmation)
            .filter_map(|(e, a)| a.subscriber.clone().map(|s| (e.id.clone(), s)))
            .collect();
        for (e, a) in &results {
            report.applied.push((
                e.id.clone(),
                e.event.kind().into(),
                a.outcome.into(),
                a.subscriber.clone(),
            ));
        }
        if !to_confirm.is_empty() {
            confirm(config, opts, &list, &mut log, &to_confirm, &mut report).await;
            log.save(opts.now)?;
        }
        if let Some(file) = &opts.defer_ack {
            if !ids.is_empty() {
                append_ids(file, &ids)?;
            }
            skip += page.events.len();
        } else {
            if !ids.is_empty() {
                report.acked += post_ack(&http, &base, &opts.pull_token, ids.clone()).await?;
            }
            skip += left;
        }
        if opts.defer_ack.is_some() {
            report.deferred += ids.len();
        }
        if page.remaining == 0 {
            drained = true;
            break;
        }
    }
    if report.deferred > 0 {
        report.notes.push(format!(
            "{} Ereignis(se) nach dem Commit quittieren: `aushang inbox ack`",
            report.deferred
        ));
    }
    if !drained {
        // What was fetched is applied and saved (per page); the rest waits in the inbox.
        bail!(
            "im Posteingang warten noch Ereignisse, die dieser Abruf nicht holen konnte (höchstens {MAX_PAGES} \
             Seiten zu {PAGE}, oder der Posteingang gab keine weiteren heraus); was abgeholt wurde, ist \
             übernommen und gespeichert. Vor dem Versand `aushang inbox pull` erneut ausführen (und nach \
             dem Commit `aushang inbox ack`, bei --no-ack): ein STOP kann darunter sein"
        );
    }
    prune_unconfirmed(config, &dir, &recipients, &mut list, opts.now, &mut report)?;
    // Requests of rows no longer on the list (pruned, forgotten) or unconfirmed for too long.
    log.requests
        .prune(opts.now, config.subscribers.prune_pending_after, |sub| {
            list.get(sub).is_some()
        });
    log.requests.save(&list, &recipients)?;
    super::reach::update(&dir, clock).context("Festhalten der Reichweite (reach.json)")?;
    // Loud on every pull while a configured template is blocked, not only when the change came.
    report.statuses.template_alerts = crate::providers::whatsapp::templates::alerts(config);
    Ok(report)
}

/// Double opt-in: a sign-up nobody confirmed within `subscribers.prune_pending_after` (30 days)
/// is deleted, with the ids that the inbox records hold for it, on every pull — so no admin has
/// to remember `aushang subscribers prune`. Runs after the events, so a late JA still counts.
fn prune_unconfirmed(
    config: &Config,
    dir: &Path,
    recipients: &Recipients,
    list: &mut SubscriberList,
    now: Timestamp,
    report: &mut PullReport,
) -> anyhow::Result<()> {
    let gone = list.prune_pending(now, config.subscribers.prune_pending_after);
    if gone.is_empty() {
        return Ok(());
    }
    list.save(dir, recipients)?;
    crate::delivery::journal::forget_subscribers(
        &config.root,
        &config.subscribers_dir(),
        gone.iter().map(|s| &s.id),
    )
    .context("Löschen der Einträge unbestätigter Anmeldungen")?;
    report.pruned = gone.len();
    Ok(())
}

async fn post_ack(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    ids: Vec<String>,
) -> anyhow::Result<usize> {
    let ack: AckResponse = http
        .post(format!("{base}/events/ack"))
        .bearer_auth(token)
        .json(&AckRequest { ids })
        .send()
        .await
        .context("Quittieren der Ereignisse")?
        .error_for_status()
        .context("Quittieren der Ereignisse")?
        .json()
        .await?;
    Ok(ack.deleted)
}

fn append_ids(file: &Path, ids: &[String]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .with_context(|| format!("{}", file.display()))?;
    f.write_all(
        ids.iter()
            .map(|i| format!("{i}\n"))
            .collect::<String>()
            .as_bytes(),
    )?;
    f.sync_all()?;
    Ok(())
}

/// Acknowledges the ids a `--no-ack` pull wrote to `file` (after the list was committed), then
/// removes the file. Returns how many events the inbox deleted.
pub fn ack_file(url: &str, pull_token: &str, file: &Path) -> anyhow::Result<usize> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(anyhow::anyhow!("{}: {e}", file.display())),
    };
    let ids: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| super::events::is_event_id(l))
        .map(String::from)
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let base = url.trim_end_matches('/').to_string();
    let deleted = runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        let mut deleted = 0;
        for chunk in ids.chunks(PAGE) {
            deleted += post_ack(&http, &base, pull_token, chunk.to_vec()).await?;
        }
        anyhow::Ok(deleted)
    })?;
    std::fs::remove_file(file).with_context(|| format!("{}", file.display()))?;
    Ok(deleted)
}

async fn fetch(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    skip: usize,
) -> anyhow::Result<EventList> {
    let response = http
        .get(format!("{base}/events?limit={PAGE}&skip={skip}"))
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("der Posteingang unter {base} ist nicht erreichbar"))?;
    if response.status() == reqwest::StatusCode::UNAUTHORIZED {
        bail!(
            "der Posteingang lehnt das Abruf-Token ab (401): {} prüfen",
            super::PULL_TOKEN_ENV
        );
    }
    let response = response
        .error_for_status()
        .context("Abholen der Ereignisse aus dem Posteingang")?;
    response
        .json()
        .await
        .context("die Ereignisliste des Posteingangs ist nicht lesbar")
}

/// Sends the confirmation template to new web sign-ups (double opt-in), recording each attempt.
async fn confirm(
    config: &Config,
    opts: &PullOptions,
    list: &SubscriberList,
    log: &mut AppliedLog,
    to_confirm: &[(String, String)],
    report: &mut PullReport,
) {
    let template = config
        .inbox
        .as_ref()
        .and_then(|i| i.confirmation_template.clone());
    let (Some(template), Some(w)) = (template, config.broadcast.channels.whatsapp.as_ref()) else {
        report.notes.push(format!(
            "{} neue Anmeldung(en) bestätigen, indem sie START schreiben (kein inbox.confirmation_template eingestellt)",
            to_confirm.len()
        ));
        return;
    };
    let Some(token) = opts.whatsapp_token.clone() else {
        report.notes.push(format!(
            "WHATSAPP_TOKEN ist nicht gesetzt: keine Bestätigungsanfrage an {} neue Anmeldung(en) gesendet; sie können START schreiben",
            to_confirm.len()
        ));
        return;
    };
    if let Some(why) = crate::providers::whatsapp::templates::confirmation_refusal(config) {
        report.notes.push(format!(
            "keine Bestätigungsanfrage an {} neue Anmeldung(en) gesendet: {why}; `aushang inbox confirm --resend` fragt sie, sobald die Vorlage wieder freigegeben ist",
            to_confirm.len()
        ));
        return;
    }
    let client = match WhatsAppClient::new(&w.api_url, &w.phone_number_id, token) {
        Ok(c) => c,
        Err(e) => {
            report.notes.push(format!(
                "der WhatsApp-Zugang lässt sich nicht einrichten: {e}"
            ));
            return;
        }
    };
    let payload = super::confirm::payload(&template, &w.template.language);
    for (event_id, sub) in to_confirm {
        let Some(row) = list.get(sub) else { continue };
        // At most one confirmation request per subscriber and 24 h, and a few per 30 days,
        // however many sign-ups name the number (the server also caps sign-ups per number).
        if let Err(why) = super::confirm::pull_may_ask(log, sub, opts.now) {
            report
                .notes
                .push(format!("{sub}: keine Bestätigungsanfrage gesendet: {why}"));
            continue;
        }
        let outcome = match super::confirm::send(&client, &payload, row).await {
            Ok(wamid) => {
                report.confirmations_sent += 1;
                format!("confirmation sent ({wamid})")
            }
            Err(e) => {
                report.confirmations_failed += 1;
                format!("confirmation failed: {e}")
            }
        };
        log.push(AppliedLine {
            t: opts.now,
            id: format!("confirm-{event_id}"),
            at: opts.now,
            kind: "confirmation".into(),
            outcome,
            sub: Some(sub.clone()),
        });
    }
}
