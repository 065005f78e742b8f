//! Per-notice reach, `subscribers/inbox/reach.json`: for every message and channel the journal
//! holds, how many people it was meant for and what became of it — from the journal (audience,
//! accepted, failed at sending, uncertain, deferred), the reach ledger of status webhooks
//! (delivered, read, failed later, billed and free by category) and the applied inbox events
//! (unsubscribes within 48 hours after the message was accepted). Counts only: no subscriber
//! id, number or name. Written at every `aushang inbox pull` (atomically, and only when it
//! changed); `aushang report` computes the same numbers afresh.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::reach_ledger::{Ledger, StatusCounts, other_month};
use crate::delivery::held_back;
use crate::delivery::journal::{DeliveryState, FailureClass, IndexEvent, Journal, journal_dir};

pub const REACH_FILE: &str = "reach.json";
/// Unsubscribes this long after a message was accepted count as following it.
pub const UNSUBSCRIBE_WINDOW: SignedDuration = SignedDuration::from_hours(48);

/// One message (a notice or an update of it) on one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReach {
    /// The journal's message key, e.g. `/bekanntmachungen/2026/sperrung/#notice`.
    pub msg: String,
    pub channel: String,
    /// When its sending started (the journal's first `started` or `claimed`).
    pub started: Option<Timestamp>,
    /// Everyone the journal holds a delivery for (claimed, sent, failed, …), and those the last
    /// claim held back before claiming them (`journal/held-back.jsonl`).
    pub audience: u64,
    /// Accepted by the API (`sent`, or `accepted` by `--accept-uncertain`).
    pub accepted: u64,
    pub delivered: u64,
    pub read: u64,
    /// Failed for good, at sending or by a later status, by error code (0: no code).
    pub failed: BTreeMap<i64, u64>,
    /// Outcome unknown (killed mid-request, no answer, a claim with nothing after it).
    pub uncertain: u64,
    /// Waiting for a later run: released by a stopped run, failed with a retryable error, or
    /// held back by the last claim (daily limit, budget) before anything was claimed for them.
    pub deferred: u64,
    /// Billed messages by pricing category.
    pub billable: BTreeMap<String, u64>,
    /// Free messages by pricing category.
    pub free: BTreeMap<String, u64>,
    /// Recipients who unsubscribed within 48 hours after it was accepted.
    pub unsubscribed_48h: u64,
}

impl MessageReach {
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }

    /// The notice's site path (`/bekanntmachungen/2026/x/`): the key without its `#…` part.
    pub fn notice_path(&self) -> &str {
        self.msg.split('#').next().unwrap_or(&self.msg)
    }

    /// `true` for an update's message (`#update-…`).
    pub fn is_update(&self) -> bool {
        self.msg.contains("#update")
    }
}

/// Everything `reach.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    pub messages: Vec<MessageReach>,
    /// Statuses of messages without a notice (confirmation requests, replies).
    #[serde(default)]
    pub other: StatusCounts,
}

pub fn reach_path(state: &Path) -> PathBuf {
    crate::subscribers::records_dir(state).join(REACH_FILE)
}

/// Computes the reach of every message in the journal under the state directory `state`.
pub fn compute(state: &Path) -> std::io::Result<Reach> {
    compute_where(state, |_, _, _| None)
}

