//! Which pages exist at `now`: selection of notices, pagination, feeds and sitemap, planned as
//! jobs that each render one file; and rendering a job.
//!
//! Lists hold indices into one vector of notice views, and pages are slices of those lists, so no
//! step copies the notices or grows quadratically with their number.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;
use tera::{Context, Value};

use crate::config::Config;
use crate::content::{Notice, Page};
use crate::diagnostics::Problem;
use crate::site::theme::Theme;
use crate::site::view::{
    self, CategoryView, FeedEntry, NoticeCard, NoticeFull, PageMeta, Pagination,
};
use crate::site::{BuildOptions, FEED_LIMIT, dates, output};

/// One file to render.
pub struct Job {
    /// Site path, e.g. `/kategorie/verkehr/seite/2/`.
    pub path: String,
    /// Output file relative to the output folder.
    pub file: PathBuf,
    pub kind: JobKind,
}

pub enum JobKind {
    /// A page of a notice list; `items` index into `Site::visible`.
    List {
        list: List,
        range: std::ops::Range<usize>,
        page: usize,
        pages: usize,
    },
    Notice(usize),
    Page(usize),
    ArchiveIndex,
    Redirect {
        target: String,
    },
    NotFound,
    /// `None` = the whole site.
    Feed(Option<usize>),
    Sitemap,
    Robots,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum List {
    Front,
    Category(usize),
    Year(i16),
}

pub struct Plan {
    pub jobs: Vec<Job>,
    pub problems: Vec<Problem>,
}

/// The site at one instant: the notices that are visible, in the orders the lists need.
pub struct Site<'a> {
    config: &'a Config,
    pages: &'a [Page],
    /// Visible notices (published at `now`; drafts only when asked), newest first.
    visible: Vec<&'a Notice>,
    cards: Vec<NoticeCard<'a>>,
    /// Last change per visible notice (publication or latest update).
    changed: Vec<Timestamp>,
    card_values: Vec<Value>,
    categories: Vec<CategoryView>,
    /// Front page order: current notices, urgent first, then newest first.
    front: Vec<usize>,
    /// Current notices per category (front page order).
    by_category: Vec<Vec<usize>>,
    /// Current notices, newest first (feeds).
    current_by_date: Vec<usize>,
    by_category_date: Vec<Vec<usize>>,
    now: Timestamp,
    /// Every visible notice per local year, newest first; years descending.
    by_year: BTreeMap<std::cmp::Reverse<i16>, Vec<usize>>,
}

impl<'a> Site<'a> {
    pub fn new(
        config: &'a Config,
        notices: &'a [Notice],
        pages: &'a [Page],
        opts: &BuildOptions,
    ) -> Self {
        let now = opts.now;
        let mut visible: Vec<&Notice> = notices
            .iter()
            .filter(|n| n.published_at() <= now && (!n.draft || opts.include_drafts))
            .collect();
        // Deterministic whatever order the loader used: newest publication first, then by path.
        visible.sort_by(|a, b| {
            b.published_at()
                .cmp(&a.published_at())
                .then_with(|| a.path.cmp(&b.path))
        });
        let categories: Vec<CategoryView> = config
            .categories
            .iter()
            .map(|c| CategoryView::new(config, c))
            .collect();
        let cards: Vec<NoticeCard> = visible
            .iter()
            .map(|n| NoticeCard::new(config, &categories, n, now))
            .collect();
        let card_values = cards.iter().map(Value::from_serializable).collect();
        let changed = visible.iter().map(|n| view::last_change(n)).collect();

        let current_by_date: Vec<usize> = (0..visible.len())
            .filter(|&i| !visible[i].is_expired(now))
            .collect();
        let mut front = current_by_date.clone();
        // Stable: keeps newest-first within urgent and within the rest.
        front.sort_by_key(|&i| !visible[i].urgent);
        let cat_index: HashMap<&str, usize> = config
            .categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect();
        let mut by_category = vec![Vec::new(); config.categories.len()];
        for &i in &front {
            if let Some(c) = visible[i]
                .category
                .as_deref()
                .and_then(|id| cat_index.get(id))
            {
                by_category[*c].push(i);
            }
        }
        let mut by_category_date = vec![Vec::new(); config.categories.len()];
        for &i in &current_by_date {
            if let Some(c) = visible[i]
                .category
                .as_deref()
                .and_then(|id| cat_index.get(id))
            {
                by_category_date[*c].push(i);
            }
        }
        let mut by_year: BTreeMap<std::cmp::Reverse<i16>, Vec<usize>> = BTreeMap::new();
        for (i, n) in visible.iter().enumerate() {
            let year = dates::local_year(n.date, &config.timezone);
            by_year.entry(std::cmp::Reverse(year)).or_default().push(i);
        }
        Site {
            config,
            pages,
            visible,
            cards,
            changed,
            card_values,
            now,
            categories,
            front,
            by_category,
            current_by_date,
            by_category_date,
            by_year,
        }
    }

