//! Rendering one planned file: the context each template gets, feeds and the sitemap.

use jiff::Timestamp;
use serde::Serialize;
use tera::Context;

use crate::diagnostics::Problem;
use crate::site::plan::{Job, JobKind, List, Site, page_path};
use crate::site::theme::Theme;
use crate::site::view::{self, FeedEntry, NoticeCard, NoticeFull, Pagination};
use crate::site::{FEED_LIMIT, base_path, dates};

impl Site<'_> {
    /// Renders one job to bytes; errors name the template file and the page.
    pub fn render(
        &self,
        theme: &Theme,
        job: &Job,
        all_jobs: &[Job],
    ) -> Result<Vec<u8>, Box<Problem>> {
        let mut ctx = Context::new();
        let template = match &job.kind {
            JobKind::List {
                list,
                range,
                page,
                pages,
            } => {
                let items = &self.list_items(*list)[range.clone()];
                let notices: Vec<&NoticeCard> = items.iter().map(|&i| self.card(i)).collect();
                ctx.insert("notices", &notices);
                ctx.insert(
                    "pagination",
                    &pagination(&list_base(self, *list), *page, *pages),
                );
                let page_suffix = if *page > 1 {
                    format!("Seite {page}")
                } else {
                    String::new()
                };
                let (template, meta) = match list {
                    List::Front => {
                        let m =
                            self.meta("index", page_suffix, &self.config.description, &job.path);
                        ("index.html", m)
                    }
                    List::Category(c) => {
                        let cat = &self.categories[*c];
                        let title = join_title(&cat.name, &page_suffix);
                        let own = &self.config.categories[*c].description;
                        let desc = if own.is_empty() {
                            &self.config.description
                        } else {
                            own
                        };
                        let mut m = self.meta("category", title, desc, &job.path);
                        m.feed_title = format!("{} – {}", self.config.title, cat.name);
                        m.feed_url = cat.feed_url.clone();
                        ctx.insert("category", cat);
                        ("category.html", m)
                    }
                    List::Year(y) => {
                        let title = join_title(&format!("Archiv {y}"), &page_suffix);
                        ctx.insert("year", y);
                        (
                            "archive.html",
                            self.meta("archive", title, &self.config.description, &job.path),
                        )
                    }
                };
                ctx.insert("page", &meta);
                template
            }
            JobKind::Notice(i) => {
                let n = self.visible[*i];
                let card = self.card(*i);
                let full = NoticeFull::new(self.config, card, n).map_err(|msg| {
                    Problem::error(&n.source, msg)
                        .with_hint("legen Sie die Datei unter static/ ab und verlinken Sie sie als /ordner/datei")
                })?;
                let mut m = self.meta("notice", n.title.clone(), &n.summary, &job.path);
                m.og_type = "article";
                m.og_image = card.image.as_ref().map(|i| i.url.clone());
                m.og_image_alt = n.image.as_ref().map(|i| i.alt.as_str());
                m.noindex = n.draft;
                ctx.insert("page", &m);
                ctx.insert("notice", &full);
                "notice.html"
            }
            JobKind::Page(i) => {
                let p = &self.pages[*i];
                let m = self.meta(
                    "page",
                    p.title.clone(),
                    view::page_description(self.config, p),
                    &job.path,
                );
                ctx.insert("page", &m);
                ctx.insert(
                    "content",
                    &PageContent {
                        title: &p.title,
                        body_html: &p.body_html,
                    },
                );
                "page.html"
            }
            JobKind::ArchiveIndex => {
                let years: Vec<YearLink> = self
                    .by_year
                    .iter()
                    .map(|(y, items)| YearLink {
                        year: y.0,
                        count: items.len(),
                        path: format!("/archiv/{}/", y.0),
                    })
                    .collect();
                ctx.insert("years", &years);
                ctx.insert(
                    "page",
                    &self.meta(
                        "archive_index",
                        "Archiv".into(),
                        &self.config.description,
                        &job.path,
                    ),
                );
                "archive_index.html"
            }
            JobKind::NotFound => {
                let mut m = self.meta(
                    "not_found",
                    "Seite nicht gefunden".into(),
                    &self.config.description,
                    &job.path,
                );
                m.noindex = true;
                ctx.insert("page", &m);
                "404.html"
            }
            JobKind::Redirect { target } => {
                ctx.insert("target", target);
                "redirect.html"
            }
            JobKind::Feed(cat) => {
                let items: &[usize] = match cat {
                    None => &self.current_by_date,
                    Some(c) => &self.by_category_date[*c],
                };
                let items = &items[..items.len().min(FEED_LIMIT)];
                let entries: Vec<FeedEntry> = items
                    .iter()
                    .map(|&i| {
                        FeedEntry::new(self.card(i), self.visible[i], self.config.base_path())
                    })
                    .collect();
                ctx.insert("entries", &entries);
                ctx.insert("feed", &self.feed_info(*cat, items));
                "atom.xml"
            }
            JobKind::Sitemap => {
                ctx.insert("urls", &self.sitemap(all_jobs));
                "sitemap.xml"
            }
            JobKind::Robots => "robots.txt",
        };
        // Rendered straight into a buffer big enough for most pages: no regrowing, and no second
        // pass to check UTF-8 that Tera produced from UTF-8 anyway.
        let mut out = Vec::with_capacity(16 * 1024);
        let xml = template.ends_with(".xml");
        theme
            .tera
            .render_to(template, &ctx, &mut out)
            .map_err(|e| {
                let mut p = theme.problem(&e, template);
                p.message = format!("{} (beim Erzeugen von {})", p.message, job.path);
                Box::new(p)
            })?;
        if xml {
            // Feeds and the sitemap stay well-formed XML whatever text reached them (a control
            // character from aushang.yaml, say; content files refuse them already).
            out = crate::text::xml_safe(out);
        }
        if template.ends_with(".html") {
            // Site paths in links become paths below a sub-path `base_url` (a no-op at the root).
            out = base_path::prefix_html(out, self.config.base_path()).map_err(|msg| {
                Box::new(Problem::error(
                    theme.file_of(template),
                    format!("{msg} (beim Erzeugen von {})", job.path),
                ))
            })?;
        }
        Ok(out)
    }
}

