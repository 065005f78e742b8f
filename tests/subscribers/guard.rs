//! Who can read the list: a changed `recipients.txt` is refused by every ordinary save (only
//! `rekey` changes the keys), the demo key never reads a real list, and two changes at the same
//! time both survive (the site lock).

use std::time::Duration;

use super::{ERIKA, Site, age_cli, fails, ok, total};
use aushang::subscribers::store::{self, DEMO_RECIPIENT};
use aushang::subscribers::{Identity, Recipients, SubscriberList};

/// Appends a key to `recipients.txt`, as a pull request could.
fn append_key(site: &Site, holder: &str, key: &str) {
    let path = store::recipients_path(&site.dir());
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!("\n# {holder}\n{key}\n"));
    std::fs::write(path, text).unwrap();
}

/// A real town's site: `aushang subscribers init`, no demo key anywhere. Returns its secret key.
fn real_town() -> (Site, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        std::path::Path::new(super::REPO).join("aushang.yaml"),
        dir.path().join("aushang.yaml"),
    )
    .unwrap();
    let site = Site {
        root: dir.path().to_path_buf(),
        _dir: dir,
    };
    let out = ok(&site.run_with(&["init", "--holder", "CI"], &[]));
    let secret = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("secret printed once")
        .to_string();
    (site, secret)
}

const ADD: &[&str] = &[
    "add",
    "--address",
    "0176 04069060",
    "--consent-source",
    "web",
];

#[test]
fn a_key_added_to_recipients_txt_is_refused_by_every_save_and_the_list_stays_byte_for_byte() {
    let site = Site::demo();
    let before = site.list_bytes();
    let (intruder, _) = Identity::generate();
    let key = intruder.public_keys().remove(0);
    append_key(&site, "CI (neu)", &key);
    for args in [
        ADD,
        &["remove", ERIKA],
        &["forget", ERIKA],
        &["prune", "--now", "2026-11-28T12:00:00Z"],
    ] {
        let err = fails(&site.run(args));
        assert!(
            err.contains(
                "recipients.txt nennt andere Schlüssel als die, für die die Abonnentenliste verschlüsselt ist"
            ),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(&format!("hinzugefügt {key} (CI (neu))")),
            "{err}"
        );
        assert!(err.contains("aushang subscribers rekey"), "{err}");
        assert_eq!(site.list_bytes(), before, "{args:?} changed the list");
    }
    assert!(SubscriberList::load(&site.dir(), &intruder).is_err());
    // A removed key is a change too.
    std::fs::write(
        store::recipients_path(&site.dir()),
        Recipients::file_text("CI (neu)", &key),
    )
    .unwrap();
    let err = fails(&site.run(ADD));
    assert!(err.contains(&format!("hinzugefügt {key}")), "{err}");
    assert!(err.contains(&format!("entfernt {DEMO_RECIPIENT}")), "{err}");
    assert_eq!(site.list_bytes(), before);
    // The library refuses as well, whoever calls it (the inbox pull saves through it).
    let list = site.load();
    let recipients = Recipients::load(&site.dir()).unwrap();
    assert!(matches!(
        list.save(&site.dir(), &recipients),
        Err(store::StoreError::RecipientsChanged { .. })
    ));
    assert_eq!(site.list_bytes(), before);
    // Someone who can read the list decides: rekey, and from then on the new set is kept.
    append_key(&site, "DEMO", DEMO_RECIPIENT);
    ok(&site.run(&["rekey"]));
    assert_eq!(
        SubscriberList::load(&site.dir(), &intruder)
            .unwrap()
            .subscribers()
            .len(),
        12
    );
    ok(&site.run(ADD));
    assert_eq!(total(&site), 13);
}

#[test]
fn the_demo_key_never_reads_a_real_list() {
    let (site, secret) = real_town();
    let env = [("AUSHANG_IDENTITY", secret.as_str())];
    ok(&site.run_with(ADD, &env));
    let before = site.list_bytes();
    append_key(&site, "CI backup", DEMO_RECIPIENT);
    let err = fails(&site.run_with(ADD, &env));
    assert!(
        err.contains(&format!("hinzugefügt {DEMO_RECIPIENT}")),
        "{err}"
    );
    // Not even rekey adds it: its secret key is public.
    let err = fails(&site.run_with(&["rekey"], &env));
    assert!(
        err.contains(&format!("nennt den Demo-Schlüssel {DEMO_RECIPIENT}")),
        "{err}"
    );
    assert!(
        err.contains("ist nicht die Demo-Liste des Beispiels"),
        "{err}"
    );
    assert_eq!(site.list_bytes(), before);
    let demo = Identity::from_file(&Site::demo().demo_key()).unwrap();
    assert!(SubscriberList::load(&site.dir(), &demo).is_err());
}

