//! The budget guard: `broadcast.budget.monthly` (and `per_notice`) in the rate card's currency.
//!
//! The spend so far comes from the journal: every WhatsApp delivery whose last line is `sent`,
//! `accepted`, or an unknown outcome (`sending`, `uncertain`, a claim without outcome), times the
//! rate of its template's category. That is conservative: Meta bills only delivered messages,
//! so the real cost (from the statuses' `pricing`) is at most this. A run sends (or claims) in
//! plan order while the next message still fits; everyone after that is deferred — never given
//! up: they stay due and a later run sends to them once the budget allows (the next month, a
//! raised budget) or a person approved more for that notice (`broadcast --approve-budget`,
//! recorded in `journal/budget.jsonl`). An approved amount is used up by that notice's
//! deliveries after the approval, before its ordinary budget.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::broadcast::cost::{Money, Prices, billing_category};
use crate::broadcast::plan::PlannedMessage;
use crate::config::Config;
use crate::delivery::journal::{DeliveryState, IndexEvent, Journal};
use crate::delivery::message::Message;

pub use crate::broadcast::budget_text::{
    ClaimNotice, approval_text, claim_notice, deferred_text, dry_run_section,
};

/// The journal file of approvals over the budget.
pub const APPROVALS_FILE: &str = "budget.jsonl";
const CHANNEL: &str = "whatsapp";

/// `broadcast.budget:` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    #[serde(default)]
    pub monthly: Option<String>,
    #[serde(default)]
    pub per_notice: Option<String>,
}

/// The budget: at most `monthly` per calendar month (site time zone), at most `per_notice` for
/// one notice with its updates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    pub monthly: Option<Money>,
    pub per_notice: Option<Money>,
}

impl RawBudget {
    /// The budget, or each problem with the key it concerns.
    pub fn validate(&self) -> Result<Budget, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut amount = |key: &str, v: &Option<String>| match v.as_deref().map(Money::parse) {
            None => None,
            Some(Ok(m)) => Some(m),
            Some(Err(e)) => {
                problems.push((key.to_string(), format!("broadcast.budget.{key}: {e}")));
                None
            }
        };
        let budget = Budget {
            monthly: amount("monthly", &self.monthly),
            per_notice: amount("per_notice", &self.per_notice),
        };
        if problems.is_empty() && budget.monthly.is_none() && budget.per_notice.is_none() {
            problems.push((
                "budget".into(),
                "broadcast.budget braucht monthly, per_notice oder beides".into(),
            ));
        }
        if problems.is_empty() {
            Ok(budget)
        } else {
            Err(problems)
        }
    }
}

/// `check`'s part for the rate card, the template category and the budget: each problem goes
/// to `problem` with the key whose line it concerns. Returns the valid budget.
pub fn check_config(
    whatsapp: Option<&crate::config::WhatsAppConfig>,
    raw: Option<&RawBudget>,
    problem: &mut dyn FnMut(&str, String),
) -> Option<Budget> {
    let mut prices = None;
    if let Some(w) = whatsapp {
        if let Some(c) = &w.template.category
            && let Some(why) = crate::broadcast::cost::category_problem(c)
        {
            problem("category", why);
        }
        if let Some(raw) = &w.prices {
            match Prices::parse(raw) {
                Ok(p) => prices = Some(p),
                Err(list) => {
                    for (key, why) in list {
                        problem(&key, why);
                    }
                }
            }
        }
    }
    let budget = match raw?.validate() {
        Ok(b) => b,
        Err(list) => {
            for (key, why) in list {
                problem(&key, why);
            }
            return None;
        }
    };
    match &prices {
        None if whatsapp.is_some_and(|w| w.prices.is_none()) || whatsapp.is_none() => problem(
            "budget",
            "broadcast.budget braucht die Preise unter broadcast.channels.whatsapp.prices \
             (currency und ein Preis je Kategorie)"
                .into(),
        ),
        Some(p) => {
            // Meta may move a template to MARKETING at any time: the guard must know that price.
            let configured = whatsapp
                .and_then(|w| w.template.category.clone())
                .unwrap_or_else(|| "utility".into())
                .to_ascii_lowercase();
            for category in [configured.as_str(), "marketing"] {
                if p.rate(category).is_none() {
                    problem(
                        "prices",
                        format!(
                            "mit broadcast.budget braucht prices einen Preis für {category} (Meta \
                             kann eine Vorlage jederzeit als MARKETING einstufen)"
                        ),
                    );
                }
            }
        }
        None => {}
    }
    Some(budget)
}

