//! One language per audience: what editors, citizens and town staff read is German. `aushang
//! check` (a configuration error, a content error, a template error, template warnings), the
//! `--help` of every product command, `aushang serve`'s messages, log lines, and the steps of
//! `scripts/pipeline` in a temporary repository all come out without an English sentence of
//! aushang's own. (`inbox pull` against the fake Graph API: tests/pipeline.rs.)
//!
//! Developer-facing and English on purpose: `aushang-dev` (fake Graph API, corpus generator, I/O
//! floor), `-vv` debug/trace lines, code comments and docs/ for maintainers, the stored machine
//! forms (applied.jsonl outcomes, journal states, `due=`/`site_due=` lines, state-branch commit
//! messages) and the HTTP bodies answered to Meta's webhook calls.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::language::assert_german;

fn example_copy() -> tempfile::TempDir {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for top in ["content", "static"] {
        for entry in walkdir::WalkDir::new(repo.join(top)).into_iter().flatten() {
            let rel = entry.path().strip_prefix(repo).unwrap();
            let to = dir.path().join(rel);
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&to).unwrap();
            } else {
                std::fs::copy(entry.path(), &to).unwrap();
            }
        }
    }
    std::fs::copy(repo.join("aushang.yaml"), dir.path().join("aushang.yaml")).unwrap();
    dir
}

/// stdout and stderr of a command.
fn all_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn aushang() -> Command {
    let mut cmd = Command::cargo_bin("aushang").unwrap();
    cmd.env_remove("AUSHANG_LOG").env("NO_COLOR", "1");
    cmd
}

/// stdout and stderr of a failing `check`, in both formats.
fn failing_check(root: &Path) -> String {
    let mut all = String::new();
    for format in ["human", "github"] {
        let out = Command::cargo_bin("aushang")
            .unwrap()
            .arg("--root")
            .arg(root)
            .args(["check", "--format", format])
            .env("AUSHANG_LOG", "off")
            .output()
            .unwrap();
        assert!(!out.status.success(), "check passed");
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    all
}

#[test]
fn check_output_has_no_english_sentence() {
    let site = example_copy();
    let root = site.path();

    // A configuration error (check stops there: the content is not checked).
    let yaml = std::fs::read_to_string(root.join("aushang.yaml")).unwrap();
    let broken = yaml.replace("timezone: Europe/Berlin", "timezone: Mars/Olympus");
    assert_ne!(broken, yaml, "the example names its time zone");
    std::fs::write(root.join("aushang.yaml"), &broken).unwrap();
    let out = failing_check(root);
    assert!(out.contains("unbekannte Zeitzone `Mars/Olympus`"), "{out}");
    assert_german(&out);
    std::fs::write(root.join("aushang.yaml"), &yaml).unwrap();

    // A content error, a template error, template warnings and a hidden static file.
    let notice = walkdir::WalkDir::new(root.join("content/notices"))
        .into_iter()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "md"))
        .unwrap()
        .into_path();
    let text = std::fs::read_to_string(&notice).unwrap();
    let category = text.lines().find(|l| l.starts_with("category:")).unwrap();
    std::fs::write(&notice, text.replacen(category, "category: verkher", 1)).unwrap();
    let templates = root.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("page.html"),
        "{% extends \"base.html\" %}\n{% block main %}{{ page.title | nofilter }}{% endblock main %}\n",
    )
    .unwrap();
    std::fs::write(templates.join("robots.txt"), "User-agent: *\n").unwrap();
    std::fs::write(root.join("static/.env"), "TOKEN=x\n").unwrap();
    let out = failing_check(root);
    assert!(out.contains("unbekannte Kategorie `verkher`"), "{out}");
    assert!(
        out.contains("Unknown filter"),
        "the library's message is kept: {out}"
    );
    assert!(out.contains("Warnung: templates/robots.txt"), "{out}");
    assert!(out.contains("static/.env ist versteckt"), "{out}");
    assert_german(&out);
}

