//! What templates see: the data of the site, of one page and of each notice, as serialisable views.
//!
//! Field names here are the template API documented in the README; renaming one breaks overrides.
//! Times are RFC 3339 strings in UTC; templates format them with the `datum`, `datum_zeit` and
//! `iso` filters in the site's time zone.

use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::{Category, Config};
use crate::content::{Attachment, Notice, Page};
use crate::site::dates;

/// The part of the context that is the same on every page (set once as Tera's global context).
#[derive(Serialize)]
pub struct SiteView<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub base_url: &'a str,
    pub language: &'a str,
    pub og_locale: String,
    /// Feed author: the publishing organisation, else the site title.
    pub author: &'a str,
    pub feed_url: String,
    pub css_path: &'a str,
    /// `/favicon.svg`, `/favicon.png` or `/favicon.ico` when `static/` has one.
    pub favicon: Option<&'static str>,
    pub contact: ContactView<'a>,
    pub categories: Vec<CategoryView>,
    /// The sign-up form's settings when `inbox.url` is configured (shown on `/anmelden/`).
    pub inbox: Option<InboxView>,
}

#[derive(Serialize)]
pub struct InboxView {
    /// Where the form posts: `<inbox.url>/signup`.
    pub action: String,
    pub consent_text: String,
    pub consent_version: String,
    /// Whether the form offers e-mail besides WhatsApp (`broadcast.channels.email` is set).
    pub email: bool,
}

fn inbox_view(config: &Config) -> Option<InboxView> {
    let inbox = config.inbox.as_ref()?;
    let org = if config.contact.organisation.is_empty() {
        &config.title
    } else {
        &config.contact.organisation
    };
    let email = config.broadcast.channels.email.is_some();
    Some(InboxView {
        action: format!("{}/signup", inbox.url.trim_end_matches('/')),
        consent_text: inbox.consent_text.clone().unwrap_or_else(|| if email {
            format!(
                "Ich bin damit einverstanden, dass {org} mir neue Bekanntmachungen per WhatsApp oder \
                 E-Mail schickt und dafür meine Handynummer oder E-Mail-Adresse, meinen Namen (falls \
                 angegeben) und meine Themen speichert. Ich kann mich jederzeit abmelden (STOP \
                 schreiben oder der Abmelde-Link in jeder E-Mail)."
            )
        } else {
            format!(
                "Ich bin damit einverstanden, dass {org} mir neue Bekanntmachungen per WhatsApp schickt \
                 und dafür meine Handynummer, meinen Namen (falls angegeben) und meine Themen speichert. \
                 Ich kann mich jederzeit mit STOP abmelden."
            )
        }),
        consent_version: inbox.consent_version.clone(),
        email,
    })
}

#[derive(Serialize)]
pub struct ContactView<'a> {
    pub organisation: &'a str,
    pub street: &'a str,
    pub postcode: &'a str,
    pub city: &'a str,
    pub phone: &'a str,
    /// The phone number as a `tel:` target: digits and a leading `+` only.
    pub phone_link: String,
    pub email: &'a str,
    pub responsible: &'a str,
}

#[derive(Serialize, Clone)]
pub struct CategoryView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub path: String,
    pub feed_path: String,
    pub feed_url: String,
}

impl CategoryView {
    pub fn new(config: &Config, c: &Category) -> Self {
        let path = category_path(&c.id);
        let feed_path = format!("{path}atom.xml");
        CategoryView {
            id: c.id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            feed_url: config.absolute_url(&feed_path),
            path,
            feed_path,
        }
    }
}

pub fn category_path(id: &str) -> String {
    format!("/kategorie/{id}/")
}

pub fn site_view<'a>(config: &'a Config, css_path: &'a str) -> SiteView<'a> {
    let c = &config.contact;
    let og_locale = match config.language.as_str() {
        "de" => "de_DE".to_string(),
        other => other.replace('-', "_"),
    };
    SiteView {
        title: &config.title,
        description: &config.description,
        base_url: &config.base_url,
        language: &config.language,
        og_locale,
        author: if c.organisation.is_empty() {
            &config.title
        } else {
            &c.organisation
        },
        feed_url: config.absolute_url("/atom.xml"),
        css_path,
        favicon: favicon(&config.root),
        contact: ContactView {
            organisation: &c.organisation,
            street: &c.street,
            postcode: &c.postcode,
            city: &c.city,
            phone: &c.phone,
            phone_link: phone_link(&c.phone),
            email: &c.email,
            responsible: &c.responsible,
        },
        categories: config
            .categories
            .iter()
            .map(|cat| CategoryView::new(config, cat))
            .collect(),
        inbox: inbox_view(config),
    }
}

/// German numbers such as "02399 123-0" become `+492399123​0` for `tel:` links.
fn phone_link(phone: &str) -> String {
    let digits: String = phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    match digits.strip_prefix('0') {
        Some(rest) if !rest.starts_with('0') => format!("+49{rest}"),
        _ => digits,
    }
}

