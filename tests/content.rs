//! Content loading and validation, `aushang check` and `aushang new`, against temporary sites and
//! the example site of the repository.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use aushang::config::Config;
use aushang::content::{self, LoadOptions, SiteContent};
use aushang::diagnostics::{Problem, Severity};
use jiff::Timestamp;

const CONFIG: &str = "\
title: Stadt Test
base_url: https://www.test.example/
categories:
  - id: verkehr
    name: Straßen und Verkehr
  - id: abfall
    name: Abfall
";

/// A minimal site in a temporary folder, with one PDF and one image under static/.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("aushang.yaml"), CONFIG).unwrap();
        std::fs::create_dir_all(dir.path().join("static/dokumente")).unwrap();
        std::fs::create_dir_all(dir.path().join("static/bilder")).unwrap();
        std::fs::write(dir.path().join("static/dokumente/plan.pdf"), b"%PDF-1.4\n").unwrap();
        std::fs::write(
            dir.path().join("static/bilder/fest.png"),
            b"\x89PNG\r\n\x1a\n",
        )
        .unwrap();
        Site { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content/notices/<rel>` and returns its site-relative path.
    fn notice(&self, rel: &str, text: &str) -> PathBuf {
        self.write(&format!("content/notices/{rel}"), text.as_bytes())
    }

    fn page(&self, rel: &str, text: &str) -> PathBuf {
        self.write(&format!("content/pages/{rel}"), text.as_bytes())
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.root().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        PathBuf::from(rel)
    }

    fn config(&self) -> Config {
        aushang::config::load(self.root()).unwrap_or_else(|p| panic!("{p:?}"))
    }

    fn load(&self, include_drafts: bool) -> (SiteContent, Vec<Problem>) {
        content::load(&self.config(), &LoadOptions { include_drafts })
    }
}

/// A valid notice with `extra` front matter lines appended (after line 4).
fn notice_with(extra: &str) -> String {
    format!(
        "---\ntitle: Wasserrohrbruch\ndate: 2026-11-28 09:30\nsummary: Die Lindenallee ist bis Montag gesperrt.\n{extra}---\nText.\n"
    )
}

/// Finds the problem at `pos` (`file:line:col`) whose message contains `needle`.
#[track_caller]
fn problem_at<'a>(problems: &'a [Problem], pos: &str, needle: &str) -> &'a Problem {
    problems
        .iter()
        .find(|p| p.position() == pos && p.message.contains(needle))
        .unwrap_or_else(|| panic!("no problem `{needle}` at {pos}; got:\n{}", dump(problems)))
}

fn dump(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {}: {}\n", p.position(), p.message))
        .collect()
}

#[track_caller]
fn no_errors(problems: &[Problem]) {
    assert!(
        !problems.iter().any(Problem::is_error),
        "unexpected errors:\n{}",
        dump(problems)
    );
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

// ---- the example site --------------------------------------------------------------------------

fn example_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_example_content_loads_without_any_problem() {
    let config = aushang::config::load(example_root()).unwrap();
    let (site, problems) = content::load(
        &config,
        &LoadOptions {
            include_drafts: true,
        },
    );
    assert!(problems.is_empty(), "{}", dump(&problems));
    assert!(site.notices.len() >= 8, "{}", site.notices.len());
    let pages: Vec<&str> = site.pages.iter().map(|p| p.path.as_str()).collect();
    for p in [
        "/anmelden/",
        "/barrierefreiheit/",
        "/datenschutz/",
        "/impressum/",
    ] {
        assert!(pages.contains(&p), "{pages:?}");
    }

    // Each situation the issue asks for is there, seen at the reference instant.
    let now = ts("2026-11-28T12:00:00Z");
    let n = &site.notices;
    assert!(
        n.iter()
            .any(|n| !n.updates.is_empty() && n.category.as_deref() == Some("verkehr"))
    );
    assert!(
        n.iter()
            .any(|n| n.attachments.iter().any(|a| a.href.ends_with(".pdf")))
    );
    assert!(
        n.iter()
            .any(|n| n.image.as_ref().is_some_and(|i| !i.alt.is_empty()))
    );
    assert!(n.iter().any(|n| n.is_published(now) && n.is_expired(now)));
    assert!(
        n.iter().any(|n| !n.draft && !n.is_published(now)),
        "a scheduled notice"
    );
    assert!(n.iter().any(|n| n.draft));
    assert!(
        n.iter()
            .any(|n| n.urgent && n.category.as_deref() == Some("versorgung"))
    );
    assert!(n.iter().any(|n| !n.broadcast));
    for c in &config.categories {
        assert!(
            n.iter()
                .any(|n| n.category.as_deref() == Some(c.id.as_str())),
            "no notice in {}",
            c.id
        );
    }
    // Every referenced file is in the repository.
    for notice in n {
        for a in &notice.attachments {
            assert!(
                example_root().join("static").join(&a.href[1..]).is_file(),
                "{}",
                a.href
            );
        }
    }

    let (without_drafts, problems) = content::load(
        &config,
        &LoadOptions {
            include_drafts: false,
        },
    );
    assert!(problems.is_empty());
    assert_eq!(without_drafts.notices.len(), site.notices.len() - 1);
}

#[test]
fn the_example_road_closure_has_a_stable_address_and_its_update() {
    let config = aushang::config::load(example_root()).unwrap();
    let (site, _) = content::load(&config, &LoadOptions::default());
    let closure = site
        .notices
        .iter()
        .find(|n| n.title == "Straßensperrung in der Hönnestraße")
        .expect("road closure");
    assert_eq!(
        closure.path,
        "/bekanntmachungen/2026/strassensperrung-hoennestrasse/"
    );
    assert_eq!(closure.updates.len(), 1);
    // "expires: 2026-12-12" lasts until the end of that day in Berlin.
    assert!(!closure.is_expired(ts("2026-12-12T22:59:00Z")));
    assert!(closure.is_expired(ts("2026-12-12T23:00:00Z")));
}

// ---- front matter rules, one failing fixture each ----------------------------------------------

#[test]
fn a_valid_notice_loads_with_path_from_the_file_name() {
    let site = Site::new();
    site.notice(
        "2026/2026-11-28-Straßensperrung in der Hönnestraße.md",
        &notice_with(
            "category: verkehr\ntags: [Baustelle]\nurgent: true\nbroadcast: false\nimage: bilder/fest.png\nimage_alt: Ein Zelt\nattachments:\n  - file: dokumente/plan.pdf\n    label: Plan (PDF)\naliases: [/alt/wasser]\n",
        ),
    );
    let (c, problems) = site.load(false);
    assert!(problems.is_empty(), "{}", dump(&problems));
    let n = &c.notices[0];
    assert_eq!(n.slug, "strassensperrung-in-der-hoennestrasse");
    assert_eq!(
        n.path,
        "/bekanntmachungen/2026/strassensperrung-in-der-hoennestrasse/"
    );
    assert_eq!(n.date, ts("2026-11-28T08:30:00Z"));
    assert_eq!(n.category.as_deref(), Some("verkehr"));
    assert!(n.urgent && !n.broadcast && !n.draft);
    assert_eq!(n.image.as_ref().unwrap().src, "/bilder/fest.png");
    assert_eq!(n.attachments[0].href, "/dokumente/plan.pdf");
    assert_eq!(n.attachments[0].label, "Plan (PDF)");
    assert_eq!(n.aliases, vec!["/alt/wasser/".to_string()]);
    assert_eq!(n.body_html.trim(), "<p>Text.</p>");
}

#[test]
fn the_slug_field_overrides_the_file_name_and_the_year_is_the_local_year() {
    let site = Site::new();
    // 00:30 on New Year's Day in Berlin is still 2026 in UTC: the local year counts.
    site.notice(
        "a.md",
        "---\ntitle: Neujahr\ndate: 2027-01-01 00:30\nsummary: Frohes neues Jahr.\nslug: neujahrsempfang\n---\n",
    );
    let (c, problems) = site.load(false);
    no_errors(&problems);
    assert_eq!(c.notices[0].path, "/bekanntmachungen/2027/neujahrsempfang/");
}

#[test]
fn missing_required_fields_are_reported_at_the_start_of_the_file() {
    let site = Site::new();
    let f = site.notice("2026/leer.md", "---\nurgent: true\n---\nText\n");
    let (c, problems) = site.load(false);
    assert!(c.notices.is_empty());
    let f = f.display();
    for field in ["title", "date", "summary"] {
        problem_at(&problems, &format!("{f}:1:1"), &format!("`{field}` fehlt"));
    }
}

#[test]
fn unknown_keys_are_errors_with_a_suggestion() {
    let site = Site::new();
    let f = site.notice(
        "2026/a.md",
        &notice_with("kategorie: verkehr\nsumary_x: 1\n"),
    );
    let (c, problems) = site.load(false);
    assert!(c.notices.is_empty());
    let p = problem_at(
        &problems,
        &format!("{}:5:1", f.display()),
        "unbekanntes Feld `kategorie`",
    );
    assert!(p.hint.as_deref().unwrap().contains("category"), "{p:?}");
    problem_at(
        &problems,
        &format!("{}:6:1", f.display()),
        "unbekanntes Feld `sumary_x`",
    );
}

#[test]
fn bad_dates_point_at_the_value() {
    let site = Site::new();
    let f = site.notice(
        "2026/a.md",
        "---\ntitle: T\ndate: 28.11.2026\nsummary: S.\npublish_at: morgen\nexpires: 2026-02-30\n---\n",
    );
    let (_, problems) = site.load(false);
    let f = f.display();
    problem_at(&problems, &format!("{f}:3:7"), "`date`");
    problem_at(&problems, &format!("{f}:5:13"), "`publish_at`");
    problem_at(&problems, &format!("{f}:6:10"), "`expires`");
}

#[test]
fn expires_must_come_after_the_date() {
    let site = Site::new();
    let f = site.notice("2026/a.md", &notice_with("expires: 2026-11-27\n"));
    let (c, problems) = site.load(false);
    assert!(c.notices.is_empty());
    problem_at(
        &problems,
        &format!("{}:5:10", f.display()),
        "`expires` liegt nicht nach",
    );
}

#[test]
fn expires_after_a_later_publish_at_is_checked_against_publish_at() {
    let site = Site::new();
    let f = site.notice(
        "2026/a.md",
        &notice_with("publish_at: 2026-12-05 08:00\nexpires: 2026-12-01\n"),
    );
    let (_, problems) = site.load(false);
    problem_at(
        &problems,
        &format!("{}:6:10", f.display()),
        "`expires` liegt nicht nach",
    );
}

#[test]
fn summary_must_fit_a_whatsapp_parameter() {
    let site = Site::new();
    let long = "x".repeat(601);
    let a = site.notice(
        "2026/a.md",
        "---\ntitle: T\ndate: 2026-11-28\nsummary: |\n  Zeile eins\n  Zeile zwei\n---\n",
    );
    let b = site.notice(
        "2026/b.md",
        &format!("---\ntitle: T\ndate: 2026-11-28\nsummary: {long}\n---\n"),
    );
    let c = site.notice(
        "2026/c.md",
        "---\ntitle: T\ndate: 2026-11-28\nsummary: \"Hallo\\tWelt\"\n---\n",
    );
    let d = site.notice(
        "2026/d.md",
        "---\ntitle: T\ndate: 2026-11-28\nsummary: \"Hallo      Welt\"\n---\n",
    );
    let ok = site.notice(
        "2026/e.md",
        &format!(
            "---\ntitle: T\ndate: 2026-11-28\nsummary: {}\n---\n",
            "y".repeat(600)
        ),
    );
    let (content, problems) = site.load(false);
    let p = problem_at(&problems, &format!("{}:5:3", a.display()), "Zeilenumbruch");
    assert!(p.hint.as_deref().unwrap().contains("WhatsApp"), "{p:?}");
    let p = problem_at(&problems, &format!("{}:4:10", b.display()), "601 Zeichen");
    assert!(p.hint.as_deref().unwrap().contains("WhatsApp"), "{p:?}");
    problem_at(&problems, &format!("{}:4:10", c.display()), "Tabulator");
    problem_at(
        &problems,
        &format!("{}:4:10", d.display()),
        "vier Leerzeichen",
    );
    assert!(
        !problems.iter().any(|p| p.file == ok),
        "{}",
        dump(&problems)
    );
    assert_eq!(content.notices.len(), 1);
}

#[test]
fn a_folded_summary_that_is_one_line_is_fine() {
    let site = Site::new();
    site.notice(
        "2026/a.md",
        "---\ntitle: T\ndate: 2026-11-28\nsummary: >\n  Die Straße ist\n  gesperrt.\n---\n",
    );
    let (c, problems) = site.load(false);
    assert!(problems.is_empty(), "{}", dump(&problems));
    assert_eq!(c.notices[0].summary, "Die Straße ist gesperrt.");
}

#[test]
fn title_must_be_one_line() {
    let site = Site::new();
    let f = site.notice(
        "2026/a.md",
        "---\ntitle: \"Eins\\nZwei\"\ndate: 2026-11-28\nsummary: S.\n---\n",
    );
    let (_, problems) = site.load(false);
    problem_at(
        &problems,
        &format!("{}:2:8", f.display()),
        "`title` darf keinen Zeilenumbruch",
    );
}

#[test]
fn unknown_category_suggests_the_configured_one() {
    let site = Site::new();
    let f = site.notice("2026/a.md", &notice_with("category: verkher\n"));
    let (_, problems) = site.load(false);
    let p = problem_at(
        &problems,
        &format!("{}:5:11", f.display()),
        "unbekannte Kategorie `verkher`",
    );
    let hint = p.hint.as_deref().unwrap();
    assert!(hint.contains("meinten Sie `verkehr`"), "{hint}");
    assert!(hint.contains("abfall"), "{hint}");
}

#[test]
fn booleans_are_strict() {
    let site = Site::new();
    let f = site.notice("2026/a.md", &notice_with("urgent: ja\n"));
    let (c, problems) = site.load(false);
    assert!(c.notices.is_empty());
    let p = problems.iter().find(|p| p.file == f).expect("a problem");
    assert_eq!(
        (p.line, p.column),
        (Some(5), Some(9)),
        "{}",
        dump(&problems)
    );
}

#[test]
fn yaml_syntax_errors_have_file_lines() {
    let site = Site::new();
    let f = site.notice(
        "2026/a.md",
        "---\ntitle: T\ndate: 2026-11-28\nsummary: [nicht geschlossen\n---\n",
    );
    let (_, problems) = site.load(false);
    let p = problems.iter().find(|p| p.file == f).expect("a problem");
    assert!(p.line.is_some_and(|l| l >= 4), "{}", dump(&problems));
    assert!(p.message.contains("YAML"), "{p:?}");
}

#[test]
fn duplicate_keys_are_reported() {
    let site = Site::new();
    let f = site.notice("2026/a.md", &notice_with("title: Noch einer\n"));
    let (c, problems) = site.load(false);
    assert!(c.notices.is_empty());
    let p = problems.iter().find(|p| p.file == f).expect("a problem");
    assert_eq!(p.line, Some(5), "{}", dump(&problems));
}

#[test]
fn slug_format_is_checked_with_a_suggestion() {
    let site = Site::new();
    let f = site.notice("2026/a.md", &notice_with("slug: Wasser Rohr\n"));
    let (_, problems) = site.load(false);
    let p = problem_at(&problems, &format!("{}:5:7", f.display()), "`slug`");
    assert!(p.hint.as_deref().unwrap().contains("wasser-rohr"), "{p:?}");
}

#[test]
fn an_image_needs_alt_text_and_an_existing_file() {
    let site = Site::new();
    let a = site.notice("2026/a.md", &notice_with("image: bilder/fest.png\n"));
    let b = site.notice(
        "2026/b.md",
        &notice_with("image: bilder/fesst.png\nimage_alt: Zelt\n"),
    );
    let c = site.notice(
        "2026/c.md",
        &notice_with("image: dokumente/plan.pdf\nimage_alt: Plan\n"),
    );
    let d = site.notice(
        "2026/d.md",
        &notice_with("image: https://bilder.example/zelt.jpg\nimage_alt: Zelt\n"),
    );
    let (content, problems) = site.load(false);
    problem_at(&problems, &format!("{}:5:8", a.display()), "image_alt");
    let p = problem_at(
        &problems,
        &format!("{}:5:8", b.display()),
        "static/bilder/fesst.png",
    );
    assert!(p.hint.as_deref().unwrap().contains("fest.png"), "{p:?}");
    problem_at(
        &problems,
        &format!("{}:5:8", c.display()),
        "keine Bilddatei",
    );
    assert!(!problems.iter().any(|p| p.file == d), "{}", dump(&problems));
    assert_eq!(
        content.notices[0].image.as_ref().unwrap().src,
        "https://bilder.example/zelt.jpg"
    );
}

#[test]
fn attachments_need_an_existing_file_and_a_label() {
    let site = Site::new();
    let f = site.notice(
        "2026/a.md",
        &notice_with("attachments:\n  - file: dokumente/fehlt.pdf\n    label: Fehlt\n  - file: dokumente/plan.pdf\n  - file: ../aushang.yaml\n    label: Geheim\n"),
    );
    let (c, problems) = site.load(false);
    assert!(c.notices.is_empty());
    let f = f.display();
    problem_at(
        &problems,
        &format!("{f}:6:11"),
        "static/dokumente/fehlt.pdf",
    );
    problem_at(&problems, &format!("{f}:8:5"), "ohne `label`");
    problem_at(&problems, &format!("{f}:9:11"), "kein gültiger Pfad");
}

#[test]
fn updates_are_checked_and_sorted_oldest_first() {
    let site = Site::new();
    site.notice(
        "2026/ok.md",
        &notice_with("updates:\n  - date: 2026-11-30 10:00\n    text: Zweite.\n  - date: 2026-11-29\n    text: Erste.\n"),
    );
    let bad = site.notice(
        "2026/bad.md",
        &notice_with("updates:\n  - date: gestern\n    text: X.\n  - date: 2026-11-29\n    text: |\n      A\n      B\n"),
    );
    let (c, problems) = site.load(false);
    let texts: Vec<&str> = c.notices[0]
        .updates
        .iter()
        .map(|u| u.text.as_str())
        .collect();
    assert_eq!(texts, ["Erste.", "Zweite."]);
    problem_at(
        &problems,
        &format!("{}:6:11", bad.display()),
        "`updates.date`",
    );
    problem_at(
        &problems,
        &format!("{}:10:7", bad.display()),
        "Zeilenumbruch",
    );
}

#[test]
fn aliases_must_be_site_paths() {
    let site = Site::new();
    let f = site.notice(
        "2026/a.md",
        &notice_with("aliases:\n  - /gut\n  - https://x.example/\n"),
    );
    let (_, problems) = site.load(false);
    problem_at(&problems, &format!("{}:7:5", f.display()), "`aliases`");
}

#[test]
fn two_notices_with_the_same_address_name_each_other() {
    let site = Site::new();
    let a = site.notice("2026/2026-11-01-wasser.md", &notice_with(""));
    let b = site.notice("2026/herbst/wasser.md", &notice_with(""));
    let c = site.notice(
        "2026/c.md",
        &notice_with("slug: anders\naliases: [/bekanntmachungen/2026/wasser/]\n"),
    );
    let (content, problems) = site.load(false);
    let (a, b, c) = (
        a.display().to_string(),
        b.display().to_string(),
        c.display().to_string(),
    );
    let on_b = problem_at(
        &problems,
        &format!("{b}:1:1"),
        "/bekanntmachungen/2026/wasser/",
    );
    assert!(on_b.message.contains(&a), "{on_b:?}");
    let on_a = problems
        .iter()
        .find(|p| p.file.display().to_string() == a && p.message.contains(&b));
    assert!(on_a.is_some(), "{}", dump(&problems));
    let on_c = problem_at(
        &problems,
        &format!("{c}:6:11"),
        "/bekanntmachungen/2026/wasser/",
    );
    assert!(on_c.message.contains(&a), "{on_c:?}");
    // The first file keeps the address; the site is never built with two pages in one place.
    assert_eq!(content.notices.len(), 1);
    assert_eq!(content.notices[0].source.display().to_string(), a);
}

#[test]
fn pages_are_validated_too() {
    let site = Site::new();
    site.page(
        "impressum.md",
        "---\ntitle: Impressum\ndescription: Wer wir sind.\n---\nText\n",
    );
    let no_title = site.page("leer.md", "---\ndescription: x\n---\n");
    let reserved = site.page("archiv.md", "---\ntitle: Archiv\n---\n");
    let typo = site.page("kontakt.md", "---\ntitle: Kontakt\ntitel: x\n---\n");
    let (c, problems) = site.load(false);
    assert_eq!(
        c.pages.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
        ["/impressum/"]
    );
    assert_eq!(c.pages[0].description, "Wer wir sind.");
    problem_at(
        &problems,
        &format!("{}:1:1", no_title.display()),
        "`title` fehlt",
    );
    problem_at(
        &problems,
        &format!("{}:1:1", reserved.display()),
        "reserviert",
    );
    problem_at(
        &problems,
        &format!("{}:3:1", typo.display()),
        "unbekanntes Feld `titel`",
    );
}

// ---- files that are not notices ----------------------------------------------------------------

#[test]
fn empty_non_utf8_huge_and_headless_files_are_errors_not_panics() {
    let site = Site::new();
    let empty = site.notice("2026/leer.md", "");
    let latin1 = site.write(
        "content/notices/2026/latin1.md",
        b"---\ntitle: Stra\xdfe\n---\n",
    );
    let huge = site.write(
        "content/notices/2026/gross.md",
        &vec![b'a'; 50 * 1024 * 1024],
    );
    let headless = site.notice("2026/ohne.md", "title: Wasser\n\nText\n");
    let unclosed = site.notice("2026/offen.md", "---\ntitle: Wasser\n\nText\n");
    let (c, problems) = site.load(false);
    assert!(c.notices.is_empty());
    problem_at(&problems, &empty.display().to_string(), "leer");
    problem_at(&problems, &format!("{}:2:12", latin1.display()), "UTF-8");
    let p = problem_at(&problems, &huge.display().to_string(), "zu groß");
    assert!(p.message.contains("51200 KiB"), "{p:?}");
    problem_at(&problems, &format!("{}:1:1", headless.display()), "`---`");
    problem_at(
        &problems,
        &format!("{}:1:1", unclosed.display()),
        "nicht mit einer `---`-Zeile abgeschlossen",
    );
}

#[test]
fn other_files_in_the_notice_folder_are_warnings() {
    let site = Site::new();
    site.notice("2026/wasser.txt", "Text");
    site.notice("2026/.gitkeep", "");
    site.write("content/wasser.md", &notice_with("").into_bytes());
    let (c, problems) = site.load(false);
    assert!(c.notices.is_empty());
    assert_eq!(problems.len(), 2, "{}", dump(&problems));
    assert!(problems.iter().all(|p| p.severity == Severity::Warning));
    problem_at(&problems, "content/notices/2026/wasser.txt", "ignoriert");
    problem_at(&problems, "content/wasser.md", "direkt in content/");
}

// ---- drafts, scheduling, order ------------------------------------------------------------------

#[test]
fn drafts_and_their_problems_only_count_when_asked_for() {
    let site = Site::new();
    site.notice("2026/entwurf.md", "---\ndraft: true\ntitle: Entwurf\n---\n");
    site.notice("2026/fertig.md", &notice_with("draft: true\n"));
    let (c, problems) = site.load(false);
    assert!(
        c.notices.is_empty() && problems.is_empty(),
        "{}",
        dump(&problems)
    );
    let (c, problems) = site.load(true);
    assert_eq!(c.notices.len(), 1);
    assert!(c.notices[0].draft);
    assert_eq!(
        problems.iter().filter(|p| p.is_error()).count(),
        2,
        "{}",
        dump(&problems)
    );
}

#[test]
fn scheduling_follows_publish_at_and_expires() {
    let site = Site::new();
    site.notice(
        "2026/geplant.md",
        &notice_with("publish_at: 2026-12-01 08:00\nexpires: 2026-12-05\n"),
    );
    let (c, problems) = site.load(false);
    no_errors(&problems);
    let n = &c.notices[0];
    assert_eq!(n.published_at(), ts("2026-12-01T07:00:00Z"));
    assert!(!n.is_published(ts("2026-12-01T06:59:59Z")));
    assert!(n.is_published(ts("2026-12-01T07:00:00Z")));
    // Date-only `expires` lasts to the end of that day, local time.
    assert!(n.is_current(ts("2026-12-05T22:59:59Z")));
    assert!(n.is_expired(ts("2026-12-05T23:00:00Z")));
    assert!(!n.is_current(ts("2026-12-06T10:00:00Z")));
}

#[test]
fn notices_are_sorted_newest_first_then_by_path() {
    let site = Site::new();
    site.notice(
        "2026/b.md",
        "---\ntitle: B\ndate: 2026-11-20\nsummary: B.\n---\n",
    );
    site.notice(
        "2026/a.md",
        "---\ntitle: A\ndate: 2026-11-20\nsummary: A.\n---\n",
    );
    site.notice(
        "2026/c.md",
        "---\ntitle: C\ndate: 2026-11-01\nsummary: C.\npublish_at: 2026-11-25\n---\n",
    );
    site.notice(
        "2026/d.md",
        "---\ntitle: D\ndate: 2026-11-22\nsummary: D.\n---\n",
    );
    let (c, problems) = site.load(false);
    no_errors(&problems);
    let slugs: Vec<&str> = c.notices.iter().map(|n| n.slug.as_str()).collect();
    assert_eq!(slugs, ["c", "d", "a", "b"]);
}

#[test]
fn hostile_markdown_never_reaches_the_html() {
    let site = Site::new();
    site.notice(
        "2026/a.md",
        &format!(
            "{}<script>alert('x')</script>\n\n<p onclick=\"steal()\">Hallo</p>\n\n[klick](javascript:alert(1))\n\n<a href=\"JaVaScRiPt:alert(2)\">b</a>\n",
            notice_with("")
        ),
    );
    let (c, _) = site.load(false);
    let html = c.notices[0].body_html.to_lowercase();
    for bad in ["<script", "alert", "onclick", "javascript:"] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    assert!(html.contains("hallo"), "{html}");
}

// ---- internal links ----------------------------------------------------------------------------

#[test]
fn internal_links_must_lead_somewhere() {
    let site = Site::new();
    site.page("impressum.md", "---\ntitle: Impressum\n---\n");
    let f = site.notice(
        "2026/a.md",
        &format!(
            "{}\n[gut](/impressum/) [pdf](/dokumente/plan.pdf) [neu](/bekanntmachungen/2026/a/#text)\n\
             [kaputt](/bekanntmachungen/2026/b/) und [ohne](/impressum)\n[extern](https://example.org/x)\n",
            notice_with("")
        ),
    );
    let config = site.config();
    let (c, problems) = content::load(&config, &LoadOptions::default());
    no_errors(&problems);
    let links = content::check_links(&config, &c, &|p: &str| p == "/archiv/");
    assert_eq!(links.len(), 2, "{}", dump(&links));
    let broken = problem_at(
        &links,
        &format!("{}:9:1", f.display()),
        "/bekanntmachungen/2026/b/",
    );
    assert!(broken.is_error());
    let slash = problem_at(&links, &format!("{}:9:41", f.display()), "/impressum");
    assert_eq!(slash.severity, Severity::Warning);
}

// ---- the commands ------------------------------------------------------------------------------

/// A copy of the example site to run the binary on.
fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for top in ["aushang.yaml", "content", "static", "templates"] {
        let from = example_root().join(top);
        if from.is_file() {
            std::fs::copy(&from, dir.path().join(top)).unwrap();
            continue;
        }
        for entry in walkdir::WalkDir::new(&from).into_iter().flatten() {
            let rel = entry.path().strip_prefix(example_root()).unwrap();
            let to = dir.path().join(rel);
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&to).unwrap();
            } else {
                std::fs::copy(entry.path(), &to).unwrap();
            }
        }
    }
    dir
}

fn aushang(root: &Path) -> Command {
    let mut cmd = Command::cargo_bin("aushang").unwrap();
    cmd.arg("--root").arg(root).env("AUSHANG_LOG", "off");
    cmd
}

#[test]
fn check_passes_on_the_example_site() {
    let site = example_copy();
    let out = aushang(site.path()).arg("check").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Keine Probleme"), "{stdout}");
}

#[test]
fn check_fails_with_positions_in_both_formats() {
    let site = example_copy();
    std::fs::write(
        site.path().join("content/notices/2026/kaputt.md"),
        "---\ntitle: Kaputt\ndate: 2026-11-28\nsummary: S.\ncategory: verkher\n---\n",
    )
    .unwrap();
    let out = aushang(site.path()).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(
        human.contains("--> content/notices/2026/kaputt.md:5:11"),
        "{human}"
    );
    assert!(human.contains("5 | category: verkher"), "{human}");
    assert!(human.contains("meinten Sie `verkehr`"), "{human}");
    assert!(human.contains("1 Fehler in 1 Datei"), "{human}");

    let out = aushang(site.path())
        .args(["check", "--format", "github"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let gh = String::from_utf8_lossy(&out.stdout);
    assert!(
        gh.lines().any(|l| l.starts_with(
            "::error file=content/notices/2026/kaputt.md,line=5,col=11::unbekannte Kategorie"
        )),
        "{gh}"
    );
}

#[test]
fn check_exits_zero_with_warnings_only() {
    let site = example_copy();
    std::fs::write(
        site.path().join("content/notices/notiz.txt"),
        "nur eine Notiz",
    )
    .unwrap();
    let out = aushang(site.path()).arg("check").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("1 Warnung in 1 Datei"), "{stdout}");
}

#[test]
fn check_reports_a_broken_configuration() {
    let site = example_copy();
    let yaml = std::fs::read_to_string(site.path().join("aushang.yaml")).unwrap();
    std::fs::write(
        site.path().join("aushang.yaml"),
        format!("{yaml}notice_per_page: 3\n"),
    )
    .unwrap();
    let out = aushang(site.path()).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("aushang.yaml:"));
}

#[test]
fn new_writes_a_notice_whose_placeholders_check_refuses_and_never_overwrites() {
    let site = example_copy();
    let run = || {
        aushang(site.path())
            .args([
                "new",
                "Baumfällungen im Stadtpark: Wege gesperrt",
                "--category",
                "verkehr",
                "--now",
                "2026-11-28 14:05",
            ])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(
        printed,
        "content/notices/2026/2026-11-28-baumfaellungen-im-stadtpark-wege-gesperrt.md"
    );
    let text = std::fs::read_to_string(site.path().join(&printed)).unwrap();
    assert!(
        text.contains("title: \"Baumfällungen im Stadtpark: Wege gesperrt\""),
        "{text}"
    );
    assert!(text.contains("date: 2026-11-28 14:05"), "{text}");
    assert!(text.contains("category: verkehr"), "{text}");
    for optional in [
        "tags",
        "publish_at",
        "expires",
        "draft",
        "urgent",
        "broadcast",
        "slug",
        "aliases",
        "image",
        "image_alt",
        "attachments",
        "updates",
    ] {
        assert!(
            text.contains(&format!("# {optional}:")),
            "{optional} missing in\n{text}"
        );
    }

    // As written, the placeholders are errors: the summary repeats the title, the body is the
    // sample text. A pull request with them stays red.
    let check = aushang(site.path()).arg("check").output().unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{report}");
    assert!(report.contains("wiederholt nur den Titel"), "{report}");
    assert!(report.contains("Platzhalter von `aushang new`"), "{report}");
    let filled = text
        .replace(
            "summary: \"Baumfällungen im Stadtpark: Wege gesperrt\"",
            "summary: \"Wegen Baumfällungen sind die Wege im Stadtpark vom 1. bis 5. Dezember gesperrt.\"",
        )
        .replace(
            aushang::content::template::PLACEHOLDER_BODY,
            "Der Bauhof fällt kranke Bäume.",
        );
    std::fs::write(site.path().join(&printed), filled).unwrap();

    let config = aushang::config::load(site.path()).unwrap();
    let (c, problems) = content::load(&config, &LoadOptions::default());
    no_errors(&problems);
    let n = c
        .notices
        .iter()
        .find(|n| n.source == Path::new(&printed))
        .expect("loaded");
    assert_eq!(
        n.path,
        "/bekanntmachungen/2026/baumfaellungen-im-stadtpark-wege-gesperrt/"
    );
    let check = aushang(site.path()).arg("check").output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    std::fs::write(site.path().join(&printed), "meine Änderungen").unwrap();
    let again = run();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("gibt es schon"));
    assert_eq!(
        std::fs::read_to_string(site.path().join(&printed)).unwrap(),
        "meine Änderungen"
    );
}

#[test]
fn new_rejects_an_unknown_category() {
    let site = example_copy();
    let out = aushang(site.path())
        .args(["new", "Test", "--category", "verkher"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("meinten Sie `verkehr`"));
}
