//! Subscribers whose notices fail as undeliverable (131026: not on WhatsApp, blocked the
//! business, old client) on several different messages in a row become `unreachable`.
//!
//! Failures come from the delivery status webhooks (the usual path) and from the journal (a
//! synchronous 131026). A `delivered`/`read` status breaks the row, and so does the person's
//! own START (their `confirmed_at`): only failures after both count.
//!
//! `subscribers/inbox/undeliverable.jsonl` (committed) holds one line per subscriber with a
//! failure on record: `{"sub":…,"failed":{<message key>:<time>},"ok":<time>}`, ids and times
//! only. `subscribers forget` removes the `sub` of a line, which drops it here. The file exists
//! (maybe empty) once the journal was read: from then on only the last two weeks of the journal
//! are read again, so the file only changes when a failure or delivery does.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::events::{Envelope, Event};
use super::statuses::UNDELIVERABLE;
use crate::delivery::correlation::parse_correlation;
use crate::delivery::journal::{IndexLine, Journal, journal_dir};
use crate::subscribers::{Channel, Status, Subscriber, SubscriberList, mask};

pub const UNDELIVERABLE_FILE: &str = "undeliverable.jsonl";
/// The first read of the journal looks back this far.
const FIRST_LOOK_BACK: SignedDuration = SignedDuration::from_hours(90 * 24);
/// Later reads look at messages started or completed this recently (pulls run daily or more
/// often; a failure found earlier is already on record).
const LOOK_BACK: SignedDuration = SignedDuration::from_hours(14 * 24);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Line {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    failed: BTreeMap<String, Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ok: Option<Timestamp>,
}

/// What one update did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnreachableReport {
    /// `(subscriber id, masked address)` that became `unreachable` now.
    pub marked: Vec<(String, String)>,
    /// `(subscriber id, consecutive failures)` still below the threshold, for the record.
    pub counting: Vec<(String, usize)>,
}

fn path(state: &Path) -> PathBuf {
    crate::subscribers::records_dir(state).join(UNDELIVERABLE_FILE)
}

