//! Import benchmark: `aushang subscribers import` of a sign-up export with N rows (target: 100,000
//! rows in under 2 s on the 2-core benchmark machine), step by step as the command runs them:
//! parse the CSV into candidates, read the list, merge, encrypt and save. Sizes from env
//! BENCH_ROWS (comma-separated, default `25000,100000,200000`) so that the growth shows: the time
//! per row must stay flat (it grew with the file before the line counting was made one pass).
//! Run with `cargo bench --bench subscribers_import`; prints the figures (recorded in
//! benches/IMPORT.md), asserts nothing about time.
//!
//! The export is generated in memory and never written in plain text. Its numbers are mobile
//! numbers of the shape German exports hold (`0151 …`), needed because the import checks each one
//! against the number plan; nothing is ever sent to them.

use std::time::{Duration, Instant};

use aushang::subscribers::import::{self, ImportOptions};
use aushang::subscribers::{Channel, Identity, Recipients, Resubscribe, Status, SubscriberList};

mod common;

fn export(rows: usize) -> Vec<u8> {
    let topics = ["Verkehr", "Abfall", "Verkehr, Abfall", ""];
    let mut csv = String::with_capacity(rows * 64);
    csv.push_str("Vorname;Nachname;Handy;Themen;Datum;Kommentar\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "Vorname{i};Nachname;0151 {:08};{};02.11.2026 09:15;\n",
            10_000_000 + i,
            topics[i % topics.len()]
        ));
    }
    csv.into_bytes()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_ROWS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![25_000, 100_000, 200_000]);
    let opts = ImportOptions {
        channel: Channel::WhatsApp,
        status: Status::Pending,
        consent_source: "import".into(),
        consent_text: "v1".into(),
        language: "de".into(),
        known_topics: vec!["verkehr".into(), "abfall".into()],
        timezone: jiff::tz::TimeZone::get("Europe/Berlin").expect("zone"),
        now: "2026-11-28T12:00:00Z".parse().expect("time"),
    };
    println!("subscribers import (parse, read list, merge, encrypt + save), empty list first:");
    for rows in sizes {
        let dir = tempfile::tempdir().expect("temp dir");
        let (identity, _) = Identity::generate();
        let text = Recipients::file_text("bench", &identity.public_keys()[0]);
        let recipients =
            Recipients::parse(&text, &dir.path().join("recipients.txt")).expect("recipients");
        SubscriberList::new(Vec::new())
            .save(dir.path(), &recipients)
            .expect("empty list");
        let bytes = export(rows);

        let start = Instant::now();
        let parsed = import::parse(&bytes, &opts);
        let parse = start.elapsed();
        assert!(parsed.problems.is_empty(), "{:?}", &parsed.problems[..1]);
        assert_eq!(parsed.rows.len(), rows);
        let candidates: Vec<_> = parsed.rows.into_iter().map(|(_, s)| s).collect();

        let t = Instant::now();
        let mut list = SubscriberList::load(dir.path(), &identity).expect("load");
        let load = t.elapsed();
        let t = Instant::now();
        let outcomes = list.add_all(candidates.clone(), Resubscribe::Never);
        let merge = t.elapsed();
        assert_eq!(outcomes.len(), rows);
        let t = Instant::now();
        list.save(dir.path(), &recipients).expect("save");
        let save = t.elapsed();
        let total = start.elapsed();

        // The same file again: every row merges into an existing one.
        let again = Instant::now();
        let parsed = import::parse(&bytes, &opts);
        let mut list = SubscriberList::load(dir.path(), &identity).expect("load");
        list.add_all(
            parsed.rows.into_iter().map(|(_, s)| s).collect(),
            Resubscribe::Never,
        );
        list.save(dir.path(), &recipients).expect("save");
        let again = again.elapsed();

        println!(
            "  {rows:>7} rows ({:.1} MB CSV): total {:>7.0} ms = parse {:.0} + load {:.0} + merge {:.0} + save {:.0}; {:.2} µs/row; re-import into the full list {:.0} ms",
            bytes.len() as f64 / 1e6,
            ms(total),
            ms(parse),
            ms(load),
            ms(merge),
            ms(save),
            total.as_secs_f64() * 1e6 / rows as f64,
            ms(again),
        );
    }
    println!("  load average while measuring: {}", common::load_average());
}
