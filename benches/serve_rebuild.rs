//! Serve rebuild benchmark: on a generated 10,000-notice site, `aushang serve` (the release binary)
//! gets one notice edit at a time (summary, title, body, date across pages, category, urgent, new
//! notice, renamed and deleted notice) and the time from writing the file until the reload event
//! reaches an open tab is measured: the event is sent only after every dependent page is written.
//! Target (issue 8): under 200 ms. Prints median and p95 and the server's own phase timings,
//! checks that each full rebuild after a pause (the safety net) rewrote nothing, asserts nothing
//! about time.
//!
//! `cargo bench --bench serve_rebuild` (NOTICES=1000 for a quick run, ROUNDS=n for more edits).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use aushang::devtools::corpus::{self, CorpusOptions};

mod common;
use common::env_num;

const CATEGORIES: [&str; 5] = ["verkehr", "abfall", "rat", "veranstaltungen", "versorgung"];

fn main() {
    let notices: usize = env_num("NOTICES", 10_000);
    let rounds: usize = env_num("ROUNDS", 3);
    let dir = tempfile::tempdir().expect("temp dir");
    let site = dir.path().join("site");
    corpus::generate(&site, &CorpusOptions { notices, seed: 1 }).expect("corpus");
    let site = site.canonicalize().unwrap();

    let started = Instant::now();
    let mut server = Server::start(&site);
    println!(
        "{notices} notices: first build {} ms ({})",
        started.elapsed().as_millis(),
        server.first_line
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut events = rt.block_on(Events::connect(&server.url));

    let targets = recent_notices(&site, rounds * 6);
    let mut samples: Vec<Sample> = Vec::new();
    let mut check_rewrites = 0usize;
    for round in 0..rounds {
        let t = &targets[round * 6..round * 6 + 6];
        let new_file = site.join(format!(
            "content/notices/2026/2026-11-27-bench-neu-{round}.md"
        ));
        let renamed = site.join(format!(
            "content/notices/2026/2026-11-26-bench-umbenannt-{round}.md"
        ));
        let edits: Vec<(&str, Edit)> = vec![
            (
                "summary",
                Box::new(|| {
                    replace_line(&t[0], "summary: ", |_| {
                        format!("summary: Geänderte Zusammenfassung {round}.")
                    })
                }),
            ),
            (
                "title",
                Box::new(|| {
                    replace_line(&t[1], "title: ", |_| {
                        format!("title: Geänderter Titel {round}")
                    })
                }),
            ),
            ("body", Box::new(|| append(&t[2], "\nEin neuer Absatz.\n"))),
            (
                "date across pages",
                Box::new(|| replace_line(&t[3], "date: ", |_| "date: 2026-03-02".into())),
            ),
            (
                "category",
                Box::new(|| set_category(&t[4], CATEGORIES[round % 5])),
            ),
            ("urgent", Box::new(|| toggle_urgent(&t[5]))),
            (
                "new notice",
                Box::new(|| std::fs::write(&new_file, new_notice(round)).unwrap()),
            ),
            (
                "renamed file",
                Box::new(|| std::fs::rename(&new_file, &renamed).unwrap()),
            ),
            (
                "deleted notice",
                Box::new(|| std::fs::remove_file(&renamed).unwrap()),
            ),
        ];
        for (kind, apply) in edits {
            let before = events.generation;
            let t0 = Instant::now();
            apply();
            rt.block_on(events.next_after(before));
            let took = t0.elapsed();
            let line = server.line_containing(&["abhängige", "Website erstellt"]);
            samples.push(Sample {
                kind,
                took,
                server: line.clone(),
            });
            // Wait for the safety net (a full rebuild after a pause) before the next edit, as
            // an editor who looks at the result would.
            let check = server.line_containing(&["Kontrolle"]);
            check_rewrites += rewritten(&check);
            rt.block_on(events.drain());
            println!("{kind:>18}: {:>5} ms  | {line}", took.as_millis());
        }
    }
    drop(server);

    let mut all: Vec<Duration> = samples.iter().map(|s| s.took).collect();
    all.sort();
    let median = all[all.len() / 2];
    let p95 = all[((all.len() as f64 * 0.95).ceil() as usize).min(all.len()) - 1];
    let partial = samples
        .iter()
        .filter(|s| s.server.contains("abhängige"))
        .count();
    let server_ms: Vec<u64> = samples
        .iter()
        .filter_map(|s| server_took(&s.server))
        .collect();
    let mut sorted = server_ms.clone();
    sorted.sort();
    let load = common::load_average();
    println!();
    println!(
        "{} edits of a {notices}-notice site: write → reload event median {} ms, p95 {} ms, max {} ms",
        all.len(),
        median.as_millis(),
        p95.as_millis(),
        all.last().unwrap().as_millis()
    );
    println!(
        "server time (dependent files rendered and written): median {} ms, max {} ms",
        sorted.get(sorted.len() / 2).copied().unwrap_or(0),
        sorted.last().copied().unwrap_or(0)
    );
    println!(
        "{partial} of {} edits took the partial path; files the safety-net full rebuilds rewrote: {check_rewrites}",
        samples.len()
    );
    println!("load average: {load}");
    for kind in samples
        .iter()
        .map(|s| s.kind)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let mut k: Vec<u128> = samples
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.took.as_millis())
            .collect();
        k.sort();
        println!("  {kind:>18}: {k:?} ms");
    }
}

