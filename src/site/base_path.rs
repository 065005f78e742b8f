//! A site below a sub-path (`base_url: https://org.github.io/repo/`, GitHub project Pages).
//!
//! Templates and Markdown bodies write *site paths* (`/archiv/`, `/dokumente/plan.pdf`), the same
//! whatever the `base_url`. When the `base_url` has a path, every rendered HTML page (default or
//! overridden template, notice bodies included), every feed entry's HTML and the style sheet's
//! `url(…)`s get it put in front of each root-relative URL (`/archiv/` → `/repo/archiv/`), so the
//! site works from any depth, the 404 page included. Absolute URLs, relative ones, fragments and
//! `mailto:`/`tel:` links are left alone. For a site at the root of its host nothing is touched:
//! the output is byte for byte what it would be without this step.

use lol_html::{HtmlRewriter, Settings, element};

/// Attributes that hold one URL.
const URL_ATTRIBUTES: [&str; 5] = ["href", "src", "action", "formaction", "poster"];

/// `value` with `base_path` in front when it is a root-relative URL (`/x`, not `//host/x`);
/// `None` when it stays as it is.
pub fn prefix_url(value: &str, base_path: &str) -> Option<String> {
    let rest = value.strip_prefix('/')?;
    if rest.starts_with('/') || rest.starts_with('\\') {
        return None;
    }
    Some(format!("{base_path}{rest}"))
}

/// A `srcset` value with each root-relative candidate URL prefixed.
fn prefix_srcset(value: &str, base_path: &str) -> Option<String> {
    let mut changed = false;
    let candidates: Vec<String> = value
        .split(',')
        .map(|candidate| {
            let trimmed = candidate.trim_start();
            let lead = &candidate[..candidate.len() - trimmed.len()];
            let (url, descriptor) = trimmed
                .split_once(char::is_whitespace)
                .map_or((trimmed, None), |(u, d)| (u, Some(d)));
            match prefix_url(url, base_path) {
                Some(url) => {
                    changed = true;
                    match descriptor {
                        Some(d) => format!("{lead}{url} {d}"),
                        None => format!("{lead}{url}"),
                    }
                }
                None => candidate.to_string(),
            }
        })
        .collect();
    changed.then(|| candidates.join(","))
}

/// Prefixes every root-relative URL in the HTML's URL attributes (`href`, `src`, `action`,
/// `formaction`, `poster`, `srcset`) with `base_path`. With `base_path` `/` the bytes are
/// returned unchanged.
pub fn prefix_html(html: Vec<u8>, base_path: &str) -> Result<Vec<u8>, String> {
    if base_path == "/" {
        return Ok(html);
    }
    let mut out = Vec::with_capacity(html.len() + html.len() / 16);
    let mut rewriter = HtmlRewriter::new(
        Settings::new().append_element_content_handler(element!("*", |el| {
            for name in URL_ATTRIBUTES {
                if let Some(new) = el
                    .get_attribute(name)
                    .and_then(|v| prefix_url(&v, base_path))
                {
                    el.set_attribute(name, &new)?;
                }
            }
            if let Some(new) = el
                .get_attribute("srcset")
                .and_then(|v| prefix_srcset(&v, base_path))
            {
                el.set_attribute("srcset", &new)?;
            }
            Ok(())
        })),
        |chunk: &[u8]| out.extend_from_slice(chunk),
    );
    rewriter
        .write(&html)
        .and_then(|()| rewriter.end())
        .map_err(|e| {
            format!("der Basispfad lässt sich nicht in die Links der Seite einsetzen: {e}")
        })?;
    Ok(out)
}

/// The links of a rendered page (at absolute URL `page_url`) that lead to the site's host but
/// outside `base_url`: a template that climbs above a sub-path with `../` or names another path
/// of the host. `aushang check` reports them for the sample pages.
pub fn links_outside(html: &[u8], page_url: &str, base_url: &str) -> Vec<String> {
    let (Ok(page), Ok(base)) = (url::Url::parse(page_url), url::Url::parse(base_url)) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut rewriter = HtmlRewriter::new(
        Settings::new().append_element_content_handler(element!("*", |el| {
            for name in URL_ATTRIBUTES {
                let Some(value) = el.get_attribute(name) else {
                    continue;
                };
                let outside = page.join(&value).is_ok_and(|target| {
                    target.origin() == base.origin()
                        && !target.path().starts_with(base.path())
                        && format!("{}/", target.path()) != base.path()
                });
                if outside {
                    found.push(value);
                }
            }
            Ok(())
        })),
        |_: &[u8]| {},
    );
    if rewriter.write(html).and_then(|()| rewriter.end()).is_err() {
        return Vec::new();
    }
    found.sort();
    found.dedup();
    found
}

