//! Partial rebuilds after edits of notices: only the files whose output can change are rendered
//! and written.
//!
//! Each planned file has a signature: a hash of every input it is rendered from apart from the
//! configuration, the theme and `static/` (`site::PlannedSite::signatures`). After an edit of
//! notices (and nothing else) the site is planned again, and exactly the files whose signature
//! changed are rendered: the notice's page, the list pages whose entries changed (all following
//! pages when the order moved), the feeds that carry it, the archive index, the sitemap, alias
//! redirects. Files no longer planned are deleted. Any other change, and anything a full build
//! would report as a problem, falls back to the full rebuild, which also runs as a safety net
//! when the editor pauses and writes the same bytes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rayon::prelude::*;

use crate::config::Config;
use crate::content::{self, Notice};
use crate::diagnostics::Problem;
use crate::serve::changes::stamp;
use crate::serve::rebuild::{Cached, Content, Snapshot, Workspace, load_notice};
use crate::site::{self, BuildOptions, BuildReport, PlannedSite, Theme};

/// What the last successful build wrote.
pub struct Built {
    config: Arc<Config>,
    content: Arc<Content>,
    /// Site path → signature of every planned file.
    files: HashMap<String, u64>,
    report: BuildReport,
    /// Compiled after the full build; valid until the next full one (templates and
    /// configuration only change through a full rebuild).
    theme: Option<Theme>,
    /// Files under `static/` the build left out because only notices that are not public use
    /// them; an edit that changes this set needs the full rebuild (which copies `static/`).
    withheld: HashSet<String>,
}

/// What a partial rebuild did.
pub struct Partial {
    pub snapshot: Snapshot,
    /// Site paths of files rewritten or deleted.
    pub changed: Vec<String>,
    /// How many files were rendered (rewritten or found unchanged).
    pub rendered: usize,
    /// Time spent, by phase.
    pub phases: Phases,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    /// Loading the edited files and putting the new content together.
    pub load: Duration,
    /// Planning every file of the site and comparing signatures.
    pub plan: Duration,
    /// Rendering and writing the files whose signature changed, deleting the ones gone.
    pub render: Duration,
}

impl Built {
    /// The baseline after a successful full build of `content` at `now`.
    pub(super) fn after_full_build(
        ws: &Workspace,
        config: &Arc<Config>,
        content: &Arc<Content>,
        now: Timestamp,
        report: &BuildReport,
    ) -> Option<Built> {
        let opts = ws.build_options(now);
        let (planned, signatures) = plan_and_sign(ws, config, content, &opts)?;
        // Compiled now, while nobody waits, rather than at the first edit.
        let theme = Theme::load(config)
            .ok()
            .map(|t| site::prepare_theme(config, t));
        let files = signatures
            .into_iter()
            .enumerate()
            .map(|(i, sig)| (planned.file(i).0.to_string(), sig))
            .collect();
        let withheld = withheld_of(content, theme.as_ref(), &opts);
        Some(Built {
            config: config.clone(),
            content: content.clone(),
            files,
            report: report.clone(),
            theme,
            withheld,
        })
    }
}

/// What [`site::statics::withheld`] says for `content` at `opts.now`.
fn withheld_of(content: &Content, theme: Option<&Theme>, opts: &BuildOptions) -> HashSet<String> {
    site::statics::withheld(
        content.notices.iter().map(|n| &**n),
        &[],
        &content.pages,
        theme,
        opts.now,
        opts.include_drafts,
    )
}

/// Every file of the site at `opts.now` with its signature; `None` when planning finds a problem
/// (only the full rebuild reports those).
fn plan_and_sign<'a>(
    ws: &Workspace,
    config: &'a Config,
    content: &'a Content,
    opts: &'a BuildOptions,
) -> Option<(PlannedSite<'a>, Vec<u64>)> {
    let planned = PlannedSite::new(
        config,
        content.notices.iter().map(|n| &**n),
        &content.pages,
        opts,
    );
    if !planned.problems().is_empty() {
        return None;
    }
    let signatures = planned.signatures(|n| ws.digest(n));
    Some((planned, signatures))
}

/// The files a partial rebuild renders and deletes.
struct Dirty {
    /// Plan indices with their new signature.
    render: Vec<(usize, u64)>,
    /// Site paths no longer planned.
    removed: Vec<String>,
}

impl Workspace {
    fn digest(&self, n: &Notice) -> u64 {
        self.notices.get(&n.source).map_or(0, |c| c.digest)
    }

