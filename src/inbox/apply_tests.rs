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

fn start(at: i64) -> Envelope {
    keyword(at, KeywordAction::Start)
}

fn stop(at: i64) -> Envelope {
    keyword(at, KeywordAction::Stop)
}

fn log() -> (tempfile::TempDir, AppliedLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = AppliedLog::load(dir.path()).unwrap();
    (dir, log)
}

/// `apply_all` with consent version "v1", at `t(now)`.
fn apply(
    list: &mut SubscriberList,
    log: &mut AppliedLog,
    events: &[Envelope],
    now: i64,
) -> Vec<(Envelope, Applied)> {
    apply_all(list, log, events, "v1", t(now))
}

/// An empty log, and a list with `NUMBER` subscribed by a START at `t(10)` applied at `t(100)`.
fn started() -> (tempfile::TempDir, SubscriberList, AppliedLog) {
    let (dir, mut log) = log();
    let mut list = SubscriberList::default();
    apply(&mut list, &mut log, &[start(10)], 100);
    (dir, list, log)
}

#[test]
fn signup_then_start_then_stop_and_twice_changes_nothing() {
    let (_d, mut log) = log();
    let mut list = SubscriberList::default();
    let events = vec![signup(10), start(20)];
    let r = apply(&mut list, &mut log, &events, 2000);
    let outcomes: Vec<_> = r.iter().map(|(_, a)| a.outcome).collect();
    assert_eq!(outcomes, vec!["pending", "confirmed"]);
    assert!(r[0].1.needs_confirmation);
    let stop = stop(30);
    let r = apply(&mut list, &mut log, std::slice::from_ref(&stop), 2000);
    assert_eq!(r[0].1.outcome, "unsubscribed");
    let s = &list.subscribers()[0];
    assert_eq!(s.status, Status::Unsubscribed);
    assert_eq!(s.unsubscribed_at, Some(t(30)));
    assert_eq!(s.consent_text, "v2");
    let before = list.clone();
    let all = [events, vec![stop]].concat();
    assert!(apply(&mut list, &mut log, &all, 3000).is_empty());
    assert_eq!(list, before);
}

#[test]
fn unsubscribes_come_first_and_older_starts_cannot_undo_them() {
    // All in one pull, for a number not on the list yet: the STOP is applied first and finds
    // nothing; the older sign-up and START must not subscribe the person after it.
    let (_d, mut log) = log();
    let mut list = SubscriberList::default();
    let events = vec![stop(30), signup(10), start(20)];
    let r = apply(&mut list, &mut log, &events, 2000);
    let outcomes: Vec<_> = r.iter().map(|(_, a)| a.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            "ignored: older than a STOP from this number",
            "ignored: older than a STOP from this number"
        ]
    );
    assert!(list.subscribers().is_empty());
    assert_eq!(
        log.unrecorded, 1,
        "the STOP that found nothing is not recorded"
    );
    // A START after the STOP still counts.
    let r = apply(&mut list, &mut log, &[start(40)], 2100);
    assert_eq!(r[0].1.outcome, "active (subscribed by START)");
}

