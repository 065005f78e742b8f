//! The web sign-up: reading the form, the spam checks, and the per-address rate limit.
//!
//! The person chooses WhatsApp (`nummer`) or, when the site has an e-mail channel, e-mail
//! (`kanal=email`, `email`; see `inbox::email_signup`); every check below holds for both.
//!
//! Spam protection without third parties:
//! - a honeypot field (`website`) hidden from people; a filled one gets the normal thank-you page
//!   and nothing is stored, so a bot learns nothing;
//! - a minimum fill time measured by the server: the static form's script fetches a
//!   server-signed stamp (`GET /signup/stempel`, HMAC with a per-process key) into `stempel` when
//!   the page loads; a form stamp at least `min_fill_seconds` old is accepted. Without one (no
//!   JavaScript, the fetch failed) or with a too recent one, the server does not refuse but shows
//!   a review page ("Anmeldung bestätigen") carrying a stamp bound to the number; sending that
//!   page again after at least one second is accepted. People without JavaScript thus get one
//!   extra click, bots that post blindly get nothing stored. A client-supplied time counts for
//!   nothing, and every stamp is accepted once only;
//! - token buckets per client address (IPv6 by /64, `inbox.signups_per_ip_per_hour`), per number
//!   ([`super::memory::SIGNUPS_PER_NUMBER_PER_DAY`]) and for all sign-ups
//!   (`inbox.signups_per_hour`), kept across restarts by `inbox::memory`;
//! - `Origin` (or, without it, `Referer`) must be the site, the inbox itself or loopback.

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
    /// `kanal`: `whatsapp` (also when missing: older forms) or `email`.
    pub channel: String,
    /// The e-mail address, used when `channel` is `email`.
    pub email: String,
    pub topics: Vec<String>,
    pub consent: bool,
    pub consent_version: String,
    pub honeypot: String,
    /// `f<unix ms>.<hex hmac>` fetched by the form's script, or `<unix ms>.<hex hmac>` from the
    /// review page.
    pub stamp: Option<String>,
}