    /// Rebuilds after `changed` (absolute paths from the watcher) by rendering only the files
    /// that depend on them. `None` when the change is not only to notices, when the last build
    /// failed, or when a full build would report a problem: then only the full rebuild can tell.
    pub fn partial(&mut self, changed: &[PathBuf]) -> Option<Partial> {
        let started = Instant::now();
        let built = self.built.as_ref()?;
        let config = built.config.clone();
        let edited = self.load_edited(&config, changed)?;

        // The new content: the last one with the edited notices replaced (the others shared).
        let edited_files: HashSet<&Path> = edited.iter().map(|(f, _)| f.as_path()).collect();
        let mut notices: Vec<Arc<Notice>> = built
            .content
            .notices
            .iter()
            .filter(|n| !edited_files.contains(n.source.as_path()))
            .cloned()
            .collect();
        notices.extend(
            edited
                .iter()
                .filter_map(|(_, c)| c.as_ref()?.value.as_ref())
                .map(|l| Arc::new(l.notice.clone())),
        );
        let pages = built.content.pages.clone();
        if !addresses_unique(&notices, &pages) {
            return None;
        }
        notices.sort_by(|a, b| {
            b.published_at()
                .cmp(&a.published_at())
                .then_with(|| a.path.cmp(&b.path))
        });
        let content = Arc::new(Content { notices, pages });
        // From here on the cache holds the edited files, whatever the outcome: a full rebuild
        // after a fallback reloads them only if they change again.
        for (file, cached) in edited {
            match cached {
                Some(c) => self.notices.insert(file, c),
                None => self.notices.remove(&file),
            };
        }
        let outcome = self.write_dependents(&config, content, started);
        if outcome.is_none() {
            // Part of the output may be new: only a full rebuild knows the state again.
            self.built = None;
        }
        outcome
    }

    /// The cache entries of the edited notice files (`None`: deleted), or `None` when `changed`
    /// holds anything else or a notice with errors.
    fn load_edited(
        &self,
        config: &Config,
        changed: &[PathBuf],
    ) -> Option<
        Vec<(
            PathBuf,
            Option<Cached<content::notice_loader::LoadedNotice>>,
        )>,
    > {
        let root = &self.settings.root;
        let notices_dir = Path::new(content::NOTICES_DIR);
        let mut edited = Vec::new();
        for path in changed {
            let rel = path.strip_prefix(root).ok()?;
            let hidden = rel
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
            if !rel.starts_with(notices_dir) || hidden || path.extension()? != "md" {
                return None;
            }
            match std::fs::metadata(path) {
                Ok(m) if m.is_file() => {
                    let (value, problems, digest) =
                        load_notice(config, rel, self.settings.include_drafts);
                    if problems.iter().any(Problem::is_error) {
                        return None;
                    }
                    let cached = Cached {
                        stamp: stamp(path),
                        value,
                        problems,
                        digest,
                    };
                    edited.push((rel.to_path_buf(), Some(cached)));
                }
                Ok(_) => return None,
                Err(_) if self.notices.contains_key(rel) => edited.push((rel.to_path_buf(), None)),
                // A file that came and went between two looks (an editor's temporary file).
                Err(_) => {}
            }
        }
        (!edited.is_empty()).then_some(edited)
    }

