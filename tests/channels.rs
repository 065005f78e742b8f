//! The channels beyond WhatsApp, end to end with the real binary: e-mail against a real SMTP
//! server (aiosmtpd, `tests/smtp/server.py`, started per test on 127.0.0.1; `scripts/test`
//! installs it into `target/smtp-venv`). Every mail the server took is read back with Python's
//! `email` package (`tests/smtp/read.py`) and checked: headers, both parts, encodings, links,
//! Message-ID stability, and exactly once across reruns and SMTP failures.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aushang::broadcast::journal::{DeliveryState, FailureClass, Journal};
use aushang::subscribers::{Channel, Identity, Recipients, Status, Subscriber, SubscriberList};
use serde_json::Value;

const INBOX: &str = "https://inbox.teststadt.example/";
const TOKEN_SECRET: &str = "test-secret-0123456789abcdef-0123456789abcdef";
const NOW: &str = "2026-11-28 10:00";

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SMTP_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/smtp-venv/bin/python");
    assert!(
        venv.exists(),
        "\n\n*** the e-mail tests need aiosmtpd: run scripts/test, or\n    python3 -m venv \
         target/smtp-venv && target/smtp-venv/bin/pip install aiosmtpd\n\n"
    );
    venv
}

/// A real SMTP server on 127.0.0.1 storing mails in its own folder.
struct Smtp {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Smtp {
    fn start() -> Smtp {
        Smtp::start_with(&[])
    }

    fn start_with(env: &[(&str, &Path)]) -> Smtp {
        let maildir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py");
        let child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .arg(maildir.path())
            .envs(env.iter().map(|(k, v)| (k, v.as_os_str())))
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Smtp {
            child,
            port,
            maildir,
        }
    }

    fn control(&self, json: &str) {
        std::fs::write(self.maildir.path().join("control.json"), json).unwrap();
    }

