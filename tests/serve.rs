//! `aushang serve` through the real binary over HTTP: the preview additions exist only in what
//! the server sends (never in `aushang build` output), errors replace pages until fixed, each
//! notice has a broadcast preview page, reload events follow rebuilds. The browser side is in
//! tests/browser/ (run by scripts/test).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

mod common;
use common::{example_copy, files_under};

const NOW: &str = "2026-11-28T12:00";
const NOTICE: &str = "/bekanntmachungen/2026/stromabschaltung-birkenstrasse/";
const FILE: &str = "content/notices/2026/2026-11-25-stromabschaltung-birkenstrasse.md";
/// What marks the preview's additions in a page.
const PREVIEW_MARKERS: [&str; 3] = ["/_aushang/", "aushang-vorschau", "EventSource"];

/// A running `aushang serve`; stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(site: &Path) -> Server {
        let mut child = Command::cargo_bin("aushang")
            .unwrap()
            .args(["--root", site.to_str().unwrap(), "serve", "--port", "0"])
            .args(["--now", NOW])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("serve printed its address").unwrap();
            if let Some(rest) = line.strip_prefix("Vorschau: ") {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string();
            }
        };
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, url }
    }
}

impl Drop for Server {
    /// SIGTERM, as a terminal or CI would send, so the server removes its temporary folder.
    fn drop(&mut self) {
        let terminated = Command::new("kill")
            .arg(self.child.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        if !terminated {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

async fn get(url: &str) -> (u16, String) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// Polls `url` until `ok` holds for its answer, for at most 10 seconds.
async fn wait_for(url: &str, ok: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let started = Instant::now();
    loop {
        let (status, body) = get(url).await;
        if ok(status, &body) || started.elapsed() > Duration::from_secs(10) {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn build_output_never_has_the_preview_script_but_served_pages_do() {
    let site = example_copy();
    let out = site.path().join("public");
    Command::cargo_bin("aushang")
        .unwrap()
        .args([
            "--root",
            site.path().to_str().unwrap(),
            "build",
            "--now",
            NOW,
        ])
        .output()
        .unwrap();
    let files = files_under(&out);
    assert!(files.len() > 20, "{files:?}");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for marker in PREVIEW_MARKERS {
            assert!(!text.contains(marker), "{} contains {marker}", f.display());
        }
    }

    let server = Server::start(site.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for (path, file) in [
            ("/", "index.html"),
            (NOTICE, &format!("{}index.html", &NOTICE[1..])),
        ] {
            let (status, served) = get(&format!("{}{path}", server.url)).await;
            assert_eq!(status, 200);
            for marker in PREVIEW_MARKERS[..2].iter() {
                assert!(served.contains(marker), "{path} is served without {marker}");
            }
            // Apart from the added lines the page is exactly what `aushang build` writes.
            let without: String = served
                .split_inclusive('\n')
                .filter(|l| !PREVIEW_MARKERS.iter().any(|m| l.contains(m)))
                .collect();
            let built = std::fs::read_to_string(out.join(file)).unwrap();
            assert_eq!(without, built, "{path}");
        }
    });
}

#[test]
fn errors_replace_pages_until_fixed_and_each_notice_has_a_message_preview() {
    let site = example_copy();
    let server = Server::start(site.path());
    let base = server.url.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (status, page) = get(&format!("{base}{NOTICE}")).await;
        assert_eq!(status, 200);
        assert!(page.contains(&format!("href=\"/_vorschau{NOTICE}\"")), "{page}");

        let (status, preview) = get(&format!("{base}/_vorschau{NOTICE}")).await;
        assert_eq!(status, 200);
        assert!(preview.contains("Neue Bekanntmachung der Stadt Musterbach: Stromabschaltung"));
        assert!(preview.contains("[ Bekanntmachung lesen ] → https://www.musterbach.example/bekanntmachungen/2026/stromabschaltung-birkenstrasse/"));
        let (status, _) = get(&format!("{base}/_vorschau/gibt/es/nicht/")).await;
        assert_eq!(status, 404);
        let (status, missing) = get(&format!("{base}/gibt/es/nicht/")).await;
        assert_eq!(status, 404);
        assert!(missing.contains("Seite nicht gefunden"));

        // The reload stream starts with the current generation.
        let mut events = reqwest::get(format!("{base}/_aushang/events")).await.unwrap();
        let first = String::from_utf8(events.chunk().await.unwrap().unwrap().to_vec()).unwrap();
        assert!(
            first.contains("event: generation\ndata: {\"generation\":1,\"paths\":null}"),
            "{first}"
        );

        let file = site.path().join(FILE);
        let original = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, original.replacen("title: ", "titel: ", 1)).unwrap();
        let (status, error_page) = wait_for(&format!("{base}{NOTICE}"), |s, _| s == 500).await;
        assert_eq!(status, 500, "{error_page}");
        assert!(error_page.contains(&format!("{FILE}:2:1")), "{error_page}");
        assert!(error_page.contains("/_aushang/live.js"), "the error page reloads itself");
        // The stream tells open tabs to reload.
        let next = tokio::time::timeout(Duration::from_secs(10), events.chunk())
            .await
            .expect("a reload event")
            .unwrap()
            .unwrap();
        assert!(String::from_utf8_lossy(&next).contains("\"generation\":2"));
        // Style sheets still come from the last good build, so the error page is not all there is.
        let (status, _) = get(&format!("{base}/favicon.svg")).await;
        assert_eq!(status, 200);

        std::fs::write(&file, original.replacen("title: ", "title: Wieder da – ", 1)).unwrap();
        let (status, page) = wait_for(&format!("{base}{NOTICE}"), |s, _| s == 200).await;
        assert_eq!(status, 200);
        assert!(page.contains("<h1>Wieder da – "), "{page}");
    });
}

/// The reload event of an edit comes only after every page that shows the notice is written, and
/// those pages are then exactly what `aushang build` writes for the edited site.
#[test]
fn an_edit_reloads_only_after_its_dependent_pages_are_written_with_build_bytes() {
    let site = example_copy();
    let server = Server::start(site.path());
    let base = server.url.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pages = [
        NOTICE,
        "/",
        "/kategorie/versorgung/",
        "/archiv/2026/",
        "/atom.xml",
        "/kategorie/versorgung/atom.xml",
    ];
    rt.block_on(async {
        let mut events = reqwest::get(format!("{base}/_aushang/events"))
            .await
            .unwrap();
        events.chunk().await.unwrap().unwrap();

        let file = site.path().join(FILE);
        let original = std::fs::read_to_string(&file).unwrap();
        std::fs::write(
            &file,
            original.replacen("summary: Am Donnerstag", "summary: Neu am Donnerstag", 1),
        )
        .unwrap();
        let event = tokio::time::timeout(Duration::from_secs(10), events.chunk())
            .await
            .expect("a reload event")
            .unwrap()
            .unwrap();
        let event = String::from_utf8_lossy(&event).to_string();
        for page in pages {
            assert!(event.contains(&format!("\"{page}\"")), "{page} in {event}");
        }
        // No waiting: the event itself says the pages are there.
        for page in pages {
            let (status, body) = get(&format!("{base}{page}")).await;
            assert_eq!(status, 200, "{page}");
            assert!(body.contains("Neu am Donnerstag"), "{page} shows the edit");
        }

        let out = tempfile::tempdir().unwrap();
        let built = Command::cargo_bin("aushang")
            .unwrap()
            .args([
                "--root",
                site.path().to_str().unwrap(),
                "build",
                "--now",
                NOW,
            ])
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        assert!(built.status.success(), "{built:?}");
        for page in pages {
            let (_, served) = get(&format!("{base}{page}")).await;
            let without: String = served
                .split_inclusive('\n')
                .filter(|l| !PREVIEW_MARKERS.iter().any(|m| l.contains(m)))
                .collect();
            let file = if page.ends_with('/') {
                format!("{}index.html", &page[1..])
            } else {
                page[1..].to_string()
            };
            let expected = std::fs::read_to_string(out.path().join(file)).unwrap();
            assert_eq!(without, expected, "{page}");
        }
    });
}
