//! Public posts end to end with the real binary: the town's Telegram channel and Mastodon
//! account, each against a fake that follows the documented contract (`devtools::fake_telegram`,
//! `devtools::fake_mastodon`, real HTTP on 127.0.0.1). A post is one delivery per notice,
//! journaled under a pseudo-subscriber (`channel:telegram`, `channel:mastodon`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use aushang::delivery::journal::{DeliveryState, Journal};
use aushang::devtools::fake_mastodon::{FakeMastodon, FakeMastodonConfig};
use aushang::devtools::fake_telegram::{FakeTelegram, FakeTelegramConfig};
use serde_json::Value;

const TG_TOKEN: &str = "123456:test-bot-token";
const MASTODON_TOKEN: &str = "test-mastodon-token";

struct Site {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn notice(summary: &str, extra: &str) -> String {
    format!(
        "---\ntitle: Sperrung der Brücke <Nord> & Umleitung\ndate: 2026-11-28 08:00\n\
         summary: \"{summary}\"\n{extra}---\n\nText.\n"
    )
}

impl Site {
    fn new(channels: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("site");
        std::fs::create_dir_all(root.join("content/notices")).unwrap();
        std::fs::write(
            root.join("aushang.yaml"),
            format!(
                "title: Teststadt\nbase_url: https://www.teststadt.example/\n\
                 broadcast:\n  quiet_hours: \"off\"\n  channels:\n{channels}"
            ),
        )
        .unwrap();
        let site = Site { _dir: dir, root };
        site.write_notice(&notice("Die Brücke ist ab Montag gesperrt.", ""));
        site
    }

    fn write_notice(&self, text: &str) {
        std::fs::write(
            self.root.join("content/notices/2026-11-28-bruecke.md"),
            text,
        )
        .unwrap();
    }

    fn broadcast(&self, channel: &str, now: &str) -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_aushang"))
            .arg("--root")
            .arg(&self.root)
            .args([
                "broadcast",
                "--no-link-check",
                "--channel",
                channel,
                "--now",
                now,
            ])
            .env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
            .env("MASTODON_TOKEN", MASTODON_TOKEN)
            .env_remove("GITHUB_ACTIONS")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains(TG_TOKEN),
            "the bot token must never be printed"
        );
        assert!(
            !text.contains(MASTODON_TOKEN),
            "the token must never be printed"
        );
        (out.status.code().unwrap_or(-1), text)
    }

    /// Runs the binary with `args` and neither token set (the modes that send nothing).
    fn run_without_tokens(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_aushang"))
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .env_remove("TELEGRAM_BOT_TOKEN")
            .env_remove("MASTODON_TOKEN")
            .output()
            .unwrap()
    }

    fn keys(&self) -> Vec<String> {
        let index =
            std::fs::read_to_string(self.root.join("subscribers/journal/index.jsonl")).unwrap();
        let mut keys: Vec<String> = index
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["msg"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        keys.dedup();
        keys
    }

    fn delivery(&self, key: &str, channel: &str) -> aushang::delivery::journal::DeliveryLine {
        let j = Journal::open(&self.root.join("subscribers/journal")).unwrap();
        let log = j.deliveries(key, channel).unwrap();
        assert_eq!(log.last.len(), 1, "one delivery per notice");
        log.last[&format!("channel:{channel}")].clone()
    }
}

/// The town's Telegram channel `@teststadt` at the fake's `api_url`, as `channels:` lines.
fn telegram_yaml(api_url: &str) -> String {
    format!("    telegram:\n      chat_id: \"@teststadt\"\n      api_url: {api_url}\n")
}

