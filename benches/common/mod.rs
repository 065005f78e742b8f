//! Helpers shared by the benchmarks: knobs from the environment, the load average, a site with
//! an encrypted list of fictitious subscribers, the real binary's peak memory, an inbox site.
// Each bench that includes this module uses only some of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::str::FromStr;

use aushang::inbox::Secrets;
use aushang::subscribers::{Channel, Identity, Recipients, Status, Subscriber, SubscriberList};

/// The app secret the inbox benches sign their webhooks with.
pub const APP_SECRET: &str = "bench-app-secret";

/// An environment variable, or `default` when it is unset.
pub fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// A numeric environment variable, or `default` when it is unset or not a number.
pub fn env_num<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The first three fields of `/proc/loadavg` (1, 5 and 15 minutes), or "" where there is none.
pub fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An active, imported subscriber `i` of `channel` at `address`, without consent dates.
pub fn subscriber(i: usize, channel: Channel, address: String) -> Subscriber {
    Subscriber {
        id: format!("s_{i:016x}"),
        channel,
        address,
        name: None,
        topics: vec![],
        language: "de".into(),
        status: Status::Active,
        consent_at: None,
        consent_source: "import".into(),
        consent_text: "v1".into(),
        confirmed_at: None,
        unsubscribed_at: None,
        bsuid: None,
    }
}

/// Writes `root/subscribers/` with a fresh key's `recipients.txt` and `list` encrypted to it;
/// returns the key's secret (for `AUSHANG_IDENTITY`).
pub fn write_encrypted_list(root: &Path, list: Vec<Subscriber>) -> String {
    let dir = root.join("subscribers");
    std::fs::create_dir_all(&dir).unwrap();
    let (identity, secret) = Identity::generate();
    std::fs::write(
        dir.join("recipients.txt"),
        Recipients::file_text("Bench", &identity.public_keys()[0]),
    )
    .unwrap();
    let recipients = Recipients::load(&dir).unwrap();
    SubscriberList::new(list).save(&dir, &recipients).unwrap();
    secret
}

/// `aushang broadcast --channel <channel>` of the site at `root` under `/usr/bin/time -v`, with
/// the list's key; the caller adds the channel's environment and runs it with [`peak_rss_kib`].
pub fn broadcast_command(binary: &str, root: &Path, secret: &str, channel: &str) -> Command {
    let mut command = Command::new("/usr/bin/time");
    command
        .arg("-v")
        .arg(binary)
        .args([
            "--root",
            root.to_str().unwrap(),
            "broadcast",
            "--channel",
            channel,
        ])
        .args(["--no-link-check", "--now", "2026-11-28 12:00"])
        .env("AUSHANG_IDENTITY", secret);
    command
}

/// Runs a command built by [`broadcast_command`], asserts it succeeded, returns its peak RSS
/// in KiB (0 where `time` did not say).
pub fn peak_rss_kib(mut command: Command) -> f64 {
    let out = command
        .output()
        .expect("run /usr/bin/time (Debian package `time`)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "broadcast failed:\n{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Writes an inbox site at `root` (WhatsApp channel, `inbox.url`, then the `inbox:` lines in
/// `inbox_extra`) with a fresh key; returns its loaded config and the key.
pub fn write_inbox_site(root: &Path, inbox_extra: &str) -> (aushang::config::Config, Identity) {
    std::fs::create_dir_all(root.join("subscribers")).unwrap();
    std::fs::write(
        root.join("aushang.yaml"),
        format!(
            "title: Bench\nbase_url: https://www.bench.example/\nbroadcast:\n  channels:\n    whatsapp:\n      \
             phone_number_id: \"100000000000001\"\n      template:\n        name: t\n        body: \"{{{{1}}}} {{{{2}}}}\"\n\
             inbox:\n  url: https://inbox.bench.example/\n{inbox_extra}"
        ),
    )
    .unwrap();
    let (identity, _) = Identity::generate();
    std::fs::write(
        root.join("subscribers/recipients.txt"),
        Recipients::file_text("bench", &identity.public_keys()[0]),
    )
    .unwrap();
    let config = aushang::config::load(root).unwrap_or_else(|p| panic!("{p:?}"));
    (config, identity)
}

/// The inbox's secrets for a bench: [`APP_SECRET`] and fixed tokens, no WhatsApp token.
pub fn secrets() -> Secrets {
    Secrets {
        app_secret: APP_SECRET.into(),
        verify_token: "bench-verify-token".into(),
        pull_token: "bench-pull-token-0123456789".into(),
        token_secret: None,
        whatsapp_token: None,
    }
}
