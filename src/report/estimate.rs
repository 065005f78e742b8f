//! The budget's measure beside the report's actual cost, so the dry run's estimate, the budget's
//! spend and the invoice can be explained side by side: per WhatsApp message, the deliveries
//! the budget counts (accepted or an unknown outcome, `broadcast::budget::billable`) × the rate
//! it charges them with (`broadcast::budget::charge_rates`, the template's category), and per
//! month "Budget: X von Y verbraucht" from the same journal lines, with the approvals over the
//! budget (`journal/budget.jsonl`) of that month.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::tz::TimeZone;
use serde::Serialize;

use crate::broadcast::budget::{APPROVALS_FILE, billable, charge_rate, read_approvals};
use crate::broadcast::cost::{Money, Prices};
use crate::config::Config;
use crate::delivery::journal::{IndexEvent, Journal, journal_dir};

use super::Period;

const CHANNEL: &str = "whatsapp";

/// What the budget charges: the rate per delivery of a notice's and an update's message, and
/// the monthly budget if there is one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Measure {
    pub rates: [Money; 2],
    /// The categories the rates are of (the template's and the update template's).
    pub categories: [String; 2],
    pub monthly: Option<Money>,
}

impl Measure {
    /// The budget's measure of a site with a rate card.
    pub fn of(config: &Config, prices: &Prices) -> Measure {
        Measure {
            rates: crate::broadcast::budget::charge_rates(config, prices),
            categories: [false, true]
                .map(|update| crate::broadcast::cost::billing_category(config, update)),
            monthly: config.broadcast.budget.and_then(|b| b.monthly),
        }
    }

    pub fn rate(&self, key: &str) -> Money {
        charge_rate(&self.rates, key)
    }

    /// Why the estimate and the actual cost of message `key` differ in kind: WhatsApp billed
    /// some of it in another category than the one the budget and the preview charge.
    pub fn category_note(
        &self,
        title: &str,
        key: &str,
        billable: &BTreeMap<String, u64>,
    ) -> Option<String> {
        let expected = &self.categories[usize::from(key.contains("#update-"))];
        let other: Vec<String> = billable
            .iter()
            .filter(|(c, n)| *c != expected && **n > 0)
            .map(|(c, n)| format!("{n} als {c}"))
            .collect();
        (!other.is_empty()).then(|| {
            format!(
                "„{title}“: WhatsApp hat {} abgerechnet; Budget und Vorschau rechnen die Vorlage \
                 als {expected} (Meta kann eine Vorlage umstufen; `aushang inbox pull` hält die \
                 gemeldete Kategorie in subscribers/inbox/templates.json fest)",
                other.join(", ")
            )
        })
    }
}

/// One month's spend as the budget counts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetMonth {
    /// `November 2026`.
    pub month: String,
    pub spent: f64,
    /// `broadcast.budget.monthly`.
    pub monthly: f64,
    /// Approvals over the budget recorded in that month, and their sum.
    pub approvals: usize,
    pub approved: f64,
}

pub fn amount(m: Money) -> f64 {
    m.0 as f64 / 1_000_000.0
}

/// How many deliveries of `msg` on WhatsApp the budget counts as spent.
pub fn charged(journal: &Journal, msg: &str) -> std::io::Result<u64> {
    let log = journal.deliveries(msg, CHANNEL)?;
    Ok(log.last.values().filter(|l| billable(l.state)).count() as u64)
}