/// One approval over the budget, as a line of `journal/budget.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub t: Timestamp,
    /// The notice's address, e.g. `/bekanntmachungen/2026/sperrung/`.
    pub notice: String,
    /// Who approved (`GITHUB_ACTOR` in the workflow).
    pub by: String,
    /// How much more this notice may cost, in `currency` (`1.5`).
    pub amount: String,
    pub currency: String,
    /// The outstanding recipients the amount was estimated for, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<usize>,
    /// What the notice had cost when it was approved: what it costs beyond that is charged to
    /// the approval (journal order, not clock time, decides what came after).
    #[serde(default)]
    pub spent_before: String,
}

/// The calendar month of `now` in the site's time zone: start, end and German name.
pub fn month_of(config: &Config, now: Timestamp) -> (Timestamp, Timestamp, String) {
    let zoned = now.to_zoned_datetime(config.timezone.clone());
    let start = zoned
        .first_of_month()
        .and_then(|d| d.start_of_day())
        .unwrap_or_else(|_| zoned.clone());
    let end = start
        .checked_add(1.month())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX);
    let name = format!(
        "{} {}",
        crate::site::dates::MONTHS[(zoned.month() as usize).saturating_sub(1) % 12],
        zoned.year()
    );
    (start.timestamp(), end, name)
}

/// The notice address a message key belongs to (`/x/#update-…` → `/x/`).
pub(crate) fn notice_of(key: &str) -> &str {
    key.split('#').next().unwrap_or(key)
}

/// The budget guard of one WhatsApp run.
#[derive(Debug, Clone)]
pub struct Guard {
    pub prices: Prices,
    pub budget: Budget,
    pub month: String,
    /// Rates of the notice and the update template (`None`: no price for its category).
    rates: [(String, Option<Money>); 2],
    /// Spent this month before this run (journal) and by this run so far.
    pub spent_month: Money,
    pub spent_run: Money,
    /// Per notice address: spent on it in all (journal and this run).
    notice_spent: HashMap<String, Money>,
    /// Per notice address: approved amount not yet used.
    approval_left: HashMap<String, Money>,
}

impl Guard {
    /// The guard for a WhatsApp run planning `planned`; `None` without a budget.
    pub fn load(
        config: &Config,
        journal: &Journal,
        planned: &[PlannedMessage],
        now: Timestamp,
    ) -> anyhow::Result<Option<Guard>> {
        let Some(budget) = config.broadcast.budget else {
            return Ok(None);
        };
        let Some(prices) = Prices::of(config) else {
            bail!("broadcast.budget braucht die Preise unter broadcast.channels.whatsapp.prices");
        };
        let (month_start, _, month) = month_of(config, now);
        let rates = [false, true].map(|update| {
            let category = billing_category(config, update);
            let rate = prices.rate(&category);
            (category, rate)
        });
        let charged = charge_rates(config, &prices);
        let rate_of = |key: &str| charge_rate(&charged, key);
        let mut paths: HashMap<String, String> = HashMap::new();
        for p in planned {
            for key in p.message.keys() {
                paths.insert(notice_of(key).to_string(), p.message.notice_path.clone());
            }
        }
        let approvals = read_approvals(&approvals_path(config))?;
        // Per notice: everything approved, and what it had cost at the first approval.
        let mut approved: HashMap<String, (Money, Money)> = HashMap::new();
        for a in approvals.iter().filter(|a| a.currency == prices.currency) {
            let amount = Money::parse(&a.amount).unwrap_or_default();
            let before = Money::parse(&a.spent_before).unwrap_or_default();
            let entry = approved
                .entry(a.notice.clone())
                .or_insert((Money::ZERO, before));
            entry.0 = entry.0.plus(amount);
            entry.1 = entry.1.min(before);
        }
        let mut guard = Guard {
            prices: prices.clone(),
            budget,
            month,
            rates,
            spent_month: Money::ZERO,
            spent_run: Money::ZERO,
            notice_spent: HashMap::new(),
            approval_left: HashMap::new(),
        };
        let index = journal.index_lines();
        let done_before: HashSet<&str> = index
            .iter()
            .filter(|l| l.ch == CHANNEL && l.event == IndexEvent::Completed && l.t < month_start)
            .map(|l| l.msg.as_str())
            .collect();
        let completed_before = |msg: &str| done_before.contains(msg);
        let mut seen = HashSet::new();
        for line in index
            .iter()
            .filter(|l| l.ch == CHANNEL && l.event == IndexEvent::Started)
        {
            let msg = line.msg.as_str();
            let canonical = paths.get(notice_of(msg)).cloned();
            if !seen.insert(msg) || (canonical.is_none() && completed_before(msg)) {
                continue;
            }
            let rate = rate_of(msg);
            let log = journal
                .deliveries(msg, CHANNEL)
                .context("das Journal lässt sich nicht lesen")?;
            for l in log.last.values().filter(|l| billable(l.state)) {
                if l.t >= month_start {
                    guard.spent_month = guard.spent_month.plus(rate);
                }
                if let Some(path) = &canonical {
                    let spent = guard.notice_spent.entry(path.clone()).or_default();
                    *spent = spent.plus(rate);
                }
            }
        }
        for (path, (amount, before)) in approved {
            let spent = guard.notice_spent.get(&path).copied().unwrap_or_default();
            guard
                .approval_left
                .insert(path, amount.minus(spent.minus(before)));
        }
        Ok(Some(guard))
    }

