//! Load benchmark: decrypt and parse a 100,000-row subscriber list (target: well under 1 s in a
//! release build). Run with `cargo bench --bench subscribers_load`; prints the figures, asserts
//! nothing about time.
//!
//! Addresses use the unassigned country code +999, so the generated list can never be a list of
//! real people.

use std::time::{Duration, Instant};

use aushang::subscribers::{Channel, Identity, Recipients, Status, Subscriber, SubscriberList};

const ROWS: usize = 100_000;
const RUNS: usize = 5;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (identity, _) = Identity::generate();
    let text = Recipients::file_text("bench", &identity.public_keys()[0]);
    let recipients =
        Recipients::parse(&text, &dir.path().join("recipients.txt")).expect("recipients");
    let topics = ["verkehr", "abfall", "rat", "veranstaltungen", "versorgung"];
    let consent: jiff::Timestamp = "2026-11-02T09:15:00Z".parse().unwrap();
    let subscribers: Vec<Subscriber> = (0..ROWS)
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
            assert_eq!(loaded.subscribers().len(), ROWS);
            took
        })
        .collect();
    loads.sort();
    let plaintext = aushang::subscribers::format::encode(list.subscribers());
    let mut parses: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let parsed = aushang::subscribers::format::decode(&plaintext).expect("parse");
            let took = start.elapsed();
            assert_eq!(parsed.len(), ROWS);
            took
        })
        .collect();
    parses.sort();
    println!(
        "subscriber list: {ROWS} rows, {:.1} MB armored ciphertext",
        size as f64 / 1e6
    );
    println!(
        "  save (encode + encrypt + fsync + rename): {:>8.1} ms",
        save.as_secs_f64() * 1e3
    );
    println!(
        "  load (read + decrypt + parse), {RUNS} runs: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        loads[0].as_secs_f64() * 1e3,
        loads[RUNS / 2].as_secs_f64() * 1e3,
        loads[RUNS - 1].as_secs_f64() * 1e3
    );
    println!(
        "  of which parse ({:.1} MB CSV): median {:.1} ms",
        plaintext.len() as f64 / 1e6,
        parses[RUNS / 2].as_secs_f64() * 1e3
    );
}
