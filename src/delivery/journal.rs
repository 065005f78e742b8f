//! The journal: an append-only record of every delivery attempt, committed back by CI.
//!
//! Layout (under `subscribers/journal/` for real channels, `outbox/journal/` for the outbox):
//! - `index.jsonl`: one line per message and channel when a broadcast starts, completes, is
//!   marked as sent without sending (`--mark-sent`), or is given up: older than `max_age`
//!   before it started (`stale`), or its notice expired before the sending finished (`expired`). Planning reads only this file to know what is
//!   done, so a town's decades of history never slow a run down.
//! - `deliveries/<message-key>~<channel>.jsonl`: one line per attempt step for one message on one
//!   channel: `sending` (written before the request), then `sent` (with the message id), `failed`
//!   (with code and class) or `uncertain` (the request may have reached the API, no answer came);
//!   `accepted` when `--accept-uncertain` took an uncertain one as delivered without resending.
//!
//! With the pipeline's write-ahead (`aushang broadcast --claim RUN` before `--run RUN`, see
//! `docs/exactly-once.md`) a delivery file also holds `claimed` lines (this run is about to send
//! to this subscriber; pushed to the remote before anything is sent) and `released` lines (the run
//! ended without sending to someone it claimed). A claim by another run with nothing after it is
//! an unknown outcome, exactly like `sending`.
//!
//! Lines reference subscribers only by their random id, never by address. Each line is written
//! with a single `write` call, so a killed process leaves whole lines; a torn last line (power
//! loss) is skipped with a warning and fenced off by a newline before the next append.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use crate::delivery::delivered::{DeliveryStates, IdSet};

/// What happened to one delivery (one message to one subscriber on one channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Written and flushed before the request: if nothing follows, the outcome is unknown.
    Sending,
    Sent,
    Failed,
    /// The request went out but no answer came (timeout, reset): maybe delivered.
    Uncertain,
    /// Claimed by run `run` before sending (write-ahead): if nothing follows and that run is not
    /// the current one, the outcome is unknown.
    Claimed,
    /// The claiming run ended without sending to this subscriber: free for the next run.
    Released,
    /// An uncertain delivery taken as delivered by `--accept-uncertain`, without proof; nothing
    /// was sent again. Final like `sent`, but reports can tell the two apart.
    Accepted,
}