/// A notice as shown in lists and feeds (no body: lists never need it).
#[derive(Serialize)]
pub struct NoticeCard<'a> {
    pub title: &'a str,
    pub path: &'a str,
    pub url: String,
    pub slug: &'a str,
    pub summary: &'a str,
    /// The date the notice carries.
    pub date: String,
    /// When it went public (`publish_at`, else `date`).
    pub published: String,
    /// The newest of `published` and the update dates.
    pub updated: String,
    pub has_updates: bool,
    pub expires: Option<String>,
    pub expired: bool,
    pub urgent: bool,
    pub draft: bool,
    pub category: Option<CategoryView>,
    pub tags: &'a [String],
    pub image: Option<ImageView<'a>>,
}

#[derive(Serialize)]
pub struct ImageView<'a> {
    pub src: &'a str,
    /// Absolute URL (for og:image and feeds).
    pub url: String,
    pub alt: &'a str,
}

impl<'a> NoticeCard<'a> {
    pub fn new(
        config: &Config,
        categories: &[CategoryView],
        n: &'a Notice,
        now: Timestamp,
    ) -> Self {
        let updated = last_change(n);
        NoticeCard {
            title: &n.title,
            path: &n.path,
            url: config.absolute_url(&n.path),
            slug: &n.slug,
            summary: &n.summary,
            date: dates::rfc3339(n.date),
            published: dates::rfc3339(n.published_at()),
            updated: dates::rfc3339(updated),
            has_updates: !n.updates.is_empty(),
            expires: n.expires.map(dates::rfc3339),
            expired: n.is_expired(now),
            urgent: n.urgent,
            draft: n.draft,
            category: n
                .category
                .as_deref()
                .and_then(|id| categories.iter().find(|c| c.id == id))
                .cloned(),
            tags: &n.tags,
            image: n.image.as_ref().map(|i| ImageView {
                src: &i.src,
                url: absolute(config, &i.src),
                alt: &i.alt,
            }),
        }
    }
}

/// The newest instant at which the notice changed: publication or its latest update.
pub fn last_change(n: &Notice) -> Timestamp {
    n.updates
        .iter()
        .map(|u| u.date)
        .fold(n.published_at(), Timestamp::max)
}

/// Everything the notice page shows.
#[derive(Serialize)]
pub struct NoticeFull<'a> {
    #[serde(flatten)]
    pub card: &'a NoticeCard<'a>,
    pub body_html: &'a str,
    pub attachments: Vec<AttachmentView<'a>>,
    /// Newest first; the first one is marked `newest`.
    pub updates: Vec<UpdateView<'a>>,
}

#[derive(Serialize)]
pub struct AttachmentView<'a> {
    pub href: &'a str,
    pub url: String,
    pub label: &'a str,
    /// "PDF", "Word", …
    pub kind: String,
    /// "24 KB"
    pub size: String,
}

#[derive(Serialize)]
pub struct UpdateView<'a> {
    pub date: String,
    pub text: &'a str,
    pub newest: bool,
}

impl<'a> NoticeFull<'a> {
    /// Fails with a message when an attachment's file is missing under `static/`.
    pub fn new(config: &Config, card: &'a NoticeCard<'a>, n: &'a Notice) -> Result<Self, String> {
        let attachments = n
            .attachments
            .iter()
            .map(|a| attachment_view(config, a))
            .collect::<Result<Vec<_>, _>>()?;
        let mut updates: Vec<&crate::content::Update> = n.updates.iter().collect();
        updates.sort_by_key(|u| std::cmp::Reverse(u.date));
        let updates = updates
            .into_iter()
            .enumerate()
            .map(|(i, u)| UpdateView {
                date: dates::rfc3339(u.date),
                text: &u.text,
                newest: i == 0,
            })
            .collect();
        Ok(NoticeFull {
            card,
            body_html: &n.body_html,
            attachments,
            updates,
        })
    }
}

/// A feed entry: the card plus the HTML body (with the image in front) for feed readers.
#[derive(Serialize)]
pub struct FeedEntry<'a> {
    #[serde(flatten)]
    pub card: &'a NoticeCard<'a>,
    pub feed_content: String,
}

impl<'a> FeedEntry<'a> {
    /// `base_path` (see [`crate::config::Config::base_path`]) goes in front of the body's
    /// root-relative links, which feed readers resolve against the feed's `xml:base`.
    pub fn new(card: &'a NoticeCard<'a>, n: &Notice, base_path: &str) -> Self {
        let mut html = String::with_capacity(n.body_html.len() + 128);
        if let Some(img) = &card.image {
            html.push_str("<p><img src=\"");
            html.push_str(&escape(&img.url));
            html.push_str("\" alt=\"");
            html.push_str(&escape(img.alt));
            html.push_str("\"></p>");
        }
        if base_path == "/" {
            html.push_str(&n.body_html);
        } else {
            let body =
                crate::site::base_path::prefix_html(n.body_html.clone().into_bytes(), base_path)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_else(|| n.body_html.clone());
            html.push_str(&body);
        }
        FeedEntry {
            card,
            feed_content: html,
        }
    }
}

