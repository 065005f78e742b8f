//! The preview's copy of the site: content cached per file, so that a rebuild after an edit
//! re-reads only the files that changed, and one rebuild into the preview folder.
//!
//! Loading goes through the same per-file loaders and address checks as `aushang build`, so the
//! preview shows exactly the problems a build would report. Unchanged output files are not
//! rewritten (the site renderer compares before it writes).

use std::collections::HashMap;
use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rayon::prelude::*;

use crate::config::{self, Config};
use crate::content::notice_loader::{self, LoadedNotice};
use crate::content::page_loader::{self, LoadedPage};
use crate::content::{self, Notice, Page, SiteContent};
use crate::diagnostics::Problem;
use crate::serve::changes::{Stamp, stamp};
use crate::serve::incremental::Built;
use crate::site::{self, BuildError, BuildOptions, BuildReport};

/// Which instant the preview shows the site at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The real time of each rebuild.
    Real,
    /// Always this instant (tests, reproducing a problem).
    Fixed(Timestamp),
    /// Late enough that every scheduled notice is published: the latest publication time of any
    /// notice, or now if that is earlier. Not "the end of time", so that notices which are still
    /// current do not all show as expired.
    Future,
}

/// What the preview builds, and where.
#[derive(Debug, Clone)]
pub struct Settings {
    pub root: PathBuf,
    pub out_dir: PathBuf,
    pub include_drafts: bool,
    pub clock: Clock,
}

/// The loaded notices and pages as the preview holds them: notices are shared between
/// rebuilds, so that a partial rebuild after an edit copies none of them.
#[derive(Default)]
pub struct Content {
    /// Newest first (by publication, then path), as [`SiteContent`].
    pub notices: Vec<Arc<Notice>>,
    pub pages: Vec<Page>,
}

impl From<SiteContent> for Content {
    fn from(c: SiteContent) -> Self {
        Content {
            notices: c.notices.into_iter().map(Arc::new).collect(),
            pages: c.pages,
        }
    }
}

/// The state of the site after one rebuild, shared with the web server.
pub struct Snapshot {
    /// `None` when aushang.yaml itself has errors.
    pub config: Option<Arc<Config>>,
    /// Everything that loaded, also when the build failed (the broadcast preview still works for
    /// the notices without errors).
    pub content: Arc<Content>,
    pub now: Timestamp,
    /// The build report, or every error that stopped the build (with warnings).
    pub result: Result<BuildReport, Vec<Problem>>,
    /// Warnings of a successful build.
    pub warnings: Vec<Problem>,
    pub took: Duration,
}

impl Snapshot {
    /// Whether the output changed compared with the build before (decides whether open browser
    /// tabs reload).
    pub fn changed_output(&self) -> bool {
        match &self.result {
            Ok(r) => r.files_changed > 0 || r.stale_removed > 0,
            Err(_) => false,
        }
    }

    /// The notice whose page is at `path` (`/bekanntmachungen/2026/x/`), among those loaded.
    pub fn notice_at(&self, path: &str) -> Option<&Notice> {
        self.content
            .notices
            .iter()
            .find(|n| n.path == path)
            .map(|n| &**n)
    }
}

pub(super) struct Cached<T> {
    pub(super) stamp: Stamp,
    pub(super) value: Option<T>,
    pub(super) problems: Vec<Problem>,
    /// A hash of the file's path and text: what a notice's pages depend on besides the
    /// configuration, the theme and `static/` (0 for files that did not load).
    pub(super) digest: u64,
}

/// The preview's site: settings plus what was loaded last time.
pub struct Workspace {
    pub(super) settings: Settings,
    /// The text of aushang.yaml and the config parsed from it; any change reloads all content,
    /// since categories and limits decide what is valid.
    pub(super) config: Option<(Vec<u8>, Arc<Config>)>,
    pub(super) notices: HashMap<PathBuf, Cached<LoadedNotice>>,
    pub(super) pages: HashMap<PathBuf, Cached<LoadedPage>>,
    /// Warnings about the folders' files (not `.md`) from the last full rebuild.
    pub(super) walk_warnings: Vec<Problem>,
    /// What the last successful build wrote, for partial rebuilds; `None` after a failed one.
    pub(super) built: Option<Built>,
}

