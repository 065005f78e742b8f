//! E-mail benchmark: the real `aushang broadcast --channel email` process (release build) sends
//! one notice to N `channel: email` subscribers from an encrypted list through its SMTP
//! connection pool to a real local SMTP server (aiosmtpd, `tests/smtp/server.py` in discard
//! mode: it only logs each recipient), then checks that every address got exactly one mail.
//!
//! `cargo bench --bench email_send` — env BENCH_MAILS (default 10000, comma-separated for several
//! sizes, e.g. "2000,10000"), BENCH_RATE (messages_per_second, default 5000: the limiter is not
//! what is measured), BENCH_CONCURRENCY (pooled connections, default 8), SMTP_PYTHON (default
//! target/smtp-venv/bin/python, which `scripts/test` installs). Prints mails per second and the
//! broadcast process's peak memory (from /usr/bin/time -v) per size: memory should stay flat as
//! the list grows. The SMTP server is single-threaded Python and shares the machine, so the rate
//! is a floor for aushang, not its ceiling.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aushang::subscribers::Channel;

mod common;
use common::env;

fn python() -> PathBuf {
    std::env::var_os("SMTP_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/smtp-venv/bin/python"),
        PathBuf::from,
    )
}

fn write_site(root: &Path, port: u16, mails: usize, rate: u32, concurrency: u32) -> String {
    std::fs::create_dir_all(root.join("content/notices")).unwrap();
    std::fs::write(
        root.join("aushang.yaml"),
        format!(
            "title: Benchmark\nbase_url: https://bench.example/\n\
             broadcast:\n  quiet_hours: \"off\"\n  channels:\n    email:\n      host: 127.0.0.1\n\
             \x20     port: {port}\n      security: none\n      from: \"Bench <bench@bench.example>\"\n\
             \x20     messages_per_second: {rate}\n      concurrency: {concurrency}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("content/notices/2026-11-28-sperrung.md"),
        "---\ntitle: Sperrung der Hauptstraße\ndate: 2026-11-28 09:00\nsummary: Die Hauptstraße ist am 3. Dezember gesperrt.\n---\nText.\n",
    )
    .unwrap();
    let list = (0..mails)
        .map(|i| common::subscriber(i, Channel::Email, format!("person{i}@bench.example")))
        .collect();
    common::write_encrypted_list(root, list)
}

fn main() {
    let sizes: Vec<usize> = env("BENCH_MAILS", "10000")
        .split(',')
        .map(|s| s.trim().parse().expect("BENCH_MAILS: numbers"))
        .collect();
    let rate: u32 = env("BENCH_RATE", "5000").parse().unwrap();
    let concurrency: u32 = env("BENCH_CONCURRENCY", "8").parse().unwrap();
    let binary = env("BENCH_AUSHANG", env!("CARGO_BIN_EXE_aushang"));
    println!("binary {binary}; rate {rate}, concurrency {concurrency}");
    println!("| mails | received | wall s | mails/s | peak RSS MB | load |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let maildir = tempfile::tempdir().unwrap();
        std::fs::write(maildir.path().join("control.json"), r#"{"discard": true}"#).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Command::new(python())
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py"))
            .arg(port.to_string())
            .arg(maildir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("aiosmtpd: python3 -m venv target/smtp-venv && target/smtp-venv/bin/pip install aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let site = tempfile::tempdir().unwrap();
        let secret = write_site(site.path(), port, n, rate, concurrency);
        let started = Instant::now();
        let peak_kb = run_broadcast(&binary, site.path(), &secret);
        let wall = started.elapsed().as_secs_f64();
        let log = std::fs::read_to_string(maildir.path().join("received.log")).unwrap_or_default();
        let received: Vec<&str> = log.lines().collect();
        let unique: std::collections::HashSet<&str> = received.iter().copied().collect();
        let _ = server.kill();
        let _ = server.wait();
        assert_eq!(received.len(), n, "every subscriber gets a mail");
        assert_eq!(unique.len(), n, "nobody gets two");
        let load = common::load_average();
        println!(
            "| {n} | {} | {wall:.1} | {:.0} | {:.1} | {} |",
            received.len(),
            n as f64 / wall,
            peak_kb / 1024.0,
            load.split_whitespace().next().unwrap_or("?")
        );
    }
}

/// Runs `aushang broadcast --channel email` under `/usr/bin/time -v`; returns the peak RSS in KiB.
fn run_broadcast(binary: &str, root: &Path, secret: &str) -> f64 {
    let mut command = common::broadcast_command(binary, root, secret, "email");
    command.env_remove("AUSHANG_INBOX_TOKEN_SECRET");
    common::peak_rss_kib(command)
}
