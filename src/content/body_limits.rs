//! What a Markdown body may not contain, checked before it is rendered: control characters and
//! nesting deeper than any notice needs.
//!
//! Deep nesting is a denial of service, not a style question: a body of 100,000 `>` took 78 s to
//! build (pulldown-cmark and html5ever, inside ammonia, both slow down with the depth of the
//! tree, see benches/CONTENT.md). Both loaders run [`body_problem`] and refuse the file, so
//! `check` reports it and the build never renders it.
//!
//! Two passes, both linear in the body: a scan of each line's block markers (`>`, list bullets)
//! that finds the hostile lines without parsing them, then pulldown-cmark's events (no HTML is
//! written) with a stack of open elements, which also sees emphasis, links and lists nested by
//! indentation, and a count of open tags inside raw HTML.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::markdown::markdown_options;
use super::source::SourceFile;
use crate::diagnostics::Problem;

/// Deepest nesting of block quotes, lists, emphasis, links and raw HTML elements a body may
/// have. Real notices stay below 6. The cost of the worst accepted 1 MiB body grows with this
/// limit (each line may open and close all levels: 16 levels turn 1 MiB of Markdown into about
/// 12 MB of HTML), so it is kept at a level no notice needs but that still fits pasted HTML
/// (benches/CONTENT.md).
pub const MAX_NESTING: usize = 16;

/// Why a body is refused, and where: `line` counts from the body's first line (1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyProblem {
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub kind: BodyProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyProblemKind {
    /// A control character other than tab and line breaks.
    Control(char),
    /// Nesting deeper than [`MAX_NESTING`]; says what is nested.
    TooDeep(&'static str),
}

/// Checks the body of `src` and reports the first reason to refuse it as an error at its line.
/// Returns whether the body may be rendered.
pub fn check_body(src: &SourceFile, problems: &mut Vec<Problem>) -> bool {
    let Some(p) = body_problem(src.body()) else {
        return true;
    };
    let (message, hint) = match p.kind {
        BodyProblemKind::Control(c) => (
            format!(
                "der Text enthält ein unsichtbares Steuerzeichen ({})",
                crate::text::describe_control(c)
            ),
            "solche Zeichen entstehen beim Kopieren aus anderen Programmen; löschen Sie die Stelle und tippen Sie sie neu".to_string(),
        ),
        BodyProblemKind::TooDeep(what) => (
            format!("der Text ist zu tief verschachtelt: mehr als {MAX_NESTING} Ebenen {what}"),
            "so tief Verschachteltes liest niemand, und die Seite daraus zu erzeugen dauert sehr lange; gliedern Sie den Text mit Überschriften und einfachen Listen".to_string(),
        ),
    };
    let line = src.body_first_line() + p.line - 1;
    let mut problem = Problem::error(&src.file, message).with_hint(hint);
    problem.line = Some(line);
    problem.column = Some(p.column);
    // The line may be a whole mebibyte of `>`: show only its start (the caret stays in it).
    problem.source_line = src.text.lines().nth(line - 1).map(|l| {
        let keep = l
            .char_indices()
            .nth(p.column.max(80) + 8)
            .map_or(l.len(), |(i, _)| i);
        if keep < l.len() {
            format!("{}…", &l[..keep])
        } else {
            l.to_string()
        }
    });
    problems.push(problem);
    false
}

/// The first reason to refuse `body`, if any.
pub fn body_problem(body: &str) -> Option<BodyProblem> {
    if let Some((at, c)) = crate::text::find_control(body) {
        return Some(problem_at(body, at, BodyProblemKind::Control(c)));
    }
    if let Some((at, what)) = deep_block_markers(body) {
        return Some(problem_at(body, at, BodyProblemKind::TooDeep(what)));
    }
    deep_elements(body).map(|(at, what)| problem_at(body, at, BodyProblemKind::TooDeep(what)))
}

fn problem_at(body: &str, at: usize, kind: BodyProblemKind) -> BodyProblem {
    let before = &body[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    BodyProblem {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
        kind,
    }
}

/// A line opening more than [`MAX_NESTING`] block quotes or lists at once (`>>>>…`, `- - - …`,
/// `1. 1. …`), found from the text alone: such a line is what makes the parser itself slow, so
/// it is never handed to it. Returns the offset of the first marker too many.
fn deep_block_markers(body: &str) -> Option<(usize, &'static str)> {
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let b = line.as_bytes();
        let (mut i, mut depth) = (0, 0);
        loop {
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            let marker_end = match b.get(i) {
                Some(b'>') => Some((i + 1, "Zitate (`>`)")),
                Some(b'-' | b'+' | b'*')
                    if b.get(i + 1).is_none_or(|c| c.is_ascii_whitespace()) =>
                {
                    Some((i + 1, "Listen"))
                }
                Some(b'0'..=b'9') => {
                    let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                    let after = i + digits;
                    (digits <= 9
                        && matches!(b.get(after), Some(b'.' | b')'))
                        && b.get(after + 1).is_none_or(|c| c.is_ascii_whitespace()))
                    .then_some((after + 1, "Listen"))
                }
                _ => None,
            };
            let Some((end, what)) = marker_end else {
                break;
            };
            depth += 1;
            if depth > MAX_NESTING && !is_thematic_break(line) {
                return Some((offset + i, what));
            }
            i = end;
        }
        offset += line.len();
    }
    None
}

/// `- - - - …` or `* * * …`: a horizontal rule, however long, not a list.
fn is_thematic_break(line: &str) -> bool {
    let mut marks = line.chars().filter(|c| !c.is_whitespace());
    marks
        .next()
        .is_some_and(|first| matches!(first, '-' | '*' | '_') && marks.all(|c| c == first))
}

/// Elements nested deeper than [`MAX_NESTING`] in pulldown-cmark's reading of the body: block
/// quotes, lists, emphasis, links, images and footnotes (paragraphs, items, table cells and the
/// like only ever sit inside those, so they are not counted), plus the elements opened inside
/// raw HTML on top.
fn deep_elements(body: &str) -> Option<(usize, &'static str)> {
    let mut depth = 0usize;
    let mut html_depth = 0usize;
    for (event, range) in Parser::new_ext(body, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(tag) => {
                if let Some(what) = nests(&tag) {
                    depth += 1;
                    if depth + html_depth > MAX_NESTING {
                        return Some((range.start, what));
                    }
                }
            }
            Event::End(end) if closes_nesting(&end) => depth = depth.saturating_sub(1),
            Event::Html(html) | Event::InlineHtml(html) => {
                html_depth = html_nesting(&html, html_depth);
                if depth + html_depth > MAX_NESTING {
                    return Some((range.start, "HTML-Elemente"));
                }
            }
            _ => {}
        }
    }
    None
}

