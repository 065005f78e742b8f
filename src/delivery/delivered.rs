//! Compact per-subscriber state for runs over large lists (100,000+ subscribers): what the
//! journal says about each subscriber for one message, and sets of subscriber ids, held as
//! 8-byte numbers where the id has the usual shape instead of as strings.

use std::collections::{HashMap, HashSet};

use crate::delivery::journal::{DeliveryLine, DeliveryState, FailureClass};
use crate::subscribers::list::id_number;

/// A set of subscriber ids, compact for lists of 100,000+: an id of the usual shape
/// (`s_` + 16 hex digits) is held as its 8-byte number, any other id as text.
#[derive(Debug, Default, Clone)]
pub struct IdSet {
    numbered: HashSet<u64>,
    named: HashSet<Box<str>>,
}

impl IdSet {
    /// Whether `id` was new.
    pub fn insert(&mut self, id: &str) -> bool {
        match id_number(id) {
            Some(n) => self.numbered.insert(n),
            None => self.named.insert(id.into()),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        match id_number(id) {
            Some(n) => self.numbered.contains(&n),
            None => self.named.contains(id),
        }
    }

    pub fn len(&self) -> usize {
        self.numbered.len() + self.named.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the last journal line of one subscriber says, as far as a run needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Sent, or failed for good: never to be tried again for this message.
    Final,
    /// A request went out and its outcome is unknown.
    Uncertain,
    /// Failed in a way the next run tries again (or released by the run that claimed it).
    Open,
    /// Claimed by the current run (`--run`): this run is to send it.
    Claimed,
}

#[derive(Debug, Clone, Copy)]
struct Last {
    standing: Standing,
    attempt: u32,
}

impl Last {
    /// `run`: the current run, whose own claims are to be sent rather than uncertain.
    fn of(line: &DeliveryLine, run: Option<&str>) -> Last {
        let standing = match (line.state, line.class) {
            (DeliveryState::Sent | DeliveryState::Accepted, _)
            | (DeliveryState::Failed, Some(FailureClass::Permanent)) => Standing::Final,
            (DeliveryState::Sending | DeliveryState::Uncertain, _) => Standing::Uncertain,
            (DeliveryState::Claimed, _) if run.is_some() && line.run.as_deref() == run => {
                Standing::Claimed
            }
            // Another run's claim with nothing after it: that run may have sent.
            (DeliveryState::Claimed, _) => Standing::Uncertain,
            (DeliveryState::Failed, _) | (DeliveryState::Released, _) => Standing::Open,
        };
        Last {
            standing,
            attempt: line.attempt.unwrap_or(0),
        }
    }
}

/// [`DeliveryLog`](crate::delivery::journal::DeliveryLog) reduced to what idempotency needs, for a run over a large list: per
/// subscriber who has a line for this message, whether it is final, uncertain or open and how
/// many attempts were made. 16 bytes a subscriber (8-byte id number, state and attempt count)
/// plus the hash table's overhead, instead of every line with its strings.
#[derive(Debug, Default)]
pub struct DeliveryStates {
    numbered: HashMap<u64, Last>,
    named: HashMap<Box<str>, Last>,
    /// The current run (`--run`), whose claims are its own work and not uncertain.
    run: Option<Box<str>>,
}

impl DeliveryStates {
    fn get(&self, sub: &str) -> Option<Last> {
        match id_number(sub) {
            Some(n) => self.numbered.get(&n).copied(),
            None => self.named.get(sub).copied(),
        }
    }

    /// States as seen by run `run` (`None`: a run without claims; every claim is uncertain).
    pub fn for_run(run: Option<&str>) -> DeliveryStates {
        DeliveryStates {
            run: run.map(Into::into),
            ..DeliveryStates::default()
        }
    }

    pub(crate) fn set(&mut self, line: &DeliveryLine) {
        let mut last = Last::of(line, self.run.as_deref());
        if matches!(line.state, DeliveryState::Claimed | DeliveryState::Released) {
            // Claims count no attempt: the next request keeps counting from the last one.
            let before = self.get(&line.sub).map_or(0, |l| l.attempt);
            last.attempt = last.attempt.max(before);
        }
        match id_number(&line.sub) {
            Some(n) => {
                self.numbered.insert(n, last);
            }
            None => {
                self.named.insert(line.sub.as_str().into(), last);
            }
        }
    }

    pub fn is_final(&self, sub: &str) -> bool {
        self.get(sub).is_some_and(|l| l.standing == Standing::Final)
    }

    pub fn is_uncertain(&self, sub: &str) -> bool {
        self.get(sub)
            .is_some_and(|l| l.standing == Standing::Uncertain)
    }

    pub fn attempts(&self, sub: &str) -> u32 {
        self.get(sub).map_or(0, |l| l.attempt)
    }

    /// Claimed by the current run and not yet sent, failed or released.
    pub fn is_claimed(&self, sub: &str) -> bool {
        self.get(sub)
            .is_some_and(|l| l.standing == Standing::Claimed)
    }

    /// Whether the subscriber has any line for this message (is part of its journal).
    pub fn knows(&self, sub: &str) -> bool {
        self.get(sub).is_some()
    }

    /// Subscribers with any line for this message.
    pub fn len(&self) -> usize {
        self.numbered.len() + self.named.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::journal::{DeliveryLog, Journal};
    use jiff::Timestamp;

    fn line(sub: &str, state: DeliveryState, t: &str) -> DeliveryLine {
        DeliveryLine {
            t: t.parse::<Timestamp>().unwrap(),
            sub: sub.into(),
            state,
            id: None,
            code: None,
            class: None,
            attempt: Some(1),
            run: None,
        }
    }

    #[test]
    fn compact_states_agree_with_the_full_log() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let (old, new) = ("/alt/#notice", "/neu/#notice");
        let t = "2026-11-28T08:00:00Z";
        let ids = [
            "s_00000000000000a1",
            "s_00000000000000a2",
            "hand-made",
            "s_00000000000000a3",
        ];
        let mut retry = line(ids[3], DeliveryState::Failed, t);
        retry.class = Some(FailureClass::Retry);
        retry.attempt = Some(3);
        let mut permanent = line(ids[2], DeliveryState::Failed, t);
        permanent.class = Some(FailureClass::Permanent);
        // the notice moved: its deliveries are split over the old and the new key
        j.record(old, "whatsapp", &line(ids[0], DeliveryState::Sending, t))
            .unwrap();
        j.record(new, "whatsapp", &line(ids[0], DeliveryState::Sent, t))
            .unwrap();
        j.record(new, "whatsapp", &line(ids[1], DeliveryState::Sending, t))
            .unwrap();
        j.record(old, "whatsapp", &permanent).unwrap();
        j.record(new, "whatsapp", &retry).unwrap();
        let states = j.delivery_states([old, new], "whatsapp").unwrap();
        let mut log = DeliveryLog::default();
        for k in [old, new] {
            log.last.extend(j.deliveries(k, "whatsapp").unwrap().last);
        }
        assert_eq!(states.len(), 4);
        for id in ids.iter().chain(&["s_00000000000000ff", "never-seen"]) {
            assert_eq!(states.is_final(id), log.is_final(id), "{id}");
            assert_eq!(states.is_uncertain(id), log.is_uncertain(id), "{id}");
            assert_eq!(states.attempts(id), log.attempts(id), "{id}");
        }
        assert!(states.is_final(ids[0]) && states.is_final(ids[2]));
        assert!(states.is_uncertain(ids[1]));
        assert_eq!(states.attempts(ids[3]), 3);
    }

    #[test]
    fn id_sets_hold_both_kinds_of_ids() {
        let mut set = IdSet::default();
        assert!(set.insert("s_0123456789abcdef") && set.insert("sub001"));
        assert!(!set.insert("s_0123456789abcdef"));
        assert!(set.contains("s_0123456789abcdef") && set.contains("sub001"));
        assert!(!set.contains("s_0123456789ABCDEF") && !set.contains("sub002"));
        assert_eq!(set.len(), 2);
    }
}
