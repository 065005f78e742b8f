//! A deterministic generator of complete notice sites for benchmarks: `aushang.yaml`, standing
//! pages, `static/` files and N realistic German notices spread over twenty years.
//!
//! The same seed and N always give byte-identical files (each notice draws from its own random
//! stream, so generation order and threads do not matter). Every generated site passes
//! `aushang check` without problems: links only point at older, published notices and at pages
//! the renderer writes; attachments and images exist under `static/`.

mod words;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jiff::ToSpan;
use jiff::civil::{Date, DateTime};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use words::{TOPICS, Topic};

/// The instant the corpus is written for: benchmarks build with `--now "2026-11-28 12:00"`.
pub const CORPUS_NOW: &str = "2026-11-28 12:00";
const FIRST_DAY: Date = jiff::civil::date(2007, 1, 1);
const LAST_DAY: Date = jiff::civil::date(2026, 11, 28);
const DOCUMENTS: usize = 12;
const IMAGES: usize = 6;

const CONFIG: &str = include_str!("../../aushang.yaml");
const PAGES: &[(&str, &str)] = &[
    (
        "impressum.md",
        include_str!("../../content/pages/impressum.md"),
    ),
    (
        "datenschutz.md",
        include_str!("../../content/pages/datenschutz.md"),
    ),
    (
        "barrierefreiheit.md",
        include_str!("../../content/pages/barrierefreiheit.md"),
    ),
    (
        "anmelden.md",
        include_str!("../../content/pages/anmelden.md"),
    ),
];
const FAVICON: &[u8] = include_bytes!("../../static/favicon.svg");
const PDF: &[u8] = include_bytes!("../../static/dokumente/2026-12-10-tagesordnung-stadtrat.pdf");
const PNG: &[u8] = include_bytes!("../../static/bilder/sommerfest-marktplatz.png");

/// What to generate.
#[derive(Debug, Clone)]
pub struct CorpusOptions {
    pub notices: usize,
    pub seed: u64,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorpusReport {
    pub notices: usize,
    pub drafts: usize,
    pub scheduled: usize,
    pub files: usize,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{0} exists and is not empty; choose a new folder or delete it first")]
    NotEmpty(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a complete site with `opts.notices` notices into `out`, which must not exist or be
/// empty. The site is assembled in a sibling folder and renamed into place, so `out` is either
/// absent or complete.
pub fn generate(out: &Path, opts: &CorpusOptions) -> Result<CorpusReport, CorpusError> {
    if let Ok(mut entries) = std::fs::read_dir(out) {
        if entries.next().is_some() {
            return Err(CorpusError::NotEmpty(out.to_path_buf()));
        }
        std::fs::remove_dir(out).map_err(io(out))?;
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".aushang-corpus-")
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    let report = write_site(staging.path(), opts)?;
    let staged = staging.keep();
    std::fs::rename(&staged, out).map_err(io(out))?;
    Ok(report)
}

fn write_site(dir: &Path, opts: &CorpusOptions) -> Result<CorpusReport, CorpusError> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![(dir.join("aushang.yaml"), CONFIG.into())];
    for (name, text) in PAGES {
        files.push((dir.join("content/pages").join(name), text.as_bytes().into()));
    }
    files.push((dir.join("static/favicon.svg"), FAVICON.into()));
    for k in 1..=DOCUMENTS {
        files.push((dir.join(document(k)), PDF.into()));
    }
    for k in 1..=IMAGES {
        files.push((dir.join(image(k)), PNG.into()));
    }
    let mut report = CorpusReport::default();
    for (path, bytes) in &files {
        write(path, bytes)?;
        report.files += 1;
        report.bytes += bytes.len() as u64;
    }

    let n = opts.notices;
    let written: Vec<Result<(u64, bool, bool), CorpusError>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let meta = Meta::new(opts.seed, i, n);
            let text = notice_text(opts.seed, &meta, n);
            let path = dir.join(meta.file());
            write(&path, text.as_bytes())?;
            Ok((text.len() as u64, meta.draft, meta.scheduled))
        })
        .collect();
    for r in written {
        let (bytes, draft, scheduled) = r?;
        report.files += 1;
        report.bytes += bytes;
        report.notices += 1;
        report.drafts += usize::from(draft);
        report.scheduled += usize::from(scheduled);
    }
    Ok(report)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CorpusError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(path, bytes).map_err(io(path))
}

