//! Every persisted format as aushang 0.2.0 wrote it (tests/fixtures/formats/) is read by today's
//! code: the configuration, the encrypted list, the WhatsApp and outbox journals and the inbox
//! records. A later version that cannot read one of them breaks towns on upgrade.

use std::path::{Path, PathBuf};

use aushang::delivery::journal::{DeliveryState, Journal, journal_dir};
use aushang::inbox::apply::AppliedLog;
use aushang::inbox::confirm::ConfirmationLog;
use aushang::inbox::statuses::FailureLine;
use aushang::subscribers::records_dir;
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

// ---- aushang migrate ---------------------------------------------------------------------------

fn migrate(root: &Path, args: &[&str], key: bool) -> (i32, String) {
    let mut cmd = assert_cmd::Command::cargo_bin("aushang").unwrap();
    cmd.arg("--root").arg(root).arg("migrate").args(args);
    cmd.env_remove("AUSHANG_IDENTITY")
        .env_remove("AUSHANG_IDENTITY_FILE")
        .env_remove("AUSHANG_ROOT");
    if key {
        cmd.env(
            "AUSHANG_IDENTITY_FILE",
            std::fs::canonicalize("tests/fixtures/formats/fixture-identity.txt").unwrap(),
        );
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Every file of the site (but the site lock, which stays by design), by path, with a digest of
/// its bytes.
fn snapshot(root: &Path) -> Vec<(PathBuf, String)> {
    use sha2::Digest;
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(root).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() && e.file_name() != ".aushang.lock" {
            let bytes = std::fs::read(e.path()).unwrap();
            out.push((
                e.path().to_path_buf(),
                hex::encode(sha2::Sha256::digest(&bytes)),
            ));
        }
    }
    out
}

#[test]
fn migrate_sends_the_list_of_0_2_to_rekey_and_then_finds_it_current() {
    // 0.2.0 wrote list format v2, which does not record its keys: only `rekey` converts it, as
    // that step decides who can read the list.
    let (_tmp, root) = site();
    let before = snapshot(&root);
    let (code, out) = migrate(&root, &["--dry-run"], true);
    assert_eq!(code, 1, "something is pending: {out}");
    let (code, out) = migrate(&root, &[], true);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("zu tun: subscribers/subscribers.csv.age")
            && out.contains("`aushang subscribers rekey`"),
        "{out}"
    );
    assert!(out.contains("aktuell: aushang.yaml"), "{out}");
    assert!(!out.contains("umgestellt"), "{out}");
    assert!(!out.contains("3920"), "no number in the output: {out}");
    assert_eq!(snapshot(&root), before, "nothing written");

    let rekey = assert_cmd::Command::cargo_bin("aushang")
        .unwrap()
        .arg("--root")
        .arg(&root)
        .args(["subscribers", "rekey"])
        .env_remove("AUSHANG_IDENTITY")
        .env(
            "AUSHANG_IDENTITY_FILE",
            std::fs::canonicalize("tests/fixtures/formats/fixture-identity.txt").unwrap(),
        )
        .output()
        .unwrap();
    assert!(rekey.status.success(), "{rekey:?}");
    let (code, out) = migrate(&root, &["--dry-run"], true);
    assert_eq!(code, 0, "nothing pending after rekey: {out}");
    assert!(
        out.contains("aktuell: subscribers/subscribers.csv.age: aktuelles Format"),
        "{out}"
    );
    let list = SubscriberList::load(&root.join("subscribers"), &identity()).unwrap();
    assert_eq!(list.subscribers().len(), 3, "every subscription kept");
}

#[test]
fn migrate_adds_the_version_key_once_and_the_site_still_loads() {
    let (_tmp, root) = site();
    let path = root.join("aushang.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let old: String = text
        .lines()
        .filter(|l| !l.starts_with("aushang:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(old, text);
    std::fs::write(&path, &old).unwrap();

    let (code, out) = migrate(&root, &["--dry-run"], false);
    assert_eq!(code, 1, "a dry run with something pending fails: {out}");
    assert!(out.contains("würde umstellen: aushang.yaml"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        old,
        "dry run writes nothing"
    );

    let (code, out) = migrate(&root, &[], false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("umgestellt: aushang.yaml"), "{out}");
    assert!(
        out.contains("nicht geprüft: subscribers/subscribers.csv.age"),
        "without a key the list is reported, not skipped silently: {out}"
    );
    let migrated = std::fs::read_to_string(&path).unwrap();
    assert!(
        migrated.starts_with("# Settings of the example town site."),
        "the header stays on top: {migrated}"
    );
    let config = aushang::config::load(&root).unwrap_or_else(|p| panic!("{p:?}"));
    let wanted = format!(
        ">={}",
        env!("CARGO_PKG_VERSION").rsplit_once('.').unwrap().0
    );
    assert_eq!(config.requires_aushang.as_deref(), Some(wanted.as_str()));
    assert_eq!(config.categories.len(), 5, "the rest is unchanged");
    // no temp file left next to it
    let stray: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");

    // idempotent
    let (code, out) = migrate(&root, &[], false);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("umgestellt"), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), migrated);
}

/// The reach and budget records (issue 17) as this version writes them
/// (tests/fixtures/formats/reach/): `journal/budget.jsonl` (approvals over the budget),
/// `journal/held-back.jsonl` (people a claim held back, counts only),
/// `inbox/reach-ledger.json` (status counts) and `inbox/reach.json` (per-notice reach).
#[test]
fn the_reach_and_budget_records_are_read() {
    use aushang::inbox::reach::{self, Reach};
    use aushang::inbox::reach_ledger::Ledger;
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("subscribers");
    copy_dir(
        Path::new("tests/fixtures/formats/reach/subscribers"),
        &state,
    );
    let key = "/bekanntmachungen/2026/wahl/#notice";

    let approvals =
        aushang::broadcast::budget::read_approvals(&journal_dir(&state).join("budget.jsonl"))
            .unwrap();
    assert_eq!(approvals.len(), 1);
    let a = &approvals[0];
    assert_eq!(
        (
            a.notice.as_str(),
            a.by.as_str(),
            a.amount.as_str(),
            a.currency.as_str(),
            a.recipients,
            a.spent_before.as_str()
        ),
        (
            "/bekanntmachungen/2026/wahl/",
            "buergermeisterin",
            "0.1",
            "EUR",
            Some(1),
            "0.2"
        )
    );

    let held = aushang::delivery::held_back::read(&journal_dir(&state)).unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].msg.as_str(), held[0].by_limit, held[0].by_budget),
        (key, 0, 1)
    );

    let ledger = Ledger::load(&state).unwrap();
    assert_eq!(ledger.messages[key].delivered, 2);
    assert_eq!(ledger.messages[key].billable["utility"], 2);
    assert_eq!(ledger.messages["-@2026-12"].billable["utility"], 1);
    assert_eq!(ledger.seen.len(), 2);

    let written: Reach =
        serde_json::from_str(&std::fs::read_to_string(state.join("inbox/reach.json")).unwrap())
            .unwrap();
    let m = &written.messages[0];
    assert_eq!(
        (m.audience, m.accepted, m.delivered, m.read, m.deferred),
        (3, 2, 2, 1, 1)
    );
    assert_eq!(written.other.billable["utility"], 1);
    // Today's code computes the same from the journal, the ledger and the held-back count.
    assert_eq!(reach::compute(&state).unwrap(), written);
    // A month and more later, the settled message keeps what reach.json says.
    let later = reach::update(&state, "2027-02-01T00:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(later.messages, written.messages);
}
