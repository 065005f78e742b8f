//! Turning what people type into one canonical address: E.164 mobile numbers, lower-cased e-mail.
//!
//! Canonical addresses are what make duplicates visible: `0151 2345 6789` and
//! `+49 (0)151/23456789` must be the same subscriber. Errors never repeat the input in clear
//! (it is personal data); they show it masked.

use phonenumber::{Mode, PhoneNumber, Type};

use super::record::{Channel, mask};

/// Numbers without a country code are read as German ones.
const DEFAULT_REGION: phonenumber::country::Id = phonenumber::country::Id::DE;

/// Why an address was rejected. The message holds the masked input only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (`{masked}`)")]
pub struct AddressError {
    /// The input, masked for logs.
    pub masked: String,
    pub reason: String,
}

impl AddressError {
    fn new(input: &str, reason: impl Into<String>) -> Self {
        AddressError {
            masked: mask(input.trim()),
            reason: reason.into(),
        }
    }
}

/// Normalises `raw` for `channel`: phones to E.164 (mobile only), e-mail to lower case.
pub fn normalize(channel: Channel, raw: &str) -> Result<String, AddressError> {
    match channel {
        Channel::WhatsApp | Channel::Sms => normalize_mobile(raw),
        Channel::Email => normalize_email(raw),
        // Telegram bots cannot write to a number; they store the chat id the user gave them.
        Channel::Telegram => {
            let t = raw.trim();
            if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '-') {
                Ok(t.to_string())
            } else {
                Err(AddressError::new(
                    t,
                    "eine Telegram-Adresse ist die Chat-ID (eine Zahl)",
                ))
            }
        }
    }
}

/// The form used to look a person up (`remove`, `forget`, `export`): any valid phone number or
/// e-mail address, without the mobile-only rule, so a stored number is always findable.
pub fn lookup_key(raw: &str) -> Result<String, AddressError> {
    if raw.contains('@') {
        normalize_email(raw)
    } else if raw.trim().chars().all(|c| c.is_ascii_digit() || c == '-')
        && !raw.trim().starts_with('0')
    {
        // A bare number not starting with 0 is a Telegram chat id, not a phone number.
        Ok(raw.trim().to_string())
    } else {
        parse_phone(raw).map(|n| e164(&n))
    }
}

/// A German (or international) mobile number in E.164, e.g. `+4915123456789`.
pub fn normalize_mobile(raw: &str) -> Result<String, AddressError> {
    let number = parse_phone(raw)?;
    if !number.is_valid() {
        return Err(AddressError::new(
            raw,
            "keine gültige Telefonnummer: die Ziffern passen in keinen Nummernbereich ihres Landes",
        ));
    }
    match number.number_type(&phonenumber::metadata::DATABASE) {
        Type::Mobile | Type::FixedLineOrMobile => Ok(e164(&number)),
        other => Err(AddressError::new(
            raw,
            format!(
                "das ist {}, die keine WhatsApp- oder SMS-Nachrichten empfangen kann; nötig ist eine Mobilnummer",
                describe(other)
            ),
        )),
    }
}

/// Lower-cases and checks an e-mail address (one `@`, a dot in the domain, no spaces).
pub fn normalize_email(raw: &str) -> Result<String, AddressError> {
    let email = raw.trim().to_lowercase();
    let Some((local, domain)) = email.split_once('@') else {
        return Err(AddressError::new(
            raw,
            "keine E-Mail-Adresse: das `@` fehlt",
        ));
    };
    let ok = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && email.len() <= 254
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c));
    if ok {
        Ok(email)
    } else {
        Err(AddressError::new(raw, "keine gültige E-Mail-Adresse"))
    }
}

fn parse_phone(raw: &str) -> Result<PhoneNumber, AddressError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(AddressError {
            masked: String::new(),
            reason: "die Telefonnummer ist leer".into(),
        });
    }
    if trimmed.chars().any(|c| c.is_alphabetic()) {
        return Err(AddressError::new(
            trimmed,
            "eine Telefonnummer darf nur Ziffern, Leerzeichen und + / - ( ) enthalten",
        ));
    }
    // "+49 (0)151 …": phonenumber drops the bracketed trunk prefix itself (checked with 0.3.10;
    // the notation tests below would catch a change).
    phonenumber::parse(Some(DEFAULT_REGION), trimmed).map_err(|e| {
        let reason = match e {
            phonenumber::ParseError::NoNumber => "keine Telefonnummer".to_string(),
            phonenumber::ParseError::InvalidCountryCode => "unbekannte Ländervorwahl".to_string(),
            phonenumber::ParseError::TooShortAfterIdd | phonenumber::ParseError::TooShortNsn => {
                "zu kurz für eine Telefonnummer".to_string()
            }
            phonenumber::ParseError::TooLong => "zu lang für eine Telefonnummer".to_string(),
            other => {
                format!("keine Telefonnummer (Meldung der Telefonnummern-Bibliothek: {other})")
            }
        };
        AddressError::new(trimmed, reason)
    })
}

