//! The subscriber store end to end: the real `aushang subscribers …` binary on temp copies of the
//! example site, and interop with the real `age` CLI (Debian package `age`).
//!
//! Test output must never contain a plaintext number from the demo list: assertions print
//! command output only through `leak_free`, which first checks exactly that.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use aushang::subscribers::store::{self, DEMO_RECIPIENT};
use aushang::subscribers::{Identity, Recipients, Status, SubscriberList, demo_identity_path};

#[path = "subscribers/guard.rs"]
mod guard;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// The subscriber digits of every number these tests use: the Bundesnetzagentur drama ranges
/// 0171 39200xx and 0176 040690xx. Seven digits, so a random hex id cannot plausibly match.
fn fixture_digits() -> Vec<String> {
    (0..100)
        .flat_map(|n| [format!("39200{n:02}"), format!("40690{n:02}")])
        .collect()
}
/// Erika Beispiel in the demo list.
const ERIKA: &str = "+491713920000";
/// Otto Beispielmann, unsubscribed in the demo list.
const OTTO: &str = "0171 3920005";

struct Site {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Site {
    /// A temp copy of the example site's aushang.yaml and subscribers/.
    fn demo() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::copy(
            Path::new(REPO).join("aushang.yaml"),
            root.join("aushang.yaml"),
        )
        .unwrap();
        std::fs::create_dir(root.join("subscribers")).unwrap();
        for f in ["demo-identity.txt", "recipients.txt", "subscribers.csv.age"] {
            std::fs::copy(
                Path::new(REPO).join("subscribers").join(f),
                root.join("subscribers").join(f),
            )
            .unwrap();
        }
        Site { _dir: dir, root }
    }

    fn dir(&self) -> PathBuf {
        self.root.join("subscribers")
    }

    fn list_bytes(&self) -> Vec<u8> {
        std::fs::read(store::list_path(&self.dir())).unwrap()
    }

    fn demo_key(&self) -> PathBuf {
        demo_identity_path(&self.dir())
    }

