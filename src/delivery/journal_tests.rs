//! Tests of `delivery::journal`: appending, reading back, torn lines, states, forgetting.

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn line(sub: &str, state: DeliveryState, t: &str) -> DeliveryLine {
    DeliveryLine {
        t: ts(t),
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
fn last_state_wins_and_final_states_are_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    let m = "/bekanntmachungen/2026/a/#notice";
    j.record(
        m,
        "whatsapp",
        &line("s1", DeliveryState::Sending, "2026-11-28T08:00:00Z"),
    )
    .unwrap();
    j.record(
        m,
        "whatsapp",
        &line("s1", DeliveryState::Sent, "2026-11-28T08:00:01Z"),
    )
    .unwrap();
    j.record(
        m,
        "whatsapp",
        &line("s2", DeliveryState::Sending, "2026-11-28T08:00:01Z"),
    )
    .unwrap();
    let mut failed = line("s3", DeliveryState::Failed, "2026-11-28T08:00:02Z");
    failed.class = Some(FailureClass::Retry);
    j.record(m, "whatsapp", &failed).unwrap();
    drop(j);
    let j = Journal::open(dir.path()).unwrap();
    let log = j.deliveries(m, "whatsapp").unwrap();
    assert!(log.is_final("s1"));
    assert!(!log.is_final("s2") && log.is_uncertain("s2"));
    assert!(!log.is_final("s3") && !log.is_uncertain("s3"));
    assert!(!log.is_final("s4"));
}

#[test]
fn a_torn_last_line_is_skipped_and_fenced_off() {
    let dir = tempfile::tempdir().unwrap();
    let m = "/x/#notice";
    let j = Journal::open(dir.path()).unwrap();
    j.record(
        m,
        "outbox",
        &line("s1", DeliveryState::Sent, "2026-11-28T08:00:00Z"),
    )
    .unwrap();
    drop(j);
    let path = dir.path().join("deliveries").join("x_notice~outbox.jsonl");
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"{\"t\":\"2026-11-28T08:00:01Z\",\"sub\":\"s2\",\"sta")
        .unwrap();
    drop(f);
    let j = Journal::open(dir.path()).unwrap();
    j.record(
        m,
        "outbox",
        &line("s3", DeliveryState::Sent, "2026-11-28T08:00:02Z"),
    )
    .unwrap();
    drop(j);
    let j = Journal::open(dir.path()).unwrap();
    let log = j.deliveries(m, "outbox").unwrap();
    assert!(log.is_final("s1") && log.is_final("s3"));
    assert!(!log.last.contains_key("s2"));
}

#[test]
fn completion_and_rolling_window_counts() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    let (a, b) = ("/a/#notice", "/b/#notice");
    j.record_index(
        a,
        "whatsapp",
        IndexEvent::Started,
        ts("2026-11-26T08:00:00Z"),
    )
    .unwrap();
    j.record(
        a,
        "whatsapp",
        &line("old", DeliveryState::Sent, "2026-11-26T08:00:00Z"),
    )
    .unwrap();
    j.record_index(
        a,
        "whatsapp",
        IndexEvent::Completed,
        ts("2026-11-26T08:10:00Z"),
    )
    .unwrap();
    j.record_index(
        b,
        "whatsapp",
        IndexEvent::Started,
        ts("2026-11-28T08:00:00Z"),
    )
    .unwrap();
    j.record(
        b,
        "whatsapp",
        &line("new", DeliveryState::Sent, "2026-11-28T08:00:00Z"),
    )
    .unwrap();
    assert!(j.is_complete(a, "whatsapp"));
    assert!(!j.is_complete(b, "whatsapp"));
    assert!(!j.is_complete(a, "outbox"));
    let recent = j
        .recipients_since("whatsapp", ts("2026-11-27T09:00:00Z"))
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert!(recent.contains("new") && !recent.contains("old"));
}

#[test]
fn forget_removes_only_that_subscriber() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("subscribers");
    let j = Journal::open(&journal_dir(&state)).unwrap();
    j.record(
        "/a/#notice",
        "whatsapp",
        &line("s1", DeliveryState::Sent, "2026-11-28T08:00:00Z"),
    )
    .unwrap();
    j.record(
        "/a/#notice",
        "whatsapp",
        &line("s2", DeliveryState::Sent, "2026-11-28T08:00:00Z"),
    )
    .unwrap();
    drop(j);
    let inbox = dir.path().join("subscribers/inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(
        inbox.join("applied.jsonl"),
        "{\"id\":\"e1\",\"sub\":\"s1\"}\n{\"id\":\"e2\",\"sub\":\"s2\"}\n",
    )
    .unwrap();
    assert_eq!(forget_subscribers(dir.path(), &state, ["s1"]).unwrap(), 2);
    let applied = std::fs::read_to_string(inbox.join("applied.jsonl")).unwrap();
    assert_eq!(applied, "{\"id\":\"e1\"}\n{\"id\":\"e2\",\"sub\":\"s2\"}\n");
    let j = Journal::open(&journal_dir(&state)).unwrap();
    let log = j.deliveries("/a/#notice", "whatsapp").unwrap();
    assert!(!log.last.contains_key("s1") && log.is_final("s2"));
}
