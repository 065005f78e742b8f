//! The web editor at `/redaktion/` (`editor.path`): Decap CMS, vendored and embedded in the
//! binary (never loaded from a CDN), with its configuration generated from the content model and
//! a preview showing the page and the exact WhatsApp message. Built only when `editor:` is set;
//! `noindex`, not in the sitemap, and with a Content-Security-Policy that allows no other origin
//! than the site, the login server and the GitHub API.

mod bundle_files;
pub mod cms_config;
pub mod message;

use std::borrow::Cow;
use std::path::PathBuf;

use serde_json::json;

use crate::config::{Config, EditorSettings};

pub use bundle_files::VERSION as DECAP_VERSION;

/// The editor's own script: preview, slug, validation, `CMS.init`.
const EDITOR_JS: &str = include_str!("aushang-editor.js");
/// Styles of the message box in the preview (the page itself uses the site's style sheet).
const PREVIEW_CSS: &str = include_str!("vorschau.css");

/// GitHub's API, which the editor saves through (Decap's GitHub backend) unless `editor.auth`
/// names another (`EditorSettings::github_api_url`).
pub const GITHUB_API: &str = "https://api.github.com";

/// Every file of the editor: its path below the output folder and its bytes.
pub fn files(config: &Config, css_path: &str) -> Vec<(PathBuf, Cow<'static, [u8]>)> {
    let Some(editor) = &config.editor else {
        return Vec::new();
    };
    let dir = PathBuf::from(editor.site_path().trim_matches('/'));
    let mut out: Vec<(PathBuf, Cow<'static, [u8]>)> = bundle_files::FILES
        .iter()
        .map(|(name, bytes)| (dir.join(name), Cow::Borrowed(*bytes)))
        .collect();
    out.push((
        dir.join("index.html"),
        Cow::Owned(page(config, editor).into_bytes()),
    ));
    out.push((
        dir.join("config.js"),
        Cow::Owned(settings_script(config, editor, css_path).into_bytes()),
    ));
    out.push((
        dir.join("aushang-editor.js"),
        Cow::Borrowed(EDITOR_JS.as_bytes()),
    ));
    out.push((
        dir.join("vorschau.css"),
        Cow::Borrowed(PREVIEW_CSS.as_bytes()),
    ));
    out
}

/// A page of the site at the editor's address (a standing page `redaktion.md`): the editor
/// would overwrite it, so the build stops with a problem naming `editor.path`.
pub fn clashes(
    pages: &std::collections::HashSet<&std::path::Path>,
    editor_files: &[(PathBuf, Cow<'static, [u8]>)],
) -> Vec<crate::diagnostics::Problem> {
    editor_files
        .iter()
        .filter(|(file, _)| pages.contains(file.as_path()))
        .map(|(file, _)| {
            crate::diagnostics::Problem::error(
                crate::config::CONFIG_FILE,
                format!(
                    "editor.path: die Redaktion würde {} überschreiben, eine Seite der Website",
                    file.display()
                ),
            )
            .with_hint("wählen Sie für editor.path einen anderen Ordner, z. B. intern/redaktion")
        })
        .collect()
}

/// The origin (`https://host[:port]`) of an absolute address.
fn origin(address: &str) -> Option<String> {
    let url = url::Url::parse(address).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// What `check` says about `editor:` beyond its settings: without `editor.auth` (and without
/// another login server in `editor.backend.base_url`) the form's "Mit GitHub anmelden" leads to
/// a login the inbox does not serve, so nobody can log in (a local decap-server still works).
pub fn check(config: &Config) -> Vec<crate::diagnostics::Problem> {
    let Some(editor) = &config.editor else {
        return Vec::new();
    };
    if editor.auth.is_some() || editor.backend.base_url.is_some() {
        return Vec::new();
    }
    let file = crate::config::CONFIG_FILE;
    let text = std::fs::read_to_string(config.root.join(file)).unwrap_or_default();
    let problem = crate::diagnostics::Problem::warning(
        file,
        "editor: ohne editor.auth kann sich niemand im Formular anmelden (die Anmeldung mit \
         GitHub läuft über den Posteingang); nur ein lokaler decap-server (editor.local_backend) \
         funktioniert",
    )
    .with_hint("editor.auth.client_id ergänzen (docs/editor-login.md)");
    vec![match text.lines().position(|l| l.starts_with("editor:")) {
        Some(n) => problem.at(&text, n + 1, 1),
        None => problem,
    }]
}

/// The Content-Security-Policy of the editor page: scripts, styles, images and fonts only from
/// the site; API calls only to the site, the login server and the GitHub API. Decap needs inline
/// styles (its components style themselves) and `unsafe-eval` (it compiles its config schema).
pub fn content_security_policy(config: &Config, editor: &EditorSettings) -> String {
    let inbox_url = config.inbox.as_ref().map(|i| i.url.as_str());
    // `blob:`: Decap reads back its own drafts and uploads as blob URLs of this page.
    let mut connect = vec!["'self'".to_string(), "blob:".to_string()];
    connect.extend(origin(&editor.github_api_url()));
    connect.extend(editor.auth_base_url(inbox_url).as_deref().and_then(origin));
    connect.extend(editor.local_backend.as_deref().and_then(origin));
    connect.dedup();
    [
        "default-src 'none'".to_string(),
        "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'".into(),
        "style-src 'self' 'unsafe-inline'".into(),
        "img-src 'self' data: blob:".into(),
        "font-src 'self' data:".into(),
        "media-src 'self' blob:".into(),
        "frame-src 'self' blob:".into(),
        "worker-src 'self' blob:".into(),
        format!("connect-src {}", connect.join(" ")),
        "base-uri 'self'".into(),
        "form-action 'none'".into(),
        "object-src 'none'".into(),
    ]
    .join("; ")
}

fn page(config: &Config, editor: &EditorSettings) -> String {
    let title = html_escape(&format!("Redaktion – {}", config.title));
    let csp = html_escape(&content_security_policy(config, editor));
    // The site's icon, or an empty one: else the browser asks for /favicon.ico (a 404).
    let icon = html_escape(
        &crate::site::view::favicon(&config.root)
            .map_or_else(|| "data:,".to_string(), |f| config.href(f)),
    );
    format!(
        r#"<!doctype html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="same-origin">
<title>{title}</title>
<link rel="icon" href="{icon}">
</head>
<body>
<noscript>Die Redaktion braucht JavaScript.</noscript>
<script src="config.js"></script>
<script src="decap-cms.js"></script>
<script src="aushang-editor.js"></script>
</body>
</html>
"#
    )
}

/// `config.js`: the generated CMS configuration and what the preview needs, as one global.
fn settings_script(config: &Config, editor: &EditorSettings, css_path: &str) -> String {
    let settings = json!({
        "cms": cms_config::cms_config(config, editor),
        "site": {
            "base_url": config.base_url,
            "style": config.href(css_path),
            "preview_style": "vorschau.css",
        },
        "messages": message::patterns(config),
        "limits": {
            "title": crate::content::model::MAX_TITLE_CHARS,
            "param": crate::providers::whatsapp::MAX_PARAM_CHARS,
        },
    });
    // `</` never appears inside the script, whatever a setting says.
    let json = serde_json::to_string_pretty(&settings)
        .expect("JSON values serialise")
        .replace("</", "<\\/");
    format!(
        "// Generated by aushang build from aushang.yaml and the content model; do not edit.\nwindow.CMS_MANUAL_INIT = true;\nwindow.AUSHANG_EDITOR = {json};\n"
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