    /// Plans the site for `content`, renders and writes the files whose signature changed and
    /// deletes the ones no longer planned.
    fn write_dependents(
        &mut self,
        config: &Arc<Config>,
        content: Arc<Content>,
        started: Instant,
    ) -> Option<Partial> {
        let loaded = started.elapsed();
        tracing::debug!(us = loaded.as_micros(), "partial: content assembled");
        let now = self.now_for(content.notices.iter().map(|n| &**n));
        let opts = self.build_options(now);
        let (planned, signatures) = plan_and_sign(self, config, &content, &opts)?;
        tracing::debug!(
            us = started.elapsed().as_micros(),
            "partial: planned and signed"
        );
        let built = self.built.as_mut()?;
        if built.theme.is_none() {
            let theme = Theme::load(config).ok()?;
            built.theme = Some(site::prepare_theme(config, theme));
        }
        // A scheduled notice or draft whose files become public (or the other way round).
        if withheld_of(&content, built.theme.as_ref(), &opts) != built.withheld {
            return None;
        }
        let dirty = dirty_files(&planned, &signatures, &built.files, &config.root)?;
        let planned_in = started.elapsed() - loaded;
        tracing::debug!(
            us = started.elapsed().as_micros(),
            render = dirty.render.len(),
            removed = dirty.removed.len(),
            "partial: compared"
        );

        let theme = built.theme.as_ref()?;
        let out = &self.settings.out_dir;
        let (render_us, write_us) = (AtomicU64::new(0), AtomicU64::new(0));
        let written: Vec<Option<bool>> = dirty
            .render
            .par_iter()
            .map(|&(i, _)| {
                let t = Instant::now();
                let bytes = planned.render(theme, i).ok();
                let rendered = t.elapsed();
                let w = site::output::write_if_changed(&out.join(planned.file(i).1), &bytes?).ok();
                render_us.fetch_add(rendered.as_micros() as u64, Ordering::Relaxed);
                tracing::trace!(
                    path = planned.file(i).0,
                    render_us = rendered.as_micros(),
                    "partial: rendered"
                );
                write_us.fetch_add(
                    (t.elapsed() - rendered).as_micros() as u64,
                    Ordering::Relaxed,
                );
                w
            })
            .collect();
        tracing::debug!(
            render_us = render_us.into_inner(),
            write_us = write_us.into_inner(),
            "partial: rendered and written (time summed over threads)"
        );
        let mut changed = Vec::new();
        for (&(i, sig), w) in dirty.render.iter().zip(written) {
            // A page that cannot be rendered or written: the full build reports why.
            if w? {
                changed.push(planned.file(i).0.to_string());
            }
            built.files.insert(planned.file(i).0.to_string(), sig);
        }
        let files_changed = changed.len();
        for path in &dirty.removed {
            built.files.remove(path);
            let Some(file) = site::output::file_for_path(path) else {
                continue;
            };
            let target = out.join(file);
            if std::fs::remove_file(&target).is_ok() {
                crate::site::remove_empty_parents(out, &target);
                changed.push(path.clone());
            }
        }
        changed.sort();

        let report = BuildReport {
            pages_written: planned.len() + 1,
            files_changed,
            notices_published: planned.notices_published(),
            notices_current: planned.notices_current(),
            static_files: built.report.static_files,
            stale_removed: dirty.removed.len(),
        };
        drop(planned);
        built.content = content.clone();
        built.report = report.clone();
        let render_in = started.elapsed() - loaded - planned_in;
        Some(Partial {
            snapshot: Snapshot {
                config: Some(config.clone()),
                content,
                now,
                result: Ok(report),
                warnings: self.warnings(),
                took: started.elapsed(),
            },
            changed,
            rendered: dirty.render.len(),
            phases: Phases {
                load: loaded,
                plan: planned_in,
                render: render_in,
            },
        })
    }

    /// The warnings a full rebuild would show now, in the same order.
    fn warnings(&self) -> Vec<Problem> {
        let mut out = self.walk_warnings.clone();
        let mut with: Vec<(&PathBuf, &Vec<Problem>)> = self
            .notices
            .iter()
            .filter(|(_, c)| !c.problems.is_empty())
            .map(|(f, c)| (f, &c.problems))
            .collect();
        with.sort_by_key(|(f, _)| *f);
        let mut pages: Vec<(&PathBuf, &Vec<Problem>)> = self
            .pages
            .iter()
            .filter(|(_, c)| !c.problems.is_empty())
            .map(|(f, c)| (f, &c.problems))
            .collect();
        pages.sort_by_key(|(f, _)| *f);
        for (_, p) in with.into_iter().chain(pages) {
            out.extend(p.iter().cloned());
        }
        out
    }
}

/// The files whose signature differs from the last build's, and the ones no longer planned;
/// `None` when a new file would take the address of a static file (the full build reports it).
fn dirty_files(
    planned: &PlannedSite,
    signatures: &[u64],
    before: &HashMap<String, u64>,
    root: &Path,
) -> Option<Dirty> {
    let static_dir = root.join("static");
    let mut render = Vec::new();
    let mut kept = 0;
    for (i, &sig) in signatures.iter().enumerate() {
        let (path, file) = planned.file(i);
        match before.get(path) {
            Some(&old) => {
                kept += 1;
                if old != sig {
                    render.push((i, sig));
                }
            }
            None if static_dir.join(file).exists() => return None,
            None => render.push((i, sig)),
        }
    }
    let removed = if kept < before.len() {
        let planned_paths: HashSet<&str> = (0..planned.len()).map(|i| planned.file(i).0).collect();
        before
            .keys()
            .filter(|p| !planned_paths.contains(p.as_str()))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    Some(Dirty { render, removed })
}

/// Whether no two notices or pages claim one address (else the full build names both files).
fn addresses_unique(notices: &[Arc<Notice>], pages: &[content::Page]) -> bool {
    let mut seen: HashSet<&str> =
        HashSet::with_capacity(notices.len() + notices.len() / 4 + pages.len());
    let addresses = notices
        .iter()
        .flat_map(|n| std::iter::once(&n.path).chain(&n.aliases))
        .chain(pages.iter().map(|p| &p.path));
    for a in addresses {
        if !seen.insert(a.as_str()) {
            return false;
        }
    }
    true
}

#[cfg(test)]
#[path = "incremental_tests.rs"]
mod tests;
