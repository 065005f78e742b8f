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
        let opts = BuildOptions {
            out_dir: ws.settings.out_dir.clone(),
            now,
            include_drafts: ws.settings.include_drafts,
        };
        let planned = PlannedSite::new(
            config,
            content.notices.iter().map(|n| &**n),
            &content.pages,
            &opts,
        );
        if !planned.problems().is_empty() {
            return None;
        }
        let signatures = planned.signatures(|n| ws.digest(n));
        // Compiled now, while nobody waits, rather than at the first edit.
        let theme = Theme::load(config)
            .ok()
            .map(|t| site::prepare_theme(config, t));
        let files = signatures
            .into_iter()
            .enumerate()
            .map(|(i, sig)| (planned.file(i).0.to_string(), sig))
            .collect();
        Some(Built {
            config: config.clone(),
            content: content.clone(),
            files,
            report: report.clone(),
            theme,
        })
    }
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
        let opts = BuildOptions {
            out_dir: self.settings.out_dir.clone(),
            now,
            include_drafts: self.settings.include_drafts,
        };
        let planned = PlannedSite::new(
            config,
            content.notices.iter().map(|n| &**n),
            &content.pages,
            &opts,
        );
        if !planned.problems().is_empty() {
            return None;
        }
        let signatures = planned.signatures(|n| self.digest(n));
        tracing::debug!(
            us = started.elapsed().as_micros(),
            "partial: planned and signed"
        );
        let built = self.built.as_mut()?;
        let dirty = dirty_files(&planned, &signatures, &built.files, &config.root)?;
        let planned_in = started.elapsed() - loaded;
        tracing::debug!(
            us = started.elapsed().as_micros(),
            render = dirty.render.len(),
            removed = dirty.removed.len(),
            "partial: compared"
        );

        if built.theme.is_none() {
            let theme = Theme::load(config).ok()?;
            built.theme = Some(site::prepare_theme(config, theme));
        }
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
                remove_empty_parents(out, &target);
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

