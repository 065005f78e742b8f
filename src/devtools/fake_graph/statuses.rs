//! Delivery status webhooks as Meta sends them for the messages the fake accepted (API notes
//! §5.5): `sent`, `delivered` and `read` with our `biz_opaque_callback_data`, a `pricing` object
//! on `delivered` and `read` (billed when delivered: `regular` for templates; utility templates
//! inside an open service window and free-form text are `free_customer_service`), and `failed`
//! with its error and no pricing. Posted signed (`X-Hub-Signature-256`) to an inbox: in-process
//! with [`FakeGraph::post_status_webhooks`], or over HTTP with `POST /_fake/statuses`
//! (`{"url": …, "app_secret": …, "fate": "read", "failed": {"+4915…": 131049}}`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::validate::number_digits;
use super::{AcceptedMessage, FakeGraph, Shared, lock};

/// What becomes of one accepted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Only `sent` (the phone is off): not billed yet.
    Sent,
    /// `sent`, `delivered`.
    Delivered,
    /// `sent`, `delivered`, `read`.
    Read,
    /// `failed` with this error code (no `sent` before it, no pricing).
    Failed(i64),
}

impl FakeGraph {
    /// Meta's `pricing` for an accepted message, as the delivered and read statuses carry it.
    pub fn pricing_of(&self, m: &AcceptedMessage) -> Value {
        pricing_of(&self.shared, m)
    }

    /// One webhook body per status event of `m`'s `fate`, in the order Meta sends them.
    pub fn status_webhooks(&self, m: &AcceptedMessage, fate: Fate) -> Vec<String> {
        status_webhooks(&self.shared, m, fate)
    }

    /// Posts the status webhooks of every accepted message to `url` (an inbox's
    /// `/webhooks/whatsapp`), signed with `app_secret`; `fate` decides each message's statuses.
    /// Returns how many webhooks were posted; a non-200 answer is an error.
    pub async fn post_status_webhooks(
        &self,
        url: &str,
        app_secret: &str,
        fate: impl Fn(&AcceptedMessage) -> Fate,
    ) -> anyhow::Result<usize> {
        post(&self.shared, url, app_secret, fate).await
    }
}

fn pricing_of(shared: &Shared, m: &AcceptedMessage) -> Value {
    let config = &shared.config;
    let window = config
        .service_window
        .iter()
        .any(|n| n == "*" || number_digits(n).is_some_and(|d| number_digits(&m.to) == Some(d)));
    let category = m
        .template
        .as_ref()
        .and_then(|name| {
            config
                .templates
                .iter()
                .find(|t| &t.name == name && Some(&t.language) == m.language.as_ref())
        })
        .map(|t| t.category.to_lowercase());
    let (category, free) = match category {
        // inside a service window a utility template is free; marketing never is
        Some(c) => {
            let free = window && c == "utility";
            (c, free)
        }
        None => ("service".to_string(), true),
    };
    json!({
        "billable": !free,
        "pricing_model": "PMP",
        "category": category,
        "type": if free { "free_customer_service" } else { "regular" },
    })
}

fn status_webhooks(shared: &Shared, m: &AcceptedMessage, fate: Fate) -> Vec<String> {
    let names: &[&str] = match fate {
        Fate::Sent => &["sent"],
        Fate::Delivered => &["sent", "delivered"],
        Fate::Read => &["sent", "delivered", "read"],
        Fate::Failed(_) => &["failed"],
    };
    let recipient = number_digits(&m.to).unwrap_or_default();
    let now = jiff::Timestamp::now().as_second();
    names
        .iter()
        .map(|&status| {
            let mut item = json!({
                "id": m.wamid,
                "status": status,
                "timestamp": now.to_string(),
                "recipient_id": recipient,
            });
            if let Some(c) = &m.correlation {
                item["biz_opaque_callback_data"] = json!(c);
            }
            if matches!(status, "delivered" | "read") {
                item["pricing"] = pricing_of(shared, m);
            }
            if let Fate::Failed(code) = fate {
                let title = super::config::title(code);
                item["errors"] = json!([{
                    "code": code,
                    "title": title,
                    "message": title,
                    "error_data": { "details": title },
                    "href": "/documentation/business-messaging/whatsapp/support/error-codes",
                }]);
            }
            json!({
                "object": "whatsapp_business_account",
                "entry": [{
                    "id": shared.config.waba_id,
                    "changes": [{
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "4923991230",
                                "phone_number_id": shared.config.phone_number_id,
                            },
                            "statuses": [item],
                        },
                    }],
                }],
            })
            .to_string()
        })
        .collect()
}

async fn post(
    shared: &Shared,
    url: &str,
    app_secret: &str,
    fate: impl Fn(&AcceptedMessage) -> Fate,
) -> anyhow::Result<usize> {
    let http = reqwest::Client::new();
    let mut posted = 0;
    let messages = lock(&shared.accepted).clone();
    for m in messages {
        for body in status_webhooks(shared, &m, fate(&m)) {
            let answer = http
                .post(url)
                .header("content-type", "application/json")
                .header(
                    "x-hub-signature-256",
                    crate::inbox::webhook::sign(app_secret.as_bytes(), body.as_bytes()),
                )
                .body(body)
                .send()
                .await?;
            if !answer.status().is_success() {
                anyhow::bail!("the inbox answered {} to a status webhook", answer.status());
            }
            posted += 1;
        }
    }
    Ok(posted)
}

/// `POST /_fake/statuses`: what the out-of-process fake (`aushang-dev fake-graph-api`) does
/// for [`FakeGraph::post_status_webhooks`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusRequest {
    url: String,
    app_secret: String,
    /// `sent`, `delivered` or `read` for every message not in `failed` (default `delivered`).
    #[serde(default)]
    fate: Option<String>,
    /// Number (any format) → error code of its `failed` status.
    #[serde(default)]
    failed: BTreeMap<String, i64>,
}

pub(super) async fn post_statuses(
    State(shared): State<Arc<Shared>>,
    axum::Json(req): axum::Json<StatusRequest>,
) -> Response {
    let fate = match req.fate.as_deref().unwrap_or("delivered") {
        "sent" => Fate::Sent,
        "delivered" => Fate::Delivered,
        "read" => Fate::Read,
        other => {
            return (StatusCode::BAD_REQUEST, format!("unknown fate {other:?}")).into_response();
        }
    };
    let failed: BTreeMap<String, i64> = req
        .failed
        .iter()
        .filter_map(|(n, c)| number_digits(n).map(|d| (d, *c)))
        .collect();
    let decide = |m: &AcceptedMessage| {
        number_digits(&m.to)
            .and_then(|d| failed.get(&d).copied())
            .map_or(fate, Fate::Failed)
    };
    match post(&shared, &req.url, &req.app_secret, decide).await {
        Ok(n) => axum::Json(json!({ "posted": n })).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