fn e164(number: &PhoneNumber) -> String {
    number.format().mode(Mode::E164).to_string()
}

fn describe(t: Type) -> &'static str {
    match t {
        Type::FixedLine => "eine Festnetznummer",
        Type::TollFree => "eine kostenlose Servicenummer",
        Type::PremiumRate => "eine Mehrwertnummer",
        Type::SharedCost => "eine Servicenummer mit geteilten Kosten",
        Type::PersonalNumber => "eine persönliche Rufnummer (0700)",
        Type::Voip => "eine VoIP-Nummer",
        Type::Pager => "eine Pager-Nummer",
        Type::Uan | Type::Emergency | Type::Voicemail | Type::ShortCode => {
            "eine Service- oder Kurzwahlnummer"
        }
        _ => "eine Nummer unbekannter Art",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Fictitious numbers only: Bundesnetzagentur drama numbers (0171 39200xx, 0176 040690xx) or
    // the example shapes from the issue.
    #[test]
    fn every_common_german_notation_gives_the_same_e164() {
        for input in [
            "0151 2345 6789",
            "0151-23456789",
            "01512345 6789",
            "+49 (0)151/23456789",
            "+49(0)151 2345 6789",
            "+49 151 23456789",
            "0049151 23456789",
            "0049 (0)151 23456789",
            "(0151) 234 567 89",
            " 0151/23456789 ",
        ] {
            assert_eq!(
                normalize_mobile(input).as_deref(),
                Ok("+4915123456789"),
                "{input}"
            );
        }
        assert_eq!(
            normalize_mobile("0171 3920012").as_deref(),
            Ok("+491713920012")
        );
        assert_eq!(
            normalize_mobile("0176 04069077").as_deref(),
            Ok("+4917604069077")
        );
    }

    #[test]
    fn foreign_mobile_numbers_keep_their_country() {
        assert_eq!(
            normalize_mobile("+43 664 1234567").as_deref(),
            Ok("+436641234567")
        );
    }

    #[test]
    fn landlines_and_nonsense_are_rejected_with_a_reason() {
        let landline = normalize_mobile("030 23125 000").unwrap_err();
        assert!(landline.reason.contains("Festnetznummer"), "{landline}");
        let free = normalize_mobile("0800 1234567").unwrap_err();
        assert!(free.reason.contains("kostenlose Servicenummer"), "{free}");
        let short = normalize_mobile("0151 23").unwrap_err();
        assert!(
            short.reason.contains("gültige") || short.reason.contains("kurz"),
            "{short}"
        );
        let letters = normalize_mobile("0151 CALL ME").unwrap_err();
        assert!(letters.reason.contains("Ziffern"), "{letters}");
        assert!(normalize_mobile("").is_err());
        assert!(normalize_mobile("+999 151 2345678").is_err());
    }

    #[test]
    fn errors_never_show_the_number_in_clear() {
        let e = normalize_mobile("030 23125 000").unwrap_err();
        assert!(!e.to_string().contains("23125"), "{e}");
    }

    #[test]
    fn email_is_lowercased_and_checked() {
        assert_eq!(
            normalize_email(" Anna.Muster@Example.ORG ").as_deref(),
            Ok("anna.muster@example.org")
        );
        for bad in [
            "anna",
            "anna@",
            "@example.org",
            "anna@example",
            "an na@example.org",
            "a@b@c.de",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lookup_accepts_any_stored_kind() {
        assert_eq!(
            lookup_key("0151 2345 6789").as_deref(),
            Ok("+4915123456789")
        );
        assert_eq!(lookup_key("A@Example.org").as_deref(), Ok("a@example.org"));
        assert_eq!(lookup_key("123456789").as_deref(), Ok("123456789"));
    }
}