/// The town's Mastodon account on the fake instance at `url`, as `channels:` lines.
fn mastodon_yaml(url: &str) -> String {
    format!("    mastodon:\n      instance_url: {url}\n")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn telegram(rt: &tokio::runtime::Runtime, throttle_times: u32) -> FakeTelegram {
    rt.block_on(FakeTelegram::start(FakeTelegramConfig {
        token: TG_TOKEN.into(),
        chat_id: "@teststadt".into(),
        throttle_times,
        retry_after: 2,
    }))
    .unwrap()
}

#[test]
fn one_telegram_post_per_notice_in_html_waiting_out_a_429() {
    let rt = runtime();
    let fake = telegram(&rt, 1);
    let site = Site::new(&telegram_yaml(&fake.api_url()));
    let started = Instant::now();
    let (code, out) = site.broadcast("telegram", "2026-11-28 10:00");
    assert_eq!(code, 0, "{out}");
    assert!(
        started.elapsed().as_secs() >= 2,
        "retry_after (2 s) must be waited out"
    );
    let posts = fake.posts();
    assert_eq!(posts.len(), 1, "{out}");
    let p = &posts[0];
    assert_eq!(p.parse_mode.as_deref(), Some("HTML"));
    assert!(
        p.text
            .starts_with("<b>Sperrung der Brücke &lt;Nord&gt; &amp; Umleitung</b>"),
        "{}",
        p.text
    );
    assert!(p.text.contains("Die Brücke ist ab Montag gesperrt."));
    let url = "https://www.teststadt.example/";
    assert!(p.text.contains(&format!("<a href=\"{url}")), "{}", p.text);
    let preview = p.link_preview.as_ref().unwrap();
    assert_eq!(preview["is_disabled"], false);
    assert!(preview["url"].as_str().unwrap().starts_with(url));
    let key = &site.keys()[0];
    let line = site.delivery(key, "telegram");
    assert_eq!(
        (line.state, line.id.as_deref()),
        (DeliveryState::Sent, Some("1"))
    );
    // exactly once
    let (code, out) = site.broadcast("telegram", "2026-11-28 11:00");
    assert_eq!(code, 0, "{out}");
    assert_eq!(fake.posts().len(), 1);
    assert_eq!(fake.requests(), 2, "the rerun asks nothing");
}

/// The pipeline's write-ahead (`--claim RUN`, then `--run RUN`) works for a public post too: the
/// claim names the channel's stand-in reader, and the run posts once.
#[test]
fn a_claimed_telegram_post_is_sent_by_its_run_once() {
    let rt = runtime();
    let fake = telegram(&rt, 0);
    let site = Site::new(&telegram_yaml(&fake.api_url()));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_aushang"))
            .arg("--root")
            .arg(&site.root)
            .args([
                "broadcast",
                "--channel",
                "telegram",
                "--now",
                "2026-11-28 10:00",
            ])
            .args(args)
            .env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
            .env_remove("GITHUB_ACTIONS")
            .output()
            .unwrap()
    };
    let claimed = run(&["--claim", "r1"]);
    assert_eq!(
        claimed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&claimed.stderr)
    );
    assert_eq!(fake.requests(), 0, "a claim sends nothing");
    let key = site.keys()[0].clone();
    assert_eq!(
        site.delivery(&key, "telegram").state,
        DeliveryState::Claimed
    );
    let sent = run(&["--run", "r1", "--no-link-check"]);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stdout)
    );
    assert_eq!(fake.posts().len(), 1);
    let again = run(&["--claim", "r2"]);
    assert_eq!(again.status.code(), Some(3), "nothing due any more");
    assert_eq!(fake.posts().len(), 1);
}

#[test]
fn a_telegram_update_answers_the_notices_own_post() {
    let rt = runtime();
    let fake = telegram(&rt, 0);
    let site = Site::new(&format!(
        "    telegram:\n      chat_id: \"@teststadt\"\n      api_url: {}\n",
        fake.api_url()
    ));
    let (code, out) = site.broadcast("telegram", "2026-11-28 10:00");
    assert_eq!(code, 0, "{out}");
    site.write_notice(&notice(
        "Die Brücke ist ab Montag gesperrt.",
        "updates:\n  - date: 2026-11-28 12:00\n    text: Die Sperrung dauert bis Freitag.\n",
    ));
    let (code, out) = site.broadcast("telegram", "2026-11-28 13:00");
    assert_eq!(code, 0, "{out}");
    let posts = fake.posts();
    assert_eq!(posts.len(), 2, "{out}");
    assert_eq!(posts[0].reply_to, None);
    assert_eq!(
        posts[1].reply_to,
        Some(posts[0].message_id),
        "the update answers the notice's post"
    );
    assert!(
        posts[1].text.starts_with("<b>Aktualisierung: "),
        "{}",
        posts[1].text
    );
}

#[test]
fn an_unknown_telegram_chat_is_fatal_and_posts_nothing() {
    let rt = runtime();
    let fake = telegram(&rt, 0);
    let site = Site::new(&format!(
        "    telegram:\n      chat_id: \"@andere_stadt\"\n      api_url: {}\n",
        fake.api_url()
    ));
    let (code, out) = site.broadcast("telegram", "2026-11-28 10:00");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("chat not found"), "{out}");
    assert!(fake.posts().is_empty());
    assert_eq!(fake.requests(), 1, "a configuration error is not retried");
}

fn mastodon(rt: &tokio::runtime::Runtime, max: usize, throttle_times: u32) -> FakeMastodon {
    rt.block_on(FakeMastodon::start(FakeMastodonConfig {
        token: MASTODON_TOKEN.into(),
        max_characters: max,
        url_chars: 23,
        throttle_times,
    }))
    .unwrap()
}

