//! The correlation string of one delivery attempt: the sender puts it into each WhatsApp request,
//! the inbox reads it back from the status webhooks (`inbox::statuses::parse_correlation`).

/// Goes into `biz_opaque_callback_data`, so status webhooks can be matched to deliveries even
/// when the HTTP answer was lost.
pub fn correlation(message_key: &str, subscriber_id: &str, attempt: u32) -> String {
    let mut s = format!("m={message_key};s={subscriber_id};a={attempt}");
    s.truncate(512);
    s
}
