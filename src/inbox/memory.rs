//! What the inbox server remembers across restarts: the rate limits (sign-ups per client
//! address — IPv6 by /64 —, per number and in all; opt-out posts per client address; the
//! editors' login callbacks per client address and in all) and which senders got the service
//! text in the last 24 h.
//!
//! Neither an IP address nor a phone number is stored: entries are keyed by an HMAC-SHA256
//! with a random per-installation key (`memory.key`, created with mode 0600 next to the events),
//! so a copy of `memory.json` (a backup, a log bundle) does not reveal who wrote or signed up.
//! Entries expire (a full bucket, a reply older than 24 h) and are dropped on the next write.
//! Writes are batched ([`MemoryWriter`]): a change marks the memory dirty and one background
//! task writes it (atomically) at most every [`WRITE_EVERY`], however many requests come in.
//! A service text is sent only after the write that remembers it (group commit: every reply
//! waiting at that moment shares one write); a rate-limit change may be lost in a crash (at
//! most [`WRITE_EVERY`] of it). A missing or corrupt file is logged and ignored, never fatal —
//! the worst case is one extra service text or sign-up.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
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
/// Sign-ups (so confirmation requests) for one number per 24 h.
pub const SIGNUPS_PER_NUMBER_PER_DAY: u32 = 3;
/// Opt-out posts per client address and hour (a person needs one).
pub const OPTOUTS_PER_CLIENT_PER_HOUR: u32 = 20;
/// Editors' login callbacks (`/redaktion/callback`) per client address and hour: a login needs
/// one, an editor who retries a few more.
pub const LOGINS_PER_CLIENT_PER_HOUR: u32 = 10;
/// Editors' login callbacks that reach GitHub (a valid state), in all, per hour: each one spends
/// a token exchange with the OAuth App's client secret.
pub const LOGINS_PER_HOUR: u32 = 60;
/// The longest a batched write of the memory waits.
pub const WRITE_EVERY: Duration = Duration::from_millis(250);

/// A token bucket: `capacity` tokens, refilled evenly over `period_secs`.
#[derive(Debug, Clone, Copy)]
struct Rate {
    capacity: f64,
    period_secs: f64,
}

impl Rate {
    fn per_hour(n: u32) -> Rate {
        Rate {
            capacity: f64::from(n.max(1)),
            period_secs: 3600.0,
        }
    }

    fn refilled(&self, tokens: f64, since: Timestamp, now: Timestamp) -> f64 {
        let elapsed = now.duration_since(since).as_secs_f64().max(0.0);
        (tokens + elapsed * self.capacity / self.period_secs).min(self.capacity)
    }

    /// Takes one token; `false` when the bucket is empty.
    fn take(&self, bucket: &mut (f64, Timestamp), now: Timestamp) -> bool {
        let tokens = self.refilled(bucket.0, bucket.1, now);
        *bucket = (tokens, now);
        if tokens >= 1.0 {
            bucket.0 -= 1.0;
            true
        } else {
            false
        }
    }

    fn retry_after(&self) -> Duration {
        Duration::from_secs_f64(self.period_secs / self.capacity)
    }
}

/// Which limit refused a sign-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This client address (or IPv6 /64) sent too many.
    Client,
    /// The inbox took its hourly maximum of sign-ups.
    Global,
    /// This number was signed up too often in the last 24 h.
    Number,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct State {
    /// Keyed hash of the client address → (tokens left, when counted).
    #[serde(default)]
    signups: HashMap<String, (f64, Timestamp)>,
    /// Keyed hash of the sender → when the service text was sent.
    #[serde(default)]
    replies: HashMap<String, Timestamp>,
    /// Keyed hash of the client address → opt-out posts bucket.
    #[serde(default)]
    optouts: HashMap<String, (f64, Timestamp)>,
    /// Keyed hash of the number → sign-ups bucket.
    #[serde(default)]
    numbers: HashMap<String, (f64, Timestamp)>,
    /// All sign-ups.
    #[serde(default)]
    global: Option<(f64, Timestamp)>,
    /// Keyed hash of the client address → editors' login callbacks bucket.
    #[serde(default)]
    logins: HashMap<String, (f64, Timestamp)>,
    /// Editors' login callbacks that reach GitHub.
    #[serde(default)]
    logins_global: Option<(f64, Timestamp)>,
}

#[derive(Debug)]
pub struct Memory {
    path: PathBuf,
    key: [u8; 32],
    per_client: Rate,
    global: Rate,
    per_number: Rate,
    optout: Rate,
    login: Rate,
    logins_global: Rate,
    state: Mutex<State>,
    /// Counts changes; a write covers every change counted before it started.
    changes: AtomicU64,
    /// Serialises writes, so the file never goes back to an older snapshot.
    write: Mutex<()>,
}