    /// What the notice at `path` has cost so far (journal and this run).
    pub fn notice_spent(&self, path: &str) -> Money {
        self.notice_spent.get(path).copied().unwrap_or_default()
    }

    /// The rate of one message: category and price.
    pub fn rate(&self, message: &Message) -> &(String, Option<Money>) {
        &self.rates[usize::from(message.is_update())]
    }

    /// Why one more delivery of `message` does not fit, or `None` when it does.
    pub fn refusal(&self, message: &Message) -> Option<String> {
        let (category, rate) = self.rate(message);
        let Some(rate) = *rate else {
            return Some(format!(
                "kein Preis für die Kategorie {category} unter broadcast.channels.whatsapp.prices"
            ));
        };
        if rate == Money::ZERO
            || self
                .approval_left
                .get(&message.notice_path)
                .is_some_and(|left| *left >= rate)
        {
            return None;
        }
        let spent = self.spent_month.plus(self.spent_run);
        if let Some(monthly) = self.budget.monthly
            && spent.plus(rate) > monthly
        {
            return Some(format!(
                "Monatsbudget {} für {} erreicht, bisher {} verbraucht",
                self.prices.amount(monthly),
                self.month,
                self.prices.amount(spent)
            ));
        }
        let on_notice = self
            .notice_spent
            .get(&message.notice_path)
            .copied()
            .unwrap_or_default();
        if let Some(per_notice) = self.budget.per_notice
            && on_notice.plus(rate) > per_notice
        {
            return Some(format!(
                "Budget je Bekanntmachung {} erreicht, für diese bisher {}",
                self.prices.amount(per_notice),
                self.prices.amount(on_notice)
            ));
        }
        None
    }

    /// Whether one more delivery of `message` fits; if so, it is charged (to an approval for its
    /// notice first, else to the budget).
    pub fn take(&mut self, message: &Message) -> bool {
        if self.refusal(message).is_some() {
            return false;
        }
        let rate = self.rate(message).1.unwrap_or_default();
        if let Some(left) = self.approval_left.get_mut(&message.notice_path)
            && *left >= rate
        {
            *left = left.minus(rate);
        }
        self.spent_run = self.spent_run.plus(rate);
        let spent = self
            .notice_spent
            .entry(message.notice_path.clone())
            .or_default();
        *spent = spent.plus(rate);
        true
    }

    /// The German line on the state of the budget, for the dry run and the job summary.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(m) = self.budget.monthly {
            parts.push(format!(
                "Monatsbudget {}, im {} bisher {} verbraucht",
                self.prices.amount(m),
                self.month,
                self.prices.amount(self.spent_month)
            ));
        }
        if let Some(p) = self.budget.per_notice {
            parts.push(format!(
                "je Bekanntmachung höchstens {}",
                self.prices.amount(p)
            ));
        }
        format!("Budget: {}", parts.join("; "))
    }
}

/// The guard of a sending run without a claim on WhatsApp (`--run` sends only what its claim
/// budgeted; other channels cost nothing per message).
pub fn for_run(
    config: &Config,
    journal: &Journal,
    planned: &[PlannedMessage],
    channel: &str,
    run: Option<&str>,
    now: Timestamp,
) -> anyhow::Result<Option<std::sync::Arc<std::sync::Mutex<Guard>>>> {
    if channel != CHANNEL || run.is_some() {
        return Ok(None);
    }
    Ok(Guard::load(config, journal, planned, now)?.map(|g| std::sync::Arc::new(g.into())))
}

