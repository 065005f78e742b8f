//! The audience of a run: the subscriber list it reads, checked once in full before anything is
//! sent and then streamed again per message, so no run holds the list (or copies of it) whole.

use std::path::PathBuf;

use anyhow::bail;

use crate::broadcast::send::RecipientStream;
use crate::config::Config;
use crate::delivery::message::Message;
use crate::subscribers::stream::{Fingerprint, SubscriberStream};
use crate::subscribers::{Channel, Identity, Recipients, Status, StoreError, Subscriber};

/// Where a run reads its subscribers: the list and the key that opens it. The list is never held
/// whole: each use streams it, decrypting and parsing one row at a time.
pub struct SubscriberSource {
    dir: PathBuf,
    readers: Readers,
    /// The list file the census checked; later streams must read the same one.
    checked: Option<Fingerprint>,
    /// Subscribers marked unreachable (repeatedly undeliverable), found by the census so the run
    /// can name them; few by nature, so held.
    pub unreachable: Vec<Subscriber>,
}

/// Whom a run reads its recipients from.
enum Readers {
    /// The encrypted list, opened with this key.
    List(Identity),
    /// A public post (Telegram channel, Mastodon) has one pseudo-subscriber standing for the
    /// channel's readers, journaled like any delivery: one delivery per notice, no list read.
    Public(Box<Subscriber>),
}

impl SubscriberSource {
    /// Finds the key in the environment; on the example site (the demo key among the
    /// recipients) the committed demo identity is used for local channels.
    pub fn open(config: &Config, real_channel: bool) -> anyhow::Result<SubscriberSource> {
        let dir = config.subscribers_dir();
        let recipients = Recipients::load(&dir)?;
        if real_channel && recipients.includes_demo_key() {
            bail!(
                "subscribers/recipients.txt nennt noch den DEMO-Schlüssel, die Liste kann also die \
                 Beispielpersonen enthalten: auf einem echten Kanal wird nicht gesendet. Führen Sie \
                 `aushang subscribers init` für Ihre Gemeinde aus (README, \"Setting up your town\")"
            );
        }
        let identity = match Identity::from_env_for(&dir) {
            Ok(id) => id,
            Err(e) if !real_channel && recipients.includes_demo_key() => {
                tracing::info!(
                    "kein Schlüssel in der Umgebung ({e}); der DEMO-Schlüssel wird verwendet"
                );
                Identity::from_file(&crate::subscribers::demo_identity_path(&dir))?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(SubscriberSource {
            dir,
            readers: Readers::List(identity),
            checked: None,
            unreachable: Vec::new(),
        })
    }

    /// The audience of a public post: `reader` alone, no list and no key needed.
    pub fn public(reader: Subscriber) -> SubscriberSource {
        SubscriberSource {
            dir: PathBuf::new(),
            readers: Readers::Public(Box::new(reader)),
            checked: None,
            unreachable: Vec::new(),
        }
    }

    /// Reads the whole list once before anything is sent: every row must parse and no id or
    /// address may appear twice — the first bad row stops the run here, naming its line and
    /// field, so a run never sends to half a list and silently skips the rest. Returns, per
    /// message, how many subscribers `wants` it.
    pub fn census(
        &mut self,
        messages: &[&Message],
        wants: impl Fn(&Subscriber, &Message) -> bool,
    ) -> Result<Vec<usize>, StoreError> {
        let identity = match &self.readers {
            Readers::List(identity) => identity,
            Readers::Public(reader) => {
                return Ok(messages
                    .iter()
                    .map(|m| usize::from(wants(reader, m)))
                    .collect());
            }
        };
        let stream = SubscriberStream::open(&self.dir, identity)?;
        let fingerprint = stream.fingerprint();
        let mut counts = vec![0; messages.len()];
        let mut unreachable = Vec::new();
        stream.scan(|s| {
            if s.status == Status::Unreachable {
                unreachable.push(s.clone());
            }
            for (count, m) in counts.iter_mut().zip(messages) {
                if wants(s, m) {
                    *count += 1;
                }
            }
        })?;
        self.checked = Some(fingerprint);
        self.unreachable = unreachable;
        Ok(counts)
    }

    /// The subscribers who want `message`, in list order, read from the list checked by
    /// [`census`](Self::census). If the file was replaced since, the stream yields only an error:
    /// rows nobody checked are never sent to.
    pub fn recipients(
        &self,
        wants: impl Fn(&Subscriber) -> bool + Send + 'static,
    ) -> RecipientStream {
        let identity = match &self.readers {
            Readers::List(identity) => identity,
            Readers::Public(reader) => {
                let reader = wants(reader).then(|| (**reader).clone());
                return Box::new(reader.into_iter().map(Ok));
            }
        };
        let stream = SubscriberStream::open(&self.dir, identity).and_then(|stream| {
            if Some(stream.fingerprint()) == self.checked {
                Ok(stream)
            } else {
                Err(StoreError::Replaced {
                    path: crate::subscribers::store::list_path(&self.dir),
                })
            }
        });
        match stream {
            Ok(stream) => Box::new(stream.filter_map(move |row| match row {
                Ok((_, s)) => wants(&s).then_some(Ok(s)),
                Err(e) => Some(Err(e)),
            })),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }
}

/// For `aushang broadcast`: the unreachable WhatsApp subscribers it skips, masked.
pub fn skipped_warning(subscribers: &[Subscriber]) -> Option<String> {
    let masked: Vec<String> = subscribers
        .iter()
        .filter(|s| s.channel == Channel::WhatsApp && s.status == Status::Unreachable)
        .map(|s| format!("{} ({})", s.id, s.masked_address()))
        .collect();
    if masked.is_empty() {
        return None;
    }
    let shown = masked
        .iter()
        .take(20)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let more = masked.len().saturating_sub(20);
    Some(format!(
        "{} Abonnent(en) sind nicht erreichbar (mehrmals nacheinander unzustellbar) und bekommen \
         nichts, bis sie START schreiben: {shown}{}",
        masked.len(),
        if more > 0 {
            format!(" und {more} weitere")
        } else {
            String::new()
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribers::{Channel, Status, SubscriberList};

    fn person(i: u64) -> Subscriber {
        Subscriber {
            id: format!("s_{i:016x}"),
            channel: Channel::WhatsApp,
            address: format!("+999{i:010}"),
            name: None,
            topics: vec![],
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
    fn only_the_list_the_census_checked_is_streamed() {
        let dir = tempfile::tempdir().unwrap();
        let (identity, _) = Identity::generate();
        let text = Recipients::file_text("test", &identity.public_keys()[0]);
        let recipients = Recipients::parse(&text, &dir.path().join("recipients.txt")).unwrap();
        let save = |n: u64| {
            SubscriberList::new((0..n).map(person).collect())
                .save(dir.path(), &recipients)
                .unwrap()
        };
        save(30);
        let mut source = SubscriberSource {
            unreachable: Vec::new(),
            dir: dir.path().to_path_buf(),
            readers: Readers::List(identity),
            checked: None,
        };
        let unchecked: Vec<_> = source.recipients(|_| true).collect();
        assert!(matches!(unchecked[..], [Err(StoreError::Replaced { .. })]));
        source.census(&[], |_, _| true).unwrap();
        let rows = source.recipients(|s| s.id != "s_0000000000000003");
        assert_eq!(rows.map(Result::unwrap).count(), 29);
        // a save (temp file + rename) in the middle of a run: not one row of the new list
        save(40);
        let after: Vec<_> = source.recipients(|_| true).collect();
        assert!(matches!(after[..], [Err(StoreError::Replaced { .. })]));
    }
}
