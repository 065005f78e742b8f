//! The budget's words: the dry run's cost section, the annotations and job summary lines of a
//! claim the budget cut short, and the German lines on deferrals and approvals.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::broadcast::budget::{APPROVALS_FILE, Approval, Guard, notice_of};
use crate::broadcast::cost::{Money, Prices};
use crate::broadcast::plan::PlannedMessage;
use crate::config::Config;
use crate::delivery::journal::Journal;

const CHANNEL: &str = "whatsapp";

/// The dry run's cost section: WhatsApp's estimate over every due message (recipients × rate),
/// the free channels, and what the budget would let through.
pub fn dry_run_section(
    config: &Config,
    journal: &Journal,
    planned: &[PlannedMessage],
    counts: Option<&[usize]>,
    now: Timestamp,
) -> anyhow::Result<String> {
    let mut out = String::from("### Geschätzte Kosten\n\n");
    let due: Vec<(usize, &PlannedMessage)> = planned
        .iter()
        .enumerate()
        .filter(|(_, p)| p.decision == crate::broadcast::plan::Decision::Due)
        .collect();
    if let Some(prices) = Prices::of(config) {
        match counts {
            Some(counts) => {
                let (mut n, mut total, mut unpriced) = (0, Money::ZERO, 0);
                for (i, p) in &due {
                    match crate::broadcast::cost::message_rate(config, &prices, &p.message).1 {
                        Some(rate) => total = total.plus(rate.times(counts[*i])),
                        None => unpriced += counts[*i],
                    }
                    n += counts[*i];
                }
                let _ = writeln!(
                    out,
                    "- WhatsApp: {n} Nachrichten, geschätzt {}{}",
                    prices.amount(total),
                    if unpriced > 0 {
                        format!(" (dazu {unpriced} ohne eingetragenen Preis)")
                    } else {
                        String::new()
                    }
                );
            }
            None => out.push_str(
                "- WhatsApp: Empfängerzahl unbekannt (kein Schlüssel in dieser Umgebung)\n",
            ),
        }
        if let Some(mut guard) = Guard::load(config, journal, planned, now)? {
            let _ = writeln!(out, "- {}", guard.summary());
            if let Some(counts) = counts {
                let mut deferred = 0;
                let mut why = None;
                for (i, p) in &due {
                    for _ in 0..counts[*i] {
                        if let Some(r) = guard.refusal(&p.message) {
                            deferred += 1;
                            why.get_or_insert(r);
                        } else {
                            guard.take(&p.message);
                        }
                    }
                }
                if deferred > 0 {
                    let _ = writeln!(
                        out,
                        "- Über dem Budget: {deferred} Empfänger würden zurückgestellt ({})",
                        why.unwrap_or_default()
                    );
                }
            }
        }
    } else if config.broadcast.channels.whatsapp.is_some() {
        out.push_str(
            "- WhatsApp: kein Preis eingetragen (broadcast.channels.whatsapp.prices), keine Schätzung\n",
        );
    }
    let free: Vec<&str> = crate::broadcast::run::real_channels(config)
        .into_iter()
        .filter(|c| *c != CHANNEL)
        .map(|c| match c {
            "email" => "E-Mail",
            "telegram" => "Telegram",
            "mastodon" => "Mastodon",
            other => other,
        })
        .chain(
            config
                .broadcast
                .channels
                .whatsapp
                .is_none()
                .then_some("outbox"),
        )
        .collect();
    if !free.is_empty() {
        let _ = writeln!(
            out,
            "- {}: kostenlos (keine Kosten je Nachricht)",
            free.join(", ")
        );
    }
    out.push('\n');
    Ok(out)
}

/// The German confirmation of a recorded approval.
pub fn approval_text(a: &Approval) -> String {
    let amount = Money::parse(&a.amount).unwrap_or_default();
    format!(
        "Freigabe über das Budget: {} darf {} {} mehr kosten{} (von {}, {}); festgehalten in \
         journal/{APPROVALS_FILE}",
        a.notice,
        amount.german(),
        a.currency,
        a.recipients
            .map(|n| format!(" ({n} ausstehende Empfänger)"))
            .unwrap_or_default(),
        a.by,
        a.t
    )
}

/// What a claim that the budget cut short tells the Actions tab.
pub struct ClaimNotice {
    pub annotations: String,
    pub markdown: String,
}

/// The `::warning` annotations and job summary lines for the recipients a claim deferred by
/// the budget; `None` when it deferred nobody.
pub fn claim_notice(report: &crate::broadcast::claim::ClaimReport) -> Option<ClaimNotice> {
    let mut annotations = String::new();
    let mut markdown = String::from("## Budget\n\n");
    for m in report.messages.iter().filter(|m| m.deferred_by_budget > 0) {
        let text = format!(
            "{} ({}): {} übernommen, {} {}",
            m.title,
            m.key,
            m.claimed,
            m.deferred_by_budget,
            deferred_text(m.budget_reason.as_deref(), &m.key)
        );
        annotations.push_str(&format!(
            "::warning title=Budget erreicht::{}\n",
            text.replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        ));
        markdown.push_str(&format!(
            "> **Budget erreicht:** {}\n\n",
            text.replace('|', "\\|")
        ));
    }
    (!annotations.is_empty()).then_some(ClaimNotice {
        annotations,
        markdown,
    })
}

/// What a run says about recipients the budget deferred: why, and how they get the message.
pub fn deferred_text(reason: Option<&str>, key: &str) -> String {
    format!(
        "wegen des Budgets zurückgestellt ({}); sie bleiben fällig und bekommen die Nachricht, \
         sobald das Budget es erlaubt (nächster Monat, höheres broadcast.budget) oder jemand es \
         freigibt: im Actions-Tab den Publish-Workflow mit approve_over_budget={} starten",
        reason.unwrap_or("Budget erreicht"),
        notice_of(key)
    )
}
