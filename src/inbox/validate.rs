//! Pulled events are not trusted: whoever answers at `inbox.url` (a compromised inbox host, a
//! wrong URL) can hand out events encrypted to the public keys. Every decrypted event is checked
//! here as strictly as the server checks a request before it stores one: normalised addresses,
//! known states and fields, configured topics, plain text without control characters, no time in
//! the future. A refused event is reported by id and reason (never a value) and skipped: it is
//! acknowledged so it does not block the pull, and nothing of it is applied or stored.

use jiff::{SignedDuration, Timestamp};

use super::events::{Envelope, Event, is_event_id};
use crate::config::Config;
use crate::providers::whatsapp::webhook::TEMPLATE_FIELDS;
use crate::subscribers::address;

/// How far an event's time may be ahead of the pulling machine's clock.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_hours(1);

/// Why an event was refused: the field and the rule, never the value.
pub type Refusal = String;

fn refuse(field: &str, rule: &str) -> Result<(), Refusal> {
    Err(format!("Feld `{field}` {rule}"))
}

/// Plain text of at most `max` characters without control characters.
fn text(field: &str, value: &str, max: usize) -> Result<(), Refusal> {
    if value.chars().count() > max {
        return refuse(field, &format!("ist länger als {max} Zeichen"));
    }
    if value.chars().any(char::is_control) {
        return refuse(field, "enthält Steuerzeichen");
    }
    Ok(())
}

/// A token of ASCII letters, digits and `extra`, 1..=`max` long.
fn token(field: &str, value: &str, max: usize, extra: &str) -> Result<(), Refusal> {
    if value.is_empty()
        || value.len() > max
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    {
        return refuse(field, "ist kein gültiger Wert");
    }
    Ok(())
}

/// The sign-up form's rule: a mobile number in the normalised form.
fn mobile(field: &str, value: &str) -> Result<(), Refusal> {
    match address::normalize_mobile(value) {
        Ok(n) if n == value => Ok(()),
        _ => refuse(field, "ist keine normalisierte Mobilnummer"),
    }
}

/// The webhook's rule for a sender: E.164 (`+` and 7–15 digits), normalised where it is a
/// mobile number the normaliser knows.
fn sender(field: &str, value: &str) -> Result<(), Refusal> {
    let digits = value.strip_prefix('+').unwrap_or("");
    if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return refuse(field, "ist keine E.164-Nummer");
    }
    match address::normalize_mobile(value) {
        Ok(n) if n != value => refuse(field, "ist nicht normalisiert"),
        _ => Ok(()),
    }
}

fn bsuid(value: &Option<String>) -> Result<(), Refusal> {
    match value {
        Some(b) => token("bsuid", b, 128, "._:-"),
        None => Ok(()),
    }
}

fn person(address: &Option<String>, id: &Option<String>) -> Result<(), Refusal> {
    if address.is_none() && id.is_none() {
        return refuse("address", "und `bsuid` fehlen beide");
    }
    if let Some(a) = address {
        sender("address", a)?;
    }
    bsuid(id)
}

/// The sign-up form's fields besides the address (WhatsApp and e-mail sign-ups alike).
fn form_fields(
    config: &Config,
    name: &Option<String>,
    topics: &[String],
    consent_version: &str,
    language: &str,
) -> Result<(), Refusal> {
    if let Some(n) = name {
        text("name", n, 200)?;
    }
    if topics.len() > 64 {
        return refuse("topics", "hat mehr als 64 Einträge");
    }
    if topics.iter().any(|t| config.category(t).is_none()) {
        return refuse("topics", "nennt eine Kategorie, die nicht eingerichtet ist");
    }
    token("consent_version", consent_version, 64, "._-")?;
    token("language", language, 16, "-")
}

