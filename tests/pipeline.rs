//! The publishing pipeline as the GitHub workflows run it: `scripts/pipeline` steps (check →
//! build → broadcast against the fake Graph API → journal committed and pushed), on a copy of the
//! example site with its own key, a local "origin" repository and the built site served locally
//! so the link pre-flight checks a real page.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aushang::devtools::fake_graph::{FakeConfig, FakeGraph};
use aushang::subscribers::{Channel, Identity, Recipients, Status, Subscriber, SubscriberList};

const NOW: &str = "2026-11-28 12:00";
const NUMBERS: [&str; 3] = ["+4915200000101", "+4915200000102", "+4915200000103"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.org",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn subscriber(i: usize, topics: &[&str], status: Status) -> Subscriber {
    Subscriber {
        id: format!("s_pipeline{i}"),
        channel: Channel::WhatsApp,
        address: NUMBERS[i].into(),
        name: None,
        topics: topics.iter().map(|t| t.to_string()).collect(),
        language: "de".into(),
        status,
        consent_at: Some("2026-11-01T10:00:00Z".parse().unwrap()),
        consent_source: "web".into(),
        consent_text: "v1".into(),
        confirmed_at: Some("2026-11-01T10:05:00Z".parse().unwrap()),
        unsubscribed_at: None,
        bsuid: None,
    }
}

struct Pipeline {
    site: PathBuf,
    secret: String,
}

impl Pipeline {
    fn step(&self, step: &str) -> Output {
        let out = Command::new(repo().join("scripts/pipeline"))
            .arg(step)
            .env("AUSHANG", env!("CARGO_BIN_EXE_aushang"))
            .env("AUSHANG_ROOT", &self.site)
            .env("PUBLISH_NOW", NOW)
            .env("AUSHANG_IDENTITY", &self.secret)
            .env("WHATSAPP_TOKEN", "fake-token")
            .env("GIT_AUTHOR_NAME", "aushang")
            .env("GIT_AUTHOR_EMAIL", "aushang@example.org")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for n in NUMBERS {
            assert!(
                !all.contains(n),
                "step {step} printed a full number:\n{all}"
            );
        }
        out
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn check_build_broadcast_and_commit_the_journal_like_the_workflow() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    for part in ["content", "static"] {
        copy_dir(&repo().join(part), &site.join(part));
    }
    if repo().join("templates").exists() {
        copy_dir(&repo().join("templates"), &site.join("templates"));
    }
    std::fs::write(
        site.join(".gitignore"),
        "/public\n/outbox\n/.aushang.lock\n",
    )
    .unwrap();

    // A town's own key and list (the demo key is refused on a real channel).
    let (identity, secret) = Identity::generate();
    let subs = site.join("subscribers");
    std::fs::create_dir_all(&subs).unwrap();
    let public = identity.public_keys().remove(0);
    std::fs::write(
        subs.join("recipients.txt"),
        Recipients::file_text("CI", &public),
    )
    .unwrap();
    let recipients = Recipients::load(&subs).unwrap();
    SubscriberList::new(vec![
        subscriber(0, &[], Status::Active),
        subscriber(1, &["abfall"], Status::Active),
        subscriber(2, &[], Status::Pending),
    ])
    .save(&subs, &recipients)
    .unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeGraph::start(FakeConfig::default()))
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base_url = format!("http://{}/", listener.local_addr().unwrap());
    let config = std::fs::read_to_string(repo().join("aushang.yaml")).unwrap();
    let config = config
        .replace("https://www.musterbach.example/", &base_url)
        .replace(
            "      phone_number_id: \"100000000000001\"\n",
            &format!(
                "      phone_number_id: \"100000000000001\"\n      api_url: {}\n",
                fake.api_url()
            ),
        );
    assert!(
        config.contains(&fake.api_url()),
        "the example config changed shape"
    );
    std::fs::write(site.join("aushang.yaml"), config).unwrap();

