//! The notice website: which pages exist at a given instant, and rendering them with the theme.
//!
//! URL scheme (stable; documented in the README):
//! `/` and `/seite/N/` current notices, urgent first · `/bekanntmachungen/<year>/<slug>/` one page
//! per notice (expired ones stay) · `/kategorie/<id>/` (+ `seite/N/`, `atom.xml`) · `/archiv/`,
//! `/archiv/<year>/` (+ `seite/N/`) every published notice · standing pages at their own path ·
//! `/atom.xml`, `/sitemap.xml`, `/robots.txt`, `/404.html`, `/style.<hash>.css`, and a redirect page
//! at every alias.
//!
//! Everything is planned first (paths, pagination as index slices, sitemap), then rendered in
//! parallel with one shared compiled theme; each page's context holds only its own data.

pub mod dates;
pub mod output;
mod plan;
mod render;
mod samples;
pub mod theme;
pub mod view;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rayon::prelude::*;

use crate::config::Config;
use crate::content::{Notice, Page, SiteContent};
use crate::diagnostics::Problem;

pub use output::OutputError;
pub use theme::Theme;

/// How many notices a feed carries at most (newest first): feeds are for news, the archive is
/// for history, and a 10,000-entry feed would be megabytes every reader polls.
pub const FEED_LIMIT: usize = 50;

/// What to build, where, and as of which instant.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub out_dir: PathBuf,
    /// Decides which notices are published, scheduled or expired.
    pub now: Timestamp,
    /// Show drafts (marked as such and `noindex`), for previews.
    pub include_drafts: bool,
}

/// What a build did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// Files rendered from templates (pages, feeds, sitemap, robots.txt, redirects, CSS).
    pub pages_written: usize,
    /// Of those, files whose content changed and were rewritten.
    pub files_changed: usize,
    /// Notices with a page (published at `now`, expired included).
    pub notices_published: usize,
    /// Notices on the front page and in feeds.
    pub notices_current: usize,
    pub static_files: usize,
    /// Files from an earlier build that no longer belong to the site.
    pub stale_removed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Template errors, path collisions, missing attachments: each with its file.
    #[error("the site cannot be built:\n{}", crate::diagnostics::render(.0, crate::diagnostics::Format::Human))]
    Problems(Vec<Problem>),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Renders the whole site into `opts.out_dir`.
pub fn build(
    config: &Config,
    content: &SiteContent,
    opts: &BuildOptions,
) -> Result<BuildReport, BuildError> {
    build_site(config, &content.notices, &content.pages, opts)
}

/// [`build`] for notices and pages that did not come from the loader (tests, generators).
pub fn build_site(
    config: &Config,
    notices: &[Notice],
    pages: &[Page],
    opts: &BuildOptions,
) -> Result<BuildReport, BuildError> {
    let theme = Theme::load(config).map_err(BuildError::Problems)?;
    build_with_theme(config, notices, pages, opts, theme)
}