fn escape(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    tera::escape_html(s, &mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("escaping keeps UTF-8")
}

fn attachment_view<'a>(config: &Config, a: &'a Attachment) -> Result<AttachmentView<'a>, String> {
    let file = static_file(&config.root, &a.href)
        .ok_or_else(|| format!("Anhang `{}` ist keine Datei unter static/", a.href))?;
    let meta = std::fs::metadata(&file)
        .map_err(|e| format!("Anhang `{}` ({}): {e}", a.href, file.display()))?;
    Ok(AttachmentView {
        href: &a.href,
        url: absolute(config, &a.href),
        label: &a.label,
        kind: file_kind(&a.href),
        size: file_size_de(meta.len()),
    })
}

/// The file under `<root>/static/` that serves site path `href`; `None` for URLs and `..`.
/// The site's icon: `/favicon.svg`, `/favicon.png` or `/favicon.ico`, whichever `static/` has
/// first.
pub fn favicon(root: &Path) -> Option<&'static str> {
    ["/favicon.svg", "/favicon.png", "/favicon.ico"]
        .into_iter()
        .find(|f| static_file(root, f).is_some_and(|p| p.is_file()))
}

pub fn static_file(root: &Path, href: &str) -> Option<std::path::PathBuf> {
    let rel = href.strip_prefix('/')?;
    if rel.is_empty()
        || rel
            .split('/')
            .any(|c| c == ".." || c == "." || c.is_empty())
    {
        return None;
    }
    Some(root.join("static").join(rel))
}

fn absolute(config: &Config, src: &str) -> String {
    if src.starts_with("https://") || src.starts_with("http://") {
        src.to_string()
    } else {
        config.absolute_url(src)
    }
}

/// A reader-friendly file type from the extension.
pub fn file_kind(href: &str) -> String {
    let ext = href
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "PDF".into(),
        "doc" | "docx" => "Word".into(),
        "xls" | "xlsx" => "Excel".into(),
        "odt" => "OpenDocument-Text".into(),
        "ods" => "OpenDocument-Tabelle".into(),
        "jpg" | "jpeg" => "JPEG-Bild".into(),
        "png" => "PNG-Bild".into(),
        "zip" => "ZIP-Archiv".into(),
        "" => "Datei".into(),
        other => other.to_ascii_uppercase(),
    }
}

/// "24 KB", "1,2 MB" (1 KB = 1024 bytes; German decimal comma; never "0 KB").
pub fn file_size_de(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    if bytes < MB {
        format!("{} KB", bytes.div_ceil(KB).max(1))
    } else {
        let tenths = (bytes * 10).div_ceil(MB);
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{},{} MB", tenths / 10, tenths % 10)
        }
    }
}

/// The head data of one page.
#[derive(Serialize)]
pub struct PageMeta<'a> {
    /// index, notice, category, archive, archive_index, page, not_found
    pub kind: &'static str,
    /// Without the site title; empty on the front page.
    pub title: String,
    pub og_title: String,
    pub description: &'a str,
    pub path: String,
    pub url: String,
    /// `article` for notices, else `website`.
    pub og_type: &'static str,
    pub og_image: Option<String>,
    pub og_image_alt: Option<&'a str>,
    pub noindex: bool,
    pub feed_url: String,
    pub feed_title: String,
}

#[derive(Serialize)]
pub struct Pagination {
    pub current: usize,
    pub total: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
}

/// The description of a standing page: its own, else the site's.
pub fn page_description<'a>(config: &'a Config, p: &'a Page) -> &'a str {
    if p.description.is_empty() {
        &config.description
    } else {
        &p.description
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sizes_read_like_a_person_wrote_them() {
        assert_eq!(file_size_de(0), "1 KB");
        assert_eq!(file_size_de(24 * 1024), "24 KB");
        assert_eq!(file_size_de(24 * 1024 + 1), "25 KB");
        assert_eq!(file_size_de(1024 * 1024), "1 MB");
        assert_eq!(file_size_de(1_258_291), "1,2 MB");
    }

    #[test]
    fn file_kinds_and_static_paths() {
        assert_eq!(file_kind("/dokumente/Tagesordnung.PDF"), "PDF");
        assert_eq!(file_kind("/a/b.docx"), "Word");
        assert_eq!(file_kind("/a/b.gpx"), "GPX");
        let root = Path::new("/site");
        assert_eq!(
            static_file(root, "/dokumente/a.pdf").unwrap(),
            Path::new("/site/static/dokumente/a.pdf")
        );
        assert!(static_file(root, "/../etc/passwd").is_none());
        assert!(static_file(root, "https://x.example/a.pdf").is_none());
    }

    #[test]
    fn phone_links_use_the_international_form() {
        assert_eq!(phone_link("02399 123-0"), "+4923991230");
        assert_eq!(phone_link("+49 2399 1230"), "+4923991230");
    }
}