/// What the budget charges one journal delivery of a notice's message and of an update's: its
/// template's category's price; an unknown price counts as the highest known one. The report's
/// estimate (`report::estimate`) uses the same, so both tell the same spend.
pub fn charge_rates(config: &Config, prices: &Prices) -> [Money; 2] {
    let fallback = prices.rates.values().copied().max().unwrap_or_default();
    [false, true].map(|update| {
        prices
            .rate(&billing_category(config, update))
            .unwrap_or(fallback)
    })
}

/// The rate of [`charge_rates`] for the message key `key` (`…#update-…`: the update's).
pub fn charge_rate(rates: &[Money; 2], key: &str) -> Money {
    rates[usize::from(key.contains("#update-"))]
}

/// Which journal lines count as spent: accepted by the API, taken as delivered, or an unknown
/// outcome (a request may have gone out).
pub fn billable(state: DeliveryState) -> bool {
    matches!(
        state,
        DeliveryState::Sent
            | DeliveryState::Accepted
            | DeliveryState::Sending
            | DeliveryState::Uncertain
            | DeliveryState::Claimed
    )
}

pub fn approvals_path(config: &Config) -> PathBuf {
    crate::delivery::journal::journal_dir(&config.subscribers_dir()).join(APPROVALS_FILE)
}

/// Every approval recorded so far (a missing file: none).
pub fn read_approvals(path: &Path) -> anyhow::Result<Vec<Approval>> {
    crate::fsutil::read_jsonl(path)
        .with_context(|| format!("{} lässt sich nicht lesen", path.display()))
}

/// Appends one approval with a single write, after fencing off a torn last line.
pub fn record_approval(path: &Path, approval: &Approval) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut text = serde_json::to_string(approval)?;
    text.push('\n');
    let torn = std::fs::read(path)
        .map(|b| b.last().is_some_and(|c| *c != b'\n'))
        .unwrap_or(false);
    if torn {
        text.insert(0, '\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("{} lässt sich nicht schreiben", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_data()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_needs_a_valid_amount() {
        let raw = RawBudget {
            monthly: Some("-5".into()),
            per_notice: Some("2.5".into()),
        };
        let err = raw.validate().unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].0, "monthly");
        assert!(RawBudget::default().validate().is_err());
        let ok = RawBudget {
            monthly: Some("50".into()),
            per_notice: None,
        };
        assert_eq!(ok.validate().unwrap().monthly, Some(Money(50_000_000)));
    }

    #[test]
    fn check_wants_prices_for_a_budget_and_names_the_lines() {
        let wa = "title: T\nbase_url: https://t.example/\nbroadcast:\n  channels:\n    whatsapp:\n      phone_number_id: \"1\"\n      template:\n        name: t\n        body: \"{{1}}\"\n        params: [title]\n";
        let parse =
            |text: &str| crate::config::parse(Path::new("/site"), Path::new("aushang.yaml"), text);
        let no_prices = format!("{wa}  budget:\n    monthly: 50\n");
        let err = parse(&no_prices).unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].line, Some(11), "{err:?}");
        assert!(err[0].message.contains("braucht die Preise"), "{err:?}");
        let utility_only = format!(
            "{wa}      prices:\n        currency: EUR\n        utility: 0.0456\n  budget:\n    monthly: 50\n"
        );
        let err = parse(&utility_only).unwrap_err();
        assert_eq!(err[0].line, Some(11), "{err:?}");
        assert!(err[0].message.contains("Preis für marketing"), "{err:?}");
        let bad_category = format!("{wa}        category: promotion\n");
        let err = parse(&bad_category).unwrap_err();
        assert_eq!(err[0].line, Some(11), "{err:?}");
        let fine = utility_only.replace(
            "utility: 0.0456\n",
            "utility: 0.0456\n        marketing: 0.1365\n",
        );
        let config = parse(&fine).unwrap();
        assert_eq!(
            config.broadcast.budget.unwrap().monthly,
            Some(Money(50_000_000))
        );
        assert_eq!(Prices::of(&config).unwrap().currency, "EUR");
    }

    #[test]
    fn a_month_starts_at_local_midnight() {
        let text = "title: T\nbase_url: https://t.example/\n";
        let config =
            crate::config::parse(Path::new("/site"), Path::new("aushang.yaml"), text).unwrap();
        // 23:30 UTC on 30 November is already 1 December in Berlin.
        let (start, end, name) = month_of(&config, "2026-11-30T23:30:00Z".parse().unwrap());
        assert_eq!(name, "Dezember 2026");
        assert_eq!(start.to_string(), "2026-11-30T23:00:00Z");
        assert_eq!(end.to_string(), "2026-12-31T23:00:00Z");
    }
}