/// The subcommands a help text lists under "Befehle:".
fn listed_commands(help: &str) -> Vec<String> {
    help.split("Befehle:")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .skip(1)
                .take_while(|l| l.starts_with("  "))
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn help_of_every_product_command_is_german() {
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        for flag in ["-h", "--help"] {
            let out = aushang().args(&path).arg(flag).output().unwrap();
            assert!(out.status.success(), "{path:?} {flag}: {}", all_text(&out));
            let help = all_text(&out);
            assert!(help.contains("Aufruf: aushang"), "{help}");
            assert_german(&help);
            if flag == "-h" {
                for sub in listed_commands(&help) {
                    let mut next = path.clone();
                    next.push(sub);
                    todo.push(next);
                }
            }
        }
        seen += 1;
    }
    // aushang, its ten commands, subscribers' ten and inbox's five.
    assert!(seen >= 26, "only {seen} commands found");
    // The developer tools are not in the product's help.
    let top = all_text(&aushang().arg("--help").output().unwrap());
    assert!(
        !top.contains("fake-graph-api") && !top.contains("gen-corpus"),
        "{top}"
    );
}

#[test]
fn argument_mistakes_are_explained_in_german() {
    for (args, expected) in [
        (
            &["buidl"][..],
            "unbekannter Befehl `buidl` (meinten Sie `build`?)",
        ),
        (
            &["check", "--format", "json"][..],
            "`json` ist kein gültiger Wert für --format",
        ),
        (&["build", "--drafs"][..], "unbekannte Angabe `--drafs`"),
        (
            &["broadcast", "--dry-run", "--mark-sent"][..],
            "lässt sich nicht zusammen mit",
        ),
        (&["init"][..], "es fehlt: <ORDNER>"),
        (&["subscribers"][..], "Befehle:"),
    ] {
        let out = aushang().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let text = all_text(&out);
        assert!(text.contains(expected), "{args:?}:\n{text}");
        assert_german(&text);
    }
}

/// `aushang serve` on a port in use, and a log line (`Hinweis:` from the broadcast's use of the
/// demo key): German words, German level words, no Rust debug spelling.
#[test]
fn serve_messages_and_log_lines_are_german() {
    let site = example_copy();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = aushang()
        .arg("--root")
        .arg(site.path())
        .args(["serve", "--port", &port])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let text = all_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("lässt sich nicht öffnen (läuft schon eine Vorschau?"),
        "{text}"
    );
    assert_german(&text);

    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    common::copy_dir(&repo.join("subscribers"), &site.path().join("subscribers"));
    let out = aushang()
        .arg("--root")
        .arg(site.path())
        .args([
            "broadcast",
            "--channel",
            "outbox",
            "--now",
            "2026-11-28 12:00",
        ])
        .env_remove("AUSHANG_IDENTITY")
        .env_remove("AUSHANG_IDENTITY_FILE")
        .env_remove("AUSHANG_INBOX_TOKEN_SECRET")
        .output()
        .unwrap();
    let text = all_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Hinweis: kein Schlüssel in der Umgebung"),
        "{text}"
    );
    assert!(text.contains("Warnung: "), "{text}");
    for word in [" INFO ", " WARN ", "Some(", "None", "\u{1b}["] {
        assert!(!text.contains(word), "`{word}` in:\n{text}");
    }
    assert_german(&text);
}

