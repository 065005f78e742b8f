//! The preview's copy of the site: content cached per file, so that a rebuild after an edit
//! re-reads only the files that changed, and one rebuild into the preview folder.
//!
//! Loading goes through the same per-file loaders and address checks as `aushang build`, so the
//! preview shows exactly the problems a build would report. Unchanged output files are not
//! rewritten (the site renderer compares before it writes).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rayon::prelude::*;

use crate::config::{self, Config};
use crate::content::notice_loader::{self, LoadedNotice};
use crate::content::page_loader::{self, LoadedPage};
use crate::content::{self, Notice, SiteContent};
use crate::diagnostics::Problem;
use crate::serve::changes::{Stamp, stamp};
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
    /// Where the quick path renders single notices (an empty or aushang-made folder).
    pub scratch_dir: PathBuf,
    pub include_drafts: bool,
    pub clock: Clock,
}

/// The state of the site after one rebuild, shared with the web server.
pub struct Snapshot {
    /// `None` when aushang.yaml itself has errors.
    pub config: Option<Arc<Config>>,
    /// Everything that loaded, also when the build failed (the broadcast preview still works for
    /// the notices without errors).
    pub content: Arc<SiteContent>,
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
        self.content.notices.iter().find(|n| n.path == path)
    }
}

struct Cached<T> {
    stamp: Stamp,
    value: Option<T>,
    problems: Vec<Problem>,
}

/// The preview's site: settings plus what was loaded last time.
pub struct Workspace {
    settings: Settings,
    /// The text of aushang.yaml and the config parsed from it; any change reloads all content,
    /// since categories and limits decide what is valid.
    config: Option<(Vec<u8>, Arc<Config>)>,
    notices: HashMap<PathBuf, Cached<LoadedNotice>>,
    pages: HashMap<PathBuf, Cached<LoadedPage>>,
    /// The instant of the last full rebuild (the quick path uses it for [`Clock::Future`]).
    last_now: Option<Timestamp>,
}

impl Workspace {
    pub fn new(settings: Settings) -> Self {
        Workspace {
            settings,
            config: None,
            notices: HashMap::new(),
            pages: HashMap::new(),
            last_now: None,
        }
    }

