//! Front matter of a notice as written, and its validation into a [`Notice`].

use std::path::Path;

use jiff::Timestamp;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::fields::{no_control, one_line, site_path, static_file};
use super::source::SourceFile;
use super::{Attachment, Image, Notice, Update, body_limits, markdown, parse_time, slug, time};
use crate::config::Config;
use crate::diagnostics::Problem;

use super::model::{self, MAX_IMAGE_ALT_CHARS, MAX_LABEL_CHARS};
pub use super::model::{MAX_SUMMARY_CHARS, MAX_TITLE_CHARS};

/// The front-matter keys a notice may have: the names in the content model's table.
pub static NOTICE_FIELDS: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| model::names(model::NOTICE));

const SUMMARY_WHY: &str = "die Kurzfassung (`summary`) ist der Text der WhatsApp-Nachricht an die Abonnenten; \
    WhatsApp erlaubt darin keine Zeilenumbrüche oder Tabulatoren und höchstens 600 Zeichen. \
    Den ausführlichen Text schreiben Sie unter den Kopf";
const TITLE_WHY: &str = "der Titel steht auf der Website und in der WhatsApp-Nachricht; er muss eine Zeile sein (höchstens 200 Zeichen)";
const UPDATE_WHY: &str = "der Text einer Aktualisierung wird als WhatsApp-Nachricht verschickt: eine Zeile, höchstens 600 Zeichen";
const DATE_HINT: &str = "schreiben Sie z. B. 2026-11-28 oder 2026-11-28 09:30 (Ortszeit)";

#[derive(Deserialize)]
struct RawNotice {
    title: Option<Spanned<String>>,
    date: Option<Spanned<String>>,
    summary: Option<Spanned<String>>,
    category: Option<Spanned<String>>,
    tags: Option<Vec<Spanned<String>>>,
    publish_at: Option<Spanned<String>>,
    expires: Option<Spanned<String>>,
    draft: Option<bool>,
    urgent: Option<bool>,
    broadcast: Option<bool>,
    slug: Option<Spanned<String>>,
    aliases: Option<Vec<Spanned<String>>>,
    image: Option<Spanned<String>>,
    image_alt: Option<Spanned<String>>,
    attachments: Option<Vec<Spanned<RawAttachment>>>,
    updates: Option<Vec<Spanned<RawUpdate>>>,
}

