//! The notice website: every page type, scheduling with `now`, feeds, escaping, determinism,
//! template overrides and errors. Synthetic sites are built in temp folders through the library;
//! the example site is built through the real binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use aushang::config::Config;
use aushang::content::{Attachment, Image, Notice, Page, Update};
use aushang::site::{self, BuildError, BuildOptions, BuildReport};
use jiff::Timestamp;

mod common;
use common::example_copy;

const CONFIG: &str = r#"title: Stadt Teststadt
description: Bekanntmachungen der Stadt Teststadt.
base_url: https://www.teststadt.example/
notices_per_page: 2
contact:
  organisation: Stadt Teststadt – Der Bürgermeister
  street: Markt 1
  postcode: "12345"
  city: Teststadt
  phone: 01234 567-0
  email: rathaus@teststadt.example
categories:
  - id: verkehr
    name: Straßen und Verkehr
    description: Sperrungen und Umleitungen
  - id: abfall
    name: Abfall
"#;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn notice(slug: &str, title: &str, date: &str) -> Notice {
    Notice {
        source: PathBuf::from(format!("content/notices/{slug}.md")),
        path: format!("/bekanntmachungen/2026/{slug}/"),
        slug: slug.into(),
        title: title.into(),
        date: ts(date),
        summary: format!("Kurz: {title}"),
        category: Some("verkehr".into()),
        tags: Vec::new(),
        publish_at: None,
        expires: None,
        draft: false,
        urgent: false,
        broadcast: true,
        aliases: Vec::new(),
        image: None,
        attachments: Vec::new(),
        updates: Vec::new(),
        body_markdown: String::new(),
        body_html: format!("<p>Text von {title}.</p>"),
    }
}

fn page(slug: &str, title: &str) -> Page {
    Page {
        source: PathBuf::from(format!("content/pages/{slug}.md")),
        path: format!("/{slug}/"),
        slug: slug.into(),
        title: title.into(),
        description: String::new(),
        body_markdown: String::new(),
        body_html: format!("<p>{title} der Stadt.</p>"),
    }
}

/// A small site: a closure with an update and an image and a PDF, an urgent one, an expired one,
/// a scheduled one, a draft, one in another category, and the standing pages.
fn sample() -> (Vec<Notice>, Vec<Page>) {
    let mut sperrung = notice(
        "sperrung",
        "Sperrung der Hönnestraße",
        "2026-11-20T08:30:00Z",
    );
    sperrung.updates = vec![
        Update {
            date: ts("2026-11-21T10:00:00Z"),
            text: "Erste Änderung".into(),
        },
        Update {
            date: ts("2026-11-22T15:15:00Z"),
            text: "Sperrung verlängert".into(),
        },
    ];
    sperrung.image = Some(Image {
        src: "/bilder/baustelle.jpg".into(),
        alt: "Baustelle an der Hönnestraße".into(),
    });
    sperrung.attachments = vec![Attachment {
        href: "/dokumente/umleitung.pdf".into(),
        label: "Umleitungsplan".into(),
    }];
    sperrung.tags = vec!["Baustelle".into(), "Umleitung".into()];
    sperrung.aliases = vec!["/alt/sperrung/".into()];
    let mut wasser = notice("wasser", "Trinkwasser abkochen", "2026-11-10T06:00:00Z");
    wasser.urgent = true;
    wasser.category = Some("abfall".into());
    let mut alt = notice("altes-fest", "Altes Fest", "2026-10-01T08:00:00Z");
    alt.expires = Some(ts("2026-10-04T22:00:00Z")); // 5 Oct 00:00 in Berlin
    let mut geplant = notice("geplant", "Geplante Sitzung", "2026-11-01T08:00:00Z");
    geplant.publish_at = Some(ts("2026-12-01T07:00:00Z"));
    let mut entwurf = notice("entwurf", "Entwurf Notiz", "2026-11-15T08:00:00Z");
    entwurf.draft = true;
    let abfall = notice("abfuhr", "Abfuhr verschoben", "2026-11-18T08:00:00Z");
    let alt2025 = notice("vorjahr", "Vorjahresmeldung", "2025-06-01T08:00:00Z");
    let pages = vec![
        page("impressum", "Impressum"),
        page("datenschutz", "Datenschutz"),
        page("barrierefreiheit", "Barrierefreiheit"),
        page("anmelden", "Anmelden"),
    ];
    (
        vec![sperrung, wasser, alt, geplant, entwurf, abfall, alt2025],
        pages,
    )
}

