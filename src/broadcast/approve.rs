//! `aushang broadcast --approve-budget NOTICE [--approve-amount AMOUNT]`: a person allows one
//! notice to cost more than the budget. Recorded in `journal/budget.jsonl` (who, when, how
//! much) and honoured by the budget guard ([`crate::broadcast::budget`]) of every later run.
//! Without an amount, the approval covers what the notice's outstanding WhatsApp recipients
//! cost (recipients × rate; reading them needs the list's key).

use anyhow::{Context, bail};
use jiff::Timestamp;

use crate::broadcast::audience::SubscriberSource;
use crate::broadcast::budget::{Approval, Guard, approvals_path, record_approval};
use crate::broadcast::claim::real_guards;
use crate::broadcast::cost::{Money, Prices, message_rate};
use crate::broadcast::plan::{PlannedMessage, plan};
use crate::config::Config;
use crate::content::Notice;
use crate::delivery::journal::{Journal, journal_dir};
use crate::subscribers::{Channel, Status};

/// The environment variable naming who approves (set by GitHub Actions).
pub const ACTOR_ENV: &str = "GITHUB_ACTOR";

/// Finds the notice `reference` names: its address (`/bekanntmachungen/2026/x/`, slashes
/// optional) or its slug when that is unique.
pub fn find_notice<'n>(notices: &'n [Notice], reference: &str) -> anyhow::Result<&'n Notice> {
    let wanted = reference.trim().trim_matches('/');
    let wanted = wanted.split('#').next().unwrap_or(wanted);
    if let Some(n) = notices.iter().find(|n| n.path.trim_matches('/') == wanted) {
        return Ok(n);
    }
    let by_slug: Vec<&Notice> = notices.iter().filter(|n| n.slug == wanted).collect();
    match by_slug[..] {
        [one] => Ok(one),
        [] => bail!(
            "keine Bekanntmachung `{reference}`: die Adresse angeben, z. B. \
             /bekanntmachungen/2026/sperrung-hauptstrasse/"
        ),
        _ => bail!(
            "`{reference}` passt auf mehrere Bekanntmachungen: die ganze Adresse angeben ({})",
            by_slug
                .iter()
                .map(|n| n.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Records an approval over the budget for one notice and returns it.
pub fn approve(
    config: &Config,
    notices: &[Notice],
    reference: &str,
    amount: Option<&str>,
    now: Timestamp,
    actor: Option<String>,
) -> anyhow::Result<Approval> {
    if config.broadcast.budget.is_none() {
        bail!("aushang.yaml hat kein broadcast.budget: es gibt nichts zu überschreiten");
    }
    let Some(prices) = Prices::of(config) else {
        bail!("broadcast.budget braucht die Preise unter broadcast.channels.whatsapp.prices");
    };
    let notice = find_notice(notices, reference)?;
    let journal = Journal::open(&journal_dir(&config.subscribers_dir()))
        .context("das Journal lässt sich nicht lesen")?;
    let planned: Vec<_> = plan(config, notices, &journal, "whatsapp", now, real_guards())
        .into_iter()
        .filter(|p| p.message.notice_path == notice.path)
        .collect();
    if planned.is_empty() {
        bail!(
            "{}: auf WhatsApp ist nichts offen (schon versandt, nicht veröffentlicht oder \
             aufgegeben); eine Freigabe wäre wirkungslos",
            notice.path
        );
    }
    let spent_before = Guard::load(config, &journal, &planned, now)?
        .map(|g| g.notice_spent(&notice.path))
        .unwrap_or_default();
    let (amount, recipients) = match amount {
        Some(text) => (
            Money::parse(text).map_err(|e| anyhow::anyhow!("--approve-amount: {e}"))?,
            None,
        ),
        None => {
            let (amount, n) = outstanding(config, &journal, &planned, &prices)?;
            (amount, Some(n))
        }
    };
    let approval = Approval {
        t: now,
        notice: notice.path.clone(),
        by: actor
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| "unbekannt (ohne GITHUB_ACTOR)".into()),
        amount: amount.plain(),
        currency: prices.currency.clone(),
        recipients,
        spent_before: spent_before.plain(),
    };
    record_approval(&approvals_path(config), &approval)?;
    Ok(approval)
}

/// What the notice's open WhatsApp messages still cost: its recipients without a final or
/// unknown outcome, times each message's rate.
fn outstanding(
    config: &Config,
    journal: &Journal,
    planned: &[PlannedMessage],
    prices: &Prices,
) -> anyhow::Result<(Money, usize)> {
    let mut source = SubscriberSource::open(config, true)?;
    let messages: Vec<_> = planned.iter().map(|p| &p.message).collect();
    let wants = |s: &crate::subscribers::Subscriber, m: &crate::delivery::message::Message| {
        s.channel == Channel::WhatsApp
            && s.status == Status::Active
            && s.wants(s.channel, m.category.as_deref())
    };
    source
        .census(&messages, wants)
        .context("die Abonnentenliste ist nicht verwendbar")?;
    let (mut total, mut count) = (Money::ZERO, 0);
    for p in planned {
        let Some(rate) = message_rate(config, prices, &p.message).1 else {
            bail!(
                "kein Preis für die Kategorie von {} unter broadcast.channels.whatsapp.prices: \
                 --approve-amount angeben",
                p.message.key
            );
        };
        let states = journal.delivery_states(p.message.keys(), "whatsapp")?;
        let message = p.message.clone();
        let mut open = 0;
        for row in source.recipients(move |s| wants(s, &message)) {
            let sub = row.context("die Abonnentenliste ließ sich nicht weiterlesen")?;
            if !states.is_final(&sub.id) && !states.is_uncertain(&sub.id) {
                open += 1;
            }
        }
        total = total.plus(rate.times(open));
        count += open;
    }
    Ok((total, count))
}