/// The steps of `scripts/pipeline` a town's CI log shows, run in a temporary repository with its
/// own `origin`: the state branch is created, the deploy stamp and journal steps say what they
/// did, refusals and the usage are German, both locally and as GitHub annotations.
#[test]
fn pipeline_steps_speak_german() {
    let tmp = tempfile::tempdir().unwrap();
    let site = example_copy();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    common::copy_dir(&repo.join("subscribers"), &site.path().join("subscribers"));
    let origin = tmp.path().join("origin.git");
    common::git(
        tmp.path(),
        &["init", "--quiet", "--bare", origin.to_str().unwrap()],
    );
    let root = site.path();
    common::git(root, &["init", "--quiet"]);
    common::git(root, &["add", "-A"]);
    common::git(root, &["commit", "--quiet", "-m", "Start"]);
    common::git(root, &["remote", "add", "origin", origin.to_str().unwrap()]);
    common::git(root, &["push", "--quiet", "origin", "HEAD:refs/heads/main"]);
    let step = |args: &[&str], env: &[(&str, &str)]| {
        let out = std::process::Command::new(repo.join("scripts/pipeline"))
            .args(args)
            .env("AUSHANG", env!("CARGO_BIN_EXE_aushang"))
            .env("AUSHANG_ROOT", root)
            .env("PUBLISH_NOW", "2026-11-28 12:00")
            .env("NO_COLOR", "1")
            .env("GIT_AUTHOR_NAME", "aushang")
            .env("GIT_AUTHOR_EMAIL", "aushang@example.org")
            .env("GIT_COMMITTER_NAME", "aushang")
            .env("GIT_COMMITTER_EMAIL", "aushang@example.org")
            .env(
                "AUSHANG_IDENTITY_FILE",
                root.join("subscribers/demo-identity.txt"),
            )
            .env_remove("AUSHANG_IDENTITY")
            .env_remove("AUSHANG_INBOX_PULL_TOKEN")
            .env_remove("AUSHANG_STATE_DIR")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (out.status.code(), all_text(&out))
    };
    let mut seen = Vec::new();
    let mut expect = |args: &[&str], env: &[(&str, &str)], code: i32, says: &str| {
        let (got, text) = step(args, env);
        assert_eq!(got, Some(code), "{args:?}:\n{text}");
        assert!(
            text.contains(says),
            "{args:?} does not say `{says}`:\n{text}"
        );
        assert_german(&text);
        seen.push(text);
    };
    expect(&["gibtsnicht"], &[], 64, "Aufruf: scripts/pipeline SCHRITT");
    expect(&["site-stamp"], &[], 1, "Fehler: kein Checkout des Stands");
    expect(
        &["claim-send"],
        &[("GITHUB_ACTIONS", "true")],
        1,
        "::error title=Pipeline::kein Checkout des Stands",
    );
    expect(
        &["inbox-pull"],
        &[],
        0,
        "Hinweis: aushang.yaml richtet einen Posteingang ein",
    );
    expect(
        &["inbox-pull"],
        &[("GITHUB_ACTIONS", "true")],
        0,
        "::warning title=Posteingang nicht abgerufen::",
    );
    expect(
        &["inbox-ack"],
        &[],
        0,
        "keine Ereignisse aus dem Posteingang zu quittieren",
    );
    expect(
        &["state-checkout"],
        &[],
        0,
        "origin hat keinen Branch aushang-state",
    );
    expect(&["state-checkout"], &[], 0, "Stand: aushang-state bei");
    expect(&["due"], &[], 0, "site_due=true (noch kein Deploy-Stempel)");
    expect(
        &["site-stamp"],
        &[("BUILT_AT", "2026-11-28T11:00:00Z")],
        0,
        "Deploy-Stempel: 2026-11-28T11:00:00Z",
    );
    expect(
        &["site-stamp"],
        &[("BUILT_AT", "2026-11-28T11:00:00Z")],
        0,
        "Deploy-Stempel unverändert",
    );
    expect(&["admin-state"], &[], 0, "Die Abonnentenliste liegt in");
    expect(&["admin-push"], &[], 0, "nichts geändert");
    expect(&["commit-journal"], &[], 0, "Journal unverändert");
    expect(&["build"], &[], 0, "Gebaut: ");
    assert_eq!(seen.len(), 15);
}

