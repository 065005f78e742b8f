//! Writing a planned site: every page rendered, compared with the file already there and written
//! only when it changed; static files copied the same way; stale files listed (and, when
//! writing straight into the output folder, removed).
//!
//! Two ways: straight into a folder (`read` = `write`), or — for a rebuild whose output folder
//! must stay untouched until every page rendered — comparing with the output folder and writing
//! only the changed files into a staging folder, which [`super::staging`] then moves in.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::diagnostics::Problem;
use crate::site::{BuildError, BuildReport, OutputError, Theme, output, plan};

/// Where a build compares and where it writes.
#[derive(Clone, Copy)]
pub(super) struct Dirs<'a> {
    /// The files of the previous build (compared with; stale ones listed).
    pub read: &'a Path,
    /// Where new and changed files go.
    pub write: &'a Path,
}

/// What a build wrote, for moving it into the output folder.
#[derive(Default)]
pub(super) struct Written {
    /// New or changed files (relative paths) in `Dirs::write`.
    pub changed: Vec<PathBuf>,
    /// Files of `Dirs::read` that no longer belong to the site (already removed when
    /// `read` = `write`).
    pub stale: Vec<PathBuf>,
}

/// Writes the planned site (the folders already prepared).
pub(super) fn write_output(
    dirs: Dirs,
    site: &plan::Site,
    plan: &plan::Plan,
    theme: &Theme,
    css_path: &str,
    static_files: &[(PathBuf, PathBuf)],
    editor_files: &[(PathBuf, std::borrow::Cow<'static, [u8]>)],
) -> Result<(BuildReport, Written), BuildError> {
    let started = std::time::Instant::now();
    let in_place = dirs.read == dirs.write;
    let mut keep: HashSet<PathBuf> = plan.jobs.iter().map(|j| j.file.clone()).collect();
    keep.extend(static_files.iter().map(|(rel, _)| rel.clone()));
    keep.extend(editor_files.iter().map(|(rel, _)| rel.clone()));
    let css_file = output::file_for_path(css_path).expect("hash path is safe");
    keep.insert(css_file.clone());
    let (stale, stale_removed, existing) = if in_place {
        let (removed, existing) = output::remove_stale_listing(dirs.read, &keep)?;
        (Vec::new(), removed, existing)
    } else {
        let (stale, existing) = output::stale_listing(dirs.read, &keep)?;
        let n = stale.len();
        (stale, n, existing)
    };
    // A file that is not there yet is written without looking for an old copy first.
    let write = |rel: &Path, bytes: &[u8]| -> std::io::Result<bool> {
        if in_place {
            let target = dirs.write.join(rel);
            return if existing.contains(rel) {
                output::write_if_changed(&target, bytes)
            } else {
                output::write_new(&target, bytes).map(|()| true)
            };
        }
        if existing.contains(rel) && output::same_content(&dirs.read.join(rel), bytes)? {
            return Ok(false);
        }
        output::write_new(&dirs.write.join(rel), bytes).map(|()| true)
    };
    tracing::debug!(
        stale_removed,
        ms = started.elapsed().as_millis(),
        "output folder ready"
    );

    let results: Vec<Result<bool, Box<Problem>>> = plan
        .jobs
        .par_iter()
        .map(|job| {
            let bytes = site.render(theme, job, &plan.jobs)?;
            write(&job.file, &bytes).map_err(|e| {
                Box::new(Problem::error(
                    dirs.write.join(&job.file),
                    format!("die Seite lässt sich nicht schreiben: {e}"),
                ))
            })
        })
        .collect();
    let static_results: Vec<Result<bool, Box<Problem>>> = static_files
        .par_iter()
        .map(|(rel, from)| {
            let copied = if in_place && existing.contains(rel) {
                output::copy_if_changed(from, &dirs.write.join(rel))
            } else {
                std::fs::read(from).and_then(|bytes| write(rel, &bytes))
            };
            copied.map_err(|e| {
                Box::new(Problem::error(
                    from,
                    format!("lässt sich nicht in die Ausgabe kopieren: {e}"),
                ))
            })
        })
        .collect();
    let editor_results: Vec<Result<bool, Box<Problem>>> = editor_files
        .par_iter()
        .map(|(rel, bytes)| {
            write(rel, bytes).map_err(|e| {
                Box::new(Problem::error(
                    dirs.write.join(rel),
                    format!("cannot write the editor's file: {e}"),
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

    let mut written = Written {
        changed: Vec::new(),
        stale,
    };
    if css_changed {
        written.changed.push(css_file);
    }
    let mut problems = Vec::new();
    let files = plan
        .jobs
        .iter()
        .map(|j| &j.file)
        .chain(static_files.iter().map(|(rel, _)| rel))
        .chain(editor_files.iter().map(|(rel, _)| rel));
    let all = results
        .into_iter()
        .chain(static_results)
        .chain(editor_results);
    for (r, file) in all.zip(files) {
        match r {
            Ok(true) => written.changed.push(file.clone()),
            Ok(false) => {}
            Err(p) => problems.push(*p),
        }
    }
    if !problems.is_empty() {
        problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        problems.dedup_by(|a, b| a.file == b.file && a.line == b.line && a.message == b.message);
        return Err(BuildError::Problems(problems));
    }
    let report = BuildReport {
        pages_written: plan.jobs.len() + 1,
        files_changed: written.changed.len(),
        notices_published: site.published_count(),
        notices_current: site.current_count(),
        static_files: static_files.len(),
        stale_removed,
    };
    Ok((report, written))
}
