//! What reaches `public/` and when: a scheduled notice's or a draft's files stay out until the
//! notice is public, hidden files under `static/` never get there, and a build that fails or is
//! killed leaves the previous `public/` (or none) — never a half-written one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;

mod common;
use common::{example_copy, files_under};

fn aushang(site: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("aushang")
        .unwrap()
        .arg("--root")
        .arg(site)
        .args(args)
        .output()
        .unwrap()
}

fn build(site: &Path, now: &str, extra: &[&str]) {
    let mut args = vec!["build", "--now", now];
    args.extend_from_slice(extra);
    let out = aushang(site, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Adds `lines` to the front matter of the notice file `name` (under content/notices/2026/).
fn add_front_matter(site: &Path, name: &str, lines: &str) {
    let file = site.join("content/notices/2026").join(name);
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text.replacen("---\n", &format!("---\n{lines}"), 1);
    std::fs::write(&file, text).unwrap();
}

const SCHEDULED: &str = "2026-12-01-weihnachtsmarkt.md";
const DRAFT_PREFIX: &str = "oeffnungszeiten-buergerbuero";

fn draft_file(site: &Path) -> String {
    std::fs::read_dir(site.join("content/notices/2026"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.contains(DRAFT_PREFIX))
        .expect("the example has a draft")
}

#[test]
fn a_scheduled_notices_and_a_drafts_files_are_published_only_with_the_notice() {
    let site = example_copy();
    let root = site.path();
    for f in [
        "dokumente/standplan.pdf",
        "dokumente/gemeinsam.pdf",
        "bilder/neu.png",
    ] {
        let path = root.join("static").join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"%PDF-1.4\n").unwrap();
    }
    // The scheduled notice (1 December) has a plan of its own and one shared with a public notice.
    add_front_matter(
        root,
        SCHEDULED,
        "attachments:\n  - file: dokumente/standplan.pdf\n    label: Standplan\n  - file: dokumente/gemeinsam.pdf\n    label: Gemeinsam\n",
    );
    let council = root.join("content/notices/2026/2026-11-20-ratssitzung-dezember.md");
    let text = std::fs::read_to_string(&council).unwrap().replace(
        "attachments:\n",
        "attachments:\n  - file: dokumente/gemeinsam.pdf\n    label: Gemeinsam\n",
    );
    std::fs::write(&council, text).unwrap();
    let draft = draft_file(root);
    add_front_matter(
        root,
        &draft,
        "image: bilder/neu.png\nimage_alt: Das neue Bürgerbüro\n",
    );

    let public = root.join("public");
    build(root, "2026-11-28T12:00", &[]);
    assert!(
        !public.join("dokumente/standplan.pdf").exists(),
        "embargoed"
    );
    assert!(!public.join("bilder/neu.png").exists(), "the draft's image");
    assert!(
        public.join("dokumente/gemeinsam.pdf").is_file(),
        "a public notice uses it too"
    );
    assert!(
        public
            .join("dokumente/2026-12-10-tagesordnung-stadtrat.pdf")
            .is_file()
    );

    // With drafts (a preview) the draft's image is there; once the time has come, the plan too.
    build(root, "2026-12-01T08:00", &["--drafts"]);
    assert!(public.join("bilder/neu.png").is_file());
    build(root, "2026-12-01T08:00", &[]);
    assert!(public.join("dokumente/standplan.pdf").is_file());
    assert!(!public.join("bilder/neu.png").exists());
}

#[test]
fn hidden_files_under_static_are_never_published_and_check_warns() {
    let site = example_copy();
    let root = site.path();
    for (f, text) in [
        (".env", "WHATSAPP_TOKEN=geheim"),
        (".git/config", "[core]"),
        ("bilder/.DS_Store", "x"),
        ("dokumente/.gitkeep", ""),
        (
            ".well-known/security.txt",
            "Contact: mailto:rathaus@musterbach.example",
        ),
    ] {
        let path = root.join("static").join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    build(root, "2026-11-28T12:00", &[]);
    let public = root.join("public");
    for f in [".env", ".git", "bilder/.DS_Store", "dokumente/.gitkeep"] {
        assert!(!public.join(f).exists(), "{f} was published");
    }
    assert!(public.join(".well-known/security.txt").is_file());
    for file in files_under(&public) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(!text.contains("geheim"), "{}", file.display());
    }

    let out = aushang(root, &["check"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "warnings only: {all}");
    assert!(all.contains("static/.env"), "{all}");
    assert!(all.contains("static/.git/"), "{all}");
    assert!(all.contains("static/bilder/.DS_Store"), "{all}");
    assert!(!all.contains(".gitkeep"), "placeholders are no news: {all}");
    assert!(!all.contains("security.txt"), "{all}");
}

#[test]
fn a_failed_build_leaves_the_previous_public_folder_as_it_was() {
    let site = example_copy();
    let root = site.path();
    let public = root.join("public");
    // One notice page fails to render; every other page would be written before it is noticed.
    std::fs::write(
        root.join("templates/notice.html"),
        "{% extends \"base.html\" %}{% block main %}{% if notice.slug == \"weihnachtsmarkt\" %}{{ kaputt }}{% endif %}<h1>{{ notice.title }}</h1>{% endblock main %}",
    )
    .unwrap();
    let first = aushang(root, &["build", "--now", "2026-12-01T08:00"]);
    assert!(!first.status.success());
    assert!(!public.exists(), "a failed first build leaves no public/");

    build(root, "2026-11-28T12:00", &[]);
    let before: Vec<(PathBuf, Vec<u8>)> = files_under(&public)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(&f).unwrap()))
        .collect();
    std::fs::remove_file(root.join("content/pages/impressum.md")).unwrap();
    let again = aushang(root, &["build", "--now", "2026-12-01T08:00"]);
    assert!(!again.status.success());
    let after: Vec<(PathBuf, Vec<u8>)> = files_under(&public)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(&f).unwrap()))
        .collect();
    assert!(before == after, "public/ changed by a failed build");
    let left: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("aushang-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_killed_first_build_leaves_no_partial_public_folder() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let made = Command::cargo_bin("aushang-dev")
        .unwrap()
        .args([
            "gen-corpus",
            "--out",
            site.to_str().unwrap(),
            "--notices",
            "2000",
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let public = site.join("public");
    let stage = site.join(".public.aushang-stage");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("aushang"))
        .arg("--root")
        .arg(&site)
        .args(["build", "--now", "2026-12-01T08:00"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed while it writes pages: as soon as some have been written, wherever they are.
    let started = Instant::now();
    let count = |d: &Path| walkdir::WalkDir::new(d).into_iter().take(200).count();
    let killed = loop {
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        if count(&public) > 100 || count(&stage) > 100 {
            child.kill().unwrap();
            child.wait().unwrap();
            break true;
        }
        assert!(started.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(1));
    };
    assert!(killed, "the build finished before it could be killed");
    assert!(
        !public.exists(),
        "a killed first build left a partial public/"
    );

    // The next build clears what the killed one left and swaps in a complete folder.
    build(&site, "2026-12-01T08:00", &[]);
    assert!(public.join("index.html").is_file() && public.join("404.html").is_file());
    assert!(!stage.exists());
}
