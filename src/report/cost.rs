//! The WhatsApp rate card, `broadcast.channels.whatsapp.prices` in `aushang.yaml` (currency and
//! a price per message and pricing category), and the actual cost of the billed messages.
//!
//! Read here on its own from the file, so the report works with any configuration that has the
//! section (other keys are ignored): `prices: {currency: EUR, utility: 0.0456, marketing: 0.1131}`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// Currency and price per billed message, by pricing category (lower case).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateCard {
    pub currency: String,
    pub prices: BTreeMap<String, f64>,
}

#[derive(Deserialize, Default)]
struct Raw {
    #[serde(default)]
    broadcast: RawBroadcast,
}
#[derive(Deserialize, Default)]
struct RawBroadcast {
    #[serde(default)]
    channels: RawChannels,
}
#[derive(Deserialize, Default)]
struct RawChannels {
    #[serde(default)]
    whatsapp: Option<RawWhatsApp>,
}
#[derive(Deserialize, Default)]
struct RawWhatsApp {
    #[serde(default)]
    prices: Option<BTreeMap<String, serde_json::Value>>,
}

impl RateCard {
    /// The rate card of the site at `root`, if its `aushang.yaml` has one. A malformed price is
    /// an error naming the key.
    pub fn load(root: &Path) -> anyhow::Result<Option<RateCard>> {
        let path = root.join(crate::config::CONFIG_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        RateCard::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Option<RateCard>, String> {
        let raw: Raw = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let Some(prices) = raw.broadcast.channels.whatsapp.and_then(|w| w.prices) else {
            return Ok(None);
        };
        let mut card = RateCard::default();
        let mut add = |key: &str, value: &serde_json::Value| -> Result<(), String> {
            let price = match value {
                serde_json::Value::Number(n) => n.as_f64(),
                serde_json::Value::String(s) => s.trim().replace(',', ".").parse().ok(),
                _ => None,
            }
            .filter(|p: &f64| p.is_finite() && *p >= 0.0)
            .ok_or_else(|| {
                format!(
                    "broadcast.channels.whatsapp.prices.{key}: kein Preis (eine Zahl ≥ 0 erwartet, z. B. 0.0456)"
                )
            })?;
            card.prices.insert(key.to_lowercase(), price);
            Ok(())
        };
        for (key, value) in &prices {
            match (key.as_str(), value) {
                ("currency", serde_json::Value::String(c)) => card.currency = c.trim().into(),
                (_, serde_json::Value::Object(nested)) => {
                    for (k, v) in nested {
                        add(k, v)?;
                    }
                }
                _ => add(key, value)?,
            }
        }
        if card.currency.is_empty() {
            card.currency = "EUR".into();
        }
        Ok(Some(card))
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
    fn flat_and_nested_rate_cards_are_read() {
        let flat = "title: x\nbroadcast:\n  channels:\n    whatsapp:\n      phone_number_id: \"1\"\n      prices:\n        currency: EUR\n        utility: 0.0456\n        marketing: \"0,1131\"\n";
        let card = RateCard::parse(flat).unwrap().unwrap();
        assert_eq!(card.currency, "EUR");
        assert_eq!(card.price("UTILITY"), Some(0.0456));
        assert_eq!(card.price("marketing"), Some(0.1131));
        let nested = "broadcast:\n  channels:\n    whatsapp:\n      prices:\n        currency: CHF\n        per_category:\n          utility: 0.05\n";
        let card = RateCard::parse(nested).unwrap().unwrap();
        assert_eq!(
            (card.currency.as_str(), card.price("utility")),
            ("CHF", Some(0.05))
        );
        assert_eq!(RateCard::parse("title: x\n").unwrap(), None);
        let bad = "broadcast:\n  channels:\n    whatsapp:\n      prices:\n        utility: teuer\n";
        assert!(RateCard::parse(bad).unwrap_err().contains("prices.utility"));
        assert_eq!(money(12.3456, "EUR"), "12,35 EUR");
    }
}
