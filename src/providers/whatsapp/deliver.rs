//! WhatsApp behind the sender's one interface ([`crate::providers::deliverer::Deliverer`]): a
//! message rendered as the configured template (with its opt-out button) or as free text, and
//! one delivery as one request whose answer becomes an [`Outcome`].

use super::{Payload, SendError, WhatsAppClient, render_whatsapp};
use crate::config::{MessageMode, WhatsAppConfig};
use crate::delivery::message::Message;
use crate::delivery::outcome::Outcome;
use crate::providers::deliverer::Rendered;
use crate::subscribers::Subscriber;
use crate::subscribers::optout::{OPTOUT_FALLBACK_TOKEN, OptOut};

/// `message` as the template (or text) of `cfg`; with the opt-out button, previews show it.
pub fn rendered(
    message: &Message,
    cfg: &WhatsAppConfig,
    optout: Option<&OptOut>,
) -> Result<Rendered, String> {
    let mut wa = render_whatsapp(message, cfg)?;
    if wa.optout_button
        && let Some(o) = optout
    {
        wa.preview = format!("{}\n{}", wa.preview, o.preview_button());
    }
    let header = match wa.mode {
        MessageMode::Template => {
            format!("WhatsApp-Vorlage `{}` ({})", wa.template_name, wa.language)
        }
        MessageMode::Text => "WhatsApp-Textnachricht (nur im Servicefenster)".into(),
    };
    Ok(Rendered {
        text: wa.preview.clone(),
        header,
        whatsapp: Some(wa),
        provider: None,
        per_channel: Vec::new(),
    })
}

/// Sends `rendered` to `sub`: the template with their opt-out token, or the text.
pub async fn deliver(
    client: &WhatsAppClient,
    rendered: &Rendered,
    optout: Option<&OptOut>,
    sub: &Subscriber,
    correlation: &str,
) -> Outcome {
    let wa = rendered.whatsapp.as_ref().expect("rendered for WhatsApp");
    let payload = match wa.mode {
        MessageMode::Template if wa.optout_button => Payload::TemplateWithOptOut {
            name: wa.template_name.clone(),
            language: wa.language.clone(),
            body_params: wa.body_params.clone(),
            button_suffix: wa.button_suffix.clone(),
            optout_token: optout.map_or_else(
                || OPTOUT_FALLBACK_TOKEN.to_string(),
                |o| o.button_token(&sub.id),
            ),
        },
        MessageMode::Template => Payload::Template {
            name: wa.template_name.clone(),
            language: wa.language.clone(),
            body_params: wa.body_params.clone(),
            button_suffix: wa.button_suffix.clone(),
        },
        MessageMode::Text => Payload::Text {
            body: rendered.text.clone(),
            preview_url: true,
        },
    };
    match client.send(&sub.address, &payload, correlation).await {
        Ok(id) => Outcome::Sent { id },
        Err(err) => outcome_of(err),
    }
}

fn outcome_of(err: SendError) -> Outcome {
    if err.is_uncertain() {
        return Outcome::Uncertain {
            detail: err.to_string(),
        };
    }
    Outcome::Failed {
        code: err.code(),
        class: err.class(),
        detail: err.to_string(),
    }
}
