//! The whole loop with the real binary: sign-up → pull (pending, confirmation template via the
//! fake Graph API) → START → server killed and restarted → pull (active) → broadcast reaches the
//! new subscriber → STOP → pull (unsubscribed) → the next broadcast sends them nothing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aushang::devtools::fake_graph::{FakeConfig, FakeGraph};
use aushang::subscribers::{Status, Subscriber};

use crate::support::*;

pub const NOW: &str = "2026-11-28 12:00";
pub const OTHER: &str = "+4915200000102";

pub fn other_subscriber() -> Subscriber {
    confirmed_subscriber("s_other0000000001".into(), OTHER.into())
}

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spawn_server(site: &Site, log: &Path) -> Server {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aushang"))
        .arg("--root")
        .arg(&site.root)
        .args(["inbox", "serve", "--port", "0", "--data"])
        .arg(site.data_dir())
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .env("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
        .env("AUSHANG_INBOX_PULL_TOKEN", PULL_TOKEN)
        .env("AUSHANG_INBOX_TOKEN_SECRET", TOKEN_SECRET)
        .env("WHATSAPP_TOKEN", "fake-token")
        .env_remove("AUSHANG_IDENTITY")
        .env_remove("AUSHANG_IDENTITY_FILE")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("Posteingang läuft unter ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    Server { child, url }
}

/// `aushang broadcast` of the WhatsApp channel at [`NOW`], without the link check.
pub fn broadcast_args() -> Vec<&'static str> {
    vec![
        "broadcast",
        "--channel",
        "whatsapp",
        "--now",
        NOW,
        "--no-link-check",
    ]
}

pub fn aushang(site: &Site, args: &[&str]) -> Output {
    let out = aushang_any(site, args);
    assert!(out.status.success(), "{args:?} failed:\n{}", text(&out));
    out
}

/// Runs the binary; asserts only that no number is printed.
pub fn aushang_any(site: &Site, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_aushang"))
        .arg("--root")
        .arg(&site.root)
        .args(args)
        .env("AUSHANG_IDENTITY", &site.secret)
        .env("AUSHANG_INBOX_PULL_TOKEN", PULL_TOKEN)
        .env("WHATSAPP_TOKEN", "fake-token")
        .env_remove("AUSHANG_IDENTITY_FILE")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let all = text(&out);
    assert!(
        !all.contains(NUMBER_DIGITS) && !all.contains("23456789"),
        "{args:?} printed the number:\n{all}"
    );
    out
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn status_of(site: &Site, address: &str) -> Option<Status> {
    site.row(address).map(|s| s.status)
}

pub fn sent_to(
    fake: &FakeGraph,
    address: &str,
    kind: &str,
) -> Vec<aushang::devtools::fake_graph::AcceptedMessage> {
    fake.messages()
        .into_iter()
        .filter(|m| m.to == address && m.kind == kind)
        .collect()
}

/// The reply is sent in the background after the 200; wait for it, boundedly.
pub fn wait_for_texts(fake: &FakeGraph, address: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let texts: Vec<String> = sent_to(fake, address, "text")
            .into_iter()
            .filter_map(|m| m.text)
            .collect();
        if texts.len() >= count || Instant::now() > deadline {
            return texts;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sign_up_confirm_broadcast_stop_and_nothing_more() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut fake_config = FakeConfig::with_confirmation_template();
    fake_config.service_window = vec!["*".into()];
    let fake = runtime.block_on(FakeGraph::start(fake_config)).unwrap();
    let site = Site::with_subscribers(Some(&fake.api_url()), vec![other_subscriber()]);
    let log = site.tmp.path().join("server.log");
    let mut server = spawn_server(&site, &log);

    // 1. Web sign-up.
    let form = vec![
        ("name", "Erika Beispiel".to_string()),
        ("nummer", NUMBER_LOCAL.into()),
        ("einwilligung", "ja".into()),
        ("fassung", "v1".into()),
        ("stempel", runtime.block_on(ripe_stamp(&server.url))),
    ];
    let (code, page) = runtime.block_on(post_form(&server.url, "192.0.2.1", &form));
    assert_eq!(code, 200, "{page}");

    // 2. Pull: pending, and the confirmation template goes out.
    let pulled = aushang(&site, &["inbox", "pull", "--url", &server.url]);
    assert!(
        text(&pulled).contains("Anmeldung: wartet auf Bestätigung (JA)"),
        "{}",
        text(&pulled)
    );
    assert_eq!(status_of(&site, NUMBER_E164), Some(Status::Pending));
    let confirmations = sent_to(&fake, NUMBER_E164, "template");
    assert_eq!(confirmations.len(), 1);
    assert_eq!(
        confirmations[0].template.as_deref(),
        Some("anmeldung_bestaetigen")
    );
    assert!(
        event_files(&site.data_dir()).is_empty(),
        "acknowledged events are deleted"
    );

    // 3. The citizen answers JA; the server confirms in the service window.
    let ja = inbound_json("wamid.ja1", "JA", now_unix());
    assert_eq!(runtime.block_on(signed_post(&server.url, &ja)), 200);
    let texts = wait_for_texts(&fake, NUMBER_E164, 1);
    assert_eq!(texts.len(), 1, "START is answered once");
    assert!(texts[0].contains("STOP"), "{texts:?}");

    // 4. Killed right after the 200: the event is on disk and the restarted server serves it.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert_eq!(event_files(&site.data_dir()).len(), 1);
    let backup: Vec<(std::path::PathBuf, Vec<u8>)> = event_files(&site.data_dir())
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    drop(server);
    let server = spawn_server(&site, &log);
    let pulled = aushang(&site, &["inbox", "pull", "--url", &server.url]);
    assert!(
        text(&pulled).contains("START: bestätigt"),
        "{}",
        text(&pulled)
    );
    assert_eq!(status_of(&site, NUMBER_E164), Some(Status::Active));
    let after_first = site.list();

    // 5. A crash between applying and acknowledging: the same event comes again, changes nothing.
    drop(server);
    for (path, bytes) in &backup {
        std::fs::write(path, bytes).unwrap();
    }
    let server = spawn_server(&site, &log);
    let pulled = aushang(&site, &["inbox", "pull", "--url", &server.url]);
    assert!(
        text(&pulled).contains("1 Ereignis(se) waren schon übernommen"),
        "{}",
        text(&pulled)
    );
    assert_eq!(
        site.list(),
        after_first,
        "applying the same event twice changed the list"
    );

    // 6. The broadcast reaches the new subscriber.
    aushang(&site, &broadcast_args());
    let notices_to_new = sent_to(&fake, NUMBER_E164, "template")
        .into_iter()
        .filter(|m| m.template.as_deref() == Some("neue_bekanntmachung"))
        .count();
    assert!(notices_to_new >= 1, "the confirmed subscriber got nothing");

    // 7. STOP, answered, pulled: unsubscribed.
    let stop = inbound_json("wamid.stop1", "Stopp", now_unix() + 1);
    assert_eq!(runtime.block_on(signed_post(&server.url, &stop)), 200);
    let texts = wait_for_texts(&fake, NUMBER_E164, 2);
    assert!(
        texts.len() == 2 && texts[1].contains("abgemeldet"),
        "{texts:?}"
    );
    // Applied and committed first, acknowledged after (the workflow's order).
    let pulled = aushang(&site, &["inbox", "pull", "--url", &server.url, "--no-ack"]);
    assert!(
        text(&pulled).contains("STOP: abgemeldet"),
        "{}",
        text(&pulled)
    );
    assert_eq!(
        event_files(&site.data_dir()).len(),
        1,
        "--no-ack leaves the event in the inbox"
    );
    let acked = aushang(&site, &["inbox", "ack", "--url", &server.url]);
    assert!(
        text(&acked).contains("1 Ereignis(se) quittiert"),
        "{}",
        text(&acked)
    );
    assert!(event_files(&site.data_dir()).is_empty());
    assert!(!site.root.join(".aushang-inbox-ack").exists());
    assert_eq!(status_of(&site, NUMBER_E164), Some(Status::Unsubscribed));

    // 8. A new notice: the other subscriber gets it, the unsubscribed one nothing.
    let notice = site
        .root
        .join("content/notices/2026/2026-11-28-nach-der-abmeldung.md");
    std::fs::write(
        &notice,
        "---\ntitle: Sitzung des Bauausschusses\ndate: 2026-11-28 11:00\nsummary: Der Bauausschuss tagt am 3. Dezember um 18 Uhr im Rathaus.\ncategory: rat\n---\n\nDie Sitzung ist öffentlich.\n",
    )
    .unwrap();
    let before_new = sent_to(&fake, NUMBER_E164, "template").len();
    let other_before = sent_to(&fake, OTHER, "template").len();
    aushang(&site, &broadcast_args());
    assert_eq!(
        sent_to(&fake, OTHER, "template").len(),
        other_before + 1,
        "the new notice was not sent at all"
    );
    assert_eq!(
        sent_to(&fake, NUMBER_E164, "template").len(),
        before_new,
        "an unsubscribed person got a notice"
    );

    // Nothing personal in clear anywhere outside the encrypted list.
    drop(server);
    let server_log = std::fs::read_to_string(&log).unwrap();
    assert!(
        !server_log.contains(NUMBER_DIGITS) && !server_log.contains("23456789"),
        "{server_log}"
    );
    for file in walk(&site.data_dir())
        .into_iter()
        .chain(walk(&site.root.join("subscribers/inbox")))
    {
        let content = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !content.contains("23456789") && !content.contains("Erika"),
            "{} holds personal data",
            file.display()
        );
    }
}