/// As [`compute`], but a message for which `known(msg, channel, started)` gives its reach
/// already is not read again (a town's years of delivery files are not read at every pull).
pub fn compute_where(
    state: &Path,
    known: impl Fn(&str, &str, Timestamp) -> Option<MessageReach>,
) -> std::io::Result<Reach> {
    let journal = Journal::open(&journal_dir(state))?;
    let ledger = Ledger::load(state)?;
    let unsubscribes = unsubscribes(state)?;
    let mut started: BTreeMap<(String, String), Timestamp> = BTreeMap::new();
    let index = journal.index_lines();
    for l in &index {
        if matches!(l.event, IndexEvent::Started | IndexEvent::Claimed) {
            let e = started.entry((l.msg.clone(), l.ch.clone())).or_insert(l.t);
            *e = (*e).min(l.t);
        }
    }
    // People a claim (or a run without one) held back before anything was recorded for them
    // (daily limit, budget) have no journal line: their count, unless nobody waits any more.
    let mut held: BTreeMap<(String, String), u64> = BTreeMap::new();
    for ((msg, channel), h) in held_back::latest(&held_back::read(&journal_dir(state))?) {
        // Completed, or given up (expired, stale, marked) since: nobody is waiting any more.
        let completed_after = index.iter().any(|l| {
            l.msg == msg
                && l.ch == channel
                && l.t >= h.t
                && matches!(
                    l.event,
                    IndexEvent::Completed
                        | IndexEvent::Expired
                        | IndexEvent::Stale
                        | IndexEvent::Marked
                )
        });
        if h.total() > 0 && !completed_after {
            let e = started.entry((msg.clone(), channel.clone())).or_insert(h.t);
            *e = (*e).min(h.t);
            held.insert((msg, channel), h.total());
        }
    }
    let mut out = Reach::default();
    for ((msg, channel), t) in started {
        if let Some(m) = known(&msg, &channel, t) {
            out.messages.push(m);
            continue;
        }
        let log = journal.deliveries(&msg, &channel)?;
        let mut m = MessageReach {
            msg: msg.clone(),
            channel: channel.clone(),
            started: Some(t),
            audience: log.last.len() as u64,
            ..Default::default()
        };
        if let Some(n) = held.get(&(msg.clone(), channel.clone())) {
            m.audience += n;
            m.deferred += n;
        }
        for (sub, line) in &log.last {
            match (line.state, line.class) {
                (DeliveryState::Sent | DeliveryState::Accepted, _) => {
                    m.accepted += 1;
                    if unsubscribes.get(sub).is_some_and(|ats| {
                        ats.iter()
                            .any(|at| *at >= line.t && *at <= line.t + UNSUBSCRIBE_WINDOW)
                    }) {
                        m.unsubscribed_48h += 1;
                    }
                }
                // A failure the send itself reported; one a status reported (with the message
                // id) is counted from the ledger below.
                (DeliveryState::Failed, Some(FailureClass::Permanent)) => {
                    if line.id.is_none() {
                        *m.failed.entry(line.code.unwrap_or(0)).or_default() += 1;
                    }
                }
                (DeliveryState::Failed, _) | (DeliveryState::Released, _) => m.deferred += 1,
                (DeliveryState::Sending | DeliveryState::Uncertain | DeliveryState::Claimed, _) => {
                    m.uncertain += 1
                }
            }
        }
        if channel == "whatsapp"
            && let Some(s) = ledger.messages.get(&msg)
        {
            m.delivered = s.delivered;
            m.read = s.read;
            for (code, n) in &s.failed {
                *m.failed.entry(*code).or_default() += n;
            }
            m.billable = s.billable.clone();
            m.free = s.free.clone();
        }
        out.messages.push(m);
    }
    out.messages
        .sort_by(|a, b| (a.started, &a.msg, &a.channel).cmp(&(b.started, &b.msg, &b.channel)));
    // Statuses of messages the journal does not know (confirmation requests, a forgotten
    // journal) still count for the cost.
    for (key, counts) in &ledger.messages {
        let known = out
            .messages
            .iter()
            .any(|m| m.channel == "whatsapp" && &m.msg == key);
        if other_month(key).is_some() || !known {
            out.other.add(counts);
        }
    }
    Ok(out)
}

/// Subscriber id → times of their applied unsubscribes (STOP, opt-out link, marketing stop),
/// from `subscribers/inbox/applied.jsonl`. Held in memory only.
fn unsubscribes(state: &Path) -> std::io::Result<HashMap<String, Vec<Timestamp>>> {
    let path = crate::subscribers::records_dir(state).join(crate::inbox::apply::APPLIED_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(e),
    };
    let mut out: HashMap<String, Vec<Timestamp>> = HashMap::new();
    for line in text.lines() {
        let Ok(l) = serde_json::from_str::<crate::inbox::apply::AppliedLine>(line) else {
            continue;
        };
        // "unsubscribed" and "unsubscribed (stopped marketing messages…)"; not
        // "unsubscribed: sign-up waits…", which changed nothing.
        // 0.2 wrote the kind in front: "stop: unsubscribed".
        let outcome = match l.outcome.split_once(": ") {
            Some((kind, rest)) if kind == l.kind => rest,
            _ => l.outcome.as_str(),
        };
        if (outcome == "unsubscribed" || outcome.starts_with("unsubscribed ("))
            && let Some(sub) = l.sub
        {
            out.entry(sub).or_default().push(l.at);
        }
    }
    Ok(out)
}

/// How long after its start a message's reach is recomputed at every pull: statuses come for up
/// to 30 days (Meta's retry time), unsubscribes count for 48 hours.
pub const RECOMPUTE_DAYS: i64 = 45;