/// Reads the record (`None`: there is none yet); unreadable lines are skipped with a warning
/// (the record rebuilds itself from later failures, and it never decides more than "stop
/// sending until START").
fn load(state: &Path) -> std::io::Result<Option<HashMap<String, Line>>> {
    let path = path(state);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut subs = HashMap::new();
    for (n, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(raw) {
            Ok(Line {
                sub: Some(sub),
                failed,
                ok,
            }) => {
                subs.insert(
                    sub.clone(),
                    Line {
                        sub: Some(sub),
                        failed,
                        ok,
                    },
                );
            }
            // a line whose subscriber was forgotten
            Ok(_) => {}
            Err(e) => tracing::warn!(
                "{}:{}: unlesbare Zeile übersprungen ({e})",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(Some(subs))
}

fn save(state: &Path, subs: &HashMap<String, Line>) -> std::io::Result<()> {
    let mut lines: Vec<&Line> = subs.values().collect();
    lines.sort_by(|a, b| a.sub.cmp(&b.sub));
    let mut text = String::new();
    for l in lines {
        text.push_str(&serde_json::to_string(l).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    crate::fsutil::write_atomic(&path(state), text.as_bytes())
}

/// Records (under the subscriber state directory `state`) the failures and deliveries among
/// `events` (and new 131026 failures in the
/// journal), then marks every `active` WhatsApp subscriber with `threshold` or more failures
/// in a row `unreachable`.
pub fn update(
    state: &Path,
    events: &[Envelope],
    list: &mut SubscriberList,
    threshold: u32,
    now: Timestamp,
) -> std::io::Result<UnreachableReport> {
    let threshold = threshold.max(1) as usize;
    let loaded = load(state)?;
    let first = loaded.is_none();
    let mut subs = loaded.unwrap_or_default();
    let before = subs.clone();
    let note_failure = |subs: &mut HashMap<String, Line>, sub: &str, msg: &str, at: Timestamp| {
        let line = subs.entry(sub.to_string()).or_insert_with(|| Line {
            sub: Some(sub.to_string()),
            ..Line::default()
        });
        let t = line.failed.entry(msg.to_string()).or_insert(at);
        *t = (*t).min(at);
    };
    for e in events {
        let Event::Status {
            at,
            status,
            correlation,
            error_codes,
            ..
        } = &e.event
        else {
            continue;
        };
        let Some((msg, sub, _)) = correlation.as_deref().and_then(parse_correlation) else {
            continue;
        };
        match status.as_str() {
            "failed" if error_codes.contains(&UNDELIVERABLE) => {
                note_failure(&mut subs, &sub, &msg, *at);
            }
            "delivered" | "read" | "played" => {
                if let Some(line) = subs.get_mut(&sub) {
                    line.ok = Some(line.ok.map_or(*at, |t| t.max(*at)));
                }
            }
            _ => {}
        }
    }
    // Synchronous 131026 failures in the journal, of recent messages.
    let since = now - if first { FIRST_LOOK_BACK } else { LOOK_BACK };
    let dir = journal_dir(state);
    let index: Vec<IndexLine> = read_index(&dir.join("index.jsonl"))?;
    let mut msgs: Vec<&str> = index
        .iter()
        .filter(|l| l.ch == Channel::WhatsApp.as_str() && l.t >= since)
        .map(|l| l.msg.as_str())
        .collect();
    msgs.sort_unstable();
    msgs.dedup();
    if !msgs.is_empty() {
        let journal = Journal::open(&dir)?;
        for msg in msgs {
            for line in journal
                .deliveries(msg, Channel::WhatsApp.as_str())?
                .last
                .values()
            {
                if line.code == Some(UNDELIVERABLE) {
                    note_failure(&mut subs, &line.sub, msg, line.t);
                }
            }
        }
    }
    let mut report = UnreachableReport::default();
    let rows: HashMap<&str, &Subscriber> = list
        .subscribers()
        .iter()
        .map(|s| (s.id.as_str(), s))
        .collect();
    // Only failures after the last delivery and the last (re)confirmation count.
    subs.retain(|id, line| {
        let Some(row) = rows.get(id.as_str()) else {
            return false;
        };
        let floor = [line.ok, row.confirmed_at, row.consent_at]
            .into_iter()
            .flatten()
            .max();
        line.failed.retain(|_, t| floor.is_none_or(|f| *t > f));
        !line.failed.is_empty()
    });
    let mut to_mark = Vec::new();
    for (id, line) in &subs {
        let row = rows[id.as_str()];
        if row.channel != Channel::WhatsApp || row.status != Status::Active {
            continue;
        }
        if line.failed.len() >= threshold {
            to_mark.push(id.clone());
        } else {
            report.counting.push((id.clone(), line.failed.len()));
        }
    }
    drop(rows);
    to_mark.sort();
    report.counting.sort();
    for id in to_mark {
        if let Some(row) = list.subscribers.iter_mut().find(|s| s.id == id) {
            row.status = Status::Unreachable;
            report.marked.push((id, mask(&row.address)));
        }
    }
    if first || subs != before {
        save(state, &subs)?;
    }
    Ok(report)
}

fn read_index(path: &Path) -> std::io::Result<Vec<IndexLine>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::correlation::correlation;
    use crate::delivery::journal::{DeliveryLine, DeliveryState, FailureClass, IndexEvent};
    use crate::inbox::events::status_id;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn person(id: &str, number: &str) -> Subscriber {
        Subscriber {
            id: id.into(),
            channel: Channel::WhatsApp,
            address: number.into(),
            name: None,
            topics: Vec::new(),
            language: "de".into(),
            status: Status::Active,
            consent_at: Some(t(0)),
            consent_source: "web".into(),
            consent_text: "v1".into(),
            confirmed_at: Some(t(1)),
            unsubscribed_at: None,
            bsuid: None,
        }
    }

    fn status(msg: &str, sub: &str, status: &str, at: i64, codes: Vec<i64>) -> Envelope {
        Envelope {
            id: status_id(&format!("wamid.{msg}.{sub}"), status),
            received_at: t(at),
            event: Event::Status {
                at: t(at),
                message_id: format!("wamid.{msg}.{sub}"),
                status: status.into(),
                correlation: Some(correlation(msg, sub, 1)),
                error_codes: codes,
                bsuid: None,
                pricing: None,
            },
        }
    }

    #[test]
    fn three_different_messages_in_a_row_make_unreachable_a_delivery_breaks_the_row() {
        let root = tempfile::tempdir().unwrap();
        let mut list = SubscriberList::new(vec![
            person("s_a", "+4915100000001"),
            person("s_b", "+4915100000002"),
        ]);
        let fail = |m: &str, s: &str, at| status(m, s, "failed", at, vec![UNDELIVERABLE]);
        // s_a: m1, m2 fail, m3 delivered, then m4, m5 fail: only two in a row.
        // s_b: m1 fails twice (one message), m2, m3 fail: three different messages.
        let events = vec![
            fail("/m1", "s_a", 10),
            fail("/m2", "s_a", 20),
            status("/m3", "s_a", "delivered", 30, vec![]),
            fail("/m4", "s_a", 40),
            fail("/m5", "s_a", 50),
            fail("/m1", "s_b", 10),
            status("/m1", "s_b", "failed", 11, vec![UNDELIVERABLE]),
            status("/m2", "s_b", "failed", 20, vec![131049]),
            fail("/m2", "s_b", 21),
            fail("/m3", "s_b", 30),
        ];
        let r = update(root.path(), &events, &mut list, 3, t(100)).unwrap();
        assert_eq!(
            r.marked,
            vec![("s_b".to_string(), "+49151*****002".to_string())]
        );
        assert_eq!(r.counting, vec![("s_a".to_string(), 2)]);
        assert_eq!(list.get("s_b").unwrap().status, Status::Unreachable);
        assert_eq!(list.get("s_a").unwrap().status, Status::Active);
        // the same events again change nothing; the record holds no number
        let again = update(root.path(), &events, &mut list, 3, t(200)).unwrap();
        assert!(again.marked.is_empty());
        let text = std::fs::read_to_string(path(root.path())).unwrap();
        assert!(!text.contains("0000001") && text.contains("s_a"), "{text}");
        // s_b writes START (confirmed_at moves on): old failures no longer count
        let row = list.subscribers.iter_mut().find(|s| s.id == "s_b").unwrap();
        row.status = Status::Active;
        row.confirmed_at = Some(t(300));
        let r = update(
            root.path(),
            &[fail("/m6", "s_b", 310)],
            &mut list,
            3,
            t(400),
        )
        .unwrap();
        assert!(r.marked.is_empty());
        assert!(r.counting.contains(&("s_b".to_string(), 1)));
    }

    #[test]
    fn synchronous_failures_in_the_journal_count_too() {
        let root = tempfile::tempdir().unwrap();
        let journal = Journal::open(&journal_dir(root.path())).unwrap();
        for (i, msg) in ["/n1", "/n2"].iter().enumerate() {
            journal
                .record_index(msg, "whatsapp", IndexEvent::Started, t(10 * i as i64))
                .unwrap();
            journal
                .record(
                    msg,
                    "whatsapp",
                    &DeliveryLine {
                        t: t(10 * i as i64 + 5),
                        sub: "s_a".into(),
                        state: DeliveryState::Failed,
                        id: None,
                        code: Some(UNDELIVERABLE),
                        class: Some(FailureClass::Permanent),
                        attempt: Some(1),
                        run: None,
                    },
                )
                .unwrap();
        }
        journal.sync().unwrap();
        let mut list = SubscriberList::new(vec![person("s_a", "+4915100000001")]);
        let events = vec![status("/n3", "s_a", "failed", 40, vec![UNDELIVERABLE])];
        let r = update(root.path(), &events, &mut list, 3, t(100)).unwrap();
        assert_eq!(r.marked.len(), 1, "{r:?}");
        assert_eq!(list.get("s_a").unwrap().status, Status::Unreachable);
    }

    #[test]
    fn a_forgotten_subscriber_line_is_dropped() {
        let root = tempfile::tempdir().unwrap();
        let mut list = SubscriberList::new(vec![person("s_a", "+4915100000001")]);
        let events = vec![status("/m1", "s_a", "failed", 10, vec![UNDELIVERABLE])];
        update(root.path(), &events, &mut list, 3, t(100)).unwrap();
        let n = crate::delivery::journal::forget_subscribers(root.path(), root.path(), ["s_a"])
            .unwrap();
        assert_eq!(n, 1);
        let text = std::fs::read_to_string(path(root.path())).unwrap();
        assert!(!text.contains("s_a"), "{text}");
        let subs = load(root.path()).unwrap().unwrap();
        assert!(subs.is_empty());
    }
}
