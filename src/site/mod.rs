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

pub mod base_path;
pub mod dates;
pub mod editor;
pub mod output;
mod plan;
mod render;
mod samples;
mod staging;
pub(crate) use staging::remove_empty_parents;
pub mod statics;
pub mod theme;
pub mod theme_versions;
pub mod view;
mod write;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

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
    #[error("die Website kann nicht erstellt werden:\n{}", crate::diagnostics::render(.0, crate::diagnostics::Format::Human))]
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
    let theme = Theme::load(config).map_err(BuildError::Problems)?;
    build_into(config, Input::of(content), opts, theme, Mode::Staged)
}

/// What a build is made from.
#[derive(Clone, Copy)]
struct Input<'a> {
    notices: &'a [Notice],
    /// Files of drafts that were not loaded (`SiteContent::draft_files`).
    draft_files: &'a [String],
    pages: &'a [Page],
}

impl<'a> Input<'a> {
    /// Everything the loader found, drafts' files included.
    fn of(content: &'a SiteContent) -> Input<'a> {
        Input {
            notices: &content.notices,
            draft_files: &content.draft_files,
            pages: &content.pages,
        }
    }
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
    theme: Theme,
) -> Result<BuildReport, BuildError> {
    let input = Input {
        notices,
        draft_files: &[],
        pages,
    };
    build_into(config, input, opts, theme, Mode::Staged)
}

/// [`build`] writing straight into the output folder instead of swapping in a staged copy: for
/// the preview, whose folder is private and whose tabs reload per changed file.
pub fn build_in_place(
    config: &Config,
    content: &SiteContent,
    opts: &BuildOptions,
) -> Result<BuildReport, BuildError> {
    let theme = Theme::load(config).map_err(BuildError::Problems)?;
    build_into(config, Input::of(content), opts, theme, Mode::InPlace)
}

fn build_into(
    config: &Config,
    input: Input,
    opts: &BuildOptions,
    mut theme: Theme,
    mode: Mode,
) -> Result<BuildReport, BuildError> {
    let started = std::time::Instant::now();
    let css_path = install_site_view(config, &mut theme);
    let Input {
        notices,
        draft_files,
        pages,
    } = input;
    let site = plan::Site::new(config, notices, pages, opts);
    let plan = site.plan();
    tracing::debug!(
        jobs = plan.jobs.len(),
        ms = started.elapsed().as_millis(),
        "site planned"
    );
    let mut problems = plan.problems.clone();
    let withheld = statics::withheld(
        notices,
        draft_files,
        pages,
        Some(&theme),
        opts.now,
        opts.include_drafts,
    );
    let editor_files = editor::files(config, &css_path);
    let mut generated: HashSet<&Path> = plan.jobs.iter().map(|j| j.file.as_path()).collect();
    problems.extend(editor::clashes(&generated, &editor_files));
    generated.extend(editor_files.iter().map(|(file, _)| file.as_path()));
    let static_files = statics::static_files(config, &generated, &withheld, &mut problems);
    if !problems.is_empty() {
        return Err(BuildError::Problems(problems));
    }

    // A symlinked output folder (into a web server's folder) stays a symlink, and `--out .` has
    // no name to put a staging folder beside: both are written in place.
    let stageable = !opts.out_dir.is_symlink() && opts.out_dir.file_name().is_some();
    let stage = match mode {
        Mode::Staged if stageable => Some(staging::Stage::begin(&opts.out_dir, &config.root)?),
        Mode::Staged | Mode::InPlace => {
            output::prepare(&opts.out_dir, &config.root)?;
            None
        }
    };
    let dirs = match &stage {
        Some(stage) => write::Dirs {
            read: stage.read_dir(),
            write: stage.dir(),
        },
        None => write::Dirs {
            read: &opts.out_dir,
            write: &opts.out_dir,
        },
    };
    let written = write::write_output(
        dirs,
        &site,
        &plan,
        &theme,
        &css_path,
        &static_files,
        &editor_files,
    );
    match (written, stage) {
        (Ok((report, written)), Some(stage)) => {
            stage.finish(&written)?;
            Ok(report)
        }
        (Err(e), Some(stage)) => {
            stage.abandon();
            Err(e)
        }
        (written, None) => written.map(|(report, _)| report),
    }
}

/// Whether a build changes the output folder only once everything rendered (see [`staging`]) or
/// writes into it as it goes.
#[derive(Clone, Copy)]
enum Mode {
    Staged,
    InPlace,
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

/// First 8 hex digits of SHA-256: changes whenever the style sheet does, so browsers never use a
/// stale cached copy.
fn short_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    hex::encode(&digest[..4])
}
