//! The output folder changes only after every page has rendered. A first build writes the whole
//! site into a staging folder beside it (`.public.aushang-stage`) and renames that to `public/`:
//! killed or failed, it leaves no `public/` at all. A rebuild compares with `public/`, writes
//! only the new and changed files into the staging folder and, once all rendered, moves them in
//! (one rename each) and deletes the stale ones: a failed rebuild leaves `public/` untouched, and
//! only a kill during those renames (milliseconds) leaves a mix of old and new files, each
//! complete, which the next build puts right. Hard-linking the whole folder for every rebuild
//! was measured and rejected: linking and deleting 10,000 notice folders took ten times the
//! rebuild itself. The next build clears whatever a killed one left behind.

use std::io;
use std::path::{Path, PathBuf};

use crate::site::output::{self, OutputError};
use crate::site::write::Written;

const STAGE_SUFFIX: &str = ".aushang-stage";
const OLD_SUFFIX: &str = ".aushang-old";

/// A build's staging folder for one output folder.
pub struct Stage {
    out: PathBuf,
    dir: PathBuf,
    /// The staging folder holds the whole site (first build), not only the changes.
    whole: bool,
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
    /// Checks that `out` may be (re)written (see [`output::check`]) and makes an empty staging
    /// folder beside it.
    pub fn begin(out: &Path, root: &Path) -> Result<Stage, OutputError> {
        output::check(out, root)?;
        let dir = sibling(out, STAGE_SUFFIX);
        clear_leftover(&dir)?;
        clear_leftover(&sibling(out, OLD_SUFFIX))?;
        // A folder with nothing but the marker (or nothing) counts as no output yet.
        let whole = std::fs::read_dir(out).map_or(true, |entries| {
            entries
                .flatten()
                .all(|e| e.file_name() == std::ffi::OsStr::new(output::MARKER))
        });
        output::prepare(&dir, root)?;
        Ok(Stage {
            out: out.to_path_buf(),
            dir,
            whole,
        })
    }

    /// The folder the build compares with: the staging folder itself for a first build.
    pub fn read_dir(&self) -> &Path {
        if self.whole { &self.dir } else { &self.out }
    }

    /// The folder the build writes into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Puts what the build wrote into the output folder.
    pub fn finish(self, written: &Written) -> Result<(), OutputError> {
        if self.whole {
            return self.swap_whole();
        }
        for rel in &written.stale {
            let path = self.out.join(rel);
            std::fs::remove_file(&path).map_err(io_err(&path))?;
        }
        for rel in &written.changed {
            let (from, to) = (self.dir.join(rel), self.out.join(rel));
            if to.is_dir() {
                std::fs::remove_dir_all(&to).map_err(io_err(&to))?;
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
            std::fs::rename(&from, &to).map_err(io_err(&to))?;
        }
        for rel in &written.stale {
            remove_empty_parents(&self.out, &self.out.join(rel));
        }
        std::fs::remove_dir_all(&self.dir).map_err(io_err(&self.dir))
    }

    /// Renames the staged site to the output folder (an empty one in its place is replaced).
    fn swap_whole(self) -> Result<(), OutputError> {
        if !self.out.exists() {
            return std::fs::rename(&self.dir, &self.out).map_err(io_err(&self.out));
        }
        if exchange(&self.dir, &self.out).is_ok() {
            // The staging folder's name now holds the empty previous output.
            return std::fs::remove_dir_all(&self.dir).map_err(io_err(&self.dir));
        }
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

/// Removes the folders above `file` (inside `out`) that became empty, up to (not including) `out`.
pub(crate) fn remove_empty_parents(out: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == out || !d.starts_with(out) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_stage_replaces_the_output_and_an_abandoned_one_leaves_it() {
        let site = tempfile::tempdir().unwrap();
        let out = site.path().join("public");
        let stage = Stage::begin(&out, site.path()).unwrap();
        assert_eq!(
            stage.read_dir(),
            stage.dir(),
            "a first build stages everything"
        );
        std::fs::write(stage.dir().join("index.html"), "eins").unwrap();
        std::fs::create_dir_all(stage.dir().join("alt")).unwrap();
        std::fs::write(stage.dir().join("alt/index.html"), "alt").unwrap();
        assert!(!out.exists(), "nothing in public/ before the swap");
        stage.finish(&Written::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "eins"
        );

        // A rebuild writes only changes into the stage; abandoned, public/ is as it was.
        let stage = Stage::begin(&out, site.path()).unwrap();
        assert_eq!(stage.read_dir(), out);
        output::write_new(&stage.dir().join("index.html"), b"zwei").unwrap();
        stage.abandon();
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "eins"
        );

        let stage = Stage::begin(&out, site.path()).unwrap();
        output::write_new(&stage.dir().join("neu/index.html"), b"neu").unwrap();
        output::write_new(&stage.dir().join("index.html"), b"drei").unwrap();
        let written = Written {
            changed: vec!["index.html".into(), "neu/index.html".into()],
            stale: vec!["alt/index.html".into()],
        };
        stage.finish(&written).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "drei"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("neu/index.html")).unwrap(),
            "neu"
        );
        assert!(
            !out.join("alt").exists(),
            "stale file and its empty folder are gone"
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
