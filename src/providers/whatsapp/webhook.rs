//! The WhatsApp Cloud API's webhook wire format, as far as aushang reads it: messages (inbound
//! START/STOP, button replies), statuses, `user_preferences`, contacts with their business-scoped
//! user ids, and template changes. The inbox turns these into its events (`inbox::payload`).

use serde::Deserialize;

#[derive(Deserialize)]
pub struct WebhookBody {
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Deserialize)]
pub struct Entry {
    /// Unix seconds; template webhooks carry it (used to tell a retry from a new change).
    #[serde(default)]
    pub time: Option<i64>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub value: serde_json::Value,
}

#[derive(Deserialize)]
pub struct MessagesValue {
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub messages: Vec<Inbound>,
    #[serde(default)]
    pub statuses: Vec<StatusItem>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub user_preferences: Vec<PreferenceItem>,
}

/// `contacts[]`: the sender's number (`wa_id`) and, since 2026, business-scoped user id.
#[derive(Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub wa_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Deserialize)]
pub struct PreferenceItem {
    #[serde(default)]
    pub wa_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub value: String,
    /// Unix seconds, as a number or a string.
    #[serde(default)]
    pub timestamp: Option<serde_json::Value>,
}

/// The value of `message_template_status_update`, `template_category_update` and
/// `message_template_quality_update`.
#[derive(Deserialize)]
pub struct TemplateValue {
    #[serde(default)]
    pub message_template_name: Option<String>,
    #[serde(default)]
    pub message_template_language: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub new_category: Option<String>,
    #[serde(default)]
    pub correct_category: Option<String>,
    #[serde(default)]
    pub new_quality_score: Option<String>,
}

/// The webhook fields about templates this tool records.
pub const TEMPLATE_FIELDS: [&str; 3] = [
    "message_template_status_update",
    "template_category_update",
    "message_template_quality_update",
];

#[derive(Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub phone_number_id: String,
}

#[derive(Deserialize)]
pub struct Inbound {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub from_user_id: Option<String>,
    pub id: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub text: Option<Text>,
    #[serde(default)]
    pub button: Option<Button>,
    #[serde(default)]
    pub interactive: Option<Interactive>,
}

#[derive(Deserialize)]
pub struct Text {
    #[serde(default)]
    pub body: String,
}

#[derive(Deserialize)]
pub struct Button {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub payload: Option<String>,
}

#[derive(Deserialize)]
pub struct Interactive {
    #[serde(default)]
    pub button_reply: Option<ButtonReply>,
}

#[derive(Deserialize)]
pub struct ButtonReply {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Deserialize)]
pub struct StatusItem {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub biz_opaque_callback_data: Option<String>,
    #[serde(default)]
    pub recipient_user_id: Option<String>,
    #[serde(default)]
    pub errors: Vec<StatusError>,
    #[serde(default)]
    pub pricing: Option<super::pricing::Pricing>,
}

#[derive(Deserialize)]
pub struct StatusError {
    #[serde(default)]
    pub code: Option<i64>,
}
