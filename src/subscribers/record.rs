//! One subscription: who gets which notices on which channel, and the proof of their consent.

use jiff::Timestamp;

/// Where a subscriber is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    WhatsApp,
    Email,
    Sms,
    Telegram,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WhatsApp => "whatsapp",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Telegram => "telegram",
        }
    }

    /// The name town staff read in `subscribers list`/`count` (the list stores [`Self::as_str`]).
    pub fn label(self) -> &'static str {
        match self {
            Channel::WhatsApp => "WhatsApp",
            Channel::Email => "E-Mail",
            Channel::Sms => "SMS",
            Channel::Telegram => "Telegram",
        }
    }
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The stored list is already canonical: skip the lower-casing copy for it.
        match s {
            "whatsapp" => return Ok(Channel::WhatsApp),
            "email" => return Ok(Channel::Email),
            _ => {}
        }
        match s.trim().to_ascii_lowercase().as_str() {
            "whatsapp" => Ok(Channel::WhatsApp),
            "email" | "e-mail" => Ok(Channel::Email),
            "sms" => Ok(Channel::Sms),
            "telegram" => Ok(Channel::Telegram),
            other => Err(format!(
                "unbekannter Kanal `{other}` (bekannt: whatsapp, email, sms, telegram)"
            )),
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Signed up, not yet confirmed (double opt-in): gets no notices.
    Pending,
    Active,
    Unsubscribed,
    /// Messages failed as undeliverable (131026) several times in a row: gets no notices until
    /// the person writes START again. Still a subscription (consent stands), unlike `unsubscribed`.
    Unreachable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Unsubscribed => "unsubscribed",
            Status::Unreachable => "unreachable",
        }
    }

    /// The German word town staff read in `subscribers list`/`count` and the results of
    /// `add`/`remove`; the list, `--status` and the Art. 15 record keep [`Self::as_str`].
    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "wartet auf Bestätigung",
            Status::Active => "aktiv",
            Status::Unsubscribed => "abgemeldet",
            Status::Unreachable => "nicht erreichbar",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => return Ok(Status::Active),
            "pending" => return Ok(Status::Pending),
            "unsubscribed" => return Ok(Status::Unsubscribed),
            _ => {}
        }
        match s.trim().to_ascii_lowercase().as_str() {
            "pending" => Ok(Status::Pending),
            "active" => Ok(Status::Active),
            "unsubscribed" => Ok(Status::Unsubscribed),
            "unreachable" => Ok(Status::Unreachable),
            other => Err(format!(
                "unbekannter Status `{other}` (bekannt: pending, active, unsubscribed, unreachable)"
            )),
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One row of the subscriber list. `Debug` masks the address and hides the name, so a stray
/// `{:?}` in a log or a failing test never prints personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Random, stable, never reused; the only thing other files (the journal) may reference.
    pub id: String,
    pub channel: Channel,
    /// E.164 for phones (`+4915123456789`), lower-cased for e-mail.
    pub address: String,
    pub name: Option<String>,
    /// Category ids wanted; empty = all notices.
    pub topics: Vec<String>,
    pub language: String,
    pub status: Status,
    pub consent_at: Option<Timestamp>,
    /// `web`, `keyword`, `paper`, `import`.
    pub consent_source: String,
    /// Version id or hash of the consent text the person agreed to.
    pub consent_text: String,
    pub confirmed_at: Option<Timestamp>,
    pub unsubscribed_at: Option<Timestamp>,
    /// WhatsApp's business-scoped user id, learned from webhooks that carry it next to the
    /// number; lets a STOP from a user who hides their number behind a username find the row.
    pub bsuid: Option<String>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("address", &self.masked_address())
            .field("name", &self.name.as_ref().map(|_| "…"))
            .field("topics", &self.topics)
            .field("language", &self.language)
            .field("status", &self.status)
            .field("consent_at", &self.consent_at)
            .field("consent_source", &self.consent_source)
            .field("consent_text", &self.consent_text)
            .field("confirmed_at", &self.confirmed_at)
            .field("unsubscribed_at", &self.unsubscribed_at)
            .field("bsuid", &self.bsuid.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Subscriber {
    /// Whether this subscriber should receive a notice of `category` on `channel`.
    pub fn wants(&self, channel: Channel, category: Option<&str>) -> bool {
        self.channel == channel
            && self.receives()
            && (self.topics.is_empty()
                || category.is_some_and(|c| self.topics.iter().any(|t| t == c)))
    }

    /// Whether anything may be sent to this subscriber at all: only confirmed, reachable
    /// subscriptions (not pending, unsubscribed or unreachable).
    pub fn receives(&self) -> bool {
        self.status == Status::Active
    }

    /// The address with the middle hidden, safe for logs: `+49151*****789`.
    pub fn masked_address(&self) -> String {
        mask(&self.address)
    }
}

/// Whether `name` may be stored as a person's name: one line without control characters. An
/// ESC or OSC sequence or a line break in a name would rewrite or forge the output of
/// `subscribers export` and `list --reveal`. Used by every way in (sign-up form, `add`, import,
/// pulled events). The message names the character, never the name.
pub fn check_name(name: &str) -> Result<(), String> {
    match crate::text::find_control_in_line(name) {
        None => Ok(()),
        Some((_, c)) => Err(format!(
            "der Name enthält ein Steuerzeichen ({}); bitte neu eingeben",
            crate::text::describe_control(c)
        )),
    }
}

/// Masks a phone number or e-mail address for logs and reports: `+49151*****789`, `a***@example.org`.
pub fn mask(address: &str) -> String {
    if let Some((local, domain)) = address.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let chars: Vec<char> = address.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    // At least four digits stay hidden, so a short (e.g. landline) number is never shown whole.
    let hidden = (chars.len() - 9).max(4);
    let head_len = (chars.len() - 3 - hidden).min(6);
    let head: String = chars[..head_len].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - head_len - 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_like_the_brief_says() {
        assert_eq!(mask("+4915123456789"), "+49151*****789");
        assert_eq!(mask("anna.muster@example.org"), "a***@example.org");
        assert_eq!(mask("+4912"), "*****");
        assert_eq!(mask("+491713920001"), "+49171****001");
        assert_eq!(mask("02399 123"), "02****123");
        assert_eq!(mask("0239912345"), "023****345");
    }

    #[test]
    fn only_active_subscribers_receive() {
        for (status, receives) in [
            (Status::Active, true),
            (Status::Pending, false),
            (Status::Unsubscribed, false),
            (Status::Unreachable, false),
        ] {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
            let s = Subscriber {
                id: "s_1".into(),
                channel: Channel::WhatsApp,
                address: "+4915123456789".into(),
                name: None,
                topics: Vec::new(),
                language: "de".into(),
                status,
                consent_at: None,
                consent_source: "web".into(),
                consent_text: "v1".into(),
                confirmed_at: None,
                unsubscribed_at: None,
                bsuid: Some("DE.123".into()),
            };
            assert_eq!(s.receives(), receives, "{status}");
            assert_eq!(s.wants(Channel::WhatsApp, None), receives, "{status}");
            assert!(!format!("{s:?}").contains("DE.123"));
        }
    }
}
