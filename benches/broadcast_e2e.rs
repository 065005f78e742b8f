//! End-to-end broadcast benchmark: the real `aushang broadcast` process (release build) sends one
//! notice to N subscribers from an encrypted list, through the rate limiter, the journal and real
//! HTTP, to the fake Graph API with 50 ms latency and a 1,000 msg/s limit.
//!
//! `cargo bench --bench broadcast_e2e` — env BENCH_SUBSCRIBERS (default 100000, comma-separated
//! for several sizes, e.g. "20000,100000"), BENCH_RATE (the configured messages_per_second,
//! default 1000), BENCH_CONCURRENCY (default 100), BENCH_LATENCY_MS (default 50), BENCH_LIMIT
//! (the fake's messages-per-second limit, default 1000; raise it together with BENCH_RATE for
//! memory runs, so that 200,000 subscribers take seconds rather than minutes) and BENCH_AUSHANG
//! (the binary to run, default this build's release binary; lets a saved older build be compared).
//! BENCH_RESUME=1 adds a second run per size that finds every subscriber already `sent` in the
//! journal (the "completed" mark removed, as if the first run had been killed at its very end):
//! it sends nothing and shows the memory the journal's per-subscriber state costs.
//! Prints the achieved rate (target ≥ 95 % of the limit), the fake's busiest second, 130429
//! answers, and the broadcast process's peak memory (from /usr/bin/time -v) per size, so
//! memory can be seen to stay flat as the list grows.

use std::path::Path;
use std::time::Instant;

use aushang::devtools::fake_graph::{FakeConfig, FakeGraph};
use aushang::subscribers::Channel;

mod common;
use common::{env, load_average};

fn write_site(
    root: &Path,
    api_url: &str,
    subscribers: usize,
    rate: u32,
    concurrency: u32,
) -> String {
    std::fs::create_dir_all(root.join("content/notices")).unwrap();
    std::fs::write(
        root.join("aushang.yaml"),
        format!(
            "title: Benchmark\nbase_url: https://bench.example/\ncategories:\n  - id: verkehr\n    name: Verkehr\n\
             broadcast:\n  quiet_hours: \"off\"\n  channels:\n    whatsapp:\n      phone_number_id: \"100000000000001\"\n\
             \x20     api_url: {api_url}\n      template:\n        name: neue_bekanntmachung\n        language: de\n\
             \x20       body: \"Neu: {{{{1}}}}. {{{{2}}}} Mehr über den Button.\"\n\
             \x20     messages_per_second: {rate}\n      concurrency: {concurrency}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("content/notices/2026-11-28-sperrung.md"),
        "---\ntitle: Sperrung der Hauptstraße\ndate: 2026-11-28 09:00\nsummary: Die Hauptstraße ist am 3. Dezember gesperrt.\ncategory: verkehr\n---\nText.\n",
    )
    .unwrap();
    let list = (0..subscribers)
        .map(|i| common::subscriber(i, Channel::WhatsApp, format!("+49152{:08}", i)))
        .collect();
    common::write_encrypted_list(root, list)
}

fn main() {
    let sizes: Vec<usize> = env("BENCH_SUBSCRIBERS", "100000")
        .split(',')
        .map(|s| s.trim().parse().expect("BENCH_SUBSCRIBERS: numbers"))
        .collect();
    let rate: u32 = env("BENCH_RATE", "1000").parse().unwrap();
    let concurrency: u32 = env("BENCH_CONCURRENCY", "100").parse().unwrap();
    let latency: u64 = env("BENCH_LATENCY_MS", "50").parse().unwrap();
    let limit: u32 = env("BENCH_LIMIT", "1000").parse().unwrap();
    let binary = env("BENCH_AUSHANG", env!("CARGO_BIN_EXE_aushang"));
    println!(
        "binary {binary}; fake limit {limit} msg/s, rate {rate}, concurrency {concurrency}, \
         latency {latency} ms; load average {}",
        load_average()
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    println!(
        "| subscribers | sent | wall s | rate msg/s | % of limit | busiest second | 130429 | peak RSS MB | load |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let fake = rt
            .block_on(FakeGraph::start(FakeConfig {
                latency_ms: latency,
                messages_per_second: Some(limit),
                ..FakeConfig::default()
            }))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let secret = write_site(dir.path(), &fake.api_url(), n, rate, concurrency);
        let started = Instant::now();
        let peak_kb = run_broadcast(&binary, dir.path(), &secret);
        let wall = started.elapsed().as_secs_f64();
        let stats = fake.stats();
        let sent = fake.messages().len();
        assert_eq!(sent, n, "every subscriber gets exactly one message");
        let achieved = sent as f64 / wall;
        let load = load_average();
        println!(
            "| {n} | {sent} | {wall:.1} | {achieved:.0} | {:.1} | {} | {} | {:.1} | {} |",
            100.0 * achieved / f64::from(limit),
            stats.max_per_second,
            stats.errors.get(&130429).copied().unwrap_or(0),
            peak_kb / 1024.0,
            load.split_whitespace().next().unwrap_or("?")
        );
        if env("BENCH_RESUME", "0") == "1" {
            let index = dir.path().join("subscribers/journal/index.jsonl");
            let text = std::fs::read_to_string(&index).unwrap();
            let kept: String = text
                .lines()
                .filter(|l| !l.contains("\"completed\""))
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(&index, kept).unwrap();
            let started = Instant::now();
            let peak_kb = run_broadcast(&binary, dir.path(), &secret);
            assert_eq!(fake.messages().len(), n, "the resumed run sends nothing");
            println!(
                "| {n} resumed (all already sent) | 0 | {:.1} | – | – | – | – | {:.1} | – |",
                started.elapsed().as_secs_f64(),
                peak_kb / 1024.0
            );
        }
    }
}

/// Runs `aushang broadcast` under `/usr/bin/time -v`; returns the peak RSS in KiB.
fn run_broadcast(binary: &str, root: &Path, secret: &str) -> f64 {
    let mut command = common::broadcast_command(binary, root, secret, "whatsapp");
    command.env("WHATSAPP_TOKEN", "fake-token");
    common::peak_rss_kib(command)
}
