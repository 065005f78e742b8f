//! One broadcast run from start to end: choose the channel, take the lock, plan, check the
//! subscriber list (streamed, never held whole), pre-flight, send, report. Also the dry run that
//! shows editors the exact messages.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use jiff::{SignedDuration, Timestamp};

use crate::broadcast::accept::accept_uncertain;
pub use crate::broadcast::audience::SubscriberSource;
use crate::broadcast::given_up::give_up;
use crate::broadcast::plan::{Decision, Guards, PlannedMessage, plan};
use crate::broadcast::ratelimit::RateLimiter;
use crate::broadcast::report::{MessageReport, RunReport};
use crate::broadcast::send::{RunClock, Sender, wait_for_link};
use crate::config::Config;
use crate::content::Notice;
use crate::delivery::journal::{IdSet, Journal, journal_dir};
use crate::delivery::message::Message;
use crate::lock::SiteLock;
use crate::providers::deliverer::Deliverer;
use crate::providers::outbox::Outbox;
use crate::providers::secrets::Secrets;
use crate::providers::select::choose_deliverer;
use crate::subscribers::{Status, Subscriber};

#[derive(Debug, Clone)]
pub struct BroadcastOptions {
    pub now: Timestamp,
    /// `whatsapp` or `outbox`; `None` picks WhatsApp when configured and a token is set.
    pub channel: Option<String>,
    pub mark_sent: bool,
    pub resend_uncertain: bool,
    /// Record uncertain deliveries as `accepted` (delivered without proof) before sending.
    pub accept_uncertain: bool,
    pub link_check: bool,
    /// `--run RUN`: send only to what `--claim RUN` claimed (the pipeline's write-ahead).
    pub run: Option<String>,
    /// The providers' secrets, read at the command's edge.
    pub secrets: Secrets,
}