#[test]
fn a_list_from_an_older_aushang_is_saved_only_after_one_rekey() {
    let (site, secret) = real_town();
    let env = [("AUSHANG_IDENTITY", secret.as_str())];
    // A v2 list, as aushang wrote it before it recorded its keys.
    let plain = site.root.join("plain.csv");
    std::fs::write(
        &plain,
        "# aushang subscribers v2\n\
         id,channel,address,name,topics,language,status,consent_at,consent_source,consent_text,confirmed_at,unsubscribed_at,bsuid\n\
         s_00000000000000aa,whatsapp,+491713920077,,,de,active,2026-11-01T10:00:00Z,paper,v1,,,\n",
    )
    .unwrap();
    let list = store::list_path(&site.dir());
    let recipients = store::recipients_path(&site.dir());
    let out = age_cli(&[
        "-e",
        "-a",
        "-R",
        recipients.to_str().unwrap(),
        "-o",
        list.to_str().unwrap(),
        plain.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    std::fs::remove_file(plain).unwrap();
    // A pull request added the demo key before anyone ran rekey: still refused.
    append_key(&site, "CI backup", DEMO_RECIPIENT);
    let before = site.list_bytes();
    let err = fails(&site.run_with(ADD, &env));
    assert!(
        err.contains("hält nicht fest, für welche Schlüssel sie verschlüsselt ist"),
        "{err}"
    );
    assert!(
        err.contains("dann einmal `aushang subscribers rekey` ausführen"),
        "{err}"
    );
    let err = fails(&site.run_with(&["rekey"], &env));
    assert!(err.contains("nennt den Demo-Schlüssel"), "{err}");
    assert_eq!(site.list_bytes(), before);
    // Without it, one rekey records the keys and saves work again.
    let site_key = Identity::from_text(&secret, "test").unwrap();
    std::fs::write(
        &recipients,
        Recipients::file_text("CI", &site_key.public_keys()[0]),
    )
    .unwrap();
    ok(&site.run_with(&["rekey"], &env));
    ok(&site.run_with(ADD, &env));
    let out = ok(&site.run_with(&["count"], &env));
    assert!(out.contains("insgesamt: 2"), "{out}");
}

#[test]
fn two_adds_at_the_same_time_wait_for_the_lock_and_both_survive() {
    let site = Site::demo();
    let before = site.list_bytes();
    // Another aushang run holds the site: both adds wait for it instead of writing meanwhile.
    let held = aushang::lock::SiteLock::acquire(&site.root).unwrap();
    let spawn = |number: &str| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("aushang"))
            .arg("--root")
            .arg(&site.root)
            .args(["subscribers", "add", "--consent-source", "web", "--address"])
            .arg(number)
            .env_remove("AUSHANG_IDENTITY")
            .env_remove("AUSHANG_ROOT")
            .env("AUSHANG_IDENTITY_FILE", site.demo_key())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = spawn("0176 04069061");
    let mut second = spawn("0176 04069062");
    // One add takes under a second here (debug build); without the lock both would be done.
    std::thread::sleep(Duration::from_secs(4));
    assert!(first.try_wait().unwrap().is_none(), "the first add waits");
    assert!(second.try_wait().unwrap().is_none(), "the second add waits");
    assert_eq!(site.list_bytes(), before);
    // Released: both race for the lock; each reads the list only once it holds it.
    drop(held);
    for child in [first, second] {
        ok(&child.wait_with_output().unwrap());
    }
    let list = site.load();
    assert_eq!(list.subscribers().len(), 14);
    for number in ["+4917604069061", "+4917604069062"] {
        assert_eq!(list.find(number, None).len(), 1, "a change was lost");
    }
}

/// `git -C root ARGS`, failing the test if git fails.
fn git(root: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(args)
        .output()
        .expect("git is needed for the pull request check tests");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check(root: &std::path::Path, args: &[&str], base_env: Option<&str>) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("aushang").unwrap();
    cmd.arg("--root").arg(root).arg("check").args(args);
    match base_env {
        Some(b) => cmd.env("GITHUB_BASE_REF", b),
        None => cmd.env_remove("GITHUB_BASE_REF"),
    };
    cmd.output().unwrap()
}

#[test]
fn the_pull_request_check_names_every_key_added_to_recipients_txt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    std::fs::create_dir(&root).unwrap();
    for part in [
        "aushang.yaml",
        "content",
        "static",
        "templates",
        "theme",
        "subscribers",
    ] {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(std::path::Path::new(super::REPO).join(part))
            .arg(&root)
            .status()
            .unwrap();
        assert!(status.success());
    }
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "base"]);
    git(&root, &["checkout", "-q", "-b", "pr"]);
    ok(&check(&root, &["--base", "main"], None));

    let site = Site {
        _dir: tempfile::tempdir().unwrap(),
        root: root.clone(),
    };
    let (intruder, _) = Identity::generate();
    let key = intruder.public_keys().remove(0);
    append_key(&site, "Backup", &key);
    git(&root, &["commit", "-q", "-am", "more keys"]);
    let out = fails(&check(&root, &["--format", "github"], Some("main")));
    let line = std::fs::read_to_string(store::recipients_path(&site.dir()))
        .unwrap()
        .lines()
        .position(|l| l == key)
        .unwrap()
        + 1;
    assert!(
        out.contains(&format!(
            "::error file=subscribers/recipients.txt,line={line},col=1::dieser Pull Request fügt den Schlüssel {key} (Backup) hinzu"
        )),
        "{out}"
    );
    // --base wins over the environment; a removed key is named too.
    std::fs::write(
        store::recipients_path(&site.dir()),
        Recipients::file_text("Backup", &key),
    )
    .unwrap();
    let out = fails(&check(&root, &["--base", "main"], Some("nonexistent")));
    assert!(
        out.contains(&format!("entfernt den Schlüssel {DEMO_RECIPIENT}")),
        "{out}"
    );
    // The demo key in a real list is an error even without git; outside git nothing is compared.
    std::fs::remove_dir_all(root.join(".git")).unwrap();
    let out = ok(&check(&root, &["--base", "main"], None));
    assert!(out.contains("Keine Probleme gefunden"), "{out}");
}

