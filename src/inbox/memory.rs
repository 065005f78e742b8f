//! What the inbox server remembers across restarts: the per-IP sign-up rate limit and which
//! senders got the service text in the last 24 h.
//!
//! Neither an IP address nor a phone number is stored: entries are keyed by an HMAC-SHA256
//! with a random per-installation key (`memory.key`, created with mode 0600 next to the events),
//! so a copy of `memory.json` (a backup, a log bundle) does not reveal who wrote or signed up.
//! Entries expire (a full bucket, a reply older than 24 h) and are dropped on the next write.
//! Every change is written atomically before the answer is sent; a missing or corrupt file is
//! logged and ignored, never fatal — the worst case is one extra service text or sign-up.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const MEMORY_FILE: &str = "memory.json";
pub const KEY_FILE: &str = "memory.key";
/// At most one service text per sender in this time.
pub const SERVICE_REPLY_EVERY: SignedDuration = SignedDuration::from_hours(24);
/// A bound on remembered entries of each kind (a flood cannot grow the file without limit).
const MAX_ENTRIES: usize = 20_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct State {
    /// Keyed hash of the client address → (tokens left, when counted).
    #[serde(default)]
    signups: HashMap<String, (f64, Timestamp)>,
    /// Keyed hash of the sender → when the service text was sent.
    #[serde(default)]
    replies: HashMap<String, Timestamp>,
}

#[derive(Debug)]
pub struct Memory {
    path: PathBuf,
    key: [u8; 32],
    per_hour: u32,
    state: Mutex<State>,
    /// Serialises writes, so the file never goes back to an older snapshot.
    write: Mutex<()>,
}

impl Memory {
    /// Opens the memory in `data_dir`, creating the key on first use.
    pub fn open(data_dir: &Path, signups_per_hour: u32) -> std::io::Result<Memory> {
        std::fs::create_dir_all(data_dir)?;
        let key = load_or_create_key(&data_dir.join(KEY_FILE))?;
        let path = data_dir.join(MEMORY_FILE);
        let state = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<State>(&bytes) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(
                        "{}: unreadable ({e}); starting with an empty rate limit and reply memory",
                        path.display()
                    );
                    State::default()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => {
                tracing::warn!("{}: {e}; starting with an empty memory", path.display());
                State::default()
            }
        };
        Ok(Memory {
            path,
            key,
            per_hour: signups_per_hour.max(1),
            state: Mutex::new(state),
            write: Mutex::new(()),
        })
    }

    fn hash(&self, kind: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// Takes one sign-up token for `client` (a token bucket of `per_hour`, refilled evenly);
    /// `false` when it is empty. Call [`Memory::save`] afterwards.
    pub fn allow_signup(&self, client: IpAddr, now: Timestamp) -> bool {
        let key = self.hash("ip", &client.to_string());
        let capacity = f64::from(self.per_hour);
        let mut state = self.state.lock().expect("inbox memory lock");
        let (tokens, last) = state.signups.entry(key).or_insert((capacity, now));
        let elapsed = now.duration_since(*last).as_secs_f64().max(0.0);
        *tokens = (*tokens + elapsed * capacity / 3600.0).min(capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until a refused client may try again.
    pub fn retry_after(&self) -> Duration {
        Duration::from_secs_f64(3600.0 / f64::from(self.per_hour))
    }

    /// Whether `sender` is due the service text (none in the last 24 h); if so, it is noted as
    /// sent. Call [`Memory::save`] afterwards.
    pub fn service_reply_due(&self, sender: &str, now: Timestamp) -> bool {
        let key = self.hash("sender", sender);
        let mut state = self.state.lock().expect("inbox memory lock");
        match state.replies.get(&key) {
            Some(t) if now.duration_since(*t) < SERVICE_REPLY_EVERY => false,
            _ => {
                state.replies.insert(key, now);
                true
            }
        }
    }

    /// Writes the memory atomically, without expired entries. Blocking (fsync).
    pub fn save(&self, now: Timestamp) -> std::io::Result<()> {
        let _guard = self.write.lock().expect("inbox memory write lock");
        let bytes = {
            let mut state = self.state.lock().expect("inbox memory lock");
            let capacity = f64::from(self.per_hour);
            state.signups.retain(|_, (tokens, t)| {
                *tokens + now.duration_since(*t).as_secs_f64() * capacity / 3600.0 < capacity
            });
            state
                .replies
                .retain(|_, t| now.duration_since(*t) < SERVICE_REPLY_EVERY);
            trim(&mut state.signups, |(_, t)| *t);
            trim(&mut state.replies, |t| *t);
            serde_json::to_vec(&*state).map_err(std::io::Error::other)?
        };
        crate::fsutil::write_atomic(&self.path, &bytes)
    }
}

/// Keeps the newest [`MAX_ENTRIES`] entries.
fn trim<V>(map: &mut HashMap<String, V>, at: impl Fn(&V) -> Timestamp) {
    if map.len() <= MAX_ENTRIES {
        return;
    }
    let mut times: Vec<Timestamp> = map.values().map(&at).collect();
    times.sort_unstable_by(|a, b| b.cmp(a));
    let cutoff = times[MAX_ENTRIES - 1];
    map.retain(|_, v| at(v) >= cutoff);
}

/// Reads the 32-byte key (hex), or creates it with mode 0600. A key file that is unreadable as
/// a key is replaced (logged): the memory it protected is then simply forgotten.
fn load_or_create_key(path: &Path) -> std::io::Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mut key = [0u8; 32];
            if hex::decode_to_slice(text.trim(), &mut key).is_ok() {
                restrict(path)?;
                return Ok(key);
            }
            tracing::warn!("{}: not a key; creating a new one", path.display());
            std::fs::remove_file(path)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!("{}: {e}; creating a new key", path.display());
            std::fs::remove_file(path)?;
        }
    }
    let key: [u8; 32] = rand::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(format!("{}\n", hex::encode(key)).as_bytes())?;
    f.sync_all()?;
    Ok(key)
}

