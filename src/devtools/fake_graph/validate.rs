//! Request validation of the fake messages endpoint, as strict as Meta's: JSON shape, recipient
//! format, template name and language, parameter count and text rules (132018), URL button suffix.

use serde_json::Value;

use super::config::FakeTemplate;

/// A Graph error the fake answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub code: i64,
    /// `None`: the default status for the code.
    pub http_status: Option<u16>,
    pub details: String,
}

fn err(code: i64, details: impl Into<String>) -> GraphError {
    GraphError {
        code,
        http_status: None,
        details: details.into(),
    }
}

/// The exact production text for 132018 (contract §2.3).
pub const PARAM_TEXT_DETAILS: &str =
    "Param text cannot have new-line/tab characters or more than 4 consecutive spaces";

/// A request that passed validation.
#[derive(Debug, Clone)]
pub struct ValidMessage {
    /// `to` as sent.
    pub to: String,
    /// `to` as digits only: the `wa_id`.
    pub digits: String,
    pub kind: &'static str,
    pub template: Option<(String, String)>,
    pub params: Vec<String>,
    pub button_suffix: Option<String>,
    /// The opt-out button's suffix, for templates with one.
    pub optout_suffix: Option<String>,
    pub text: Option<String>,
    pub correlation: Option<String>,
}

/// Digits of a number written as Meta accepts it (`+`, spaces, hyphens, parentheses removed);
/// `None` if anything else is in it or the length is not E.164's.
pub fn number_digits(to: &str) -> Option<String> {
    let mut digits = String::new();
    for (i, c) in to.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '(' | ')' => {}
            _ => return None,
        }
    }
    (8..=15).contains(&digits.len()).then_some(digits)
}

pub fn validate(
    body: &[u8],
    templates: &[FakeTemplate],
    service_window: &[String],
) -> Result<ValidMessage, GraphError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| err(100, "Invalid parameter: the request body is not valid JSON"))?;
    if !v.is_object() {
        return Err(err(
            100,
            "Invalid parameter: the request body must be a JSON object",
        ));
    }
    match v.get("messaging_product").and_then(Value::as_str) {
        Some("whatsapp") => {}
        _ => return Err(err(100, "The parameter messaging_product is required.")),
    }
    if let Some(rt) = v.get("recipient_type")
        && rt.as_str() != Some("individual")
    {
        return Err(err(
            100,
            "Invalid parameter: recipient_type must be individual",
        ));
    }
    let to = match v.get("to") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(err(100, "The parameter to is invalid.")),
        None => return Err(err(100, "The parameter to is required.")),
    };
    let digits = number_digits(&to)
        .ok_or_else(|| err(100, "The parameter to is invalid: not a phone number"))?;
    let correlation = match v.get("biz_opaque_callback_data") {
        None => None,
        Some(Value::String(s)) if s.chars().count() <= 512 => Some(s.clone()),
        Some(_) => {
            return Err(err(
                100,
                "Invalid parameter: biz_opaque_callback_data must be a string of at most 512 characters",
            ));
        }
    };
    let mut msg = ValidMessage {
        to,
        digits,
        kind: "template",
        template: None,
        params: Vec::new(),
        button_suffix: None,
        optout_suffix: None,
        text: None,
        correlation,
    };
    match v.get("type").and_then(Value::as_str).unwrap_or("text") {
        "template" => validate_template(&v, templates, &mut msg)?,
        "text" => {
            let body = v
                .get("text")
                .and_then(|t| t.get("body"))
                .and_then(Value::as_str)
                .ok_or_else(|| err(131008, "The parameter text['body'] is required."))?;
            if body.trim().is_empty() || body.chars().count() > 4096 {
                return Err(err(131009, "text.body must be 1 to 4096 characters"));
            }
            if let Some(p) = v.get("text").and_then(|t| t.get("preview_url"))
                && !p.is_boolean()
            {
                return Err(err(
                    100,
                    "Invalid parameter: text.preview_url must be a boolean",
                ));
            }
            let open = service_window
                .iter()
                .any(|n| n == "*" || number_digits(n).as_deref() == Some(&msg.digits));
            if !open {
                return Err(err(
                    131047,
                    "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
                ));
            }
            msg.kind = "text";
            msg.text = Some(body.to_owned());
        }
        other => return Err(err(131051, format!("Unsupported message type: {other}"))),
    }
    Ok(msg)
}

