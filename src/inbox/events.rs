//! What the inbox receives, as stored (encrypted) and as applied by `aushang inbox pull`.
//!
//! Event ids carry no personal data. Webhook events get an id derived from Meta's message id
//! (and status), so a retried webhook maps to the same id on both sides and is stored and applied
//! once; web events get a random id.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One received event with its id and the time the inbox stored it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: String,
    pub received_at: Timestamp,
    pub event: Event,
}

/// Subscribe/confirm or unsubscribe, from an inbound WhatsApp word or button tap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeywordAction {
    Start,
    Stop,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The web form: a `pending` subscription until confirmed.
    Signup {
        at: Timestamp,
        /// E.164, already normalised and checked to be a mobile number.
        address: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        topics: Vec<String>,
        consent_version: String,
        language: String,
    },
    /// The web form with the e-mail choice: a `pending` `channel: email` subscription until the
    /// link in the confirmation mail is used (see `inbox::email_signup`).
    EmailSignup {
        at: Timestamp,
        /// Lower-cased and checked by `subscribers::address::normalize_email`.
        address: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        topics: Vec<String>,
        consent_version: String,
        language: String,
    },
    /// The link in the confirmation mail was used (POST): confirms the e-mail sign-up with this
    /// event id. No personal data.
    EmailConfirm { at: Timestamp, signup: String },
    /// START/STOP (and synonyms) written or tapped in WhatsApp.
    Keyword {
        at: Timestamp,
        action: KeywordAction,
        /// E.164 of the sender; absent when Meta sent only a business-scoped user id.
        #[serde(default)]
        address: Option<String>,
        #[serde(default)]
        bsuid: Option<String>,
        /// `text` or `button`.
        via: String,
    },
    /// The opt-out link (`/abmelden`), identifying the subscriber by id only.
    LinkUnsubscribe { at: Timestamp, subscriber: String },
    /// A delivery status webhook.
    Status {
        at: Timestamp,
        message_id: String,
        /// `sent`, `delivered`, `read`, `failed`, `played`.
        status: String,
        #[serde(default)]
        correlation: Option<String>,
        #[serde(default)]
        error_codes: Vec<i64>,
        /// `recipient_user_id`: the recipient's business-scoped user id, when Meta sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bsuid: Option<String>,
        /// Meta's `pricing` object (billed or free, category), when the status carried one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pricing: Option<crate::providers::whatsapp::pricing::Pricing>,
    },
    /// `user_preferences`: the person stopped or resumed *marketing* messages in WhatsApp.
    Preference {
        at: Timestamp,
        /// E.164 of the person; absent when Meta sent only a business-scoped user id.
        #[serde(default)]
        address: Option<String>,
        #[serde(default)]
        bsuid: Option<String>,
        /// `stop` or `resume` (anything else is recorded and ignored).
        value: String,
        /// `marketing_messages`.
        category: String,
    },
    /// A template changed state, category or quality (`message_template_status_update`,
    /// `template_category_update`, `message_template_quality_update`). No personal data.
    Template {
        at: Timestamp,
        name: String,
        #[serde(default)]
        language: String,
        /// The webhook field it came from.
        field: String,
        /// The new status: `APPROVED`, `PAUSED`, `DISABLED`, `REJECTED`, `REINSTATED`, …
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quality: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl std::fmt::Debug for Event {
    /// Masks addresses and hides names, so a stray `{:?}` never prints personal data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::subscribers::mask;
        match self {
            Event::Signup {
                at,
                address,
                topics,
                consent_version,
                ..
            } => f
                .debug_struct("Signup")
                .field("at", at)
                .field("address", &mask(address))
                .field("topics", topics)
                .field("consent_version", consent_version)
                .finish_non_exhaustive(),
            Event::EmailSignup {
                at,
                address,
                topics,
                consent_version,
                ..
            } => f
                .debug_struct("EmailSignup")
                .field("at", at)
                .field("address", &mask(address))
                .field("topics", topics)
                .field("consent_version", consent_version)
                .finish_non_exhaustive(),
            Event::EmailConfirm { at, signup } => f
                .debug_struct("EmailConfirm")
                .field("at", at)
                .field("signup", signup)
                .finish(),
            Event::Keyword {
                at,
                action,
                address,
                via,
                ..
            } => f
                .debug_struct("Keyword")
                .field("at", at)
                .field("action", action)
                .field("address", &address.as_deref().map(mask))
                .field("via", via)
                .finish_non_exhaustive(),
            Event::LinkUnsubscribe { at, subscriber } => f
                .debug_struct("LinkUnsubscribe")
                .field("at", at)
                .field("subscriber", subscriber)
                .finish(),
            Event::Status {
                at,
                message_id,
                status,
                error_codes,
                ..
            } => f
                .debug_struct("Status")
                .field("at", at)
                .field("message_id", message_id)
                .field("status", status)
                .field("error_codes", error_codes)
                .finish_non_exhaustive(),
            Event::Preference {
                at, address, value, ..
            } => f
                .debug_struct("Preference")
                .field("at", at)
                .field("address", &address.as_deref().map(mask))
                .field("value", value)
                .finish_non_exhaustive(),
            Event::Template {
                at,
                name,
                language,
                field,
                status,
                category,
                quality,
                reason,
            } => f
                .debug_struct("Template")
                .field("at", at)
                .field("name", name)
                .field("language", language)
                .field("field", field)
                .field("status", status)
                .field("category", category)
                .field("quality", quality)
                .field("reason", reason)
                .finish(),
        }
    }
}