impl Memory {
    /// Opens the memory in `data_dir`, creating the key on first use. `signups_per_hour` is per
    /// client address, `global_per_hour` for all sign-ups together.
    pub fn open(
        data_dir: &Path,
        signups_per_hour: u32,
        global_per_hour: u32,
    ) -> std::io::Result<Memory> {
        std::fs::create_dir_all(data_dir)?;
        let key = load_or_create_key(&data_dir.join(KEY_FILE))?;
        let path = data_dir.join(MEMORY_FILE);
        let state = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<State>(&bytes) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(
                        "{}: unlesbar ({e}); Zähler für Anmeldungen und Antworten beginnen neu",
                        path.display()
                    );
                    State::default()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => {
                tracing::warn!("{}: {e}; Zähler beginnen neu", path.display());
                State::default()
            }
        };
        Ok(Memory {
            path,
            key,
            per_client: Rate::per_hour(signups_per_hour),
            global: Rate::per_hour(global_per_hour),
            per_number: Rate {
                capacity: f64::from(SIGNUPS_PER_NUMBER_PER_DAY),
                period_secs: 24.0 * 3600.0,
            },
            optout: Rate::per_hour(OPTOUTS_PER_CLIENT_PER_HOUR),
            login: Rate::per_hour(LOGINS_PER_CLIENT_PER_HOUR),
            logins_global: Rate::per_hour(LOGINS_PER_HOUR),
            state: Mutex::new(state),
            changes: AtomicU64::new(0),
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

    /// Takes one sign-up token for `client` (a client address or IPv6 /64, see
    /// [`client_bucket`]) and one of the global bucket; `Err` names the limit that refused.
    /// Call [`MemoryWriter::changed`] afterwards.
    pub fn allow_signup(&self, client: &str, now: Timestamp) -> Result<(), Refusal> {
        let key = self.hash("ip", client);
        let mut state = self.state.lock().expect("inbox memory lock");
        let global = state.global.get_or_insert((self.global.capacity, now));
        if self.global.refilled(global.0, global.1, now) < 1.0 {
            return Err(Refusal::Global);
        }
        let bucket = state
            .signups
            .entry(key)
            .or_insert((self.per_client.capacity, now));
        if !self.per_client.take(bucket, now) {
            return Err(Refusal::Client);
        }
        let global = state.global.as_mut().expect("set above");
        self.global.take(global, now);
        self.changes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Takes one sign-up token for the (normalised) number: at most
    /// [`SIGNUPS_PER_NUMBER_PER_DAY`] sign-ups, so confirmation requests, per number and 24 h.
    pub fn allow_number(&self, address: &str, now: Timestamp) -> Result<(), Refusal> {
        let key = self.hash("number", address);
        let mut state = self.state.lock().expect("inbox memory lock");
        let bucket = state
            .numbers
            .entry(key)
            .or_insert((self.per_number.capacity, now));
        let ok = self.per_number.take(bucket, now);
        self.changes.fetch_add(1, Ordering::Relaxed);
        if ok { Ok(()) } else { Err(Refusal::Number) }
    }

    /// Takes one opt-out post token for `client` ([`OPTOUTS_PER_CLIENT_PER_HOUR`]).
    pub fn allow_optout(&self, client: &str, now: Timestamp) -> bool {
        let key = self.hash("optout", client);
        let mut state = self.state.lock().expect("inbox memory lock");
        let bucket = state
            .optouts
            .entry(key)
            .or_insert((self.optout.capacity, now));
        let ok = self.optout.take(bucket, now);
        self.changes.fetch_add(1, Ordering::Relaxed);
        ok
    }

    /// Takes one editors' login callback token for `client` ([`LOGINS_PER_CLIENT_PER_HOUR`]);
    /// `Err(Refusal::Client)` when this address had its share.
    pub fn allow_login(&self, client: &str, now: Timestamp) -> Result<(), Refusal> {
        let key = self.hash("login", client);
        let mut state = self.state.lock().expect("inbox memory lock");
        let bucket = state
            .logins
            .entry(key)
            .or_insert((self.login.capacity, now));
        let ok = self.login.take(bucket, now);
        self.changes.fetch_add(1, Ordering::Relaxed);
        if ok { Ok(()) } else { Err(Refusal::Client) }
    }

    /// Takes one of the [`LOGINS_PER_HOUR`] token exchanges with GitHub shared by everyone;
    /// `Err(Refusal::Global)` when they are used up.
    pub fn allow_login_exchange(&self, now: Timestamp) -> Result<(), Refusal> {
        let mut state = self.state.lock().expect("inbox memory lock");
        let bucket = state
            .logins_global
            .get_or_insert((self.logins_global.capacity, now));
        let ok = self.logins_global.take(bucket, now);
        self.changes.fetch_add(1, Ordering::Relaxed);
        if ok { Ok(()) } else { Err(Refusal::Global) }
    }

    /// How long until a login refused by `refusal` may be tried again.
    pub fn login_retry_after(&self, refusal: Refusal) -> Duration {
        match refusal {
            Refusal::Global => self.logins_global.retry_after(),
            _ => self.login.retry_after(),
        }
    }

    /// How long until a client refused by `refusal` may try again.
    pub fn retry_after(&self, refusal: Refusal) -> Duration {
        match refusal {
            Refusal::Client => self.per_client.retry_after(),
            Refusal::Global => self.global.retry_after(),
            Refusal::Number => self.per_number.retry_after(),
        }
    }

    /// How long until a client refused an opt-out post may try again.
    pub fn optout_retry_after(&self) -> Duration {
        self.optout.retry_after()
    }

    /// A keyed hash of `value`, the same for this installation (for ids without personal data).
    pub fn tag(&self, kind: &str, value: &str) -> String {
        self.hash(kind, value)
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
                self.changes.fetch_add(1, Ordering::Relaxed);
                true
            }
        }
    }

    /// Writes the memory atomically, without expired entries. Blocking (fsync).
    pub fn save(&self, now: Timestamp) -> std::io::Result<()> {
        let _guard = self.write.lock().expect("inbox memory write lock");
        let bytes = {
            let mut state = self.state.lock().expect("inbox memory lock");
            let state = &mut *state;
            for (map, rate) in [
                (&mut state.signups, self.per_client),
                (&mut state.optouts, self.optout),
                (&mut state.numbers, self.per_number),
                (&mut state.logins, self.login),
            ] {
                map.retain(|_, (tokens, t)| rate.refilled(*tokens, *t, now) < rate.capacity);
                trim(map, |(_, t)| *t);
            }
            state
                .replies
                .retain(|_, t| now.duration_since(*t) < SERVICE_REPLY_EVERY);
            trim(&mut state.replies, |t| *t);
            serde_json::to_vec(&*state).map_err(std::io::Error::other)?
        };
        crate::fsutil::write_atomic(&self.path, &bytes)
    }
}

/// The client address as a rate-limit bucket: an IPv4 address as it is, an IPv6 address by its
/// /64 (one customer line usually gets a whole /64, so per-address limits would mean nothing).
pub fn client_bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Batched writes of the memory: [`MemoryWriter::changed`] wakes one background task that
/// writes at most every [`WRITE_EVERY`]; [`MemoryWriter::durable`] waits until a write that
/// started after the call has finished (many callers share it).
#[derive(Debug)]
pub struct MemoryWriter {
    memory: std::sync::Arc<Memory>,
    wake: tokio::sync::Notify,
    /// The change count the last finished write covered.
    written: tokio::sync::watch::Sender<u64>,
    /// How many writes ran (for tests and the benchmark).
    pub writes: AtomicU64,
}

impl MemoryWriter {
    /// Starts the writer task (on the current tokio runtime); it ends when the writer is dropped.
    pub fn start(memory: std::sync::Arc<Memory>) -> std::sync::Arc<MemoryWriter> {
        let (written, _) = tokio::sync::watch::channel(0);
        let writer = std::sync::Arc::new(MemoryWriter {
            memory,
            wake: tokio::sync::Notify::new(),
            written,
            writes: AtomicU64::new(0),
        });
        let weak = std::sync::Arc::downgrade(&writer);
        tokio::spawn(async move {
            loop {
                let Some(w) = weak.upgrade() else { return };
                let due = w.memory.changes.load(Ordering::Acquire) > *w.written.borrow();
                if !due {
                    // Re-check now and then: the writer may have been dropped meanwhile.
                    let _ = tokio::time::timeout(Duration::from_secs(5), w.wake.notified()).await;
                    continue;
                }
                drop(w);
                tokio::time::sleep(WRITE_EVERY).await;
                let Some(w) = weak.upgrade() else { return };
                w.write_now().await;
            }
        });
        writer
    }