#[test]
fn a_flood_of_repeated_unsubscribes_is_not_recorded() {
    let (dir, mut list, mut log) = started();
    let id = list.subscribers()[0].id.clone();
    let links: Vec<Envelope> = (0..200)
        .map(|i| {
            env(Event::LinkUnsubscribe {
                at: t(20 + i),
                subscriber: id.clone(),
            })
        })
        .collect();
    let r = apply(&mut list, &mut log, &links, 300);
    assert_eq!(r.len(), 1, "one unsubscribe changed the row");
    assert_eq!(log.unrecorded, 199);
    log.save(t(300)).unwrap();
    let text = std::fs::read_to_string(dir.path().join(APPLIED_FILE)).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn event_time_decides_conflicts() {
    let (_d, mut log) = log();
    let mut list = SubscriberList::default();
    apply(&mut list, &mut log, &[start(10)], 50);
    apply(&mut list, &mut log, &[stop(20)], 100);
    // a START older than the applied STOP arrives late
    let r = apply(&mut list, &mut log, &[start(15)], 200);
    assert_eq!(r[0].1.outcome, "ignored: older than the unsubscribe");
    assert_eq!(list.subscribers()[0].status, Status::Unsubscribed);
    let proof = list.subscribers()[0].clone();
    // a web sign-up after the STOP changes nothing until the person's own JA
    let r = apply(&mut list, &mut log, &[signup(30)], 300);
    assert_eq!(
        r[0].1.outcome,
        "unsubscribed: sign-up waits for the person's JA (row unchanged)"
    );
    assert!(r[0].1.needs_confirmation);
    assert_eq!(list.subscribers()[0], proof, "the unsubscribe proof stays");
    // a STOP older than that sign-up changes nothing (and is not recorded)
    let r = apply(&mut list, &mut log, &[stop(25)], 400);
    assert!(r.is_empty());
    assert_eq!(list.subscribers()[0], proof);
    let r = apply(&mut list, &mut log, &[start(40)], 500);
    assert_eq!(
        r[0].1.outcome,
        "active again (confirmed a sign-up after unsubscribe)"
    );
    let s = &list.subscribers()[0];
    assert_eq!(s.status, Status::Active);
    assert_eq!(s.topics, vec!["verkehr"], "the sign-up's topics");
    assert_eq!((s.consent_at, s.confirmed_at), (Some(t(30)), Some(t(40))));
    assert_eq!(s.consent_source, "web");
    assert_eq!(s.name, None, "the name typed by anyone is not stored");
    assert_eq!(list.subscribers().len(), 1);
}

#[test]
fn a_sign_up_for_a_listed_number_changes_nothing_until_ja_and_lapses_unconfirmed() {
    let (_d, mut log) = log();
    let mut list = SubscriberList::default();
    apply(&mut list, &mut log, &[signup(10), start(20)], 100);
    let confirmed = list.subscribers()[0].clone();
    assert_eq!(confirmed.topics, vec!["verkehr"]);
    // Someone posts the form for this number without topics ("everything").
    let widen = env(Event::Signup {
        at: t(30),
        address: NUMBER.into(),
        name: Some("Mallory".into()),
        topics: vec![],
        consent_version: "v2".into(),
        language: "de".into(),
    });
    let r = apply(&mut list, &mut log, &[widen], 200);
    assert_eq!(
        r[0].1.outcome,
        "already active: change waits for the person's JA (row unchanged)"
    );
    assert_eq!(
        list.subscribers()[0],
        confirmed,
        "topics not widened, name not taken"
    );
    // Nobody confirms: the request lapses and the row is as it was.
    let dropped = log.requests.prune(
        t(30) + SignedDuration::from_hours(31 * 24),
        SignedDuration::from_hours(30 * 24),
        |_| true,
    );
    assert_eq!(dropped, 1);
    let r = apply(
        &mut list,
        &mut log,
        &[start(31 * 24 * 3600)],
        31 * 24 * 3600 + 10,
    );
    assert_eq!(r[0].1.outcome, "already active");
    assert_eq!(list.subscribers()[0], confirmed);
}

#[test]
fn link_unsubscribe_by_id_and_log_roundtrip() {
    let (dir, mut list, mut log) = started();
    let id = list.subscribers()[0].id.clone();
    let link = env(Event::LinkUnsubscribe {
        at: t(20),
        subscriber: id.clone(),
    });
    let r = apply(&mut list, &mut log, std::slice::from_ref(&link), 200);
    assert_eq!(r[0].1.outcome, "unsubscribed");
    log.save(t(300)).unwrap();
    let text = std::fs::read_to_string(dir.path().join(APPLIED_FILE)).unwrap();
    assert!(!text.contains("23456789"), "{text}");
    let mut again = AppliedLog::load(dir.path()).unwrap();
    assert!(again.contains(&link.id));
    assert!(apply(&mut list, &mut again, &[link], 400).is_empty());
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
    let r = apply(
        &mut list,
        &mut log,
        &[by_bsuid(5, KeywordAction::Start, "DE.1")],
        50,
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
    apply(&mut list, &mut log, &[start], 100);
    assert_eq!(list.subscribers()[0].bsuid.as_deref(), Some("DE.1"));
    let r = apply(
        &mut list,
        &mut log,
        &[by_bsuid(20, KeywordAction::Stop, "DE.1")],
        200,
    );
    assert_eq!(r[0].1.outcome, "unsubscribed");
    assert_eq!(list.subscribers()[0].status, Status::Unsubscribed);
    let r = apply(
        &mut list,
        &mut log,
        &[by_bsuid(30, KeywordAction::Start, "DE.1")],
        300,
    );
    assert_eq!(r[0].1.outcome, "active again (START after unsubscribe)");
    assert_eq!(list.subscribers()[0].status, Status::Active);
}

#[test]
fn marketing_stop_unsubscribes_resume_changes_nothing() {
    let (_d, mut list, mut log) = started();
    let pref = |at: i64, value: &str| {
        env(Event::Preference {
            at: t(at),
            address: Some(NUMBER.into()),
            bsuid: Some("DE.9".into()),
            value: value.into(),
            category: "marketing_messages".into(),
        })
    };
    let r = apply(
        &mut list,
        &mut log,
        &[pref(20, "stop"), pref(30, "resume")],
        200,
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
    let (_d, mut list, mut log) = started();
    list.subscribers[0].status = Status::Unreachable;
    let r = apply(&mut list, &mut log, &[start(20)], 200);
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
    apply(&mut list, &mut log, &[start], 100);
    let new_number = env(Event::Keyword {
        at: t(20),
        action: KeywordAction::Start,
        address: Some("+4915199999999".into()),
        bsuid: Some("DE.7".into()),
        via: "text".into(),
    });
    apply(&mut list, &mut log, &[new_number], 200);
    let holders: Vec<_> = list
        .subscribers()
        .iter()
        .filter(|s| s.bsuid.as_deref() == Some("DE.7"))
        .map(|s| s.address.as_str())
        .collect();
    assert_eq!(holders, vec!["+4915199999999"], "one row per BSUID");
}
