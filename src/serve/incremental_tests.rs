//! Tests of partial rebuilds: after every kind of notice edit the preview folder holds exactly
//! what a full `aushang build` writes, and anything else falls back to the full rebuild.

use std::collections::BTreeMap;

use super::*;
use crate::serve::rebuild::{Clock, Settings};

const NOW: &str = "2026-11-28T12:00:00Z";

/// Three notices per page, two categories, two years: every edit below moves something
/// across a page boundary somewhere.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("aushang.yaml"),
        "title: Teststadt\nbase_url: https://www.teststadt.example/\nnotices_per_page: 3\n\
         categories:\n  - id: verkehr\n    name: Verkehr\n  - id: abfall\n    name: Abfall\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("content/pages")).unwrap();
    std::fs::write(
        root.join("content/pages/impressum.md"),
        "---\ntitle: Impressum\n---\nWer wir sind.\n",
    )
    .unwrap();
    for i in 0..14 {
        let year = if i < 9 { 2026 } else { 2025 };
        let category = if i % 3 == 0 { "abfall" } else { "verkehr" };
        let extra = match i {
            2 => "urgent: true\n",
            5 => "expires: 2026-11-01\n",
            7 => "aliases: [/alt/sieben/]\n",
            _ => "",
        };
        write(
            root,
            &format!("{year}/{year}-{:02}-10-meldung-{i}.md", 11 - (i % 9)),
            &format!(
                "---\ntitle: Meldung {i}\ndate: {year}-{:02}-10\nsummary: Kurz gesagt {i}.\n\
                 category: {category}\n{extra}---\nText {i}.\n",
                11 - (i % 9)
            ),
        );
    }
    dir
}

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let file = root.join("content/notices").join(rel);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, text).unwrap();
    file
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{text}");
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

fn workspace(root: &Path, out: &Path) -> Workspace {
    Workspace::new(Settings {
        root: root.canonicalize().unwrap(),
        out_dir: out.to_path_buf(),
        include_drafts: false,
        clock: Clock::Fixed(NOW.parse().unwrap()),
    })
}

/// What `aushang build` writes for the site now, file by file.
fn full_build(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let out = tempfile::tempdir().unwrap();
    let config = crate::config::load(root).unwrap();
    let (content, problems) = content::load(&config, &content::LoadOptions::default());
    assert!(!problems.iter().any(Problem::is_error), "{problems:?}");
    let opts = BuildOptions {
        out_dir: out.path().to_path_buf(),
        now: NOW.parse().unwrap(),
        include_drafts: false,
    };
    site::build(&config, &content, &opts).unwrap();
    tree(out.path())
}

fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

fn assert_same_as_full_build(what: &str, out: &Path, root: &Path) {
    let partial = tree(out);
    let full = full_build(root);
    let only_partial: Vec<_> = partial.keys().filter(|k| !full.contains_key(*k)).collect();
    let only_full: Vec<_> = full.keys().filter(|k| !partial.contains_key(*k)).collect();
    assert!(
        only_partial.is_empty() && only_full.is_empty(),
        "{what}: only in the preview {only_partial:?}, only in the build {only_full:?}"
    );
    for (file, bytes) in &full {
        assert!(
            partial[file] == *bytes,
            "{what}: {} differs from the full build",
            file.display()
        );
    }
}