fn document(k: usize) -> String {
    format!("static/dokumente/tagesordnung-{k:02}.pdf")
}

fn image(k: usize) -> String {
    format!("static/bilder/foto-{k:02}.png")
}

/// A random stream of its own for each notice and purpose.
fn rng(seed: u64, i: usize, purpose: u64) -> StdRng {
    let mixed = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((i as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(purpose.wrapping_mul(0x94D0_49BB_1331_11EB));
    StdRng::seed_from_u64(mixed)
}

/// What other notices need to know about notice `i` (to link to it), cheap to recompute.
struct Meta {
    index: usize,
    topic: &'static Topic,
    date: DateTime,
    date_only: bool,
    title: String,
    slug: String,
    draft: bool,
    scheduled: bool,
}

impl Meta {
    fn new(seed: u64, i: usize, n: usize) -> Meta {
        let mut r = rng(seed, i, 1);
        let topic = &TOPICS[r.random_range(0..TOPICS.len())];
        // The newest notices (one in 500) are scheduled after CORPUS_NOW.
        let scheduled_from = n - (n / 500).max(1).min(n);
        let scheduled = i >= scheduled_from;
        let day = if scheduled {
            LAST_DAY + ((i - scheduled_from) as i64 % 10 + 1).days()
        } else {
            let span = (LAST_DAY - FIRST_DAY).get_days() as usize;
            FIRST_DAY + ((i * span / n.max(1)) as i64).days()
        };
        let date_only = r.random_bool(0.1);
        let time = if date_only {
            jiff::civil::time(0, 0, 0, 0)
        } else {
            jiff::civil::time(
                r.random_range(7..12),
                *[0, 15, 30, 45].choose(&mut r).expect("not empty"),
                0,
                0,
            )
        };
        let pattern = topic.titles.choose(&mut r).expect("not empty");
        let title = Filler::new(&mut r, day).fill(pattern);
        let base = crate::content::slugify(&title);
        let base = match base.char_indices().nth(50) {
            Some((cut, _)) => base[..cut].trim_end_matches('-').to_string(),
            None => base,
        };
        let draft = !scheduled && r.random_bool(0.005);
        Meta {
            index: i,
            topic,
            date: day.to_datetime(time),
            date_only,
            title,
            slug: format!("{base}-{i}"),
            draft,
            scheduled,
        }
    }

    fn file(&self) -> String {
        format!(
            "content/notices/{}/{}-{}.md",
            self.date.year(),
            self.date.date(),
            self.slug
        )
    }

    fn path(&self) -> String {
        format!("/bekanntmachungen/{}/{}/", self.date.year(), self.slug)
    }

    fn date_text(&self) -> String {
        if self.date_only {
            self.date.date().to_string()
        } else {
            self.date.strftime("%Y-%m-%d %H:%M").to_string()
        }
    }
}

/// Fills `{s}`, `{d}`, … in patterns with random streets, districts, months and weekdays.
struct Filler<'r> {
    rng: &'r mut StdRng,
    day: Date,
}

impl<'r> Filler<'r> {
    fn new(rng: &'r mut StdRng, day: Date) -> Self {
        Filler { rng, day }
    }

    fn fill(&mut self, pattern: &str) -> String {
        let mut out = String::with_capacity(pattern.len() + 32);
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let key = &rest[open + 1..open + close];
            let r = &mut *self.rng;
            let word = match key {
                "s" | "s2" | "s3" => words::STREETS.choose(r),
                "d" => words::DISTRICTS.choose(r),
                "p" => words::PLACES.choose(r),
                "wd" | "wd2" => words::WEEKDAYS.choose(r),
                "m" => Some(&words::MONTHS[(self.day.month() as usize + 1) % 12]),
                _ => None,
            };
            out.push_str(word.copied().unwrap_or(key));
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The whole `.md` file of one notice: front matter with every common field, then the body.
fn notice_text(seed: u64, meta: &Meta, n: usize) -> String {
    let mut r = rng(seed, meta.index, 2);
    let day = meta.date.date();
    let topic = meta.topic;
    let mut out = String::with_capacity(3072);
    let pattern = topic.summaries.choose(&mut r).expect("not empty");
    let summary = Filler::new(&mut r, day).fill(pattern);

    out.push_str("---\n");
    let _ = writeln!(out, "title: {}", quoted(&meta.title));
    let _ = writeln!(out, "date: {}", meta.date_text());
    if meta.scheduled {
        let _ = writeln!(out, "publish_at: {}", meta.date.strftime("%Y-%m-%d 08:00"));
    }
    let _ = writeln!(out, "summary: {}", quoted(&summary));
    if !r.random_bool(0.05) {
        let _ = writeln!(out, "category: {}", topic.category);
    }
    let tag_count = r.random_range(0..=3);
    if tag_count > 0 {
        let tags: Vec<&str> = topic
            .tags
            .choose_multiple(&mut r, tag_count)
            .copied()
            .collect();
        let _ = writeln!(out, "tags: [{}]", tags.join(", "));
    }
    if r.random_bool(0.04) {
        out.push_str("urgent: true\n");
    }
    if r.random_bool(0.1) {
        out.push_str("broadcast: false\n");
    }
    let old = day < LAST_DAY - 60.days();
    if old && r.random_bool(0.85) {
        let _ = writeln!(out, "expires: {}", day + r.random_range(2..45i64).days());
    }
    if r.random_bool(0.03) {
        let _ = writeln!(out, "slug: {}", meta.slug);
    }
    if r.random_bool(0.02) {
        let _ = writeln!(out, "aliases: [/alt/{}/]", meta.slug);
    }
    if r.random_bool(0.08) {
        let _ = writeln!(out, "image: {}", &image(r.random_range(1..=IMAGES))[7..]);
        out.push_str(
            "image_alt: \"Blick auf die Straße mit Absperrungen und einem Hinweisschild\"\n",
        );
    }
    if r.random_bool(0.12) {
        out.push_str("attachments:\n");
        for _ in 0..r.random_range(1..=2) {
            let k = r.random_range(1..=DOCUMENTS);
            let _ = writeln!(
                out,
                "  - file: {}\n    label: \"Tagesordnung Nr. {k} (PDF, 2 KB)\"",
                &document(k)[7..]
            );
        }
    }
    if r.random_bool(0.1) {
        out.push_str("updates:\n");
        for u in 0..r.random_range(1..=2i64) {
            let pattern = words::UPDATES.choose(&mut r).expect("not empty");
            let text = Filler::new(&mut r, day).fill(pattern);
            let _ = writeln!(
                out,
                "  - date: {} 10:00\n    text: {}",
                day + (u + 1).days(),
                quoted(&text)
            );
        }
    }
    if meta.draft {
        out.push_str("draft: true\n");
    }
    out.push_str("---\n\n");
    body(&mut out, &mut r, seed, meta, n);
    out
}

fn body(out: &mut String, r: &mut StdRng, seed: u64, meta: &Meta, n: usize) {
    let topic = meta.topic;
    let day = meta.date.date();
    let sentences = |r: &mut StdRng, count: usize| {
        (0..count)
            .map(|_| {
                let pattern = topic.sentences.choose(r).expect("not empty");
                Filler::new(r, day).fill(pattern)
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let intro = sentences(r, 3);
    let _ = writeln!(out, "{intro}\n");
    let mut headings: Vec<&str> = topic.headings.to_vec();
    let sections = r.random_range(2..=3);
    for s in 0..sections {
        let h = headings.remove(r.random_range(0..headings.len()));
        let _ = writeln!(out, "## {h}\n");
        let count = r.random_range(2..=4);
        let para = sentences(r, count);
        let _ = writeln!(out, "{para}\n");
        match (s, r.random_range(0..10)) {
            (0, 0..=5) | (1, 0..=2) => list(out, r, topic, day),
            (_, 6..=8) => table(out, r, topic, day),
            _ => {}
        }
    }
    links(out, r, seed, meta, n);
    let person = words::PEOPLE.choose(r).expect("not empty");
    let mail = words::CONTACTS.choose(r).expect("not empty");
    let phone = r.random_range(100..999);
    let _ = writeln!(
        out,
        "**Ansprechpartner:** {person}, Telefon 02399 123-{phone}, [{mail}](mailto:{mail})."
    );
}

fn list(out: &mut String, r: &mut StdRng, topic: &Topic, day: Date) {
    let numbered = r.random_bool(0.3);
    for k in 1..=r.random_range(3..=5) {
        let pattern = topic.list_items.choose(r).expect("not empty");
        let item = Filler::new(r, day).fill(pattern);
        if numbered {
            let _ = writeln!(out, "{k}. {item}");
        } else {
            let _ = writeln!(out, "- {item}");
        }
    }
    out.push('\n');
}

fn table(out: &mut String, r: &mut StdRng, topic: &Topic, day: Date) {
    let [a, b, c] = topic.table_head;
    let _ = writeln!(out, "| {a} | {b} | {c} |\n|:--|:--|--:|");
    for k in 0..r.random_range(3..=6i64) {
        let street = words::STREETS.choose(r).expect("not empty");
        let from = day + (k * 2).days();
        let _ = writeln!(
            out,
            "| {street} | {}. {} | {}:00 Uhr |",
            from.day(),
            words::MONTHS[from.month() as usize - 1],
            r.random_range(7..19)
        );
    }
    out.push('\n');
}

/// Links to older published notices and to pages the site generates.
fn links(out: &mut String, r: &mut StdRng, seed: u64, meta: &Meta, n: usize) {
    let mut parts = Vec::new();
    if meta.index > 0 && r.random_bool(0.5) {
        for _ in 0..r.random_range(1..=2) {
            let back = r.random_range(1..=meta.index.min(300));
            let other = Meta::new(seed, meta.index - back, n);
            if !other.draft && !other.scheduled {
                parts.push(format!(
                    "Siehe auch [{}]({}).",
                    other.title.replace(['[', ']'], ""),
                    other.path()
                ));
            }
        }
    }
    if r.random_bool(0.3) {
        parts.push(format!(
            "Weitere Meldungen finden Sie unter [{}](/kategorie/{}/) und im [Archiv {}](/archiv/{}/).",
            topic_name(meta.topic),
            meta.topic.category,
            meta.date.year(),
            meta.date.year()
        ));
    }
    if r.random_bool(0.15) {
        parts.push(
            "Neue Bekanntmachungen aufs Handy: [so melden Sie sich an](/anmelden/).".to_string(),
        );
    }
    if !parts.is_empty() {
        let _ = writeln!(out, "{}\n", parts.join(" "));
    }
}

fn topic_name(t: &Topic) -> &'static str {
    match t.category {
        "verkehr" => "Straßen und Verkehr",
        "abfall" => "Abfall und Entsorgung",
        "rat" => "Rat und Verwaltung",
        "veranstaltungen" => "Veranstaltungen",
        _ => "Wasser und Versorgung",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_notice_other_seed_other_notice() {
        let a = notice_text(7, &Meta::new(7, 40, 100), 100);
        let b = notice_text(7, &Meta::new(7, 40, 100), 100);
        let c = notice_text(8, &Meta::new(8, 40, 100), 100);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with("---\ntitle: \""), "{a}");
        assert!(a.contains("\n## "), "{a}");
    }

    #[test]
    fn dates_grow_with_the_index_and_the_newest_are_scheduled() {
        let n = 1000;
        let first = Meta::new(1, 0, n);
        let later = Meta::new(1, 500, n);
        let last = Meta::new(1, n - 1, n);
        assert!(first.date < later.date);
        assert_eq!(first.date.year(), 2007);
        assert!(last.scheduled && last.date.date() > LAST_DAY);
        assert!(!later.scheduled);
    }
}