/// Makes sure only the owner can read the key (someone may have copied it around).
fn restrict(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!("{}: was readable by others; now 0600", path.display());
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn the_limit_and_the_replies_survive_a_reopen_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let m = Memory::open(dir.path(), 2).unwrap();
        assert!(m.allow_signup(ip, t(0)) && m.allow_signup(ip, t(1)));
        assert!(!m.allow_signup(ip, t(2)));
        assert!(m.service_reply_due("+4915123456789", t(3)));
        assert!(!m.service_reply_due("+4915123456789", t(4)));
        m.save(t(5)).unwrap();
        drop(m);
        let m = Memory::open(dir.path(), 2).unwrap();
        assert!(!m.allow_signup(ip, t(6)), "the limit holds after a restart");
        assert!(
            m.allow_signup("192.0.2.8".parse().unwrap(), t(6)),
            "others are not affected"
        );
        assert!(!m.service_reply_due("+4915123456789", t(7)));
        assert!(
            m.allow_signup(ip, t(1900)),
            "one token back after half an hour"
        );
        assert!(m.service_reply_due("+4915123456789", t(3 + 24 * 3600)));
        let text = std::fs::read_to_string(dir.path().join(MEMORY_FILE)).unwrap();
        assert!(
            !text.contains("192.0.2") && !text.contains("23456789"),
            "{text}"
        );
    }

    #[test]
    fn a_corrupt_file_is_ignored_and_the_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MEMORY_FILE), "{\"signups\": [1, 2").unwrap();
        let m = Memory::open(dir.path(), 1).unwrap();
        assert!(m.service_reply_due("+4915123456789", t(0)));
        m.save(t(0)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // a different installation (key) cannot match the entries
        let other = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join(MEMORY_FILE), other.path().join(MEMORY_FILE)).unwrap();
        let m2 = Memory::open(other.path(), 1).unwrap();
        assert!(m2.service_reply_due("+4915123456789", t(1)));
    }

    #[test]
    fn a_broken_key_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "half a k").unwrap();
        let m = Memory::open(dir.path(), 1).unwrap();
        assert!(m.service_reply_due("+4915123456789", t(0)));
        let key = std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap();
        assert_eq!(key.trim().len(), 64);
    }
}