/// What a nesting element is called in the message; `None` for elements not counted.
fn nests(tag: &Tag) -> Option<&'static str> {
    match tag {
        Tag::BlockQuote(_) => Some("Zitate (`>`)"),
        Tag::List(_) => Some("Listen"),
        Tag::Emphasis | Tag::Strong | Tag::Strikethrough => Some("Hervorhebungen (`*`, `_`, `~~`)"),
        Tag::Link { .. } | Tag::Image { .. } => Some("Links und Bilder"),
        Tag::FootnoteDefinition(_) => Some("Fußnoten"),
        _ => None,
    }
}

fn closes_nesting(end: &TagEnd) -> bool {
    matches!(
        end,
        TagEnd::BlockQuote(_)
            | TagEnd::List(_)
            | TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Link
            | TagEnd::Image
            | TagEnd::FootnoteDefinition
    )
}

/// Elements without an end tag, or whose end tag may be left out because the next one of their
/// kind closes them (`<p>`, `<li>`, `<td>` …): a run of them does not nest, so they are not
/// counted (else a page of `<p>` paragraphs without `</p>` would look deep).
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option",
    "optgroup", "rt", "rp", "colgroup", "caption", "html", "head", "body",
];

/// The number of open HTML elements after `html`, starting from `open`: `<x …>` opens one
/// (unless void or self-closing), `</x>` closes one. A rough count, but it only has to see
/// nesting, and it never undercounts a run of start tags.
fn html_nesting(html: &str, mut open: usize) -> usize {
    let b = html.as_bytes();
    let mut i = 0;
    while let Some(lt) = b[i..].iter().position(|&c| c == b'<') {
        i += lt + 1;
        if b.get(i) == Some(&b'/') {
            let name: String = html[i + 1..]
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            if !NOT_NESTING.contains(&name.as_str()) {
                open = open.saturating_sub(1);
            }
            continue;
        }
        let name_len = b[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !b[i].is_ascii_alphabetic() {
            continue;
        }
        let name = html[i..i + name_len].to_ascii_lowercase();
        let end = b[i..].iter().position(|&c| c == b'>').map(|p| i + p);
        let self_closing = end.is_some_and(|e| e > 0 && b[e - 1] == b'/');
        if !NOT_NESTING.contains(&name.as_str()) && !self_closing {
            open += 1;
        }
        i += name_len;
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(body: &str) -> Option<(usize, usize, &'static str)> {
        match body_problem(body)?.kind {
            BodyProblemKind::TooDeep(what) => {
                let p = body_problem(body).unwrap();
                Some((p.line, p.column, what))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ordinary_bodies_pass() {
        let body = "## Umleitung\n\n> Zitat\n> > mit Antwort\n\n- eins\n  - zwei\n    1. drei\n\n\
                    *kursiv **fett [Link](/a/)***\n\n<div><p><b>HTML</b><br></p></div>\n\n\
                    | a | b |\n|---|---|\n| 1 | 2 |\n\n1. 2026\n2. 2027\n\n- - ein Strich\n";
        assert_eq!(body_problem(body), None);
        assert_eq!(
            body_problem(&format!("{}x\n", ">".repeat(MAX_NESTING))),
            None
        );
        assert_eq!(
            body_problem(&format!("{}\n", "- ".repeat(100))),
            None,
            "a rule"
        );
        assert_eq!(body_problem(&"<p>Absatz\n".repeat(100)), None);
    }

    #[test]
    fn deep_block_quotes_and_lists_on_one_line_are_refused_at_their_line() {
        let many = MAX_NESTING + 1;
        assert_eq!(
            deep(&format!("Text\n\n{}x\n", ">".repeat(100_000))),
            Some((3, many, "Zitate (`>`)"))
        );
        assert_eq!(
            deep(&format!("{}x\n", "> ".repeat(many))),
            Some((1, 2 * MAX_NESTING + 1, "Zitate (`>`)"))
        );
        assert_eq!(
            deep(&format!("a\n{}x\n", "- ".repeat(many))).map(|d| d.0),
            Some(2)
        );
        assert_eq!(
            deep(&format!("{}x\n", "1. ".repeat(many))).map(|d| d.2),
            Some("Listen")
        );
    }

    #[test]
    fn deep_nesting_by_indentation_emphasis_links_and_html_is_refused() {
        let mut lists = String::new();
        for depth in 0..40 {
            lists.push_str(&format!("{}- x\n", "  ".repeat(depth)));
        }
        assert_eq!(deep(&lists).map(|d| d.2), Some("Listen"));
        let emphasis = format!("{}x{}\n", "*a ".repeat(40), " b*".repeat(40));
        assert!(deep(&emphasis).is_some(), "nested emphasis");
        let links = format!("{}x{}\n", "[".repeat(40), "](/a/)".repeat(40));
        assert_eq!(
            body_problem(&links).map(|_| ()),
            None,
            "brackets alone nest no links"
        );
        let images = format!("{}x{}\n", "![".repeat(40), "](/a.png)".repeat(40));
        assert!(deep(&images).is_some(), "nested image descriptions");
        assert_eq!(
            deep(&format!("Text\n\n{}x\n", "<div>".repeat(100_000))).map(|d| (d.0, d.2)),
            Some((3, "HTML-Elemente"))
        );
        assert_eq!(
            deep(&format!("a{}x\n", "<b>".repeat(40))).map(|d| d.2),
            Some("HTML-Elemente")
        );
        assert_eq!(body_problem(&format!("a{}x\n", "<br>".repeat(400))), None);
        assert_eq!(
            body_problem(&format!("a{}x\n", "<b>x</b>".repeat(400))),
            None
        );
    }

    #[test]
    fn control_characters_in_the_body_are_refused_tabs_and_line_breaks_are_not() {
        assert_eq!(body_problem("a\tb\r\nc\n"), None);
        let p = body_problem("Zeile\nnoch \u{1b}[2J").unwrap();
        assert_eq!((p.line, p.column), (2, 6));
        assert_eq!(p.kind, BodyProblemKind::Control('\u{1b}'));
    }
}
