//! The request body of a send (contract §1.2 template, §1.3 text) and the success answer (§1.4).

use serde_json::{Value, json};

use super::{Payload, SendError, encode_url_suffix};
use crate::subscribers::mask;

/// Meta's limit for a text message body.
pub const MAX_TEXT_BODY: usize = 4096;
/// Client libraries give this as the maximum of `biz_opaque_callback_data`.
pub const MAX_CORRELATION: usize = 512;

/// Builds the JSON body of §1.2 / §1.3.
pub fn build_request(
    to_e164: &str,
    payload: &Payload,
    correlation: &str,
) -> Result<Value, SendError> {
    let digits = to_e164.strip_prefix('+').unwrap_or(to_e164);
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SendError::Invalid {
            field: "to",
            reason: format!("{} ist keine Nummer im Format E.164", mask(to_e164)),
        });
    }
    if correlation.chars().count() > MAX_CORRELATION {
        return Err(SendError::Invalid {
            field: "biz_opaque_callback_data",
            reason: format!("Korrelations-ID länger als {MAX_CORRELATION} Zeichen"),
        });
    }
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": format!("+{digits}"),
    });
    if !correlation.is_empty() {
        body["biz_opaque_callback_data"] = json!(correlation);
    }
    match payload {
        Payload::Template {
            name,
            language,
            body_params,
            button_suffix,
        }
        | Payload::TemplateWithOptOut {
            name,
            language,
            body_params,
            button_suffix,
            ..
        } => {
            let mut components = Vec::new();
            if !body_params.is_empty() {
                let parameters: Vec<Value> = body_params
                    .iter()
                    .map(|p| json!({"type": "text", "text": p}))
                    .collect();
                components.push(json!({"type": "body", "parameters": parameters}));
            }
            let mut buttons: Vec<&str> = button_suffix.iter().map(String::as_str).collect();
            if let Payload::TemplateWithOptOut { optout_token, .. } = payload {
                buttons.push(optout_token);
            }
            for (index, suffix) in buttons.into_iter().enumerate() {
                components.push(json!({
                    "type": "button", "sub_type": "url", "index": index.to_string(),
                    "parameters": [{"type": "text", "text": encode_url_suffix(suffix)}],
                }));
            }
            body["type"] = json!("template");
            body["template"] = json!({
                "name": name,
                "language": {"code": language},
                "components": components,
            });
        }
        Payload::Text {
            body: text,
            preview_url,
        } => {
            if text.trim().is_empty() || text.chars().count() > MAX_TEXT_BODY {
                return Err(SendError::Invalid {
                    field: "text.body",
                    reason: format!("muss 1 bis {MAX_TEXT_BODY} Zeichen lang sein"),
                });
            }
            body["type"] = json!("text");
            body["text"] = json!({"preview_url": preview_url, "body": text});
        }
    }
    Ok(body)
}

/// `messages[0].id` of a success answer (§1.4).
pub(super) fn parse_success(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let id = v.get("messages")?.get(0)?.get("id")?.as_str()?;
    (!id.is_empty()).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::errors::ErrorClass;

    fn template() -> Payload {
        Payload::Template {
            name: "neue_bekanntmachung".into(),
            language: "de".into(),
            body_params: vec!["Stadt Musterbach".into(), "Straßensperrung | B 27".into()],
            button_suffix: Some("bekanntmachungen/2026/straßen sperrung|b27/".into()),
        }
    }

    #[test]
    fn template_body_matches_the_contract() {
        let body = build_request("+4915123456789", &template(), "n=4711;s=88;a=1").unwrap();
        assert_eq!(
            body,
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "+4915123456789",
                "type": "template",
                "biz_opaque_callback_data": "n=4711;s=88;a=1",
                "template": {
                    "name": "neue_bekanntmachung",
                    "language": {"code": "de"},
                    "components": [
                        {"type": "body", "parameters": [
                            {"type": "text", "text": "Stadt Musterbach"},
                            {"type": "text", "text": "Straßensperrung | B 27"}]},
                        {"type": "button", "sub_type": "url", "index": "0", "parameters": [
                            {"type": "text", "text": "bekanntmachungen/2026/stra%C3%9Fen%20sperrung%7Cb27/"}]}
                    ]
                }
            })
        );
    }

    #[test]
    fn the_opt_out_token_goes_to_the_url_button_after_the_notice_button() {
        let Payload::Template {
            name,
            language,
            body_params,
            button_suffix,
        } = template()
        else {
            unreachable!()
        };
        let both = Payload::TemplateWithOptOut {
            name: name.clone(),
            language: language.clone(),
            body_params: body_params.clone(),
            button_suffix,
            optout_token: "s_00ff.0a1b".into(),
        };
        let body = build_request("+4915123456789", &both, "").unwrap();
        let components = body["template"]["components"].as_array().unwrap();
        assert_eq!(components.len(), 3);
        assert_eq!(components[1]["index"], "0");
        assert_eq!(
            components[2],
            json!({"type": "button", "sub_type": "url", "index": "1",
                   "parameters": [{"type": "text", "text": "s_00ff.0a1b"}]})
        );
        let only = Payload::TemplateWithOptOut {
            name,
            language,
            body_params,
            button_suffix: None,
            optout_token: "s_00ff.0a1b".into(),
        };
        let body = build_request("+4915123456789", &only, "").unwrap();
        let components = body["template"]["components"].as_array().unwrap();
        assert_eq!(components.len(), 2);
        assert_eq!(components[1]["index"], "0");
        assert_eq!(components[1]["parameters"][0]["text"], "s_00ff.0a1b");
    }

    #[test]
    fn plus_is_added_and_bad_numbers_never_echoed() {
        let body = build_request("4915123456789", &template(), "").unwrap();
        assert_eq!(body["to"], "+4915123456789");
        assert!(body.get("biz_opaque_callback_data").is_none());
        let err = build_request("+49 151 2345", &template(), "").unwrap_err();
        assert_eq!(err.class(), ErrorClass::Permanent);
        assert!(!err.to_string().contains("2345"), "{err}");
        let long = "x".repeat(513);
        assert_eq!(
            build_request("+4915123456789", &template(), &long)
                .unwrap_err()
                .class(),
            ErrorClass::Fatal
        );
    }

    #[test]
    fn text_body_matches_the_contract() {
        let p = Payload::Text {
            body: "Abgemeldet. https://www.musterbach.example/".into(),
            preview_url: true,
        };
        let body = build_request("+4915123456789", &p, "c").unwrap();
        assert_eq!(body["type"], "text");
        assert_eq!(
            body["text"],
            json!({"preview_url": true, "body": "Abgemeldet. https://www.musterbach.example/"})
        );
        let too_long = Payload::Text {
            body: "x".repeat(MAX_TEXT_BODY + 1),
            preview_url: false,
        };
        assert!(build_request("+4915123456789", &too_long, "c").is_err());
    }

    #[test]
    fn success_answer_gives_the_wamid() {
        let ok = br#"{"messaging_product":"whatsapp","contacts":[{"input":"+41791234567","wa_id":"41791234567"}],
            "messages":[{"id":"wamid.HBgLNDE3","message_status":"accepted"}]}"#;
        assert_eq!(parse_success(ok).as_deref(), Some("wamid.HBgLNDE3"));
        assert_eq!(parse_success(b"{\"messages\":[]}"), None);
        assert_eq!(parse_success(b"<html>"), None);
    }
}