/// The harness of the e-mail tests: a real SMTP server (aiosmtpd) and a site with e-mail
/// subscribers.
#[allow(dead_code)]
#[path = "channels/support.rs"]
mod smtp;

/// A fake service's runtime, alive as long as the test holds it.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Everything a broadcast shows the town's staff: stdout (report, GitHub annotations), stderr
/// (log lines at the default level) and the job summary.
fn broadcast_text(mut cmd: std::process::Command) -> (Option<i32>, String) {
    let summary = tempfile::NamedTempFile::new().unwrap();
    let out = cmd
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary.path())
        .env("AUSHANG_LOG", "aushang=info")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        all_text(&out),
        std::fs::read_to_string(summary.path()).unwrap()
    );
    (out.status.code(), text)
}

/// Broadcasts against services that fail — the fake Graph API answering errors or unreachable,
/// an SMTP server refusing a recipient and the login, the Telegram and Mastodon fakes refusing
/// the channel and the token — explain each failure to the town's staff in German, in the
/// report, the log, the annotations and the job summary. The services' own English texts are
/// shown only marked as theirs (`(Meldung der Graph-API: …)`).
#[test]
fn broadcast_failures_are_explained_in_german() {
    use aushang::devtools::fake_graph::{FakeConfig, FakeGraph, Injection};

    // WhatsApp: one undeliverable number (permanent), then an invalid token (fatal).
    let rt = runtime();
    let graph = rt
        .block_on(FakeGraph::start(FakeConfig {
            inject: vec![
                Injection::code_at_call(1, 131026),
                Injection::code_from_call(3, 190),
            ],
            ..FakeConfig::default()
        }))
        .unwrap();
    // The example site with a list of its own (a real channel refuses the demo key).
    let (identity, secret) = aushang::subscribers::Identity::generate();
    let whatsapp_site = |api_url: &str| {
        use aushang::subscribers::{Recipients, Status, SubscriberList};
        let site = example_copy();
        let dir = site.path().join("subscribers");
        std::fs::create_dir_all(&dir).unwrap();
        let text = Recipients::file_text("Test", &identity.public_keys()[0]);
        std::fs::write(dir.join("recipients.txt"), &text).unwrap();
        let recipients = Recipients::parse(&text, &dir.join("recipients.txt")).unwrap();
        let people = (1..=5)
            .map(|i| {
                common::whatsapp_subscriber(i, &format!("+4915200000{i:03}"), &[], Status::Active)
            })
            .collect();
        SubscriberList::new(people).save(&dir, &recipients).unwrap();
        let yaml_path = site.path().join("aushang.yaml");
        let yaml = std::fs::read_to_string(&yaml_path).unwrap();
        let anchor = "      phone_number_id: \"100000000000001\"\n";
        assert!(
            yaml.contains(anchor),
            "the example names its phone number id"
        );
        let yaml = yaml.replace(anchor, &format!("{anchor}      api_url: \"{api_url}\"\n"));
        std::fs::write(&yaml_path, yaml).unwrap();
        site
    };
    let whatsapp_run = |site: &Path| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aushang"));
        cmd.arg("--root")
            .arg(site)
            .args(["broadcast", "--no-link-check", "--now", "2026-11-28 12:00"])
            .args(["--channel", "whatsapp"])
            .env("WHATSAPP_TOKEN", "fake-token")
            .env("AUSHANG_IDENTITY", &secret)
            .env_remove("AUSHANG_IDENTITY_FILE")
            .env_remove("AUSHANG_INBOX_TOKEN_SECRET");
        broadcast_text(cmd)
    };
    let site = whatsapp_site(&graph.api_url());
    let (code, text) = whatsapp_run(site.path());
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains(
            "ABGEBROCHEN: schwerer Fehler 190: WhatsApp-Fehler 190 (HTTP 401): das Zugangs-Token"
        ),
        "{text}"
    );
    assert!(
        text.contains("endgültig fehlgeschlagen 131026: WhatsApp-Fehler 131026"),
        "{text}"
    );
    assert!(text.contains("(Meldung der Graph-API: "), "{text}");
    assert_german(&text);

    // The Graph API unreachable: the template check before the first message says so.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let site = whatsapp_site(&format!("http://127.0.0.1:{port}/v25.0"));
    let (code, text) = whatsapp_run(site.path());
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains(
            "lässt sich nicht prüfen: keine Verbindung zur WhatsApp-API (nichts gesendet)"
        ),
        "{text}"
    );
    assert_german(&text);

    // E-mail: a recipient refused for good, then the login refused.
    let server = smtp::Smtp::start();
    server.control(r#"{"reject_rcpt": ["bert@example.org"]}"#);
    let site = smtp::Site::new(&server, "");
    let (code, text) = broadcast_text(email_command(&site, &[]));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("550: SMTP: der Server lehnt die Mail an diese Adresse endgültig ab"),
        "{text}"
    );
    assert!(!text.contains("bert@"), "{text}");
    assert_german(&text);
    let server = smtp::Smtp::start();
    server.control(r#"{"password": "richtig"}"#);
    let site = smtp::Site::new(&server, "      username: bekanntmachungen\n");
    let (code, text) = broadcast_text(email_command(&site, &[("SMTP_PASSWORD", "falsch")]));
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("schwerer Fehler 535: SMTP: der Server lehnt die Anmeldung ab"),
        "{text}"
    );
    assert_german(&text);

    // Telegram: a channel the bot is not in; Mastodon: a wrong token.
    use aushang::devtools::fake_mastodon::{FakeMastodon, FakeMastodonConfig};
    use aushang::devtools::fake_telegram::{FakeTelegram, FakeTelegramConfig};
    let telegram = rt
        .block_on(FakeTelegram::start(FakeTelegramConfig {
            token: "123456:richtig".into(),
            chat_id: "@teststadt".into(),
            throttle_times: 0,
            retry_after: 1,
        }))
        .unwrap();
    let mastodon = rt
        .block_on(FakeMastodon::start(FakeMastodonConfig {
            token: "richtig".into(),
            max_characters: 500,
            url_chars: 23,
            throttle_times: 0,
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("content/notices")).unwrap();
    std::fs::write(
        root.join("aushang.yaml"),
        format!(
            "title: Teststadt\nbase_url: https://www.teststadt.example/\n\
             broadcast:\n  quiet_hours: \"off\"\n  channels:\n    \
             telegram:\n      chat_id: \"@andere_stadt\"\n      api_url: {}\n    \
             mastodon:\n      instance_url: {}\n",
            telegram.api_url(),
            mastodon.url()
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("content/notices/2026-11-28-bruecke.md"),
        "---\ntitle: Sperrung der Brücke\ndate: 2026-11-28 08:00\n\
         summary: Die Brücke ist ab Montag gesperrt.\n---\n\nText.\n",
    )
    .unwrap();
    for (channel, says) in [
        (
            "telegram",
            "den Kanal gibt es nicht, oder der Bot ist nicht Mitglied",
        ),
        (
            "mastodon",
            "das Zugangs-Token (MASTODON_TOKEN) ist ungültig",
        ),
    ] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aushang"));
        cmd.arg("--root")
            .arg(root)
            .args(["broadcast", "--no-link-check", "--now", "2026-11-28 10:00"])
            .args(["--channel", channel])
            .env("TELEGRAM_BOT_TOKEN", "123456:richtig")
            .env("MASTODON_TOKEN", "falsch");
        let (code, text) = broadcast_text(cmd);
        assert_eq!(code, Some(2), "{channel}: {text}");
        assert!(text.contains(says), "{channel}: {text}");
        assert_german(&text);
    }
}

/// `aushang broadcast --channel email` on an e-mail test site, with extra environment.
fn email_command(site: &smtp::Site, env: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = site.command();
    cmd.args(["--channel", "email"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}