type Edit<'a> = Box<dyn Fn() + 'a>;

struct Sample {
    kind: &'static str,
    took: Duration,
    server: String,
}

/// Published notices of the last months, newest first (the ones on the first list pages).
fn recent_notices(site: &Path, n: usize) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walk(&site.join("content/notices/2026"))
        .into_iter()
        .filter(|f| {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(f).unwrap();
            name.as_str() < "2026-11-28"
                && !text.contains("draft: true")
                && !text.contains("publish_at")
                && !text.contains("expires:")
        })
        .collect();
    files.sort();
    files.reverse();
    assert!(files.len() >= n, "only {} recent notices", files.len());
    // Every second one, so that no two edits hit neighbours only.
    files.into_iter().step_by(2).take(n).collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

fn replace_line(file: &Path, prefix: &str, with: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut done = false;
    let out: String = text
        .split_inclusive('\n')
        .map(|l| {
            if !done && l.starts_with(prefix) {
                done = true;
                format!("{}\n", with(l.trim_end()))
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "{} has no `{prefix}` line", file.display());
    std::fs::write(file, out).unwrap();
}

fn append(file: &Path, text: &str) {
    let mut all = std::fs::read_to_string(file).unwrap();
    all.push_str(text);
    std::fs::write(file, all).unwrap();
}

fn set_category(file: &Path, id: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    let current = text.lines().find_map(|l| l.strip_prefix("category: "));
    let id = if current == Some(id) {
        CATEGORIES.iter().find(|c| **c != id).unwrap()
    } else {
        id
    };
    if current.is_some() {
        replace_line(file, "category: ", |_| format!("category: {id}"));
    } else {
        std::fs::write(
            file,
            text.replacen("---\n", &format!("---\ncategory: {id}\n"), 1),
        )
        .unwrap();
    }
}

fn toggle_urgent(file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    let out = if text.contains("\nurgent: true\n") {
        text.replacen("\nurgent: true\n", "\n", 1)
    } else {
        text.replacen("---\n", "---\nurgent: true\n", 1)
    };
    std::fs::write(file, out).unwrap();
}

fn new_notice(round: usize) -> String {
    format!(
        "---\ntitle: Neue Bekanntmachung {round}\ndate: 2026-11-27 10:00\nsummary: Eine neue \
         Bekanntmachung für den Benchmark.\ncategory: rat\n---\nDer Rat tagt am Montag.\n"
    )
}

/// `… (N Dateien neu geschrieben, …)` → N.
fn rewritten(line: &str) -> usize {
    line.split('(')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

/// `… in 37 ms …` → 37.
fn server_took(line: &str) -> Option<u64> {
    let at = line.find(" in ")?;
    line[at + 4..].split_whitespace().next()?.parse().ok()
}

/// The running `aushang serve` and its terminal lines.
struct Server {
    child: Child,
    url: String,
    first_line: String,
    lines: Receiver<String>,
}

impl Server {
    fn start(site: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aushang"))
            .args(["--root", site.to_str().unwrap(), "serve", "--port", "0"])
            .args(["--now", "2026-11-28T12:00"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("aushang serve");
        let (tx, lines) = std::sync::mpsc::channel();
        let out = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut server = Server {
            child,
            url: String::new(),
            first_line: String::new(),
            lines,
        };
        server.first_line = server.line_containing(&["Website erstellt"]);
        let address = server.line_containing(&["Vorschau: "]);
        server.url = address
            .trim_start_matches("Vorschau: ")
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_string();
        server
    }

    fn line_containing(&mut self, any: &[&str]) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(120)) {
                Ok(line) if any.iter().any(|a| line.contains(a)) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("no line with {any:?} in 120 s"),
                Err(RecvTimeoutError::Disconnected) => panic!("the server stopped"),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// The reload events an open tab receives.
struct Events {
    response: reqwest::Response,
    buffer: String,
    generation: u64,
}

impl Events {
    async fn connect(base: &str) -> Events {
        let response = reqwest::get(format!("{base}/_aushang/events"))
            .await
            .expect("event stream");
        let mut events = Events {
            response,
            buffer: String::new(),
            generation: 0,
        };
        events.next_after(0).await;
        events
    }

    /// Reads the events that came meanwhile (none are expected).
    async fn drain(&mut self) {
        while let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_millis(200), self.response.chunk()).await
        {
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
        let before = self.generation;
        while let Some(end) = self.buffer.find("\n\n") {
            let event: String = self.buffer.drain(..end + 2).collect();
            if let Some(g) = generation_of(&event) {
                self.generation = g;
            }
        }
        if self.generation != before {
            println!("(an extra reload event: generation {})", self.generation);
        }
    }

    /// Waits for an event with a generation after `after`.
    async fn next_after(&mut self, after: u64) {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if let Some(g) = generation_of(&event) {
                    self.generation = g;
                    if g > after {
                        return;
                    }
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(120), self.response.chunk())
                .await
                .expect("a reload event within 120 s")
                .expect("event stream")
                .expect("event stream open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// `data: {"generation":7,…}` → 7.
fn generation_of(event: &str) -> Option<u64> {
    event
        .split("\"generation\":")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
