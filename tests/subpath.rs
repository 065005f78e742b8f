//! A site below a sub-path (`base_url: https://musterbach.github.io/bekanntmachungen/`, GitHub
//! project Pages): the example site built through the binary has every link, asset, feed entry,
//! sitemap entry and redirect below the prefix, and every internal link leads to a built file.
//! The prefix is chosen to equal the notices' own first path segment, so a link prefixed twice or
//! not at all would still look plausible: only resolving each one to a file tells them apart.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod common;
use common::files_under;

const BASE_URL: &str = "https://musterbach.github.io/bekanntmachungen/";
const PREFIX: &str = "/bekanntmachungen/";

/// A copy of the example site with `base_url` replaced.
fn example_at(base_url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_example_tree(dir.path());
    let config = std::fs::read_to_string(common::repo().join("aushang.yaml")).unwrap();
    let config = config.replace("https://www.musterbach.example/", base_url);
    assert!(config.contains(base_url));
    std::fs::write(dir.path().join("aushang.yaml"), config).unwrap();
    dir
}

fn aushang(site: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("aushang")
        .unwrap()
        .arg("--root")
        .arg(site)
        .args(args)
        .output()
        .unwrap()
}

/// Every URL in `href`, `src`, `action`, `srcset` and `content` attributes (after undoing the
/// escaping of HTML inside XML), the meta refresh target, and `<loc>`/`<id>` of XML files.
fn urls_in(text: &str) -> Vec<String> {
    let text = text
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let mut urls = Vec::new();
    for attr in [" href=\"", " src=\"", " action=\"", " srcset=\""] {
        for part in text.split(attr).skip(1) {
            let value = &part[..part.find('"').unwrap()];
            if attr == " srcset=\"" {
                urls.extend(
                    value
                        .split(',')
                        .map(|c| c.split_whitespace().next().unwrap_or("").to_string()),
                );
            } else {
                urls.push(value.to_string());
            }
        }
    }
    for part in text.split("url=").skip(1) {
        urls.push(part[..part.find('"').unwrap()].to_string());
    }
    for (open, close) in [("<loc>", "</loc>"), ("<id>", "</id>")] {
        for part in text.split(open).skip(1) {
            urls.push(part[..part.find(close).unwrap()].to_string());
        }
    }
    for part in text.split("content=\"http").skip(1) {
        urls.push(format!("http{}", &part[..part.find('"').unwrap()]));
    }
    urls
}

/// The built file a path below the prefix names (`/p/a/` → `a/index.html`), if it is internal.
fn target_file(public: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['#', '?']).next().unwrap();
    let rel = path.strip_prefix(PREFIX)?;
    let mut file = public.join(rel);
    if rel.is_empty() || rel.ends_with('/') {
        file.push("index.html");
    }
    Some(file)
}

