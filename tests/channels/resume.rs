//! Crash and one-click unsubscribe: a run killed mid-sending resumes without duplicates, and an
//! RFC 8058 POST to a mail's `List-Unsubscribe` URI unsubscribes at the next pull.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aushang::delivery::journal::DeliveryState;
use aushang::subscribers::{Channel, Status, Subscriber};

use crate::support::*;

/// RFC 8058 end to end: the `List-Unsubscribe` URI of a received mail, POSTed with
/// `List-Unsubscribe=One-Click` (no cookie, no login) to the real inbox server, answers 200
/// without a redirect; after `aushang inbox pull` the next notice's mail does not go to them.
#[test]
fn a_one_click_post_to_the_list_unsubscribe_uri_unsubscribes_at_the_next_pull() {
    use std::io::{BufRead, BufReader};
    let smtp = Smtp::start();
    let site = Site::new(&smtp, "");
    let (code, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_eq!(code, 0, "{out}");
    let mails = smtp.mails();
    let bert = by_rcpt(&mails, "bert@example.org")[0]["headers"]["List-Unsubscribe"]
        .as_str()
        .unwrap()
        .trim_matches(['<', '>'])
        .to_string();

    let data = tempfile::tempdir().unwrap();
    let pull_token = "pull-token-0123456789abcdef0123456789abcdef";
    let mut server = Command::new(env!("CARGO_BIN_EXE_aushang"))
        .arg("--root")
        .arg(&site.root)
        .args(["inbox", "serve", "--port", "0", "--data"])
        .arg(data.path())
        .env(
            "WHATSAPP_APP_SECRET",
            "app-secret-0123456789abcdef0123456789abcdef",
        )
        .env(
            "WHATSAPP_VERIFY_TOKEN",
            "verify-token-0123456789abcdef0123456789abcdef",
        )
        .env("AUSHANG_INBOX_PULL_TOKEN", pull_token)
        .env("AUSHANG_INBOX_TOKEN_SECRET", TOKEN_SECRET)
        .env_remove("AUSHANG_IDENTITY")
        .env_remove("AUSHANG_IDENTITY_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.child_stdout())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("Posteingang läuft unter ")
        .unwrap()
        .to_string();
    // The URI as the mail names it, on the test server's address.
    let uri = bert.replacen(INBOX.trim_end_matches('/'), &base, 1);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answer = rt.block_on(async {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(&uri)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(answer, 200, "RFC 8058: 200, no redirect");

    let pull = Command::new(env!("CARGO_BIN_EXE_aushang"))
        .arg("--root")
        .arg(&site.root)
        .args(["inbox", "pull", "--url", &base])
        .env("AUSHANG_IDENTITY", &site.secret)
        .env("AUSHANG_INBOX_PULL_TOKEN", pull_token)
        .env_remove("AUSHANG_IDENTITY_FILE")
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        pull.status.success(),
        "{}",
        String::from_utf8_lossy(&pull.stderr)
    );

    std::fs::write(
        site.root.join("content/notices/2026-11-28-markt.md"),
        "---\ntitle: Wochenmarkt verlegt\ndate: 2026-11-28 09:00\nsummary: Der Markt ist am Samstag am Rathaus.\n---\n\nText.\n",
    )
    .unwrap();
    let (code, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_eq!(code, 0, "{out}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 5, "two more mails, not three: {out}");
    assert_eq!(
        by_rcpt(&mails, "bert@example.org").len(),
        1,
        "bert left with one click"
    );
}

/// Killed mid-run (SIGKILL while mails are in flight) and run again: nobody gets a mail twice,
/// the few whose mail was in flight are uncertain (at most `concurrency`), everyone else has it.
#[test]
fn a_run_killed_mid_sending_resumes_without_duplicates() {
    let smtp = Smtp::start();
    smtp.control(r#"{"delay_data": 0.3}"#);
    let people: Vec<Subscriber> = (1..=12)
        .map(|i| {
            person(
                &format!("s_{i:016x}"),
                Channel::Email,
                &format!("p{i}@example.org"),
                Status::Active,
            )
        })
        .collect();
    let site = Site::with_people(&smtp, "", people);
    let mut child = site
        .command()
        .args(["--channel", "email"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while smtp.stored() < 3 {
        assert!(Instant::now() < deadline, "the run did not get going");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    smtp.control("{}");
    let killed_at = smtp.stored();
    assert!(killed_at < 12, "killed too late to test anything");
    let (_, out) = site.broadcast(&["--channel", "email"], &[]);
    let mails = smtp.mails();
    let journal = site.journal();
    let mut uncertain = 0;
    for i in 1..=12 {
        let got = by_rcpt(&mails, &format!("p{i}@example.org")).len();
        assert!(got <= 1, "p{i} got {got} mails: {out}");
        match journal[&format!("s_{i:016x}")].state {
            DeliveryState::Sent => assert_eq!(got, 1, "p{i}"),
            DeliveryState::Sending | DeliveryState::Uncertain => uncertain += 1,
            other => panic!("p{i}: {other:?}"),
        }
    }
    assert!(
        (1..=2).contains(&uncertain),
        "in flight at the kill: {uncertain}; {out}"
    );
}
