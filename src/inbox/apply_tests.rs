//! Tests of `inbox::apply`: event order, conflicts, idempotency, BSUIDs, preferences.

use super::*;
use crate::inbox::events::random_id;

const NUMBER: &str = "+4915123456789";

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn env(event: Event) -> Envelope {
    Envelope {
        id: random_id(),
        received_at: t(1000),
        event,
    }
}

fn signup(at: i64) -> Envelope {
    env(Event::Signup {
        at: t(at),
        address: NUMBER.into(),
        name: Some("Erika".into()),
        topics: vec!["verkehr".into()],
        consent_version: "v2".into(),
        language: "de".into(),
    })
}

fn keyword(at: i64, action: KeywordAction) -> Envelope {
    env(Event::Keyword {
        at: t(at),
        action,
        address: Some(NUMBER.into()),
        bsuid: None,
        via: "text".into(),
    })
}

fn log() -> (tempfile::TempDir, AppliedLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = AppliedLog::load(dir.path()).unwrap();
    (dir, log)
}

#[test]
fn signup_then_start_then_stop_and_twice_changes_nothing() {
    let (_d, mut log) = log();
    let mut list = SubscriberList::default();
    let events = vec![
        keyword(30, KeywordAction::Stop),
        signup(10),
        keyword(20, KeywordAction::Start),
    ];
    let r = apply_all(&mut list, &mut log, &events, "v1", t(2000));
    let outcomes: Vec<_> = r.iter().map(|(_, a)| a.outcome).collect();
    assert_eq!(outcomes, vec!["pending", "confirmed", "unsubscribed"]);
    assert!(r[0].1.needs_confirmation);
    let s = &list.subscribers()[0];
    assert_eq!(s.status, Status::Unsubscribed);
    assert_eq!(s.unsubscribed_at, Some(t(30)));
    assert_eq!(s.consent_text, "v2");
    let before = list.clone();
    assert!(apply_all(&mut list, &mut log, &events, "v1", t(3000)).is_empty());
    assert_eq!(list, before);
}

#[test]
fn event_time_decides_conflicts() {
    let (_d, mut log) = log();
    let mut list = SubscriberList::default();
    apply_all(
        &mut list,
        &mut log,
        &[
            keyword(10, KeywordAction::Start),
            keyword(20, KeywordAction::Stop),
        ],
        "v1",
        t(100),
    );
    // a START older than the applied STOP arrives late
    let r = apply_all(
        &mut list,
        &mut log,
        &[keyword(15, KeywordAction::Start)],
        "v1",
        t(200),
    );
    assert_eq!(r[0].1.outcome, "ignored: older than the unsubscribe");
    assert_eq!(list.subscribers()[0].status, Status::Unsubscribed);
    // a web sign-up after the STOP is new consent, but only pending
    let r = apply_all(&mut list, &mut log, &[signup(30)], "v1", t(300));
    assert_eq!(
        r[0].1.outcome,
        "pending again (new consent after unsubscribe)"
    );
    assert_eq!(list.subscribers()[0].status, Status::Pending);
    // a STOP older than that sign-up does not end it
    let r = apply_all(
        &mut list,
        &mut log,
        &[keyword(25, KeywordAction::Stop)],
        "v1",
        t(400),
    );
    assert_eq!(
        r[0].1.outcome,
        "ignored: older than the current subscription"
    );
    assert_eq!(list.subscribers()[0].status, Status::Pending);
    let r = apply_all(
        &mut list,
        &mut log,
        &[keyword(40, KeywordAction::Start)],
        "v1",
        t(500),
    );
    assert_eq!(r[0].1.outcome, "confirmed");
    assert_eq!(list.subscribers().len(), 1);
}

#[test]
fn link_unsubscribe_by_id_and_log_roundtrip() {
    let (dir, mut log) = log();
    let mut list = SubscriberList::default();
    apply_all(
        &mut list,
        &mut log,
        &[keyword(10, KeywordAction::Start)],
        "v1",
        t(100),
    );
    let id = list.subscribers()[0].id.clone();
    let link = env(Event::LinkUnsubscribe {
        at: t(20),
        subscriber: id.clone(),
    });
    let r = apply_all(
        &mut list,
        &mut log,
        std::slice::from_ref(&link),
        "v1",
        t(200),
    );
    assert_eq!(r[0].1.outcome, "unsubscribed");
    log.save(t(300)).unwrap();
    let text = std::fs::read_to_string(dir.path().join(APPLIED_FILE)).unwrap();
    assert!(!text.contains("23456789"), "{text}");
    let mut again = AppliedLog::load(dir.path()).unwrap();
    assert!(again.contains(&link.id));
    assert!(apply_all(&mut list, &mut again, &[link], "v1", t(400)).is_empty());
}

