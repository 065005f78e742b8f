//! The notice: one announcement of the town, as loaded and validated from `content/notices/`.
//!
//! Everything downstream (site, feeds, broadcast) works on this model, never on raw front matter.

use std::path::PathBuf;

use jiff::Timestamp;

/// A validated notice. Times are instants; format them in the site's time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Source file relative to the site root, e.g. `content/notices/2026/wasser.md`.
    pub source: PathBuf,
    /// URL path of its page, e.g. `/bekanntmachungen/2026/strassensperrung-hoennestrasse/`.
    /// Stable once published; it is also the notice's id in the broadcast journal.
    pub path: String,
    pub slug: String,
    pub title: String,
    /// The date the notice carries (publication date unless `publish_at` says otherwise).
    pub date: Timestamp,
    /// Plain text, one line, at most 600 characters: what the broadcast message says.
    pub summary: String,
    /// Category id (one of the configured ones), if any.
    pub category: Option<String>,
    pub tags: Vec<String>,
    /// Scheduled publishing: not on the site and not broadcast before this instant.
    pub publish_at: Option<Timestamp>,
    /// After this instant the notice leaves the front page and feeds; its page stays.
    pub expires: Option<Timestamp>,
    pub draft: bool,
    pub urgent: bool,
    /// `false` = site only, never broadcast.
    pub broadcast: bool,
    /// Old URL paths that redirect here.
    pub aliases: Vec<String>,
    pub image: Option<Image>,
    pub attachments: Vec<Attachment>,
    /// Dated corrections and updates, oldest first.
    pub updates: Vec<Update>,
    /// The Markdown body as written.
    pub body_markdown: String,
    /// The body rendered to sanitised HTML (rendered once, reused for page and feeds).
    pub body_html: String,
}

impl Notice {
    /// The instant from which the notice is public.
    pub fn published_at(&self) -> Timestamp {
        self.publish_at.unwrap_or(self.date)
    }

    /// Visible on the site at `now` (drafts never, unless the caller includes them).
    pub fn is_published(&self, now: Timestamp) -> bool {
        !self.draft && self.published_at() <= now
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }

    /// Published and not expired: belongs on the front page and in feeds.
    pub fn is_current(&self, now: Timestamp) -> bool {
        self.is_published(now) && !self.is_expired(now)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Site path of the image, e.g. `/bilder/sommerfest.jpg`.
    pub src: String,
    pub alt: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Site path of the file under `static/`, e.g. `/dokumente/tagesordnung.pdf`.
    pub href: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub date: Timestamp,
    pub text: String,
}

/// A standing page such as Impressum or Datenschutz (`content/pages/*.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub source: PathBuf,
    /// URL path, e.g. `/impressum/`.
    pub path: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub body_markdown: String,
    pub body_html: String,
}