/// Removes the folders a deleted page leaves empty, up to (not including) `out`.
fn remove_empty_parents(out: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == out || !d.starts_with(out) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::serve::rebuild::{Clock, Settings};

    const NOW: &str = "2026-11-28T12:00:00Z";

    /// Three notices per page, two categories, two years: every edit below moves something
    /// across a page boundary somewhere.
    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("aushang.yaml"),
            "title: Teststadt\nbase_url: https://www.teststadt.example/\nnotices_per_page: 3\n\
             categories:\n  - id: verkehr\n    name: Verkehr\n  - id: abfall\n    name: Abfall\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("content/pages")).unwrap();
        std::fs::write(
            root.join("content/pages/impressum.md"),
            "---\ntitle: Impressum\n---\nWer wir sind.\n",
        )
        .unwrap();
        for i in 0..14 {
            let year = if i < 9 { 2026 } else { 2025 };
            let category = if i % 3 == 0 { "abfall" } else { "verkehr" };
            let extra = match i {
                2 => "urgent: true\n",
                5 => "expires: 2026-11-01\n",
                7 => "aliases: [/alt/sieben/]\n",
                _ => "",
            };
            write(
                root,
                &format!("{year}/{year}-{:02}-10-meldung-{i}.md", 11 - (i % 9)),
                &format!(
                    "---\ntitle: Meldung {i}\ndate: {year}-{:02}-10\nsummary: Kurz gesagt {i}.\n\
                     category: {category}\n{extra}---\nText {i}.\n",
                    11 - (i % 9)
                ),
            );
        }
        dir
    }

    fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
        let file = root.join("content/notices").join(rel);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        file
    }

    fn edit(file: &Path, from: &str, to: &str) {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.contains(from), "{text}");
        std::fs::write(file, text.replacen(from, to, 1)).unwrap();
    }

    fn workspace(root: &Path, out: &Path) -> Workspace {
        Workspace::new(Settings {
            root: root.canonicalize().unwrap(),
            out_dir: out.to_path_buf(),
            include_drafts: false,
            clock: Clock::Fixed(NOW.parse().unwrap()),
        })
    }

    /// What `aushang build` writes for the site now, file by file.
    fn full_build(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let out = tempfile::tempdir().unwrap();
        let config = crate::config::load(root).unwrap();
        let (content, problems) = content::load(&config, &content::LoadOptions::default());
        assert!(!problems.iter().any(Problem::is_error), "{problems:?}");
        let opts = BuildOptions {
            out_dir: out.path().to_path_buf(),
            now: NOW.parse().unwrap(),
            include_drafts: false,
        };
        site::build(&config, &content, &opts).unwrap();
        tree(out.path())
    }

    fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        walkdir::WalkDir::new(dir)
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
                (rel, std::fs::read(e.path()).unwrap())
            })
            .collect()
    }

    fn assert_same_as_full_build(what: &str, out: &Path, root: &Path) {
        let partial = tree(out);
        let full = full_build(root);
        let only_partial: Vec<_> = partial.keys().filter(|k| !full.contains_key(*k)).collect();
        let only_full: Vec<_> = full.keys().filter(|k| !partial.contains_key(*k)).collect();
        assert!(
            only_partial.is_empty() && only_full.is_empty(),
            "{what}: only in the preview {only_partial:?}, only in the build {only_full:?}"
        );
        for (file, bytes) in &full {
            assert!(
                partial[file] == *bytes,
                "{what}: {} differs from the full build",
                file.display()
            );
        }
    }

    #[test]
    fn every_kind_of_notice_edit_gives_the_bytes_of_a_full_build() {
        let site = site();
        let root = site.path().canonicalize().unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut ws = workspace(&root, out.path());
        let first = ws.rebuild(&[]);
        assert!(first.result.is_ok(), "{:?}", first.result);
        let total = first.result.as_ref().unwrap().pages_written;
        assert_same_as_full_build("first build", out.path(), &root);

        let n = |i: usize| {
            let year = if i < 9 { 2026 } else { 2025 };
            root.join(format!(
                "content/notices/{year}/{year}-{:02}-10-meldung-{i}.md",
                11 - (i % 9)
            ))
        };
        let mut step = |what: &str, changed: Vec<PathBuf>, max_rendered: usize| {
            let done = ws
                .partial(&changed)
                .unwrap_or_else(|| panic!("{what}: the partial rebuild applies"));
            assert!(
                done.rendered <= max_rendered && done.rendered < total,
                "{what}: {} of {total} files rendered",
                done.rendered
            );
            assert!(!done.changed.is_empty(), "{what}: nothing changed");
            assert_same_as_full_build(what, out.path(), &root);
            done
        };

        edit(&n(4), "Kurz gesagt 4.", "Ganz anders gesagt.");
        let done = step("summary", vec![n(4)], 8);
        // Its page, the list pages it is on (front, category, year), the feeds; not the others.
        let front_page = |p: &String| p == "/" || p.starts_with("/seite/");
        assert_eq!(
            done.changed.iter().filter(|p| front_page(p)).count(),
            1,
            "{:?}",
            done.changed
        );
        assert!(
            done.changed.iter().any(|p| p.contains("meldung-4")),
            "{:?}",
            done.changed
        );
        assert!(
            !done.changed.iter().any(|p| p.contains("meldung-3")),
            "{:?}",
            done.changed
        );
        assert_eq!(
            done.snapshot
                .content
                .notices
                .iter()
                .find(|x| x.slug == "meldung-4")
                .map(|x| x.summary.as_str()),
            Some("Ganz anders gesagt.")
        );

        edit(&n(1), "Text 1.", "Nur der Text ist neu.");
        let body = step("body only", vec![n(1)], 8);
        assert!(
            !body.changed.iter().any(front_page),
            "lists show no bodies: {:?}",
            body.changed
        );

        edit(&n(3), "title: Meldung 3", "title: Meldung drei");
        step("title", vec![n(3)], 12);
        edit(&n(0), "date: 2026-11-10", "date: 2026-04-01");
        step("date across page boundaries", vec![n(0)], 40);
        edit(&n(4), "category: verkehr", "category: abfall");
        step("category", vec![n(4)], 40);
        edit(
            &n(6),
            "category: abfall\n",
            "category: abfall\nurgent: true\n",
        );
        step("urgent", vec![n(6)], 40);
        let new = write(
            &root,
            "2026/2026-11-20-neu.md",
            "---\ntitle: Neu\ndate: 2026-11-20\nsummary: Ganz neu.\ncategory: verkehr\n---\nNeu.\n",
        );
        step("new notice", vec![new.clone()], 40);
        std::fs::remove_file(n(8)).unwrap();
        step("deleted notice", vec![n(8)], 40);
        let renamed = root.join("content/notices/2026/2026-05-10-umbenannt.md");
        std::fs::rename(n(2), &renamed).unwrap();
        let done = step("renamed file", vec![n(2), renamed.clone()], 40);
        assert!(
            done.changed.iter().any(|p| p.contains("meldung-2")),
            "the old page is deleted: {:?}",
            done.changed
        );
        edit(&n(7), "aliases: [/alt/sieben/]", "aliases: [/alt/7/]");
        step("alias", vec![n(7)], 40);
        edit(
            &n(1),
            "category: verkehr\n",
            "category: verkehr\nexpires: 2026-11-20\n",
        );
        step("expired", vec![n(1)], 40);
        edit(&new, "title: Neu\n", "title: Neu\ndraft: true\n");
        step("draft", vec![new.clone()], 40);
        edit(&n(9), "date: 2025-11-10", "date: 2024-11-10");
        step("another year", vec![n(9)], 40);
    }

    #[test]
    fn anything_but_a_valid_notice_edit_needs_the_full_rebuild() {
        let site = site();
        let root = site.path().canonicalize().unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut ws = workspace(&root, out.path());
        assert!(ws.partial(&[]).is_none(), "nothing built yet");
        assert!(ws.rebuild(&[]).result.is_ok());
        let notice = root.join("content/notices/2026/2026-11-10-meldung-0.md");

        assert!(ws.partial(&[root.join("aushang.yaml")]).is_none());
        assert!(
            ws.partial(&[root.join("content/pages/impressum.md")])
                .is_none()
        );
        assert!(ws.partial(&[root.join("static/x.css")]).is_none());
        // A second notice at the same address: the full build names both files.
        let twin = write(
            &root,
            "2026/2026-11-11-meldung-0.md",
            "---\ntitle: Zwilling\ndate: 2026-11-10\nsummary: Doppelt.\n---\nText.\n",
        );
        assert!(ws.partial(std::slice::from_ref(&twin)).is_none());
        std::fs::remove_file(&twin).unwrap();
        assert!(ws.rebuild(std::slice::from_ref(&twin)).result.is_ok());
        // An error in the notice.
        edit(&notice, "title: ", "titel: ");
        assert!(ws.partial(std::slice::from_ref(&notice)).is_none());
        let broken = ws.rebuild(std::slice::from_ref(&notice));
        assert!(broken.result.is_err());
        // After a failed build only a full rebuild can recover.
        edit(&notice, "titel: ", "title: ");
        assert!(ws.partial(std::slice::from_ref(&notice)).is_none());
        assert!(ws.rebuild(std::slice::from_ref(&notice)).result.is_ok());
        edit(&notice, "Text 0.", "Text null.");
        assert!(ws.partial(std::slice::from_ref(&notice)).is_some());
    }
}