    pub fn published_count(&self) -> usize {
        self.visible.len()
    }

    pub fn current_count(&self) -> usize {
        self.current_by_date.len()
    }

    /// Every file of the site, with collisions between them reported.
    pub fn plan(&self) -> Plan {
        let mut jobs = Vec::new();
        let mut problems = Vec::new();
        let per_page = self.config.notices_per_page;

        paginate(&mut jobs, "/", List::Front, self.front.len(), per_page);
        for (ci, c) in self.categories.iter().enumerate() {
            paginate(
                &mut jobs,
                &c.path,
                List::Category(ci),
                self.by_category[ci].len(),
                per_page,
            );
            push(&mut jobs, c.feed_path.clone(), JobKind::Feed(Some(ci)));
        }
        push(&mut jobs, "/archiv/".into(), JobKind::ArchiveIndex);
        for (year, items) in &self.by_year {
            let base = format!("/archiv/{}/", year.0);
            paginate(&mut jobs, &base, List::Year(year.0), items.len(), per_page);
        }
        for i in 0..self.visible.len() {
            push(&mut jobs, self.visible[i].path.clone(), JobKind::Notice(i));
        }
        for (i, p) in self.pages.iter().enumerate() {
            push(&mut jobs, p.path.clone(), JobKind::Page(i));
        }
        push(&mut jobs, "/atom.xml".into(), JobKind::Feed(None));
        push(&mut jobs, "/sitemap.xml".into(), JobKind::Sitemap);
        push(&mut jobs, "/robots.txt".into(), JobKind::Robots);
        push(&mut jobs, "/404.html".into(), JobKind::NotFound);
        for n in &self.visible {
            for alias in &n.aliases {
                push(
                    &mut jobs,
                    alias.clone(),
                    JobKind::Redirect {
                        target: self.config.absolute_url(&n.path),
                    },
                );
            }
        }

        // Paths that cannot be files, and two jobs writing one file, are errors naming sources.
        let mut owners: HashMap<PathBuf, usize> = HashMap::with_capacity(jobs.len());
        let mut keep = Vec::with_capacity(jobs.len());
        for job in jobs {
            match output::file_for_path(&job.path) {
                None => problems.push(
                    self.problem_for(&job, format!("`{}` is not a usable site address", job.path)),
                ),
                Some(file) => match owners.get(&file) {
                    Some(&other) => {
                        let other: &Job = &keep[other];
                        let msg = format!(
                            "`{}` is used twice: by {} and by {}",
                            job.path,
                            self.describe(other),
                            self.describe(&job)
                        );
                        problems.push(
                            self.problem_for(&job, msg)
                                .with_hint("change the slug or the alias of one of them"),
                        );
                    }
                    None => {
                        owners.insert(file.clone(), keep.len());
                        keep.push(Job { file, ..job });
                    }
                },
            }
        }
        Plan {
            jobs: keep,
            problems,
        }
    }

    fn source_of(&self, job: &Job) -> Option<&Path> {
        match &job.kind {
            JobKind::Notice(i) => Some(&self.visible[*i].source),
            JobKind::Page(i) => Some(&self.pages[*i].source),
            JobKind::Redirect { target } => self
                .visible
                .iter()
                .find(|n| self.config.absolute_url(&n.path) == *target)
                .map(|n| n.source.as_path()),
            _ => None,
        }
    }