#[test]
fn every_kind_of_notice_edit_gives_the_bytes_of_a_full_build() {
    let site = site();
    let root = site.path().canonicalize().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut ws = workspace(&root, out.path());
    let first = ws.rebuild(&[]);
    assert!(first.result.is_ok(), "{:?}", first.result);
    let total = first.result.as_ref().unwrap().pages_written;
    assert_same_as_full_build("first build", out.path(), &root);

    let n = |i: usize| {
        let year = if i < 9 { 2026 } else { 2025 };
        root.join(format!(
            "content/notices/{year}/{year}-{:02}-10-meldung-{i}.md",
            11 - (i % 9)
        ))
    };
    let mut step = |what: &str, changed: Vec<PathBuf>, max_rendered: usize| {
        let done = ws
            .partial(&changed)
            .unwrap_or_else(|| panic!("{what}: the partial rebuild applies"));
        assert!(
            done.rendered <= max_rendered && done.rendered < total,
            "{what}: {} of {total} files rendered",
            done.rendered
        );
        assert!(!done.changed.is_empty(), "{what}: nothing changed");
        assert_same_as_full_build(what, out.path(), &root);
        done
    };

    edit(&n(4), "Kurz gesagt 4.", "Ganz anders gesagt.");
    let done = step("summary", vec![n(4)], 8);
    // Its page, the list pages it is on (front, category, year), the feeds; not the others.
    let front_page = |p: &String| p == "/" || p.starts_with("/seite/");
    assert_eq!(
        done.changed.iter().filter(|p| front_page(p)).count(),
        1,
        "{:?}",
        done.changed
    );
    assert!(
        done.changed.iter().any(|p| p.contains("meldung-4")),
        "{:?}",
        done.changed
    );
    assert!(
        !done.changed.iter().any(|p| p.contains("meldung-3")),
        "{:?}",
        done.changed
    );
    assert_eq!(
        done.snapshot
            .content
            .notices
            .iter()
            .find(|x| x.slug == "meldung-4")
            .map(|x| x.summary.as_str()),
        Some("Ganz anders gesagt.")
    );

    edit(&n(1), "Text 1.", "Nur der Text ist neu.");
    let body = step("body only", vec![n(1)], 8);
    assert!(
        !body.changed.iter().any(front_page),
        "lists show no bodies: {:?}",
        body.changed
    );

    edit(&n(3), "title: Meldung 3", "title: Meldung drei");
    step("title", vec![n(3)], 12);
    edit(&n(0), "date: 2026-11-10", "date: 2026-04-01");
    step("date across page boundaries", vec![n(0)], 40);
    edit(&n(4), "category: verkehr", "category: abfall");
    step("category", vec![n(4)], 40);
    edit(
        &n(6),
        "category: abfall\n",
        "category: abfall\nurgent: true\n",
    );
    step("urgent", vec![n(6)], 40);
    let new = write(
        &root,
        "2026/2026-11-20-neu.md",
        "---\ntitle: Neu\ndate: 2026-11-20\nsummary: Ganz neu.\ncategory: verkehr\n---\nNeu.\n",
    );
    step("new notice", vec![new.clone()], 40);
    std::fs::remove_file(n(8)).unwrap();
    step("deleted notice", vec![n(8)], 40);
    let renamed = root.join("content/notices/2026/2026-05-10-umbenannt.md");
    std::fs::rename(n(2), &renamed).unwrap();
    let done = step("renamed file", vec![n(2), renamed.clone()], 40);
    assert!(
        done.changed.iter().any(|p| p.contains("meldung-2")),
        "the old page is deleted: {:?}",
        done.changed
    );
    edit(&n(7), "aliases: [/alt/sieben/]", "aliases: [/alt/7/]");
    step("alias", vec![n(7)], 40);
    edit(
        &n(1),
        "category: verkehr\n",
        "category: verkehr\nexpires: 2026-11-20\n",
    );
    step("expired", vec![n(1)], 40);
    edit(&new, "title: Neu\n", "title: Neu\ndraft: true\n");
    step("draft", vec![new.clone()], 40);
    edit(&n(9), "date: 2025-11-10", "date: 2024-11-10");
    step("another year", vec![n(9)], 40);
}

