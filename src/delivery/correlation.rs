//! The correlation string of one delivery attempt: the sender puts it into each WhatsApp request,
//! the inbox reads it back from the status webhooks ([`parse_correlation`]).

/// Goes into `biz_opaque_callback_data`, so status webhooks can be matched to deliveries even
/// when the HTTP answer was lost.
pub fn correlation(message_key: &str, subscriber_id: &str, attempt: u32) -> String {
    let mut s = format!("m={message_key};s={subscriber_id};a={attempt}");
    s.truncate(512);
    s
}

/// `m=<key>;s=<sub>;a=<n>` → (key, sub, attempt).
pub fn parse_correlation(c: &str) -> Option<(String, String, u32)> {
    let mut parts = c.rsplitn(3, ';');
    let attempt = parts.next()?.strip_prefix("a=")?.parse().ok()?;
    let sub = parts.next()?.strip_prefix("s=")?.to_string();
    let msg = parts.next()?.strip_prefix("m=")?.to_string();
    Some((msg, sub, attempt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_roundtrip() {
        let c = correlation("/bekanntmachungen/2026/x/#notice", "s_00aa", 2);
        assert_eq!(
            parse_correlation(&c),
            Some((
                "/bekanntmachungen/2026/x/#notice".into(),
                "s_00aa".into(),
                2
            ))
        );
        assert_eq!(parse_correlation("confirm"), None);
    }
}
