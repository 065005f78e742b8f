//! The inbox's event files: one age-encrypted (armored) file per event, durable before the
//! sender gets its 200, listed and deleted by the batch side's pull.
//!
//! Layout of the data dir:
//! - `events/<received µs>-<event id>.age`: the event, encrypted to `subscribers/recipients.txt`.
//!   The server holds no secret key, so a break-in reveals nothing already stored. An unsubscribe
//!   (STOP, opt-out link, WhatsApp "stop") is named `….stop.age` and listed before all others.
//! - `acked.log`: `<unix seconds> <event id>` per acknowledged event, kept for 8 days, so a webhook
//!   Meta retries after the pull took it is still recognised as a duplicate.
//!
//! Ids and times are all that is in plaintext; they carry no personal data.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

use super::events::{Envelope, is_event_id};
use crate::subscribers::Recipients;
use crate::subscribers::store::encrypt_to_vec;

/// How long an acknowledged id is remembered: longer than Meta's 7 days of retries.
pub const REMEMBER_ACKED: SignedDuration = SignedDuration::from_hours(8 * 24);

#[derive(Debug, thiserror::Error)]
pub enum EventStoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("das Ereignis lässt sich nicht verschlüsseln: {0}")]
    Encrypt(String),
}

/// What `put` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Written and fsynced.
    New,
    /// The id was stored (or acknowledged) before: nothing written.
    Duplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// A write is in progress or done; the file name's time prefix, and whether it is an
    /// unsubscribe (listed first).
    Present(u64, bool),
    /// Acknowledged (deleted) at this time.
    Acked(Timestamp),
}

/// One encrypted event as listed for the pull.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredEvent {
    pub id: String,
    /// ASCII-armored age ciphertext of the JSON [`Envelope`].
    pub age: String,
}

#[derive(Debug)]
pub struct EventStore {
    dir: PathBuf,
    recipients: Recipients,
    known: Mutex<HashMap<String, Known>>,
    acked_log: Mutex<()>,
    /// Group commit of the `events/` directory: concurrent webhooks share directory fsyncs.
    events_dir: crate::fsutil::DirSync,
}

