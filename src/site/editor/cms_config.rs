//! The Decap CMS configuration, generated from the content model (`content::model`): one form
//! widget per front-matter field with the limits `check` applies, the notices collection writing
//! `content/notices/<year>/<date>-<slug>.md` as `aushang new` does, the standing pages, media
//! folders under `static/`, and the editorial workflow (every save is a branch and a pull request).

use serde_json::{Value, json};

use crate::config::{Config, EditorSettings};
use crate::content::model::{self, Field, Kind, Need};
use crate::content::{NOTICES_DIR, PAGES_DIR};

/// Where uploaded images and documents go (under `static/`), and their site paths.
pub const IMAGE_FOLDER: (&str, &str) = ("static/bilder", "/bilder");
pub const DOCUMENT_FOLDER: (&str, &str) = ("static/dokumente", "/dokumente");

/// The format of dates in the files: what `aushang new` writes and `check` reads (local time).
pub const DATE_FORMAT: &str = "YYYY-MM-DD HH:mm";

/// The name of the form widget that makes a field required while another one is set
/// (`image_alt` with `image`); registered by `aushang-editor.js`.
pub const REQUIRED_WITH_WIDGET: &str = "aushang-pflicht-mit";

/// A JavaScript regular expression (without flags, as Decap uses it) for one line of text of
/// 1 to `max` characters: no line break or tab, no run of five spaces, not only spaces. A pair
/// of UTF-16 surrogates is one character, as `check` counts them.
pub fn one_line_pattern(max: usize) -> String {
    format!(
        r"^(?![\s\S]*     )(?=[\s\S]*\S)(?:[^\n\r\t\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF]){{1,{max}}}$"
    )
}

/// The pattern of a slug (`strassensperrung-hauptstrasse`).
pub const SLUG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// The complete configuration passed to `CMS.init`.
pub fn cms_config(config: &Config, editor: &EditorSettings) -> Value {
    let inbox_url = config.inbox.as_ref().map(|i| i.url.as_str());
    let mut backend = json!({
        "name": "github",
        "repo": editor.repo.trim(),
        "branch": editor.branch.trim(),
        "squash_merges": true,
        "commit_messages": {
            "create": "Neue Bekanntmachung: {{slug}}",
            "update": "Bekanntmachung geändert: {{slug}}",
            "delete": "Bekanntmachung gelöscht: {{slug}}",
            "uploadMedia": "Datei hochgeladen: {{path}}",
            "deleteMedia": "Datei gelöscht: {{path}}",
        },
    });
    // Decap compares the popup's origin with `base_url`: a bare origin, the inbox's path (if
    // any) goes in front of the endpoint.
    if let Some(login) = editor.login_backend(inbox_url) {
        backend["base_url"] = Value::String(login.base_url);
        backend["auth_endpoint"] = Value::String(login.auth_endpoint);
    }
    // GitHub Enterprise Server (or the tests' fake): Decap calls this API instead of GitHub's.
    let api_root = editor.github_api_url();
    if api_root != super::GITHUB_API {
        backend["api_root"] = Value::String(api_root);
    }
    let mut out = json!({
        "load_config_file": false,
        "backend": backend,
        "publish_mode": "editorial_workflow",
        "locale": "de",
        "site_url": config.base_url,
        "display_url": config.base_url,
        "media_folder": IMAGE_FOLDER.0,
        "public_folder": IMAGE_FOLDER.1,
        "slug": { "encoding": "ascii", "clean_accents": true, "sanitize_replacement": "-" },
        "collections": [notices(config), pages()],
    });
    if let Some(local) = &editor.local_backend {
        out["local_backend"] = json!({ "url": local });
    }
    out
}

fn notices(config: &Config) -> Value {
    let mut fields: Vec<Value> = model::NOTICE.iter().map(|f| widget(config, f)).collect();
    fields.push(body("Der ausführliche Text: Absätze durch eine Leerzeile trennen, **fett**, Listen mit -, Tabellen, Links."));
    json!({
        "name": "notices",
        "label": "Bekanntmachungen",
        "label_singular": "Bekanntmachung",
        "description": "Jede gespeicherte Bekanntmachung wird ein Pull Request: die Prüfung zeigt Fehler und die Nachrichten-Vorschau, eine Kollegin oder ein Kollege gibt frei.",
        "folder": NOTICES_DIR,
        "create": true,
        "extension": "md",
        "format": "frontmatter",
        "identifier_field": "title",
        // content/notices/<year>/<date>-<slug>.md, the year and date from the notice's `date`;
        // `slug` is filled from the title by aushang-editor.js before the first save.
        "slug": "{{year}}-{{month}}-{{day}}-{{fields.slug}}",
        "path": "{{year}}/{{slug}}",
        "summary": "{{title}} ({{fields.date | date('DD.MM.YYYY')}})",
        "sortable_fields": ["date", "title"],
        "fields": fields,
    })
}