struct Built {
    _dir: tempfile::TempDir,
    root: PathBuf,
    out: PathBuf,
    report: BuildReport,
}

impl Built {
    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
    fn exists(&self, rel: &str) -> bool {
        self.out.join(rel).exists()
    }
}

fn site_root() -> (tempfile::TempDir, PathBuf, Config) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    std::fs::create_dir_all(root.join("static/dokumente")).unwrap();
    std::fs::create_dir_all(root.join("static/bilder")).unwrap();
    std::fs::write(root.join("aushang.yaml"), CONFIG).unwrap();
    std::fs::write(
        root.join("static/dokumente/umleitung.pdf"),
        vec![b'%'; 24 * 1024],
    )
    .unwrap();
    std::fs::write(root.join("static/bilder/baustelle.jpg"), b"jpg").unwrap();
    let config = aushang::config::load(&root).unwrap();
    (dir, root, config)
}

fn build_at(now: &str, drafts: bool) -> Built {
    let (notices, pages) = sample();
    build_with(now, drafts, &notices, &pages, |_| {})
}

fn build_with(
    now: &str,
    drafts: bool,
    notices: &[Notice],
    pages: &[Page],
    setup: impl FnOnce(&Path),
) -> Built {
    let (dir, root, _) = site_root();
    setup(&root);
    let config = aushang::config::load(&root).unwrap();
    let out = dir.path().join("public");
    let opts = BuildOptions {
        out_dir: out.clone(),
        now: ts(now),
        include_drafts: drafts,
    };
    let report = site::build_site(&config, notices, pages, &opts).unwrap_or_else(|e| panic!("{e}"));
    Built {
        _dir: dir,
        root,
        out,
        report,
    }
}

const NOW: &str = "2026-11-28T12:00:00Z";

fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not found in:\n{haystack}"))
}

#[test]
fn front_page_lists_current_notices_urgent_first_and_paginates() {
    let b = build_at(NOW, false);
    let front = b.read("index.html");
    let page2 = b.read("seite/2/index.html");
    let both = format!("{front}{page2}");
    // Urgent (older) notice comes before the newer ordinary ones.
    assert!(
        position(&front, "Trinkwasser abkochen") < position(&front, "Sperrung der Hönnestraße")
    );
    assert!(front.contains("Sperrung der Hönnestraße"));
    assert!(page2.contains("Abfuhr verschoben"), "{page2}");
    assert!(page2.contains("href=\"/\" rel=\"prev\""), "{page2}");
    assert!(front.contains("href=\"/seite/2/\" rel=\"next\""));
    for absent in ["Altes Fest", "Geplante Sitzung", "Entwurf Notiz"] {
        assert!(
            !both.contains(absent),
            "{absent} must not be on the front page"
        );
    }
    assert!(!b.exists("seite/4/index.html"));
    // 4 current notices (wasser, sperrung, abfuhr, vorjahr) at 2 per page.
    assert!(b.exists("seite/2/index.html"));
    assert_eq!(b.report.notices_current, 4);
    assert_eq!(b.report.notices_published, 5);
}

