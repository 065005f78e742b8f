//! The publishing pipeline as the GitHub workflows run it: `scripts/pipeline` steps (check →
//! build → broadcast against the fake Graph API → journal committed and pushed), on a copy of the
//! example site with its own key, a local "origin" repository and the built site served locally
//! so the link pre-flight checks a real page.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aushang::devtools::fake_graph::{FakeConfig, FakeGraph};
use aushang::subscribers::{Identity, Recipients, Status, Subscriber, SubscriberList};
use common::{PULL_TOKEN, copy_dir, git, repo, text};

const NOW: &str = "2026-11-28 12:00";
const NUMBERS: [&str; 3] = ["+4915200000101", "+4915200000102", "+4915200000103"];

fn subscriber(i: usize, topics: &[&str], status: Status) -> Subscriber {
    common::whatsapp_subscriber(i, NUMBERS[i], topics, status)
}

struct Pipeline {
    site: PathBuf,
    secret: String,
}

impl Pipeline {
    fn step(&self, step: &str) -> Output {
        self.step_with(step, &[])
    }

    /// A step with extra environment variables (the CI's secrets of that step).
    fn step_with(&self, step: &str, env: &[(&str, &str)]) -> Output {
        let out = Command::new(repo().join("scripts/pipeline"))
            .arg(step)
            .env_remove("AUSHANG_INBOX_PULL_TOKEN")
            .env_remove("GITHUB_ACTIONS")
            .envs(env.iter().copied())
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

#[test]
fn check_build_broadcast_and_commit_the_journal_like_the_workflow() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    common::copy_example_tree(&site);
    std::fs::write(
        site.join(".gitignore"),
        "/public\n/outbox\n/.aushang.lock\n",
    )
    .unwrap();

    // A town's own key and list (the demo key is refused on a real channel).
    let (_, secret) = common::write_own_list(
        &site,
        vec![
            subscriber(0, &[], Status::Active),
            subscriber(1, &["abfall"], Status::Active),
            subscriber(2, &[], Status::Pending),
        ],
    );

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
    common::push_to_new_origin(&site, &origin);
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

    // The example configures an inbox, but this environment has no pull token (like a fork).
    let pulled = p.step("inbox-pull");
    assert!(pulled.status.success(), "{}", text(&pulled));
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
        // The tool's own release workflow builds aushang; it runs no site step.
        if path.file_name().is_some_and(|n| n == "release.yml") {
            continue;
        }
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

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A copy of the example site (its `inbox:` section pointed at `inbox_url`) with its own key
/// and an empty list.
fn site_with_inbox(tmp: &Path, inbox_url: &str, api_url: &str) -> (PathBuf, Identity, String) {
    let site = tmp.join("site");
    for part in ["content", "static"] {
        copy_dir(&repo().join(part), &site.join(part));
    }
    let config = std::fs::read_to_string(repo().join("aushang.yaml")).unwrap();
    assert!(
        config.contains("\ninbox:\n  url: https://inbox.musterbach.example/\n"),
        "the example site must configure its inbox"
    );
    let config = config
        .replace("https://inbox.musterbach.example/", inbox_url)
        .replace(
            "      phone_number_id: \"100000000000001\"\n",
            &format!("      phone_number_id: \"100000000000001\"\n      api_url: {api_url}\n"),
        );
    assert!(config.contains(api_url), "the example config changed shape");
    std::fs::write(site.join("aushang.yaml"), config).unwrap();
    let (identity, secret) = common::write_own_list(&site, Vec::new());
    (site, identity, secret)
}

#[test]
fn inbox_pull_is_skipped_with_a_notice_without_its_token_and_fails_the_step_when_it_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeGraph::start(FakeConfig::with_confirmation_template()))
        .unwrap();
    let (site, identity, secret) =
        site_with_inbox(tmp.path(), "http://127.0.0.1:1/", &fake.api_url());
    let p = Pipeline {
        site: site.clone(),
        secret,
    };

