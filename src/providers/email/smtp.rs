//! The SMTP client: a pool of lettre connections (connected, TLS'd and logged in once, reused for
//! many mails) and the classification of SMTP replies (RFC 5321) into the sender's error classes.
//!
//! lettre's own pooled transport hides at which step a send failed; exactly-once needs to know
//! whether the connection was lost before the mail's DATA was sent (nothing delivered: retry) or
//! after it (maybe delivered: uncertain). So the steps MAIL, RCPT, DATA and the message are
//! driven here one by one on lettre's `AsyncSmtpConnection`.

use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use crate::delivery::errors::{Backoff, ErrorClass, Scope};
use crate::delivery::outcome::Outcome;
use crate::providers::email::settings::{EmailSettings, Security};

type SmtpError = lettre::transport::smtp::Error;

const TIMEOUT: Duration = Duration::from_secs(60);
/// A 4xx for one mail: 2 s, 4 s, 8 s… up to 2 minutes.
const TRANSIENT: Backoff = Backoff::Exponential {
    base: Duration::from_secs(2),
    cap: Duration::from_secs(120),
};
/// The server is unreachable or closing (421): everyone waits, 10 s doubling to 5 minutes.
const SERVER_DOWN: Backoff = Backoff::Exponential {
    base: Duration::from_secs(10),
    cap: Duration::from_secs(300),
};

/// Where in one mail's transaction an error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Connecting, TLS, EHLO, AUTH.
    Connect,
    /// MAIL FROM: about the sender, so about every mail.
    Sender,
    /// RCPT TO: about this recipient.
    Recipient,
    /// The DATA command, before any of the mail was sent.
    Data,
    /// The mail's content and the final `.`: after this the server may have taken it.
    Content,
}

/// Pooled SMTP connections to the configured server.
pub struct SmtpPool {
    settings: EmailSettings,
    hello: ClientId,
    idle: tokio::sync::Mutex<Vec<AsyncSmtpConnection>>,
}

impl SmtpPool {
    pub fn new(settings: EmailSettings) -> SmtpPool {
        let domain = settings
            .config
            .from
            .parse::<lettre::message::Mailbox>()
            .map(|m| m.email.domain().to_string())
            .unwrap_or_else(|_| "localhost".into());
        SmtpPool {
            settings,
            hello: ClientId::Domain(domain),
            idle: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// Sends one mail and says what became of it.
    pub async fn send(&self, mail: &lettre::Message) -> Outcome {
        let mut conn = match self.connection().await {
            Ok(c) => c,
            Err(e) => return classify(Step::Connect, &e),
        };
        match transaction(&mut conn, mail).await {
            Ok(response) => {
                self.idle.lock().await.push(conn);
                Outcome::Sent {
                    id: response
                        .first_line()
                        .map(|l| l.chars().take(120).collect())
                        .unwrap_or_else(|| "250".into()),
                }
            }
            Err((step, e)) => {
                // A refused mail leaves a healthy connection: reset it and keep it.
                if (e.is_transient() || e.is_permanent())
                    && !conn.has_broken()
                    && conn.command(Rset).await.is_ok()
                {
                    self.idle.lock().await.push(conn);
                } else {
                    conn.abort().await;
                }
                classify(step, &e)
            }
        }
    }

    /// Closes every idle connection politely.
    pub async fn close(&self) {
        for mut c in self.idle.lock().await.drain(..) {
            let _ = c.quit().await;
        }
    }

    async fn connection(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        loop {
            let Some(mut c) = self.idle.lock().await.pop() else {
                break;
            };
            if !c.has_broken() && c.test_connected().await {
                return Ok(c);
            }
            c.abort().await;
        }
        self.connect().await
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let cfg = &self.settings.config;
        let host = cfg.host.trim();
        let addr = (host, cfg.port());
        let tls = || TlsParameters::new(host.to_string());
        let mut conn = match cfg.security {
            Security::Tls => {
                AsyncSmtpConnection::connect_tokio1(
                    addr,
                    Some(TIMEOUT),
                    &self.hello,
                    Some(tls()?),
                    None,
                )
                .await?
            }
            Security::Starttls => {
                let mut c = AsyncSmtpConnection::connect_tokio1(
                    addr,
                    Some(TIMEOUT),
                    &self.hello,
                    None,
                    None,
                )
                .await?;
                // lettre refuses when the server offers no STARTTLS: never falls back to plain.
                c.starttls(tls()?, &self.hello).await?;
                c
            }
            Security::None => {
                AsyncSmtpConnection::connect_tokio1(addr, Some(TIMEOUT), &self.hello, None, None)
                    .await?
            }
        };
        if let Some(user) = &cfg.username {
            let credentials = Credentials::new(
                user.clone(),
                self.settings.password.clone().unwrap_or_default(),
            );
            if let Err(e) = conn
                .auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
            {
                conn.abort().await;
                return Err(e);
            }
        }
        Ok(conn)
    }
}

async fn transaction(
    conn: &mut AsyncSmtpConnection,
    mail: &lettre::Message,
) -> Result<lettre::transport::smtp::response::Response, (Step, SmtpError)> {
    let envelope = mail.envelope();
    let bytes = mail.formatted();
    let mut options = vec![];
    if !bytes.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), options))
        .await
        .map_err(|e| (Step::Sender, e))?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), vec![]))
            .await
            .map_err(|e| (Step::Recipient, e))?;
    }
    conn.command(Data).await.map_err(|e| (Step::Data, e))?;
    conn.message(&bytes).await.map_err(|e| (Step::Content, e))
}