#[test]
fn check_refuses_the_demo_key_for_a_list_it_cannot_open() {
    let (site, _) = real_town();
    assert!(aushang::subscribers::review::demo_key_problems(&site.dir()).is_empty());
    append_key(&site, "CI backup", DEMO_RECIPIENT);
    let problems = aushang::subscribers::review::demo_key_problems(&site.dir());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, Some(9), "{problems:?}");
    assert!(
        problems[0]
            .message
            .contains("der Demo-Schlüssel kann diese Abonnentenliste nicht öffnen")
    );
    assert!(aushang::subscribers::review::demo_key_problems(&Site::demo().dir()).is_empty());
}

#[test]
fn rekey_re_encrypts_the_inboxs_waiting_requests_with_the_list() {
    use aushang::inbox::requests::{ChangeRequest, REQUESTS_FILE, Requests};
    let (site, secret) = real_town();
    let env = [("AUSHANG_IDENTITY", secret.as_str())];
    let site_key = Identity::from_text(&secret, "test").unwrap();
    let records = site.dir().join("inbox");
    let mut requests = Requests::load(&records, &site_key).unwrap();
    requests.insert(ChangeRequest {
        sub: "s_00000000000000aa".into(),
        event: "w-000000000000000000000001".into(),
        at: "2026-11-01T10:00:00Z".parse().unwrap(),
        topics: vec!["verkehr".into()],
        consent_version: "v1".into(),
        language: "de".into(),
    });
    let recipients = Recipients::load(&site.dir()).unwrap();
    requests
        .save(
            &SubscriberList::load(&site.dir(), &site_key).unwrap(),
            &recipients,
        )
        .unwrap();
    let file = records.join(REQUESTS_FILE);
    let before = std::fs::read(&file).unwrap();

    // A second holder joins: before the rekey, nothing may write the requests to the new set.
    let (second, _) = Identity::generate();
    append_key(&site, "Hauptamt", &second.public_keys()[0]);
    let changed = Recipients::load(&site.dir()).unwrap();
    let mut again = Requests::load(&records, &site_key).unwrap();
    again.insert(ChangeRequest {
        sub: "s_00000000000000bb".into(),
        ..again.items()[0].clone()
    });
    let err = again
        .save(
            &SubscriberList::load(&site.dir(), &site_key).unwrap(),
            &changed,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("aushang subscribers rekey"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // The rekey re-encrypts the list and the requests: the new holder reads both.
    let out = ok(&site.run_with(&["rekey"], &env));
    assert!(out.contains("requests.age"), "{out}");
    let read = Requests::load(&records, &second).unwrap();
    assert_eq!(read.items().len(), 1);
    assert_eq!(read.items()[0].sub, "s_00000000000000aa");
    assert!(SubscriberList::load(&site.dir(), &second).is_ok());

    // A key removed by a rekey no longer opens the requests either.
    std::fs::write(
        store::recipients_path(&site.dir()),
        Recipients::file_text("Hauptamt", &second.public_keys()[0]),
    )
    .unwrap();
    ok(&site.run_with(&["rekey"], &env));
    assert!(Requests::load(&records, &site_key).is_err());
    assert_eq!(Requests::load(&records, &second).unwrap().items().len(), 1);
}

#[test]
fn a_list_replaced_by_one_that_records_the_demo_key_is_not_saved_on_a_real_site() {
    let (site, secret) = real_town();
    let env = [("AUSHANG_IDENTITY", secret.as_str())];
    ok(&site.run_with(ADD, &env));
    // A pull request replaces the list by one encrypted to the site's public key and the demo key
    // (both public), recording both, and adds the demo key to recipients.txt.
    append_key(&site, "CI backup", DEMO_RECIPIENT);
    let recipients = Recipients::load(&site.dir()).unwrap();
    SubscriberList::new(Vec::new())
        .save(&site.dir(), &recipients)
        .unwrap();
    let before = site.list_bytes();
    let err = fails(&site.run_with(ADD, &env));
    assert!(
        err.contains(&format!("nennt den Demo-Schlüssel {DEMO_RECIPIENT}")),
        "{err}"
    );
    assert_eq!(site.list_bytes(), before, "nothing written");
}
