//! Notice bodies: Markdown to sanitised HTML, once per notice.
//!
//! Editors may paste HTML from anywhere; whatever pulldown-cmark lets through is cleaned by ammonia
//! with an allow-list, so no script, event handler or `javascript:` URL ever reaches a page.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::slugify;

/// The Markdown dialect of notices: CommonMark plus tables, strikethrough, footnotes and
/// `{#id}` heading attributes.
pub fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Renders a notice body to HTML that is safe to embed in a page.
///
/// Headings without an explicit `{#id}` get one from their text, so that every section can be
/// linked to (`#umleitung`).
pub fn render_markdown(md: &str) -> String {
    let events = with_heading_ids(Parser::new_ext(md, markdown_options()));
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    // Serialised straight into a buffer of about the right size: `to_string` would grow a Vec
    // from empty, check it and copy it once more into a String.
    let mut out = Vec::with_capacity(html.len() + html.len() / 8);
    SANITIZER
        .clean(&html)
        .write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    let mut html = String::from_utf8(out).expect("html5ever writes UTF-8");
    // Bodies stay in memory for the whole build; give back the spare room (shrinks in place).
    html.shrink_to_fit();
    html
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    let headings = ["h1", "h2", "h3", "h4", "h5", "h6"];
    for h in headings {
        b.add_tag_attributes(h, &["id"]);
    }
    // Footnote markup as pulldown-cmark writes it.
    b.add_tag_attributes("div", &["id"]);
    b.add_allowed_classes("div", &["footnote-definition"]);
    b.add_allowed_classes("sup", &["footnote-reference", "footnote-definition-label"]);
    // Table column alignment is written as inline style; nothing else of a style survives.
    b.add_tag_attributes("th", &["style"]);
    b.add_tag_attributes("td", &["style"]);
    b.filter_style_properties(HashSet::from(["text-align"]));
    b.url_schemes(HashSet::from(["http", "https", "mailto", "tel"]));
    b.link_rel(Some("noopener noreferrer"));
    b
});

/// A heading start tag while its text is being collected.
type OpenHeading<'a> = (
    HeadingLevel,
    Option<CowStr<'a>>,
    Vec<CowStr<'a>>,
    Vec<(CowStr<'a>, Option<CowStr<'a>>)>,
);

/// Buffers each heading to give it an id made from its text, unique within the document.
fn with_heading_ids<'a>(parser: Parser<'a>) -> Vec<Event<'a>> {
    let mut out = Vec::new();
    let mut used: HashSet<String> = HashSet::new();
    let mut heading: Option<OpenHeading<'a>> = None;
    let mut inner: Vec<Event<'a>> = Vec::new();
    let mut text = String::new();
    for event in parser {
        match event {
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => {
                heading = Some((level, id, classes, attrs));
                inner.clear();
                text.clear();
            }
            Event::End(TagEnd::Heading(level)) if heading.is_some() => {
                let (start_level, id, classes, attrs) = heading.take().expect("checked above");
                let id = match id {
                    Some(id) => {
                        used.insert(id.to_string());
                        id
                    }
                    None => {
                        let base = match slugify(&text) {
                            s if s.is_empty() => "abschnitt".to_string(),
                            s => s,
                        };
                        let mut candidate = base.clone();
                        let mut n = 2;
                        while used.contains(&candidate) {
                            candidate = format!("{base}-{n}");
                            n += 1;
                        }
                        used.insert(candidate.clone());
                        CowStr::from(candidate)
                    }
                };
                out.push(Event::Start(Tag::Heading {
                    level: start_level,
                    id: Some(id),
                    classes,
                    attrs,
                }));
                out.append(&mut inner);
                out.push(Event::End(TagEnd::Heading(level)));
            }
            other if heading.is_some() => {
                if let Event::Text(t) | Event::Code(t) = &other {
                    text.push_str(t);
                }
                inner.push(other);
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commonmark_extensions_render() {
        let html = render_markdown(
            "## Umleitung\n\n| Straße | Von | Bis |\n|:--|:-:|--:|\n| Hönnestraße | 1 | 9 |\n\n~~alt~~ neu[^1]\n\n[^1]: Fußnote.\n",
        );
        assert!(
            html.contains(r#"<h2 id="umleitung">Umleitung</h2>"#),
            "{html}"
        );
        assert!(html.contains("<table>"), "{html}");
        assert!(
            html.contains(r#"<td style="text-align:center">1</td>"#)
                || html.contains(r#"style="text-align: center""#),
            "{html}"
        );
        assert!(html.contains("<del>alt</del>"), "{html}");
        assert!(html.contains(r#"class="footnote-reference""#), "{html}");
        assert!(html.contains(r#"class="footnote-definition""#), "{html}");
    }

    #[test]
    fn heading_ids_are_unique_and_explicit_ids_are_kept() {
        let html = render_markdown("## Straße\n\n## Straße\n\n### Termine {#termine-2026}\n");
        assert!(html.contains(r#"<h2 id="strasse">"#), "{html}");
        assert!(html.contains(r#"<h2 id="strasse-2">"#), "{html}");
        assert!(html.contains(r#"<h3 id="termine-2026">"#), "{html}");
    }

    #[test]
    fn hostile_html_is_removed() {
        let html = render_markdown(concat!(
            "Hallo <script>alert(1)</script>\n\n",
            "<div onclick=\"steal()\">Klick</div>\n\n",
            "[Link](javascript:alert(1)) <a href=\"javascript:alert(2)\">a</a>\n\n",
            "<img src=x onerror=alert(3)>\n\n",
            "<iframe src=\"https://evil.example\"></iframe>\n",
            "<style>body{display:none}</style>\n",
        ));
        let lower = html.to_lowercase();
        for bad in [
            "<script",
            "alert(1)",
            "onclick",
            "javascript:",
            "onerror",
            "<iframe",
            "<style",
        ] {
            assert!(!lower.contains(bad), "{bad} survived: {html}");
        }
        assert!(html.contains("Klick"), "{html}");
    }

    #[test]
    fn ordinary_links_and_contacts_survive() {
        let html = render_markdown(
            "[Rathaus](/rathaus/) · <mailto:rathaus@musterbach.example> · [Anruf](tel:+49239912300)",
        );
        assert!(html.contains(r#"href="/rathaus/""#), "{html}");
        assert!(
            html.contains(r#"href="mailto:rathaus@musterbach.example""#),
            "{html}"
        );
        assert!(html.contains(r#"href="tel:+49239912300""#), "{html}");
    }
}