    /// `aushang --root SITE subscribers ARGS` with the demo key.
    fn run(&self, args: &[&str]) -> Output {
        self.run_with(
            args,
            &[("AUSHANG_IDENTITY_FILE", self.demo_key().to_str().unwrap())],
        )
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::cargo_bin("aushang").unwrap();
        cmd.arg("--root")
            .arg(&self.root)
            .arg("subscribers")
            .args(args);
        cmd.env_remove("AUSHANG_IDENTITY")
            .env_remove("AUSHANG_IDENTITY_FILE")
            .env_remove("AUSHANG_ROOT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn load(&self) -> SubscriberList {
        SubscriberList::load(&self.dir(), &Identity::from_file(&self.demo_key()).unwrap()).unwrap()
    }
}

/// stdout + stderr, after asserting that no demo number appears in them in any notation.
fn leak_free(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for digits in fixture_digits() {
        assert!(
            !text.contains(&digits),
            "a plaintext demo number appeared in command output (not shown)"
        );
    }
    text
}

fn ok(out: &Output) -> String {
    let text = leak_free(out);
    assert!(out.status.success(), "command failed:\n{text}");
    text
}

fn fails(out: &Output) -> String {
    let text = leak_free(out);
    assert!(!out.status.success(), "command should have failed:\n{text}");
    text
}

fn age_cli(args: &[&str]) -> Output {
    std::process::Command::new("age")
        .args(args)
        .output()
        .expect("the `age` CLI is needed for the interop tests: apt-get install age")
}

fn total(site: &Site) -> usize {
    site.load().subscribers().len()
}

// ---- interop with the age CLI ------------------------------------------------------------------

#[test]
fn the_age_cli_decrypts_what_aushang_writes() {
    let site = Site::demo();
    ok(&site.run(&[
        "add",
        "--address",
        "0176 04069050",
        "--consent-source",
        "paper",
        "--topics",
        "rat",
    ]));
    let out = age_cli(&[
        "-d",
        "-i",
        site.demo_key().to_str().unwrap(),
        store::list_path(&site.dir()).to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "age -d failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain = String::from_utf8(out.stdout).unwrap();
    let head =
        format!("# aushang subscribers v3\n# recipients: {DEMO_RECIPIENT}\nid,channel,address,");
    assert!(
        plain.starts_with(&head),
        "{}",
        plain.lines().next().unwrap_or("")
    );
    assert!(
        plain
            .lines()
            .any(|l| l.contains(",+4917604069050,") && l.contains(",rat,")),
        "new row missing"
    );
    assert!(
        std::str::from_utf8(&site.list_bytes())
            .unwrap()
            .starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
    );
}

#[test]
fn aushang_loads_what_the_age_cli_encrypts_armored_or_binary() {
    let site = Site::demo();
    let plain = "# aushang subscribers v1\n\
        id,channel,address,name,topics,language,status,consent_at,consent_source,consent_text,confirmed_at,unsubscribed_at\n\
        s_00000000000000aa,whatsapp,+491713920077,,verkehr,de,active,2026-11-01T10:00:00Z,paper,v1,,\n";
    let plain_file = site.root.join("plain.csv");
    std::fs::write(&plain_file, plain).unwrap();
    let recipients = store::recipients_path(&site.dir());
    for armor in [true, false] {
        let target = store::list_path(&site.dir());
        let mut args = vec![
            "-e",
            "-R",
            recipients.to_str().unwrap(),
            "-o",
            target.to_str().unwrap(),
        ];
        if armor {
            args.insert(1, "-a");
        }
        args.push(plain_file.to_str().unwrap());
        let out = age_cli(&args);
        assert!(
            out.status.success(),
            "age -e failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list = site.load();
        assert_eq!(list.subscribers().len(), 1, "armor={armor}");
        assert_eq!(list.subscribers()[0].id, "s_00000000000000aa");
        assert!(ok(&site.run(&["count"])).contains("insgesamt: 1"));
    }
    std::fs::remove_file(plain_file).unwrap();
}

// ---- keys and damaged files --------------------------------------------------------------------

#[test]
fn a_missing_key_is_explained_and_nothing_is_written() {
    let site = Site::demo();
    let before = site.list_bytes();
    let err = fails(&site.run_with(
        &[
            "add",
            "--address",
            "0171 3920060",
            "--consent-source",
            "web",
        ],
        &[],
    ));
    assert!(
        err.contains("kein Schlüssel zum Öffnen der Abonnentenliste"),
        "{err}"
    );
    assert!(err.contains("AUSHANG_IDENTITY_FILE"), "{err}");
    assert!(
        err.contains("demo-identity.txt"),
        "the example names its demo key: {err}"
    );
    assert_eq!(site.list_bytes(), before);
}

#[test]
fn a_real_town_missing_its_key_is_not_pointed_at_the_demo_key() {
    let site = Site::demo();
    std::fs::remove_file(site.demo_key()).unwrap();
    let err = fails(&site.run_with(&["count"], &[]));
    assert!(
        err.contains("kein Schlüssel zum Öffnen der Abonnentenliste"),
        "{err}"
    );
    assert!(err.contains("AUSHANG_IDENTITY_FILE"), "{err}");
    assert!(!err.contains("demo-identity"), "{err}");
}

#[test]
fn a_missing_key_file_is_named() {
    let site = Site::demo();
    let err = fails(&site.run_with(
        &["count"],
        &[("AUSHANG_IDENTITY_FILE", "/nonexistent/key.txt")],
    ));
    assert!(
        err.contains("die Schlüsseldatei /nonexistent/key.txt"),
        "{err}"
    );
}

#[test]
fn a_wrong_key_is_told_apart_from_a_broken_file() {
    let site = Site::demo();
    let before = site.list_bytes();
    let (stranger, secret) = Identity::generate();
    let err = fails(&site.run_with(&["remove", ERIKA], &[("AUSHANG_IDENTITY", secret.as_str())]));
    assert!(
        err.contains(
            "dieser Schlüssel kann die Liste nicht entschlüsseln: er gehört nicht zu den Empfängern"
        ),
        "{err}"
    );
    assert!(
        err.contains(&stranger.public_keys()[0]),
        "names the public key to add: {err}"
    );
    assert!(!err.contains(&secret), "never prints the secret key");
    assert_eq!(site.list_bytes(), before);

    let err = fails(&site.run_with(
        &["count"],
        &[("AUSHANG_IDENTITY", "AGE-SECRET-KEY-1NOTAKEY")],
    ));
    assert!(
        err.contains("AUSHANG_IDENTITY, Zeile 1: kein geheimer age-Schlüssel"),
        "{err}"
    );
    assert!(!err.contains("NOTAKEY"), "never echoes key material: {err}");
}

#[test]
fn corrupt_truncated_and_empty_lists_are_refused_without_writing() {
    let site = Site::demo();
    let good = site.list_bytes();
    let text = String::from_utf8(good.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // One base64 character changed deep in the payload.
    let mut flipped: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mid = flipped.len() / 2 + 2;
    let c = if flipped[mid].starts_with('A') {
        "B"
    } else {
        "A"
    };
    flipped[mid].replace_range(0..1, c);
    let truncated = format!("{}\n", lines[..lines.len() / 2 + 2].join("\n"));
    for (what, bytes) in [
        ("flipped", format!("{}\n", flipped.join("\n")).into_bytes()),
        ("truncated", truncated.into_bytes()),
        ("truncated-no-armor-end", good[..good.len() - 40].to_vec()),
        ("empty", Vec::new()),
        ("garbage", b"hello, this is not age\n".to_vec()),
    ] {
        std::fs::write(store::list_path(&site.dir()), &bytes).unwrap();
        let err = fails(&site.run(&[
            "add",
            "--address",
            "0171 3920061",
            "--consent-source",
            "web",
        ]));
        assert!(
            err.contains("ist beschädigt oder abgeschnitten"),
            "{what}: {err}"
        );
        assert_eq!(site.list_bytes(), bytes, "{what}: nothing written");
    }
}

#[test]
fn missing_or_empty_recipients_stop_a_write() {
    let site = Site::demo();
    let before = site.list_bytes();
    let recipients = store::recipients_path(&site.dir());
    std::fs::remove_file(&recipients).unwrap();
    let err = fails(&site.run(&["remove", ERIKA]));
    assert!(err.contains("recipients.txt fehlt"), "{err}");
    std::fs::write(&recipients, "# only a comment\n\n").unwrap();
    let err = fails(&site.run(&["remove", ERIKA]));
    assert!(err.contains("nennt keinen öffentlichen Schlüssel"), "{err}");
    std::fs::write(
        &recipients,
        format!("# DEMO\n{DEMO_RECIPIENT}\nssh-ed25519 AAAA\n"),
    )
    .unwrap();
    let err = fails(&site.run(&["remove", ERIKA]));
    assert!(
        err.contains("recipients.txt, Zeile 3: kein öffentlicher age-Schlüssel"),
        "{err}"
    );
    assert_eq!(site.list_bytes(), before);
}

#[test]
fn the_demo_key_is_recognised_among_the_recipients() {
    let site = Site::demo();
    let r = Recipients::load(&site.dir()).unwrap();
    assert!(r.includes_demo_key());
    assert_eq!(
        r.entries[0]
            .holder
            .as_deref()
            .map(|h| h.starts_with("DEMO")),
        Some(true)
    );
    // Still recognised after the demo identity file is deleted.
    std::fs::remove_file(site.demo_key()).unwrap();
    assert!(Recipients::load(&site.dir()).unwrap().includes_demo_key());
    let (real, _) = Identity::generate();
    let text = Recipients::file_text("CI", &real.public_keys()[0]);
    std::fs::write(store::recipients_path(&site.dir()), text).unwrap();
    assert!(!Recipients::load(&site.dir()).unwrap().includes_demo_key());
    // The demo file's own key counts too, whatever it is.
    let (other_demo, secret) = Identity::generate();
    std::fs::write(site.demo_key(), format!("# DEMO\n{secret}\n")).unwrap();
    let text = Recipients::file_text("DEMO", &other_demo.public_keys()[0]);
    std::fs::write(store::recipients_path(&site.dir()), text).unwrap();
    assert!(Recipients::load(&site.dir()).unwrap().includes_demo_key());
}

#[test]
fn identity_debug_never_shows_the_secret() {
    let (id, secret) = Identity::generate();
    let debug = format!("{id:?}");
    assert!(
        !debug.contains(&secret) && !debug.contains("AGE-SECRET-KEY"),
        "{debug}"
    );
    assert!(debug.contains(&id.public_keys()[0]));
}

// ---- adding and phone numbers ------------------------------------------------------------------

#[test]
fn every_german_notation_is_one_subscriber() {
    let site = Site::demo();
    let before = total(&site);
    let notations = [
        "0176 04069088",
        "0176-04069088",
        "+49 (0)176/04069088",
        "004917604069088",
        "+49 176 040 690 88",
    ];
    let first = ok(&site.run(&[
        "add",
        "--address",
        notations[0],
        "--consent-source",
        "web",
        "--topics",
        "abfall",
    ]));
    assert!(first.starts_with("hinzugefügt: s_"), "{first}");
    for n in &notations[1..] {
        let out = ok(&site.run(&[
            "add",
            "--address",
            n,
            "--consent-source",
            "web",
            "--topics",
            "rat",
        ]));
        assert!(
            out.contains("schon auf der Liste: zusammengeführt"),
            "{out}"
        );
    }
    let list = site.load();
    assert_eq!(list.subscribers().len(), before + 1);
    let s = list.find("+4917604069088", None)[0];
    assert_eq!(s.topics, vec!["abfall", "rat"]);
}

#[test]
fn invalid_numbers_are_rejected_with_the_reason() {
    let site = Site::demo();
    let before = site.list_bytes();
    for (input, reason) in [
        ("030 23125 000", "Festnetznummer"),
        ("0800 3920000", "kostenlose Servicenummer"),
        ("0176 040", "gültige"),
        ("0176 CALL ME", "Ziffern"),
        ("", "leer"),
    ] {
        let err = fails(&site.run(&["add", "--address", input, "--consent-source", "web"]));
        assert!(err.contains(reason), "{input}: {err}");
    }
    let err = fails(&site.run(&[
        "add",
        "--address",
        "0176 04069089",
        "--consent-source",
        "web",
        "--topics",
        "kultur",
    ]));
    assert!(err.contains("unbekanntes Thema `kultur`"), "{err}");
    assert_eq!(site.list_bytes(), before);
}

// ---- import ------------------------------------------------------------------------------------

#[test]
fn import_reports_every_bad_row_by_line_and_writes_nothing() {
    let site = Site::demo();
    let before = site.list_bytes();
    let file = site.root.join("anmeldungen.csv");
    std::fs::write(
        &file,
        "Name;Handy;Themen;Datum\n\
         Anna A;0176 04069010;verkehr;02.11.2026\n\
         Bernd B;030 23125010;abfall;03.11.2026\n\
         Clara C;0176 04069011;kultur;04.11.2026\n\
         Dora D;0176 04069012;rat;gestern\n\
         Emil E;0176 04069013;;05.11.2026\n",
    )
    .unwrap();
    let err = fails(&site.run(&["import", file.to_str().unwrap()]));
    for line in [3, 4, 5] {
        assert!(
            err.contains(&format!("anmeldungen.csv:{line}")),
            "line {line}: {err}"
        );
    }
    assert!(
        !err.contains("anmeldungen.csv:2") && !err.contains("anmeldungen.csv:6"),
        "{err}"
    );
    assert!(
        err.contains("3 ungültige Zeile(n)") && err.contains("nichts wurde importiert"),
        "{err}"
    );
    assert_eq!(site.list_bytes(), before);

    let out = ok(&site.run(&["import", "--skip-invalid", file.to_str().unwrap()]));
    assert!(
        out.contains("hinzugefügt 2, zusammengeführt 0, übersprungen 0 (abgemeldet, nicht wieder aktiviert), ungültig 3"),
        "{out}"
    );
    let list = site.load();
    let anna = list.find("+4917604069010", None)[0];
    assert_eq!(
        (anna.status, anna.consent_source.as_str()),
        (Status::Pending, "import")
    );
}

#[test]
fn import_merges_duplicates_across_notations_and_never_reactivates() {
    let site = Site::demo();
    let before = total(&site);
    let file = site.root.join("export.csv");
    std::fs::write(
        &file,
        "name,telefon,topics,status\n\
         Erika Beispiel,+49 (0)171 39200-00,rat,active\n\
         Neu Eins,0176 04069020,,active\n\
         Neu Eins,0049 176 04069020,verkehr,active\n\
         Otto Beispielmann,0171/3920005,,active\n",
    )
    .unwrap();
    let out = ok(&site.run(&["import", file.to_str().unwrap()]));
    assert!(
        out.contains("hinzugefügt 1, zusammengeführt 2, übersprungen 1 (abgemeldet, nicht wieder aktiviert), ungültig 0"),
        "{out}"
    );
    let list = site.load();
    assert_eq!(list.subscribers().len(), before + 1);
    let otto = list.find("+491713920005", None)[0];
    assert_eq!(otto.status, Status::Unsubscribed);
    assert!(
        otto.topics.is_empty() && otto.name.is_none(),
        "minimal proof only"
    );
    // Erika wanted everything: a topic list does not narrow that.
    assert!(list.find(ERIKA, None)[0].topics.is_empty());
}

// ---- unsubscribe, forget, export ---------------------------------------------------------------

#[test]
fn unsubscribe_keeps_minimal_proof_and_add_needs_resubscribe() {
    let site = Site::demo();
    let out = ok(&site.run(&[
        "unsubscribe",
        "0171 3920001",
        "--now",
        "2026-11-28T10:00:00Z",
    ]));
    assert!(out.contains("abgemeldet: s_"), "{out}");
    let list = site.load();
    let max = list.find("+491713920001", None)[0];
    assert_eq!(max.status, Status::Unsubscribed);
    assert_eq!(
        max.unsubscribed_at,
        Some("2026-11-28T10:00:00Z".parse().unwrap())
    );
    assert!(max.name.is_none() && max.topics.is_empty());
    assert_eq!(
        (max.consent_source.as_str(), max.consent_text.as_str()),
        ("web", "v1")
    );
    let err = fails(&site.run(&["add", "--address", OTTO, "--consent-source", "web"]));
    assert!(err.contains("--resubscribe"), "{err}");
    ok(&site.run(&[
        "add",
        "--address",
        OTTO,
        "--consent-source",
        "paper",
        "--resubscribe",
    ]));
    assert_eq!(
        site.load().find("+491713920005", None)[0].status,
        Status::Active
    );
    let err = fails(&site.run(&["remove", "0176 04069099"]));
    assert!(
        err.contains("kein Abonnement mit der Adresse +49176*****099"),
        "{err}"
    );
}

#[test]
fn forget_erases_the_person_from_the_list_and_the_ciphertext() {
    let site = Site::demo();
    let before = total(&site);
    let id = site.load().find(ERIKA, None)[0].id.clone();
    let out = ok(&site.run(&["forget", "0171 3920000"]));
    assert!(out.contains(&format!("gelöscht: {id}")), "{out}");
    assert!(out.contains("1 Abonnement(s) und"), "{out}");
    let list = site.load();
    assert_eq!(list.subscribers().len(), before - 1);
    assert!(list.find(ERIKA, None).is_empty() && list.get(&id).is_none());
    let plain = age_cli(&[
        "-d",
        "-i",
        site.demo_key().to_str().unwrap(),
        store::list_path(&site.dir()).to_str().unwrap(),
    ]);
    let plain = String::from_utf8(plain.stdout).unwrap();
    assert!(!plain.contains(ERIKA) && !plain.contains("Erika") && !plain.contains(&id));
    fails(&site.run(&["export", ERIKA]));
}

#[test]
fn export_prints_the_whole_record() {
    let site = Site::demo();
    let out = site.run(&["export", "0171 3920001"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // Art. 15 output is the one place the address is shown; checked without printing it.
    assert!(
        text.contains("address:         +491713920001"),
        "export lacks the address"
    );
    assert!(text.contains("name:            Max Mustermann"));
    assert!(text.contains("consent_source:  web"));
}

// ---- list, count, prune, rekey, init -----------------------------------------------------------

#[test]
fn list_masks_and_reveal_refuses_a_pipe() {
    let site = Site::demo();
    let out = ok(&site.run(&["list"]));
    assert!(out.contains("+49171****000"), "{out}");
    assert!(!out.contains("Erika"), "names only with --reveal");
    let err = fails(&site.run(&["list", "--reveal"]));
    assert!(err.contains("gibt nur auf einem Terminal aus"), "{err}");
    let out = ok(&site.run(&["list", "--status", "pending"]));
    assert!(out.contains("2 von 12 Abonnement(s)"), "{out}");
}

#[test]
fn count_groups_by_channel_status_and_topic() {
    let site = Site::demo();
    let out = ok(&site.run(&["count"]));
    for line in [
        "insgesamt: 12",
        "WhatsApp                 12",
        "aktiv                    8",
        "wartet auf Bestätigung   2",
        "abgemeldet               2",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
}

/// Town staff read `list`, `count` and the results of `add`: statuses and channels in German
/// (the stored values stay English in the encrypted CSV, in `--status` and in the Art. 15 record).
#[test]
fn list_count_and_add_show_status_and_channel_in_german() {
    let site = Site::demo();
    let stored = [
        "active",
        "pending",
        "unsubscribed",
        "unreachable",
        "whatsapp",
    ];
    let list = ok(&site.run(&["list"]));
    let count = ok(&site.run(&["count"]));
    for out in [&list, &count] {
        for word in stored {
            assert!(
                !out.split_whitespace().any(|w| w == word),
                "stored value `{word}` shown to people: {out}"
            );
        }
    }
    let header = list.lines().next().unwrap();
    assert!(
        header.starts_with("Kennung") && header.contains("Kanal") && header.contains("Themen"),
        "{header}"
    );
    assert!(
        list.contains("WhatsApp") && list.contains("aktiv") && list.contains("abgemeldet"),
        "{list}"
    );
    assert!(list.contains("wartet auf Bestätigung"), "{list}");
    // The filter takes the stored value and shows the label.
    let pending = ok(&site.run(&["list", "--status", "pending"]));
    assert_eq!(
        pending.matches("wartet auf Bestätigung").count(),
        2,
        "{pending}"
    );
    let added = ok(&site.run(&[
        "add",
        "--address",
        "0171 3920099",
        "--consent-source",
        "paper",
        "--status",
        "pending",
    ]));
    assert!(
        added.contains("(WhatsApp +49171****099) – wartet auf Bestätigung"),
        "{added}"
    );
    // The list on disk keeps its values.
    let s = site
        .load()
        .find("+491713920099", None)
        .first()
        .map(|s| (s.status.as_str(), s.channel.as_str()));
    assert_eq!(s, Some(("pending", "whatsapp")));
    // The Art. 15 record shows what is stored, with the German word beside it.
    // (the export is the one output with the address in clear: read without the leak check)
    let out = site.run(&["export", "0171 3920099"]);
    assert!(out.status.success());
    let record = String::from_utf8(out.stdout).unwrap();
    assert!(
        record.contains("status:          pending (wartet auf Bestätigung)")
            && record.contains("channel:         whatsapp (WhatsApp)"),
        "export lacks the labelled status or channel"
    );
}

#[test]
fn prune_deletes_only_old_pending_signups() {
    let site = Site::demo();
    let out = ok(&site.run(&["prune", "--dry-run", "--now", "2026-11-28T12:00:00Z"]));
    assert!(
        out.contains("1 unbestätigte Anmeldung(en), älter als 30 Tage, würden gelöscht"),
        "{out}"
    );
    assert_eq!(total(&site), 12);
    let out = ok(&site.run(&["prune", "--now", "2026-11-28T12:00:00Z"]));
    assert!(out.contains("gelöscht: s_"), "{out}");
    let list = site.load();
    assert_eq!(list.subscribers().len(), 11);
    assert!(
        list.find("+4917604069004", None).is_empty(),
        "the September sign-up is gone"
    );
    assert_eq!(
        list.find("+4917604069003", None)[0].status,
        Status::Pending,
        "the recent one stays"
    );
}

#[test]
fn rekey_to_a_new_recipient_set_locks_out_the_old_key() {
    let site = Site::demo();
    let (new_id, new_secret) = Identity::generate();
    let text = Recipients::file_text("Hauptamt (test)", &new_id.public_keys()[0]);
    std::fs::write(store::recipients_path(&site.dir()), text).unwrap();
    let out = ok(&site.run(&["rekey"]));
    assert!(
        out.contains("12 Abonnement(s) neu verschlüsselt für 1 Schlüssel"),
        "{out}"
    );
    assert!(out.contains("Hauptamt (test)"), "{out}");
    let old = Identity::from_file(&site.demo_key()).unwrap();
    let err = SubscriberList::load(&site.dir(), &old)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("dieser Schlüssel kann die Liste nicht entschlüsseln"),
        "{err}"
    );
    let cli = age_cli(&[
        "-d",
        "-i",
        site.demo_key().to_str().unwrap(),
        store::list_path(&site.dir()).to_str().unwrap(),
    ]);
    assert!(
        !cli.status.success(),
        "the age CLI with the old key must fail too"
    );
    let list = SubscriberList::load(&site.dir(), &new_id).unwrap();
    assert_eq!(list.subscribers().len(), 12);
    let out = ok(&site.run_with(&["count"], &[("AUSHANG_IDENTITY", new_secret.as_str())]));
    assert!(out.contains("insgesamt: 12"), "{out}");
}

#[test]
fn init_creates_keys_once_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(REPO).join("aushang.yaml"),
        dir.path().join("aushang.yaml"),
    )
    .unwrap();
    let site = Site {
        root: dir.path().to_path_buf(),
        _dir: dir,
    };
    let out = ok(&site.run_with(&["init", "--holder", "CI Musterbach"], &[]));
    let secret = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("secret printed once");
    assert!(out.contains("AUSHANG_IDENTITY"), "{out}");
    let recipients = Recipients::load(&site.dir()).unwrap();
    assert_eq!(
        recipients.entries[0].holder.as_deref(),
        Some("CI Musterbach")
    );
    assert!(!recipients.includes_demo_key());
    let out = ok(&site.run_with(&["count"], &[("AUSHANG_IDENTITY", secret)]));
    assert!(out.contains("insgesamt: 0"), "{out}");
    let before = site.list_bytes();
    let err = fails(&site.run_with(&["init"], &[]));
    assert!(err.contains("gibt es schon"), "{err}");
    assert_eq!(site.list_bytes(), before);
    assert!(
        !std::fs::read_to_string(store::recipients_path(&site.dir()))
            .unwrap()
            .contains("SECRET")
    );
}

// ---- atomic writes -----------------------------------------------------------------------------

#[test]
fn a_crash_between_temp_file_and_rename_leaves_the_old_list_intact() {
    let site = Site::demo();
    let before = site.list_bytes();
    let identity = Identity::from_file(&site.demo_key()).unwrap();
    let recipients = Recipients::load(&site.dir()).unwrap();
    let mut list = SubscriberList::load(&site.dir(), &identity).unwrap();
    list.forget(ERIKA, None);
    let pending = list.prepare_save(&site.dir(), &recipients).unwrap();
    let temp = pending.temp_path().to_path_buf();
    // The process dies here: no rename, and no destructor cleans the temp file up.
    std::mem::forget(pending);
    assert_eq!(site.list_bytes(), before, "the list file is untouched");
    let reloaded = SubscriberList::load(&site.dir(), &identity).unwrap();
    assert_eq!(reloaded.subscribers().len(), 12);
    assert_eq!(reloaded.find(ERIKA, None).len(), 1);
    // What the crash left behind is ciphertext, never plaintext.
    let leftover = std::fs::read_to_string(&temp).unwrap();
    assert!(leftover.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    assert!(!leftover.contains("3920000"));
    // The next save works despite the leftover, and the committed path replaces the file whole.
    list.save(&site.dir(), &recipients).unwrap();
    assert_eq!(
        SubscriberList::load(&site.dir(), &identity)
            .unwrap()
            .subscribers()
            .len(),
        11
    );
    std::fs::remove_file(temp).unwrap();
}

#[test]
fn the_demo_list_is_what_the_docs_promise() {
    let site = Site::demo();
    let list = site.load();
    assert_eq!(list.subscribers().len(), 12);
    for s in list.subscribers() {
        let drama = s.address.starts_with("+4917139200") || s.address.starts_with("+491760406900");
        assert!(
            drama,
            "{} is not a Bundesnetzagentur drama number",
            s.masked_address()
        );
    }
    let statuses: Vec<Status> = list.subscribers().iter().map(|s| s.status).collect();
    for st in [Status::Active, Status::Pending, Status::Unsubscribed] {
        assert!(statuses.contains(&st));
    }
}
