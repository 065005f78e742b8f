//! `aushang check` speaks German only: a configuration error, a content error, a template error
//! and template warnings all come out without an English sentence of aushang's own.

use std::path::Path;

use assert_cmd::Command;

/// Words of an English sentence; none may appear outside quoted values and library messages.
const ENGLISH: [&str; 9] = [
    " the ", " is ", " must ", " cannot ", " not ", " and ", " with ", " of ", " would ",
];

fn example_copy() -> tempfile::TempDir {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for top in ["content", "static"] {
        for entry in walkdir::WalkDir::new(repo.join(top)).into_iter().flatten() {
            let rel = entry.path().strip_prefix(repo).unwrap();
            let to = dir.path().join(rel);
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&to).unwrap();
            } else {
                std::fs::copy(entry.path(), &to).unwrap();
            }
        }
    }
    std::fs::copy(repo.join("aushang.yaml"), dir.path().join("aushang.yaml")).unwrap();
    dir
}

/// stdout and stderr of a failing `check`, in both formats.
fn failing_check(root: &Path) -> String {
    let mut all = String::new();
    for format in ["human", "github"] {
        let out = Command::cargo_bin("aushang")
            .unwrap()
            .arg("--root")
            .arg(root)
            .args(["check", "--format", format])
            .env("AUSHANG_LOG", "off")
            .output()
            .unwrap();
        assert!(!out.status.success(), "check passed");
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    all
}

/// The text aushang wrote itself: without quoted values (`…`), the quoted source lines
/// (`12 | …`) and the wrapped messages of libraries.
fn own_words(output: &str) -> String {
    let mut own = String::new();
    for line in output.split(['\n', '%']) {
        if line
            .trim_start()
            .split_once(" | ")
            .is_some_and(|(n, _)| n.trim().chars().all(|c| c.is_ascii_digit()))
        {
            continue;
        }
        let line = match line.find("(Meldung der ") {
            Some(start) => &line[..start],
            None => line,
        };
        let mut quoted = false;
        for c in line.chars() {
            if c == '`' {
                quoted = !quoted;
            } else if !quoted {
                own.push(c);
            }
        }
        own.push_str(" \n");
    }
    own.replace(['.', ',', ':', ';', '(', ')'], " ")
}

fn assert_german(output: &str) {
    let own = own_words(output);
    for word in ENGLISH {
        assert!(!own.contains(word), "English `{word}` in:\n{output}");
    }
}

#[test]
fn check_output_has_no_english_sentence() {
    let site = example_copy();
    let root = site.path();

    // A configuration error (check stops there: the content is not checked).
    let yaml = std::fs::read_to_string(root.join("aushang.yaml")).unwrap();
    let broken = yaml.replace("timezone: Europe/Berlin", "timezone: Mars/Olympus");
    assert_ne!(broken, yaml, "the example names its time zone");
    std::fs::write(root.join("aushang.yaml"), &broken).unwrap();
    let out = failing_check(root);
    assert!(out.contains("unbekannte Zeitzone `Mars/Olympus`"), "{out}");
    assert_german(&out);
    std::fs::write(root.join("aushang.yaml"), &yaml).unwrap();

    // A content error, a template error, template warnings and a hidden static file.
    let notice = walkdir::WalkDir::new(root.join("content/notices"))
        .into_iter()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "md"))
        .unwrap()
        .into_path();
    let text = std::fs::read_to_string(&notice).unwrap();
    let category = text.lines().find(|l| l.starts_with("category:")).unwrap();
    std::fs::write(&notice, text.replacen(category, "category: verkher", 1)).unwrap();
    let templates = root.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("page.html"),
        "{% extends \"base.html\" %}\n{% block main %}{{ page.title | nofilter }}{% endblock main %}\n",
    )
    .unwrap();
    std::fs::write(templates.join("robots.txt"), "User-agent: *\n").unwrap();
    std::fs::write(root.join("static/.env"), "TOKEN=x\n").unwrap();
    let out = failing_check(root);
    assert!(out.contains("unbekannte Kategorie `verkher`"), "{out}");
    assert!(
        out.contains("Unknown filter"),
        "the library's message is kept: {out}"
    );
    assert!(out.contains("Warnung: templates/robots.txt"), "{out}");
    assert!(out.contains("static/.env ist versteckt"), "{out}");
    assert_german(&out);
}