/// `text` with every word holding an `@` (an e-mail address) replaced by `<address>`.
pub fn mask_addresses(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|w| {
            let word = w.trim_end();
            if word.contains('@') {
                format!("<address>{}", &w[word.len()..])
            } else {
                w.to_string()
            }
        })
        .collect()
}

/// Whether the TLS handshake failed (an untrusted certificate, a name mismatch): rustls reports
/// it through tokio-rustls as an I/O error of kind `InvalidData`. A configuration problem, not
/// an outage: waiting does not help.
fn tls_refused(e: &SmtpError) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::InvalidData
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// RFC 5321 reply classes as the sender's outcome: 4xx retry with backoff (421: the server is
/// closing, everyone waits), 5xx permanent for that address, an authentication failure (530,
/// 534, 535, 538) or a refused sender fatal for the run, and a connection lost after the mail's
/// content was sent uncertain.
fn classify(step: Step, e: &SmtpError) -> Outcome {
    let code = e.status().map(|c| i64::from(u16::from(c)));
    // Servers often name the recipient in a refusal ("550 <anna@…>: user unknown"): never into
    // logs or reports.
    let detail = |what: &str| {
        mask_addresses(&format!(
            "SMTP: {what} (Meldung des Servers oder der E-Mail-Bibliothek: {e})"
        ))
    };
    let failed = |class, what: &str| Outcome::Failed {
        code,
        class,
        detail: detail(what),
    };
    let server_down = ErrorClass::Retry {
        scope: Scope::RunWide,
        backoff: SERVER_DOWN,
    };
    match code {
        Some(530 | 534 | 535 | 538) => failed(
            ErrorClass::Fatal,
            "der Server lehnt die Anmeldung ab (username und SMTP_PASSWORD prüfen)",
        ),
        Some(421) => failed(
            server_down,
            "der Server schließt die Verbindung; es wird später erneut versucht",
        ),
        Some(400..=499) => failed(
            ErrorClass::Retry {
                scope: if step == Step::Connect || step == Step::Sender {
                    Scope::RunWide
                } else {
                    Scope::Recipient
                },
                backoff: TRANSIENT,
            },
            "der Server bittet, es später erneut zu versuchen",
        ),
        Some(_) => match step {
            Step::Recipient | Step::Content => failed(
                ErrorClass::Permanent,
                "der Server lehnt die Mail an diese Adresse endgültig ab",
            ),
            Step::Connect | Step::Sender | Step::Data => failed(
                ErrorClass::Fatal,
                "der Server lehnt den Absender oder die Sitzung ab (from und die Einstellungen \
                 des Servers prüfen)",
            ),
        },
        None if step == Step::Content => Outcome::Uncertain {
            detail: detail(
                "die Verbindung brach ab, nachdem die Mail gesendet war; unsicher, ob sie ankam",
            ),
        },
        None if e.is_tls() || e.is_client() || tls_refused(e) => failed(
            ErrorClass::Fatal,
            "die verschlüsselte Verbindung kommt nicht zustande (Zertifikat, Rechnername und \
             security prüfen)",
        ),
        None if step == Step::Connect => failed(
            server_down,
            "keine Verbindung zum Server (nichts gesendet); es wird später erneut versucht",
        ),
        None => failed(
            server_down,
            "die Verbindung brach ab, bevor die Mail gesendet war (nichts gesendet); es wird \
             später erneut versucht",
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_in_smtp_replies_are_masked() {
        assert_eq!(
            super::mask_addresses(
                "SMTP: permanent error (550): 5.1.1 <anna@example.org>: Recipient address rejected"
            ),
            "SMTP: permanent error (550): 5.1.1 <address> Recipient address rejected"
        );
        assert_eq!(super::mask_addresses("451 try later"), "451 try later");
    }
}
