//! A message filled into the configured WhatsApp template (or a free text): the body
//! parameters cleaned to the API's rules, the button suffix, and the exact preview the citizen sees.

use crate::config::{MessageMode, WhatsAppConfig};
use crate::delivery::message::{FIELDS, Message};

/// Longest title or summary put into a template parameter. Meta's per-parameter limit is not
/// documented; the whole filled-in body must stay within 1024 characters (error 132005).
pub const MAX_PARAM_CHARS: usize = 600;
const MAX_TITLE_CHARS: usize = 200;

/// A WhatsApp template message, filled in for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatsAppMessage {
    pub mode: MessageMode,
    pub template_name: String,
    pub language: String,
    /// Cleaned to the API's parameter rules (no newline/tab, no 5+ spaces, capped).
    pub body_params: Vec<String>,
    /// The notice path for the URL button, percent-encoded by the client.
    pub button_suffix: Option<String>,
    /// The template has an opt-out URL button after it (`optout_button`), filled per subscriber.
    pub optout_button: bool,
    /// Exactly what the citizen sees.
    pub preview: String,
}

/// Fills in the configured template for `msg`. Errors name the configuration problem.
pub fn render_whatsapp(msg: &Message, cfg: &WhatsAppConfig) -> Result<WhatsAppMessage, String> {
    let t = &cfg.template;
    let (name, body, params) = if msg.is_update() {
        let name = t.update_name.clone().ok_or_else(|| {
            "diese Bekanntmachung hat eine Aktualisierung, aber broadcast.channels.whatsapp.template.update_name ist nicht gesetzt"
                .to_string()
        })?;
        let body = t.update_body.clone().ok_or_else(|| {
            "broadcast.channels.whatsapp.template.update_body ist nicht gesetzt".to_string()
        })?;
        let params = t
            .update_params
            .clone()
            .unwrap_or_else(|| vec!["title".into(), "update".into()]);
        (name, body, params)
    } else {
        (t.name.clone(), t.body.clone(), t.params.clone())
    };
    let mut body_params = Vec::with_capacity(params.len());
    for field in &params {
        let raw = msg.field(field).ok_or_else(|| {
            format!(
                "unbekannter Vorlagen-Parameter `{field}` (bekannt: {})",
                FIELDS.join(", ")
            )
        })?;
        let cap = if field == "title" {
            MAX_TITLE_CHARS
        } else {
            MAX_PARAM_CHARS
        };
        body_params.push(super::clean_param(&raw, cap));
    }
    let filled = fill_placeholders(&body, &body_params);
    let button_suffix = t
        .url_button
        .then(|| msg.notice_path.trim_start_matches('/').to_string());
    let preview = match t.mode {
        MessageMode::Template if t.url_button => {
            format!("{filled}\n\n[ {} ] → {}", t.button_label, msg.url)
        }
        _ => format!("{filled}\n{}", msg.url),
    };
    Ok(WhatsAppMessage {
        mode: t.mode,
        template_name: name,
        language: t.language.clone(),
        body_params,
        button_suffix,
        optout_button: t.optout_button && t.mode == MessageMode::Template,
        preview,
    })
}

/// Replaces `{{1}}`, `{{2}}`… with the parameters, as WhatsApp renders a template: in one pass
/// over the body, so a parameter that itself contains `{{1}}` is shown literally, never filled
/// again. A placeholder without a parameter stays as written.
pub fn fill_placeholders(body: &str, params: &[String]) -> String {
    let mut out = String::with_capacity(body.len() + params.iter().map(String::len).sum::<usize>());
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let param = (digits > 0 && after[digits..].starts_with("}}"))
            .then(|| after[..digits].parse::<usize>().ok())
            .flatten()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| params.get(i));
        match param {
            Some(p) => {
                out.push_str(p);
                rest = &after[digits + 2..];
            }
            None => {
                // Not a placeholder here; one may start at the next brace (`{{{1}}}`).
                out.push('{');
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod placeholder_tests {
    use super::fill_placeholders;

    fn params(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_placeholder_inside_a_parameter_is_shown_literally() {
        let body = "Neu: {{1}}. {{2}} Mehr über den Button.";
        let filled = fill_placeholders(body, &params(&["Titel {{2}}", "Siehe {{1}} und {{2}}."]));
        assert_eq!(
            filled,
            "Neu: Titel {{2}}. Siehe {{1}} und {{2}}. Mehr über den Button."
        );
    }

    #[test]
    fn unknown_or_malformed_placeholders_stay_as_written() {
        let p = params(&["A", "B"]);
        assert_eq!(fill_placeholders("{{2}}{{1}}{{2}}", &p), "BAB");
        assert_eq!(
            fill_placeholders("{{3}} {{0}} {{ 1 }} {{x}} {{1} {{{1}}}", &p),
            "{{3}} {{0}} {{ 1 }} {{x}} {{1} {A}"
        );
        assert_eq!(fill_placeholders("ohne", &p), "ohne");
        assert_eq!(fill_placeholders("Ende {{", &p), "Ende {{");
    }
}
