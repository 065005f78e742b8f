//! The inbox under hostile load (issue 13, item 7): honest signed webhooks and sign-ups next to
//! slow-header clients (slowloris), clients that announce a 3 MB body and trickle it, unsigned
//! 3 MB posts, and a flood of invalid sign-ups. Reports the honest clients' throughput and
//! p50/p99, what the hostile ones got, how often `memory.json` was written, and the peak RSS of
//! the process (server and all clients; the hostile clients hold almost nothing themselves).
//!
//! `cargo bench --bench inbox_hostile` — knobs: INBOX_HOSTILE_SECS (12, longer than the 10 s
//! header timeout), INBOX_HOSTILE_SLOW
//! (200 slow-header connections), INBOX_HOSTILE_BIG (150 trickling 3 MB bodies),
//! INBOX_HOSTILE_HONEST (16 honest keep-alive clients). Short on purpose (2 shared cores).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aushang::inbox::start;
use aushang::inbox::webhook::sign;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use common::{APP_SECRET, env_num};

fn status_body(n: u64) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"200000000000002","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"4923991230","phone_number_id":"100000000000001"}},"statuses":[{{"id":"wamid.HOSTILE{n:012}","status":"delivered","timestamp":"1795880000","recipient_id":"4915200000101"}}]}}}}]}}]}}"#
    )
}

/// Peak and current resident set size of this process, in MiB.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    busy: AtomicU64,
    other: AtomicU64,
}

fn main() {
    let secs = env_num::<u64>("INBOX_HOSTILE_SECS", 12).min(60);
    let slow = env_num::<u64>("INBOX_HOSTILE_SLOW", 200);
    let big = env_num::<u64>("INBOX_HOSTILE_BIG", 150);
    let honest = env_num::<u64>("INBOX_HOSTILE_HONEST", 16).max(1);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("site");
    let (config, _) = common::write_inbox_site(
        &root,
        "  signups_per_ip_per_hour: 100000\n  signups_per_hour: 100000\n",
    );
    let data = tmp.path().join("inbox-data");
    let secrets = common::secrets();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (rss_before, _) = rss_mib();
    runtime.block_on(async move {
        let server = start(config, secrets, &data, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = server.addr();
        let url = server.url();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(secs);

        // Slowloris: one header byte every 500 ms; reconnect when the server cuts it off.
        let cut_off = Arc::new(AtomicU64::new(0));
        for _ in 0..slow {
            let cut_off = cut_off.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    };
                    for b in b"GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter().cycle() {
                        if Instant::now() >= deadline || s.write_all(&[*b]).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    cut_off.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        // Oversized: announce 3 MB with a well-formed (wrong) signature, trickle 64 KiB / 100 ms;
        // every other one is unsigned.
        let big_tally = Arc::new(Tally::default());
        for i in 0..big {
            let tally = big_tally.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    };
                    let sig = if i % 2 == 0 {
                        format!("x-hub-signature-256: sha256={}\r\n", "ab".repeat(32))
                    } else {
                        String::new()
                    };
                    let head = format!(
                        "POST /webhooks/whatsapp HTTP/1.1\r\nhost: x\r\n{sig}content-type: application/json\r\ncontent-length: 3000000\r\n\r\n"
                    );
                    if s.write_all(head.as_bytes()).await.is_err() {
                        continue;
                    }
                    let chunk = vec![b' '; 64 * 1024];
                    let (mut rd, mut wr) = s.into_split();
                    let writer = tokio::spawn(async move {
                        for _ in 0..46 {
                            if wr.write_all(&chunk).await.is_err() {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    });
                    let mut buf = [0u8; 64];
                    let n = tokio::time::timeout(Duration::from_secs(30), rd.read(&mut buf))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or(0);
                    writer.abort();
                    let line = String::from_utf8_lossy(&buf[..n]);
                    let t = if line.starts_with("HTTP/1.1 503") {
                        &tally.busy
                    } else if line.starts_with("HTTP/1.1 4") {
                        &tally.ok // refused as it should be
                    } else {
                        &tally.other
                    };
                    t.fetch_add(1, Ordering::Relaxed);
                    // many slow clients, not a CPU flood: each comes back after a pause
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
        // A flood of invalid sign-ups (each used to rewrite and fsync memory.json).
        let flood = Arc::new(AtomicU64::new(0));
        for _ in 0..4 {
            let (flood, url) = (flood.clone(), url.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                while Instant::now() < deadline {
                    let _ = client
                        .post(format!("{url}/signup"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body("nummer=0301&einwilligung=ja&fassung=v1")
                        .send()
                        .await;
                    flood.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        // Peak RSS sampler.
        let peak = Arc::new(AtomicU64::new(0));
        {
            let peak = peak.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let (_, now) = rss_mib();
                    peak.fetch_max(now as u64, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
        // Honest clients: signed status webhooks, keep-alive.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let honest_tally = Arc::new(Tally::default());
        let next = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..honest {
            let (tally, next, url) = (honest_tally.clone(), next.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let body = status_body(n);
                    let signature = sign(APP_SECRET.as_bytes(), body.as_bytes());
                    let t = Instant::now();
                    let r = client
                        .post(format!("{url}/webhooks/whatsapp"))
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", signature)
                        .body(body)
                        .send()
                        .await;
                    lat.push(t.elapsed());
                    let t = match r.map(|r| r.status().as_u16()) {
                        Ok(200) => &tally.ok,
                        Ok(503) => &tally.busy,
                        _ => &tally.other,
                    };
                    t.fetch_add(1, Ordering::Relaxed);
                }
                lat
            }));
        }
        let honest_started = Instant::now();
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap());
        }
        let honest_elapsed = honest_started.elapsed();
        lat.sort();
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e3
        };
        let (hwm, _) = rss_mib();
        let ok = honest_tally.ok.load(Ordering::Relaxed);
        println!(
            "inbox under hostile load: {secs} s; {slow} slow-header connections, {big} trickling 3 MB bodies (half unsigned), 4 invalid sign-up loops, {honest} honest clients"
        );
        println!(
            "honest: {ok} ok, {} busy (503), {} other, {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            honest_tally.busy.load(Ordering::Relaxed),
            honest_tally.other.load(Ordering::Relaxed),
            ok as f64 / honest_elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
        );
        println!(
            "hostile: slow headers cut off {} times; 3 MB bodies: {} refused (4xx), {} busy (503), {} other; {} invalid sign-ups",
            cut_off.load(Ordering::Relaxed),
            big_tally.ok.load(Ordering::Relaxed),
            big_tally.busy.load(Ordering::Relaxed),
            big_tally.other.load(Ordering::Relaxed),
            flood.load(Ordering::Relaxed)
        );
        println!(
            "memory.json written {} times in {secs} s",
            server.memory_writes()
        );
        println!(
            "memory: peak RSS {hwm:.0} MiB (sampled max {} MiB; {rss_before:.0} MiB before the server started)",
            peak.load(Ordering::Relaxed)
        );
        drop(server);
    });
}