impl RawNotice {
    /// Whether the front matter has field `name` of the content model.
    fn has(&self, name: &str) -> bool {
        match name {
            "title" => self.title.is_some(),
            "date" => self.date.is_some(),
            "summary" => self.summary.is_some(),
            "category" => self.category.is_some(),
            "tags" => self.tags.is_some(),
            "publish_at" => self.publish_at.is_some(),
            "expires" => self.expires.is_some(),
            "draft" => self.draft.is_some(),
            "urgent" => self.urgent.is_some(),
            "broadcast" => self.broadcast.is_some(),
            "slug" => self.slug.is_some(),
            "aliases" => self.aliases.is_some(),
            "image" => self.image.is_some(),
            "image_alt" => self.image_alt.is_some(),
            "attachments" => self.attachments.is_some(),
            "updates" => self.updates.is_some(),
            _ => false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttachment {
    file: Option<Spanned<String>>,
    label: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpdate {
    date: Option<Spanned<String>>,
    text: Option<Spanned<String>>,
}

/// Where in its file a loaded notice claims its address, for duplicate reports.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub line: usize,
    pub column: usize,
}

/// A notice with the positions needed for checks across files.
#[derive(Clone)]
pub struct LoadedNotice {
    pub notice: Notice,
    /// The file up to the end of its front matter: enough to quote the line of an address claim.
    pub text: String,
    pub path_at: Anchor,
    pub aliases_at: Vec<Anchor>,
}

/// The outcome for one file: the notice if it is valid (and wanted), and every problem found.
pub enum Outcome {
    Loaded(Box<LoadedNotice>),
    /// A draft while drafts are not wanted: neither the notice nor its problems count. Holds the
    /// site paths of the files under `static/` it names (attachments, image), which are not
    /// published while only a draft uses them.
    SkippedDraft(Vec<String>),
    Invalid,
}

/// Site paths of the local files a (draft's) front matter names, as written, not validated.
fn draft_files(raw: &RawNotice) -> Vec<String> {
    let attachments = raw
        .attachments
        .iter()
        .flatten()
        .filter_map(|a| a.value.file.as_ref().map(|f| f.value.as_str()));
    attachments
        .chain(raw.image.as_ref().map(|i| i.value.as_str()))
        .map(str::trim)
        .filter(|f| !f.contains("://") && !f.is_empty())
        .map(|f| format!("/{}", f.trim_start_matches('/')))
        .collect()
}

pub fn load_notice(
    config: &Config,
    file: &Path,
    include_drafts: bool,
    problems: &mut Vec<Problem>,
) -> Outcome {
    load_notice_with(config, file, include_drafts, Body::Render, problems)
}

/// Whether the Markdown body is rendered to HTML while loading. `check` needs no HTML: skipping
/// it saves most of the loader's work and cannot hide a problem (rendering reports none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Render,
    /// `body_html` stays empty.
    MarkdownOnly,
}

/// [`load_notice`] with the choice of rendering the body.
pub fn load_notice_with(
    config: &Config,
    file: &Path,
    include_drafts: bool,
    body: Body,
    problems: &mut Vec<Problem>,
) -> Outcome {
    let src = match SourceFile::read(&config.root, file) {
        Ok(s) => s,
        Err(p) => {
            problems.push(*p);
            return Outcome::Invalid;
        }
    };
    notice_from_source_with(config, src, include_drafts, body, problems)
}

pub fn notice_from_source(
    config: &Config,
    src: SourceFile,
    include_drafts: bool,
    problems: &mut Vec<Problem>,
) -> Outcome {
    notice_from_source_with(config, src, include_drafts, Body::Render, problems)
}

fn notice_from_source_with(
    config: &Config,
    src: SourceFile,
    include_drafts: bool,
    body: Body,
    problems: &mut Vec<Problem>,
) -> Outcome {
    let mut mine = Vec::new();
    let Some(raw) = src.front_matter::<RawNotice>(&NOTICE_FIELDS, &mut mine) else {
        problems.append(&mut mine);
        return Outcome::Invalid;
    };
    let draft = raw.draft.unwrap_or(false);
    if draft && !include_drafts {
        return Outcome::SkippedDraft(draft_files(&raw));
    }
    for (field, value) in texts_not_checked_as_one_line(&raw) {
        no_control(&src, field, value, &mut mine);
    }
    let notice = validate(config, &src, raw, draft, &mut mine);
    body_limits::check_body(&src, &mut mine);
    let ok = !mine.iter().any(Problem::is_error);
    problems.append(&mut mine);
    match notice {
        Some(mut n) if ok => {
            if body == Body::Render {
                n.notice.body_html = markdown::render_markdown(&n.notice.body_markdown);
            }
            // Only the front matter is kept: the address claims checked later point into it, and
            // the body is already in `body_markdown` (whole files were ~90 MB at 50,000 notices).
            let front_matter = src.text.len() - src.body().len();
            let mut text = src.text;
            text.truncate(front_matter);
            text.shrink_to_fit();
            Outcome::Loaded(Box::new(LoadedNotice { text, ..n }))
        }
        _ => Outcome::Invalid,
    }
}

/// The front-matter texts that [`one_line`] does not see (it checks control characters itself).
fn texts_not_checked_as_one_line(raw: &RawNotice) -> Vec<(&'static str, &Spanned<String>)> {
    let single = [
        ("date", &raw.date),
        ("category", &raw.category),
        ("publish_at", &raw.publish_at),
        ("expires", &raw.expires),
        ("slug", &raw.slug),
        ("image", &raw.image),
    ];
    let mut out: Vec<_> = single
        .into_iter()
        .filter_map(|(f, v)| v.as_ref().map(|v| (f, v)))
        .collect();
    out.extend(raw.tags.iter().flatten().map(|t| ("tags", t)));
    out.extend(raw.aliases.iter().flatten().map(|a| ("aliases", a)));
    for a in raw.attachments.iter().flatten() {
        out.extend(a.value.file.as_ref().map(|f| ("attachments.file", f)));
    }
    for u in raw.updates.iter().flatten() {
        out.extend(u.value.date.as_ref().map(|d| ("updates.date", d)));
    }
    out
}

fn validate(
    config: &Config,
    src: &SourceFile,
    raw: RawNotice,
    draft: bool,
    problems: &mut Vec<Problem>,
) -> Option<LoadedNotice> {
    let tz = &config.timezone;
    let missing = |field: &str, example: &str| {
        src.error(format!("Pflichtfeld `{field}` fehlt"))
            .with_hint(format!(
                "ergänzen Sie im Kopf eine Zeile `{field}: {example}`"
            ))
    };

    // Required fields come from the content model's table (the web editor's form uses it too).
    for field in model::NOTICE.iter().filter(|f| f.required()) {
        if !raw.has(field.name) {
            let p = missing(field.name, field.example);
            problems.push(match field.name {
                "summary" => p.with_hint(
                    "ergänzen Sie `summary: …` mit ein bis zwei Sätzen (höchstens 600 Zeichen, eine Zeile); das ist der Text der WhatsApp-Nachricht",
                ),
                _ => p,
            });
        }
    }
    let title = raw
        .title
        .as_ref()
        .and_then(|t| one_line(src, "title", t, MAX_TITLE_CHARS, TITLE_WHY, problems));
    let summary = match &raw.summary {
        Some(s) => {
            let summary = one_line(src, "summary", s, MAX_SUMMARY_CHARS, SUMMARY_WHY, problems);
            if let Some(text) = &summary {
                if looks_like_html(text) {
                    problems.push(src.warning_at(s, "`summary` enthält HTML; es erscheint in der Nachricht als Text").with_hint(
                        "die Kurzfassung ist reiner Text; Formatierungen und Links gehören in den Text unter dem Kopf",
                    ));
                }
                if title.as_deref() == Some(text.as_str()) {
                    problems.push(src.error_at(s, "`summary` wiederholt nur den Titel").with_hint(
                        "schreiben Sie in ein bis zwei Sätzen, was die Leute wissen müssen (wer, was, wann, wo); das ist der Text der WhatsApp-Nachricht",
                    ));
                }
            }
            summary
        }
        None => None,
    };
    let date = match &raw.date {
        Some(d) => time_field(src, "date", d, tz, problems),
        None => None,
    };
    let publish_at = raw
        .publish_at
        .as_ref()
        .and_then(|p| time_field(src, "publish_at", p, tz, problems));
    let expires = raw.expires.as_ref().and_then(|e| {
        let at = time_field(src, "expires", e, tz, problems)?;
        // "expires: 2026-12-05" means "until the end of that day".
        let at = if time::is_date_only(&e.value) {
            let next_day = tz.to_datetime(at).date().tomorrow().ok();
            next_day
                .and_then(|d| {
                    tz.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                        .ok()
                })
                .unwrap_or(at)
        } else {
            at
        };
        Some((at, e))
    });
    if let (Some(date), Some((expires_at, e))) = (date, &expires) {
        let from = publish_at.unwrap_or(date).max(date);
        if *expires_at <= from {
            problems.push(
                src.error_at(e, "`expires` liegt nicht nach dem Erscheinen (`date`/`publish_at`)")
                    .with_hint("`expires` ist der Zeitpunkt, ab dem die Meldung von der Startseite verschwindet; er muss nach `date` liegen"),
            );
        }
    }

    let category = raw.category.as_ref().and_then(|c| {
        let id = c.value.trim();
        if config.category(id).is_some() {
            return Some(id.to_string());
        }
        let ids: Vec<&str> = config.categories.iter().map(|c| c.id.as_str()).collect();
        let mut p = src.error_at(c, format!("unbekannte Kategorie `{id}`"));
        p = if ids.is_empty() {
            p.with_hint("in aushang.yaml sind keine Kategorien (`categories`) eingerichtet")
        } else if let Some(s) = super::did_you_mean(id, ids.iter().copied()) {
            p.with_hint(format!(
                "meinten Sie `{s}`? Erlaubt sind: {}",
                ids.join(", ")
            ))
        } else {
            p.with_hint(format!(
                "erlaubt sind die Kategorien aus aushang.yaml: {}",
                ids.join(", ")
            ))
        };
        problems.push(p);
        None
    });

    let mut tags = Vec::new();
    for t in raw.tags.iter().flatten() {
        let tag = t.value.trim();
        if tag.is_empty() {
            problems.push(src.error_at(t, "leeres Schlagwort in `tags`"));
        } else if tags.iter().any(|x: &String| x == tag) {
            problems.push(src.warning_at(t, format!("Schlagwort `{tag}` steht doppelt in `tags`")));
        } else {
            tags.push(tag.to_string());
        }
    }

    let (slug, path_at) = match &raw.slug {
        Some(s) => {
            let value = s.value.trim();
            let at = src
                .position(s)
                .map_or(Anchor { line: 1, column: 1 }, |(line, column)| Anchor {
                    line,
                    column,
                });
            if slug::is_valid_slug(value) {
                (Some(value.to_string()), at)
            } else {
                let suggestion = super::slugify(value);
                let mut p = src.error_at(s, format!("`slug` `{value}` ist ungültig"));
                p = p.with_hint(if suggestion.is_empty() {
                    "nur Kleinbuchstaben a–z, Ziffern und Bindestriche, z. B. strassensperrung-hoennestrasse".to_string()
                } else {
                    format!("nur Kleinbuchstaben a–z, Ziffern und Bindestriche; z. B. `{suggestion}`")
                });
                problems.push(p);
                (None, at)
            }
        }
        None => {
            let stem = src
                .file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let slug = super::slugify(strip_date_prefix(stem));
            if slug.is_empty() {
                problems.push(src.error(format!("aus dem Dateinamen `{stem}` lässt sich keine Adresse bilden")).with_hint(
                    "benennen Sie die Datei wie `2026-11-28-wasserrohrbruch.md` oder setzen Sie `slug: wasserrohrbruch`",
                ));
                (None, Anchor { line: 1, column: 1 })
            } else {
                (Some(slug), Anchor { line: 1, column: 1 })
            }
        }
    };

    let mut aliases = Vec::new();
    let mut aliases_at = Vec::new();
    for a in raw.aliases.iter().flatten() {
        match site_path(&a.value) {
            Ok(p) => {
                if let Some((msg, hint)) = super::reserved::alias_clash(&config.root, &p) {
                    problems.push(src.error_at(a, format!("`aliases`: {msg}")).with_hint(hint));
                    continue;
                }
                aliases.push(p);
                let (line, column) = src.position(a).unwrap_or((1, 1));
                aliases_at.push(Anchor { line, column });
            }
            Err(msg) => problems.push(src.error_at(a, format!("`aliases`: {msg}"))),
        }
    }

    let image = match (&raw.image, &raw.image_alt) {
        (Some(img), alt) => {
            let src_path = image_source(config, src, img, problems);
            let alt = match alt {
                Some(a) => one_line(
                    src,
                    "image_alt",
                    a,
                    MAX_IMAGE_ALT_CHARS,
                    "die Bildbeschreibung ist ein kurzer Text in einer Zeile",
                    problems,
                ),
                None => {
                    problems.push(src.error_at(img, "zum Bild fehlt die Beschreibung `image_alt`").with_hint(
                        "beschreiben Sie in einem Satz, was auf dem Bild zu sehen ist (für Menschen, die das Bild nicht sehen können), z. B. `image_alt: Festzelt auf dem Marktplatz am Abend`",
                    ));
                    None
                }
            };
            match (src_path, alt) {
                (Some(s), Some(a)) => Some(Image { src: s, alt: a }),
                _ => None,
            }
        }
        (None, Some(alt)) => {
            problems.push(src.warning_at(alt, "`image_alt` ohne `image` wird nicht verwendet"));
            None
        }
        (None, None) => None,
    };

    let mut attachments = Vec::new();
    for a in raw.attachments.iter().flatten() {
        let href = match &a.value.file {
            Some(f) => match static_file(&config.root, &f.value) {
                Ok(href) => Some(href),
                Err((msg, hint)) => {
                    problems.push(src.error_at(f, format!("Anhang: {msg}")).with_hint(hint));
                    None
                }
            },
            None => {
                problems.push(
                    src.error_at(a, "Anhang ohne `file`")
                        .with_hint("z. B. `- file: dokumente/tagesordnung.pdf`"),
                );
                None
            }
        };
        let label = match &a.value.label {
            Some(l) => one_line(
                src,
                "label",
                l,
                MAX_LABEL_CHARS,
                "die Beschriftung eines Anhangs ist ein kurzer Text in einer Zeile",
                problems,
            ),
            None => {
                problems.push(src.error_at(a, "Anhang ohne `label`").with_hint(
                    "z. B. `label: Tagesordnung`; Dateityp und Größe ergänzt die Seite selbst",
                ));
                None
            }
        };
        if let (Some(href), Some(label)) = (href, label) {
            attachments.push(Attachment { href, label });
        }
    }

    let mut updates = Vec::new();
    for u in raw.updates.iter().flatten() {
        let at = match &u.value.date {
            Some(d) => time_field(src, "updates.date", d, tz, problems),
            None => {
                problems.push(
                    src.error_at(u, "Aktualisierung ohne `date`")
                        .with_hint(DATE_HINT),
                );
                None
            }
        };
        let text = match &u.value.text {
            Some(t) => one_line(
                src,
                "updates.text",
                t,
                MAX_SUMMARY_CHARS,
                UPDATE_WHY,
                problems,
            ),
            None => {
                problems.push(src.error_at(u, "Aktualisierung ohne `text`"));
                None
            }
        };
        if let (Some(at), Some(d), Some(date)) = (at, &u.value.date, date)
            && at < date
        {
            problems.push(src.warning_at(
                d,
                "die Aktualisierung liegt vor dem Datum der Bekanntmachung",
            ));
        }
        if let (Some(date), Some(text)) = (at, text) {
            updates.push(Update { date, text });
        }
    }
    updates.sort_by_key(|u| u.date);

    // The body `aushang new` writes is a placeholder, never a notice.
    if let Some(offset) = src.body().find(super::template::PLACEHOLDER_BODY) {
        let line = src.body_first_line() + src.body()[..offset].matches('\n').count();
        problems.push(
            Problem::error(
                &src.file,
                "der Text ist noch der Platzhalter von `aushang new`",
            )
            .at(&src.text, line, 1)
            .with_hint("ersetzen Sie ihn durch den ausführlichen Text der Bekanntmachung"),
        );
    }
    let (title, date, summary, slug) = (title?, date?, summary?, slug?);
    let year = tz.to_datetime(date).year();
    let body = src.body();
    let notice = Notice {
        source: src.file.clone(),
        path: format!("/bekanntmachungen/{year}/{slug}/"),
        slug,
        title,
        date,
        summary,
        category,
        tags,
        publish_at,
        expires: expires.map(|(at, _)| at),
        draft,
        urgent: raw.urgent.unwrap_or(false),
        broadcast: raw.broadcast.unwrap_or(true),
        aliases,
        image,
        attachments,
        updates,
        body_markdown: body.to_string(),
        // Rendered by the caller once the notice is known to be valid (and only if wanted).
        body_html: String::new(),
    };
    Some(LoadedNotice {
        notice,
        text: String::new(),
        path_at,
        aliases_at,
    })
}

fn time_field(
    src: &SourceFile,
    field: &str,
    value: &Spanned<String>,
    tz: &jiff::tz::TimeZone,
    problems: &mut Vec<Problem>,
) -> Option<Timestamp> {
    match parse_time(&value.value, tz) {
        Ok(t) => Some(t),
        Err(msg) => {
            problems.push(
                src.error_at(value, format!("`{field}`: {msg}"))
                    .with_hint(DATE_HINT),
            );
            None
        }
    }
}

fn image_source(
    config: &Config,
    src: &SourceFile,
    img: &Spanned<String>,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let value = img.value.trim();
    if value.starts_with("https://") {
        if value.contains(char::is_whitespace) {
            problems.push(src.error_at(img, "die Bildadresse enthält Leerzeichen"));
            return None;
        }
        return Some(value.to_string());
    }
    if value.starts_with("http://") {
        problems.push(
            src.error_at(
                img,
                "Bilder von anderen Websites müssen über https:// eingebunden werden",
            )
            .with_hint("besser: laden Sie das Bild unter static/bilder/ hoch"),
        );
        return None;
    }
    let ext = Path::new(value)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !["jpg", "jpeg", "png", "webp", "gif", "avif", "svg"].contains(&ext.as_str()) {
        problems.push(
            src.error_at(img, format!("`{value}` ist keine Bilddatei"))
                .with_hint("erlaubt sind .jpg, .jpeg, .png, .webp, .gif, .avif und .svg"),
        );
        return None;
    }
    match static_file(&config.root, value) {
        Ok(p) => Some(p),
        Err((msg, hint)) => {
            problems.push(src.error_at(img, format!("Bild: {msg}")).with_hint(hint));
            None
        }
    }
}

/// `2026-11-28-wasser` → `wasser`: the date in the file name only sorts files for editors.
pub fn strip_date_prefix(stem: &str) -> &str {
    let b = stem.as_bytes();
    let is_date = b.len() > 11
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && b[10] == b'-';
    if is_date { &stem[11..] } else { stem }
}

fn looks_like_html(s: &str) -> bool {
    s.match_indices('<').any(|(i, _)| {
        s[i + 1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_prefix_is_removed_from_file_names() {
        assert_eq!(
            strip_date_prefix("2026-11-28-wasserrohrbruch"),
            "wasserrohrbruch"
        );
        assert_eq!(strip_date_prefix("wasserrohrbruch"), "wasserrohrbruch");
        assert_eq!(strip_date_prefix("2026-11-28"), "2026-11-28");
        assert_eq!(strip_date_prefix("2026-1-28-x"), "2026-1-28-x");
    }

    #[test]
    fn only_the_front_matter_is_kept_and_address_clashes_still_quote_their_line() {
        let config = crate::config::parse(
            Path::new("/nonexistent"),
            Path::new("aushang.yaml"),
            "title: T\nbase_url: https://t.example/\n",
        )
        .unwrap();
        let load = |file: &str, text: &str| {
            let src = SourceFile::parse(file.into(), text.to_string()).unwrap();
            let mut problems = Vec::new();
            match notice_from_source(&config, src, false, &mut problems) {
                Outcome::Loaded(n) => *n,
                _ => panic!("{problems:?}"),
            }
        };
        let head = "---\ntitle: Wasser\ndate: 2026-11-28\nsummary: Kein Wasser.\naliases:\n  - /wasser/\n---\n";
        let a = load(
            "content/notices/2026/a.md",
            &format!("{head}\nLanger Text.\n"),
        );
        assert_eq!(a.text, head);
        assert_eq!(a.notice.body_markdown, "\nLanger Text.\n");
        let b = load(
            "content/notices/2026/b.md",
            &format!("{head}Anderer Text.\n"),
        );
        let mut problems = Vec::new();
        let (notices, _) = super::super::claim_addresses(vec![a, b], Vec::new(), &mut problems);
        assert_eq!(notices.len(), 1);
        assert_eq!(problems.len(), 2, "{problems:?}");
        for p in &problems {
            assert_eq!(p.line, Some(6), "{p:?}");
            assert_eq!(p.source_line.as_deref(), Some("  - /wasser/"), "{p:?}");
        }
    }

    #[test]
    fn html_in_text_is_recognised() {
        assert!(looks_like_html("Hallo <b>Welt</b>"));
        assert!(!looks_like_html("Temperaturen < 0 Grad"));
    }
}
