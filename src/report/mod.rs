//! Reach and cost: what each notice reached and what it cost (issue 17). The reach ledger of
//! status webhooks and `reach.json` are kept in the state at every `aushang inbox pull`
//! (`inbox::reach_ledger`, `inbox::reach`);
//! `aushang report` turns them, the journal and (with the list's key) the subscriber trend into
//! a table for a month or a year, in text, Markdown, CSV or JSON, and an SVG chart.

pub mod cost;
pub mod estimate;
pub mod render;
pub mod svg;
pub mod trend;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::inbox::reach::{self, MessageReach};
use crate::inbox::reach_ledger as ledger;
use trend::WeekCount;

/// The period a report covers: a month or a year, in the site's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    /// `November 2026` or `2026`.
    pub label: String,
    /// First day.
    pub from: Date,
    /// The day after the last.
    pub to: Date,
}

impl Period {
    /// `2026-11`.
    pub fn month(text: &str) -> Result<Period, String> {
        let bad = || format!("--month {text:?}: erwartet JJJJ-MM, z. B. 2026-11");
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        let (y, m): (i16, i8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        let from = Date::new(y, m, 1).map_err(|_| bad())?;
        let to = from
            .checked_add(jiff::Span::new().months(1))
            .map_err(|_| bad())?;
        Ok(Period {
            label: format!("{} {y}", crate::site::dates::MONTHS[(m - 1) as usize]),
            from,
            to,
        })
    }

    /// `2026`.
    pub fn year(text: &str) -> Result<Period, String> {
        let bad = || format!("--year {text:?}: erwartet JJJJ, z. B. 2026");
        let y: i16 = text.trim().parse().map_err(|_| bad())?;
        Ok(Period {
            label: y.to_string(),
            from: Date::new(y, 1, 1).map_err(|_| bad())?,
            to: Date::new(y + 1, 1, 1).map_err(|_| bad())?,
        })
    }

    /// The month of `now` in `tz`.
    pub fn current_month(now: Timestamp, tz: &TimeZone) -> Period {
        let d = now.to_zoned_datetime(tz.clone()).date();
        Period::month(&d.strftime("%Y-%m").to_string()).expect("a valid month")
    }

    pub fn contains(&self, d: Date) -> bool {
        d >= self.from && d < self.to
    }
}

/// One row of the per-notice table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The day its sending started (site time zone).
    pub date: Option<Date>,
    /// The notice's title (from `content/`), or its address when the notice is gone.
    pub title: String,
    #[serde(flatten)]
    pub reach: MessageReach,
    /// WhatsApp: the deliveries the budget counts as spent (accepted or an unknown outcome).
    pub charged: u64,
    /// WhatsApp with a rate card: `charged` × the rate the budget charges (the estimate's and
    /// the budget's measure).
    pub estimated_cost: Option<f64>,
    /// WhatsApp with a rate card: the billed messages (statuses' `pricing`) × their category's
    /// price; `None` when a billed category has no price.
    pub actual_cost: Option<f64>,
}

/// Billed and free messages of one pricing category, with the actual cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostLine {
    pub category: String,
    pub billable: u64,
    pub free: u64,
    /// Price per billed message from the rate card.
    pub price: Option<f64>,
    pub cost: Option<f64>,
}

/// The subscriber trend of the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trend {
    /// Per week and channel (topics summed, each person once).
    pub by_channel: Vec<WeekCount>,
    /// Per week, channel and topic (a person with several topics under each).
    pub by_topic: Vec<WeekCount>,
}

/// Everything one report shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub period: Period,
    pub rows: Vec<Row>,
    pub costs: Vec<CostLine>,
    /// The rate card's currency (empty without a rate card).
    pub currency: String,
    pub total_cost: Option<f64>,
    /// Billed and free messages not tied to a notice (confirmation requests).
    pub other_billable: u64,
    pub other_free: u64,
    /// The budget's spend per month (with `broadcast.budget.monthly`).
    pub budget: Vec<estimate::BudgetMonth>,
    /// `None` when the list's key was not available.
    pub trend: Option<Trend>,
    pub notes: Vec<String>,
}

