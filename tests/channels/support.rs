//! The e-mail tests' harness: a real SMTP server (aiosmtpd) per test, a test site with e-mail
//! subscribers, and the mails read back with Python's `email` package.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aushang::delivery::journal::Journal;
use aushang::subscribers::{Channel, Identity, Recipients, Status, Subscriber, SubscriberList};
use serde_json::Value;

pub const INBOX: &str = "https://inbox.teststadt.example/";
pub const TOKEN_SECRET: &str = "test-secret-0123456789abcdef-0123456789abcdef";
pub const NOW: &str = "2026-11-28 10:00";

pub fn python() -> PathBuf {
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
pub struct Smtp {
    child: Child,
    pub port: u16,
    pub maildir: tempfile::TempDir,
}

impl Smtp {
    pub fn start() -> Smtp {
        Smtp::start_with(&[])
    }

    pub fn start_with(env: &[(&str, &Path)]) -> Smtp {
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

    pub fn control(&self, json: &str) {
        std::fs::write(self.maildir.path().join("control.json"), json).unwrap();
    }

    /// How many mails the server has stored so far.
    pub fn stored(&self) -> usize {
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
    pub fn mails(&self) -> Vec<Value> {
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

pub struct Site {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub secret: String,
}

pub fn person(id: &str, channel: Channel, address: &str, status: Status) -> Subscriber {
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
pub fn people() -> Vec<Subscriber> {
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
    pub fn new(smtp: &Smtp, email_extra: &str) -> Site {
        Site::with_people(smtp, email_extra, people())
    }

    pub fn with_people(smtp: &Smtp, email_extra: &str, people: Vec<Subscriber>) -> Site {
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

    pub fn command(&self) -> Command {
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

    pub fn broadcast(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
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

    pub fn key(&self) -> String {
        let index =
            std::fs::read_to_string(self.root.join("subscribers/journal/index.jsonl")).unwrap();
        let line: Value = serde_json::from_str(index.lines().next().unwrap()).unwrap();
        line["msg"].as_str().unwrap().to_string()
    }

    /// The journal's last line per subscriber for the notice on e-mail.
    pub fn journal(
        &self,
    ) -> std::collections::HashMap<String, aushang::delivery::journal::DeliveryLine> {
        let j = Journal::open(&self.root.join("subscribers/journal")).unwrap();
        j.deliveries(&self.key(), "email").unwrap().last
    }
}

pub fn by_rcpt<'a>(mails: &'a [Value], address: &str) -> Vec<&'a Value> {
    mails.iter().filter(|m| m["rcpt"][0] == address).collect()
}

pub trait ChildStdout {
    fn child_stdout(&mut self) -> std::process::ChildStdout;
}

impl ChildStdout for Child {
    fn child_stdout(&mut self) -> std::process::ChildStdout {
        self.stdout.take().unwrap()
    }
}
