//! What a message costs: the town's WhatsApp rate card (`broadcast.channels.whatsapp.prices`),
//! the category each template is billed as, and amounts of money without rounding errors.
//!
//! WhatsApp bills per delivered template message at a rate per category (utility, marketing,
//! authentication); e-mail, Telegram, Mastodon and the outbox cost nothing per message. Amounts
//! are held as whole millionths of the currency ([`Money`]), so `recipients × rate` and
//! `budget ÷ rate` are exact.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::config::Config;
use crate::delivery::message::Message;

/// The categories Meta bills template messages by.
pub const CATEGORIES: [&str; 3] = ["utility", "marketing", "authentication"];

/// An amount of money in millionths of the currency unit (never negative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub u64);

const UNIT: u64 = 1_000_000;

impl Money {
    pub const ZERO: Money = Money(0);

    /// Parses a decimal amount as written in aushang.yaml or on the command line: `0.0456`,
    /// `50`, `12.5` (a point, at most six decimals, not negative).
    pub fn parse(text: &str) -> Result<Money, String> {
        let t = text.trim();
        if t.starts_with('-') {
            return Err(format!("`{t}` ist negativ; Preise und Budgets sind ≥ 0"));
        }
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        if !digits(whole) || !(frac.is_empty() || digits(frac)) {
            return Err(format!(
                "`{t}` ist kein Betrag (mit Punkt schreiben, z. B. 0.0456 oder 50)"
            ));
        }
        if frac.len() > 6 {
            return Err(format!("`{t}` hat mehr als sechs Nachkommastellen"));
        }
        let whole: u64 = whole
            .parse()
            .ok()
            .filter(|w| *w < u64::MAX / UNIT)
            .ok_or_else(|| format!("`{t}` ist zu groß"))?;
        let frac: u64 = format!("{frac:0<6}").parse().unwrap_or(0);
        Ok(Money(whole * UNIT + frac))
    }

    pub fn times(self, n: usize) -> Money {
        Money(self.0.saturating_mul(n as u64))
    }

    pub fn plus(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    pub fn minus(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }

    /// How many whole `rate`s fit into this amount (`None` for a rate of zero: any number).
    pub fn fits(self, rate: Money) -> Option<u64> {
        (rate.0 > 0).then(|| self.0 / rate.0)
    }

    /// The amount as aushang.yaml takes it back: `1.5`, `0.0456`.
    pub fn plain(self) -> String {
        let frac = format!("{:06}", self.0 % UNIT);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            (self.0 / UNIT).to_string()
        } else {
            format!("{}.{frac}", self.0 / UNIT)
        }
    }

    /// German notation with at least two decimals, more only when the amount has them:
    /// `1.234,50`, `0,0456`.
    pub fn german(self) -> String {
        let whole = (self.0 / UNIT).to_string();
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(c);
        }
        let frac = format!("{:06}", self.0 % UNIT);
        let trimmed = frac.trim_end_matches('0');
        let frac = if trimmed.len() < 2 {
            &frac[..2]
        } else {
            trimmed
        };
        format!("{grouped},{frac}")
    }
}

/// The town's WhatsApp rate card: a currency and a price per category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prices {
    pub currency: String,
    pub rates: BTreeMap<String, Money>,
}

impl Prices {
    /// Reads `prices:` as written (`currency` and one price per category). Every problem comes
    /// with the key it concerns, so `check` can name its line.
    pub fn parse(raw: &BTreeMap<String, String>) -> Result<Prices, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut rates = BTreeMap::new();
        let mut currency = None;
        for (key, value) in raw {
            if key == "currency" {
                let c = value.trim();
                if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase()) {
                    currency = Some(c.to_string());
                } else {
                    problems.push((
                        key.clone(),
                        format!(
                            "currency `{c}` ist kein Währungscode (drei Großbuchstaben, z. B. EUR)"
                        ),
                    ));
                }
            } else if CATEGORIES.contains(&key.as_str()) {
                match Money::parse(value) {
                    Ok(m) => {
                        rates.insert(key.clone(), m);
                    }
                    Err(e) => problems.push((key.clone(), format!("Preis für {key}: {e}"))),
                }
            } else {
                problems.push((
                    key.clone(),
                    format!(
                        "unbekannte Preiskategorie `{key}` unter prices (bekannt: currency, {})",
                        CATEGORIES.join(", ")
                    ),
                ));
            }
        }
        if currency.is_none() && !raw.contains_key("currency") {
            problems.push((
                "prices".into(),
                "unter prices fehlt currency (z. B. currency: EUR)".into(),
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Prices {
            currency: currency.unwrap_or_default(),
            rates,
        })
    }

    /// The validated rate card of a site, if it has one (`check` has refused a broken one).
    pub fn of(config: &Config) -> Option<Prices> {
        let raw = config
            .broadcast
            .channels
            .whatsapp
            .as_ref()?
            .prices
            .as_ref()?;
        Prices::parse(raw).ok()
    }

    pub fn rate(&self, category: &str) -> Option<Money> {
        self.rates.get(category).copied()
    }

    /// `1,50 EUR`.
    pub fn amount(&self, m: Money) -> String {
        format!("{} {}", m.german(), self.currency)
    }
}