/// Builds the report of `period` from the state directory `state`. `titles`: notice path →
/// title; `subscribers`: the decrypted list, for the trend.
pub fn build(
    state: &Path,
    period: Period,
    tz: &TimeZone,
    titles: &HashMap<String, String>,
    rates: Option<&cost::RateCard>,
    subscribers: Option<&[crate::subscribers::Subscriber]>,
    now: Timestamp,
) -> std::io::Result<Report> {
    // Only the period's messages are read (a started message outside it is passed over).
    let all = reach::compute_where(state, |msg, channel, started| {
        let day = started.to_zoned_datetime(tz.clone()).date();
        (!period.contains(day)).then(|| MessageReach {
            msg: msg.to_string(),
            channel: channel.to_string(),
            started: Some(started),
            ..Default::default()
        })
    })?;
    let ledger = ledger::Ledger::load(state)?;
    let journal =
        crate::delivery::journal::Journal::open(&crate::delivery::journal::journal_dir(state))?;
    let measure = rates.and_then(|r| r.measure.as_ref());
    let mut category_notes = Vec::new();
    let mut rows = Vec::new();
    let mut billable: BTreeMap<String, u64> = BTreeMap::new();
    let mut free: BTreeMap<String, u64> = BTreeMap::new();
    for m in all.messages {
        let date = m.started.map(|t| t.to_zoned_datetime(tz.clone()).date());
        if !date.is_some_and(|d| period.contains(d)) {
            continue;
        }
        let base = titles
            .get(m.notice_path())
            .cloned()
            .unwrap_or_else(|| m.notice_path().to_string());
        let title = if m.is_update() {
            format!("{base} (Aktualisierung)")
        } else {
            base
        };
        for (k, v) in &m.billable {
            *billable.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &m.free {
            *free.entry(k.clone()).or_default() += v;
        }
        let whatsapp = m.channel == "whatsapp";
        let charged = if whatsapp {
            estimate::charged(&journal, &m.msg)?
        } else {
            0
        };
        let estimated_cost = measure
            .filter(|_| whatsapp)
            .map(|ms| estimate::amount(ms.rate(&m.msg).times(charged as usize)));
        if let Some(note) = measure
            .filter(|_| whatsapp)
            .and_then(|ms| ms.category_note(&title, &m.msg, &m.billable))
        {
            category_notes.push(note);
        }
        let actual_cost = rates.filter(|_| whatsapp).and_then(|r| {
            m.billable
                .iter()
                .map(|(c, n)| r.price(c).map(|p| p * *n as f64))
                .sum()
        });
        rows.push(Row {
            date,
            title,
            reach: m,
            charged,
            estimated_cost,
            actual_cost,
        });
    }
    let (mut other_billable, mut other_free) = (0, 0);
    for (key, counts) in &ledger.messages {
        let Some(month) = ledger::other_month(key) else {
            continue;
        };
        let Ok(first) = Period::month(month) else {
            continue;
        };
        if !period.contains(first.from) {
            continue;
        }
        for (k, v) in &counts.billable {
            *billable.entry(k.clone()).or_default() += v;
            other_billable += v;
        }
        for (k, v) in &counts.free {
            *free.entry(k.clone()).or_default() += v;
            other_free += v;
        }
    }
    let mut notes = category_notes;
    let mut categories: Vec<String> = billable.keys().chain(free.keys()).cloned().collect();
    categories.sort();
    categories.dedup();
    let mut total = rates.map(|_| 0.0);
    let mut costs = Vec::new();
    for c in categories {
        let b = billable.get(&c).copied().unwrap_or(0);
        let price = rates.and_then(|r| r.price(&c));
        let cost = price.map(|p| p * b as f64);
        match (cost, total.as_mut()) {
            (Some(x), Some(t)) => *t += x,
            (None, Some(_)) if b > 0 => {
                notes.push(format!(
                    "Kein Preis für die Kategorie „{c}“ in broadcast.channels.whatsapp.prices: \
                     {b} abgerechnete Nachricht(en) fehlen in der Summe"
                ));
            }
            _ => {}
        }
        costs.push(CostLine {
            category: c.clone(),
            billable: b,
            free: free.get(&c).copied().unwrap_or(0),
            price,
            cost,
        });
    }
    if rates.is_none() {
        notes.push(
            "Kein Preisblatt in aushang.yaml (broadcast.channels.whatsapp.prices): die Kosten \
             werden nicht berechnet"
                .into(),
        );
    }
    let budget = match (measure, rates) {
        (Some(ms), Some(r)) => estimate::months(state, &period, tz, ms, &r.currency)
            .map_err(|e| std::io::Error::other(format!("{e:#}")))?,
        _ => Vec::new(),
    };
    let trend = subscribers.map(|subs| {
        let weeks = trend::weeks(period.from, period.to);
        Trend {
            by_channel: trend::by_channel(subs, &weeks, tz, now),
            by_topic: trend::trend(subs, &weeks, tz, now),
        }
    });
    Ok(Report {
        period,
        rows,
        costs,
        currency: rates.map(|r| r.currency.clone()).unwrap_or_default(),
        total_cost: total,
        other_billable,
        other_free,
        budget,
        trend,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse() {
        let p = Period::month("2026-12").unwrap();
        assert_eq!(p.label, "Dezember 2026");
        assert_eq!(
            (p.from, p.to),
            (
                jiff::civil::date(2026, 12, 1),
                jiff::civil::date(2027, 1, 1)
            )
        );
        assert!(Period::month("2026-13").is_err() && Period::month("11/2026").is_err());
        assert_eq!(
            Period::year("2026").unwrap().to,
            jiff::civil::date(2027, 1, 1)
        );
    }
}
