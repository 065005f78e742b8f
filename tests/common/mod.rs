//! Helpers shared by the integration tests that declare `mod common;` (the pipeline, site and
//! serve tests): the repository's own files and a copy of the example site, git with a fixed
//! identity, example subscribers, a command's whole output, the inbox for the pipeline.
// Each test crate that includes this module uses only some of it.
#![allow(dead_code)]

pub mod language;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aushang::subscribers::{Channel, Identity, Recipients, Status, Subscriber, SubscriberList};

/// This repository (the example site, `scripts/pipeline`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn copy_dir(from: &Path, to: &Path) {
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

/// The files below `dir`, depth first, each folder's entries sorted by name.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

/// Copies the example site's `content/`, `static/` and `templates/` (those it has) into `to`.
pub fn copy_example_tree(to: &Path) {
    for part in ["content", "static", "templates"] {
        if repo().join(part).exists() {
            copy_dir(&repo().join(part), &to.join(part));
        }
    }
}

/// A temp dir holding a copy of the example site: its trees and its `aushang.yaml`.
pub fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_example_tree(dir.path());
    std::fs::copy(repo().join("aushang.yaml"), dir.path().join("aushang.yaml")).unwrap();
    dir
}

/// Gives the site at `root` its own key (`subscribers/recipients.txt`, holder "CI"; the demo key
/// is refused on a real channel) and `subscribers` as its list, encrypted to that key. Returns
/// the key and its secret (for `AUSHANG_IDENTITY`).
pub fn write_own_list(root: &Path, subscribers: Vec<Subscriber>) -> (Identity, String) {
    let (identity, secret) = Identity::generate();
    let subs = root.join("subscribers");
    std::fs::create_dir_all(&subs).unwrap();
    std::fs::write(
        subs.join("recipients.txt"),
        Recipients::file_text("CI", &identity.public_keys()[0]),
    )
    .unwrap();
    SubscriberList::new(subscribers)
        .save(&subs, &Recipients::load(&subs).unwrap())
        .unwrap();
    (identity, secret)
}

/// Runs git in `dir` with a fixed identity and `main` as the default branch; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.org"])
        .args(["-c", "init.defaultBranch=main"])
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

/// Makes `site` a git repository with one commit, "Town site", and pushes it as `main` to a new
/// bare repository at `origin`, its remote `origin`.
pub fn push_to_new_origin(site: &Path, origin: &Path) {
    std::fs::create_dir_all(origin).unwrap();
    git(origin, &["init", "--bare", "--quiet"]);
    git(site, &["init", "--quiet"]);
    git(site, &["add", "-A"]);
    git(site, &["commit", "--quiet", "-m", "Town site"]);
    git(site, &["remote", "add", "origin", origin.to_str().unwrap()]);
    git(site, &["push", "--quiet", "origin", "HEAD:main"]);
}

/// An active-or-given WhatsApp subscriber `s_pipeline<i>` with consent and confirmation.
pub fn whatsapp_subscriber(i: usize, address: &str, topics: &[&str], status: Status) -> Subscriber {
    Subscriber {
        id: format!("s_pipeline{i}"),
        channel: Channel::WhatsApp,
        address: address.into(),
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

/// stdout and stderr of a command, in that order.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The pull token the pipeline tests give their inbox and its `inbox-pull` step.
pub const PULL_TOKEN: &str = "pipeline-pull-token-0123456789";

/// Starts the inbox of the site configured by `config` on `addr`, on `runtime`, with fixed
/// secrets and [`PULL_TOKEN`].
pub fn start_inbox(
    runtime: &tokio::runtime::Runtime,
    config: aushang::config::Config,
    data: &Path,
    addr: std::net::SocketAddr,
) -> aushang::inbox::RunningInbox {
    runtime
        .block_on(aushang::inbox::start(
            config,
            aushang::inbox::Secrets {
                app_secret: "app-secret-0123456789".into(),
                verify_token: "verify-token-0123456789".into(),
                pull_token: PULL_TOKEN.into(),
                token_secret: None,
                whatsapp_token: None,
            },
            data,
            addr,
        ))
        .unwrap()
}

/// Signs `number` up for `topic` (consent `v1`) through the inbox at `base` as the form's script
/// does: it fetches a server-signed stamp, waits out the example's `min_fill_seconds` (3) and
/// posts the form. Returns the HTTP status.
pub fn sign_up_by_form(
    runtime: &tokio::runtime::Runtime,
    base: &str,
    number: &str,
    topic: &str,
) -> u16 {
    let stamp: serde_json::Value = runtime.block_on(async {
        let r = reqwest::get(format!("{base}/signup/stempel")).await;
        r.unwrap().json().await.unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("nummer", number)
        .append_pair("thema", topic)
        .append_pair("einwilligung", "ja")
        .append_pair("fassung", "v1")
        .append_pair("stempel", stamp["stempel"].as_str().unwrap())
        .finish();
    runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/signup"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}