/// How a failure is to be treated by the next run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureClass {
    /// Try again next run.
    Retry,
    /// Never again for this message (e.g. not a WhatsApp user).
    Permanent,
    /// The run stopped for a reason that is not about this recipient (e.g. revoked token).
    Fatal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLine {
    pub t: Timestamp,
    pub sub: String,
    pub state: DeliveryState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<FailureClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// The run that claimed or released (on `claimed` and `released` lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

impl DeliveryLine {
    /// A line that records only a state change (claimed, released, accepted): no message id, no
    /// error, no attempt, no run.
    pub fn marker(t: Timestamp, sub: &str, state: DeliveryState) -> DeliveryLine {
        DeliveryLine {
            t,
            sub: sub.to_string(),
            state,
            id: None,
            code: None,
            class: None,
            attempt: None,
            run: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexEvent {
    Started,
    Completed,
    /// Recorded as sent without sending (adopting a site with history).
    Marked,
    /// A run claimed deliveries of this message (`--claim`).
    Claimed,
    /// A claim found nobody left to claim but deliveries with an unknown outcome: the message
    /// waits until they are resolved (`--resend-uncertain`, `--accept-uncertain`, statuses).
    Waiting,
    /// Never to be sent: it was older than `max_age` before its sending began (reported once).
    Stale,
    /// Not to be finished: the notice expired while its sending was under way (reported once).
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexLine {
    pub t: Timestamp,
    pub msg: String,
    pub ch: String,
    pub event: IndexEvent,
}

/// The last known state of each subscriber for one message on one channel.
#[derive(Debug, Default, Clone)]
pub struct DeliveryLog {
    pub last: HashMap<String, DeliveryLine>,
}

impl DeliveryLog {
    /// Sent, or failed for good: never to be tried again for this message.
    pub fn is_final(&self, sub: &str) -> bool {
        self.last.get(sub).is_some_and(|l| {
            matches!(l.state, DeliveryState::Sent | DeliveryState::Accepted)
                || (l.state == DeliveryState::Failed && l.class == Some(FailureClass::Permanent))
        })
    }

    /// A request went out and its outcome is unknown (killed mid-request, or no answer).
    pub fn is_uncertain(&self, sub: &str) -> bool {
        self.last.get(sub).is_some_and(|l| {
            matches!(
                l.state,
                DeliveryState::Sending | DeliveryState::Uncertain | DeliveryState::Claimed
            )
        })
    }

    pub fn attempts(&self, sub: &str) -> u32 {
        self.last.get(sub).and_then(|l| l.attempt).unwrap_or(0)
    }
}

/// A journal directory, opened for one run. Appends are serialised through a mutex.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    index: Mutex<Vec<IndexLine>>,
    writers: Mutex<HashMap<PathBuf, File>>,
}

impl Journal {
    pub fn open(dir: &Path) -> std::io::Result<Journal> {
        let index = read_lines::<IndexLine>(&dir.join("index.jsonl"))?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            index: Mutex::new(index),
            writers: Mutex::new(HashMap::new()),
        })
    }

    /// The journal's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether `msg` was completed (or marked) on `channel`.
    pub fn is_complete(&self, msg: &str, channel: &str) -> bool {
        self.index().iter().any(|l| {
            l.msg == msg
                && l.ch == channel
                && matches!(l.event, IndexEvent::Completed | IndexEvent::Marked)
        })
    }

    /// Every index line, in file order.
    pub fn index_lines(&self) -> Vec<IndexLine> {
        self.index().clone()
    }

    /// Whether `msg` was given up on `channel`: too old before its sending began, or its notice
    /// expired before the sending finished.
    pub fn is_given_up(&self, msg: &str, channel: &str) -> bool {
        self.index().iter().any(|l| {
            l.msg == msg
                && l.ch == channel
                && matches!(l.event, IndexEvent::Stale | IndexEvent::Expired)
        })
    }

    fn index(&self) -> std::sync::MutexGuard<'_, Vec<IndexLine>> {
        self.index.lock().expect("journal index lock")
    }

    fn completed_at(&self, msg: &str, channel: &str) -> Option<Timestamp> {
        self.index()
            .iter()
            .filter(|l| l.msg == msg && l.ch == channel && l.event == IndexEvent::Completed)
            .map(|l| l.t)
            .max()
    }

    /// When a broadcast of `msg` on `channel` first started, if it did.
    pub fn started_at(&self, msg: &str, channel: &str) -> Option<Timestamp> {
        self.index()
            .iter()
            .filter(|l| l.msg == msg && l.ch == channel && l.event == IndexEvent::Started)
            .map(|l| l.t)
            .min()
    }

    /// Reads the per-subscriber state of one message on one channel.
    pub fn deliveries(&self, msg: &str, channel: &str) -> std::io::Result<DeliveryLog> {
        let mut log = DeliveryLog::default();
        for line in read_lines::<DeliveryLine>(&self.delivery_path(msg, channel))? {
            log.last.insert(line.sub.clone(), line);
        }
        Ok(log)
    }

    /// The compact per-subscriber state of one message on `channel`, read line by line and
    /// merged over the message's keys (a notice moved to a new path keeps its old deliveries).
    pub fn delivery_states<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k str>,
        channel: &str,
    ) -> std::io::Result<DeliveryStates> {
        self.delivery_states_for(keys, channel, None)
    }

    /// [`Journal::delivery_states`] as seen by run `run`, whose own claims are to be sent.
    pub fn delivery_states_for<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k str>,
        channel: &str,
        run: Option<&str>,
    ) -> std::io::Result<DeliveryStates> {
        let mut states = DeliveryStates::for_run(run);
        for key in keys {
            for_each_line::<DeliveryLine>(&self.delivery_path(key, channel), |line| {
                states.set(&line)
            })?;
        }
        Ok(states)
    }

    /// Subscribers who were sent anything on `channel` since `since` — the count WhatsApp's
    /// rolling 24-hour messaging limit is about. Only messages started since then can hold any.
    pub fn recipients_since(&self, channel: &str, since: Timestamp) -> std::io::Result<IdSet> {
        let mut msgs: Vec<String> = self
            .index()
            .iter()
            .filter(|l| l.ch == channel && l.event == IndexEvent::Started)
            .map(|l| l.msg.clone())
            .collect();
        msgs.sort_unstable();
        msgs.dedup();
        let mut out = IdSet::default();
        for msg in &msgs {
            // Nothing is sent after completion, so a message completed before `since` holds no
            // recent sends; one still in progress (daily limit) may, however old its start.
            if self.completed_at(msg, channel).is_some_and(|t| t < since) {
                continue;
            }
            for_each_line::<DeliveryLine>(&self.delivery_path(msg, channel), |line| {
                if line.state == DeliveryState::Sent && line.t >= since {
                    out.insert(&line.sub);
                }
            })?;
        }
        Ok(out)
    }

    pub fn record_index(
        &self,
        msg: &str,
        channel: &str,
        event: IndexEvent,
        t: Timestamp,
    ) -> std::io::Result<()> {
        let line = IndexLine {
            t,
            msg: msg.to_string(),
            ch: channel.to_string(),
            event,
        };
        self.append(&self.dir.join("index.jsonl"), &line)?;
        self.index().push(line);
        Ok(())
    }

    /// Appends one delivery step. Written to the OS before returning, so it survives the process
    /// being killed right after (the request is only made after this returns).
    pub fn record(&self, msg: &str, channel: &str, line: &DeliveryLine) -> std::io::Result<()> {
        self.append(&self.delivery_path(msg, channel), line)
    }

    /// Forces everything written so far to disk (end of run).
    pub fn sync(&self) -> std::io::Result<()> {
        let writers = self.writers.lock().expect("journal writer lock");
        for f in writers.values() {
            f.sync_data()?;
        }
        Ok(())
    }

    fn delivery_path(&self, msg: &str, channel: &str) -> PathBuf {
        self.dir
            .join("deliveries")
            .join(format!("{}~{channel}.jsonl", file_key(msg)))
    }

    fn append<T: Serialize>(&self, path: &Path, value: &T) -> std::io::Result<()> {
        let mut text = serde_json::to_string(value).map_err(std::io::Error::other)?;
        text.push('\n');
        let mut writers = self.writers.lock().expect("journal writer lock");
        if !writers.contains_key(path) {
            let file = open_for_append(path)?;
            writers.insert(path.to_path_buf(), file);
        }
        let file = writers.get_mut(path).expect("inserted above");
        file.write_all(text.as_bytes())
    }
}