    // No token (a fork, a fresh clone, the example site): a notice, success, no network.
    let skipped = p.step("inbox-pull");
    assert!(skipped.status.success(), "{}", text(&skipped));
    common::language::assert_german(&text(&skipped));
    assert!(
        text(&skipped).contains("Hinweis: aushang.yaml richtet einen Posteingang ein")
            && text(&skipped).contains("der Abruf wird übersprungen"),
        "{}",
        text(&skipped)
    );
    let in_ci = p.step_with("inbox-pull", &[("GITHUB_ACTIONS", "true")]);
    assert!(in_ci.status.success());
    assert!(
        String::from_utf8_lossy(&in_ci.stdout)
            .contains("::warning title=Posteingang nicht abgerufen::"),
        "{}",
        text(&in_ci)
    );

    // With the token but the inbox unreachable: the step fails, naming the inbox.
    let config = std::fs::read_to_string(site.join("aushang.yaml")).unwrap();
    let dead = format!("http://127.0.0.1:{}/", closed_port());
    std::fs::write(
        site.join("aushang.yaml"),
        config.replace("http://127.0.0.1:1/", &dead),
    )
    .unwrap();
    let failed = p.step_with("inbox-pull", &[("AUSHANG_INBOX_PULL_TOKEN", PULL_TOKEN)]);
    assert!(!failed.status.success(), "{}", text(&failed));
    assert!(
        text(&failed).contains("ist nicht erreichbar"),
        "{}",
        text(&failed)
    );

    // With the token and a real inbox: the sign-up is applied, acknowledged only by inbox-ack.
    let data = tmp.path().join("inbox-data");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    std::fs::write(
        site.join("aushang.yaml"),
        config.replace("http://127.0.0.1:1/", &format!("http://{addr}/")),
    )
    .unwrap();
    let server_config = aushang::config::load(&site).unwrap();
    let server = common::start_inbox(&runtime, server_config, &data, addr);
    // The form's script fetches a server-signed stamp; it counts after min_fill_seconds (3).
    let status = common::sign_up_by_form(&runtime, &server.url(), "0152 00000104", "abfall");
    assert_eq!(status, 200);
    let env = [("AUSHANG_INBOX_PULL_TOKEN", PULL_TOKEN)];
    let pulled = p.step_with("inbox-pull", &env);
    assert!(pulled.status.success(), "{}", text(&pulled));
    assert!(
        !text(&pulled).contains("+4915200000104"),
        "{}",
        text(&pulled)
    );
    let list = SubscriberList::load(&site.join("subscribers"), &identity).unwrap();
    assert_eq!(list.subscribers().len(), 1, "{}", text(&pulled));
    assert_eq!(list.subscribers()[0].status, Status::Pending);
    assert_eq!(list.subscribers()[0].address, "+4915200000104");
    // The double opt-in request went out (to the fake Graph API), and nobody is asked twice by
    // the resend that follows the pull.
    let confirmations: Vec<_> = fake
        .messages()
        .into_iter()
        .filter(|m| m.template.as_deref() == Some("anmeldung_bestaetigen"))
        .collect();
    assert_eq!(confirmations.len(), 1, "{}", text(&pulled));
    assert_eq!(confirmations[0].to, "+4915200000104");
    assert!(
        text(&pulled).contains("0 erneut gefragt"),
        "the resend did not run:\n{}",
        text(&pulled)
    );
    // The per-event result and the resend summary are German (applied.jsonl keeps `pending`).
    assert!(
        text(&pulled).contains("Anmeldung: wartet auf Bestätigung (JA) (s_"),
        "{}",
        text(&pulled)
    );
    common::language::assert_german(&text(&pulled));
    let applied = std::fs::read_to_string(site.join("subscribers/inbox/applied.jsonl")).unwrap();
    assert!(applied.contains("\"outcome\":\"pending\""), "{applied}");
    let events = || std::fs::read_dir(data.join("events")).unwrap().count();
    assert_eq!(events(), 1, "nothing is deleted before the ack");
    let acked = p.step_with("inbox-ack", &env);
    assert!(acked.status.success(), "{}", text(&acked));
    assert!(
        text(&acked).contains("1 Ereignis(se) quittiert"),
        "{}",
        text(&acked)
    );
    assert_eq!(events(), 0);
    runtime.block_on(server.shutdown()).unwrap();
}