    fn describe(&self, job: &Job) -> String {
        match (&job.kind, self.source_of(job)) {
            (JobKind::Redirect { .. }, Some(src)) => format!("an alias in {}", src.display()),
            (_, Some(src)) => src.display().to_string(),
            (_, None) => "a page aushang generates".to_string(),
        }
    }

    fn problem_for(&self, job: &Job, message: String) -> Problem {
        let file = self
            .source_of(job)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("content"));
        Problem::error(file, message)
    }

    fn list_items(&self, list: List) -> &[usize] {
        match list {
            List::Front => &self.front,
            List::Category(c) => &self.by_category[c],
            List::Year(y) => self
                .by_year
                .get(&std::cmp::Reverse(y))
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        }
    }

    fn meta(
        &self,
        kind: &'static str,
        title: String,
        description: &'a str,
        path: &str,
    ) -> PageMeta<'a> {
        let site_title = self.config.title.as_str();
        PageMeta {
            kind,
            og_title: if title.is_empty() {
                site_title.to_string()
            } else {
                title.clone()
            },
            title,
            description,
            path: path.to_string(),
            url: self.config.absolute_url(path),
            og_type: "website",
            og_image: None,
            og_image_alt: None,
            noindex: false,
            feed_url: self.config.absolute_url("/atom.xml"),
            feed_title: site_title.to_string(),
        }
    }

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
                let notices: Vec<Value> =
                    items.iter().map(|&i| self.card_values[i].clone()).collect();
                ctx.insert_value("notices", Value::from(notices));
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
                let card = &self.cards[*i];
                let full = NoticeFull::new(self.config, card, n).map_err(|msg| {
                    Problem::error(&n.source, msg)
                        .with_hint("put the file under static/ and link it as /folder/file")
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
                    .map(|&i| FeedEntry::new(&self.cards[i], self.visible[i]))
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
        theme
            .tera
            .render(template, &ctx)
            .map(String::into_bytes)
            .map_err(|e| {
                let mut p = theme.problem(&e, template);
                p.message = format!("{} (while rendering {})", p.message, job.path);
                Box::new(p)
            })
    }
}

fn push(jobs: &mut Vec<Job>, path: String, kind: JobKind) {
    jobs.push(Job {
        path,
        file: PathBuf::new(),
        kind,
    });
}

/// `base`, `base/seite/2/`, … for a list of `len` notices; an empty list still gets its first page.
fn paginate(jobs: &mut Vec<Job>, base: &str, list: List, len: usize, per_page: usize) {
    let pages = len.div_ceil(per_page).max(1);
    for page in 1..=pages {
        let start = (page - 1) * per_page;
        let range = start..(start + per_page).min(len);
        push(
            jobs,
            page_path(base, page),
            JobKind::List {
                list,
                range,
                page,
                pages,
            },
        );
    }
}