impl Workspace {
    pub fn new(settings: Settings) -> Self {
        Workspace {
            settings,
            config: None,
            notices: HashMap::new(),
            pages: HashMap::new(),
            walk_warnings: Vec::new(),
            built: None,
        }
    }

    /// What a build of the preview at `now` is told.
    pub(super) fn build_options(&self, now: Timestamp) -> BuildOptions {
        BuildOptions {
            out_dir: self.settings.out_dir.clone(),
            now,
            include_drafts: self.settings.include_drafts,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Reloads what changed (`changed`: absolute paths reported by the watcher; files whose size
    /// or modification time changed are reloaded as well) and builds the site.
    pub fn rebuild(&mut self, changed: &[PathBuf]) -> Snapshot {
        let started = Instant::now();
        self.built = None;
        let config = match self.load_config() {
            Ok(c) => c,
            Err(problems) => {
                return Snapshot {
                    config: None,
                    content: Arc::new(Content::default()),
                    now: Timestamp::now(),
                    result: Err(problems),
                    warnings: Vec::new(),
                    took: started.elapsed(),
                };
            }
        };
        for path in changed {
            if let Ok(rel) = path.strip_prefix(&self.settings.root) {
                self.notices.remove(rel);
                self.pages.remove(rel);
            }
        }
        let mut problems = Vec::new();
        let loading = Instant::now();
        let (content, mut load_problems) = self.load_content(&config, &mut problems);
        let loaded_in = loading.elapsed();
        problems.append(&mut load_problems);
        let now = self.now_for(content.notices.iter());
        let (errors, warnings): (Vec<Problem>, Vec<Problem>) =
            problems.into_iter().partition(Problem::is_error);
        let result = if errors.is_empty() {
            let opts = self.build_options(now);
            match site::build_in_place(&config, &content, &opts) {
                Ok(report) => Ok(report),
                Err(BuildError::Problems(p)) => Err(p),
                Err(BuildError::Output(e)) => {
                    Err(vec![Problem::error(&self.settings.out_dir, e.to_string())])
                }
            }
        } else {
            Err(errors)
        };
        let content = Arc::new(Content::from(content));
        if let Ok(report) = &result {
            self.built = Built::after_full_build(self, &config, &content, now, report);
        }
        tracing::debug!(
            "rebuild: content {} ms, site {} ms",
            loaded_in.as_millis(),
            (started.elapsed() - loaded_in).as_millis()
        );
        Snapshot {
            config: Some(config),
            content,
            now,
            result,
            warnings,
            took: started.elapsed(),
        }
    }

    /// The instant the site is shown at, for this content.
    pub(super) fn now_for<'n>(&self, notices: impl Iterator<Item = &'n Notice>) -> Timestamp {
        match self.settings.clock {
            Clock::Real => Timestamp::now(),
            Clock::Fixed(t) => t,
            Clock::Future => notices
                .map(Notice::published_at)
                .max()
                .map_or_else(Timestamp::now, |latest| latest.max(Timestamp::now())),
        }
    }

    fn load_config(&mut self) -> Result<Arc<Config>, Vec<Problem>> {
        let file = self.settings.root.join(config::CONFIG_FILE);
        let text = std::fs::read(&file).unwrap_or_default();
        if let Some((old, config)) = &self.config
            && *old == text
        {
            return Ok(config.clone());
        }
        self.config = None;
        self.notices.clear();
        self.pages.clear();
        let config = Arc::new(config::load(&self.settings.root)?);
        self.config = Some((text, config.clone()));
        Ok(config)
    }

    /// Like [`content::load`], re-reading only files that are new or changed.
    fn load_content(
        &mut self,
        config: &Config,
        problems: &mut Vec<Problem>,
    ) -> (SiteContent, Vec<Problem>) {
        let root = self.settings.root.clone();
        let drafts = self.settings.include_drafts;
        let notice_files =
            content::markdown_files(&root, content::NOTICES_DIR, usize::MAX, problems);
        let page_files = content::markdown_files(&root, content::PAGES_DIR, 1, problems);
        self.walk_warnings = problems.clone();

        refresh(&root, &mut self.notices, &notice_files, |file| {
            load_notice(config, file, drafts)
        });
        refresh(&root, &mut self.pages, &page_files, |file| {
            let mut p = Vec::new();
            (page_loader::load_page(config, file, &mut p), p, 0)
        });

        let mut out_problems = Vec::new();
        let mut notices = Vec::with_capacity(notice_files.len());
        for f in &notice_files {
            if let Some(c) = self.notices.get(f) {
                out_problems.extend(c.problems.iter().cloned());
                notices.extend(c.value.clone());
            }
        }
        let mut pages = Vec::with_capacity(page_files.len());
        for f in &page_files {
            if let Some(c) = self.pages.get(f) {
                out_problems.extend(c.problems.iter().cloned());
                pages.extend(c.value.clone());
            }
        }
        let (mut notices, pages) = content::claim_addresses(notices, pages, &mut out_problems);
        content::sort_notices(&mut notices);
        (
            SiteContent {
                notices,
                pages,
                draft_files: Vec::new(),
            },
            out_problems,
        )
    }
}

/// Loads one notice file (`file` relative to the site root) for the cache.
pub(super) fn load_notice(
    config: &Config,
    file: &Path,
    include_drafts: bool,
) -> (Option<LoadedNotice>, Vec<Problem>, u64) {
    let mut p = Vec::new();
    match notice_loader::load_notice(config, file, include_drafts, &mut p) {
        notice_loader::Outcome::Loaded(n) => {
            let mut h = std::hash::DefaultHasher::new();
            // Front matter (`text`) and body: everything the notice's pages are made from.
            (file, &n.text, &n.notice.body_markdown).hash(&mut h);
            (Some(*n), p, h.finish())
        }
        _ => (None, p, 0),
    }
}

/// Brings `cache` in line with `files`: drops entries of deleted files and (re)loads, in
/// parallel, files that are new or whose size or modification time changed.
fn refresh<T: Send + Sync>(
    root: &Path,
    cache: &mut HashMap<PathBuf, Cached<T>>,
    files: &[PathBuf],
    load: impl Fn(&Path) -> (Option<T>, Vec<Problem>, u64) + Sync,
) {
    let present: std::collections::HashSet<&PathBuf> = files.iter().collect();
    cache.retain(|k, _| present.contains(k));
    let stale: Vec<(&PathBuf, Stamp)> = files
        .par_iter()
        .map(|f| (f, stamp(&root.join(f))))
        .filter(|(f, s)| cache.get(*f).is_none_or(|c| c.stamp != *s))
        .collect();
    let loaded: Vec<(PathBuf, Cached<T>)> = stale
        .into_par_iter()
        .map(|(f, stamp)| {
            let (value, problems, digest) = load(f);
            (
                f.clone(),
                Cached {
                    stamp,
                    value,
                    problems,
                    digest,
                },
            )
        })
        .collect();
    cache.extend(loaded);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("aushang.yaml"),
            "title: Teststadt\nbase_url: https://www.teststadt.example/\ncategories:\n  - id: verkehr\n    name: Verkehr\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("content/notices")).unwrap();
        std::fs::create_dir_all(root.join("content/pages")).unwrap();
        for (slug, title) in [("erste", "Erste Meldung"), ("zweite", "Zweite Meldung")] {
            write_notice(root, slug, title);
        }
        dir
    }

    fn write_notice(root: &Path, slug: &str, title: &str) {
        std::fs::write(
            root.join(format!("content/notices/2026-11-20-{slug}.md")),
            format!(
                "---\ntitle: {title}\ndate: 2026-11-20\nsummary: Kurz gesagt.\ncategory: verkehr\n---\nText.\n"
            ),
        )
        .unwrap();
    }

    fn workspace(root: &Path, out: &Path) -> Workspace {
        Workspace::new(Settings {
            root: root.to_path_buf(),
            out_dir: out.to_path_buf(),
            include_drafts: false,
            clock: Clock::Fixed("2026-11-28T12:00:00Z".parse().unwrap()),
        })
    }

    #[test]
    fn an_edit_rebuilds_only_what_changed_and_an_error_recovers() {
        let site = site();
        let out = tempfile::tempdir().unwrap();
        let mut ws = workspace(site.path(), out.path());
        let first = ws.rebuild(&[]);
        let report = first.result.as_ref().expect("builds");
        assert!(report.files_changed > 5, "{report:?}");
        assert_eq!(first.content.notices.len(), 2);

        let again = ws.rebuild(&[]);
        assert_eq!(again.result.as_ref().unwrap().files_changed, 0);
        assert!(!again.changed_output());

        let file = site.path().join("content/notices/2026-11-20-erste.md");
        write_notice(site.path(), "erste", "Erste Meldung, geändert");
        let edited = ws.rebuild(std::slice::from_ref(&file));
        assert!(edited.changed_output());
        let page =
            std::fs::read_to_string(out.path().join("bekanntmachungen/2026/erste/index.html"))
                .unwrap();
        assert!(page.contains("Erste Meldung, geändert"));
        // The other notice's page is not rewritten.
        assert!(edited.result.as_ref().unwrap().files_changed < report.files_changed);

        std::fs::write(&file, "---\ntitle: Kaputt\n---\n").unwrap();
        let broken = ws.rebuild(std::slice::from_ref(&file));
        let problems = broken.result.as_ref().expect_err("missing fields");
        assert!(
            problems
                .iter()
                .any(|p| p.file.ends_with("2026-11-20-erste.md") && p.line.is_some()),
            "{problems:?}"
        );
        // The last good output stays in place while the error is shown.
        assert!(
            out.path()
                .join("bekanntmachungen/2026/erste/index.html")
                .exists()
        );

        write_notice(site.path(), "erste", "Wieder heil");
        let fixed = ws.rebuild(std::slice::from_ref(&file));
        assert!(fixed.result.is_ok());
        assert_eq!(
            fixed
                .notice_at("/bekanntmachungen/2026/erste/")
                .map(|n| n.title.as_str()),
            Some("Wieder heil")
        );
    }

    #[test]
    fn a_changed_config_reloads_every_notice() {
        let site = site();
        let out = tempfile::tempdir().unwrap();
        let mut ws = workspace(site.path(), out.path());
        assert!(ws.rebuild(&[]).result.is_ok());
        // Without the category, every notice that uses it is now invalid.
        std::fs::write(
            site.path().join("aushang.yaml"),
            "title: Teststadt\nbase_url: https://www.teststadt.example/\n",
        )
        .unwrap();
        let snap = ws.rebuild(&[]);
        let problems = snap.result.expect_err("unknown category");
        assert_eq!(
            problems
                .iter()
                .filter(|p| p.message.contains("verkehr"))
                .count(),
            2,
            "{problems:?}"
        );
    }

    #[test]
    fn the_future_clock_publishes_scheduled_notices() {
        let site = site();
        std::fs::write(
            site.path().join("content/notices/2099-01-01-spaeter.md"),
            "---\ntitle: Später\ndate: 2099-01-01\nsummary: Kommt noch.\n---\nText.\n",
        )
        .unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut ws = workspace(site.path(), out.path());
        ws.settings.clock = Clock::Future;
        let snap = ws.rebuild(&[]);
        assert!(snap.result.is_ok(), "{:?}", snap.result);
        assert!(
            out.path()
                .join("bekanntmachungen/2099/spaeter/index.html")
                .exists()
        );
        ws.settings.clock = Clock::Real;
        ws.rebuild(&[]);
        assert!(
            !out.path()
                .join("bekanntmachungen/2099/spaeter/index.html")
                .exists()
        );
    }
}