    async fn write_now(&self) {
        let covered = self.memory.changes.load(Ordering::Acquire);
        let memory = self.memory.clone();
        match tokio::task::spawn_blocking(move || memory.save(Timestamp::now())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!("die Zähler des Posteingangs lassen sich nicht schreiben: {e}")
            }
            Err(e) => tracing::warn!("das Schreiben der Zähler ist abgebrochen: {e}"),
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.written.send_modify(|w| *w = (*w).max(covered));
    }

    /// Asks for a write of the changes made so far (returns at once).
    pub fn changed(&self) {
        self.wake.notify_one();
    }

    /// Returns once every change made before this call is on disk (or its write failed, logged).
    pub async fn durable(&self) {
        let target = self.memory.changes.load(Ordering::Acquire);
        let mut rx = self.written.subscribe();
        self.wake.notify_one();
        let _ = rx.wait_for(|w| *w >= target).await;
    }

    /// Writes what is pending before the server stops.
    pub async fn flush(&self) {
        if self.memory.changes.load(Ordering::Acquire) > *self.written.borrow() {
            self.write_now().await;
        }
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
            tracing::warn!("{}: kein Schlüssel; ein neuer wird erzeugt", path.display());
            std::fs::remove_file(path)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!("{}: {e}; ein neuer Schlüssel wird erzeugt", path.display());
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
            tracing::warn!(
                "{}: war für andere lesbar; jetzt nur für den Eigentümer (0600)",
                path.display()
            );
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
        let ip = "192.0.2.7";
        let m = Memory::open(dir.path(), 2, 1000).unwrap();
        assert!(m.allow_signup(ip, t(0)).is_ok() && m.allow_signup(ip, t(1)).is_ok());
        assert_eq!(m.allow_signup(ip, t(2)), Err(Refusal::Client));
        assert!(m.service_reply_due("+4915123456789", t(3)));
        assert!(!m.service_reply_due("+4915123456789", t(4)));
        m.save(t(5)).unwrap();
        drop(m);
        let m = Memory::open(dir.path(), 2, 1000).unwrap();
        assert!(
            m.allow_signup(ip, t(6)).is_err(),
            "the limit holds after a restart"
        );
        assert!(
            m.allow_signup("192.0.2.8", t(6)).is_ok(),
            "others are not affected"
        );
        assert!(!m.service_reply_due("+4915123456789", t(7)));
        assert!(
            m.allow_signup(ip, t(1900)).is_ok(),
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
        let m = Memory::open(dir.path(), 1, 1000).unwrap();
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
        let m2 = Memory::open(other.path(), 1, 1000).unwrap();
        assert!(m2.service_reply_due("+4915123456789", t(1)));
    }

    #[test]
    fn a_broken_key_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "half a k").unwrap();
        let m = Memory::open(dir.path(), 1, 1000).unwrap();
        assert!(m.service_reply_due("+4915123456789", t(0)));
        let key = std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap();
        assert_eq!(key.trim().len(), 64);
    }