fn page_path(base: &str, page: usize) -> String {
    if page == 1 {
        base.to_string()
    } else {
        format!("{base}seite/{page}/")
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
        // Derived from content so that two builds with the same input are byte-identical.
        let updated = items
            .iter()
            .map(|&i| self.changed[i])
            .max()
            .or_else(|| self.changed.iter().copied().max())
            .unwrap_or(self.now);
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

    /// Every indexable HTML page with its last change; in plan order, which is deterministic.
    fn sitemap(&self, jobs: &[Job]) -> Vec<SitemapUrl> {
        let newest = |items: &[usize]| items.iter().map(|&i| self.changed[i]).max();
        jobs.iter()
            .filter_map(|job| {
                let lastmod = match &job.kind {
                    JobKind::List { list, range, .. } => {
                        newest(&self.list_items(*list)[range.clone()])
                    }
                    JobKind::Notice(i) if self.visible[*i].draft => return None,
                    JobKind::Notice(i) => Some(self.changed[*i]),
                    JobKind::Page(_) => None,
                    JobKind::ArchiveIndex => self.changed.iter().copied().max(),
                    _ => return None,
                };
                Some(SitemapUrl {
                    loc: self.config.absolute_url(&job.path),
                    lastmod: lastmod.map(dates::rfc3339),
                })
            })
            .collect()
    }
}

/// Renders every page type of a small sample site with `theme`, for `aushang check`: catches
/// template errors that only show when rendering (unknown variables, wrong types).
pub fn render_samples(config: &Config, theme: &mut Theme) -> Vec<Problem> {
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            return vec![Problem::error(
                "templates",
                format!("cannot create a scratch folder: {e}"),
            )];
        }
    };
    let mut sample_config = config.clone();
    sample_config.root = scratch.path().to_path_buf();
    let attachment = "/dokumente/beispiel.pdf";
    if let Some(file) = view::static_file(scratch.path(), attachment) {
        let _ = std::fs::create_dir_all(file.parent().unwrap_or(scratch.path()));
        let _ = std::fs::write(&file, b"%PDF-1.4\n");
    }
    let (notices, pages, now) = samples::site(config, attachment);
    let opts = BuildOptions {
        out_dir: scratch.path().join("out"),
        now,
        include_drafts: true,
    };
    let css_path = "/style.css";
    theme
        .tera
        .global_context()
        .insert("site", &view::site_view(config, css_path));
    let site = Site::new(&sample_config, &notices, &pages, &opts);
    let plan = site.plan();
    let mut problems: Vec<Problem> = plan
        .jobs
        .iter()
        .filter_map(|job| site.render(theme, job, &plan.jobs).err())
        .map(|p| *p)
        .map(|mut p| {
            p.message = p
                .message
                .replace("(while rendering ", "(while rendering the sample page ");
            p
        })
        .collect();
    problems.sort_by(|a, b| (&a.file, a.line, &a.message).cmp(&(&b.file, b.line, &b.message)));
    problems.dedup_by(|a, b| a.file == b.file && a.line == b.line && a.column == b.column);
    problems
}

mod samples {
    //! A tiny site with every feature used once, to render each template in `aushang check`.

    use std::path::PathBuf;

    use jiff::Timestamp;

    use crate::config::Config;
    use crate::content::{Attachment, Image, Notice, Page, Update};

    pub fn site(config: &Config, attachment: &str) -> (Vec<Notice>, Vec<Page>, Timestamp) {
        let t = |s: &str| s.parse::<Timestamp>().expect("sample dates are valid");
        let category = config.categories.first().map(|c| c.id.clone());
        let full = Notice {
            source: PathBuf::from("content/notices/beispiel.md"),
            path: "/bekanntmachungen/2026/beispiel/".into(),
            slug: "beispiel".into(),
            title: "Beispiel".into(),
            date: t("2026-03-01T08:30:00Z"),
            summary: "Zusammenfassung".into(),
            category,
            tags: vec!["Probe".into()],
            publish_at: None,
            expires: Some(t("2026-03-02T00:00:00Z")),
            draft: false,
            urgent: true,
            broadcast: true,
            aliases: vec!["/alt/beispiel/".into()],
            image: Some(Image {
                src: "/bilder/beispiel.jpg".into(),
                alt: "Bild".into(),
            }),
            attachments: vec![Attachment {
                href: attachment.into(),
                label: "Anlage".into(),
            }],
            updates: vec![Update {
                date: t("2026-03-01T12:00:00Z"),
                text: "Neu".into(),
            }],
            body_markdown: "Text".into(),
            body_html: "<p>Text</p>".into(),
        };
        let plain = Notice {
            source: PathBuf::from("content/notices/einfach.md"),
            path: "/bekanntmachungen/2026/einfach/".into(),
            slug: "einfach".into(),
            title: "Einfach".into(),
            category: None,
            tags: Vec::new(),
            expires: None,
            urgent: false,
            draft: true,
            aliases: Vec::new(),
            image: None,
            attachments: Vec::new(),
            updates: Vec::new(),
            ..full.clone()
        };
        let page = Page {
            source: PathBuf::from("content/pages/impressum.md"),
            path: "/impressum/".into(),
            slug: "impressum".into(),
            title: "Impressum".into(),
            description: String::new(),
            body_markdown: "Text".into(),
            body_html: "<p>Text</p>".into(),
        };
        (vec![full, plain], vec![page], t("2026-03-05T00:00:00Z"))
    }
}