/// `aushang publish` on the example site: without the pull token it skips the pull with a
/// notice and still builds and sends to the outbox; with the token and the inbox unreachable it
/// stops before sending anything.
#[test]
fn publish_skips_the_inbox_pull_without_its_token_and_sends_nothing_when_the_pull_fails() {
    let publish = |token: Option<&str>, inbox_url: Option<&str>| {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site");
        for part in ["content", "static", "subscribers"] {
            copy_dir(&repo().join(part), &site.join(part));
        }
        let mut config = std::fs::read_to_string(repo().join("aushang.yaml")).unwrap();
        if let Some(url) = inbox_url {
            config = config.replace("https://inbox.musterbach.example/", url);
        }
        std::fs::write(site.join("aushang.yaml"), config).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_aushang"));
        cmd.args(["--root", site.to_str().unwrap(), "publish", "--now", NOW])
            .env_remove("AUSHANG_INBOX_PULL_TOKEN")
            .env_remove("AUSHANG_IDENTITY")
            .env_remove("WHATSAPP_TOKEN")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env(
                "AUSHANG_IDENTITY_FILE",
                site.join("subscribers/demo-identity.txt"),
            );
        if let Some(t) = token {
            cmd.env("AUSHANG_INBOX_PULL_TOKEN", t);
        }
        let out = cmd.output().unwrap();
        let sent = walkdir::WalkDir::new(site.join("outbox"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "txt"))
            .count();
        (out, sent)
    };
    let (out, sent) = publish(None, None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("der Abruf entfällt"), "{}", text(&out));
    assert!(sent > 0, "nothing reached the outbox:\n{}", text(&out));

    let dead = format!("http://127.0.0.1:{}/", closed_port());
    let (out, sent) = publish(Some(PULL_TOKEN), Some(&dead));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("deshalb wurde nichts versandt"),
        "{}",
        text(&out)
    );
    assert_eq!(sent, 0, "a failed pull must stop the broadcast");
}

#[test]
fn publish_with_its_inbox_token_pulls_and_asks_again_whose_confirmation_was_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeGraph::start(FakeConfig::with_confirmation_template()))
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (site, _identity, secret) =
        site_with_inbox(tmp.path(), &format!("http://{addr}/"), &fake.api_url());
    // Signed up three days before NOW; the pull's confirmation request never arrived.
    let mut lost = subscriber(2, &[], Status::Pending);
    lost.consent_at = Some("2026-11-25T10:00:00Z".parse().unwrap());
    lost.confirmed_at = None;
    let subs = site.join("subscribers");
    SubscriberList::new(vec![lost])
        .save(&subs, &Recipients::load(&subs).unwrap())
        .unwrap();
    let _server = runtime
        .block_on(aushang::inbox::start(
            aushang::config::load(&site).unwrap(),
            aushang::inbox::Secrets {
                app_secret: "app-secret-0123456789".into(),
                verify_token: "verify-token-0123456789".into(),
                pull_token: PULL_TOKEN.into(),
                token_secret: None,
                whatsapp_token: None,
            },
            &tmp.path().join("inbox-data"),
            addr,
        ))
        .unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_aushang"))
        .args(["--root", site.to_str().unwrap(), "publish", "--now", NOW])
        .args(["--no-link-check"])
        .env("AUSHANG_INBOX_PULL_TOKEN", PULL_TOKEN)
        .env("AUSHANG_IDENTITY", &secret)
        .env("WHATSAPP_TOKEN", "fake-token")
        .env_remove("AUSHANG_IDENTITY_FILE")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains(NUMBERS[2]), "a number in the output:\n{all}");
    assert!(all.contains("1 erneut gefragt"), "{all}");
    let confirmations: Vec<_> = fake
        .messages()
        .into_iter()
        .filter(|m| m.kind == "template" && m.to == NUMBERS[2])
        .collect();
    assert_eq!(confirmations.len(), 1, "{all}");
}