    #[test]
    fn ipv6_is_limited_by_its_64_and_the_global_and_number_caps_hold() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_bucket(a), client_bucket(b));
        assert_ne!(client_bucket(a), client_bucket(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_bucket(mapped), "192.0.2.7");
        let dir = tempfile::tempdir().unwrap();
        let m = Memory::open(dir.path(), 3, 5).unwrap();
        // One /64 gets 3, however many addresses it uses.
        let results: Vec<bool> = (0..30)
            .map(|i| {
                let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
                m.allow_signup(&client_bucket(ip), t(i)).is_ok()
            })
            .collect();
        assert_eq!(results.iter().filter(|ok| **ok).count(), 3);
        // The global cap: 5 per hour from anywhere (3 taken above).
        assert!(m.allow_signup("192.0.2.1", t(40)).is_ok());
        assert!(m.allow_signup("192.0.2.2", t(41)).is_ok());
        assert_eq!(m.allow_signup("192.0.2.3", t(42)), Err(Refusal::Global));
        assert!(m.allow_signup("192.0.2.3", t(42 + 720)).is_ok(), "refilled");
        // Per number: 3 per day.
        for i in 0..3 {
            assert!(m.allow_number("+4915123456789", t(i)).is_ok());
        }
        assert_eq!(m.allow_number("+4915123456789", t(5)), Err(Refusal::Number));
        assert!(m.allow_number("+4915123456780", t(5)).is_ok());
        assert!(m.allow_number("+4915123456789", t(8 * 3600 + 5)).is_ok());
    }

    #[tokio::test]
    async fn writes_are_batched_and_durable_waits_for_one() {
        let dir = tempfile::tempdir().unwrap();
        let m = std::sync::Arc::new(Memory::open(dir.path(), 1000, 100_000).unwrap());
        let w = MemoryWriter::start(m.clone());
        for i in 0..500 {
            let _ = m.allow_signup(&format!("192.0.2.{}", i % 250), t(0));
            w.changed();
        }
        assert!(m.service_reply_due("+4915123456789", t(1)));
        w.durable().await;
        let writes = w.writes.load(Ordering::Relaxed);
        assert!((1..=2).contains(&writes), "{writes} writes for 501 changes");
        let text = std::fs::read_to_string(dir.path().join(MEMORY_FILE)).unwrap();
        let back: State = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back.replies.len(),
            1,
            "the reply is on disk after durable()"
        );
    }
}