#[test]
fn a_mastodon_post_keeps_the_instance_limit_and_an_update_replies_to_it() {
    let rt = runtime();
    let fake = mastodon(&rt, 200, 1);
    let site = Site::new(&format!(
        "    mastodon:\n      instance_url: {}\n      visibility: unlisted\n",
        fake.url()
    ));
    let long = "Die Brücke ist gesperrt. ".repeat(20);
    site.write_notice(&notice(long.trim(), ""));
    let started = Instant::now();
    let (code, out) = site.broadcast("mastodon", "2026-11-28 10:00");
    assert_eq!(code, 0, "{out}");
    assert!(
        started.elapsed().as_secs() >= 1,
        "the 429 is waited out until X-RateLimit-Reset"
    );
    assert_eq!(fake.requests(), 2, "one 429, then the post");
    let statuses = fake.statuses();
    assert_eq!(statuses.len(), 1, "{out}");
    let s = &statuses[0];
    assert_eq!(s.visibility, "unlisted");
    assert!(
        aushang::providers::mastodon::counted_chars(&s.status, 23) <= 200,
        "{}",
        s.status
    );
    assert!(
        s.status.contains('…'),
        "the summary is shortened: {}",
        s.status
    );
    let link = s.status.lines().last().unwrap();
    assert!(
        link.starts_with("https://www.teststadt.example/") && link.ends_with('/'),
        "the link stays whole: {}",
        s.status
    );
    assert!(s.idempotency_key.is_some());
    let key = site.keys()[0].clone();
    assert_eq!(
        site.delivery(&key, "mastodon").id.as_deref(),
        Some(s.id.as_str())
    );

    // an update is a reply to the notice's post
    site.write_notice(&notice(
        long.trim(),
        "updates:\n  - date: 2026-11-28 12:00\n    text: Die Sperrung dauert bis Freitag.\n",
    ));
    let (code, out) = site.broadcast("mastodon", "2026-11-28 13:00");
    assert_eq!(code, 0, "{out}");
    let statuses = fake.statuses();
    assert_eq!(statuses.len(), 2, "{out}");
    assert_eq!(statuses[1].in_reply_to_id.as_deref(), Some(s.id.as_str()));
    assert!(
        statuses[1].status.starts_with("Aktualisierung: "),
        "{}",
        statuses[1].status
    );
    assert!(
        statuses[1]
            .status
            .contains("Die Sperrung dauert bis Freitag.")
    );
}

#[test]
fn the_idempotency_key_keeps_a_repeated_request_from_posting_twice() {
    let rt = runtime();
    let fake = mastodon(&rt, 500, 0);
    let site = Site::new(&mastodon_yaml(&fake.url()));
    let (code, out) = site.broadcast("mastodon", "2026-11-28 10:00");
    assert_eq!(code, 0, "{out}");
    let first = fake.statuses()[0].id.clone();
    // the journal is lost (e.g. a run killed before it was committed): the request is repeated
    std::fs::remove_dir_all(site.root.join("subscribers/journal")).unwrap();
    let (code, out) = site.broadcast("mastodon", "2026-11-28 10:05");
    assert_eq!(code, 0, "{out}");
    assert_eq!(fake.requests(), 2, "the request was repeated");
    assert_eq!(fake.statuses().len(), 1, "but nothing was posted twice");
    let key = site.keys()[0].clone();
    assert_eq!(
        site.delivery(&key, "mastodon").id.as_deref(),
        Some(first.as_str())
    );
}

#[test]
fn mark_sent_marks_the_public_channels_so_old_notices_are_not_posted() {
    let rt = runtime();
    let fake = telegram(&rt, 0);
    let md = mastodon(&rt, 500, 0);
    let site = Site::new(&(telegram_yaml(&fake.api_url()) + &mastodon_yaml(&md.url())));
    let out = site.run_without_tokens(&["broadcast", "--mark-sent", "--now", "2026-11-28 10:00"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("(Kanal telegram)") && text.contains("(Kanal mastodon)"),
        "{text}"
    );
    for channel in ["telegram", "mastodon"] {
        let (code, out) = site.broadcast(channel, "2026-11-28 10:05");
        assert_eq!(code, 0, "{out}");
    }
    assert_eq!(fake.requests() + md.requests(), 0);
}

#[test]
fn a_wrong_mastodon_token_is_fatal() {
    let rt = runtime();
    let fake = mastodon(&rt, 500, 0);
    let site = Site::new(&mastodon_yaml(&fake.url()));
    let out = Command::new(env!("CARGO_BIN_EXE_aushang"))
        .arg("--root")
        .arg(&site.root)
        .args([
            "broadcast",
            "--no-link-check",
            "--channel",
            "mastodon",
            "--now",
            "2026-11-28 10:00",
        ])
        .env("MASTODON_TOKEN", "wrong")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("401"));
    assert!(fake.statuses().is_empty());
}

#[test]
fn dry_run_shows_each_post_with_its_character_count() {
    let rt = runtime();
    let tg = telegram(&rt, 0);
    let md = mastodon(&rt, 500, 0);
    let site = Site::new(&(telegram_yaml(&tg.api_url()) + &mastodon_yaml(&md.url())));
    let out = site.run_without_tokens(&["broadcast", "--dry-run", "--now", "2026-11-28 10:00"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("## Vorschau telegram"), "{text}");
    assert!(text.contains("Telegram-Kanalbeitrag ("), "{text}");
    assert!(text.contains("## Vorschau mastodon"), "{text}");
    assert!(text.contains("Mastodon-Beitrag ("), "{text}");
    assert!(
        text.contains("> Sperrung der Brücke <Nord> & Umleitung"),
        "{text}"
    );
    assert_eq!(tg.requests() + md.requests(), 0, "a dry run sends nothing");
}