/// Prefixes root-relative `url(/…)` references in a style sheet with `base_path`.
pub fn prefix_css(css: &str, base_path: &str) -> String {
    if base_path == "/" {
        return css.to_string();
    }
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(i) = rest.find("url(") {
        let (head, tail) = rest.split_at(i + 4);
        out.push_str(head);
        let inner = tail.trim_start();
        out.push_str(&tail[..tail.len() - inner.len()]);
        let (quote, url) = match inner.chars().next() {
            Some('"' | '\'') => (&inner[..1], &inner[1..]),
            _ => ("", inner),
        };
        out.push_str(quote);
        if url.starts_with('/') && !url.starts_with("//") {
            out.push_str(base_path.trim_end_matches('/'));
        }
        rest = url;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_relative_urls_get_the_base_path_and_nothing_else_changes() {
        let html = r##"<!DOCTYPE html><html><head><link rel="stylesheet" href="/style.1.css"></head>
<body><a href="/">Start</a> <a href="/archiv/?j=1&amp;k=2#x">A</a> <a href="#haupt">skip</a>
<a href="https://x.example/a">ext</a> <a href="//cdn.example/x">proto</a> <a href="mailto:a@b.example">m</a>
<a href="../rel/">rel</a> <img src="/bild.jpg" srcset="/bild.jpg 1x, /bild@2.jpg 2x" alt="/nicht">
<form action="/suche/"><button formaction="/b/">b</button></form><p>href="/text/"</p>
<script>var a = '<a href="/im-skript/">';</script></body></html>"##;
        let out =
            String::from_utf8(prefix_html(html.as_bytes().to_vec(), "/repo/").unwrap()).unwrap();
        for expected in [
            r#"href="/repo/style.1.css""#,
            r#"href="/repo/""#,
            r#"href="/repo/archiv/?j=1&amp;k=2#x""#,
            r##"href="#haupt""##,
            r#"href="https://x.example/a""#,
            r#"href="//cdn.example/x""#,
            r#"href="../rel/""#,
            r#"src="/repo/bild.jpg""#,
            r#"srcset="/repo/bild.jpg 1x, /repo/bild@2.jpg 2x""#,
            r#"alt="/nicht""#,
            r#"action="/repo/suche/""#,
            r#"formaction="/repo/b/""#,
            r#"<p>href="/text/"</p>"#,
            r#"'<a href="/im-skript/">'"#,
        ] {
            assert!(out.contains(expected), "{expected} missing in {out}");
        }
        let same = prefix_html(html.as_bytes().to_vec(), "/").unwrap();
        assert_eq!(same, html.as_bytes());
    }

    #[test]
    fn links_that_leave_the_sub_path_are_found() {
        let html = br#"<a href="/repo/a/">in</a><a href="../../">up</a><a href="https://org.github.io/other/">other</a>
<a href="https://x.example/">ext</a><a href="/repo">base without slash</a><img src="../b.png">"#;
        assert_eq!(
            links_outside(
                html,
                "https://org.github.io/repo/impressum/",
                "https://org.github.io/repo/"
            ),
            ["../../", "https://org.github.io/other/"]
        );
        assert!(links_outside(html, "https://x.example/a/", "https://x.example/").is_empty());
    }

    #[test]
    fn style_sheet_urls_get_the_base_path() {
        let css = "a{background:url(/a.png)} b{background:url( \"/b.png\")} c{x:url('//h/c')} d{x:url(e.png)}";
        assert_eq!(
            prefix_css(css, "/repo/"),
            "a{background:url(/repo/a.png)} b{background:url( \"/repo/b.png\")} c{x:url('//h/c')} d{x:url(e.png)}"
        );
        assert_eq!(prefix_css(css, "/"), css);
    }
}
