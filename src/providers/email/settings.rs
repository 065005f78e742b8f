//! `broadcast.channels.email` in `aushang.yaml`, and the password (`SMTP_PASSWORD`) the
//! command's edge adds to it.

use serde::Deserialize;

pub const PASSWORD_ENV: &str = "SMTP_PASSWORD";

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only to a relay on this machine.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default = "default_security")]
    pub security: Security,
    /// Login name; the password comes from `SMTP_PASSWORD`. Without it no AUTH is sent.
    #[serde(default)]
    pub username: Option<String>,
    /// e.g. `Stadt Musterbach <bekanntmachungen@musterbach.de>`
    pub from: String,
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default = "default_mps")]
    pub messages_per_second: u32,
    /// Parallel SMTP connections (the pool's size).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

fn default_security() -> Security {
    Security::Starttls
}
fn default_mps() -> u32 {
    10
}
fn default_concurrency() -> usize {
    4
}

impl EmailConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        })
    }

    /// The problems `check` reports, each naming the key it concerns.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.host.trim().is_empty() {
            out.push(("host", "broadcast.channels.email.host ist leer".to_string()));
        }
        if self.security == Security::None && !crate::config::is_loopback_host(self.host.trim()) {
            out.push((
                "security",
                format!(
                    "security: none sendet das SMTP-Passwort und jede Adresse unverschlüsselt; das ist \
                     nur zu einem Relay auf diesem Rechner erlaubt, nicht zu `{}` (starttls oder tls verwenden)",
                    self.host
                ),
            ));
        }
        match self.from.parse::<lettre::message::Mailbox>() {
            Ok(m) if m.email.domain().is_empty() => {
                out.push(("from", format!("from `{}` hat keine Domain", self.from)))
            }
            Ok(_) => {}
            Err(e) => out.push((
                "from",
                format!(
                    "from `{}` ist keine Adresse (Meldung der E-Mail-Bibliothek: {e})",
                    self.from
                ),
            )),
        }
        if let Some(r) = &self.reply_to
            && let Err(e) = r.parse::<lettre::message::Mailbox>()
        {
            out.push((
                "reply_to",
                format!("reply_to `{r}` ist keine Adresse (Meldung der E-Mail-Bibliothek: {e})"),
            ));
        }
        if self.messages_per_second == 0 || self.concurrency == 0 {
            out.push((
                "messages_per_second",
                "broadcast.channels.email: messages_per_second und concurrency müssen mindestens 1 sein"
                    .to_string(),
            ));
        }
        out
    }
}

/// The settings a run uses: the configuration plus the password read at the command's edge.
#[derive(Clone)]
pub struct EmailSettings {
    pub config: EmailConfig,
    pub password: Option<String>,
    /// The inbox's public URL, for the unsubscribe links; `None` without an inbox.
    pub inbox_url: Option<String>,
    /// `AUSHANG_INBOX_TOKEN_SECRET`: signs each subscriber's unsubscribe link.
    pub token_secret: Option<Vec<u8>>,
    /// The site's name, shown as the sender's list name.
    pub site_title: String,
}

impl std::fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("config", &self.config)
            .field("password", &self.password.as_ref().map(|_| "set"))
            .field("inbox_url", &self.inbox_url)
            .field("token_secret", &self.token_secret.as_ref().map(|_| "set"))
            .finish()
    }
}