#[test]
fn every_link_of_the_example_site_stays_below_the_sub_path_and_leads_to_a_built_file() {
    let site = example_at(BASE_URL);
    let check = aushang(site.path(), &["check"]);
    assert!(
        check.status.success(),
        "the example passes check under a sub-path: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let out = aushang(site.path(), &["build", "--now", "2026-12-01T08:00"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = site.path().join("public");
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in files_under(&public) {
        let rel = file.strip_prefix(&public).unwrap().display().to_string();
        if !(rel.ends_with(".html") || rel.ends_with(".xml") || rel.ends_with(".txt")) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let mut urls = urls_in(&text);
        if rel == "robots.txt" {
            let line = text.lines().find(|l| l.starts_with("Sitemap: ")).unwrap();
            urls.push(line["Sitemap: ".len()..].to_string());
        }
        for url in urls {
            checked += 1;
            let internal = if let Some(rest) = url.strip_prefix(BASE_URL) {
                Some(format!("{PREFIX}{rest}"))
            } else if url.starts_with("https://musterbach.github.io") {
                problems.push(format!("{rel}: {url} leaves the site's address"));
                None
            } else if url.starts_with('/') {
                if !url.starts_with(PREFIX) || url.starts_with("//") {
                    problems.push(format!("{rel}: {url} is not below {PREFIX}"));
                }
                Some(url.clone())
            } else if ["#", "mailto:", "tel:", "data:", "https://", "http://"]
                .iter()
                .any(|s| url.starts_with(s))
            {
                None
            } else {
                problems.push(format!("{rel}: {url} is relative"));
                None
            };
            // The namespace URLs of Atom and sitemaps are no links.
            if url.starts_with("http://www.w3.org") || url.starts_with("http://www.sitemaps.org") {
                continue;
            }
            if let Some(internal) = internal
                && let Some(target) = target_file(&public, &internal)
                && !target.is_file()
            {
                problems.push(format!("{rel}: {url} leads to no built file"));
            }
        }
    }
    assert!(checked > 500, "only {checked} links found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Spot checks of what the list above covers: style sheet, navigation, the 404 page from any
    // depth, a notice link that starts with the same segment as the prefix, an alias, feeds.
    let read = |f: &str| std::fs::read_to_string(public.join(f)).unwrap();
    let not_found = read("404.html");
    assert!(not_found.contains(&format!("<link rel=\"stylesheet\" href=\"{PREFIX}style.")));
    assert!(not_found.contains(&format!("href=\"{PREFIX}archiv/\"")));
    let front = read("index.html");
    assert!(front.contains(
        "href=\"/bekanntmachungen/bekanntmachungen/2026/strassensperrung-hoennestrasse/\""
    ));
    let council = read("bekanntmachungen/2026/ratssitzung-dezember/index.html");
    assert!(
        council
            .contains("href=\"/bekanntmachungen/dokumente/2026-12-10-tagesordnung-stadtrat.pdf\"")
    );
    assert!(read("atom.xml").contains(&format!("<id>{BASE_URL}bekanntmachungen/2026/")));
    assert!(read("robots.txt").contains(&format!("Sitemap: {BASE_URL}sitemap.xml")));
    let festival = read("bekanntmachungen/2026/sommerfest-2027-vereine/index.html");
    assert!(festival.contains(&format!(
        "<meta property=\"og:image\" content=\"{BASE_URL}bilder/sommerfest-marktplatz.png\">"
    )));
    let signup = read("anmelden/index.html");
    assert!(
        signup.contains("<form id=\"f-anmeldung\" method=\"post\" action=\"https://"),
        "the inbox is absolute"
    );
}

#[test]
fn a_root_base_url_leaves_site_paths_as_written() {
    // The rewriting step is skipped at the root (byte identity itself: the unit tests of
    // site::base_path and every assertion of tests/site.rs, unchanged).
    let site = example_at("https://www.musterbach.example/");
    let out = aushang(site.path(), &["build", "--now", "2026-12-01T08:00"]);
    assert!(out.status.success());
    let front = std::fs::read_to_string(site.path().join("public/index.html")).unwrap();
    assert!(front.contains("href=\"/archiv/\""));
    assert!(front.contains("href=\"/bekanntmachungen/2026/strassensperrung-hoennestrasse/\""));
}

#[test]
fn check_points_out_a_body_link_written_with_the_prefix() {
    let site = example_at(BASE_URL);
    let notice = site
        .path()
        .join("content/notices/2026/2026-11-20-ratssitzung-dezember.md");
    let text = std::fs::read_to_string(&notice).unwrap();
    // An editor copies the address from the browser: the prefix would be there twice.
    let text = text.replace(
        "](/bekanntmachungen/2026/strassensperrung-hoennestrasse/)",
        "](/bekanntmachungen/bekanntmachungen/2026/strassensperrung-hoennestrasse/)",
    );
    std::fs::write(&notice, text).unwrap();
    let out = aushang(site.path(), &["check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("2026-11-20-ratssitzung-dezember.md"), "{all}");
    assert!(
        all.contains("ohne /bekanntmachungen/ davor"),
        "the message says how to write it: {all}"
    );
}

#[test]
fn check_refuses_a_template_link_that_leaves_the_sub_path() {
    let site = example_at(BASE_URL);
    std::fs::write(
        site.path().join("templates/page.html"),
        "{% extends \"base.html\" %}{% block main %}<a href=\"../../../\">hoch</a>\
         <a href=\"https://musterbach.github.io/andere/\">daneben</a>{% endblock main %}",
    )
    .unwrap();
    let out = aushang(site.path(), &["check"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("templates/page.html"), "{all}");
    assert!(
        all.contains("https://musterbach.github.io/andere/"),
        "{all}"
    );
    assert!(all.contains("../../../"), "{all}");
}

/// `aushang serve` for `site`; stopped (SIGTERM) when dropped.
struct Preview {
    child: std::process::Child,
    /// `http://127.0.0.1:port` without a path.
    origin: String,
    /// The address serve printed for the site.
    site_url: String,
}

impl Preview {
    fn start(site: &Path) -> Preview {
        use assert_cmd::cargo::CommandCargoExt;
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::cargo_bin("aushang")
            .unwrap()
            .arg("--root")
            .arg(site)
            .args(["serve", "--port", "0", "--now", "2026-12-01T08:00"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let site_url = loop {
            let line = lines.next().expect("serve printed its address").unwrap();
            if let Some(rest) = line.strip_prefix("Vorschau: ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let origin = site_url[..site_url[7..].find('/').unwrap() + 7].to_string();
        Preview {
            child,
            origin,
            site_url,
        }
    }
}

impl Drop for Preview {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn serve_shows_the_site_below_the_same_sub_path() {
    let site = example_at(BASE_URL);
    let preview = Preview::start(site.path());
    assert_eq!(preview.site_url, format!("{}{PREFIX}", preview.origin));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{}{path}", preview.origin);
        async move {
            let res = client.get(&url).send().await.unwrap();
            let status = res.status().as_u16();
            let location = res
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string());
            (status, location, res.text().await.unwrap())
        }
    };

    let (status, _, front) = get(PREFIX.to_string()).await;
    assert_eq!(status, 200);
    let css = front
        .split(&format!("<link rel=\"stylesheet\" href=\"{PREFIX}"))
        .nth(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .expect("the style sheet is linked below the prefix");
    assert!(
        front.contains(&format!("data-base=\"{PREFIX}\"")),
        "the reload script knows the prefix"
    );
    let (status, _, _) = get(format!("{PREFIX}{css}")).await;
    assert_eq!(status, 200, "the style sheet is served below the prefix");
    let (status, _, notice) = get(format!(
        "{PREFIX}bekanntmachungen/2026/strassensperrung-hoennestrasse/"
    ))
    .await;
    assert_eq!(status, 200);
    assert!(notice.contains("/_vorschau/bekanntmachungen/2026/strassensperrung-hoennestrasse/"));

    // `/` leads to the site; paths outside the prefix are not found, as on the real host.
    let (status, location, _) = get("/".into()).await;
    assert_eq!((status, location.as_deref()), (302, Some(PREFIX)));
    let (status, _, _) = get("/archiv/".into()).await;
    assert_eq!(status, 404);
    // A folder without its slash is redirected below the prefix too.
    let (status, location, _) = get(format!("{PREFIX}archiv")).await;
    assert!((300..400).contains(&status), "{status}");
    assert_eq!(location.as_deref(), Some("/bekanntmachungen/archiv/"));
    // An unknown page below the prefix gets the site's 404 page, styled from any depth.
    let (status, _, missing) = get(format!("{PREFIX}gibt/es/nicht/")).await;
    assert_eq!(status, 404);
    assert!(missing.contains(&format!("href=\"{PREFIX}{css}\"")));
    // The message preview links to the notice's page below the prefix.
    let (status, _, message) =
        get("/_vorschau/bekanntmachungen/2026/strassensperrung-hoennestrasse/".into()).await;
    assert_eq!(status, 200);
    assert!(message.contains(
        "href=\"/bekanntmachungen/bekanntmachungen/2026/strassensperrung-hoennestrasse/\""
    ));
}