impl Event {
    /// When the event happened (by the sender's clock for webhooks): the order of application.
    pub fn at(&self) -> Timestamp {
        match self {
            Event::Signup { at, .. }
            | Event::EmailSignup { at, .. }
            | Event::EmailConfirm { at, .. }
            | Event::Keyword { at, .. }
            | Event::LinkUnsubscribe { at, .. }
            | Event::Status { at, .. }
            | Event::Preference { at, .. }
            | Event::Template { at, .. } => *at,
        }
    }

    /// An unsubscribe of any kind (STOP, the opt-out link, "stop" in WhatsApp's preferences):
    /// listed and applied before everything else, so no flood of other events delays it.
    pub fn is_stop_class(&self) -> bool {
        matches!(
            self,
            Event::Keyword {
                action: KeywordAction::Stop,
                ..
            } | Event::LinkUnsubscribe { .. }
        ) || matches!(self, Event::Preference { value, .. } if value == "stop")
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Event::Signup { .. } => "signup",
            Event::EmailSignup { .. } => "email_signup",
            Event::EmailConfirm { .. } => "email_confirm",
            Event::Keyword {
                action: KeywordAction::Start,
                ..
            } => "start",
            Event::Keyword {
                action: KeywordAction::Stop,
                ..
            } => "stop",
            Event::LinkUnsubscribe { .. } => "link_unsubscribe",
            Event::Status { .. } => "status",
            Event::Preference { value, .. } if value == "stop" => "marketing_stop",
            Event::Preference { value, .. } if value == "resume" => "marketing_resume",
            Event::Preference { .. } => "marketing_preference",
            Event::Template { .. } => "template",
        }
    }
}

/// The id of an inbound WhatsApp message event (the same for every retry of the webhook).
pub fn inbound_id(wamid: &str) -> String {
    format!("m-{}", short_hash(&format!("inbound:{wamid}")))
}

/// The id of a status event: one per (message, status), as Meta's retries require.
pub fn status_id(wamid: &str, status: &str) -> String {
    format!("s-{}", short_hash(&format!("status:{wamid}:{status}")))
}

/// The id of a `user_preferences` change: one per (person, value, time), stable across retries.
pub fn preference_id(person: &str, value: &str, timestamp: &str) -> String {
    format!(
        "p-{}",
        short_hash(&format!("preference:{person}:{value}:{timestamp}"))
    )
}

/// The id of a template webhook: a hash of the change as Meta sent it (and the entry time), so
/// a retry is the same event and a later change of the same template is a new one.
pub fn template_id(change: &str, entry_time: Option<i64>) -> String {
    format!(
        "t-{}",
        short_hash(&format!("template:{entry_time:?}:{change}"))
    )
}

/// A fresh id for an event without a natural key (web sign-up, opt-out link).
pub fn random_id() -> String {
    format!(
        "w-{:016x}{:08x}",
        rand::random::<u64>(),
        rand::random::<u32>()
    )
}

/// Whether `id` has the shape of an event id (used to refuse odd names in requests).
pub fn is_event_id(id: &str) -> bool {
    let Some((prefix, rest)) = id.split_once('-') else {
        return false;
    };
    matches!(prefix, "m" | "s" | "w" | "p" | "t")
        && rest.len() == 24
        && rest
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_per_message_and_status_and_well_formed() {
        assert_eq!(inbound_id("wamid.A"), inbound_id("wamid.A"));
        assert_ne!(inbound_id("wamid.A"), inbound_id("wamid.B"));
        assert_ne!(status_id("wamid.A", "sent"), status_id("wamid.A", "read"));
        for id in [
            inbound_id("x"),
            status_id("x", "sent"),
            random_id(),
            preference_id("49151", "stop", "1"),
            template_id("{}", Some(1)),
        ] {
            assert!(is_event_id(&id), "{id}");
        }
        assert!(!is_event_id("../etc/passwd"));
        assert!(!is_event_id("m-0123"));
    }

    #[test]
    fn debug_masks_the_number() {
        let e = Event::Keyword {
            at: Timestamp::UNIX_EPOCH,
            action: KeywordAction::Stop,
            address: Some("+4915123456789".into()),
            bsuid: None,
            via: "text".into(),
        };
        let text = format!("{e:?}");
        assert!(!text.contains("23456789"), "{text}");
        let json = serde_json::to_string(&e).unwrap();
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }
}