    let origin = tmp.path().join("origin.git");
    std::fs::create_dir_all(&origin).unwrap();
    git(&origin, &["init", "--bare", "--quiet"]);
    git(&site, &["init", "--quiet"]);
    git(&site, &["add", "-A"]);
    git(&site, &["commit", "--quiet", "-m", "Town site"]);
    git(
        &site,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    git(&site, &["push", "--quiet", "origin", "HEAD:main"]);
    git(
        &site,
        &["branch", "--quiet", "--set-upstream-to=origin/main"],
    );
    let p = Pipeline {
        site: site.clone(),
        secret,
    };

    // Pull request: check, build, preview.
    let pr = p.step("pr-check");
    assert!(pr.status.success(), "{}", text(&pr));
    let preview = text(&pr);
    assert!(preview.contains("Nachrichten-Vorschau"), "{preview}");
    assert!(preview.contains("Empfänger: "), "{preview}");

    // Publish: build, serve (the "deploy"), broadcast, commit the journal.
    let build = p.step("build");
    assert!(build.status.success(), "{}", text(&build));
    assert!(site.join("public/index.html").exists());
    let served = tower_http::services::ServeDir::new(site.join("public"));
    let app = axum::Router::new().fallback_service(served);
    runtime.spawn(async move { axum::serve(listener, app).await });

    let sent = p.step("broadcast");
    assert!(sent.status.success(), "{}", text(&sent));
    let messages = fake.messages();
    assert!(!messages.is_empty(), "nothing was sent:\n{}", text(&sent));
    assert!(
        messages.iter().all(|m| m.to != NUMBERS[2]),
        "a pending subscriber got a message"
    );
    let mut pairs: Vec<(String, String)> = messages
        .iter()
        .map(|m| (m.to.clone(), m.button_suffix.clone().unwrap_or_default()))
        .collect();
    let total = pairs.len();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), total, "someone got the same notice twice");

    // Someone else pushes in the meantime: the journal commit must rebase, not force.
    let other = tmp.path().join("other");
    git(
        tmp.path(),
        &[
            "clone",
            "--quiet",
            origin.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    std::fs::write(
        other.join("content/pages/neu.md"),
        "---\ntitle: Neu\n---\nText.\n",
    )
    .unwrap();
    git(&other, &["add", "-A"]);
    git(&other, &["commit", "--quiet", "-m", "Editor adds a page"]);
    git(&other, &["push", "--quiet", "origin", "HEAD:main"]);

    let committed = p.step("commit-journal");
    assert!(committed.status.success(), "{}", text(&committed));
    let log = git(&origin, &["log", "--format=%s", "main"]);
    assert!(
        log.contains("Journal: record broadcast deliveries [skip ci]"),
        "{log}"
    );
    assert!(
        log.contains("Editor adds a page"),
        "the other commit was lost:\n{log}"
    );
    let tree = git(&origin, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(tree.contains("subscribers/journal/index.jsonl"), "{tree}");
    let journal = git(&origin, &["show", "main:subscribers/journal/index.jsonl"]);
    for n in NUMBERS {
        assert!(!journal.contains(n));
    }

    // The next scheduled run sends nothing and finds nothing to commit.
    let again = p.step("broadcast");
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(fake.messages().len(), total, "a rerun sent again");
    let nothing = p.step("commit-journal");
    assert!(nothing.status.success(), "{}", text(&nothing));
}

#[test]
fn a_broken_notice_fails_the_pull_request_check_with_an_annotation() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    for part in ["content", "static", "subscribers"] {
        copy_dir(&repo().join(part), &site.join(part));
    }
    std::fs::copy(repo().join("aushang.yaml"), site.join("aushang.yaml")).unwrap();
    let bad = site.join("content/notices/kaputt.md");
    std::fs::write(
        &bad,
        "---\ntitle: Kaputt\ndate: 2026-11-31\nsummary: x\n---\nText\n",
    )
    .unwrap();
    let p = Pipeline {
        site,
        secret: String::new(),
    };
    let out = p.step("pr-check");
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("::error file=content/notices/kaputt.md,line=3"),
        "{}",
        text(&out)
    );
}

/// The workflows must call the pipeline script for everything they do with aushang, so the
/// test above exercises the workflows' own commands.
#[test]
fn workflows_run_aushang_only_through_the_pipeline_script() {
    let dir = repo().join(".github/workflows");
    let mut runs = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let yaml = std::fs::read_to_string(&path).unwrap();
        for line in yaml.lines().map(str::trim) {
            let Some(cmd) = line.strip_prefix("run: ") else {
                continue;
            };
            runs += 1;
            let allowed =
                cmd.starts_with("scripts/pipeline ") || cmd == "aushang broadcast --dry-run";
            assert!(
                allowed,
                "{}: `{cmd}` bypasses scripts/pipeline",
                path.display()
            );
        }
    }
    assert!(runs >= 4, "found only {runs} run steps");
}
