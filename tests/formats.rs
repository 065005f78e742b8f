//! Every persisted format as aushang 0.2.0 wrote it (tests/fixtures/formats/) is read by today's
//! code: the configuration, the encrypted list, the WhatsApp and outbox journals and the inbox
//! records. A later version that cannot read one of them breaks towns on upgrade.

use std::path::{Path, PathBuf};

use aushang::broadcast::journal::{DeliveryState, Journal, journal_dir};
use aushang::inbox::apply::{AppliedLog, records_dir};
use aushang::inbox::confirm::ConfirmationLog;
use aushang::inbox::statuses::FailureLine;
use aushang::subscribers::{Identity, Recipients, Status, SubscriberList};

const NOTICE: &str = "/bekanntmachungen/2026/wasserleitung/#notice";
const ACTIVE: &str = "s_8f8aa02ed522339f";
const PENDING: &str = "s_02e72eb841b250c1";
const UNSUBSCRIBED: &str = "s_d16153024bceee0c";

/// A copy of the fixture site (some readers write back, the fixtures must stay as they are).
fn site() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("site");
    copy_dir(Path::new("tests/fixtures/formats/site"), &root);
    (tmp, root)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn identity() -> Identity {
    Identity::from_file(Path::new("tests/fixtures/formats/fixture-identity.txt")).unwrap()
}

#[test]
fn the_configuration_of_0_2_is_read() {
    let (_tmp, root) = site();
    let config = aushang::config::load(&root).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(config.requires_aushang.as_deref(), Some(">=0.2"));
    assert!(config.broadcast.channels.whatsapp.is_some());
    assert!(config.inbox.is_some());
    assert_eq!(config.categories.len(), 5);
}

#[test]
fn the_subscriber_list_of_0_2_is_read() {
    let (_tmp, root) = site();
    let dir = root.join("subscribers");
    Recipients::load(&dir).unwrap();
    let list = SubscriberList::load(&dir, &identity()).unwrap();
    assert_eq!(list.subscribers().len(), 3);
    let active = list.get(ACTIVE).unwrap();
    assert_eq!(active.status, Status::Active);
    assert_eq!(active.address, "+4915111111111");
    assert_eq!(active.topics, vec!["versorgung".to_string()]);
    assert_eq!(list.get(PENDING).unwrap().status, Status::Pending);
    let gone = list.get(UNSUBSCRIBED).unwrap();
    assert_eq!(gone.status, Status::Unsubscribed);
    assert!(gone.unsubscribed_at.is_some());
}

#[test]
fn the_journals_of_0_2_are_read() {
    let (_tmp, root) = site();
    let journal = Journal::open(&journal_dir(&root.join("subscribers"))).unwrap();
    assert!(journal.is_complete(NOTICE, "whatsapp"));
    let log = journal.deliveries(NOTICE, "whatsapp").unwrap();
    assert_eq!(log.last[ACTIVE].state, DeliveryState::Sent);
    assert!(log.is_final(ACTIVE) && log.is_final(PENDING));
    assert_eq!(log.last[PENDING].code, Some(131026));
    assert!(log.is_uncertain(UNSUBSCRIBED));
    // A notice recorded with --mark-sent counts as done.
    assert!(journal.is_complete("/bekanntmachungen/2026/altes-thema/#notice", "whatsapp"));

    let outbox = Journal::open(&root.join("outbox-journal")).unwrap();
    assert!(outbox.is_complete(NOTICE, "outbox"));
    assert!(
        outbox
            .deliveries(NOTICE, "outbox")
            .unwrap()
            .is_final(ACTIVE)
    );
}

#[test]
fn the_inbox_records_of_0_2_are_read() {
    let (_tmp, root) = site();
    let dir = records_dir(&root.join("subscribers"));
    let applied = AppliedLog::load(&dir).unwrap();
    assert_eq!(applied.lines().len(), 3);
    assert!(applied.contains("k-900e1f"));
    let confirmations = ConfirmationLog::load(&dir).unwrap();
    assert_eq!(confirmations.lines().len(), 2);
    assert_eq!(confirmations.lines()[1].sub, PENDING);
    let statuses = std::fs::read_to_string(dir.join("statuses.jsonl")).unwrap();
    for line in statuses.lines() {
        let failure: FailureLine = serde_json::from_str(line).unwrap();
        assert_eq!(failure.codes, vec![131026]);
    }
    // undeliverable.jsonl: two 131026 failures in a row make the active subscriber unreachable.
    let mut list = SubscriberList::load(&root.join("subscribers"), &identity()).unwrap();
    let now: jiff::Timestamp = "2026-11-22T12:00:00Z".parse().unwrap();
    let report =
        aushang::inbox::undeliverable::update(&root.join("subscribers"), &[], &mut list, 2, now)
            .unwrap();
    assert_eq!(
        report
            .marked
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>(),
        vec![ACTIVE]
    );
    assert_eq!(list.get(ACTIVE).unwrap().status, Status::Unreachable);
}
