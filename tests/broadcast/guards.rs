//! Guards end to end: one run per site (the lock), no real channel with the example site's demo
//! key, and the link pre-flight against a real local web server.

use std::path::Path;
use std::time::{Duration, Instant};

use aushang::lock::SiteLock;
use aushang::subscribers::{Identity, SubscriberList, demo_identity_path};

use crate::support::*;

const NOTICE: &str = "title: Biotonne im Bezirk Nord\n\
    date: 2026-11-28 08:00\n\
    summary: Die Abfuhr verschiebt sich auf Samstag.";

#[test]
fn a_second_run_is_refused_at_once_while_the_site_is_locked() {
    let fake = Fake::healthy();
    let site = Site::new(Settings::new(&fake.api_url()), actives(2));
    site.notice("2026-11-28-biotonne-nord", NOTICE);
    let lock = SiteLock::acquire(&site.root).unwrap();
    let started = Instant::now();
    let refused = site.broadcast(&["--now", "2026-11-28 10:00"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused at once, not queued"
    );
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("ein anderer aushang-Lauf arbeitet gerade an dieser Website"),
        "{refused:?}"
    );
    assert!(
        refused
            .stderr
            .contains(&format!("pid {}", std::process::id())),
        "{refused:?}"
    );
    assert_eq!(fake.graph().stats().requests, 0);
    assert!(
        !site.journal_dir().exists(),
        "a refused run writes no journal"
    );

    drop(lock);
    let run = site.broadcast(&["--now", "2026-11-28 10:00"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fake.messages().len(), 2);
    site.assert_files_leak_free();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn the_example_site_with_its_demo_key_refuses_a_real_channel() {
    let fake = Fake::healthy();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for sub in ["content", "static", "templates"] {
        copy_dir(&repo.join(sub), &root.join(sub));
    }
    copy_dir(&repo.join("subscribers"), &root.join("subscribers"));
    let _ = std::fs::remove_dir_all(root.join("subscribers/journal"));
    // the example's ids, but pointing at the fake: if the guard failed, the fake would see it
    let yaml = std::fs::read_to_string(repo.join("aushang.yaml")).unwrap();
    let pointed = yaml.replacen(
        "phone_number_id: \"100000000000001\"",
        &format!(
            "phone_number_id: \"100000000000001\"\n      api_url: \"{}\"",
            fake.api_url()
        ),
        1,
    );
    assert_ne!(pointed, yaml);
    std::fs::write(root.join("aushang.yaml"), pointed).unwrap();
    let demo_key = demo_identity_path(&root.join("subscribers"));
    let demo_numbers: Vec<String> = SubscriberList::load(
        &root.join("subscribers"),
        &Identity::from_file(&demo_key).unwrap(),
    )
    .unwrap()
    .subscribers()
    .iter()
    .map(|s| s.address.clone())
    .collect();
    assert!(!demo_numbers.is_empty());

    for channel in [&["--channel", "whatsapp"][..], &[][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_aushang"))
            .arg("--root")
            .arg(root)
            .args(["broadcast", "--no-link-check", "--now", "2026-11-28 09:00"])
            .args(channel)
            .env("WHATSAPP_TOKEN", TOKEN)
            .env("AUSHANG_IDENTITY_FILE", &demo_key)
            .env_remove("AUSHANG_IDENTITY")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        for n in &demo_numbers {
            let national = &n[3..];
            assert!(
                !stdout.contains(national) && !stderr.contains(national),
                "a demo number leaked"
            );
        }
        assert_ne!(
            out.status.code(),
            Some(0),
            "{channel:?}: {stdout}\n{stderr}"
        );
        assert!(
            stderr.contains("DEMO-Schlüssel")
                && stderr.contains("auf einem echten Kanal wird nicht gesendet"),
            "{channel:?}: {stderr}"
        );
    }
    assert_eq!(fake.graph().stats().requests, 0);
    assert!(!root.join("subscribers/journal").exists());
    assert!(!root.join("outbox").exists());
}

/// Serves `public/` of the site on `listener` (axum + tower-http ServeDir) on the fake's runtime.
fn serve(fake: &Fake, listener: tokio::net::TcpListener, public: &Path) {
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(public));
    fake.runtime().spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

#[test]
fn the_link_pre_flight_sends_only_notices_whose_page_answers_200() {
    let fake = Fake::healthy();
    let listener = fake
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = Settings::new(&fake.api_url());
    settings.base_url = format!("http://127.0.0.1:{port}/");
    settings.link_check_timeout = "2s".into();
    let site = Site::new(settings, actives(2));
    site.notice("2026-11-28-online", NOTICE);
    site.notice(
        "2026-11-28-noch-nicht-online",
        &NOTICE.replace("Biotonne", "Gelbe Tonne"),
    );
    let build = site.run(&["build", "--now", "2026-11-28 10:00"]);
    assert_eq!(build.code, 0, "{build:?}");
    let public = site.root.join("public");
    let missing = public.join("bekanntmachungen/2026/noch-nicht-online");
    assert!(missing.join("index.html").exists());
    // the deploy of this page has not finished yet
    std::fs::remove_dir_all(&missing).unwrap();
    serve(&fake, listener, &public);

    let run = site.broadcast_with_link_check(&["--now", "2026-11-28 10:00"]);
    assert_eq!(
        run.code, 2,
        "a notice was held back, so CI shows red: {run:?}"
    );
    assert!(
        run.stdout.contains("Link-Prüfung fehlgeschlagen"),
        "{run:?}"
    );
    assert!(run.stdout.contains("404"), "{run:?}");
    // one line per notice while waiting for its page, not a progress stream
    let waiting: Vec<_> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("Link-Prüfung: warte bis zu 2 s auf "))
        .collect();
    assert_eq!(waiting.len(), 2, "{run:?}");
    assert!(!run.stderr.contains("0 von 0"), "{run:?}");
    assert!(
        !run.stderr.contains('\u{1b}'),
        "no colours into a pipe: {run:?}"
    );
    let online = fake
        .messages()
        .iter()
        .filter(|m| m.button_suffix.as_deref() == Some("bekanntmachungen/2026/online/"))
        .count();
    assert_eq!(online, 2);
    assert_eq!(
        fake.messages().len(),
        2,
        "nothing with a dead link went out"
    );
    assert!(site.delivery_lines(&key("noch-nicht-online")).is_empty());

    // the deploy finished: the next run sends the held-back notice and nothing twice
    assert_eq!(site.run(&["build", "--now", "2026-11-28 10:00"]).code, 0);
    let next = site.broadcast_with_link_check(&["--now", "2026-11-28 10:10"]);
    assert_eq!(next.code, 0, "{next:?}");
    assert_eq!(fake.messages().len(), 4);
    assert!(counts(&site, &fake.messages()).iter().all(|(_, n)| *n == 2));
    site.assert_files_leak_free();
}