/// Checks one decrypted event against the site's configuration; `now` is the pull's clock.
pub fn check(envelope: &Envelope, config: &Config, now: Timestamp) -> Result<(), Refusal> {
    if !is_event_id(&envelope.id) {
        return refuse("id", "ist keine Ereignis-ID");
    }
    let latest = now + CLOCK_SKEW;
    if envelope.received_at > latest {
        return refuse("received_at", "liegt in der Zukunft");
    }
    if envelope.event.at() > latest {
        return refuse("at", "liegt in der Zukunft");
    }
    match &envelope.event {
        Event::Signup {
            address,
            name,
            topics,
            consent_version,
            language,
            ..
        } => {
            if !envelope.id.starts_with("w-") {
                return refuse("id", "ist nicht die ID eines Web-Ereignisses");
            }
            mobile("address", address)?;
            form_fields(config, name, topics, consent_version, language)
        }
        Event::EmailSignup {
            address: a,
            name,
            topics,
            consent_version,
            language,
            ..
        } => {
            if !envelope.id.starts_with("w-") {
                return refuse("id", "ist nicht die ID eines Web-Ereignisses");
            }
            match address::normalize_email(a) {
                Ok(n) if n == *a => {}
                _ => return refuse("address", "ist keine normalisierte E-Mail-Adresse"),
            }
            form_fields(config, name, topics, consent_version, language)
        }
        Event::EmailConfirm { signup, .. } => {
            if !envelope.id.starts_with("w-") {
                return refuse("id", "ist nicht die ID eines Web-Ereignisses");
            }
            if !(is_event_id(signup) && signup.starts_with("w-")) {
                return refuse("signup", "ist nicht die ID einer Web-Anmeldung");
            }
            Ok(())
        }
        Event::Keyword {
            address,
            bsuid: id,
            via,
            ..
        } => {
            if !envelope.id.starts_with("m-") {
                return refuse("id", "ist nicht die ID einer eingegangenen Nachricht");
            }
            person(address, id)?;
            if !matches!(via.as_str(), "text" | "button") {
                return refuse("via", "ist weder `text` noch `button`");
            }
            Ok(())
        }
        Event::LinkUnsubscribe { subscriber, .. } => {
            if !envelope.id.starts_with("w-") {
                return refuse("id", "ist nicht die ID eines Web-Ereignisses");
            }
            token("subscriber", subscriber, 64, "_")
        }
        Event::Status {
            message_id,
            status,
            correlation,
            error_codes,
            bsuid: id,
            pricing,
            ..
        } => {
            if !envelope.id.starts_with("s-") {
                return refuse("id", "ist nicht die ID eines Zustellstatus");
            }
            text("message_id", message_id, 256)?;
            if !matches!(
                status.as_str(),
                "sent" | "delivered" | "read" | "failed" | "played" | "deleted" | "warning"
            ) {
                return refuse("status", "ist kein bekannter Zustellstatus");
            }
            if let Some(c) = correlation {
                text("correlation", c, 512)?;
            }
            if error_codes.len() > 16 {
                return refuse("error_codes", "hat mehr als 16 Einträge");
            }
            if let Some(p) = pricing {
                crate::providers::whatsapp::pricing::check(p)
                    .map_err(|f| format!("Feld `pricing.{f}` hat keinen gültigen Wert"))?;
            }
            bsuid(id)
        }
        Event::Preference {
            address,
            bsuid: id,
            value,
            category,
            ..
        } => {
            if !envelope.id.starts_with("p-") {
                return refuse("id", "ist nicht die ID einer Einstellungsänderung");
            }
            person(address, id)?;
            token("value", value, 32, "_")?;
            token("category", category, 64, "_")
        }
        Event::Template {
            name,
            language,
            field,
            status,
            category,
            quality,
            reason,
            ..
        } => {
            if !envelope.id.starts_with("t-") {
                return refuse("id", "ist nicht die ID einer Vorlagen-Änderung");
            }
            token("name", name, 512, "_")?;
            if !language.is_empty() {
                token("language", language, 16, "_-")?;
            }
            if !TEMPLATE_FIELDS.contains(&field.as_str()) {
                return refuse("field", "ist kein Feld eines Vorlagen-Webhooks");
            }
            for (f, v) in [
                ("status", status),
                ("category", category),
                ("quality", quality),
            ] {
                if let Some(v) = v {
                    token(f, v, 64, "_")?;
                }
            }
            if let Some(r) = reason {
                text("reason", r, 500)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::events::{KeywordAction, random_id};

    fn config() -> Config {
        let text = "title: T\nbase_url: https://t.example/\ncategories:\n  - id: verkehr\n    name: Verkehr\ninbox:\n  url: https://inbox.t.example/\n";
        crate::config::parse(
            std::path::Path::new("/"),
            std::path::Path::new("aushang.yaml"),
            text,
        )
        .unwrap()
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn signup(address: &str) -> Envelope {
        Envelope {
            id: random_id(),
            received_at: now(),
            event: Event::Signup {
                at: now(),
                address: address.into(),
                name: Some("Erika".into()),
                topics: vec!["verkehr".into()],
                consent_version: "v1".into(),
                language: "de".into(),
            },
        }
    }

    fn start(address: &str) -> Envelope {
        Envelope {
            id: crate::inbox::events::inbound_id("wamid.1"),
            received_at: now(),
            event: Event::Keyword {
                at: now(),
                action: KeywordAction::Start,
                address: Some(address.into()),
                bsuid: None,
                via: "text".into(),
            },
        }
    }

    #[test]
    fn what_the_server_would_store_passes() {
        let c = config();
        assert_eq!(check(&signup("+4915123456789"), &c, now()), Ok(()));
        assert_eq!(check(&start("+4915123456789"), &c, now()), Ok(()));
    }

    #[test]
    fn forged_events_are_refused_without_their_values() {
        let c = config();
        let formula = "=cmd|' /C calc'!A0";
        let cases = [
            signup(formula),
            signup("+49 151 23456789"),
            signup("+493023125000"), // a landline cannot sign up by form
            start(formula),
            start("+4901"),
            {
                let mut e = signup("+4915123456789");
                if let Event::Signup { name, .. } = &mut e.event {
                    *name = Some("Erika\u{1b}]0;status: active\u{7}".into());
                }
                e
            },
            {
                let mut e = signup("+4915123456789");
                if let Event::Signup { topics, .. } = &mut e.event {
                    topics.push("lotto".into());
                }
                e
            },
            {
                // a START dressed up as a web event: double opt-in bypass
                let mut e = start("+4915123456789");
                e.id = random_id();
                e
            },
            {
                let mut e = start("+4915123456789");
                if let Event::Keyword { at, .. } = &mut e.event {
                    *at = now() + SignedDuration::from_hours(24 * 365);
                }
                e
            },
            {
                let mut e = start("+4915123456789");
                if let Event::Keyword { address, .. } = &mut e.event {
                    *address = None;
                }
                e
            },
        ];
        for e in cases {
            let why = check(&e, &c, now()).expect_err(&format!("{e:?}"));
            assert!(
                !why.contains("calc") && !why.contains("23456789") && !why.contains("Erika"),
                "{why}"
            );
        }
    }

    #[test]
    fn email_events_are_checked_like_web_sign_ups() {
        let c = config();
        let email = |address: &str| Envelope {
            id: random_id(),
            received_at: now(),
            event: Event::EmailSignup {
                at: now(),
                address: address.into(),
                name: None,
                topics: vec!["verkehr".into()],
                consent_version: "v1".into(),
                language: "de".into(),
            },
        };
        let good = email("erika@example.org");
        assert_eq!(check(&good, &c, now()), Ok(()));
        let confirm = |id: String, signup: String| Envelope {
            id,
            received_at: now(),
            event: Event::EmailConfirm { at: now(), signup },
        };
        let sid = good.id.clone();
        assert_eq!(check(&confirm(random_id(), sid.clone()), &c, now()), Ok(()));
        let cases = vec![
            email("Erika@Example.org"),
            email("erika at example.org"),
            email("+4915123456789"),
            {
                let mut e = email("erika@example.org");
                e.id = crate::inbox::events::inbound_id("wamid.2");
                e
            },
            confirm(random_id(), "../etc/passwd".into()),
            confirm(random_id(), crate::inbox::events::inbound_id("wamid.3")),
            confirm(crate::inbox::events::inbound_id("wamid.4"), sid),
        ];
        for e in cases {
            let why = check(&e, &c, now()).expect_err(&format!("{e:?}"));
            assert!(!why.to_lowercase().contains("erika"), "{why}");
        }
    }
}