#[test]
fn notice_page_shows_everything_with_german_dates() {
    let b = build_at(NOW, false);
    let html = b.read("bekanntmachungen/2026/sperrung/index.html");
    assert!(html.contains("<html lang=\"de\">"));
    assert!(html.contains("<h1>Sperrung der Hönnestraße</h1>"));
    assert!(
        html.contains("20. November 2026, 09:30 Uhr"),
        "German date with time"
    );
    assert!(html.contains("datetime=\"2026-11-20T09:30:00+01:00\""));
    // Updates: newest first and marked.
    assert!(position(&html, "Sperrung verlängert") < position(&html, "Erste Änderung"));
    assert!(html.contains("<strong>Neu:</strong> <time datetime=\"2026-11-22T16:15:00+01:00\">22. November 2026, 16:15 Uhr</time>: Sperrung verlängert"));
    assert!(html.contains("<a href=\"/dokumente/umleitung.pdf\">Umleitungsplan</a> <span class=\"datei\">(PDF, 24 KB)</span>"), "{html}");
    assert!(
        html.contains("<img src=\"/bilder/baustelle.jpg\" alt=\"Baustelle an der Hönnestraße\">")
    );
    assert!(html.contains("<a href=\"/kategorie/verkehr/\">Straßen und Verkehr</a>"));
    assert!(html.contains("Baustelle</span>, <span class=\"schlagwort\">Umleitung"));
    assert!(html.contains("<p>Text von Sperrung der Hönnestraße.</p>"));
    assert!(!html.contains("abgelaufen"));
}

#[test]
fn every_page_head_has_seo_and_open_graph_data() {
    let b = build_at(NOW, false);
    let html = b.read("bekanntmachungen/2026/sperrung/index.html");
    for tag in [
        "<title>Sperrung der Hönnestraße – Stadt Teststadt</title>",
        "<meta name=\"description\" content=\"Kurz: Sperrung der Hönnestraße\">",
        "<link rel=\"canonical\" href=\"https://www.teststadt.example/bekanntmachungen/2026/sperrung/\">",
        "<meta property=\"og:title\" content=\"Sperrung der Hönnestraße\">",
        "<meta property=\"og:url\" content=\"https://www.teststadt.example/bekanntmachungen/2026/sperrung/\">",
        "<meta property=\"og:type\" content=\"article\">",
        "<meta property=\"og:site_name\" content=\"Stadt Teststadt\">",
        "<meta property=\"og:locale\" content=\"de_DE\">",
        "<meta property=\"og:image\" content=\"https://www.teststadt.example/bilder/baustelle.jpg\">",
        "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Stadt Teststadt\" href=\"https://www.teststadt.example/atom.xml\">",
    ] {
        assert!(html.contains(tag), "missing {tag}");
    }
    let front = b.read("index.html");
    assert!(front.contains("<meta property=\"og:type\" content=\"website\">"));
    assert!(front.contains("<link rel=\"canonical\" href=\"https://www.teststadt.example/\">"));
    assert!(!front.contains("og:image"));
    let cat = b.read("kategorie/verkehr/index.html");
    assert!(cat.contains("href=\"https://www.teststadt.example/kategorie/verkehr/atom.xml\""));
}

#[test]
fn layout_is_accessible_and_self_contained() {
    let b = build_at(NOW, false);
    let html = b.read("index.html");
    let body = &html[position(&html, "<body>")..];
    // The skip link is the first focusable element.
    let first_link = position(body, "<a ");
    assert!(
        body[first_link..]
            .starts_with("<a class=\"skip\" href=\"#haupt_inhalt\">Zum Inhalt springen</a>"),
        "{body}"
    );
    // Nothing focusable (buttons, inputs) comes before it either.
    assert!(!body[..first_link].contains("<button") && !body[..first_link].contains("<input"));
    assert!(html.contains("<main id=\"haupt_inhalt\" tabindex=\"-1\""));
    for landmark in ["<header", "<nav", "<main", "<footer", "<article"] {
        assert!(html.contains(landmark), "{landmark}");
    }
    for link in [
        "/impressum/",
        "/datenschutz/",
        "/barrierefreiheit/",
        "/anmelden/",
    ] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link}");
    }
    assert!(html.contains("Markt 1") && html.contains("rathaus@teststadt.example"));
    assert!(html.contains("href=\"tel:+4912345670\""));
    // No scripts, no external assets.
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("src=\"http"),
        "no external images or scripts"
    );
    let css_link = html
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .unwrap();
    let css_path = &css_link[..css_link.find('"').unwrap()];
    assert!(
        css_path.starts_with("/style.") && css_path.ends_with(".css"),
        "{css_path}"
    );
    let css = b.read(css_path.trim_start_matches('/'));
    assert!(css.contains(":focus-visible"));
    assert!(
        !css.contains("@import") && !css.contains("url("),
        "no external fonts"
    );
}