/// Turns a message key (`/bekanntmachungen/2026/x/#update-…`) into a file-name stem.
pub fn file_key(msg: &str) -> String {
    let mut s: String = msg
        .trim_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    s
}

fn open_for_append(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    // Fence off a torn last line (no trailing newline) so the next line stays readable.
    let len = file.metadata()?.len();
    if len > 0 {
        use std::io::{Read, Seek, SeekFrom};
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            file.write_all(b"\n")?;
        }
    }
    Ok(file)
}

fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> std::io::Result<Vec<T>> {
    let mut out = Vec::new();
    for_each_line(path, |v| out.push(v))?;
    Ok(out)
}

/// Reads a journal file one line at a time (a large message's file is never held whole).
fn for_each_line<T: for<'de> Deserialize<'de>>(
    path: &Path,
    mut each: impl FnMut(T),
) -> std::io::Result<()> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(v) => each(v),
            Err(e) => tracing::warn!(
                "{}:{}: unlesbare Journalzeile übersprungen ({e})",
                path.display(),
                n
            ),
        }
    }
}

/// The journal directory for real channels, under the subscriber state directory
/// ([`crate::config::Config::subscribers_dir`]).
pub fn journal_dir(state: &Path) -> PathBuf {
    state.join("journal")
}

/// Removes every journal row that references one of `subscriber_ids` (the DSGVO Art. 17 path),
/// in the real journal and the local outbox journal, and unlinks the ids from the inbox records
/// (`subscribers/inbox/*.jsonl` keep the event but no longer say whose it was). Every file is
/// read once, however many ids go. `state` is the subscriber state directory
/// ([`crate::config::Config::subscribers_dir`]). Returns how many rows were changed.
pub fn forget_subscribers(
    root: &Path,
    state: &Path,
    subscriber_ids: impl IntoIterator<Item = impl AsRef<str>>,
) -> std::io::Result<usize> {
    let ids: HashSet<String> = subscriber_ids
        .into_iter()
        .map(|id| id.as_ref().to_string())
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    let mut removed = 0;
    for dir in [
        journal_dir(state).join("deliveries"),
        root.join("outbox").join("journal").join("deliveries"),
    ] {
        removed += rewrite_lines(&dir, |line| {
            let mentions =
                serde_json::from_str::<DeliveryLine>(line).is_ok_and(|l| ids.contains(&l.sub));
            (!mentions).then(|| line.to_string())
        })?;
    }
    removed +=
        rewrite_lines(
            &crate::subscribers::records_dir(state),
            |line| match serde_json::from_str::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(mut row))
                    if row
                        .get("sub")
                        .and_then(|v| v.as_str())
                        .is_some_and(|id| ids.contains(id)) =>
                {
                    row.remove("sub");
                    Some(serde_json::Value::Object(row).to_string())
                }
                _ => Some(line.to_string()),
            },
        )?;
    Ok(removed)
}

/// Rewrites every `.jsonl` file in `dir` atomically through `keep` (None drops the line);
/// returns the number of lines dropped or changed.
fn rewrite_lines(dir: &Path, keep: impl Fn(&str) -> Option<String>) -> std::io::Result<usize> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut changed = 0;
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let mut out = String::with_capacity(text.len());
        let mut touched = 0;
        for line in text.lines() {
            match keep(line) {
                Some(new) => {
                    if new != line {
                        touched += 1;
                    }
                    out.push_str(&new);
                    out.push('\n');
                }
                None => touched += 1,
            }
        }
        if touched > 0 {
            crate::fsutil::write_atomic(&path, out.as_bytes())?;
            changed += touched;
        }
    }
    Ok(changed)
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
