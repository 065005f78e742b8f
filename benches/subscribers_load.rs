//! Load benchmark: decrypt and parse a 100,000-row subscriber list (target: well under 1 s in a
//! release build), both whole (`SubscriberList::load`, what the `subscribers` commands use) and
//! streamed row by row (`SubscriberStream`, what a broadcast uses), plus a broadcast's planning
//! pass over the list (the census: every row checked, duplicates looked for, recipients counted
//! per message). Run with `cargo bench --bench subscribers_load` (env BENCH_ROWS, default
//! 100000); prints the figures, asserts nothing about time.
//!
//! Addresses use the unassigned country code +999, so the generated list can never be a list of
//! real people.

use std::time::{Duration, Instant};

use aushang::subscribers::stream::SubscriberStream;
use aushang::subscribers::{Channel, Identity, Recipients, Status, Subscriber, SubscriberList};

mod common;

const RUNS: usize = 5;

fn median_ms(mut runs: Vec<Duration>) -> String {
    runs.sort();
    format!(
        "min {:.1} ms, median {:.1} ms, max {:.1} ms",
        runs[0].as_secs_f64() * 1e3,
        runs[runs.len() / 2].as_secs_f64() * 1e3,
        runs[runs.len() - 1].as_secs_f64() * 1e3
    )
}

fn main() {
    let rows: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let (identity, _) = Identity::generate();
    let text = Recipients::file_text("bench", &identity.public_keys()[0]);
    let recipients =
        Recipients::parse(&text, &dir.path().join("recipients.txt")).expect("recipients");
    let topics = ["verkehr", "abfall", "rat", "veranstaltungen", "versorgung"];
    let consent: jiff::Timestamp = "2026-11-02T09:15:00Z".parse().unwrap();
    let subscribers: Vec<Subscriber> = (0..rows)
        .map(|i| Subscriber {
            id: format!("s_{:016x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            channel: Channel::WhatsApp,
            address: format!("+999{:010}", i),
            name: (i % 3 == 0).then(|| format!("Person {i}")),
            topics: (0..i % 3)
                .map(|k| topics[(i + k) % 5].to_string())
                .collect(),
            language: "de".into(),
            status: if i % 10 == 0 {
                Status::Pending
            } else {
                Status::Active
            },
            consent_at: Some(consent),
            consent_source: "web".into(),
            consent_text: "v1".into(),
            confirmed_at: (i % 10 != 0).then_some(consent),
            unsubscribed_at: None,
            bsuid: None,
        })
        .collect();
    let list = SubscriberList::new(subscribers);

    let start = Instant::now();
    list.save(dir.path(), &recipients).expect("save");
    let save = start.elapsed();
    let size = std::fs::metadata(dir.path().join("subscribers.csv.age"))
        .unwrap()
        .len();

    let mut loads: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let loaded = SubscriberList::load(dir.path(), &identity).expect("load");
            let took = start.elapsed();
            assert_eq!(loaded.subscribers().len(), rows);
            took
        })
        .collect();
    loads.sort();
    let plaintext = aushang::subscribers::format::encode(
        list.subscribers(),
        &aushang::subscribers::keyset::KeySet::of(&recipients),
    );
    let mut parses: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let parsed = aushang::subscribers::format::decode(&plaintext).expect("parse");
            let took = start.elapsed();
            assert_eq!(parsed.len(), rows);
            took
        })
        .collect();
    parses.sort();
    let streams: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let n = SubscriberStream::open(dir.path(), &identity)
                .expect("open")
                .inspect(|r| assert!(r.is_ok(), "every row reads"))
                .count();
            let took = start.elapsed();
            assert_eq!(n, rows);
            took
        })
        .collect();
    let categories = [Some("verkehr"), Some("abfall"), None];
    let mut recipients = [0usize; 3];
    let censuses: Vec<Duration> = (0..RUNS)
        .map(|_| {
            recipients = [0; 3];
            let start = Instant::now();
            let n = SubscriberStream::open(dir.path(), &identity)
                .expect("open")
                .scan(|s| {
                    for (count, category) in recipients.iter_mut().zip(categories) {
                        if s.wants(Channel::WhatsApp, category) {
                            *count += 1;
                        }
                    }
                })
                .expect("scan");
            let took = start.elapsed();
            assert_eq!(n, rows);
            took
        })
        .collect();
    println!(
        "subscriber list: {rows} rows, {:.1} MB armored ciphertext",
        size as f64 / 1e6
    );
    println!(
        "  save (encode + encrypt + fsync + rename): {:>8.1} ms",
        save.as_secs_f64() * 1e3
    );
    println!(
        "  load whole (read + decrypt + parse), {RUNS} runs: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        loads[0].as_secs_f64() * 1e3,
        loads[RUNS / 2].as_secs_f64() * 1e3,
        loads[RUNS - 1].as_secs_f64() * 1e3
    );
    println!(
        "  stream row by row (decrypt + parse while reading), {RUNS} runs: {}",
        median_ms(streams)
    );
    println!(
        "  broadcast planning pass (stream + duplicate check + recipients of 3 messages: {recipients:?}), {RUNS} runs: {}",
        median_ms(censuses)
    );
    println!(
        "  of which parse ({:.1} MB CSV): median {:.1} ms",
        plaintext.len() as f64 / 1e6,
        parses[RUNS / 2].as_secs_f64() * 1e3
    );
    println!("  load average while measuring: {}", common::load_average());
}
