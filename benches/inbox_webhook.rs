//! Load benchmark of the inbox's webhook endpoint: signed status callbacks (one status per
//! request, as a 1,000 msg/s broadcast produces ~3,000/s) against the real server on 127.0.0.1,
//! for a bounded time and count. Reports throughput, latency percentiles and whether every
//! accepted event is on disk (encrypted). Figures go into benches/INBOX.md.
//!
//! `cargo bench --bench inbox_webhook` — knobs: INBOX_BENCH_SECS (10), INBOX_BENCH_CONCURRENCY
//! (64), INBOX_BENCH_MAX (100000 requests), INBOX_BENCH_DIR (where the data dir goes; default a
//! temp dir — put it on the disk the server would use, since every event is fsynced).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aushang::inbox::start;
use aushang::inbox::webhook::sign;

mod common;
use common::{APP_SECRET, env_num};

fn status_body(n: u64) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"200000000000002","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"4923991230","phone_number_id":"100000000000001"}},"statuses":[{{"id":"wamid.BENCH{n:012}","status":"delivered","timestamp":"1795880000","recipient_id":"4915200000101","biz_opaque_callback_data":"m=/bekanntmachungen/2026/x/#notice;s=s_{n:016x};a=1","pricing":{{"billable":true,"pricing_model":"PMP","type":"regular","category":"utility"}}}}]}}}}]}}]}}"#
    )
}

fn main() {
    let secs = env_num::<u64>("INBOX_BENCH_SECS", 10).min(60);
    let concurrency = env_num::<u64>("INBOX_BENCH_CONCURRENCY", 64).clamp(1, 1024);
    let max = env_num::<u64>("INBOX_BENCH_MAX", 100_000).min(1_000_000);
    let base = std::env::var_os("INBOX_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::tempdir_in(base).unwrap();
    let root = tmp.path().join("site");
    let (config, identity) = common::write_inbox_site(&root, "");
    let data = tmp.path().join("inbox-data");
    let secrets = common::secrets();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (latencies, ok, failed, elapsed) = runtime.block_on(async {
        let server = start(config, secrets, &data, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let url = format!("{}/webhooks/whatsapp", server.url());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency as usize)
            .build()
            .unwrap();
        let next = Arc::new(AtomicU64::new(0));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = started + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (client, url, next, ok, failed) = (
                client.clone(),
                url.clone(),
                next.clone(),
                ok.clone(),
                failed.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= max || Instant::now() >= deadline {
                        break;
                    }
                    let body = status_body(n);
                    let signature = sign(APP_SECRET.as_bytes(), body.as_bytes());
                    let t = Instant::now();
                    let r = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", signature)
                        .body(body)
                        .send()
                        .await;
                    lat.push(t.elapsed());
                    match r {
                        Ok(resp) if resp.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let elapsed = started.elapsed();
        server.shutdown().await.unwrap();
        (
            all,
            ok.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
            elapsed,
        )
    });

    let mut sorted = latencies;
    sorted.sort();
    let pct = |p: f64| {
        sorted
            .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let files = std::fs::read_dir(data.join("events")).unwrap().count() as u64;
    let sample = std::fs::read_dir(data.join("events"))
        .unwrap()
        .next()
        .map(|e| e.unwrap().path());
    let readable = sample.is_some_and(|p| {
        let bytes = std::fs::read(&p).unwrap();
        aushang::subscribers::store::decrypt(&bytes, &identity, &p).is_ok()
    });
    println!(
        "inbox webhook benchmark: {secs} s max, concurrency {concurrency}, one status per request"
    );
    println!(
        "requests: {} ok, {failed} failed, in {:.2} s = {:.0} req/s",
        ok,
        elapsed.as_secs_f64(),
        ok as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.95).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        sorted.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    println!(
        "stored: {files} encrypted event files for {ok} accepted requests ({}), sample decrypts: {readable}",
        if files == ok {
            "all stored"
        } else {
            "MISMATCH"
        }
    );
}