    /// How many mails the server has stored so far.
    fn stored(&self) -> usize {
        std::fs::read_dir(self.maildir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "eml")
            })
            .count()
    }

    /// Every mail received so far, parsed by Python's `email` package.
    fn mails(&self) -> Vec<Value> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/read.py");
        let out = Command::new(python())
            .arg(script)
            .arg(self.maildir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        match serde_json::from_slice(&out.stdout).unwrap() {
            Value::Array(a) => a,
            other => panic!("{other}"),
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Site {
    _dir: tempfile::TempDir,
    root: PathBuf,
    secret: String,
}

fn person(id: &str, channel: Channel, address: &str, status: Status) -> Subscriber {
    Subscriber {
        id: id.into(),
        channel,
        address: address.into(),
        name: Some(format!("Person {id}")),
        topics: vec![],
        language: "de".into(),
        status,
        consent_at: Some("2026-01-01T10:00:00Z".parse().unwrap()),
        consent_source: "web".into(),
        consent_text: "v1".into(),
        confirmed_at: Some("2026-01-01T10:05:00Z".parse().unwrap()),
        unsubscribed_at: (status == Status::Unsubscribed)
            .then(|| "2026-02-01T10:00:00Z".parse().unwrap()),
        bsuid: None,
    }
}

/// Three e-mail subscribers, one on WhatsApp and one who left: only the three get mail.
fn people() -> Vec<Subscriber> {
    vec![
        person(
            "s_0000000000000001",
            Channel::Email,
            "anna@example.org",
            Status::Active,
        ),
        person(
            "s_0000000000000002",
            Channel::Email,
            "bert@example.org",
            Status::Active,
        ),
        person(
            "s_0000000000000003",
            Channel::Email,
            "cora@example.org",
            Status::Active,
        ),
        person(
            "s_0000000000000004",
            Channel::WhatsApp,
            "+4915200000004",
            Status::Active,
        ),
        person(
            "s_0000000000000005",
            Channel::Email,
            "dora@example.org",
            Status::Unsubscribed,
        ),
    ]
}

impl Site {
    fn new(smtp: &Smtp, email_extra: &str) -> Site {
        Site::with_people(smtp, email_extra, people())
    }

    fn with_people(smtp: &Smtp, email_extra: &str, people: Vec<Subscriber>) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("site");
        std::fs::create_dir_all(root.join("content/notices")).unwrap();
        let subscribers = root.join("subscribers");
        std::fs::create_dir_all(&subscribers).unwrap();
        let (identity, secret) = Identity::generate();
        let text = Recipients::file_text("Test", &identity.public_keys()[0]);
        let path = subscribers.join("recipients.txt");
        std::fs::write(&path, &text).unwrap();
        let recipients = Recipients::parse(&text, &path).unwrap();
        SubscriberList::new(people)
            .save(&subscribers, &recipients)
            .unwrap();
        std::fs::write(
            root.join("aushang.yaml"),
            format!(
                "title: Teststadt\nbase_url: https://www.teststadt.example/\ntimezone: Europe/Berlin\n\
                 inbox:\n  url: {INBOX}\n\
                 broadcast:\n  quiet_hours: \"off\"\n  channels:\n    email:\n      host: 127.0.0.1\n      \
                 port: {}\n      security: none\n      from: \"Stadt Teststadt <bekanntmachungen@teststadt.example>\"\n      \
                 reply_to: rathaus@teststadt.example\n      messages_per_second: 50\n      concurrency: 2\n{email_extra}",
                smtp.port
            ),
        )
        .unwrap();
        std::fs::write(
            root.join("content/notices/2026-11-28-sperrung.md"),
            "---\ntitle: Sperrung der Hauptstraße – Umleitung über Bürgerweg\ndate: 2026-11-28 08:30\n\
             summary: Die Hauptstraße ist ab Montag zwischen Markt und Kirche gesperrt.\n---\n\nText.\n",
        )
        .unwrap();
        Site {
            _dir: dir,
            root,
            secret,
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_aushang"));
        cmd.arg("--root")
            .arg(&self.root)
            .args(["broadcast", "--no-link-check", "--now", NOW])
            .env("AUSHANG_IDENTITY", &self.secret)
            .env("AUSHANG_INBOX_TOKEN_SECRET", TOKEN_SECRET)
            .env_remove("AUSHANG_IDENTITY_FILE")
            .env_remove("SMTP_PASSWORD")
            .env_remove("GITHUB_ACTIONS")
            .env("AUSHANG_LOG", "aushang=debug")
            .env("NO_COLOR", "1");
        cmd
    }

    fn broadcast(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
        let mut cmd = self.command();
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for p in people() {
            assert!(!text.contains(&p.address), "the output names {}", p.id);
        }
        (out.status.code().unwrap_or(-1), text)
    }

    fn key(&self) -> String {
        let index =
            std::fs::read_to_string(self.root.join("subscribers/journal/index.jsonl")).unwrap();
        let line: Value = serde_json::from_str(index.lines().next().unwrap()).unwrap();
        line["msg"].as_str().unwrap().to_string()
    }

    /// The journal's last line per subscriber for the notice on e-mail.
    fn journal(
        &self,
    ) -> std::collections::HashMap<String, aushang::broadcast::journal::DeliveryLine> {
        let j = Journal::open(&self.root.join("subscribers/journal")).unwrap();
        j.deliveries(&self.key(), "email").unwrap().last
    }
}

fn by_rcpt<'a>(mails: &'a [Value], address: &str) -> Vec<&'a Value> {
    mails.iter().filter(|m| m["rcpt"][0] == address).collect()
}