/// Checks `template.category` (what the town entered when it created the template).
pub fn category_problem(category: &str) -> Option<String> {
    (!CATEGORIES.contains(&category.to_ascii_lowercase().as_str())).then(|| {
        format!(
            "unbekannte Vorlagen-Kategorie `{category}` (bekannt: {})",
            CATEGORIES.join(", ")
        )
    })
}

/// The category a message's template (the update template with `is_update`) is billed as: what Meta last reported for it
/// (`subscribers/inbox/templates.json`, kept by `aushang inbox pull`; Meta may move a template
/// to MARKETING), else `template.category`, else utility.
pub fn billing_category(config: &Config, is_update: bool) -> String {
    let Some(w) = &config.broadcast.channels.whatsapp else {
        return "utility".into();
    };
    let name = if is_update {
        w.template
            .update_name
            .as_deref()
            .unwrap_or(&w.template.name)
    } else {
        &w.template.name
    };
    let reported =
        crate::providers::whatsapp::templates::TemplateBook::load(&config.subscribers_dir())
            .ok()
            .and_then(|book| {
                book.get(name, &w.template.language)
                    .and_then(|s| s.category.clone())
            });
    reported
        .or_else(|| w.template.category.clone())
        .unwrap_or_else(|| "utility".into())
        .to_ascii_lowercase()
}

/// The price of one message on WhatsApp: its category and rate (`None`: no price entered for
/// that category).
pub fn message_rate(
    config: &Config,
    prices: &Prices,
    message: &Message,
) -> (String, Option<Money>) {
    let category = billing_category(config, message.is_update());
    let rate = prices.rate(&category);
    (category, rate)
}

/// The dry run's cost line for one WhatsApp message: `recipients × rate = total`.
pub fn estimate_line(
    config: &Config,
    prices: &Prices,
    message: &Message,
    recipients: Option<usize>,
) -> String {
    let (category, rate) = message_rate(config, prices, message);
    let mut out = String::new();
    match (rate, recipients) {
        (None, _) => {
            let _ = writeln!(
                out,
                "- Geschätzte Kosten: unbekannt (kein Preis für die Kategorie {category} unter \
                 broadcast.channels.whatsapp.prices)"
            );
        }
        (Some(rate), Some(n)) => {
            let _ = writeln!(
                out,
                "- Geschätzte Kosten (WhatsApp, {category}): {n} × {} = {}",
                prices.amount(rate),
                prices.amount(rate.times(n))
            );
        }
        (Some(rate), None) => {
            let _ = writeln!(
                out,
                "- Geschätzte Kosten (WhatsApp, {category}): Empfänger × {} (Empfängerzahl \
                 unbekannt)",
                prices.amount(rate)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_written_the_german_way() {
        let rate = Money::parse("0.0456").unwrap();
        assert_eq!(rate, Money(45_600));
        assert_eq!(rate.times(3).german(), "0,1368");
        assert_eq!(Money::parse("1").unwrap().german(), "1,00");
        assert_eq!(Money::parse("1234.5").unwrap().german(), "1.234,50");
        assert_eq!(Money::parse("1234567").unwrap().german(), "1.234.567,00");
        assert_eq!(
            Money::parse("1.00")
                .unwrap()
                .fits(Money::parse("0.1").unwrap()),
            Some(10)
        );
        assert_eq!(
            Money::parse("0.99")
                .unwrap()
                .fits(Money::parse("0.1").unwrap()),
            Some(9)
        );
        assert_eq!(Money::parse("12.5").unwrap().plain(), "12.5");
        for bad in ["-0.1", "0,05", "abc", "", "0.0000001", ".5"] {
            assert!(Money::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_rate_card_names_each_bad_key() {
        let raw: BTreeMap<String, String> = [
            ("currency", "EUR"),
            ("utility", "0.0456"),
            ("marketing", "-0.1"),
            ("promo", "0.2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let err = Prices::parse(&raw).unwrap_err();
        let keys: Vec<&str> = err.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["marketing", "promo"], "{err:?}");
        assert!(err[0].1.contains("negativ"), "{err:?}");
        assert!(
            err[1].1.contains("unbekannte Preiskategorie `promo`"),
            "{err:?}"
        );
        let ok: BTreeMap<String, String> = [("currency", "EUR"), ("utility", "0.0456")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = Prices::parse(&ok).unwrap();
        assert_eq!(p.amount(p.rate("utility").unwrap().times(10)), "0,456 EUR");
        assert_eq!(p.rate("marketing"), None);
    }
}