fn validate_template(
    v: &Value,
    templates: &[FakeTemplate],
    msg: &mut ValidMessage,
) -> Result<(), GraphError> {
    let t = v
        .get("template")
        .filter(|t| t.is_object())
        .ok_or_else(|| err(131008, "The parameter template is required."))?;
    let name = t
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| err(131008, "The parameter template['name'] is required."))?;
    let language = t
        .get("language")
        .and_then(|l| l.get("code"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            err(
                131008,
                "The parameter template['language']['code'] is required.",
            )
        })?;
    let template = templates
        .iter()
        .find(|t| t.name == name && t.language == language)
        .ok_or_else(|| {
            err(
                132001,
                format!("template name ({name}) does not exist in {language}"),
            )
        })?;
    match template.status.as_str() {
        "APPROVED" => {}
        "PAUSED" => return Err(err(132015, format!("template {name} is paused"))),
        "DISABLED" => return Err(err(132016, format!("template {name} is disabled"))),
        _ => {
            return Err(err(
                132001,
                format!("template name ({name}) is not approved in {language}"),
            ));
        }
    }
    let components = match t.get("components") {
        None => &Vec::new(),
        Some(Value::Array(c)) => c,
        Some(_) => {
            return Err(err(
                100,
                "Invalid parameter: template.components must be an array",
            ));
        }
    };
    let mut body_params: Option<Vec<String>> = None;
    let mut suffix: Option<String> = None;
    let mut optout: Option<String> = None;
    // The template's URL buttons with a variable, in index order.
    let buttons: Vec<&str> = [
        template.url_button.then_some("notice"),
        template.optout_button.then_some("optout"),
    ]
    .into_iter()
    .flatten()
    .collect();
    for c in components {
        match c.get("type").and_then(Value::as_str) {
            Some("body") => body_params = Some(text_parameters(c, "body")?),
            Some("button") => {
                if buttons.is_empty() {
                    return Err(err(
                        132018,
                        "Template has no button at index 0 with a variable",
                    ));
                }
                if c.get("sub_type").and_then(Value::as_str) != Some("url") {
                    return Err(err(
                        132018,
                        "Button at index 0 is of type Url; sub_type must be url",
                    ));
                }
                let Some(button) = c
                    .get("index")
                    .and_then(Value::as_str)
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| buttons.get(i))
                else {
                    return Err(err(132018, "Template has no URL button at the given index"));
                };
                let mut p = text_parameters(c, "button")?;
                if p.len() != 1 {
                    return Err(err(
                        132000,
                        "button: number of parameters does not match the expected 1",
                    ));
                }
                let s = p.remove(0);
                if !is_percent_encoded(&s) {
                    return Err(err(
                        132018,
                        "Button url parameter must be percent-encoded: the resulting URL is not valid",
                    ));
                }
                if *button == "notice" {
                    suffix = Some(s);
                } else {
                    optout = Some(s);
                }
            }
            _ => {
                return Err(err(
                    100,
                    "Invalid parameter: unknown template component type",
                ));
            }
        }
    }
    let body_params = body_params.unwrap_or_default();
    if body_params.len() != template.body_params {
        return Err(err(
            132000,
            format!(
                "body: number of localizable_params ({}) does not match the expected number of params ({})",
                body_params.len(),
                template.body_params
            ),
        ));
    }
    if template.url_button && suffix.is_none() {
        return Err(err(
            132018,
            "Button at index 0 of type Url requires a parameter",
        ));
    }
    msg.template = Some((name.to_owned(), language.to_owned()));
    msg.params = body_params;
    if template.optout_button && optout.is_none() {
        return Err(err(
            132018,
            format!(
                "Button at index {} of type Url requires a parameter",
                buttons.len() - 1
            ),
        ));
    }
    msg.button_suffix = suffix;
    msg.optout_suffix = optout;
    Ok(())
}

/// The `text` of each `{"type": "text", "text": …}` parameter of a component, checked against
/// the send-time rules.
fn text_parameters(component: &Value, what: &str) -> Result<Vec<String>, GraphError> {
    let params = component
        .get("parameters")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            err(
                131008,
                format!("{what}: the parameter parameters is required"),
            )
        })?;
    let mut out = Vec::with_capacity(params.len());
    for (i, p) in params.iter().enumerate() {
        if p.get("type").and_then(Value::as_str) != Some("text") {
            return Err(err(
                132012,
                format!("{what}.parameters[{i}]: expected type text"),
            ));
        }
        let text = p
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| err(131008, format!("{what}.parameters[{i}].text is required")))?;
        if text.is_empty() {
            return Err(err(
                131008,
                format!("{what}.parameters[{i}].text: Param text cannot be empty"),
            ));
        }
        if text.contains(['\n', '\r', '\t']) || text.contains("     ") {
            return Err(err(132018, PARAM_TEXT_DETAILS));
        }
        out.push(text.to_owned());
    }
    Ok(out)
}

/// Only unreserved characters, `/`, and well-formed `%XX` escapes.
fn is_percent_encoded(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || b"-._~/".contains(&c) => i += 1,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_check() {
        assert!(is_percent_encoded("bekanntmachungen/2026/stra%C3%9Fe%20x/"));
        assert!(!is_percent_encoded("a b"));
        assert!(!is_percent_encoded("ç"));
        assert!(!is_percent_encoded("a|b"));
        assert!(!is_percent_encoded("100%"));
        assert!(!is_percent_encoded("%4"));
        assert!(!is_percent_encoded("%zz"));
    }

    #[test]
    fn numbers_in_meta_formats() {
        assert_eq!(
            number_digits("+49 (151) 234-56789").as_deref(),
            Some("4915123456789")
        );
        assert_eq!(
            number_digits("4915123456789").as_deref(),
            Some("4915123456789")
        );
        assert_eq!(number_digits("+49151x3456789"), None);
        assert_eq!(number_digits("+4912"), None);
        assert_eq!(number_digits("49+15123456789"), None);
    }
}
