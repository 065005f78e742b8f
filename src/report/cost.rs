//! The report's view of the town's WhatsApp rate card: `broadcast::cost::Prices` (read and
//! checked with the rest of `aushang.yaml`, the same card the budget guard uses) as a price per
//! pricing category, for summing up the billed messages of a month or a year.

use std::collections::BTreeMap;

use crate::broadcast::cost::Prices;
use crate::config::Config;

/// Currency and price per billed message, by pricing category (lower case).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateCard {
    pub currency: String,
    pub prices: BTreeMap<String, f64>,
    /// The budget's measure of spend (`None` when made from a bare rate card).
    pub measure: Option<super::estimate::Measure>,
}

impl RateCard {
    /// The rate card of the site, if its `aushang.yaml` has one (`check` refuses a broken one).
    pub fn of(config: &Config) -> Option<RateCard> {
        Prices::of(config).map(|p| RateCard {
            measure: Some(super::estimate::Measure::of(config, &p)),
            ..RateCard::from_prices(&p)
        })
    }

    pub fn from_prices(prices: &Prices) -> RateCard {
        RateCard {
            currency: prices.currency.clone(),
            prices: prices
                .rates
                .iter()
                .map(|(category, m)| (category.to_lowercase(), m.0 as f64 / 1_000_000.0))
                .collect(),
            measure: None,
        }
    }

    pub fn price(&self, category: &str) -> Option<f64> {
        self.prices.get(&category.to_lowercase()).copied()
    }
}

/// `12.3456` as `12,35 EUR` (German decimal comma, two places).
pub fn money(amount: f64, currency: &str) -> String {
    format!("{} {currency}", format!("{amount:.2}").replace('.', ","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budgets_rate_card_is_the_reports() {
        let raw: BTreeMap<String, String> = [
            ("currency", "EUR"),
            ("utility", "0.0456"),
            ("marketing", "0.1131"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let card = RateCard::from_prices(&Prices::parse(&raw).unwrap());
        assert_eq!(card.currency, "EUR");
        assert_eq!(card.price("UTILITY"), Some(0.0456));
        assert_eq!(card.price("marketing"), Some(0.1131));
        assert_eq!(card.price("service"), None);
        assert_eq!(money(12.3456, "EUR"), "12,35 EUR");
    }
}