impl EventStore {
    /// Opens (creating) the data dir and indexes what is in it.
    pub fn open(dir: &Path, recipients: Recipients) -> Result<EventStore, EventStoreError> {
        let events = dir.join("events");
        std::fs::create_dir_all(&events).map_err(io(&events))?;
        let mut known = HashMap::new();
        let now = Timestamp::now();
        let acked = dir.join("acked.log");
        match std::fs::read_to_string(&acked) {
            Ok(text) => {
                let mut kept = String::new();
                for line in text.lines() {
                    let Some((t, id)) = line.split_once(' ') else {
                        continue;
                    };
                    let Ok(secs) = t.parse::<i64>() else { continue };
                    let Ok(t) = Timestamp::from_second(secs) else {
                        continue;
                    };
                    if now.duration_since(t) < REMEMBER_ACKED && is_event_id(id) {
                        known.insert(id.to_string(), Known::Acked(t));
                        kept.push_str(line);
                        kept.push('\n');
                    }
                }
                if kept.len() < text.len() {
                    crate::fsutil::write_atomic(&acked, kept.as_bytes()).map_err(io(&acked))?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&acked)(e)),
        }
        for entry in std::fs::read_dir(&events).map_err(io(&events))? {
            let entry = entry.map_err(io(&events))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some((micros, id, urgent)) = parse_name(&name) {
                known.insert(id.to_string(), Known::Present(micros, urgent));
            }
        }
        Ok(EventStore {
            dir: dir.to_path_buf(),
            recipients,
            known: Mutex::new(known),
            acked_log: Mutex::new(()),
            events_dir: crate::fsutil::DirSync::new(&events),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Encrypts and writes `envelope` durably (temp file, fsync, rename, directory fsync).
    /// Blocking: call it from `spawn_blocking`.
    pub fn put(&self, envelope: &Envelope) -> Result<Stored, EventStoreError> {
        self.put_unless_waiting(envelope, "")
    }

    /// Like [`EventStore::put`], but also a duplicate when an event whose id starts with `prefix`
    /// (not empty) still waits for the pull: one stored opt-out per link until the next pull.
    pub fn put_unless_waiting(
        &self,
        envelope: &Envelope,
        prefix: &str,
    ) -> Result<Stored, EventStoreError> {
        let micros = envelope.received_at.as_microsecond().max(0) as u64;
        let urgent = envelope.event.is_stop_class();
        {
            let mut known = self.known.lock().expect("event index lock");
            if known.contains_key(&envelope.id) {
                return Ok(Stored::Duplicate);
            }
            if !prefix.is_empty()
                && known
                    .iter()
                    .any(|(id, k)| matches!(k, Known::Present(..)) && id.starts_with(prefix))
            {
                return Ok(Stored::Duplicate);
            }
            // Reserved before writing, so a concurrent retry of the same webhook is a duplicate.
            known.insert(envelope.id.clone(), Known::Present(micros, urgent));
        }
        let result = self.write(envelope, micros, urgent);
        if result.is_err() {
            self.known
                .lock()
                .expect("event index lock")
                .remove(&envelope.id);
        }
        result.map(|_| Stored::New)
    }

    fn write(&self, envelope: &Envelope, micros: u64, urgent: bool) -> Result<(), EventStoreError> {
        let json =
            serde_json::to_vec(envelope).map_err(|e| EventStoreError::Encrypt(e.to_string()))?;
        let armored = encrypt_to_vec(&json, &self.recipients)
            .map_err(|e| EventStoreError::Encrypt(e.to_string()))?;
        let path = self.path_of(&envelope.id, micros, urgent);
        self.events_dir
            .write_atomic(&path, &armored)
            .map_err(io(&path))
    }

    fn path_of(&self, id: &str, micros: u64, urgent: bool) -> PathBuf {
        let kind = if urgent { ".stop" } else { "" };
        self.dir
            .join("events")
            .join(format!("{micros:020}-{id}{kind}.age"))
    }

    /// Up to `limit` stored events after skipping `skip`: unsubscribes first, then the others,
    /// each oldest received first. (Events stored meanwhile may shift the order; a pull that
    /// pages with `skip` then sees one twice, never misses one.)
    pub fn list(&self, skip: usize, limit: usize) -> Result<Vec<StoredEvent>, EventStoreError> {
        let mut present: Vec<(bool, u64, String)> = self
            .known
            .lock()
            .expect("event index lock")
            .iter()
            .filter_map(|(id, k)| match k {
                Known::Present(m, urgent) => Some((!urgent, *m, id.clone())),
                Known::Acked(_) => None,
            })
            .collect();
        present.sort();
        let mut out = Vec::new();
        for (not_urgent, micros, id) in present.into_iter().skip(skip) {
            if out.len() >= limit {
                break;
            }
            let path = self.path_of(&id, micros, !not_urgent);
            match std::fs::read_to_string(&path) {
                Ok(age) => out.push(StoredEvent { id, age }),
                // reserved but still being written: it is listed next time
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        Ok(out)
    }

    /// Deletes acknowledged events, remembering their ids; unknown ids are ignored. Returns how
    /// many were deleted.
    pub fn ack(&self, ids: &[String]) -> Result<usize, EventStoreError> {
        let now = Timestamp::now();
        let targets: Vec<(String, u64, bool)> = {
            let known = self.known.lock().expect("event index lock");
            ids.iter()
                .filter_map(|id| match known.get(id) {
                    Some(Known::Present(m, urgent)) => Some((id.clone(), *m, *urgent)),
                    _ => None,
                })
                .collect()
        };
        if targets.is_empty() {
            return Ok(0);
        }
        let log_path = self.dir.join("acked.log");
        {
            let _guard = self.acked_log.lock().expect("acked log lock");
            let mut text = String::new();
            for (id, _, _) in &targets {
                text.push_str(&format!("{} {id}\n", now.as_second()));
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(io(&log_path))?;
            f.write_all(text.as_bytes()).map_err(io(&log_path))?;
            f.sync_data().map_err(io(&log_path))?;
        }
        let mut known = self.known.lock().expect("event index lock");
        for (id, micros, urgent) in &targets {
            let path = self.path_of(id, *micros, *urgent);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
            known.insert(id.clone(), Known::Acked(now));
        }
        Ok(targets.len())
    }

    /// How many events wait for the pull.
    pub fn pending(&self) -> usize {
        self.known
            .lock()
            .expect("event index lock")
            .values()
            .filter(|k| matches!(k, Known::Present(..)))
            .count()
    }
}

/// `00000001764325000000000-m-0123….age` → (micros, id, false); `….stop.age` → (…, true).
fn parse_name(name: &str) -> Option<(u64, &str, bool)> {
    let stem = name.strip_suffix(".age")?;
    let (stem, urgent) = match stem.strip_suffix(".stop") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    let (micros, id) = stem.split_once('-')?;
    let micros = micros.parse().ok()?;
    is_event_id(id).then_some((micros, id, urgent))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EventStoreError + '_ {
    move |source| EventStoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::events::{Event, random_id, status_id};
    use crate::subscribers::Identity;

    fn store(dir: &Path) -> (EventStore, Identity) {
        let (identity, _) = Identity::generate();
        let text = Recipients::file_text("test", &identity.public_keys()[0]);
        let recipients = Recipients::parse(&text, Path::new("recipients.txt")).unwrap();
        (EventStore::open(dir, recipients).unwrap(), identity)
    }

    fn status(id: &str) -> Envelope {
        Envelope {
            id: status_id(id, "sent"),
            received_at: Timestamp::now(),
            event: Event::Status {
                at: Timestamp::now(),
                message_id: id.into(),
                status: "sent".into(),
                correlation: None,
                error_codes: vec![],
                bsuid: None,
                pricing: None,
            },
        }
    }

    #[test]
    fn duplicates_are_refused_before_and_after_ack_and_across_restarts() {
        let tmp = tempfile::tempdir().unwrap();
        let (s, _) = store(tmp.path());
        let e = status("wamid.1");
        assert_eq!(s.put(&e).unwrap(), Stored::New);
        assert_eq!(s.put(&e).unwrap(), Stored::Duplicate);
        let listed = s.list(0, 10).unwrap();
        assert_eq!(listed.len(), 1);
        assert!(
            listed[0]
                .age
                .starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
        );
        assert_eq!(s.ack(std::slice::from_ref(&e.id)).unwrap(), 1);
        assert!(s.list(0, 10).unwrap().is_empty());
        assert_eq!(s.put(&e).unwrap(), Stored::Duplicate);
        drop(s);
        let (again, _) = store(tmp.path());
        assert_eq!(
            again.put(&e).unwrap(),
            Stored::Duplicate,
            "acked ids survive a restart"
        );
        let other = Envelope {
            id: random_id(),
            ..status("wamid.2")
        };
        assert_eq!(again.put(&other).unwrap(), Stored::New);
        drop(again);
        let (third, _) = store(tmp.path());
        assert_eq!(
            third.list(0, 10).unwrap().len(),
            1,
            "stored events survive a restart"
        );
    }

    #[test]
    fn unsubscribes_are_listed_first_and_a_waiting_link_is_stored_once() {
        let tmp = tempfile::tempdir().unwrap();
        let (s, _) = store(tmp.path());
        for i in 0..5 {
            s.put(&status(&format!("wamid.{i}"))).unwrap();
        }
        let link = |id: String| Envelope {
            id,
            received_at: Timestamp::now(),
            event: Event::LinkUnsubscribe {
                at: Timestamp::now(),
                subscriber: "s_00000000000000aa".into(),
            },
        };
        let prefix = "w-0123456789abcdef";
        let first = link(format!("{prefix}00000001"));
        assert_eq!(s.put_unless_waiting(&first, prefix).unwrap(), Stored::New);
        for i in 2..50 {
            let again = link(format!("{prefix}{i:08x}"));
            assert_eq!(
                s.put_unless_waiting(&again, prefix).unwrap(),
                Stored::Duplicate
            );
        }
        assert_eq!(s.pending(), 6);
        let listed = s.list(0, 2).unwrap();
        assert_eq!(listed[0].id, first.id, "the unsubscribe comes first");
        assert_eq!(s.list(1, 10).unwrap().len(), 5);
        assert_eq!(s.list(6, 10).unwrap().len(), 0);
        drop(s);
        let (s, _) = store(tmp.path());
        assert_eq!(
            s.list(0, 1).unwrap()[0].id,
            first.id,
            "also after a restart"
        );
        s.ack(std::slice::from_ref(&first.id)).unwrap();
        let later = link(format!("{prefix}000000ff"));
        assert_eq!(
            s.put_unless_waiting(&later, prefix).unwrap(),
            Stored::New,
            "after the pull took it, a new click is stored again"
        );
    }
}