/// Recomputes `reach.json` and writes it when it changed; messages started more than
/// [`RECOMPUTE_DAYS`] before `now` keep what the file already says. Returns the reach.
pub fn update(state: &Path, now: Timestamp) -> std::io::Result<Reach> {
    let old: Reach = std::fs::read_to_string(reach_path(state))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let settled = now - SignedDuration::from_hours(24 * RECOMPUTE_DAYS);
    let reach = compute_where(state, |msg, channel, started| {
        if started >= settled {
            return None;
        }
        old.messages
            .iter()
            .find(|m| m.msg == msg && m.channel == channel)
            .cloned()
    })?;
    let mut text = serde_json::to_string_pretty(&reach).map_err(std::io::Error::other)?;
    text.push('\n');
    let path = reach_path(state);
    let before = std::fs::read_to_string(&path).ok();
    // Nothing sent and nothing counted yet: no file (a town without broadcasts gets none).
    if before.is_none() && reach == Reach::default() {
        return Ok(reach);
    }
    if before.as_deref() != Some(text.as_str()) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::fsutil::write_atomic(&path, text.as_bytes())?;
    }
    Ok(reach)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::journal::DeliveryLine;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn line(
        sub: &str,
        state: DeliveryState,
        class: Option<FailureClass>,
        code: Option<i64>,
    ) -> DeliveryLine {
        DeliveryLine {
            code,
            class,
            ..DeliveryLine::marker(ts("2026-11-28T08:00:00Z"), sub, state)
        }
    }

    #[test]
    fn every_journal_state_lands_in_one_column_and_old_messages_keep_their_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path();
        let j = Journal::open(&journal_dir(state)).unwrap();
        let (new, old) = ("/n/#notice", "/o/#notice");
        j.record_index(
            new,
            "whatsapp",
            IndexEvent::Claimed,
            ts("2026-11-28T07:59:00Z"),
        )
        .unwrap();
        j.record_index(
            new,
            "whatsapp",
            IndexEvent::Started,
            ts("2026-11-28T08:00:00Z"),
        )
        .unwrap();
        for l in [
            line("s_a", DeliveryState::Claimed, None, None),
            line("s_a", DeliveryState::Sent, None, None),
            line("s_b", DeliveryState::Accepted, None, None),
            line(
                "s_c",
                DeliveryState::Failed,
                Some(FailureClass::Permanent),
                Some(131026),
            ),
            line(
                "s_d",
                DeliveryState::Failed,
                Some(FailureClass::Retry),
                Some(131000),
            ),
            line("s_e", DeliveryState::Released, None, None),
            line("s_f", DeliveryState::Sending, None, None),
            line("s_g", DeliveryState::Claimed, None, None),
        ] {
            j.record(new, "whatsapp", &l).unwrap();
        }
        j.record_index(
            old,
            "whatsapp",
            IndexEvent::Started,
            ts("2026-06-01T08:00:00Z"),
        )
        .unwrap();
        j.record(
            old,
            "whatsapp",
            &line("s_a", DeliveryState::Sent, None, None),
        )
        .unwrap();
        j.sync().unwrap();
        let records = crate::subscribers::records_dir(state);
        std::fs::create_dir_all(&records).unwrap();
        std::fs::write(
            records.join(crate::inbox::apply::APPLIED_FILE),
            "{\"t\":\"2026-11-29T08:00:00Z\",\"id\":\"m-1\",\"at\":\"2026-11-29T08:00:00Z\",\"kind\":\"stop\",\"outcome\":\"stop: unsubscribed\",\"sub\":\"s_b\"}\n\
             {\"t\":\"2026-11-28T09:00:00Z\",\"id\":\"w-1\",\"at\":\"2026-11-28T09:00:00Z\",\"kind\":\"signup\",\"outcome\":\"unsubscribed: sign-up waits for the person's JA (row unchanged)\",\"sub\":\"s_a\"}\n\
             {\"t\":\"2026-12-05T08:00:00Z\",\"id\":\"m-2\",\"at\":\"2026-12-05T08:00:00Z\",\"kind\":\"stop\",\"outcome\":\"unsubscribed\",\"sub\":\"s_a\"}\n",
        )
        .unwrap();
        let reach = update(state, ts("2026-12-06T00:00:00Z")).unwrap();
        let m = reach.messages.iter().find(|m| m.msg == new).unwrap();
        assert_eq!(
            m.started,
            Some(ts("2026-11-28T07:59:00Z")),
            "the claim started it"
        );
        assert_eq!((m.audience, m.accepted), (7, 2));
        assert_eq!(m.failed, BTreeMap::from([(131026, 1)]));
        assert_eq!((m.deferred, m.uncertain), (2, 2));
        assert_eq!(
            m.unsubscribed_48h, 1,
            "s_b within 48 h (as 0.2 wrote it), s_a a week later; a sign-up is no unsubscribe"
        );
        // A message older than RECOMPUTE_DAYS keeps what reach.json says.
        let mut text = std::fs::read_to_string(reach_path(state)).unwrap();
        let o = reach.messages.iter().find(|m| m.msg == old).unwrap();
        assert_eq!(o.accepted, 1);
        text = text.replacen("\"accepted\": 1,", "\"accepted\": 7,", 1);
        std::fs::write(reach_path(state), &text).unwrap();
        let again = update(state, ts("2026-12-06T00:00:00Z")).unwrap();
        let o = again.messages.iter().find(|m| m.msg == old).unwrap();
        assert_eq!(o.accepted, 7, "not read again");
        assert_eq!(
            compute(state)
                .unwrap()
                .messages
                .iter()
                .find(|m| m.msg == old)
                .unwrap()
                .accepted,
            1
        );
    }
}