fn by_bsuid(at: i64, action: KeywordAction, bsuid: &str) -> Envelope {
    env(Event::Keyword {
        at: t(at),
        action,
        address: None,
        bsuid: Some(bsuid.into()),
        via: "text".into(),
    })
}

#[test]
fn a_bsuid_is_learned_with_the_number_and_then_finds_the_row() {
    let (_d, mut log) = log();
    let mut list = SubscriberList::default();
    // unknown BSUID alone: nobody to subscribe (no number)
    let r = apply_all(
        &mut list,
        &mut log,
        &[by_bsuid(5, KeywordAction::Start, "DE.1")],
        "v1",
        t(50),
    );
    assert_eq!(
        r[0].1.outcome,
        "not matched: BSUID not known, no phone number"
    );
    assert!(list.subscribers().is_empty());
    let mut start = keyword(10, KeywordAction::Start);
    if let Event::Keyword { bsuid, .. } = &mut start.event {
        *bsuid = Some("DE.1".into());
    }
    apply_all(&mut list, &mut log, &[start], "v1", t(100));
    assert_eq!(list.subscribers()[0].bsuid.as_deref(), Some("DE.1"));
    let r = apply_all(
        &mut list,
        &mut log,
        &[by_bsuid(20, KeywordAction::Stop, "DE.1")],
        "v1",
        t(200),
    );
    assert_eq!(r[0].1.outcome, "unsubscribed");
    assert_eq!(list.subscribers()[0].status, Status::Unsubscribed);
    let r = apply_all(
        &mut list,
        &mut log,
        &[by_bsuid(30, KeywordAction::Start, "DE.1")],
        "v1",
        t(300),
    );
    assert_eq!(r[0].1.outcome, "active again (START after unsubscribe)");
    assert_eq!(list.subscribers()[0].status, Status::Active);
}

#[test]
fn marketing_stop_unsubscribes_resume_changes_nothing() {
    let (_d, mut log) = log();
    let mut list = SubscriberList::default();
    apply_all(
        &mut list,
        &mut log,
        &[keyword(10, KeywordAction::Start)],
        "v1",
        t(100),
    );
    let pref = |at: i64, value: &str| {
        env(Event::Preference {
            at: t(at),
            address: Some(NUMBER.into()),
            bsuid: Some("DE.9".into()),
            value: value.into(),
            category: "marketing_messages".into(),
        })
    };
    let r = apply_all(
        &mut list,
        &mut log,
        &[pref(20, "stop"), pref(30, "resume")],
        "v1",
        t(200),
    );
    let outcomes: Vec<_> = r.iter().map(|(_, a)| a.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            "unsubscribed (stopped marketing messages in WhatsApp)",
            "recorded: marketing messages resumed (no change; START subscribes again)"
        ]
    );
    assert_eq!(list.subscribers()[0].status, Status::Unsubscribed);
    assert_eq!(list.subscribers()[0].bsuid.as_deref(), Some("DE.9"));
}

#[test]
fn start_makes_an_unreachable_subscriber_active_again() {
    let (_d, mut log) = log();
    let mut list = SubscriberList::default();
    apply_all(
        &mut list,
        &mut log,
        &[keyword(10, KeywordAction::Start)],
        "v1",
        t(100),
    );
    list.subscribers[0].status = Status::Unreachable;
    let r = apply_all(
        &mut list,
        &mut log,
        &[keyword(20, KeywordAction::Start)],
        "v1",
        t(200),
    );
    assert_eq!(r[0].1.outcome, "active again (was unreachable)");
    assert_eq!(list.subscribers()[0].status, Status::Active);
    assert_eq!(list.subscribers()[0].confirmed_at, Some(t(20)));
}

#[test]
fn a_new_number_of_a_known_bsuid_takes_the_bsuid_over() {
    let (_d, mut log) = log();
    let mut list = SubscriberList::default();
    let mut start = keyword(10, KeywordAction::Start);
    if let Event::Keyword { bsuid, .. } = &mut start.event {
        *bsuid = Some("DE.7".into());
    }
    apply_all(&mut list, &mut log, &[start], "v1", t(100));
    let new_number = env(Event::Keyword {
        at: t(20),
        action: KeywordAction::Start,
        address: Some("+4915199999999".into()),
        bsuid: Some("DE.7".into()),
        via: "text".into(),
    });
    apply_all(&mut list, &mut log, &[new_number], "v1", t(200));
    let holders: Vec<_> = list
        .subscribers()
        .iter()
        .filter(|s| s.bsuid.as_deref() == Some("DE.7"))
        .map(|s| s.address.as_str())
        .collect();
    assert_eq!(holders, vec!["+4915199999999"], "one row per BSUID");
}