/// Like [`build_site`], with a theme compiled earlier (a preview server keeps one between rebuilds).
pub fn build_with_theme(
    config: &Config,
    notices: &[Notice],
    pages: &[Page],
    opts: &BuildOptions,
    mut theme: Theme,
) -> Result<BuildReport, BuildError> {
    let started = std::time::Instant::now();
    let css_path = install_site_view(config, &mut theme);
    let site = plan::Site::new(config, notices, pages, opts);
    let plan = site.plan();
    tracing::debug!(
        jobs = plan.jobs.len(),
        ms = started.elapsed().as_millis(),
        "site planned"
    );
    let mut problems = plan.problems.clone();
    let static_files = static_files(config, &plan, &mut problems);
    if !problems.is_empty() {
        return Err(BuildError::Problems(problems));
    }

    output::prepare(&opts.out_dir, &config.root)?;
    let mut keep: HashSet<PathBuf> = plan.jobs.iter().map(|j| j.file.clone()).collect();
    keep.extend(static_files.iter().map(|(rel, _)| rel.clone()));
    let css_file = output::file_for_path(&css_path).expect("hash path is safe");
    keep.insert(css_file.clone());
    let (stale_removed, existing) = output::remove_stale_listing(&opts.out_dir, &keep)?;
    // A file that is not there yet is written without looking for an old copy first.
    let write = |rel: &Path, bytes: &[u8]| -> std::io::Result<bool> {
        let target = opts.out_dir.join(rel);
        if existing.contains(rel) {
            output::write_if_changed(&target, bytes)
        } else {
            output::write_new(&target, bytes).map(|()| true)
        }
    };
    tracing::debug!(
        stale_removed,
        ms = started.elapsed().as_millis(),
        "output folder ready"
    );

    let theme = &theme;
    let results: Vec<Result<bool, Box<Problem>>> = plan
        .jobs
        .par_iter()
        .map(|job| {
            let bytes = site.render(theme, job, &plan.jobs)?;
            write(&job.file, &bytes).map_err(|e| {
                Box::new(Problem::error(
                    opts.out_dir.join(&job.file),
                    format!("cannot write the page: {e}"),
                ))
            })
        })
        .collect();
    let static_results: Vec<Result<bool, Box<Problem>>> = static_files
        .par_iter()
        .map(|(rel, from)| {
            let copied = if existing.contains(rel) {
                output::copy_if_changed(from, &opts.out_dir.join(rel))
            } else {
                std::fs::read(from).and_then(|bytes| write(rel, &bytes))
            };
            copied.map_err(|e| {
                Box::new(Problem::error(
                    from,
                    format!("cannot copy to the output: {e}"),
                ))
            })
        })
        .collect();
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        "pages rendered and static files copied"
    );
    let css_changed = write(&css_file, theme.css.as_bytes()).map_err(|source| OutputError::Io {
        path: css_file.clone(),
        source,
    })?;

    let mut files_changed = usize::from(css_changed);
    let mut problems = Vec::new();
    for r in results.into_iter().chain(static_results) {
        match r {
            Ok(changed) => files_changed += usize::from(changed),
            Err(p) => problems.push(*p),
        }
    }
    if !problems.is_empty() {
        problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        problems.dedup_by(|a, b| a.file == b.file && a.line == b.line && a.message == b.message);
        return Err(BuildError::Problems(problems));
    }
    Ok(BuildReport {
        pages_written: plan.jobs.len() + 1,
        files_changed,
        notices_published: site.published_count(),
        notices_current: site.current_count(),
        static_files: static_files.len(),
        stale_removed,
    })
}

/// Puts the data every page shares into the theme's global context; returns the style sheet's
/// site path (named by a hash of its content).
fn install_site_view(config: &Config, theme: &mut Theme) -> String {
    let css_path = format!("/style.{}.css", short_hash(theme.css.as_bytes()));
    theme
        .tera
        .global_context()
        .insert("site", &view::site_view(config, &css_path));
    css_path
}

/// A theme ready to render single pages with [`PlannedSite::render`] (what [`build_with_theme`]
/// does before rendering).
pub fn prepare_theme(config: &Config, mut theme: Theme) -> Theme {
    install_site_view(config, &mut theme);
    theme
}

/// The site planned at one instant, for rebuilding only some of its files (the preview): the
/// same plan and the same bytes per file as [`build`], without rendering or writing the rest.
pub struct PlannedSite<'a> {
    site: plan::Site<'a>,
    plan: plan::Plan,
}

impl<'a> PlannedSite<'a> {
    /// `notices` in any order (a slice of them, or references to notices held elsewhere).
    pub fn new(
        config: &'a Config,
        notices: impl IntoIterator<Item = &'a Notice>,
        pages: &'a [Page],
        opts: &BuildOptions,
    ) -> Self {
        let started = std::time::Instant::now();
        let site = plan::Site::new(config, notices, pages, opts);
        let prepared = started.elapsed();
        let plan = site.plan();
        tracing::debug!(
            site_us = prepared.as_micros(),
            plan_us = (started.elapsed() - prepared).as_micros(),
            "site planned for a partial rebuild"
        );
        PlannedSite { site, plan }
    }

