//! The web sign-up: reading the form, the spam checks, and the per-address rate limit.
//!
//! Spam protection without third parties:
//! - a honeypot field (`website`) hidden from people; a filled one gets the normal thank-you page
//!   and nothing is stored, so a bot learns nothing;
//! - a minimum fill time: the static form's inline script writes the page-load time into
//!   `geladen`; a missing (no JavaScript), implausible or too recent value does not fail but shows
//!   a review page ("Bitte prüfen Sie Ihre Angaben") carrying a server-signed time stamp
//!   (`stempel`, HMAC with a per-process key, bound to the number); sending that page again after
//!   at least one second is accepted. People without JavaScript thus get one extra click, bots
//!   that post blindly get nothing stored;
//! - a per-client token bucket (`inbox.signups_per_ip_per_hour`), kept across restarts by
//!   `inbox::memory`.

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

use super::events::Event;
use crate::config::Config;
use crate::subscribers::address;

/// The form fields as posted (`application/x-www-form-urlencoded`).
#[derive(Clone, Default)]
pub struct SignupForm {
    pub name: String,
    pub number: String,
    pub topics: Vec<String>,
    pub consent: bool,
    pub consent_version: String,
    pub honeypot: String,
    /// Page-load time in Unix milliseconds, written by the form's script.
    pub loaded_ms: Option<i64>,
    /// `<unix ms>.<hex hmac>` from the review page.
    pub stamp: Option<String>,
}

impl SignupForm {
    pub fn parse(body: &[u8]) -> SignupForm {
        let mut f = SignupForm::default();
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "name" => f.name = v.trim().chars().take(200).collect(),
                "nummer" => f.number = v.chars().take(64).collect(),
                "thema" if f.topics.len() < 64 => f.topics.push(v.into_owned()),
                "einwilligung" => f.consent = v == "ja",
                "fassung" => f.consent_version = v.chars().take(64).collect(),
                "website" => f.honeypot = v.into_owned(),
                "geladen" => f.loaded_ms = v.trim().parse().ok(),
                "stempel" => f.stamp = Some(v.chars().take(200).collect()),
                _ => {}
            }
        }
        f
    }
}

/// What to do with one posted form.
#[derive(Debug)]
pub enum Decision {
    Accept(Event),
    /// The honeypot was filled: answer as if accepted, store nothing.
    Honeypot,
    /// No proof of a human fill time yet: show the review page with this stamp.
    Review {
        stamp: String,
    },
    /// Shown to the person, in German; never contains the number in clear.
    Invalid(Vec<String>),
}

/// Checks a form. `key` signs review stamps; `now` is the server clock.
pub fn decide(form: &SignupForm, config: &Config, key: &[u8; 32], now: Timestamp) -> Decision {
    if !form.honeypot.trim().is_empty() {
        return Decision::Honeypot;
    }
    let Some(inbox) = &config.inbox else {
        return Decision::Invalid(vec![
            "Die Anmeldung über das Internet ist nicht eingerichtet.".into(),
        ]);
    };
    let mut problems = Vec::new();
    let address = match address::normalize_mobile(&form.number) {
        Ok(a) => Some(a),
        Err(e) => {
            problems.push(if form.number.trim().is_empty() {
                "Bitte geben Sie Ihre Handynummer an.".to_string()
            } else if e.reason.contains("landline") {
                "Das ist eine Festnetznummer. WhatsApp braucht eine Handynummer.".to_string()
            } else {
                "Diese Handynummer ist ungültig. Bitte prüfen Sie die Ziffern (Beispiel: 0171 1234567)."
                    .to_string()
            });
            None
        }
    };
    for t in &form.topics {
        if config.category(t).is_none() {
            problems.push(
                "Ein gewähltes Thema gibt es nicht (mehr). Bitte laden Sie die Seite neu.".into(),
            );
            break;
        }
    }
    if crate::subscribers::check_name(&form.name).is_err() {
        problems.push(
            "Der Name enthält unzulässige Steuerzeichen. Bitte tippen Sie ihn neu ein.".into(),
        );
    }
    if !form.consent {
        problems.push(
            "Bitte bestätigen Sie die Einwilligung, damit wir Ihnen schreiben dürfen.".into(),
        );
    } else if form.consent_version != inbox.consent_version {
        problems.push("Der Einwilligungstext hat sich geändert. Bitte laden Sie die Seite neu und lesen Sie ihn noch einmal.".into());
    }
    let Some(address) = address.filter(|_| problems.is_empty()) else {
        return Decision::Invalid(problems);
    };
    let now_ms = now.as_millisecond();
    let min_fill = inbox.min_fill_seconds as i64 * 1000;
    let filled_slowly = form
        .loaded_ms
        .is_some_and(|t| now_ms - t >= min_fill && now_ms - t <= 24 * 3600 * 1000);
    let stamped = form
        .stamp
        .as_deref()
        .is_some_and(|s| stamp_valid(s, &address, key, now_ms));
    if !(filled_slowly || stamped) {
        return Decision::Review {
            stamp: make_stamp(&address, key, now_ms),
        };
    }
    let mut topics: Vec<String> = form.topics.clone();
    topics.sort();
    topics.dedup();
    Decision::Accept(Event::Signup {
        at: now,
        address,
        name: Some(form.name.clone()).filter(|n| !n.is_empty()),
        topics,
        consent_version: inbox.consent_version.clone(),
        language: config.language.clone(),
    })
}