#[test]
fn expired_notice_keeps_its_page_but_leaves_front_page_and_feed() {
    let b = build_at(NOW, false);
    let html = b.read("bekanntmachungen/2026/altes-fest/index.html");
    assert!(html.contains("Abgelaufen:"), "{html}");
    // Expiry at local midnight (as a date-only `expires` is loaded) reads as the day before.
    assert!(
        html.contains("galt bis <time datetime=\"2026-10-05T00:00:00+02:00\">einschließlich 4. Oktober 2026</time>"),
        "{html}"
    );
    assert!(!b.read("atom.xml").contains("Altes Fest"));
    assert!(!b.read("index.html").contains("Altes Fest"));
    // The archive still lists it, marked.
    let archive = b.read("archiv/2026/index.html") + &b.read("archiv/2026/seite/2/index.html");
    assert!(archive.contains("Altes Fest"));
    assert!(archive.contains("abgelaufen"));
}

#[test]
fn scheduled_notice_appears_only_from_its_publish_time() {
    let before = build_at(NOW, false);
    assert!(!before.exists("bekanntmachungen/2026/geplant/index.html"));
    for f in [
        "atom.xml",
        "sitemap.xml",
        "index.html",
        "archiv/2026/index.html",
        "kategorie/verkehr/index.html",
    ] {
        assert!(!before.read(f).contains("geplant"), "{f}");
    }
    let after = build_at("2026-12-01T08:00:00+01:00", false);
    assert!(after.exists("bekanntmachungen/2026/geplant/index.html"));
    assert!(after.read("atom.xml").contains("Geplante Sitzung"));
    assert!(after.read("index.html").contains("Geplante Sitzung"));
}

#[test]
fn drafts_only_appear_when_asked_and_then_marked_noindex() {
    let b = build_at(NOW, false);
    assert!(!b.exists("bekanntmachungen/2026/entwurf/index.html"));
    let all: String = walk(&b.out).values().cloned().collect();
    assert!(!all.contains("Entwurf Notiz"));
    let d = build_at(NOW, true);
    let html = d.read("bekanntmachungen/2026/entwurf/index.html");
    assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"));
    assert!(html.contains("Entwurf – nicht öffentlich."));
    assert!(!d.read("sitemap.xml").contains("entwurf"));
}

#[test]
fn category_and_archive_pages() {
    let b = build_at(NOW, false);
    let verkehr = b.read("kategorie/verkehr/index.html");
    assert!(verkehr.contains("<h1>Straßen und Verkehr</h1>"));
    assert!(verkehr.contains("Sperrung der Hönnestraße"));
    assert!(!verkehr.contains("Trinkwasser"), "other category");
    let abfall = b.read("kategorie/abfall/index.html");
    assert!(abfall.contains("Trinkwasser abkochen"));
    let index = b.read("archiv/index.html");
    assert!(position(&index, "/archiv/2026/") < position(&index, "/archiv/2025/"));
    assert!(index.contains("(1 Bekanntmachung)"), "{index}");
    assert!(
        b.read("archiv/2025/index.html")
            .contains("Vorjahresmeldung")
    );
}

#[test]
fn alias_redirects_to_the_notice() {
    let b = build_at(NOW, false);
    let html = b.read("alt/sperrung/index.html");
    let target = "https://www.teststadt.example/bekanntmachungen/2026/sperrung/";
    assert!(html.contains(&format!(
        "<meta http-equiv=\"refresh\" content=\"0; url={target}\">"
    )));
    assert!(html.contains(&format!("<link rel=\"canonical\" href=\"{target}\">")));
    assert!(html.contains(&format!("<a href=\"{target}\">")));
    assert!(html.contains("noindex"));
}

