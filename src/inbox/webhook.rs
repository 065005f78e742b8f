//! WhatsApp webhooks: the verification handshake, the `X-Hub-Signature-256` check over the raw
//! body bytes, and turning a payload into events (STOP/START, statuses) and replies.
//!
//! The signature is checked on the bytes exactly as received, before any parsing: Meta signs a
//! body whose non-ASCII text is escaped as `\u00fc`, and re-serialising would change the bytes.

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::events::{
    Envelope, Event, KeywordAction, inbound_id, preference_id, status_id, template_id,
};
use crate::subscribers::{Channel, address};

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` keyed with `app_secret`.
/// The comparison is constant-time (`verify_slice`).
pub fn signature_valid(app_secret: &[u8], header: Option<&str>, body: &[u8]) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The `X-Hub-Signature-256` value Meta would send for `body` (tests, benchmarks, tools).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Constant-time equality for secrets of possibly different length.
pub fn secret_eq(given: &str, expected: &str) -> bool {
    // Only the length of the expected secret leaks, never its content.
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The GET handshake: `Some(challenge)` to echo with 200, `None` for 403.
pub fn handshake(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    verify_token: &str,
) -> Option<String> {
    let ok = mode == Some("subscribe") && token.is_some_and(|t| secret_eq(t, verify_token));
    ok.then(|| challenge.unwrap_or_default().to_string())
}

/// Which inbound words mean what (from `inbox.stop_words` / `inbox.start_words`).
#[derive(Debug, Clone)]
pub struct Keywords {
    pub stop: Vec<String>,
    pub start: Vec<String>,
}

impl Keywords {
    /// Trimmed, case-folded, trailing `!`/`.` ignored: "Stopp!" is STOPP.
    pub fn classify(&self, text: &str) -> Option<KeywordAction> {
        let word = text.trim().trim_end_matches(['!', '.', ' ']).to_lowercase();
        if self.stop.iter().any(|w| w.to_lowercase() == word) {
            Some(KeywordAction::Stop)
        } else if self.start.iter().any(|w| w.to_lowercase() == word) {
            Some(KeywordAction::Start)
        } else {
            None
        }
    }
}

/// A free-form answer the server sends inside the service window the inbound message opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyKind {
    Stopped,
    Started,
    /// Any other message: the service text (rate-limited per sender by the caller).
    Service,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    /// E.164 with `+`.
    pub to: String,
    pub kind: ReplyKind,
    /// The event this answers, so a duplicate webhook does not answer twice.
    pub event_id: String,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("to", &crate::subscribers::mask(&self.to))
            .field("kind", &self.kind)
            .finish()
    }
}

/// What one webhook POST holds.
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Envelope>,
    pub replies: Vec<Reply>,
    /// Changes for another business number, or of a field this tool does not use.
    pub ignored: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("the webhook body is not a WhatsApp payload: {0}")]
pub struct PayloadError(String);

#[derive(Deserialize)]
struct Payload {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    /// Unix seconds; template webhooks carry it (used to tell a retry from a new change).
    #[serde(default)]
    time: Option<i64>,
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: serde_json::Value,
}

#[derive(Deserialize)]
struct MessagesValue {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    messages: Vec<Inbound>,
    #[serde(default)]
    statuses: Vec<StatusItem>,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    user_preferences: Vec<PreferenceItem>,
}

/// `contacts[]`: the sender's number (`wa_id`) and, since 2026, business-scoped user id.
#[derive(Deserialize)]
struct Contact {
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Deserialize)]
struct PreferenceItem {
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    category: String,
    #[serde(default)]
    value: String,
    /// Unix seconds, as a number or a string.
    #[serde(default)]
    timestamp: Option<serde_json::Value>,
}

/// The value of `message_template_status_update`, `template_category_update` and
/// `message_template_quality_update`.
#[derive(Deserialize)]
struct TemplateValue {
    #[serde(default)]
    message_template_name: Option<String>,
    #[serde(default)]
    message_template_language: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    new_category: Option<String>,
    #[serde(default)]
    correct_category: Option<String>,
    #[serde(default)]
    new_quality_score: Option<String>,
}

/// The webhook fields about templates this tool records.
pub const TEMPLATE_FIELDS: [&str; 3] = [
    "message_template_status_update",
    "template_category_update",
    "message_template_quality_update",
];

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    phone_number_id: String,
}

#[derive(Deserialize)]
struct Inbound {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    from_user_id: Option<String>,
    id: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<Text>,
    #[serde(default)]
    button: Option<Button>,
    #[serde(default)]
    interactive: Option<Interactive>,
}

#[derive(Deserialize)]
struct Text {
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
struct Button {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Deserialize)]
struct Interactive {
    #[serde(default)]
    button_reply: Option<ButtonReply>,
}

#[derive(Deserialize)]
struct ButtonReply {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct StatusItem {
    id: String,
    status: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    biz_opaque_callback_data: Option<String>,
    #[serde(default)]
    recipient_user_id: Option<String>,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    #[serde(default)]
    code: Option<i64>,
}

/// Parses a (signature-checked) webhook body. Only changes for `phone_number_id` are used.
pub fn parse(
    body: &[u8],
    phone_number_id: &str,
    keywords: &Keywords,
    now: Timestamp,
) -> Result<Parsed, PayloadError> {
    let payload: Payload = serde_json::from_slice(body).map_err(|e| PayloadError(e.to_string()))?;
    if payload.object != "whatsapp_business_account" {
        return Err(PayloadError(format!(
            "unexpected object {:?}",
            payload.object
        )));
    }
    let mut out = Parsed::default();
    for (entry_time, change) in payload
        .entry
        .into_iter()
        .flat_map(|e| e.changes.into_iter().map(move |c| (e.time, c)))
    {
        if TEMPLATE_FIELDS.contains(&change.field.as_str()) {
            template_change(&change, entry_time, now, &mut out)?;
            continue;
        }
        if change.field != "messages" && change.field != "user_preferences" {
            out.ignored += 1;
            continue;
        }
        let value: MessagesValue =
            serde_json::from_value(change.value).map_err(|e| PayloadError(e.to_string()))?;
        if value
            .metadata
            .as_ref()
            .is_none_or(|m| m.phone_number_id != phone_number_id)
        {
            out.ignored += 1;
            continue;
        }
        for p in value.user_preferences {
            preference(p, &value.contacts, now, &mut out);
        }
        for m in value.messages {
            inbound(m, &value.contacts, keywords, now, &mut out);
        }
        for s in value.statuses {
            let at = unix_time(s.timestamp.as_deref()).unwrap_or(now);
            out.events.push(Envelope {
                id: status_id(&s.id, &s.status),
                received_at: now,
                event: Event::Status {
                    at,
                    message_id: s.id,
                    status: s.status,
                    correlation: s.biz_opaque_callback_data,
                    error_codes: s.errors.iter().filter_map(|e| e.code).collect(),
                    bsuid: s.recipient_user_id.filter(|b| !b.is_empty()),
                },
            });
        }
    }
    Ok(out)
}

/// A template webhook as an event (the value must name the template; otherwise it is ignored).
fn template_change(
    change: &Change,
    entry_time: Option<i64>,
    now: Timestamp,
    out: &mut Parsed,
) -> Result<(), PayloadError> {
    let v: TemplateValue =
        serde_json::from_value(change.value.clone()).map_err(|e| PayloadError(e.to_string()))?;
    let Some(name) = v.message_template_name.filter(|n| !n.is_empty()) else {
        out.ignored += 1;
        return Ok(());
    };
    let at = entry_time
        .and_then(|t| Timestamp::from_second(t).ok())
        .unwrap_or(now);
    let upper = |s: Option<String>| s.filter(|s| !s.is_empty()).map(|s| s.to_uppercase());
    out.events.push(Envelope {
        id: template_id(&format!("{}:{}", change.field, change.value), entry_time),
        received_at: now,
        event: Event::Template {
            at,
            name,
            language: v.message_template_language.unwrap_or_default(),
            field: change.field.clone(),
            status: upper(v.event),
            category: upper(v.new_category.or(v.correct_category)),
            quality: upper(v.new_quality_score),
            reason: v.reason.filter(|r| !r.is_empty() && r != "NONE"),
        },
    });
    Ok(())
}

/// A `user_preferences` item (marketing messages stopped or resumed in the WhatsApp client).
fn preference(p: PreferenceItem, contacts: &[Contact], now: Timestamp, out: &mut Parsed) {
    let timestamp = match &p.timestamp {
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let at = unix_time(Some(&timestamp)).unwrap_or(now);
    let bsuid = p
        .user_id
        .filter(|b| !b.is_empty())
        .or_else(|| contact_bsuid(contacts, p.wa_id.as_deref()));
    let address = p.wa_id.as_deref().and_then(sender_address);
    let person = p
        .wa_id
        .clone()
        .or_else(|| bsuid.clone())
        .unwrap_or_default();
    if person.is_empty() {
        out.ignored += 1;
        return;
    }
    let value = p.value.trim().to_lowercase();
    out.events.push(Envelope {
        id: preference_id(&person, &value, &timestamp),
        received_at: now,
        event: Event::Preference {
            at,
            address,
            bsuid,
            value,
            category: p.category,
        },
    });
}

/// The BSUID of the contact with number `wa_id` (or of the only contact, when the number is
/// left out: Meta sends one contact per message).
fn contact_bsuid(contacts: &[Contact], wa_id: Option<&str>) -> Option<String> {
    let found = match wa_id {
        Some(w) => contacts.iter().find(|c| c.wa_id.as_deref() == Some(w)),
        None if contacts.len() == 1 => contacts.first(),
        None => None,
    };
    found
        .and_then(|c| c.user_id.clone())
        .filter(|b| !b.is_empty())
}

fn inbound(
    m: Inbound,
    contacts: &[Contact],
    keywords: &Keywords,
    now: Timestamp,
    out: &mut Parsed,
) {
    let at = unix_time(m.timestamp.as_deref()).unwrap_or(now);
    let address = m.from.as_deref().and_then(sender_address);
    let bsuid = m
        .from_user_id
        .clone()
        .filter(|b| !b.is_empty())
        .or_else(|| contact_bsuid(contacts, m.from.as_deref()));
    let (word, via) = match m.kind.as_str() {
        "text" => (m.text.map(|t| t.body), "text"),
        // a quick-reply tap on a template: the payload is ours, the text is the label
        "button" => (
            m.button
                .and_then(|b| b.payload.filter(|p| !p.is_empty()).or(b.text)),
            "button",
        ),
        "interactive" => (
            m.interactive
                .and_then(|i| i.button_reply)
                .and_then(|b| b.id.filter(|p| !p.is_empty()).or(b.title)),
            "button",
        ),
        _ => (None, "other"),
    };
    let id = inbound_id(&m.id);
    match word.as_deref().and_then(|w| keywords.classify(w)) {
        Some(action) => {
            if let Some(to) = &address {
                out.replies.push(Reply {
                    to: to.clone(),
                    kind: match action {
                        KeywordAction::Stop => ReplyKind::Stopped,
                        KeywordAction::Start => ReplyKind::Started,
                    },
                    event_id: id.clone(),
                });
            }
            out.events.push(Envelope {
                id,
                received_at: now,
                event: Event::Keyword {
                    at,
                    action,
                    address,
                    bsuid,
                    via: via.into(),
                },
            });
        }
        None => {
            // Reactions and system notices (number changed) are not questions; leave them be.
            if matches!(m.kind.as_str(), "reaction" | "system" | "unsupported") {
                return;
            }
            if let Some(to) = address {
                out.replies.push(Reply {
                    to,
                    kind: ReplyKind::Service,
                    event_id: id,
                });
            }
        }
    }
}

/// `from` (digits, no `+`) as the E.164 address the list uses.
fn sender_address(from: &str) -> Option<String> {
    let digits: String = from.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let plus = format!("+{digits}");
    Some(address::normalize(Channel::WhatsApp, &plus).unwrap_or(plus))
}

fn unix_time(s: Option<&str>) -> Option<Timestamp> {
    Timestamp::from_second(s?.trim().parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keywords() -> Keywords {
        Keywords {
            stop: vec!["stop".into(), "stopp".into()],
            start: vec!["start".into(), "ja".into()],
        }
    }

    #[test]
    fn signature_over_raw_bytes_and_only_those() {
        let body = br#"{"name":"J\u00fcrgen"}"#;
        let sig = sign(b"secret", body);
        assert!(signature_valid(b"secret", Some(&sig), body));
        assert!(!signature_valid(b"other", Some(&sig), body));
        assert!(!signature_valid(
            b"secret",
            Some(&sig),
            r#"{"name":"Jürgen"}"#.as_bytes()
        ));
        assert!(!signature_valid(b"secret", None, body));
        assert!(!signature_valid(b"secret", Some("sha256=zz"), body));
        assert!(!signature_valid(
            b"secret",
            Some(sig.trim_start_matches("sha256=")),
            body
        ));
    }

    #[test]
    fn handshake_needs_mode_and_token() {
        assert_eq!(
            handshake(Some("subscribe"), Some("tok"), Some("42"), "tok").as_deref(),
            Some("42")
        );
        assert_eq!(
            handshake(Some("subscribe"), Some("tok2"), Some("42"), "tok"),
            None
        );
        assert_eq!(
            handshake(Some("unsubscribe"), Some("tok"), Some("42"), "tok"),
            None
        );
        assert_eq!(handshake(None, None, Some("42"), "tok"), None);
    }

    #[test]
    fn words_are_folded() {
        let k = keywords();
        assert_eq!(k.classify("  Stopp! "), Some(KeywordAction::Stop));
        assert_eq!(k.classify("JA"), Some(KeywordAction::Start));
        assert_eq!(k.classify("stop it"), None);
    }

    #[test]
    fn statuses_and_keywords_become_events_other_numbers_are_ignored() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
          {"field":"messages","value":{"metadata":{"phone_number_id":"42"},
            "messages":[{"from":"4915123456789","id":"wamid.A","timestamp":"1764325000","type":"text","text":{"body":"STOP"}},
                        {"from":"4915123456789","id":"wamid.B","timestamp":"1764325001","type":"button","button":{"text":"Ja","payload":""}},
                        {"from":"4915123456789","id":"wamid.C","timestamp":"1764325002","type":"text","text":{"body":"Wann ist Sperrm\u00fcll?"}}],
            "statuses":[{"id":"wamid.S","status":"failed","timestamp":"1764325003","recipient_id":"4915123456789",
                         "biz_opaque_callback_data":"m=/x/;s=s_1;a=1","errors":[{"code":131026}]}]}},
          {"field":"messages","value":{"metadata":{"phone_number_id":"99"},"statuses":[{"id":"wamid.T","status":"sent"}]}}]}]}"#;
        let now = Timestamp::now();
        let p = parse(body, "42", &keywords(), now).unwrap();
        assert_eq!(p.ignored, 1);
        let kinds: Vec<_> = p.events.iter().map(|e| e.event.kind()).collect();
        assert_eq!(kinds, vec!["stop", "start", "status"]);
        assert_eq!(
            p.events[0].event.at(),
            Timestamp::from_second(1764325000).unwrap()
        );
        match &p.events[2].event {
            Event::Status {
                error_codes,
                correlation,
                ..
            } => {
                assert_eq!(error_codes, &vec![131026]);
                assert_eq!(correlation.as_deref(), Some("m=/x/;s=s_1;a=1"));
            }
            other => panic!("{other:?}"),
        }
        let replies: Vec<_> = p.replies.iter().map(|r| r.kind.clone()).collect();
        assert_eq!(
            replies,
            vec![ReplyKind::Stopped, ReplyKind::Started, ReplyKind::Service]
        );
        assert_eq!(p.replies[0].to, "+4915123456789");
        assert!(parse(b"{\"object\":1}", "42", &keywords(), now).is_err());
        assert!(parse(b"not json", "42", &keywords(), now).is_err());
    }

    #[test]
    fn bsuid_preferences_and_template_changes_become_events() {
        let body = br#"{"object":"whatsapp_business_account","entry":[
          {"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"42"},
            "contacts":[{"user_id":"DE.abc","profile":{"name":"x"}}],
            "messages":[{"id":"wamid.U","timestamp":"1764325000","type":"text","text":{"body":"STOP"}}],
            "statuses":[{"id":"wamid.S","status":"delivered","timestamp":"1764325003","recipient_id":"4915123456789","recipient_user_id":"DE.xyz"}]}},
          {"field":"user_preferences","value":{"metadata":{"phone_number_id":"42"},
            "contacts":[{"wa_id":"4915123456789","user_id":"DE.def"}],
            "user_preferences":[{"wa_id":"4915123456789","detail":"User requested to stop marketing messages","category":"marketing_messages","value":"stop","timestamp":1764325010}]}}]},
          {"id":"2","time":1764325020,"changes":[
            {"field":"message_template_status_update","value":{"event":"PAUSED","message_template_id":7,"message_template_name":"neue_bekanntmachung","message_template_language":"de","reason":"NONE"}},
            {"field":"template_category_update","value":{"message_template_id":7,"message_template_name":"neue_bekanntmachung","message_template_language":"de","previous_category":"UTILITY","new_category":"MARKETING"}}]}]}"#;
        let now = Timestamp::now();
        let p = parse(body, "42", &keywords(), now).unwrap();
        let kinds: Vec<_> = p.events.iter().map(|e| e.event.kind()).collect();
        assert_eq!(
            kinds,
            vec!["stop", "status", "marketing_stop", "template", "template"]
        );
        assert!(p.replies.is_empty(), "no number, no free-form answer");
        match &p.events[0].event {
            Event::Keyword { address, bsuid, .. } => {
                assert_eq!((address, bsuid.as_deref()), (&None, Some("DE.abc")));
            }
            other => panic!("{other:?}"),
        }
        match &p.events[1].event {
            Event::Status { bsuid, .. } => assert_eq!(bsuid.as_deref(), Some("DE.xyz")),
            other => panic!("{other:?}"),
        }
        match &p.events[2].event {
            Event::Preference {
                address,
                bsuid,
                value,
                at,
                ..
            } => {
                assert_eq!(address.as_deref(), Some("+4915123456789"));
                assert_eq!(bsuid.as_deref(), Some("DE.def"));
                assert_eq!(value, "stop");
                assert_eq!(*at, Timestamp::from_second(1764325010).unwrap());
            }
            other => panic!("{other:?}"),
        }
        match &p.events[3].event {
            Event::Template {
                name,
                status,
                reason,
                at,
                ..
            } => {
                assert_eq!(name, "neue_bekanntmachung");
                assert_eq!(status.as_deref(), Some("PAUSED"));
                assert_eq!(reason, &None);
                assert_eq!(*at, Timestamp::from_second(1764325020).unwrap());
            }
            other => panic!("{other:?}"),
        }
        match &p.events[4].event {
            Event::Template {
                category, status, ..
            } => {
                assert_eq!((category.as_deref(), status), (Some("MARKETING"), &None));
            }
            other => panic!("{other:?}"),
        }
        // a retry maps to the same ids; the debug form shows no number
        let again = parse(body, "42", &keywords(), now).unwrap();
        let ids: Vec<_> = p.events.iter().map(|e| e.id.clone()).collect();
        let ids_again: Vec<_> = again.events.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids, ids_again);
        assert!(ids.iter().all(|i| super::super::events::is_event_id(i)));
        assert!(!format!("{:?}", p.events).contains("23456789"));
    }
}
