//! Which pages exist at `now`: selection of notices and pagination, planned as jobs that each
//! render one file (see `render.rs` for rendering a job).
//!
//! Lists hold indices into one vector of notice views, and pages are slices of those lists, so no
//! step copies the notices or grows quadratically with their number.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jiff::Timestamp;
use rayon::prelude::*;

use crate::config::Config;
use crate::content::{Notice, Page};
use crate::diagnostics::Problem;
use crate::site::view::{self, CategoryView, NoticeCard, PageMeta};
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
    pub(super) config: &'a Config,
    pub(super) pages: &'a [Page],
    /// Visible notices (published at `now`; drafts only when asked), newest first.
    pub(super) visible: Vec<&'a Notice>,
    /// Made when first needed (a partial rebuild in the preview needs only a few).
    cards: Vec<OnceLock<NoticeCard<'a>>>,
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
        notices: impl IntoIterator<Item = &'a Notice>,
        pages: &'a [Page],
        opts: &BuildOptions,
    ) -> Self {
        let now = opts.now;
        let mut visible: Vec<&Notice> = notices
            .into_iter()
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
        // Cards are made on first use (a partial rebuild in the preview needs few) and serialised
        // per list page while rendering, not kept as Tera values for every notice: at 50,000
        // notices those took ~175 MB.
        let cards = visible.iter().map(|_| OnceLock::new()).collect();
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

    /// The card of visible notice `i`.
    pub(super) fn card(&self, i: usize) -> &NoticeCard<'a> {
        self.cards[i].get_or_init(|| {
            NoticeCard::new(self.config, &self.categories, self.visible[i], self.now)
        })
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
        let files: Vec<Option<PathBuf>> = jobs
            .par_iter()
            .map(|j| output::file_for_path(&j.path))
            .collect();
        // The first job for each file, as index into `jobs`.
        let mut owners: HashMap<&Path, usize> = HashMap::with_capacity(jobs.len());
        let mut rejected = vec![false; jobs.len()];
        for (i, (job, file)) in jobs.iter().zip(&files).enumerate() {
            match file {
                None => {
                    rejected[i] = true;
                    problems.push(self.problem_for(
                        job,
                        format!("`{}` ist keine verwendbare Adresse der Website", job.path),
                    ));
                }
                Some(file) => {
                    match owners.get(file.as_path()) {
                        Some(&other) => {
                            rejected[i] = true;
                            let msg = format!(
                                "`{}` wird doppelt verwendet: von {} und von {}",
                                job.path,
                                self.describe(&jobs[other]),
                                self.describe(job)
                            );
                            problems.push(self.problem_for(job, msg).with_hint(
                                "ändern Sie bei einem von beiden den slug oder den alias",
                            ));
                        }
                        None => {
                            owners.insert(file, i);
                        }
                    }
                }
            }
        }
        // A file where another job needs a folder (an alias `/atom.xml/` wants the folder
        // `atom.xml/` for its redirect, next to the feed `atom.xml`): reported here with the source,
        // else the write fails later without naming it.
        for (i, (job, file)) in jobs.iter().zip(&files).enumerate() {
            let Some(file) = file.as_deref().filter(|_| !rejected[i]) else {
                continue;
            };
            let owner = file.ancestors().skip(1).find_map(|dir| owners.get(dir));
            if let Some(&other) = owner.filter(|&&o| o != i && !rejected[o]) {
                rejected[i] = true;
                let msg = format!(
                    "`{}` braucht einen Ordner, wo {} die Datei `{}` schreibt",
                    job.path,
                    self.describe(&jobs[other]),
                    jobs[other].path
                );
                problems.push(
                    self.problem_for(job, msg)
                        .with_hint("ändern Sie den slug oder den alias"),
                );
            }
        }
        drop(owners);
        let keep: Vec<Job> = jobs
            .into_iter()
            .zip(files)
            .zip(rejected)
            .filter_map(|((job, file), rejected)| {
                Some(Job { file: file?, ..job }).filter(|_| !rejected)
            })
            .collect();
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
            (JobKind::Redirect { .. }, Some(src)) => format!("ein alias in {}", src.display()),
            (_, Some(src)) => src.display().to_string(),
            (_, None) => "eine Seite, die aushang erzeugt".to_string(),
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

impl Site<'_> {
    /// One hash per job (in `jobs` order) of everything its output depends on besides the
    /// configuration, the theme and `static/`, given `digest`, a hash of each notice's source.
    /// With those three unchanged, a job at the same path with the same signature renders to the
    /// same bytes: the preview renders only the jobs whose signature changed after an edit.
    pub fn job_signatures(&self, jobs: &[Job], digest: impl Fn(&Notice) -> u64 + Sync) -> Vec<u64> {
        // `expired` is the one part of a notice's card that depends on the instant.
        let notice: Vec<u64> = self
            .visible
            .par_iter()
            .map(|n| hash_of(&(digest(n), n.is_expired(self.now))))
            .collect();
        jobs.par_iter()
            .map(|job| {
                let mut h = DefaultHasher::new();
                job.path.hash(&mut h);
                match &job.kind {
                    JobKind::List {
                        list,
                        range,
                        page,
                        pages,
                    } => {
                        (0u8, page, pages).hash(&mut h);
                        for &i in &self.list_items(*list)[range.clone()] {
                            notice[i].hash(&mut h);
                        }
                    }
                    JobKind::Notice(i) => (1u8, notice[*i]).hash(&mut h),
                    JobKind::Page(i) => (2u8, &self.pages[*i].path).hash(&mut h),
                    JobKind::ArchiveIndex => {
                        3u8.hash(&mut h);
                        for (year, items) in &self.by_year {
                            (year.0, items.len()).hash(&mut h);
                        }
                    }
                    JobKind::Redirect { target } => (4u8, target).hash(&mut h),
                    JobKind::NotFound => 5u8.hash(&mut h),
                    JobKind::Robots => 6u8.hash(&mut h),
                    JobKind::Feed(cat) => {
                        (7u8, cat).hash(&mut h);
                        let items: &[usize] = match cat {
                            None => &self.current_by_date,
                            Some(c) => &self.by_category_date[*c],
                        };
                        let items = &items[..items.len().min(FEED_LIMIT)];
                        for &i in items {
                            notice[i].hash(&mut h);
                        }
                        self.feed_updated(items).hash(&mut h);
                    }
                    JobKind::Sitemap => {
                        8u8.hash(&mut h);
                        for j in jobs {
                            if let Some(lastmod) = self.sitemap_entry(j) {
                                (&j.path, lastmod).hash(&mut h);
                            }
                        }
                    }
                }
                h.finish()
            })
            .collect()
    }
}

fn hash_of(value: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
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