#[test]
fn feeds_are_valid_atom_with_absolute_links() {
    let b = build_at(NOW, false);
    let feed: atom_syndication::Feed = b.read("atom.xml").parse().expect("valid Atom");
    assert_eq!(feed.title().as_str(), "Stadt Teststadt");
    assert_eq!(feed.id(), "https://www.teststadt.example/atom.xml");
    assert_eq!(
        feed.authors()[0].name(),
        "Stadt Teststadt – Der Bürgermeister"
    );
    // Updated is the newest change in the content, not the build time.
    assert_eq!(feed.updated().to_rfc3339(), "2026-11-22T15:15:00+00:00");
    let titles: Vec<&str> = feed.entries().iter().map(|e| e.title().as_str()).collect();
    assert_eq!(
        titles,
        [
            "Sperrung der Hönnestraße",
            "Abfuhr verschoben",
            "Dringend: Trinkwasser abkochen",
            "Vorjahresmeldung"
        ]
    );
    for e in feed.entries() {
        assert!(
            e.id()
                .starts_with("https://www.teststadt.example/bekanntmachungen/")
        );
        assert!(e.links().iter().all(|l| l.href().starts_with("https://")));
    }
    let first = &feed.entries()[0];
    let content = first.content().unwrap().value().unwrap();
    assert!(
        content.contains("<img src=\"https://www.teststadt.example/bilder/baustelle.jpg\""),
        "{content}"
    );
    assert!(content.contains("<p>Text von Sperrung der Hönnestraße.</p>"));

    let cat: atom_syndication::Feed = b
        .read("kategorie/abfall/atom.xml")
        .parse()
        .expect("valid Atom");
    let titles: Vec<&str> = cat.entries().iter().map(|e| e.title().as_str()).collect();
    assert_eq!(titles, ["Dringend: Trinkwasser abkochen"]);
    assert_eq!(
        cat.id(),
        "https://www.teststadt.example/kategorie/abfall/atom.xml"
    );
}

#[test]
fn sitemap_robots_and_404() {
    let b = build_at(NOW, false);
    let sitemap = b.read("sitemap.xml");
    let locs: Vec<&str> = sitemap
        .split("<loc>")
        .skip(1)
        .map(|s| &s[..s.find("</loc>").unwrap()])
        .collect();
    assert!(
        locs.iter()
            .all(|l| l.starts_with("https://www.teststadt.example/")),
        "{locs:?}"
    );
    for expected in [
        "https://www.teststadt.example/",
        "https://www.teststadt.example/seite/2/",
        "https://www.teststadt.example/bekanntmachungen/2026/sperrung/",
        "https://www.teststadt.example/bekanntmachungen/2026/altes-fest/",
        "https://www.teststadt.example/kategorie/verkehr/",
        "https://www.teststadt.example/archiv/2025/",
        "https://www.teststadt.example/impressum/",
    ] {
        assert!(locs.contains(&expected), "{expected} missing from sitemap");
    }
    assert!(
        !locs
            .iter()
            .any(|l| l.contains("/alt/") || l.contains("404"))
    );
    assert!(sitemap.contains("<loc>https://www.teststadt.example/bekanntmachungen/2026/sperrung/</loc><lastmod>2026-11-22T15:15:00Z</lastmod>"));
    assert_eq!(
        b.read("robots.txt"),
        "User-agent: *\nAllow: /\n\nSitemap: https://www.teststadt.example/sitemap.xml\n"
    );
    let nf = b.read("404.html");
    assert!(nf.contains("Seite nicht gefunden") && nf.contains("noindex"));
    let imp = b.read("impressum/index.html");
    assert!(imp.contains("<h1>Impressum</h1>") && imp.contains("<p>Impressum der Stadt.</p>"));
}

