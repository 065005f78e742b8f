//! The output folder is replaced in one step: a build writes into a staging folder next to it
//! (`.public.aushang-stage`, starting as hard links to the current files, so unchanged files are
//! recognised and the build stays incremental) and then swaps it in by rename. A build that
//! fails or is killed leaves the previous output untouched — and no half-written first
//! `public/` — and the next build clears what it left behind.

use std::io;
use std::path::{Path, PathBuf};

use crate::site::output::{self, OutputError};

const STAGE_SUFFIX: &str = ".aushang-stage";
const OLD_SUFFIX: &str = ".aushang-old";

/// A build's staging folder for one output folder.
pub struct Stage {
    out: PathBuf,
    dir: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `<parent>/.<name><suffix>`: beside `out`, so that renaming never crosses a file system.
fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out.file_name().map_or_else(
        || "public".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    out.with_file_name(format!(".{name}{suffix}"))
}

/// Removes a staging or old folder left by a killed build; refuses a folder aushang did not
/// make (without its marker file and not empty).
fn clear_leftover(dir: &Path) -> Result<(), OutputError> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(dir)(e)),
        Ok(meta) => {
            let ours = meta.is_dir()
                && (dir.join(output::MARKER).is_file()
                    || std::fs::read_dir(dir)
                        .map_err(io_err(dir))?
                        .next()
                        .is_none());
            if !ours {
                return Err(OutputError::Foreign(dir.to_path_buf()));
            }
            std::fs::remove_dir_all(dir).map_err(io_err(dir))
        }
    }
}

impl Stage {
    /// Checks that `out` may be (re)written (see [`output::prepare`]) and makes the staging
    /// folder: a copy of `out` made of hard links (copies where links are not possible).
    pub fn begin(out: &Path, root: &Path) -> Result<Stage, OutputError> {
        output::check(out, root)?;
        let dir = sibling(out, STAGE_SUFFIX);
        clear_leftover(&dir)?;
        clear_leftover(&sibling(out, OLD_SUFFIX))?;
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        if out.is_dir() {
            link_tree(out, &dir)?;
        }
        output::prepare(&dir, root)?;
        Ok(Stage {
            out: out.to_path_buf(),
            dir,
        })
    }

    /// The folder the build writes into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Puts the staged folder in the place of the output folder in one step.
    pub fn finish(self) -> Result<(), OutputError> {
        if !self.out.exists() {
            return std::fs::rename(&self.dir, &self.out).map_err(io_err(&self.out));
        }
        if exchange(&self.dir, &self.out).is_ok() {
            // The staging folder's name now holds the previous output.
            return std::fs::remove_dir_all(&self.dir).map_err(io_err(&self.dir));
        }
        // Without an atomic exchange: two renames, the previous output kept until the second.
        let old = sibling(&self.out, OLD_SUFFIX);
        std::fs::rename(&self.out, &old).map_err(io_err(&self.out))?;
        if let Err(e) = std::fs::rename(&self.dir, &self.out) {
            let _ = std::fs::rename(&old, &self.out);
            return Err(io_err(&self.out)(e));
        }
        std::fs::remove_dir_all(&old).map_err(io_err(&old))
    }

    /// Removes the staging folder of a failed build; the output folder stays as it was.
    pub fn abandon(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Recreates the folders of `from` in `to` and hard-links its files (copies where linking fails).
fn link_tree(from: &Path, to: &Path) -> Result<(), OutputError> {
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.map_err(|e| OutputError::Io {
            path: from.to_path_buf(),
            source: e.into(),
        })?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).map_err(io_err(&target))?;
        } else if entry.file_type().is_file() && std::fs::hard_link(entry.path(), &target).is_err()
        {
            std::fs::copy(entry.path(), &target).map_err(io_err(&target))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_stage_replaces_the_output_and_an_abandoned_one_leaves_it() {
        let site = tempfile::tempdir().unwrap();
        let out = site.path().join("public");
        let stage = Stage::begin(&out, site.path()).unwrap();
        std::fs::write(stage.dir().join("index.html"), "eins").unwrap();
        assert!(!out.exists(), "nothing in public/ before the swap");
        stage.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "eins"
        );

        let stage = Stage::begin(&out, site.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(stage.dir().join("index.html")).unwrap(),
            "eins",
            "the stage starts as the current output"
        );
        output::write_if_changed(&stage.dir().join("index.html"), b"zwei").unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "eins"
        );
        stage.abandon();
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "eins"
        );

        let stage = Stage::begin(&out, site.path()).unwrap();
        output::write_if_changed(&stage.dir().join("index.html"), b"drei").unwrap();
        stage.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "drei"
        );
        let names: Vec<_> = std::fs::read_dir(site.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["public"], "no staging folder left behind");
    }

    #[test]
    fn a_foreign_folder_in_the_stages_place_is_refused() {
        let site = tempfile::tempdir().unwrap();
        let out = site.path().join("public");
        let stage = sibling(&out, STAGE_SUFFIX);
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::write(stage.join("precious.txt"), "keep").unwrap();
        assert!(matches!(
            Stage::begin(&out, site.path()),
            Err(OutputError::Foreign(_))
        ));
        assert!(stage.join("precious.txt").exists());
    }
}
