//! Meta's `pricing` object on delivery status webhooks (`billable`, `pricing_model`, `category`,
//! `type`), as the inbox stores it with a status event and the reach ledger counts it.
//! WhatsApp's wire format, so it lives with the provider.

use serde::{Deserialize, Serialize};

/// The `pricing` of one status (API notes §5.5). Meta sends it on the sent, delivered or read
/// events of a message, never on a failed one; `billable` is being phased out, so `type` decides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billable: Option<bool>,
    /// `PMP` (per-message pricing since July 2025).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pricing_model: String,
    /// `utility`, `marketing`, `authentication`, `service`, …
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub category: String,
    /// `regular` (billed), `free_customer_service`, `free_entry_point`.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

impl Pricing {
    /// Whether Meta bills this message: a `free_…` type never, `regular` unless `billable` says
    /// otherwise, and without a type whatever `billable` says (older payloads).
    pub fn is_billed(&self) -> bool {
        if self.kind.starts_with("free") {
            return false;
        }
        match self.billable {
            Some(b) => b,
            None => self.kind == "regular",
        }
    }

    /// The category as counted (lower case; `unbekannt` when Meta sent none).
    pub fn category_key(&self) -> String {
        let c = self.category.trim().to_lowercase();
        if c.is_empty() { "unbekannt".into() } else { c }
    }
}

/// Checks a pulled status's `pricing` (tokens of letters, digits and `_`); the field's name on
/// failure.
pub fn check(p: &Pricing) -> Result<(), &'static str> {
    let ok = |s: &str| s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok(&p.pricing_model) {
        return Err("pricing_model");
    }
    if !ok(&p.category) {
        return Err("category");
    }
    if !ok(&p.kind) {
        return Err("type");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(billable: Option<bool>, kind: &str) -> Pricing {
        Pricing {
            billable,
            pricing_model: "PMP".into(),
            category: "utility".into(),
            kind: kind.into(),
        }
    }

    #[test]
    fn the_type_decides_and_billable_is_the_fallback() {
        assert!(p(Some(true), "regular").is_billed());
        assert!(p(None, "regular").is_billed());
        assert!(!p(Some(true), "free_customer_service").is_billed());
        assert!(!p(None, "free_entry_point").is_billed());
        assert!(!p(Some(false), "regular").is_billed());
        assert!(p(Some(true), "").is_billed());
        assert!(!p(None, "").is_billed());
        let json =
            r#"{"billable":true,"pricing_model":"PMP","type":"regular","category":"utility"}"#;
        let back: Pricing = serde_json::from_str(json).unwrap();
        assert_eq!(back, p(Some(true), "regular"));
    }

    #[test]
    fn pricing_fields_must_be_plain_tokens() {
        let ok = Pricing {
            billable: Some(true),
            pricing_model: "PMP".into(),
            category: "utility".into(),
            kind: "regular".into(),
        };
        assert_eq!(check(&ok), Ok(()));
        let bad = Pricing {
            category: "utility\u{1b}[31m".into(),
            ..ok.clone()
        };
        assert_eq!(check(&bad), Err("category"));
        let long = Pricing {
            kind: "x".repeat(65),
            ..ok
        };
        assert_eq!(check(&long), Err("type"));
    }
}