impl SignupForm {
    pub fn parse(body: &[u8]) -> SignupForm {
        let mut f = SignupForm::default();
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "name" => f.name = v.trim().chars().take(200).collect(),
                "nummer" => f.number = v.chars().take(64).collect(),
                "kanal" => f.channel = v.chars().take(16).collect(),
                // Longer than any valid address: a too long one is refused, never cut short.
                "email" => f.email = v.chars().take(300).collect(),
                "thema" if f.topics.len() < 64 => f.topics.push(v.into_owned()),
                "einwilligung" => f.consent = v == "ja",
                "fassung" => f.consent_version = v.chars().take(64).collect(),
                "website" => f.honeypot = v.into_owned(),
                "stempel" => f.stamp = Some(v.chars().take(200).collect()),
                _ => {}
            }
        }
        f
    }

    /// Whether the person chose e-mail.
    pub fn wants_email(&self) -> bool {
        self.channel == super::email_signup::CHANNEL_EMAIL
    }

    /// The chosen address, normalised and masked (empty when it is not valid).
    pub fn masked_address(&self) -> String {
        let address = if self.wants_email() {
            address::normalize_email(&self.email)
        } else {
            address::normalize_mobile(&self.number)
        };
        address
            .map(|a| crate::subscribers::mask(&a))
            .unwrap_or_default()
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

/// Checks a form. `key` signs stamps; `now` is the server clock; `unused` is asked once for the
/// tag of a stamp that would be accepted and says whether it was not used before (marking it).
pub fn decide(
    form: &SignupForm,
    config: &Config,
    key: &[u8; 32],
    now: Timestamp,
    unused: &mut dyn FnMut(&str) -> bool,
) -> Decision {
    if !form.honeypot.trim().is_empty() {
        return Decision::Honeypot;
    }
    let Some(inbox) = &config.inbox else {
        return Decision::Invalid(vec![
            "Die Anmeldung über das Internet ist nicht eingerichtet.".into(),
        ]);
    };
    let mut problems = Vec::new();
    let address = if form.wants_email() {
        super::email_signup::check_address(&form.email, config, &mut problems)
    } else if !form.channel.is_empty() && form.channel != "whatsapp" {
        problems.push("Bitte wählen Sie, ob Sie WhatsApp oder E-Mail möchten.".into());
        None
    } else {
        match address::normalize_mobile(&form.number) {
            Ok(a) => Some(a),
            Err(e) => {
                problems.push(if form.number.trim().is_empty() {
                "Bitte geben Sie Ihre Handynummer an.".to_string()
            } else if e.reason.contains("Festnetznummer") {
                "Das ist eine Festnetznummer. WhatsApp braucht eine Handynummer.".to_string()
            } else {
                "Diese Handynummer ist ungültig. Bitte prüfen Sie die Ziffern (Beispiel: 0171 1234567)."
                    .to_string()
            });
                None
            }
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
    let accepted = form
        .stamp
        .as_deref()
        .and_then(|s| match s.strip_prefix('f') {
            Some(form_stamp) => stamp_tag(form_stamp, "form", key, now_ms, min_fill.max(1000), 24),
            None => stamp_tag(s, &address, key, now_ms, 1000, 1),
        });
    if !accepted.is_some_and(|tag| unused(&tag)) {
        return Decision::Review {
            stamp: make_stamp(&address, key, now_ms),
        };
    }
    let mut topics: Vec<String> = form.topics.clone();
    topics.sort();
    topics.dedup();
    let name = Some(form.name.clone()).filter(|n| !n.is_empty());
    let (consent_version, language) = (inbox.consent_version.clone(), config.language.clone());
    Decision::Accept(if form.wants_email() {
        Event::EmailSignup {
            at: now,
            address,
            name,
            topics,
            consent_version,
            language,
        }
    } else {
        Event::Signup {
            at: now,
            address,
            name,
            topics,
            consent_version,
            language,
        }
    })
}

/// `bound` is the number (review stamps) or `form` (the stamp the form's script fetches).
fn stamp_mac(bound: &str, key: &[u8; 32], ms: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{ms}|{bound}").as_bytes());
    mac
}

fn make_stamp(address: &str, key: &[u8; 32], now_ms: i64) -> String {
    let tag = stamp_mac(address, key, now_ms).finalize().into_bytes();
    format!("{now_ms}.{}", hex::encode(tag))
}

/// The stamp `GET /signup/stempel` hands out when the form is loaded.
pub fn form_stamp(key: &[u8; 32], now: Timestamp) -> String {
    let now_ms = now.as_millisecond();
    let tag = stamp_mac("form", key, now_ms).finalize().into_bytes();
    format!("f{now_ms}.{}", hex::encode(tag))
}

/// The tag of a stamp from this process, bound to `bound`, at least `min_ms` and at most
/// `max_hours` old; `None` otherwise.
fn stamp_tag(
    stamp: &str,
    bound: &str,
    key: &[u8; 32],
    now_ms: i64,
    min_ms: i64,
    max_hours: i64,
) -> Option<String> {
    let (ms, tag) = stamp.split_once('.')?;
    let (ms, tag_bytes) = (ms.parse::<i64>().ok()?, hex::decode(tag).ok()?);
    let age = now_ms - ms;
    ((min_ms..=max_hours * 3600 * 1000).contains(&age)
        && stamp_mac(bound, key, ms).verify_slice(&tag_bytes).is_ok())
    .then(|| tag.to_string())
}

/// Remembers accepted stamps (by tag) for a day, so each counts once. Bounded: a flood of valid
/// stamps (which each cost the sender `min_fill_seconds`) can only evict the oldest.
#[derive(Debug, Default)]
pub struct UsedStamps {
    seen: std::sync::Mutex<std::collections::VecDeque<(i64, String)>>,
}

impl UsedStamps {
    const MAX: usize = 100_000;

    /// `true` (and remembered) if `tag` was not used before.
    pub fn first_use(&self, tag: &str, now: Timestamp) -> bool {
        let mut seen = self.seen.lock().expect("stamp ledger lock");
        let day_ago = now.as_millisecond() - 24 * 3600 * 1000;
        while seen
            .front()
            .is_some_and(|(t, _)| *t < day_ago || seen.len() >= Self::MAX)
        {
            seen.pop_front();
        }
        if seen.iter().any(|(_, t)| t == tag) {
            return false;
        }
        seen.push_back((now.as_millisecond(), tag.to_string()));
        true
    }
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
        let used = UsedStamps::default();
        let mut fresh = |t: &str| used.first_use(t, now);
        let mut f = form("0151 23456789");
        let Decision::Review { stamp } = decide(&f, &c, &key, now, &mut fresh) else {
            panic!("no stamp must review")
        };
        f.stamp = Some(stamp.clone());
        assert!(
            matches!(
                decide(&f, &c, &key, now, &mut fresh),
                Decision::Review { .. }
            ),
            "a stamp needs a second"
        );
        let later = now + jiff::SignedDuration::from_secs(2);
        match decide(&f, &c, &key, later, &mut fresh) {
            Decision::Accept(Event::Signup {
                address, topics, ..
            }) => {
                assert_eq!(address, "+4915123456789");
                assert_eq!(topics, vec!["verkehr"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(
                decide(&f, &c, &key, later, &mut fresh),
                Decision::Review { .. }
            ),
            "a stamp counts once"
        );
        let mut other_number = form("0151 23456780");
        other_number.stamp = Some(stamp);
        assert!(
            matches!(
                decide(&other_number, &c, &key, later, &mut fresh),
                Decision::Review { .. }
            ),
            "stamp is bound to the number"
        );
    }

    #[test]
    fn the_fill_time_comes_from_a_server_stamp_not_from_the_client() {
        let c = config();
        let key = [7u8; 32];
        let used = UsedStamps::default();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut fresh = |t: &str| used.first_use(t, now);
        // The old client-written page-load time is ignored, however old it claims to be.
        let old = SignupForm::parse(
            format!(
                "nummer=0151+23456789&einwilligung=ja&fassung=v1&geladen={}",
                now.as_millisecond() - 60_000
            )
            .as_bytes(),
        );
        assert!(matches!(
            decide(&old, &c, &key, now, &mut fresh),
            Decision::Review { .. }
        ));
        let mut f = form("0151 23456789");
        f.stamp = Some(form_stamp(&key, now - jiff::SignedDuration::from_secs(2)));
        assert!(
            matches!(
                decide(&f, &c, &key, now, &mut fresh),
                Decision::Review { .. }
            ),
            "2 s is less than min_fill_seconds (3)"
        );
        f.stamp = Some(form_stamp(&key, now - jiff::SignedDuration::from_secs(4)));
        assert!(matches!(
            decide(&f, &c, &key, now, &mut fresh),
            Decision::Accept(_)
        ));
        assert!(
            matches!(
                decide(&f, &c, &key, now, &mut fresh),
                Decision::Review { .. }
            ),
            "a form stamp counts once"
        );
        f.stamp = Some(form_stamp(
            &[8u8; 32],
            now - jiff::SignedDuration::from_secs(4),
        ));
        assert!(
            matches!(
                decide(&f, &c, &key, now, &mut fresh),
                Decision::Review { .. }
            ),
            "a stamp of another key (process) counts for nothing"
        );
    }

    #[test]
    fn bad_inputs_are_explained_without_the_number() {
        let c = config();
        let key = [7u8; 32];
        let now = Timestamp::now();
        let mut f = form("030 23125 000");
        f.consent = false;
        f.topics = vec!["nope".into()];
        let Decision::Invalid(p) = decide(&f, &c, &key, now, &mut |_| true) else {
            panic!()
        };
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("Festnetz"));
        assert!(p.iter().all(|m| !m.contains("23125")));
        let mut h = form("0151 23456789");
        h.honeypot = "http://spam.example".into();
        assert!(matches!(
            decide(&h, &c, &key, now, &mut |_| true),
            Decision::Honeypot
        ));
    }

    #[test]
    fn the_chosen_channel_decides_which_field_counts() {
        let with_email = crate::config::parse(
            std::path::Path::new("/"),
            std::path::Path::new("aushang.yaml"),
            "title: T\nbase_url: https://t.example/\nbroadcast:\n  channels:\n    email:\n      host: 127.0.0.1\n      security: none\n      from: info@t.example\ninbox:\n  url: https://inbox.t.example/\n",
        )
        .unwrap();
        let key = [7u8; 32];
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let parse = |body: &str| SignupForm::parse(body.as_bytes());
        let f = parse("kanal=email&nummer=&email=Anna%40Example.org&einwilligung=ja&fassung=v1");
        assert!(f.wants_email());
        assert_eq!(f.masked_address(), "a***@example.org");
        let Decision::Review { stamp } = decide(&f, &with_email, &key, now, &mut |_| true) else {
            panic!("no stamp: the review page")
        };
        let mut f = f;
        f.stamp = Some(stamp);
        let later = now + jiff::SignedDuration::from_secs(2);
        match decide(&f, &with_email, &key, later, &mut |_| true) {
            Decision::Accept(Event::EmailSignup { address, .. }) => {
                assert_eq!(address, "anna@example.org")
            }
            other => panic!("{other:?}"),
        }
        // The chosen field must be filled; the other one does not stand in for it.
        let f = parse("kanal=email&nummer=0151+23456789&email=&einwilligung=ja&fassung=v1");
        let Decision::Invalid(p) = decide(&f, &with_email, &key, now, &mut |_| true) else {
            panic!()
        };
        assert_eq!(
            p,
            vec!["Bitte geben Sie Ihre E-Mail-Adresse an.".to_string()]
        );
        let f = parse("kanal=whatsapp&nummer=&email=anna%40example.org&einwilligung=ja&fassung=v1");
        assert!(matches!(
            decide(&f, &with_email, &key, now, &mut |_| true),
            Decision::Invalid(p) if p[0].contains("Handynummer")
        ));
        let f = parse("kanal=fax&nummer=0151+23456789&einwilligung=ja&fassung=v1");
        assert!(matches!(
            decide(&f, &with_email, &key, now, &mut |_| true),
            Decision::Invalid(_)
        ));
        // Without an e-mail channel the choice is refused; a form without `kanal` is WhatsApp.
        let f = parse("kanal=email&email=anna%40example.org&einwilligung=ja&fassung=v1");
        assert!(matches!(
            decide(&f, &config(), &key, now, &mut |_| true),
            Decision::Invalid(p) if p[0].contains("nicht eingerichtet")
        ));
        let f = parse("nummer=0151+23456789&einwilligung=ja&fassung=v1");
        assert!(!f.wants_email());
        assert!(matches!(
            decide(&f, &config(), &key, now, &mut |_| true),
            Decision::Review { .. }
        ));
    }

    #[test]
    fn repeated_topics_parse() {
        let f = SignupForm::parse(b"name=Erika&nummer=0151+23456789&thema=verkehr&thema=abfall&einwilligung=ja&fassung=v1&website=");
        assert_eq!(f.topics, vec!["verkehr", "abfall"]);
        assert_eq!(f.number, "0151 23456789");
        assert!(f.consent);
    }
}