/// The real channels aushang.yaml configures, in sending order (`--channel all`): WhatsApp,
/// e-mail, Telegram, Mastodon. Empty for a town with only the outbox.
pub fn real_channels(config: &Config) -> Vec<&'static str> {
    let c = &config.broadcast.channels;
    [
        ("whatsapp", c.whatsapp.is_some()),
        ("email", c.email.is_some()),
        ("telegram", c.telegram.is_some()),
        ("mastodon", c.mastodon.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect()
}

/// Runs a broadcast (or `--mark-sent`) and reports what happened. With `opts.run`, sends only
/// to what that run claimed and afterwards releases whatever it claimed but did not send.
pub fn broadcast(
    config: &Config,
    notices: &[Notice],
    opts: &BroadcastOptions,
) -> anyhow::Result<RunReport> {
    let _lock = SiteLock::acquire(&config.root)?;
    if opts.mark_sent {
        return crate::broadcast::mark_sent::mark_sent(config, notices, opts);
    }
    let (deliverer, fallback) = choose_deliverer(config, opts.channel.as_deref(), &opts.secrets)?;
    if let Some(run) = &opts.run {
        crate::broadcast::claim::check_run_id(run)?;
        if !deliverer.is_real() || opts.mark_sent {
            bail!("--run sendet, was `--claim {run}` auf einem echten Kanal übernommen hat");
        }
    }
    let mut report = RunReport::default();
    // First, not last: whoever reads the run must know at once which channel it used.
    report
        .notes
        .extend(fallback.map(|why| format!("Warnung: {why}")));
    let channel = deliverer.channel_name();
    let journal_path = match &deliverer {
        Deliverer::Outbox { outbox, .. } => outbox.journal_dir(),
        _ => journal_dir(&config.subscribers_dir()),
    };
    let journal =
        Arc::new(Journal::open(&journal_path).context("das Journal lässt sich nicht lesen")?);
    let guards = Guards {
        quiet_hours: deliverer.is_real(),
        staleness: deliverer.is_real(),
    };
    let planned = plan(config, notices, &journal, channel, opts.now, guards);
    if opts.accept_uncertain {
        let accepted = accept_uncertain(&journal, &planned, channel, opts.now)?;
        journal.sync()?;
        let total: usize = accepted.iter().map(|a| a.count).sum();
        report.notes.push(format!(
            "--accept-uncertain: {total} unsichere Zustellungen als zugestellt festgehalten (`accepted` \
             im Journal {}/); an sie wurde nichts gesendet",
            journal_path
                .strip_prefix(&config.root)
                .unwrap_or(&journal_path)
                .display()
        ));
        report.notes.extend(
            accepted
                .iter()
                .map(|a| format!("    {}: {} als `accepted` festgehalten", a.key, a.count)),
        );
    }

    if let Some(run) = &opts.run {
        let keys: Vec<String> = planned.iter().map(|p| p.message.key.clone()).collect();
        let result = send_planned(config, deliverer, &journal, planned, opts, &mut report);
        // Also after a failed run: whoever the run claimed and never sent to is free again.
        // (Not after a journal write failure: then the journal cannot be trusted to say so.)
        let released = match &result {
            Err(_) => 0,
            Ok(()) => {
                crate::broadcast::claim::release_unsent(&journal, &keys, channel, run, opts.now)?
            }
        };
        if released > 0 {
            tracing::info!(
                "{released} übernommene Zustellung(en) freigegeben, die dieser Lauf nicht gesendet hat"
            );
        }
        result?;
        return Ok(report);
    }

    send_planned(config, deliverer, &journal, planned, opts, &mut report)?;
    Ok(report)
}

/// Checks the list, then sends every due message in `planned`.
fn send_planned(
    config: &Config,
    deliverer: Deliverer,
    journal: &Arc<Journal>,
    planned: Vec<PlannedMessage>,
    opts: &BroadcastOptions,
    report: &mut RunReport,
) -> anyhow::Result<()> {
    let channel = deliverer.channel_name();
    let giving_up = planned
        .iter()
        .any(|p| matches!(p.decision, Decision::Stale | Decision::Expired));
    if !giving_up && planned.iter().all(|p| p.decision != Decision::Due) {
        report
            .messages
            .extend(planned.iter().map(|p| not_sent(p, channel, 0)));
        return Ok(());
    }
    // Opened for a stale or expired message too: the report says how many people it leaves out.
    let mut source = match deliverer.public_audience() {
        Some(reader) => SubscriberSource::public(reader),
        None => SubscriberSource::open(config, deliverer.is_real())?,
    };
    let messages: Vec<&Message> = planned.iter().map(|p| &p.message).collect();
    let recipient_counts = source
        .census(&messages, |s, m| is_recipient(&deliverer, s, m))
        .context("die Abonnentenliste ist nicht verwendbar; nichts wurde gesendet")?;
    // Given up once, reported once: the journal keeps later runs from planning it again.
    let deliverer = Arc::new(deliverer);
    let left_out = give_up(
        journal,
        &source,
        &planned,
        &recipient_counts,
        &deliverer,
        opts.now,
    )?;
    if planned.iter().all(|p| p.decision != Decision::Due) {
        report.messages.extend(
            planned
                .iter()
                .zip(&left_out)
                .map(|(p, &n)| not_sent(p, channel, n)),
        );
        journal.sync()?;
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(send_all(
        config,
        deliverer,
        journal.clone(),
        planned,
        Audience {
            source,
            counts: recipient_counts,
            left_out,
        },
        opts,
        report,
    ))?;
    journal.sync()?;
    Ok(())
}

/// The checked list and, per planned message (same order), how many subscribers want it and
/// how many a given-up (stale, expired) message leaves out.
struct Audience {
    source: SubscriberSource,
    counts: Vec<usize>,
    left_out: Vec<usize>,
}

async fn send_all(
    config: &Config,
    deliverer: Arc<Deliverer>,
    journal: Arc<Journal>,
    planned: Vec<PlannedMessage>,
    audience: Audience,
    opts: &BroadcastOptions,
    report: &mut RunReport,
) -> anyhow::Result<()> {
    let channel = deliverer.channel_name();
    let (mps, concurrency, daily_limit) = deliverer.pacing();
    let update_due = planned
        .iter()
        .any(|p| p.message.is_update() && p.decision == Decision::Due);
    // Template states and unreachable subscribers recorded by `aushang inbox pull`.
    if let Deliverer::WhatsApp { .. } = &*deliverer {
        if let Some(why) = crate::providers::whatsapp::templates::refusal(config, update_due) {
            report.stopped = Some(why);
            held_back(&planned, &audience, &deliverer, report);
            return Ok(());
        }
        report
            .warnings
            .extend(crate::broadcast::audience::skipped_warning(
                &audience.source.unreachable,
            ));
    }
    if let Deliverer::WhatsApp {
        client, config: w, ..
    } = &*deliverer
        && let Some(waba) = &w.waba_id
    {
        let mut names = vec![w.template.name.clone()];
        if update_due {
            names.extend(w.template.update_name.clone());
        }
        for name in names {
            match client.template_status(waba, &name, &w.template.language).await {
                Ok(info) if !info.is_approved() => {
                    report.stopped = Some(format!(
                        "WhatsApp-Vorlage `{name}` ({}) ist {}, nicht APPROVED: nichts wurde gesendet",
                        w.template.language, info.status
                    ));
                    held_back(&planned, &audience, &deliverer, report);
                    return Ok(());
                }
                Ok(info) if info.is_marketing() => report.warnings.push(format!(
                    "Vorlage `{name}` ist jetzt in der Kategorie MARKETING (höherer Preis, Grenzen je Person, \
                     \"stop promotions\"); eine Prüfung beantragen oder eine UTILITY-Vorlage anlegen"
                )),
                Ok(_) => {}
                Err(e) => {
                    report.stopped = Some(format!("Vorlage `{name}` lässt sich nicht prüfen: {e}"));
                    held_back(&planned, &audience, &deliverer, report);
                    return Ok(());
                }
            }
        }
    }
    let clock = RunClock::new(opts.now);
    let since = opts
        .now
        .checked_sub(SignedDuration::from_hours(24))
        .unwrap_or(opts.now);
    // Only a daily limit needs to know who was reached lately.
    let recent = match daily_limit {
        Some(_) => journal.recipients_since(channel, since)?,
        None => IdSet::default(),
    };
    let budget = crate::broadcast::budget::for_run(
        config,
        &journal,
        &planned,
        channel,
        opts.run.as_deref(),
        opts.now,
    )?;
    let sender = Sender {
        budget,
        deliverer,
        journal,
        limiter: Arc::new(RateLimiter::new(mps)),
        concurrency,
        daily_limit,
        resend_uncertain: opts.resend_uncertain,
        run: opts.run.clone(),
        clock,
        recent: Arc::new(Mutex::new(recent)),
        stop: Arc::new(Mutex::new(None)),
        progress: progress_bar(),
    };
    let ticker = tokio::spawn(progress_lines(sender.progress.clone()));
    for ((p, expected), left_out) in planned
        .into_iter()
        .zip(audience.counts.iter().copied())
        .zip(audience.left_out.iter().copied())
    {
        if p.decision != Decision::Due {
            report.messages.push(not_sent(&p, channel, left_out));
            continue;
        }
        let mut entry = MessageReport {
            key: p.message.key.clone(),
            title: p.message.title.clone(),
            channel: channel.into(),
            status: "fällig".into(),
            ..Default::default()
        };
        if sender.stopped().is_some() {
            entry.not_attempted = expected;
            report.messages.push(entry);
            continue;
        }
        let rendered = match sender.deliverer.render(&p.message) {
            Ok(r) => Arc::new(r),
            Err(e) => {
                entry.status = format!("nicht gesendet: {e}");
                entry.not_attempted = expected;
                report.messages.push(entry);
                continue;
            }
        };
        if let Err(e) = sender.deliverer.write_posts(&p.message, &rendered) {
            anyhow::bail!("in outbox/ lässt sich nicht schreiben: {e}");
        }
        if sender.deliverer.is_real() && opts.link_check {
            let timeout: Duration = config
                .broadcast
                .link_check_timeout
                .try_into()
                .unwrap_or(Duration::from_secs(60));
            // One line per notice while the page may still be deploying, not a stream.
            eprintln!(
                "Link-Prüfung: warte bis zu {} s auf {}",
                timeout.as_secs(),
                p.message.url
            );
            if let Err(e) = wait_for_link(&p.message.url, timeout).await {
                entry.status = format!("nicht gesendet: Link-Prüfung fehlgeschlagen ({e})");
                entry.not_attempted = expected;
                report.messages.push(entry);
                continue;
            }
        }
        let wants = {
            let deliverer = sender.deliverer.clone();
            let message = p.message.clone();
            move |s: &Subscriber| is_recipient(&deliverer, s, &message)
        };
        let stream = audience.source.recipients(wants);
        sender
            .send_message(&p.message, rendered, stream, expected, &mut entry)
            .await?;
        report.messages.push(entry);
    }
    ticker.abort();
    sender.progress.finish_and_clear();
    report.stopped = report.stopped.take().or(sender.stopped());
    Ok(())
}

/// Whether `s` is to get `message` on this run's channel (status, channel, topics).
pub(crate) fn is_recipient(deliverer: &Deliverer, s: &Subscriber, message: &Message) -> bool {
    deliverer.serves(s)
        && s.status == Status::Active
        && s.wants(s.channel, message.category.as_deref())
}

/// Reports every planned message when a pre-flight stops the run before the first send, so the
/// summary lists what was held back instead of claiming there was nothing to send.
fn held_back(
    planned: &[PlannedMessage],
    audience: &Audience,
    deliverer: &Deliverer,
    report: &mut RunReport,
) {
    for ((p, &count), &left_out) in planned.iter().zip(&audience.counts).zip(&audience.left_out) {
        let mut entry = not_sent(p, deliverer.channel_name(), left_out);
        if p.decision == Decision::Due {
            entry.status = "nicht gesendet (Lauf vor dem Senden abgebrochen)".into();
            entry.not_attempted = count;
        }
        report.messages.push(entry);
    }
}

/// The entry of a message this run does not send; `left_out`: whom a given-up (stale,
/// expired) message leaves out for good.
fn not_sent(p: &PlannedMessage, channel: &str, left_out: usize) -> MessageReport {
    MessageReport {
        key: p.message.key.clone(),
        title: p.message.title.clone(),
        channel: channel.into(),
        status: p.decision.label().into(),
        left_out,
        ..Default::default()
    }
}

/// A bar on a terminal; in CI (no terminal) the bar is hidden and `progress_lines` prints.
fn progress_bar() -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    progress_bar_for(std::io::stderr().is_terminal())
}

/// The bar's total starts at 0 and grows by each message's recipients as its sending begins
/// (`Sender::send_message`). The hidden bar needs that known total too: `ProgressBar::hidden()`
/// has none, and growing an unknown total leaves it unknown, which printed "122 of 0".
fn progress_bar_for(terminal: bool) -> indicatif::ProgressBar {
    if terminal {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {pos}/{len} Zustellungen [{bar:30}] {per_sec}, noch {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::hidden())
    }
}

/// The line CI logs show every ten seconds.
fn progress_line(bar: &indicatif::ProgressBar) -> String {
    format!(
        "Fortschritt: {} von {} Zustellungen erledigt",
        bar.position(),
        bar.length().unwrap_or(0)
    )
}

async fn progress_lines(bar: indicatif::ProgressBar) {
    if !bar.is_hidden() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.tick().await;
    // Only when something moved: a wait (link check, rate limit) prints no stream of same lines.
    let mut shown = None;
    loop {
        tick.tick().await;
        let now = (bar.position(), bar.length().unwrap_or(0));
        if now.1 > 0 && shown != Some(now) {
            shown = Some(now);
            eprintln!("{}", progress_line(&bar));
        }
    }
}

/// The editors' preview: per due message, the exact text and (with a key) the recipient count.
pub fn dry_run(config: &Config, notices: &[Notice], now: Timestamp) -> anyhow::Result<String> {
    // Rendering needs no client, so the preview works without any token.
    let whatsapp = config.broadcast.channels.whatsapp.clone();
    let channel = if whatsapp.is_some() {
        "whatsapp"
    } else {
        "outbox"
    };
    let only_whatsapp = whatsapp.is_some();
    let serves =
        |s: &Subscriber| !only_whatsapp || s.channel == crate::subscribers::Channel::WhatsApp;
    // The preview shows each subscriber's opt-out link as a placeholder: no secret needed.
    let deliverer = Deliverer::Outbox {
        outbox: Outbox::for_site(config, None),
        whatsapp,
    };
    let journal = Journal::open(&journal_dir(&config.subscribers_dir()))?;
    let planned = plan(
        config,
        notices,
        &journal,
        channel,
        now,
        Guards {
            quiet_hours: true,
            staleness: true,
        },
    );
    // A key is optional here: pull requests from forks have none.
    let messages: Vec<&Message> = planned.iter().map(|p| &p.message).collect();
    let counts = SubscriberSource::open(config, false)
        .ok()
        .and_then(|mut source| {
            source
                .census(&messages, |s, m| {
                    serves(s) && s.wants(s.channel, m.category.as_deref())
                })
                .ok()
        });
    let prices = crate::broadcast::cost::Prices::of(config);
    let mut out = String::new();
    let due = planned
        .iter()
        .filter(|p| p.decision == Decision::Due)
        .count();
    let _ = writeln!(out, "## Nachrichten-Vorschau ({channel})\n");
    let _ = writeln!(
        out,
        "{} Nachricht(en) offen, davon {due} jetzt fällig.\n",
        planned.len()
    );
    for (i, p) in planned.iter().enumerate() {
        let rendered = deliverer.render(&p.message);
        let _ = writeln!(out, "### {}\n", p.message.title);
        let _ = writeln!(out, "- Schlüssel: `{}`", p.message.key);
        let _ = writeln!(
            out,
            "- Status: {}",
            german_decision(p.decision, p.message.urgent)
        );
        let count = counts.as_ref().map(|c| c[i]);
        match count {
            Some(n) => {
                let _ = writeln!(out, "- Empfänger: {n}");
            }
            None => {
                let _ = writeln!(
                    out,
                    "- Empfänger: unbekannt (kein Schlüssel in dieser Umgebung)"
                );
            }
        }
        if let Some(prices) = prices.as_ref().filter(|_| p.decision == Decision::Due) {
            out.push_str(&crate::broadcast::cost::estimate_line(
                config, prices, &p.message, count,
            ));
        }
        crate::providers::deliverer::write_preview(&mut out, &rendered);
    }
    out.push_str(&crate::broadcast::budget::dry_run_section(
        config,
        &journal,
        &planned,
        counts.as_deref(),
        now,
    )?);
    out.push_str(&crate::broadcast::preview::preview(config, notices, now)?);
    Ok(out)
}

fn german_decision(d: Decision, urgent: bool) -> &'static str {
    match (d, urgent) {
        (Decision::Due, true) => "fällig (dringend)",
        (Decision::Due, false) => "fällig",
        (Decision::QuietHours, _) => "wartet auf das Ende der Ruhezeit",
        (Decision::Stale, _) => "wird nicht gesendet (älter als max_age)",
        (Decision::Expired, _) => "abgelaufen: wird nicht weiter gesendet",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Sender::send_message` does to the bar: each message adds its recipients to the
    /// total, the reader takes out those it does not queue, the workers count deliveries.
    #[test]
    fn the_ci_progress_line_counts_against_the_recipients_to_send() {
        let bar = progress_bar_for(false);
        assert!(bar.is_hidden());
        assert_eq!(
            progress_line(&bar),
            "Fortschritt: 0 von 0 Zustellungen erledigt"
        );
        bar.inc_length(150);
        bar.dec_length(28); // already sent in an earlier run
        bar.inc(122);
        assert_eq!(
            progress_line(&bar),
            "Fortschritt: 122 von 122 Zustellungen erledigt"
        );
        bar.inc_length(40);
        bar.inc(10);
        assert_eq!(
            progress_line(&bar),
            "Fortschritt: 132 von 162 Zustellungen erledigt"
        );
    }
}
