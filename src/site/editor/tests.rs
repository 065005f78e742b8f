//! The editor's files: the vendored bundle as pinned, the page closed to other origins.

use std::path::Path;

use sha2::Digest;

use super::*;

fn config(editor: &str) -> Config {
    let text = format!(
        "title: Stadt <Test>\nbase_url: https://t.example/\ninbox:\n  url: https://inbox.t.example/\n{editor}"
    );
    crate::config::parse(Path::new("/nonexistent"), Path::new("aushang.yaml"), &text).unwrap()
}

#[test]
fn the_embedded_bundle_is_the_vendored_release_with_its_checksums() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor/decap-cms");
    let sums = std::fs::read_to_string(root.join("SHA256SUMS")).unwrap();
    let listed: Vec<(&str, &str)> = sums.lines().map(|l| l.split_once("  ").unwrap()).collect();
    assert_eq!(listed.len(), bundle_files::FILES.len());
    for ((sum, name), (file, bytes)) in listed.iter().zip(bundle_files::FILES) {
        assert_eq!(name, file);
        assert_eq!(*sum, hex::encode(sha2::Sha256::digest(bytes)), "{file}");
    }
    let version = std::fs::read_to_string(root.join("VERSION")).unwrap();
    assert_eq!(version.trim(), DECAP_VERSION);
    assert!(root.join("LICENSE").is_file() && root.join("THIRD-PARTY-LICENSES.txt").is_file());
}

#[test]
fn no_editor_without_the_setting() {
    assert!(files(&config(""), "/style.css").is_empty());
}

#[test]
fn the_page_is_noindex_and_loads_only_from_the_site() {
    let c = config("editor:\n  path: intern/redaktion\n  repo: stadt/site\n");
    let files = files(&c, "/style.0123abcd.css");
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    for name in [
        "intern/redaktion/index.html",
        "intern/redaktion/decap-cms.js",
        "intern/redaktion/config.js",
        "intern/redaktion/aushang-editor.js",
    ] {
        assert!(names.iter().any(|n| n == name), "{name}");
    }
    let page = files
        .iter()
        .find(|(p, _)| p.ends_with("index.html"))
        .map(|(_, b)| String::from_utf8(b.to_vec()).unwrap())
        .unwrap();
    assert!(page.contains(r#"<meta name="robots" content="noindex, nofollow">"#));
    assert!(page.contains("<title>Redaktion – Stadt &lt;Test&gt;</title>"));
    // Every script is a file of the site (relative), none inline, none from elsewhere.
    let srcs: Vec<&str> = page
        .match_indices("src=\"")
        .map(|(i, _)| page[i + 5..].split('"').next().unwrap())
        .collect();
    assert_eq!(srcs, ["config.js", "decap-cms.js", "aushang-editor.js"]);
    let csp = content_security_policy(&c, c.editor.as_ref().unwrap());
    assert!(
        csp.starts_with("default-src 'none'; script-src 'self' "),
        "{csp}"
    );
    assert!(
        csp.contains("connect-src 'self' blob: https://api.github.com https://inbox.t.example;"),
        "{csp}"
    );
    assert!(!csp.contains("http:"), "{csp}");
    let settings = files
        .iter()
        .find(|(p, _)| p.ends_with("config.js"))
        .map(|(_, b)| String::from_utf8(b.to_vec()).unwrap())
        .unwrap();
    assert!(
        settings.contains(r#""style": "/style.0123abcd.css""#),
        "{settings}"
    );
}

#[test]
fn a_local_backend_on_this_machine_is_allowed_to_be_called() {
    let c = config("editor:\n  repo: stadt/site\n  local_backend: http://127.0.0.1:8081/api/v1\n");
    let csp = content_security_policy(&c, c.editor.as_ref().unwrap());
    assert!(csp.contains(" http://127.0.0.1:8081;"), "{csp}");
}

#[test]
fn the_editor_never_overwrites_a_page_of_the_site() {
    let c = config("editor:\n  repo: stadt/site\n");
    let files = files(&c, "/style.css");
    let page = Path::new("redaktion/index.html");
    let other = Path::new("impressum/index.html");
    let problems = clashes(&[page, other].into_iter().collect(), &files);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("redaktion/index.html"));
    assert!(clashes(&[other].into_iter().collect(), &files).is_empty());
}

#[test]
fn with_editor_auth_the_editor_calls_its_github_api_and_no_other() {
    let c = config(
        "editor:\n  repo: stadt/site\n  auth:\n    client_id: Ov23liX\n    github_url: https://git.t.example\n    github_enterprise: true\n",
    );
    let editor = c.editor.as_ref().unwrap();
    let csp = content_security_policy(&c, editor);
    assert!(
        csp.contains("connect-src 'self' blob: https://git.t.example https://inbox.t.example;"),
        "{csp}"
    );
    assert!(!csp.contains("api.github.com"), "{csp}");
    let backend = &cms_config::cms_config(&c, editor)["backend"];
    assert_eq!(backend["api_root"], "https://git.t.example/api/v3");
    assert_eq!(backend["base_url"], "https://inbox.t.example");
    // github.com: Decap's own default, not written out.
    let c = config("editor:\n  repo: stadt/site\n  auth:\n    client_id: Ov23liX\n");
    let editor = c.editor.as_ref().unwrap();
    assert!(
        cms_config::cms_config(&c, editor)["backend"]
            .get("api_root")
            .is_none()
    );
    assert!(content_security_policy(&c, editor).contains(" https://api.github.com "));
}

#[test]
fn check_warns_when_nobody_can_log_in() {
    let without = config("editor:\n  repo: stadt/site\n");
    let found = super::check(&without);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(!found[0].is_error());
    assert!(found[0].message.contains("editor.auth"), "{found:?}");
    let with = config("editor:\n  repo: stadt/site\n  auth:\n    client_id: Ov23liX\n");
    assert!(super::check(&with).is_empty());
}

fn page_of(c: &Config) -> String {
    files(c, "/style.css")
        .into_iter()
        .find(|(p, _)| p.ends_with("index.html"))
        .map(|(_, b)| String::from_utf8(b.to_vec()).unwrap())
        .unwrap()
}

#[test]
fn the_page_has_the_sites_icon_or_an_empty_one_instead_of_asking_for_favicon_ico() {
    // Without an icon in static/: an empty one (img-src allows data:), no request at all.
    let c = config("editor:\n  repo: stadt/site\n");
    assert!(page_of(&c).contains(r#"<link rel="icon" href="data:,">"#));
    assert!(
        content_security_policy(&c, c.editor.as_ref().unwrap()).contains("img-src 'self' data:")
    );
    // With static/favicon.svg: the site's icon, below the site's sub-path.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("static")).unwrap();
    std::fs::write(dir.path().join("static/favicon.svg"), "<svg/>").unwrap();
    let text = "title: Stadt\nbase_url: https://org.github.io/stadt/\ninbox:\n  url: https://inbox.t.example/\neditor:\n  repo: stadt/site\n";
    let c = crate::config::parse(dir.path(), Path::new("aushang.yaml"), text).unwrap();
    assert!(
        page_of(&c).contains(r#"<link rel="icon" href="/stadt/favicon.svg">"#),
        "{}",
        page_of(&c)
    );
}