fn stamp_mac(address: &str, key: &[u8; 32], ms: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{ms}|{address}").as_bytes());
    mac
}

fn make_stamp(address: &str, key: &[u8; 32], now_ms: i64) -> String {
    let tag = stamp_mac(address, key, now_ms).finalize().into_bytes();
    format!("{now_ms}.{}", hex::encode(tag))
}

/// A stamp from this process, for this number, at least 1 s and at most 1 h old.
fn stamp_valid(stamp: &str, address: &str, key: &[u8; 32], now_ms: i64) -> bool {
    let Some((ms, tag)) = stamp.split_once('.') else {
        return false;
    };
    let (Ok(ms), Ok(tag)) = (ms.parse::<i64>(), hex::decode(tag)) else {
        return false;
    };
    let age = now_ms - ms;
    (1000..=3600 * 1000).contains(&age) && stamp_mac(address, key, ms).verify_slice(&tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = "title: T\nbase_url: https://t.example/\ncategories:\n  - id: verkehr\n    name: Verkehr\ninbox:\n  url: https://inbox.t.example/\n  min_fill_seconds: 3\n";
        crate::config::parse(
            std::path::Path::new("/"),
            std::path::Path::new("aushang.yaml"),
            text,
        )
        .unwrap()
    }

    fn form(number: &str) -> SignupForm {
        SignupForm {
            number: number.into(),
            consent: true,
            consent_version: "v1".into(),
            topics: vec!["verkehr".into()],
            ..Default::default()
        }
    }

    #[test]
    fn fill_time_or_stamp_is_needed() {
        let c = config();
        let key = [7u8; 32];
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut f = form("0151 23456789");
        f.loaded_ms = Some(now.as_millisecond() - 1000);
        let Decision::Review { stamp } = decide(&f, &c, &key, now) else {
            panic!("too fast must review")
        };
        f.stamp = Some(stamp.clone());
        assert!(
            matches!(decide(&f, &c, &key, now), Decision::Review { .. }),
            "a stamp needs a second"
        );
        let later = now + jiff::SignedDuration::from_secs(2);
        match decide(&f, &c, &key, later) {
            Decision::Accept(Event::Signup {
                address, topics, ..
            }) => {
                assert_eq!(address, "+4915123456789");
                assert_eq!(topics, vec!["verkehr"]);
            }
            other => panic!("{other:?}"),
        }
        let mut other_number = form("0151 23456780");
        other_number.stamp = Some(stamp);
        assert!(
            matches!(
                decide(&other_number, &c, &key, later),
                Decision::Review { .. }
            ),
            "stamp is bound to the number"
        );
        let mut slow = form("0151 23456789");
        slow.loaded_ms = Some(now.as_millisecond() - 5000);
        assert!(matches!(decide(&slow, &c, &key, now), Decision::Accept(_)));
    }

    #[test]
    fn bad_inputs_are_explained_without_the_number() {
        let c = config();
        let key = [7u8; 32];
        let now = Timestamp::now();
        let mut f = form("030 23125 000");
        f.consent = false;
        f.topics = vec!["nope".into()];
        let Decision::Invalid(p) = decide(&f, &c, &key, now) else {
            panic!()
        };
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("Festnetz"));
        assert!(p.iter().all(|m| !m.contains("23125")));
        let mut h = form("0151 23456789");
        h.honeypot = "http://spam.example".into();
        assert!(matches!(decide(&h, &c, &key, now), Decision::Honeypot));
    }

    #[test]
    fn repeated_topics_parse() {
        let f = SignupForm::parse(b"name=Erika&nummer=0151+23456789&thema=verkehr&thema=abfall&einwilligung=ja&fassung=v1&website=");
        assert_eq!(f.topics, vec!["verkehr", "abfall"]);
        assert_eq!(f.number, "0151 23456789");
        assert!(f.consent);
    }
}
