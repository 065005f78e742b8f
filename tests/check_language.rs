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
