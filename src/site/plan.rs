//! Which pages exist at `now`: selection of notices and pagination, planned as jobs that each
//! render one file (see `render.rs` for rendering a job).
//!
//! Lists hold indices into one vector of notice views, and pages are slices of those lists, so no
//! step copies the notices or grows quadratically with their number.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rayon::prelude::*;

use crate::config::Config;
use crate::content::{Notice, Page};
use crate::diagnostics::Problem;
use crate::site::view::{self, CategoryView, NoticeCard, PageMeta};
use crate::site::{BuildOptions, dates, output};

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
    pub(super) config: &'a Config,
    pub(super) pages: &'a [Page],
    /// Visible notices (published at `now`; drafts only when asked), newest first.
    pub(super) visible: Vec<&'a Notice>,
    pub(super) cards: Vec<NoticeCard<'a>>,
    /// Last change per visible notice (publication or latest update).
    pub(super) changed: Vec<Timestamp>,
    pub(super) categories: Vec<CategoryView>,
    /// Front page order: current notices, urgent first, then newest first.
    pub(super) front: Vec<usize>,
    /// Current notices per category (front page order).
    pub(super) by_category: Vec<Vec<usize>>,
    /// Current notices, newest first (feeds).
    pub(super) current_by_date: Vec<usize>,
    pub(super) by_category_date: Vec<Vec<usize>>,
    pub(super) now: Timestamp,
    /// Every visible notice per local year, newest first; years descending.
    pub(super) by_year: BTreeMap<std::cmp::Reverse<i16>, Vec<usize>>,
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
        // Cards are serialised per list page while rendering (in parallel), not kept as Tera
        // values for every notice: at 50,000 notices those took ~175 MB.
        let cards: Vec<NoticeCard> = visible
            .par_iter()
            .map(|n| NoticeCard::new(config, &categories, n, now))
            .collect();
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

    pub(super) fn list_items(&self, list: List) -> &[usize] {
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

    pub(super) fn meta(
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

pub(super) fn page_path(base: &str, page: usize) -> String {
    if page == 1 {
        base.to_string()
    } else {
        format!("{base}seite/{page}/")
    }
}