#[test]
fn anything_but_a_valid_notice_edit_needs_the_full_rebuild() {
    let site = site();
    let root = site.path().canonicalize().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut ws = workspace(&root, out.path());
    assert!(ws.partial(&[]).is_none(), "nothing built yet");
    assert!(ws.rebuild(&[]).result.is_ok());
    let notice = root.join("content/notices/2026/2026-11-10-meldung-0.md");

    assert!(ws.partial(&[root.join("aushang.yaml")]).is_none());
    assert!(
        ws.partial(&[root.join("content/pages/impressum.md")])
            .is_none()
    );
    assert!(ws.partial(&[root.join("static/x.css")]).is_none());
    // A second notice at the same address: the full build names both files.
    let twin = write(
        &root,
        "2026/2026-11-11-meldung-0.md",
        "---\ntitle: Zwilling\ndate: 2026-11-10\nsummary: Doppelt.\n---\nText.\n",
    );
    assert!(ws.partial(std::slice::from_ref(&twin)).is_none());
    std::fs::remove_file(&twin).unwrap();
    assert!(ws.rebuild(std::slice::from_ref(&twin)).result.is_ok());
    // An error in the notice.
    edit(&notice, "title: ", "titel: ");
    assert!(ws.partial(std::slice::from_ref(&notice)).is_none());
    let broken = ws.rebuild(std::slice::from_ref(&notice));
    assert!(broken.result.is_err());
    // After a failed build only a full rebuild can recover.
    edit(&notice, "titel: ", "title: ");
    assert!(ws.partial(std::slice::from_ref(&notice)).is_none());
    assert!(ws.rebuild(std::slice::from_ref(&notice)).result.is_ok());
    edit(&notice, "Text 0.", "Text null.");
    assert!(ws.partial(std::slice::from_ref(&notice)).is_some());
}

#[test]
fn a_notice_whose_files_become_public_needs_the_full_rebuild() {
    let site = site();
    let root = site.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("static/dokumente")).unwrap();
    std::fs::write(root.join("static/dokumente/plan.pdf"), b"%PDF-1.4\n").unwrap();
    let scheduled = write(
        &root,
        "2026/2026-11-27-geplant.md",
        "---\ntitle: Geplant\ndate: 2026-11-27\npublish_at: 2026-12-01 08:00\nsummary: Bald.\n\
         attachments:\n  - file: dokumente/plan.pdf\n    label: Plan\n---\nText.\n",
    );
    let out = tempfile::tempdir().unwrap();
    let mut ws = workspace(&root, out.path());
    assert!(ws.rebuild(&[]).result.is_ok());
    assert!(!out.path().join("dokumente/plan.pdf").exists(), "embargoed");
    assert_same_as_full_build("scheduled", out.path(), &root);

    // Published earlier: its pages alone would leave the attachment a dead link.
    edit(
        &scheduled,
        "publish_at: 2026-12-01 08:00",
        "publish_at: 2026-11-27 08:00",
    );
    assert!(ws.partial(std::slice::from_ref(&scheduled)).is_none());
    assert!(ws.rebuild(std::slice::from_ref(&scheduled)).result.is_ok());
    assert!(out.path().join("dokumente/plan.pdf").is_file());
    assert_same_as_full_build("published", out.path(), &root);

    // A text edit of the now public notice is partial again.
    edit(&scheduled, "Text.", "Neuer Text.");
    assert!(ws.partial(std::slice::from_ref(&scheduled)).is_some());
    assert_same_as_full_build("edited", out.path(), &root);
}

#[test]
fn partial_rebuilds_below_a_sub_path_give_the_bytes_of_a_full_build() {
    let site = site();
    let root = site.path().canonicalize().unwrap();
    edit(
        &root.join("aushang.yaml"),
        "https://www.teststadt.example/",
        "https://org.github.io/teststadt/",
    );
    let out = tempfile::tempdir().unwrap();
    let mut ws = workspace(&root, out.path());
    assert!(ws.rebuild(&[]).result.is_ok());
    let front = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(front.contains("href=\"/teststadt/archiv/\""), "{front}");
    let notice = root.join("content/notices/2026/2026-11-10-meldung-0.md");
    edit(&notice, "title: Meldung 0", "title: Meldung null");
    assert!(ws.partial(std::slice::from_ref(&notice)).is_some());
    assert_same_as_full_build("title below a sub-path", out.path(), &root);
}