    /// Problems of the plan (addresses that cannot be files, two pages at one address); a build
    /// of this site would fail with them.
    pub fn problems(&self) -> &[Problem] {
        &self.plan.problems
    }

    /// How many files the plan has (static files and the style sheet not counted).
    pub fn len(&self) -> usize {
        self.plan.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.plan.jobs.is_empty()
    }

    /// Site path and output file (relative to the output folder) of file `i`.
    pub fn file(&self, i: usize) -> (&str, &Path) {
        let job = &self.plan.jobs[i];
        (&job.path, &job.file)
    }

    /// One hash per file of what it depends on besides configuration, theme and `static/`;
    /// `digest` is a hash of a notice's source (see `Site::job_signatures`).
    pub fn signatures(&self, digest: impl Fn(&Notice) -> u64 + Sync) -> Vec<u64> {
        self.site.job_signatures(&self.plan.jobs, digest)
    }

    /// Renders file `i` exactly as [`build`] would; `theme` must come from [`prepare_theme`].
    pub fn render(&self, theme: &Theme, i: usize) -> Result<Vec<u8>, Box<Problem>> {
        self.site.render(theme, &self.plan.jobs[i], &self.plan.jobs)
    }

    pub fn notices_published(&self) -> usize {
        self.site.published_count()
    }

    pub fn notices_current(&self) -> usize {
        self.site.current_count()
    }
}

/// Template problems for `aushang check`: syntax errors and errors when rendering every page type
/// with sample data, each at the template file and line.
pub fn check_templates(config: &Config) -> Vec<Problem> {
    match Theme::load(config) {
        Err(problems) => problems,
        Ok(mut theme) => samples::render_samples(config, &mut theme),
    }
}

/// Files under `static/` with their output paths, sorted; collisions with pages are problems.
fn static_files(
    config: &Config,
    plan: &plan::Plan,
    problems: &mut Vec<Problem>,
) -> Vec<(PathBuf, PathBuf)> {
    let dir = config.root.join("static");
    if !dir.is_dir() {
        return Vec::new();
    }
    let generated: HashSet<&Path> = plan.jobs.iter().map(|j| j.file.as_path()).collect();
    // Folders the generated files need: a static file there, or a static folder where a
    // generated file goes, could not both be written.
    let generated_dirs: HashSet<&Path> = plan
        .jobs
        .iter()
        .flat_map(|j| j.file.ancestors().skip(1))
        .collect();
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem::error(
                    "static",
                    format!("cannot read the folder: {e}"),
                ));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(&dir)
            .unwrap_or(entry.path())
            .to_path_buf();
        if rel == Path::new(output::MARKER) {
            continue;
        }
        if generated_dirs.contains(rel.as_path())
            || rel.ancestors().skip(1).any(|dir| generated.contains(dir))
        {
            problems.push(
                Problem::error(
                    Path::new("static").join(&rel),
                    format!(
                        "static/{} is in the way of a page aushang generates (a file where a folder is needed, or the other way round)",
                        rel.display()
                    ),
                )
                .with_hint("rename or move the file"),
            );
            continue;
        }
        if generated.contains(rel.as_path()) {
            problems.push(
                Problem::error(
                    Path::new("static").join(&rel),
                    format!(
                        "static/{} has the same address as a page aushang generates",
                        rel.display()
                    ),
                )
                .with_hint("rename or move the file"),
            );
            continue;
        }
        out.push((rel, entry.path().to_path_buf()));
    }
    out
}

/// First 8 hex digits of SHA-256: changes whenever the style sheet does, so browsers never use a
/// stale cached copy.
fn short_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    hex::encode(&digest[..4])
}
