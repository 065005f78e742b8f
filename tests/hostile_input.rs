//! Hostile input from a pull request or a sign-up form (issue 13, items 8, 9 and 11): deep
//! Markdown nesting, control characters, symlinked attachments and aliases on generated
//! addresses are refused by `check` at their file and line, and what still gets through never
//! breaks `atom.xml` or a terminal.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use aushang::content::{self, LoadOptions};
use aushang::diagnostics::Problem;

const CONFIG: &str = "\
title: Stadt Test
base_url: https://www.test.example/
categories:
  - id: verkehr
    name: Straßen und Verkehr
";

struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        Site::with_config(CONFIG)
    }

    fn with_config(config: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("aushang.yaml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("static/dokumente")).unwrap();
        std::fs::write(dir.path().join("static/dokumente/plan.pdf"), b"%PDF-1.4\n").unwrap();
        Site { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn notice(&self, name: &str, text: &str) -> PathBuf {
        let rel = PathBuf::from("content/notices/2026").join(name);
        let path = self.root().join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        rel
    }

    fn load(&self) -> (content::SiteContent, Vec<Problem>) {
        let config = aushang::config::load(self.root()).unwrap();
        content::load(
            &config,
            &LoadOptions {
                include_drafts: true,
            },
        )
    }

    fn check(&self) -> (bool, String) {
        let out = Command::cargo_bin("aushang")
            .unwrap()
            .arg("--root")
            .arg(self.root())
            .arg("check")
            .env("AUSHANG_LOG", "off")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

/// A valid notice: front matter lines 1–5 (plus `extra` after line 4), then the body.
fn notice(extra: &str, body: &str) -> String {
    format!(
        "---\ntitle: Wasserrohrbruch\ndate: 2026-11-28 09:30\nsummary: Die Lindenallee ist gesperrt.\n{extra}---\n{body}"
    )
}

#[track_caller]
fn error_at<'a>(problems: &'a [Problem], file: &Path, line: usize, needle: &str) -> &'a Problem {
    problems
        .iter()
        .find(|p| {
            p.is_error() && p.file == file && p.line == Some(line) && p.message.contains(needle)
        })
        .unwrap_or_else(|| {
            panic!(
                "no error `{needle}` at {}:{line} in {problems:#?}",
                file.display()
            )
        })
}

/// Builds `content` into `out/public` as on 1 December 2026, drafts left out.
fn build_into(
    out: &Path,
    config: &aushang::config::Config,
    content: &content::SiteContent,
) -> Result<aushang::site::BuildReport, aushang::site::BuildError> {
    aushang::site::build(
        config,
        content,
        &aushang::site::BuildOptions {
            out_dir: out.join("public"),
            now: "2026-12-01T00:00:00Z".parse().unwrap(),
            include_drafts: false,
        },
    )
}

// ---- item 8: nesting ---------------------------------------------------------------------------

#[test]
fn check_refuses_a_body_of_100000_block_quotes_at_its_line() {
    let site = Site::new();
    let file = site.notice(
        "tief.md",
        &notice(
            "",
            &format!("Einleitung.\n\n{} Zitat\n", ">".repeat(100_000)),
        ),
    );
    let (ok, out) = site.check();
    assert!(!ok, "{out}");
    let at = format!(
        "{}:8:{}",
        file.display(),
        content::body_limits::MAX_NESTING + 1
    );
    assert!(out.contains(&at), "{out}");
    assert!(out.contains("zu tief verschachtelt"), "{out}");
    assert!(
        out.len() < 4000,
        "the 100,000-character line is not printed whole: {} bytes",
        out.len()
    );
    // The build loads the same way: the notice is refused, so it is never rendered.
    let (content, problems) = site.load();
    assert!(content.notices.is_empty());
    error_at(&problems, &file, 8, "verschachtelt");
}

#[test]
fn deep_lists_emphasis_and_raw_html_are_refused_too() {
    let site = Site::new();
    let mut lists = String::new();
    for depth in 0..40 {
        lists.push_str(&format!("{}- Punkt\n", "  ".repeat(depth)));
    }
    let cases = [
        ("listen.md", lists, "Listen"),
        (
            "betont.md",
            format!("{}x{}\n", "*a ".repeat(40), " b*".repeat(40)),
            "Hervorhebungen",
        ),
        ("html.md", format!("{}x\n", "<div>".repeat(50_000)), "HTML"),
    ];
    for (name, body, _) in &cases {
        site.notice(name, &notice("", body));
    }
    let (content, problems) = site.load();
    assert!(content.notices.is_empty(), "{problems:#?}");
    for (name, _, what) in &cases {
        let file = PathBuf::from("content/notices/2026").join(name);
        assert!(
            problems
                .iter()
                .any(|p| p.file == file && p.message.contains(what) && p.line.is_some()),
            "{name}: {problems:#?}"
        );
    }
}

// ---- item 9: control characters ----------------------------------------------------------------

#[test]
fn control_characters_in_front_matter_are_refused_with_field_and_line() {
    let site = Site::new();
    let file = site.notice(
        "steuer.md",
        "---\n\
         title: \"Wasser\\e]0;x\\a\"\n\
         date: 2026-11-28\n\
         summary: \"Kein\\0 Wasser\"\n\
         tags: [\"Bau\\x1bstelle\"]\n\
         aliases: [\"/alt\\x7f/\"]\n\
         attachments:\n  - file: dokumente/plan.pdf\n    label: \"Plan\\x9b\"\n\
         ---\nText.\n",
    );
    let (content, problems) = site.load();
    assert!(content.notices.is_empty());
    for (line, field, code) in [
        (2, "`title`", "U+001B (ESC)"),
        (4, "`summary`", "U+0000 (NUL)"),
        (5, "`tags`", "U+001B (ESC)"),
        (6, "`aliases`", "U+007F (DEL)"),
        (9, "`label`", "U+009B"),
    ] {
        let p = error_at(&problems, &file, line, field);
        assert!(p.message.contains(code), "{p:?}");
    }
}

#[test]
fn a_control_character_in_the_body_is_refused_and_check_prints_no_raw_escape() {
    let site = Site::new();
    let file = site.notice(
        "koerper.md",
        &notice(
            "category: \"x\\e[2J\"\n",
            "Text\n\nmit \u{1b}]0;Titel\u{7} Steuerzeichen\n",
        ),
    );
    let (_, problems) = site.load();
    error_at(&problems, &file, 9, "U+001B (ESC)");
    let (ok, out) = site.check();
    assert!(!ok);
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{7}'),
        "raw control characters in the output: {out:?}"
    );
    assert!(out.contains("\\u{1b}"), "{out}");
}

#[test]
fn atom_xml_stays_well_formed_with_a_control_character_in_the_configuration() {
    let site = Site::with_config(&CONFIG.replace("Stadt Test", "\"Stadt\\e Test\\0\""));
    site.notice("wasser.md", &notice("", "Text.\n"));
    let config = aushang::config::load(site.root()).unwrap();
    let (content, problems) = site.load();
    assert!(problems.iter().all(|p| !p.is_error()), "{problems:#?}");
    let out = tempfile::tempdir().unwrap();
    build_into(out.path(), &config, &content).unwrap();
    let xml = std::fs::read_to_string(out.path().join("public/atom.xml")).unwrap();
    // XML 1.0's `Char` production (atom_syndication's parser does not check it).
    let bad = xml.chars().find(|&c| {
        !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
    });
    assert_eq!(bad, None, "{xml:?}");
    assert!(xml.contains("Stadt\u{fffd} Test\u{fffd}"), "{xml}");
    let feed = atom_syndication::Feed::read_from(xml.as_bytes()).unwrap();
    assert_eq!(feed.entries().len(), 1);
}

#[test]
fn a_sign_up_name_with_control_characters_is_refused() {
    use aushang::inbox::signup::{Decision, SignupForm, decide, form_stamp};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = aushang::config::load(root).unwrap();
    let now = jiff::Timestamp::now();
    let key = [7u8; 32];
    // The stamp the form's script fetched a minute ago: old enough to be a human's fill time.
    let stamp = form_stamp(&key, now - jiff::SignedDuration::from_secs(60));
    let form = |name: &str| SignupForm {
        name: name.into(),
        number: "0171 3920001".into(),
        consent: true,
        consent_version: config.inbox.as_ref().unwrap().consent_version.clone(),
        stamp: Some(stamp.clone()),
        ..SignupForm::default()
    };
    assert!(matches!(
        decide(&form("Erika Beispiel"), &config, &key, now, &mut |_| true),
        Decision::Accept(_)
    ));
    for name in [
        "Erika\nstatus: active",
        "\u{1b}]0;x\u{7}Erika",
        "Erika\u{0}",
    ] {
        match decide(&form(name), &config, &key, now, &mut |_| true) {
            Decision::Invalid(why) => assert!(why.join(" ").contains("Steuerzeichen"), "{why:?}"),
            other => panic!("{name:?}: {other:?}"),
        }
    }
}

// ---- item 11: symlinked attachments, aliases on generated files --------------------------------

#[cfg(unix)]
#[test]
fn a_symlinked_attachment_is_refused_at_its_line() {
    let site = Site::new();
    std::os::unix::fs::symlink(
        site.root().join("static/dokumente/plan.pdf"),
        site.root().join("static/dokumente/link.pdf"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc", site.root().join("static/etc")).unwrap();
    let file = site.notice(
        "anhang.md",
        &notice(
            "attachments:\n  - file: dokumente/link.pdf\n    label: Plan\n  - file: etc/hostname\n    label: Host\n",
            "Text.\n",
        ),
    );
    let (content, problems) = site.load();
    assert!(content.notices.is_empty());
    error_at(&problems, &file, 6, "symbolischer Link");
    error_at(
        &problems,
        &file,
        8,
        "`static/etc` ist ein symbolischer Link",
    );

    // A link in the text to the same file would be just as dead: `check` reports it.
    std::fs::remove_file(site.root().join(&file)).unwrap();
    let file = site.notice(
        "link.md",
        &notice(
            "",
            "[Plan](/dokumente/link.pdf) und [echt](/dokumente/plan.pdf)\n",
        ),
    );
    let (ok, out) = site.check();
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("{}:6:", file.display())), "{out}");
    assert!(out.contains("/dokumente/link.pdf"), "{out}");
    assert_eq!(out.matches("führt ins Leere").count(), 1, "{out}");
}

#[test]
fn an_alias_on_a_generated_file_is_refused_by_check_at_its_line() {
    let site = Site::new();
    let file = site.notice(
        "alias.md",
        &notice(
            "aliases:\n  - /atom.xml/\n  - /kategorie/verkehr/\n  - /dokumente/plan.pdf/\n  - /alt/wasser/\n",
            "Text.\n",
        ),
    );
    let (ok, out) = site.check();
    assert!(!ok, "{out}");
    for line in [6, 7, 8] {
        assert!(
            out.contains(&format!("{}:{line}:", file.display())),
            "{out}"
        );
    }
    assert!(!out.contains(&format!("{}:9:", file.display())), "{out}");
}

#[test]
fn the_build_names_the_notice_whose_alias_needs_a_folder_where_a_file_is() {
    let site = Site::new();
    site.notice("wasser.md", &notice("aliases: [/alt/]\n", "Text.\n"));
    let config = aushang::config::load(site.root()).unwrap();
    let (mut content, problems) = site.load();
    assert!(problems.iter().all(|p| !p.is_error()), "{problems:#?}");
    // As if the loader had let it through (a generator, a future generated file).
    content.notices[0].aliases = vec!["/atom.xml/".into()];
    let out = tempfile::tempdir().unwrap();
    let err = build_into(out.path(), &config, &content)
        .unwrap_err()
        .to_string();
    assert!(err.contains("content/notices/2026/wasser.md"), "{err}");
    assert!(err.contains("/atom.xml/"), "{err}");
}

#[test]
fn every_generated_top_level_address_is_reserved_for_aliases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = aushang::config::load(root).unwrap();
    let (content, _) = content::load(&config, &LoadOptions::default());
    let out = tempfile::tempdir().unwrap();
    build_into(out.path(), &config, &content).unwrap();
    let from_static: Vec<String> = std::fs::read_dir(root.join("static"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for entry in std::fs::read_dir(out.path().join("public")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let allowed = content::reserved::GENERATED_ROOTS.contains(&name.as_str())
            || from_static.contains(&name)
            || content.pages.iter().any(|p| p.slug == name)
            || name == "bekanntmachungen"
            || name == "index.html"
            || name.starts_with('.')
            || (name.starts_with("style.") && name.ends_with(".css"));
        assert!(allowed, "`/{name}` is generated but not in GENERATED_ROOTS");
    }
}