/// The budget's spend per month of `period` (site time zone) from the journal under `state`:
/// the month of a report, or each month of a year with a spend or an approval.
pub fn months(
    state: &Path,
    period: &Period,
    tz: &TimeZone,
    measure: &Measure,
    currency: &str,
) -> anyhow::Result<Vec<BudgetMonth>> {
    let Some(monthly) = measure.monthly else {
        return Ok(Vec::new());
    };
    let dir = journal_dir(state);
    let journal = Journal::open(&dir)?;
    let month_of = |t: jiff::Timestamp| {
        let d = t.to_zoned_datetime(tz.clone()).date();
        period.contains(d).then(|| d.strftime("%Y-%m").to_string())
    };
    let mut spent: BTreeMap<String, Money> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for line in journal.index_lines() {
        if line.ch != CHANNEL || line.event != IndexEvent::Started || !seen.insert(line.msg.clone())
        {
            continue;
        }
        let rate = measure.rate(&line.msg);
        for l in journal.deliveries(&line.msg, CHANNEL)?.last.values() {
            if billable(l.state)
                && let Some(m) = month_of(l.t)
            {
                let e = spent.entry(m).or_default();
                *e = e.plus(rate);
            }
        }
    }
    let mut approved: BTreeMap<String, (usize, Money)> = BTreeMap::new();
    for a in read_approvals(&dir.join(APPROVALS_FILE))? {
        if a.currency != currency {
            continue;
        }
        if let Some(m) = month_of(a.t) {
            let e = approved.entry(m).or_default();
            e.0 += 1;
            e.1 = e.1.plus(Money::parse(&a.amount).unwrap_or_default());
        }
    }
    let mut keys: Vec<String> = spent.keys().chain(approved.keys()).cloned().collect();
    if period.from.checked_add(jiff::Span::new().months(1)).ok() == Some(period.to) {
        // A month's report always says where its budget stands.
        keys.push(period.from.strftime("%Y-%m").to_string());
    }
    keys.sort();
    keys.dedup();
    Ok(keys
        .into_iter()
        .map(|k| {
            let (approvals, sum) = approved.get(&k).copied().unwrap_or_default();
            BudgetMonth {
                month: Period::month(&k).map(|p| p.label).unwrap_or(k.clone()),
                spent: amount(spent.get(&k).copied().unwrap_or_default()),
                monthly: amount(monthly),
                approvals,
                approved: amount(sum),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_months_spend_is_the_journals_billable_lines_and_its_approvals_are_summed() {
        // Two deliveries sent on 2 December and one approval of 0.1 EUR (tests/fixtures/formats).
        let state =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats/reach/subscribers");
        let rate = Money::parse("0.1").unwrap();
        let measure = Measure {
            rates: [rate, Money::parse("0.25").unwrap()],
            categories: ["utility".into(), "utility".into()],
            monthly: Some(Money::parse("1").unwrap()),
        };
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let december = Period::month("2026-12").unwrap();
        let months = months(&state, &december, &tz, &measure, "EUR").unwrap();
        assert_eq!(
            months,
            [BudgetMonth {
                month: "Dezember 2026".into(),
                spent: 0.2,
                monthly: 1.0,
                approvals: 1,
                approved: 0.1,
            }]
        );
        // Another currency's approval is not this budget's; November spent nothing but is shown.
        let november = months_of(&state, "2026-11", &tz, &measure, "CHF");
        assert_eq!((november[0].spent, november[0].approvals), (0.0, 0));
        // A year lists only the months with a spend or an approval.
        let year =
            super::months(&state, &Period::year("2026").unwrap(), &tz, &measure, "EUR").unwrap();
        assert_eq!(year.len(), 1);
        assert!(
            super::months(&state, &december, &tz, &Measure::default(), "EUR")
                .unwrap()
                .is_empty(),
            "no monthly budget, no line"
        );
    }

    fn months_of(
        state: &Path,
        month: &str,
        tz: &TimeZone,
        measure: &Measure,
        currency: &str,
    ) -> Vec<BudgetMonth> {
        super::months(state, &Period::month(month).unwrap(), tz, measure, currency).unwrap()
    }

    #[test]
    fn a_message_billed_in_another_category_is_explained() {
        let measure = Measure {
            categories: ["utility".into(), "marketing".into()],
            ..Measure::default()
        };
        let billed = BTreeMap::from([("utility".to_string(), 3), ("marketing".to_string(), 2)]);
        assert_eq!(
            measure
                .category_note("Wahl", "/w/#notice", &billed)
                .as_deref(),
            Some(
                "„Wahl“: WhatsApp hat 2 als marketing abgerechnet; Budget und Vorschau rechnen \
                 die Vorlage als utility (Meta kann eine Vorlage umstufen; `aushang inbox pull` \
                 hält die gemeldete Kategorie in subscribers/inbox/templates.json fest)"
            )
        );
        let update = BTreeMap::from([("marketing".to_string(), 2)]);
        assert_eq!(measure.category_note("Wahl", "/w/#update-1", &update), None);
    }
}
