//! The outbox channel: writes every rendered message to `outbox/` as files a person can read.
//!
//! It is what a fresh clone (no tokens) delivers to, and a safe place to see exactly what each
//! subscriber would get. Recipients appear masked only; the subscriber id names the file. With an
//! inbox configured, every message ends in the subscriber's own opt-out link (see [`OptOut`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Config;
use crate::delivery::errors::ErrorClass;
use crate::delivery::journal::file_key;
use crate::delivery::outcome::Outcome;
use crate::providers::deliverer::Rendered;
use crate::subscribers::optout::OptOut;
use crate::subscribers::{Channel, Subscriber};

pub const OUTBOX_DIR: &str = "outbox";

#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    optout: Option<OptOut>,
    /// Whether this run already said that its messages carry no link (said once, and only when
    /// something is delivered: a preview needs no secret).
    warned: Arc<AtomicBool>,
    /// The site's settings, for rendering every other configured channel (`for_site` only).
    config: Option<Arc<Config>>,
}

impl Outbox {
    /// An outbox whose messages carry no opt-out line.
    pub fn new(root: &Path) -> Outbox {
        Outbox {
            dir: root.join(OUTBOX_DIR),
            optout: None,
            warned: Arc::new(AtomicBool::new(false)),
            config: None,
        }
    }

    /// The site's outbox: with `inbox.url` configured, each message ends in the subscriber's
    /// opt-out link (`optout_secret`: `AUSHANG_INBOX_TOKEN_SECRET` as the command's edge read
    /// it), or says so and falls back to "STOP antworten".
    pub fn for_site(config: &Config, optout_secret: Option<&str>) -> Outbox {
        let mut outbox =
            Outbox::new(&config.root).with_optout(OptOut::for_site(config, optout_secret));
        outbox.config = Some(Arc::new(config.clone()));
        outbox
    }

    /// The site's settings when made by [`Outbox::for_site`].
    pub fn site_config(&self) -> Option<&Config> {
        self.config.as_deref()
    }

    /// Delivers `rendered` to `sub`'s file, as the sender's one interface asks: an e-mail
    /// subscriber's file shows the mail (subject and text part).
    pub fn deliver_rendered(
        &self,
        message_key: &str,
        rendered: &Rendered,
        sub: &Subscriber,
    ) -> Outcome {
        let own = rendered
            .per_channel
            .iter()
            .find(|(name, _)| *name == "email" && sub.channel == Channel::Email)
            .map(|(_, r)| r)
            .unwrap_or(rendered);
        match self.deliver(message_key, sub, &own.header, &own.text) {
            Ok(id) => Outcome::Sent { id },
            Err(e) => Outcome::Failed {
                code: None,
                class: ErrorClass::Fatal,
                detail: format!("in outbox/ lässt sich nicht schreiben (Meldung des Systems: {e})"),
            },
        }
    }

    /// Writes a public post (`channel`: telegram, mastodon) of one message as
    /// `outbox/<message>/<channel>.txt`: there is no subscriber, only the channel's readers.
    pub fn write_post(
        &self,
        message_key: &str,
        channel: &str,
        header: &str,
        text: &str,
    ) -> std::io::Result<()> {
        let path = self
            .dir
            .join(file_key(message_key))
            .join(format!("{channel}.txt"));
        let body =
            format!("An: alle Leser ({channel}, öffentlicher Beitrag)\n{header}\n\n{text}\n");
        crate::fsutil::write_atomic(&path, body.as_bytes())
    }

    pub fn with_optout(mut self, optout: Option<OptOut>) -> Outbox {
        self.optout = optout;
        self
    }

    pub fn optout(&self) -> Option<&OptOut> {
        self.optout.as_ref()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal of outbox deliveries lives beside them, so local runs never touch the
    /// committed journal of the real channels.
    pub fn journal_dir(&self) -> PathBuf {
        self.dir.join("journal")
    }

    /// Writes one message for one subscriber; returns the file written (its id for the journal).
    pub fn deliver(
        &self,
        message_key: &str,
        subscriber: &Subscriber,
        header: &str,
        text: &str,
    ) -> std::io::Result<String> {
        let name = format!("{}.txt", subscriber.id);
        let path = self.dir.join(file_key(message_key)).join(&name);
        let text = match &self.optout {
            Some(o) => {
                if let Some(w) = o.warning()
                    && !self.warned.swap(true, Ordering::Relaxed)
                {
                    tracing::warn!("{w}");
                }
                o.personalise(text, &subscriber.id)
            }
            None => text.to_string(),
        };
        let body = format!(
            "An: {} ({}, Abonnent {})\n{header}\n\n{text}\n",
            subscriber.masked_address(),
            subscriber.channel,
            subscriber.id
        );
        crate::fsutil::write_atomic(&path, body.as_bytes())?;
        Ok(format!("outbox:{}/{name}", file_key(message_key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribers::{Channel, Status};

    fn subscriber(id: &str) -> Subscriber {
        Subscriber {
            id: id.into(),
            channel: Channel::WhatsApp,
            address: "+4915200000301".into(),
            name: None,
            topics: Vec::new(),
            language: "de".into(),
            status: Status::Active,
            consent_at: None,
            consent_source: "web".into(),
            consent_text: "v1".into(),
            confirmed_at: None,
            unsubscribed_at: None,
            bsuid: None,
        }
    }

    #[test]
    fn each_file_ends_in_its_subscribers_own_verifiable_opt_out_link() {
        let dir = tempfile::tempdir().unwrap();
        let optout = OptOut::new("https://inbox.example/", Some(b"secret-0123456789"));
        let outbox = Outbox::new(dir.path()).with_optout(Some(optout.clone()));
        let text = format!("Titel\nText\n{}", optout.preview_line());
        let mut tokens = Vec::new();
        for id in ["s_00000000000000a1", "s_00000000000000a2"] {
            outbox
                .deliver("/x/#notice", &subscriber(id), "Textnachricht", &text)
                .unwrap();
            let file = dir
                .path()
                .join(OUTBOX_DIR)
                .join(file_key("/x/#notice"))
                .join(format!("{id}.txt"));
            let written = std::fs::read_to_string(file).unwrap();
            let last = written.trim_end().lines().last().unwrap();
            let token = last
                .strip_prefix("Abmelden: https://inbox.example/abmelden?t=")
                .unwrap_or_else(|| panic!("{written}"));
            assert_eq!(
                crate::subscribers::optout::verify(b"secret-0123456789", token).as_deref(),
                Some(id)
            );
            assert!(!written.contains("+4915200000301"));
            tokens.push(token.to_string());
        }
        assert_ne!(tokens[0], tokens[1]);
    }

    #[test]
    fn without_an_inbox_nothing_is_added() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path());
        outbox
            .deliver("/x/#notice", &subscriber("s_1"), "H", "Titel")
            .unwrap();
        let file = dir
            .path()
            .join(OUTBOX_DIR)
            .join(file_key("/x/#notice"))
            .join("s_1.txt");
        assert!(!std::fs::read_to_string(file).unwrap().contains("Abmelden"));
    }
}