#[test]
fn hostile_content_is_escaped_in_page_feed_and_tags() {
    let mut n = notice(
        "boese",
        "<script>alert(1)</script> & \"Zitat\"",
        "2026-11-27T08:00:00Z",
    );
    n.summary = "<img src=x onerror=alert(2)>".into();
    // The loader sanitises bodies; here the body is what sanitised HTML looks like.
    n.body_html = "<p>&lt;script&gt;alert(4)&lt;/script&gt;</p>".into();
    n.image = Some(Image {
        src: "/bilder/baustelle.jpg".into(),
        alt: "\"><script>alert(3)</script>".into(),
    });
    let b = build_with(NOW, false, &[n], &[], |_| {});
    for file in [
        "bekanntmachungen/2026/boese/index.html",
        "index.html",
        "atom.xml",
        "kategorie/verkehr/index.html",
    ] {
        let text = b.read(file);
        assert!(
            !text.contains("<script>alert"),
            "{file} contains a raw script:\n{text}"
        );
        assert!(!text.contains("<img src=x"), "{file}");
    }
    let html = b.read("bekanntmachungen/2026/boese/index.html");
    assert!(html.contains("<meta property=\"og:title\" content=\"&lt;script&gt;alert(1)&lt;&#x2F;script&gt; &amp; &quot;Zitat&quot;\">")
        || html.contains("<meta property=\"og:title\" content=\"&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Zitat&quot;\">"), "{html}");
    let feed: atom_syndication::Feed = b.read("atom.xml").parse().expect("still valid Atom");
    assert_eq!(
        feed.entries()[0].title().as_str(),
        "<script>alert(1)</script> & \"Zitat\""
    );
    let content = feed.entries()[0].content().unwrap().value().unwrap();
    assert!(
        !content.contains("<script>"),
        "alt text must be escaped inside the feed HTML: {content}"
    );
}

#[test]
fn two_builds_are_byte_identical_and_a_rebuild_changes_nothing() {
    let a = build_at(NOW, false);
    let b = build_at(NOW, false);
    let (fa, fb) = (walk(&a.out), walk(&b.out));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert_eq!(v, &fb[k], "{k} differs");
    }
    // Rebuilding into the same folder rewrites nothing.
    let config = aushang::config::load(&a.root).unwrap();
    let (notices, pages) = sample();
    let opts = BuildOptions {
        out_dir: a.out.clone(),
        now: ts(NOW),
        include_drafts: false,
    };
    let again = site::build_site(&config, &notices, &pages, &opts).unwrap();
    assert_eq!(again.files_changed, 0);
    assert_eq!(again.pages_written, a.report.pages_written);
}

#[test]
fn stale_files_are_removed_but_foreign_folders_are_refused() {
    let b = build_at(NOW, false);
    assert!(b.exists("bekanntmachungen/2026/sperrung/index.html"));
    let config = aushang::config::load(&b.root).unwrap();
    let (mut notices, pages) = sample();
    notices.retain(|n| n.slug != "sperrung");
    let opts = BuildOptions {
        out_dir: b.out.clone(),
        now: ts(NOW),
        include_drafts: false,
    };
    let r = site::build_site(&config, &notices, &pages, &opts).unwrap();
    assert!(r.stale_removed >= 2, "{r:?}");
    assert!(!b.exists("bekanntmachungen/2026/sperrung"));
    assert!(!b.exists("alt/sperrung"));
    assert!(
        b.exists("dokumente/umleitung.pdf"),
        "static files are copied"
    );

    let foreign = b.root.join("../foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("tax-records.xlsx"), b"x").unwrap();
    let opts = BuildOptions {
        out_dir: foreign.clone(),
        now: ts(NOW),
        include_drafts: false,
    };
    let err = site::build_site(&config, &notices, &pages, &opts).unwrap_err();
    assert!(
        err.to_string().contains("stammt nicht von aushang"),
        "{err}"
    );
    assert!(foreign.join("tax-records.xlsx").exists());
}

#[test]
fn a_template_in_templates_overrides_the_default() {
    let (notices, pages) = sample();
    let b = build_with(NOW, false, &notices, &pages, |root| {
        std::fs::create_dir_all(root.join("templates")).unwrap();
        std::fs::write(
            root.join("templates/404.html"),
            "{% extends \"base.html\" %}{% block main %}<h1>Hier ist nichts, {{ site.title }}</h1>{% endblock main %}",
        )
        .unwrap();
    });
    let nf = b.read("404.html");
    assert!(nf.contains("<h1>Hier ist nichts, Stadt Teststadt</h1>"));
    assert!(
        nf.contains("Zum Inhalt springen"),
        "the default base still applies"
    );
}

#[test]
fn template_errors_name_the_file_and_line() {
    let (dir, root, _) = site_root();
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(root.join("templates/notice.html"), "{% extends \"base.html\" %}\n{% block main %}\n{{ notice.no_such_field }}\n{% endblock main %}\n").unwrap();
    let config = aushang::config::load(&root).unwrap();
    let (notices, pages) = sample();
    let opts = BuildOptions {
        out_dir: dir.path().join("out"),
        now: ts(NOW),
        include_drafts: false,
    };
    let err = site::build_site(&config, &notices, &pages, &opts).unwrap_err();
    let BuildError::Problems(problems) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        problems[0].file,
        Path::new("templates/notice.html"),
        "{problems:?}"
    );
    assert_eq!(problems[0].line, Some(3), "{problems:?}");
    // `check` finds the same problem without building.
    let checked = site::check_templates(&config);
    assert!(
        checked
            .iter()
            .any(|p| p.file == Path::new("templates/notice.html") && p.line == Some(3)),
        "{checked:?}"
    );
}