fn pages() -> Value {
    let mut fields: Vec<Value> = model::PAGE.iter().map(widget_for_page).collect();
    fields.push(body("Der Text der Seite in Markdown."));
    json!({
        "name": "pages",
        "label": "Seiten",
        "label_singular": "Seite",
        "description": "Impressum, Datenschutz, Barrierefreiheit, Anmelden.",
        "folder": PAGES_DIR,
        "create": false,
        "delete": false,
        "extension": "md",
        "format": "frontmatter",
        "identifier_field": "title",
        "fields": fields,
    })
}

fn widget_for_page(field: &Field) -> Value {
    widget_with(field, &[])
}

fn widget(config: &Config, field: &Field) -> Value {
    let categories: Vec<(&str, &str)> = config
        .categories
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    widget_with(field, &categories)
}

fn body(hint: &str) -> Value {
    json!({ "name": "body", "label": "Text", "widget": "markdown", "hint": hint, "required": true })
}

/// The form widget of one field: its kind decides the widget, its need whether it is required.
fn widget_with(field: &Field, categories: &[(&str, &str)]) -> Value {
    let mut w = json!({
        "name": field.name,
        "label": field.label,
        "hint": field.hint,
        "required": field.need == Need::Required,
    });
    let set = |w: &mut Value, key: &str, value: Value| {
        w[key] = value;
    };
    match field.kind {
        Kind::Line { max_chars, long } => {
            set(
                &mut w,
                "widget",
                json!(if long { "text" } else { "string" }),
            );
            set(
                &mut w,
                "pattern",
                json!([
                    one_line_pattern(max_chars),
                    format!(
                        "eine Zeile ohne Zeilenumbruch und Tabulator, höchstens {max_chars} Zeichen"
                    )
                ]),
            );
        }
        Kind::Time => {
            set(&mut w, "widget", json!("datetime"));
            set(&mut w, "format", json!(DATE_FORMAT));
            set(&mut w, "date_format", json!("DD.MM.YYYY"));
            set(&mut w, "time_format", json!("HH:mm"));
            set(&mut w, "picker_utc", json!(false));
            if field.need != Need::Required {
                set(&mut w, "default", json!(""));
            }
        }
        Kind::Category => {
            set(&mut w, "widget", json!("select"));
            let options: Vec<Value> = categories
                .iter()
                .map(|(id, name)| json!({ "label": name, "value": id }))
                .collect();
            set(&mut w, "options", Value::Array(options));
            let ids: Vec<String> = categories.iter().map(|(id, _)| regex_escape(id)).collect();
            set(
                &mut w,
                "pattern",
                json!([
                    format!("^({})$", ids.join("|")),
                    "eine der Kategorien aus aushang.yaml"
                ]),
            );
        }
        Kind::Flag { default } => {
            set(&mut w, "widget", json!("boolean"));
            set(&mut w, "default", json!(default));
        }
        Kind::Slug => {
            set(&mut w, "widget", json!("string"));
            set(
                &mut w,
                "pattern",
                json!([SLUG_PATTERN, "nur a–z, 0–9 und Bindestriche"]),
            );
        }
        Kind::Image => {
            set(&mut w, "widget", json!("image"));
            set(&mut w, "choose_url", json!(true));
        }
        Kind::File => {
            set(&mut w, "widget", json!("file"));
            set(
                &mut w,
                "media_folder",
                json!(format!("/{}", DOCUMENT_FOLDER.0)),
            );
            set(&mut w, "public_folder", json!(DOCUMENT_FOLDER.1));
            set(&mut w, "choose_url", json!(false));
        }
        Kind::Words | Kind::Paths => {
            set(&mut w, "widget", json!("list"));
            set(&mut w, "allow_add", json!(true));
        }
        Kind::List(sub) => {
            set(&mut w, "widget", json!("list"));
            set(
                &mut w,
                "fields",
                Value::Array(sub.iter().map(|f| widget_with(f, categories)).collect()),
            );
            set(&mut w, "collapsed", json!(false));
        }
    }
    if let Need::With(other) = field.need {
        // Decap has no "required when"; this widget checks it (a text field otherwise).
        w["aushang_widget"] = w["widget"].clone();
        set(&mut w, "widget", json!(REQUIRED_WITH_WIDGET));
        set(&mut w, "required_with", json!(other));
    }
    w
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\^$.|?*+()[]{}/-".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

#[cfg(test)]
#[path = "cms_config_tests.rs"]
mod tests;
