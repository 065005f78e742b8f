//! WhatsApp webhook payloads (already signature-checked) as events and replies: inbound
//! START/STOP, statuses, `user_preferences`, template changes, and the business-scoped user ids
//! (BSUID) that may come instead of or next to the number. The wire format itself is the
//! WhatsApp provider's (`providers::whatsapp::webhook`).

use jiff::Timestamp;

use super::events::{
    Envelope, Event, KeywordAction, inbound_id, preference_id, status_id, template_id,
};
use super::webhook::{Keywords, Reply, ReplyKind};
use crate::providers::whatsapp::webhook::{
    Change, Contact, Inbound, MessagesValue, PreferenceItem, TEMPLATE_FIELDS, TemplateValue,
    WebhookBody,
};
use crate::subscribers::{Channel, address};

/// What one webhook POST holds.
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Envelope>,
    pub replies: Vec<Reply>,
    /// Changes for another business number, or of a field this tool does not use.
    pub ignored: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("der Webhook-Inhalt ist keine WhatsApp-Nachricht: {0}")]
pub struct PayloadError(String);

/// Parses a (signature-checked) webhook body. Only changes for `phone_number_id` are used.
pub fn parse(
    body: &[u8],
    phone_number_id: &str,
    keywords: &Keywords,
    now: Timestamp,
) -> Result<Parsed, PayloadError> {
    let payload: WebhookBody =
        serde_json::from_slice(body).map_err(|e| PayloadError(e.to_string()))?;
    if payload.object != "whatsapp_business_account" {
        return Err(PayloadError(format!(
            "unerwartetes Objekt `{}`",
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
                    pricing: s.pricing,
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
#[path = "payload_tests.rs"]
mod tests;