#[test]
fn get_env_is_not_available_in_templates() {
    let (_dir, root, _) = site_root();
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(
        root.join("templates/robots.txt"),
        "{{ get_env(name=\"PATH\") }}\n",
    )
    .unwrap();
    let config = aushang::config::load(&root).unwrap();
    let problems = site::check_templates(&config);
    assert!(
        problems
            .iter()
            .any(|p| p.file == Path::new("templates/robots.txt") && p.message.contains("get_env")),
        "{problems:?}"
    );
}

#[test]
fn the_default_theme_passes_check() {
    let (_dir, _root, config) = site_root();
    assert_eq!(site::check_templates(&config), Vec::new());
}

#[test]
fn alias_clashing_with_a_notice_is_an_error_naming_both_files() {
    let (mut notices, pages) = sample();
    notices[1].aliases = vec!["/bekanntmachungen/2026/sperrung/".into()];
    let (dir, root, _) = site_root();
    let config = aushang::config::load(&root).unwrap();
    let opts = BuildOptions {
        out_dir: dir.path().join("out"),
        now: ts(NOW),
        include_drafts: false,
    };
    let err = site::build_site(&config, &notices, &pages, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("content/notices/sperrung.md") && err.contains("content/notices/wasser.md"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists(), "nothing written");
}

fn walk(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in common::files_under(dir) {
        let rel = e.strip_prefix(dir).unwrap().display().to_string();
        out.insert(
            rel,
            String::from_utf8_lossy(&std::fs::read(&e).unwrap()).into_owned(),
        );
    }
    out
}

// ---- the example site, through the binary ------------------------------------------------------

fn build_example(site: &Path, now: &str) -> String {
    let out = Command::cargo_bin("aushang")
        .unwrap()
        .args(["--root", site.to_str().unwrap(), "build", "--now", now])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_example_site_builds_with_the_binary() {
    let site = example_copy();
    let summary = build_example(site.path(), "2026-11-28T12:00");
    assert!(summary.starts_with("Gebaut: "), "{summary}");
    assert!(summary.contains(" Seiten und "), "{summary}");
    let public = site.path().join("public");
    let read =
        |f: &str| std::fs::read_to_string(public.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    for f in [
        "index.html",
        "atom.xml",
        "sitemap.xml",
        "robots.txt",
        "404.html",
        "archiv/index.html",
        "archiv/2026/index.html",
        "kategorie/verkehr/index.html",
        "kategorie/verkehr/atom.xml",
        "impressum/index.html",
        "datenschutz/index.html",
        "barrierefreiheit/index.html",
        "anmelden/index.html",
        "dokumente/2026-12-10-tagesordnung-stadtrat.pdf",
    ] {
        assert!(public.join(f).is_file(), "{f} missing");
    }
    let front = read("index.html");
    // The urgent water notice leads; the expired, the scheduled and the draft are not there.
    let first = front.split("<article").nth(1).unwrap();
    assert!(first.contains("class=\"karte dringend\""), "{first}");
    assert!(front.contains("/bekanntmachungen/2026/strassensperrung-hoennestrasse/"));
    assert!(
        !front.contains("parkplatz-friedhof-allerheiligen"),
        "expired on 1 Nov"
    );
    assert!(!front.contains("weihnachtsmarkt"), "scheduled for 1 Dec");
    assert!(!front.contains("oeffnungszeiten-buergerbuero"), "draft");
    let expired = read("bekanntmachungen/2026/parkplatz-friedhof-allerheiligen/index.html");
    assert!(expired.contains("Abgelaufen:"));
    let closure = read("bekanntmachungen/2026/strassensperrung-hoennestrasse/index.html");
    assert!(
        closure.contains("<strong>Neu:</strong>"),
        "the update is shown and marked"
    );
    let council = read("bekanntmachungen/2026/ratssitzung-dezember/index.html");
    assert!(council.contains("href=\"/dokumente/2026-12-10-tagesordnung-stadtrat.pdf\""));
    assert!(
        council.contains("(PDF, "),
        "file type and size next to the attachment"
    );
    let festival = read("bekanntmachungen/2026/sommerfest-2027-vereine/index.html");
    assert!(festival.contains(
        "<meta property=\"og:image\" content=\"https://www.musterbach.example/bilder/sommerfest-marktplatz.png\">"
    ));
    // The example override in templates/ is used.
    assert!(read("404.html").contains("Das Bürgerbüro hilft Ihnen weiter"));
    let feed: atom_syndication::Feed = read("atom.xml").parse().unwrap();
    assert!(!feed.entries().is_empty());
    assert!(
        feed.entries()
            .iter()
            .all(|e| !e.id().contains("weihnachtsmarkt"))
    );

    // Once its time has come, the scheduled notice is published everywhere.
    build_example(site.path(), "2026-12-01T08:00");
    assert!(read("index.html").contains("/bekanntmachungen/2026/weihnachtsmarkt/"));
    assert!(read("atom.xml").contains("/bekanntmachungen/2026/weihnachtsmarkt/"));
    assert!(read("sitemap.xml").contains("/bekanntmachungen/2026/weihnachtsmarkt/"));
}

#[test]
fn build_refuses_to_write_when_content_has_errors() {
    let site = example_copy();
    std::fs::create_dir_all(site.path().join("content/notices")).unwrap();
    std::fs::write(
        site.path().join("content/notices/kaputt.md"),
        "---\ntitle: Kaputt\n---\nText\n",
    )
    .unwrap();
    let assert = Command::cargo_bin("aushang")
        .unwrap()
        .args(["--root", site.path().to_str().unwrap(), "build"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(err.contains("content/notices/kaputt.md"), "{err}");
    assert!(!site.path().join("public").exists());
}

#[test]
fn build_reports_a_bad_now_and_refuses_a_foreign_out_folder() {
    let site = example_copy();
    let root = site.path().to_str().unwrap();
    let bad = Command::cargo_bin("aushang")
        .unwrap()
        .args(["--root", root, "build", "--now", "morgen früh"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&bad.get_output().stderr).into_owned();
    assert!(err.contains("--now `morgen früh`"), "{err}");

    let foreign = site.path().join("dokumente-des-amtes");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("haushalt.xlsx"), b"x").unwrap();
    let refused = Command::cargo_bin("aushang")
        .unwrap()
        .args(["--root", root, "build", "--out", foreign.to_str().unwrap()])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("stammt nicht von aushang"), "{err}");
    assert!(foreign.join("haushalt.xlsx").exists());
    assert!(!foreign.join("index.html").exists());
}