#[test]
fn each_email_subscriber_gets_one_multipart_mail_with_rfc8058_headers() {
    let smtp = Smtp::start();
    let site = Site::new(&smtp, "");
    let (code, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_eq!(code, 0, "{out}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 3, "{out}");
    for (id, address) in [
        ("s_0000000000000001", "anna@example.org"),
        ("s_0000000000000002", "bert@example.org"),
        ("s_0000000000000003", "cora@example.org"),
    ] {
        let got = by_rcpt(&mails, address);
        assert_eq!(got.len(), 1, "{address}");
        let m = got[0];
        let h = &m["headers"];
        assert!(
            m["ascii"].as_bool().unwrap(),
            "the mail must be 7-bit clean"
        );
        assert_eq!(
            m["subject"],
            "Sperrung der Hauptstraße – Umleitung über Bürgerweg"
        );
        let raw_subject = m["raw_subject"].as_str().unwrap();
        // RFC 2047 encoded words for the non-ASCII words, and nothing else outside ASCII
        assert!(
            raw_subject.to_lowercase().contains("=?utf-8?b?"),
            "{raw_subject}"
        );
        assert!(raw_subject.is_ascii(), "{raw_subject}");
        assert_eq!(h["To"], address);
        assert_eq!(
            h["From"],
            "Stadt Teststadt <bekanntmachungen@teststadt.example>"
        );
        assert_eq!(h["Reply-To"], "rathaus@teststadt.example");
        assert_eq!(m["content_type"], "multipart/alternative");
        let token = format!("{id}.");
        let unsubscribe = h["List-Unsubscribe"].as_str().unwrap();
        assert!(
            unsubscribe.starts_with(&format!("<{INBOX}abmelden?t={token}"))
                && unsubscribe.ends_with('>'),
            "{unsubscribe}"
        );
        let url = &unsubscribe[1..unsubscribe.len() - 1];
        let t = url.split("t=").nth(1).unwrap();
        assert_eq!(
            aushang::inbox::optout::verify(TOKEN_SECRET.as_bytes(), t).as_deref(),
            Some(id),
            "the link must unsubscribe exactly this subscriber"
        );
        assert_eq!(h["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
        let from: lettre::message::Mailbox = "bekanntmachungen@teststadt.example".parse().unwrap();
        assert_eq!(
            h["Message-ID"],
            aushang::providers::email::mail::message_id(&site.key(), id, &from)
        );
        let parts = m["parts"].as_array().unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0]["type"], "text/plain");
        assert_eq!(parts[1]["type"], "text/html");
        for p in parts {
            assert_eq!(p["charset"], "utf-8");
            let enc = p["encoding"].as_str().unwrap();
            assert!(enc == "quoted-printable" || enc == "base64", "{enc}");
            let text = p["text"].as_str().unwrap();
            assert!(text.contains("Die Hauptstraße ist ab Montag"), "{text}");
            assert!(text.contains("https://www.teststadt.example/"), "{text}");
        }
        let plain = parts[0]["text"].as_str().unwrap();
        assert!(
            plain.contains(&format!("Abmelden (ein Klick genügt): {url}")),
            "{plain}"
        );
        let html = parts[1]["text"].as_str().unwrap();
        assert!(html.contains(&format!("href=\"{url}\"")), "{html}");
        assert!(
            html.contains("<html lang=\"de\">") && !html.contains("<img"),
            "{html}"
        );
    }
    // exactly once: a rerun sends nothing, and the journal holds each as sent
    let (code, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(smtp.mails().len(), 3, "{out}");
    let journal = site.journal();
    assert_eq!(journal.len(), 3);
    assert!(journal.values().all(|l| l.state == DeliveryState::Sent));
}

#[test]
fn a_451_is_retried_and_a_550_is_permanent_for_that_address_only() {
    let smtp = Smtp::start();
    smtp.control(r#"{"data_451_times": 1, "reject_rcpt": ["bert@example.org"]}"#);
    let site = Site::new(&smtp, "");
    let (_, out) = site.broadcast(&["--channel", "email"], &[]);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "{out}");
    assert!(by_rcpt(&mails, "bert@example.org").is_empty());
    let journal = site.journal();
    let bert = &journal["s_0000000000000002"];
    assert_eq!(
        (bert.state, bert.code, bert.class),
        (
            DeliveryState::Failed,
            Some(550),
            Some(FailureClass::Permanent)
        )
    );
    for id in ["s_0000000000000001", "s_0000000000000003"] {
        assert_eq!(journal[id].state, DeliveryState::Sent, "{out}");
    }
    // the 451 was answered once and retried in the same run: one of the two has attempt 2
    let attempts: Vec<_> = ["s_0000000000000001", "s_0000000000000003"]
        .iter()
        .map(|id| journal[*id].attempt.unwrap())
        .collect();
    assert_eq!(attempts.iter().sum::<u32>(), 3, "{attempts:?}");
    smtp.control("{}");
    site.broadcast(&["--channel", "email"], &[]);
    assert_eq!(
        smtp.mails().len(),
        2,
        "a permanent failure is never retried"
    );
}

#[test]
fn a_535_stops_the_run_and_the_right_password_then_reaches_everyone() {
    let smtp = Smtp::start();
    smtp.control(r#"{"password": "richtig"}"#);
    let site = Site::new(&smtp, "      username: bekanntmachungen\n");
    let (code, out) = site.broadcast(&["--channel", "email"], &[("SMTP_PASSWORD", "falsch")]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("535"), "{out}");
    assert!(
        !out.contains("falsch"),
        "the password must never be printed"
    );
    assert!(smtp.mails().is_empty());
    let journal = site.journal();
    assert!(
        journal
            .values()
            .all(|l| l.class == Some(FailureClass::Fatal)),
        "{journal:?}"
    );
    let (code, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_ne!(code, 0);
    assert!(out.contains("SMTP_PASSWORD"), "{out}");
    let (code, out) = site.broadcast(&["--channel", "email"], &[("SMTP_PASSWORD", "richtig")]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(smtp.mails().len(), 3);
}

#[test]
fn a_connection_lost_after_data_is_uncertain_and_never_resent_by_default() {
    let smtp = Smtp::start();
    smtp.control(r#"{"drop_after_data": 1}"#);
    let site = Site::new(&smtp, "");
    let (_, out) = site.broadcast(&["--channel", "email"], &[]);
    // the server took all three, but for one the answer never came
    assert_eq!(smtp.mails().len(), 3, "{out}");
    let journal = site.journal();
    let uncertain: Vec<_> = journal
        .iter()
        .filter(|(_, l)| l.state == DeliveryState::Uncertain)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(uncertain.len(), 1, "{journal:?}");
    let (_, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_eq!(
        smtp.mails().len(),
        3,
        "an uncertain mail must not be sent again: {out}"
    );
    assert_eq!(
        site.journal()[&uncertain[0]].state,
        DeliveryState::Uncertain
    );
}

#[test]
fn dry_run_shows_the_mail_subject_and_text_part() {
    let smtp = Smtp::start();
    let site = Site::new(&smtp, "");
    let (code, out) = site.broadcast(&["--dry-run"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("## Vorschau email"), "{out}");
    assert!(
        out.contains("E-Mail, Betreff: Sperrung der Hauptstraße – Umleitung über Bürgerweg"),
        "{out}"
    );
    assert!(out.contains("> Abmelden (ein Klick genügt): https://inbox.teststadt.example/abmelden?t=<persönlicher-Code>"), "{out}");
    assert!(smtp.mails().is_empty());
}

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
        .strip_prefix("inbox listening on ")
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

/// A test CA and a leaf certificate for 127.0.0.1 signed by it (webpki rejects a self-signed
/// certificate used as its own CA), made with the openssl command-line tool.
fn test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("the TLS tests need the openssl command-line tool (apt-get install openssl)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=aushang test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    )
}

fn tls_markers(smtp: &Smtp) -> usize {
    std::fs::read_dir(smtp.maildir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "tls")
        })
        .count()
}

#[test]
fn starttls_and_tls_are_verified_and_never_fall_back_to_plain() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_certificates(certs.path());
    for mode in ["starttls", "tls"] {
        let smtp = Smtp::start_with(&[
            ("SMTP_TLS_CERT", &cert),
            ("SMTP_TLS_KEY", &key),
            ("SMTP_TLS_MODE", Path::new(mode)),
        ]);
        let site = Site::new(&smtp, "");
        let yaml = site.root.join("aushang.yaml");
        let text = std::fs::read_to_string(&yaml).unwrap();
        std::fs::write(
            &yaml,
            text.replace("security: none", &format!("security: {mode}")),
        )
        .unwrap();
        // a certificate from an unknown CA: fatal, nothing sent in plain instead
        let (code, out) = site.broadcast(
            &["--channel", "email"],
            &[("SSL_CERT_FILE", "/nonexistent")],
        );
        assert_ne!(code, 0, "{mode}: {out}");
        assert!(smtp.mails().is_empty(), "{mode}: {out}");
        // a configuration error, not an outage: fatal at once, no waiting and retrying
        let journal = site.journal();
        assert!(!journal.is_empty(), "{out}");
        assert!(
            journal
                .values()
                .all(|l| l.class == Some(FailureClass::Fatal)),
            "{mode}: {journal:?}"
        );
        // the town's CA trusted (as the system's roots would be): every mail over TLS
        let ca = ca.to_str().unwrap();
        let (code, out) = site.broadcast(&["--channel", "email"], &[("SSL_CERT_FILE", ca)]);
        assert_eq!(code, 0, "{mode}: {out}");
        assert_eq!(smtp.mails().len(), 3, "{mode}: {out}");
        assert_eq!(tls_markers(&smtp), 3, "{mode}: every mail went over TLS");
    }
    // a server without STARTTLS: refused, never sent in plain
    let plain = Smtp::start();
    let site = Site::new(&plain, "");
    let yaml = site.root.join("aushang.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, text.replace("security: none", "security: starttls")).unwrap();
    let (code, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.to_lowercase().contains("starttls"), "{out}");
    assert!(plain.mails().is_empty());
}

trait ChildStdout {
    fn child_stdout(&mut self) -> std::process::ChildStdout;
}

impl ChildStdout for Child {
    fn child_stdout(&mut self) -> std::process::ChildStdout {
        self.stdout.take().unwrap()
    }
}