fn list_base(site: &Site, list: List) -> String {
    match list {
        List::Front => "/".into(),
        List::Category(c) => site.categories[c].path.clone(),
        List::Year(y) => format!("/archiv/{y}/"),
    }
}

fn pagination(base: &str, page: usize, pages: usize) -> Pagination {
    Pagination {
        current: page,
        total: pages,
        prev: (page > 1).then(|| page_path(base, page - 1)),
        next: (page < pages).then(|| page_path(base, page + 1)),
    }
}

fn join_title(title: &str, suffix: &str) -> String {
    if suffix.is_empty() {
        title.to_string()
    } else {
        format!("{title} – {suffix}")
    }
}

#[derive(Serialize)]
struct PageContent<'a> {
    title: &'a str,
    body_html: &'a str,
}

#[derive(Serialize)]
struct YearLink {
    year: i16,
    count: usize,
    path: String,
}

#[derive(Serialize)]
struct FeedInfo {
    title: String,
    subtitle: String,
    /// The feed's own absolute URL, also its id (it never changes).
    url: String,
    /// The HTML page the feed mirrors.
    alternate: String,
    updated: String,
}

#[derive(Serialize)]
struct SitemapUrl {
    loc: String,
    lastmod: Option<String>,
}

impl Site<'_> {
    fn feed_info(&self, cat: Option<usize>, items: &[usize]) -> FeedInfo {
        let updated = self.feed_updated(items);
        match cat {
            None => FeedInfo {
                title: self.config.title.clone(),
                subtitle: self.config.description.clone(),
                url: self.config.absolute_url("/atom.xml"),
                alternate: self.config.base_url.clone(),
                updated: dates::rfc3339(updated),
            },
            Some(c) => {
                let cat = &self.categories[c];
                FeedInfo {
                    title: format!("{} – {}", self.config.title, cat.name),
                    subtitle: cat.description.clone(),
                    url: cat.feed_url.clone(),
                    alternate: self.config.absolute_url(&cat.path),
                    updated: dates::rfc3339(updated),
                }
            }
        }
    }

    /// The `updated` instant of a feed with these entries. Derived from content so that two
    /// builds with the same input are byte-identical.
    pub(super) fn feed_updated(&self, items: &[usize]) -> Timestamp {
        items
            .iter()
            .map(|&i| self.changed[i])
            .max()
            .or_else(|| self.changed.iter().copied().max())
            .unwrap_or(self.now)
    }

    /// Whether a job's page is in the sitemap (`Some`) and with which last change.
    pub(super) fn sitemap_entry(&self, job: &Job) -> Option<Option<Timestamp>> {
        let newest = |items: &[usize]| items.iter().map(|&i| self.changed[i]).max();
        match &job.kind {
            JobKind::List { list, range, .. } => {
                Some(newest(&self.list_items(*list)[range.clone()]))
            }
            JobKind::Notice(i) if self.visible[*i].draft => None,
            JobKind::Notice(i) => Some(Some(self.changed[*i])),
            JobKind::Page(_) => Some(None),
            JobKind::ArchiveIndex => Some(self.changed.iter().copied().max()),
            _ => None,
        }
    }

    /// Every indexable HTML page with its last change; in plan order, which is deterministic.
    fn sitemap(&self, jobs: &[Job]) -> Vec<SitemapUrl> {
        jobs.iter()
            .filter_map(|job| {
                let lastmod = self.sitemap_entry(job)?;
                Some(SitemapUrl {
                    loc: self.config.absolute_url(&job.path),
                    lastmod: lastmod.map(dates::rfc3339),
                })
            })
            .collect()
    }
}