    /// The quick path after an edit of existing notices: renders just their own pages (a notice
    /// page depends only on its notice, the configuration and the theme) and puts them into the
    /// preview folder, so an open page can show the edit before the full rebuild (lists, feeds,
    /// sitemap) is done. Returns the site paths of the pages that changed, or `None` when the
    /// change is not of that kind (new, moved, broken or hidden notices; any other file) and only
    /// the full rebuild can tell.
    ///
    /// The full rebuild follows in any case and writes the same bytes, so if a theme ever made
    /// notice pages depend on other notices, the preview would still end up right.
    pub fn quick_pages(&mut self, changed: &[PathBuf]) -> Option<Vec<String>> {
        let config = self.config.as_ref()?.1.clone();
        let root = &self.settings.root;
        let notices_dir = root.join(content::NOTICES_DIR);
        let mut notices = Vec::with_capacity(changed.len());
        for path in changed {
            let rel = path.strip_prefix(root).ok()?;
            if !path.starts_with(&notices_dir) || path.extension()? != "md" {
                return None;
            }
            let before = self.notices.get(rel)?.value.as_ref()?;
            let mut problems = Vec::new();
            let notice_loader::Outcome::Loaded(now) = notice_loader::load_notice(
                &config,
                rel,
                self.settings.include_drafts,
                &mut problems,
            ) else {
                return None;
            };
            if problems.iter().any(Problem::is_error)
                || now.notice.path != before.notice.path
                || now.notice.aliases != before.notice.aliases
            {
                return None;
            }
            notices.push(now.notice);
        }
        let now = match self.settings.clock {
            Clock::Real => Timestamp::now(),
            Clock::Fixed(t) => t,
            Clock::Future => self.last_now?,
        };
        if notices.is_empty() || notices.iter().any(|n| n.published_at() > now) {
            return None;
        }
        let scratch = self.settings.scratch_dir.clone();
        let opts = BuildOptions {
            out_dir: scratch.clone(),
            now,
            include_drafts: self.settings.include_drafts,
        };
        site::build_site(&config, &notices, &[], &opts).ok()?;
        let mut written = Vec::new();
        for n in &notices {
            let file = site::output::file_for_path(&n.path)?;
            let bytes = std::fs::read(scratch.join(&file)).ok()?;
            if site::output::write_if_changed(&self.settings.out_dir.join(&file), &bytes).ok()? {
                written.push(n.path.clone());
            }
        }
        Some(written)
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Reloads what changed (`changed`: absolute paths reported by the watcher; files whose size
    /// or modification time changed are reloaded as well) and builds the site.
    pub fn rebuild(&mut self, changed: &[PathBuf]) -> Snapshot {
        let started = Instant::now();
        let config = match self.load_config() {
            Ok(c) => c,
            Err(problems) => {
                return Snapshot {
                    config: None,
                    content: Arc::new(SiteContent::default()),
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
        let now = match self.settings.clock {
            Clock::Real => Timestamp::now(),
            Clock::Fixed(t) => t,
            Clock::Future => content
                .notices
                .iter()
                .map(Notice::published_at)
                .max()
                .map_or_else(Timestamp::now, |latest| latest.max(Timestamp::now())),
        };
        self.last_now = Some(now);
        let content = Arc::new(content);
        let (errors, warnings): (Vec<Problem>, Vec<Problem>) =
            problems.into_iter().partition(Problem::is_error);
        let result = if errors.is_empty() {
            let opts = BuildOptions {
                out_dir: self.settings.out_dir.clone(),
                now,
                include_drafts: self.settings.include_drafts,
            };
            match site::build(&config, &content, &opts) {
                Ok(report) => Ok(report),
                Err(BuildError::Problems(p)) => Err(p),
                Err(BuildError::Output(e)) => {
                    Err(vec![Problem::error(&self.settings.out_dir, e.to_string())])
                }
            }
        } else {
            Err(errors)
        };
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

        refresh(&root, &mut self.notices, &notice_files, |file| {
            let mut p = Vec::new();
            let value = match notice_loader::load_notice(config, file, drafts, &mut p) {
                notice_loader::Outcome::Loaded(n) => Some(*n),
                _ => None,
            };
            (value, p)
        });
        refresh(&root, &mut self.pages, &page_files, |file| {
            let mut p = Vec::new();
            (page_loader::load_page(config, file, &mut p), p)
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
        notices.sort_by(|a, b| {
            b.published_at()
                .cmp(&a.published_at())
                .then_with(|| a.path.cmp(&b.path))
        });
        (SiteContent { notices, pages }, out_problems)
    }
}

/// Brings `cache` in line with `files`: drops entries of deleted files and (re)loads, in
/// parallel, files that are new or whose size or modification time changed.
fn refresh<T: Send + Sync>(
    root: &Path,
    cache: &mut HashMap<PathBuf, Cached<T>>,
    files: &[PathBuf],
    load: impl Fn(&Path) -> (Option<T>, Vec<Problem>) + Sync,
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
            let (value, problems) = load(f);
            (
                f.clone(),
                Cached {
                    stamp,
                    value,
                    problems,
                },
            )
        })
        .collect();
    cache.extend(loaded);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::changes::OutputIndex;

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
            // Inside the temporary site, so it goes with it.
            scratch_dir: root.join("quick-scratch"),
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
    fn the_quick_path_renders_the_edited_notice_page_exactly_as_the_full_build() {
        let site = site();
        let out = tempfile::tempdir().unwrap();
        let mut ws = workspace(site.path(), out.path());
        let mut index = OutputIndex::default();
        ws.rebuild(&[]);
        index.update(out.path());
        let file = site.path().join("content/notices/2026-11-20-erste.md");
        write_notice(site.path(), "erste", "Schnell geändert");
        let quick = ws
            .quick_pages(std::slice::from_ref(&file))
            .expect("quick path applies");
        assert_eq!(quick, ["/bekanntmachungen/2026/erste/"]);
        let page = out.path().join("bekanntmachungen/2026/erste/index.html");
        let quick_bytes = std::fs::read(&page).unwrap();
        assert!(String::from_utf8_lossy(&quick_bytes).contains("<h1>Schnell geändert</h1>"));
        // Only that page changed so far; the list pages follow with the full rebuild.
        assert_eq!(index.update(out.path()), quick);
        index.update_files(out.path(), &quick);
        let full = ws.rebuild(std::slice::from_ref(&file));
        assert!(full.result.is_ok());
        assert_eq!(
            std::fs::read(&page).unwrap(),
            quick_bytes,
            "same bytes as the full build"
        );
        let after_full = index.update(out.path());
        assert!(after_full.contains(&"/".to_string()), "{after_full:?}");
        assert!(!after_full.contains(&quick[0]), "{after_full:?}");

        // Not for anything else: a new notice, a broken one, the configuration.
        write_notice(site.path(), "dritte", "Neu");
        let new = site.path().join("content/notices/2026-11-20-dritte.md");
        assert_eq!(ws.quick_pages(std::slice::from_ref(&new)), None);
        std::fs::write(&file, "---\ntitle: Kaputt\n---\n").unwrap();
        assert_eq!(ws.quick_pages(std::slice::from_ref(&file)), None);
        assert_eq!(ws.quick_pages(&[site.path().join("aushang.yaml")]), None);
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
