//! The form is the content model: the same fields, required ones and limits as `check`.

use std::path::Path;

use super::*;
use crate::content::notice_loader::{NOTICE_FIELDS, notice_from_source};
use crate::content::page_loader::PAGE_FIELDS;
use crate::content::source::SourceFile;
use crate::diagnostics::Problem;

fn config() -> Config {
    let text = "title: T\nbase_url: https://t.example/\ncategories:\n  - id: verkehr\n    name: Verkehr\n  - id: abfall\n    name: Abfall\ninbox:\n  url: https://inbox.t.example/\neditor:\n  repo: stadt/bekanntmachungen\n";
    crate::config::parse(Path::new("/nonexistent"), Path::new("aushang.yaml"), text).unwrap()
}

fn form(config: &Config) -> Value {
    cms_config(config, config.editor.as_ref().unwrap())
}

fn fields(form: &Value, collection: usize) -> &Vec<Value> {
    form["collections"][collection]["fields"]
        .as_array()
        .unwrap()
}

/// The problems `check` reports for a notice with this front matter.
fn check(front_matter: &str) -> Vec<Problem> {
    let text = format!("---\n{front_matter}---\nText.\n");
    let src = SourceFile::parse("content/notices/2026/2026-12-06-x.md".into(), text).unwrap();
    let mut problems = Vec::new();
    let _ = notice_from_source(&config(), src, false, &mut problems);
    problems.into_iter().filter(Problem::is_error).collect()
}

const VALID: &[(&str, &str)] = &[
    ("title", "Sperrung"),
    ("date", "2026-12-06 09:30"),
    ("summary", "Die Straße ist gesperrt."),
];

fn front_matter(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}: \"{v}\"\n"))
        .collect()
}

#[test]
fn every_field_check_knows_is_in_the_form_and_nothing_else() {
    let form = form(&config());
    let names = |i| -> Vec<String> {
        fields(&form, i)
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .filter(|n| n != "body")
            .collect()
    };
    assert_eq!(names(0), *NOTICE_FIELDS);
    assert_eq!(names(1), *PAGE_FIELDS);
    for (i, f) in fields(&form, 0).iter().enumerate() {
        assert!(f["label"].as_str().is_some_and(|l| !l.is_empty()), "{i}");
        if f["name"] != "body" {
            assert!(f["hint"].as_str().is_some_and(|h| !h.is_empty()), "{f}");
        }
    }
}

#[test]
fn the_forms_required_fields_and_limits_are_the_ones_check_enforces() {
    let form = form(&config());
    let form_fields = fields(&form, 0);
    for field in model::NOTICE {
        let widget = form_fields
            .iter()
            .find(|w| w["name"] == field.name)
            .unwrap();
        // Required in the form exactly when `check` reports it missing.
        let without: Vec<(&str, String)> = VALID
            .iter()
            .filter(|(k, _)| *k != field.name)
            .map(|(k, v)| (*k, v.to_string()))
            .collect();
        let missing = check(&front_matter(&without))
            .iter()
            .any(|p| p.message == format!("Pflichtfeld `{}` fehlt", field.name));
        assert_eq!(widget["required"], json!(missing), "{}", field.name);
        assert_eq!(missing, field.required(), "{}", field.name);

        // A one-line field's limit in the form is the one check applies.
        let Some(max) = field.max_chars() else {
            continue;
        };
        assert_eq!(
            widget["pattern"][0],
            json!(one_line_pattern(max)),
            "{}",
            field.name
        );
        let with = |value: String| {
            let mut fm: Vec<(&str, String)> = VALID
                .iter()
                .filter(|(k, _)| *k != field.name)
                .map(|(k, v)| (*k, v.to_string()))
                .collect();
            fm.push((field.name, value));
            if field.name == "image_alt" {
                return None; // needs an image file; checked below
            }
            Some(check(&front_matter(&fm)))
        };
        if let Some(at_limit) = with("ä".repeat(max)) {
            assert!(at_limit.is_empty(), "{}: {at_limit:?}", field.name);
            let over = with("ä".repeat(max + 1)).unwrap();
            assert!(
                over.iter()
                    .any(|p| p.message.contains(&format!("erlaubt sind höchstens {max}"))),
                "{}: {over:?}",
                field.name
            );
        }
    }
}

#[test]
fn a_field_required_with_another_is_checked_by_the_editors_own_widget() {
    let form = form(&config());
    let alt = fields(&form, 0)
        .iter()
        .find(|w| w["name"] == "image_alt")
        .unwrap();
    assert_eq!(alt["widget"], REQUIRED_WITH_WIDGET);
    assert_eq!(alt["required_with"], "image");
    assert_eq!(alt["required"], false);
    let problems =
        check("title: T\ndate: 2026-12-06\nsummary: S.\nimage: https://t.example/a.jpg\n");
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("fehlt die Beschreibung `image_alt`")),
        "{problems:?}"
    );
}

#[test]
fn categories_are_a_select_of_the_configured_ones() {
    let form = form(&config());
    let category = fields(&form, 0)
        .iter()
        .find(|w| w["name"] == "category")
        .unwrap();
    assert_eq!(category["widget"], "select");
    assert_eq!(
        category["options"],
        json!([{"label": "Verkehr", "value": "verkehr"}, {"label": "Abfall", "value": "abfall"}])
    );
    assert_eq!(category["pattern"][0], r"^(verkehr|abfall)$");
    assert!(
        check("title: T\ndate: 2026-12-06\nsummary: S.\ncategory: sport\n")
            .iter()
            .any(|p| p.message.contains("unbekannte Kategorie"))
    );
}

#[test]
fn notices_are_saved_where_aushang_new_writes_them_through_pull_requests() {
    let form = form(&config());
    let notices = &form["collections"][0];
    assert_eq!(notices["folder"], "content/notices");
    assert_eq!(
        notices["slug"],
        "{{year}}-{{month}}-{{day}}-{{fields.slug}}"
    );
    assert_eq!(notices["path"], "{{year}}/{{slug}}");
    assert_eq!(form["publish_mode"], "editorial_workflow");
    assert_eq!(form["locale"], "de");
    assert_eq!(
        form["backend"],
        json!({
            "name": "github",
            "repo": "stadt/bekanntmachungen",
            "branch": "main",
            "base_url": "https://inbox.t.example",
            "auth_endpoint": "redaktion/auth",
            "squash_merges": true,
            "commit_messages": form["backend"]["commit_messages"].clone(),
        })
    );
    assert_eq!(form["media_folder"], "static/bilder");
    assert!(form.get("local_backend").is_none());
    // The date format is the one `check` reads as local time.
    let date = fields(&form, 0)
        .iter()
        .find(|w| w["name"] == "date")
        .unwrap();
    assert_eq!(date["format"], DATE_FORMAT);
    assert!(check("title: T\ndate: 2026-12-06 09:30\nsummary: S.\n").is_empty());
}
