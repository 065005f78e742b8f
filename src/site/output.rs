//! The output folder: safety checks before touching it, per-file atomic writes that skip unchanged
//! files, copying `static/`, and removing what a previous build left behind.
//!
//! Files are replaced by rename (readers of a live folder never see half a page) but not fsynced:
//! the output is reproducible from the repository, and one fsync per page would dominate the build.

use std::collections::HashSet;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Marks a folder as written by `aushang build`; without it a non-empty folder is never cleaned.
pub const MARKER: &str = ".aushang-build";
const MARKER_TEXT: &str = "This folder is written by `aushang build`. Its files are replaced and \
stale files deleted on every build; do not keep anything else here.\n";
const TMP_SUFFIX: &str = ".aushang-tmp";

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "in {0} wird nicht gebaut: der Ordner ist nicht leer und stammt nicht von aushang (keine Datei {MARKER})"
    )]
    Foreign(PathBuf),
    #[error("in {dir} wird nicht gebaut: {reason}")]
    Unsafe { dir: PathBuf, reason: String },
    #[error("{path} lässt sich nicht schreiben: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks that `out` may be (re)written: not the site itself or inside its sources, and empty,
/// missing or marked as aushang's. Touches nothing.
pub fn check(out: &Path, root: &Path) -> Result<(), OutputError> {
    let abs_out = absolute(out);
    let abs_root = absolute(root);
    if abs_root.starts_with(&abs_out) {
        return Err(OutputError::Unsafe {
            dir: out.to_path_buf(),
            reason: "er enthält die Website selbst".into(),
        });
    }
    for protected in ["content", "static", "templates", "subscribers", ".git"] {
        if abs_out.starts_with(abs_root.join(protected)) {
            return Err(OutputError::Unsafe {
                dir: out.to_path_buf(),
                reason: format!("er liegt im Ordner {protected}/ der Website"),
            });
        }
    }
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            let marked = out.join(MARKER).is_file();
            if !marked && entries.next().is_some() {
                return Err(OutputError::Foreign(out.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(OutputError::Io {
            path: out.to_path_buf(),
            source: e,
        }),
    }
}

/// Checks that `out` may be (re)written (see [`check`]), creates it and marks it as aushang's.
/// `root` is the site folder.
pub fn prepare(out: &Path, root: &Path) -> Result<(), OutputError> {
    check(out, root)?;
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let marker = out.join(MARKER);
    write_if_changed(&marker, MARKER_TEXT.as_bytes()).map_err(io_err(&marker))?;
    Ok(())
}

/// `out` made absolute and normalised lexically (`..` resolved), without touching the disk.
fn absolute(p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let base = std::fs::canonicalize(&joined).unwrap_or(joined);
    let mut out = PathBuf::new();
    for c in base.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Writes `bytes` to `path` by temp file + rename, unless the file already holds exactly them.
/// Returns whether the file was written.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_file() && meta.len() == bytes.len() as u64 && std::fs::read(path)? == bytes {
            return Ok(false);
        }
        if meta.is_dir() {
            std::fs::remove_dir_all(path)?;
        }
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(TMP_SUFFIX);
    let tmp = dir.join(tmp_name);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(true)
}

/// Writes a file that did not exist when the build started (temp file + rename, like
/// [`write_if_changed`], without first looking for an old copy to compare).
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(TMP_SUFFIX);
    let tmp = dir.join(tmp_name);
    if let Err(e) = std::fs::write(&tmp, bytes) {
        if e.kind() != io::ErrorKind::NotFound {
            return Err(e);
        }
        std::fs::create_dir_all(dir)?;
        std::fs::write(&tmp, bytes)?;
    }
    match std::fs::rename(&tmp, path) {
        Ok(()) => Ok(()),
        // A folder in the way (left by an older build): the careful path removes it.
        Err(_) if path.is_dir() => write_if_changed(path, bytes).map(|_| ()),
        Err(e) => Err(e),
    }
}

/// Copies `from` to `to` unless `to` already has the same content. Returns whether it copied.
pub fn copy_if_changed(from: &Path, to: &Path) -> io::Result<bool> {
    let src = std::fs::metadata(from)?;
    if let Ok(dst) = std::fs::metadata(to)
        && dst.is_file()
        && dst.len() == src.len()
        && std::fs::read(to)? == std::fs::read(from)?
    {
        return Ok(false);
    }
    let bytes = std::fs::read(from)?;
    write_if_changed(to, &bytes)
}

/// Deletes every file under `out` that is not in `keep` (relative paths) and then empty folders.
/// Returns how many files were removed.
pub fn remove_stale(out: &Path, keep: &HashSet<PathBuf>) -> Result<usize, OutputError> {
    remove_stale_listing(out, keep).map(|(removed, _)| removed)
}

/// [`remove_stale`], also returning the kept files that exist (relative paths): files not in that
/// set are new and need no comparison with an old copy.
pub fn remove_stale_listing(
    out: &Path,
    keep: &HashSet<PathBuf>,
) -> Result<(usize, HashSet<PathBuf>), OutputError> {
    let (stale, existing, mut dirs) = listing(out, keep)?;
    for rel in &stale {
        let path = out.join(rel);
        std::fs::remove_file(&path).map_err(io_err(&path))?;
    }
    // Deepest first, so parents become empty before they are looked at.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        let _ = std::fs::remove_dir(&d);
    }
    Ok((stale.len(), existing))
}

/// The files under `out` that are not in `keep` (stale) and those that are (existing), as
/// relative paths, plus every folder; deletes nothing.
pub fn stale_listing(
    out: &Path,
    keep: &HashSet<PathBuf>,
) -> Result<(Vec<PathBuf>, HashSet<PathBuf>), OutputError> {
    listing(out, keep).map(|(stale, existing, _)| (stale, existing))
}

type Listing = (Vec<PathBuf>, HashSet<PathBuf>, Vec<PathBuf>);

fn listing(out: &Path, keep: &HashSet<PathBuf>) -> Result<Listing, OutputError> {
    let mut existing = HashSet::new();
    let mut stale = Vec::new();
    let mut dirs = Vec::new();
    for entry in walkdir::WalkDir::new(out).min_depth(1) {
        let entry = entry.map_err(|e| OutputError::Io {
            path: out.to_path_buf(),
            source: e.into(),
        })?;
        let rel = entry.path().strip_prefix(out).unwrap_or(entry.path());
        if entry.file_type().is_dir() {
            dirs.push(entry.path().to_path_buf());
        } else if rel != Path::new(MARKER) && !keep.contains(rel) {
            stale.push(rel.to_path_buf());
        } else {
            existing.insert(rel.to_path_buf());
        }
    }
    Ok((stale, existing, dirs))
}

/// Whether the file at `path` holds exactly `bytes`.
pub fn same_content(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() == bytes.len() as u64 => {
            Ok(std::fs::read(path)? == bytes)
        }
        Ok(_) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The output file for a site path: `/` → `index.html`, `/a/b/` → `a/b/index.html`,
/// `/atom.xml` → `atom.xml`. `None` for paths that could leave the output folder.
pub fn file_for_path(path: &str) -> Option<PathBuf> {
    let rel = path.strip_prefix('/')?;
    let mut out = PathBuf::new();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        if part == ".." || part == "." || part.contains('\\') || part.starts_with(MARKER) {
            return None;
        }
        out.push(part);
    }
    if rel.is_empty() || rel.ends_with('/') {
        out.push("index.html");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_paths_map_to_files_and_never_escape() {
        assert_eq!(file_for_path("/").unwrap(), Path::new("index.html"));
        assert_eq!(file_for_path("/a/b/").unwrap(), Path::new("a/b/index.html"));
        assert_eq!(file_for_path("/atom.xml").unwrap(), Path::new("atom.xml"));
        assert_eq!(
            file_for_path("/alt/seite.html").unwrap(),
            Path::new("alt/seite.html")
        );
        assert!(file_for_path("/../x/").is_none());
        assert!(file_for_path("relative/").is_none());
    }

    #[test]
    fn refuses_a_foreign_folder_and_accepts_an_empty_or_marked_one() {
        let site = tempfile::tempdir().unwrap();
        let out = site.path().join("public");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("precious.txt"), "keep me").unwrap();
        assert!(matches!(
            prepare(&out, site.path()),
            Err(OutputError::Foreign(_))
        ));
        assert!(out.join("precious.txt").exists());

        let fresh = site.path().join("fresh");
        prepare(&fresh, site.path()).unwrap();
        assert!(fresh.join(MARKER).is_file());
        std::fs::write(fresh.join("page.html"), "x").unwrap();
        prepare(&fresh, site.path()).unwrap();
    }

    #[test]
    fn refuses_the_site_folder_and_its_sources() {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir(site.path().join("static")).unwrap();
        assert!(matches!(
            prepare(site.path(), site.path()),
            Err(OutputError::Unsafe { .. })
        ));
        let inside = site.path().join("static/out");
        assert!(matches!(
            prepare(&inside, site.path()),
            Err(OutputError::Unsafe { .. })
        ));
    }

    #[test]
    fn stale_files_and_empty_folders_go_and_unchanged_files_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        assert!(write_if_changed(&out.join("a/index.html"), b"A").unwrap());
        assert!(!write_if_changed(&out.join("a/index.html"), b"A").unwrap());
        write_if_changed(&out.join("old/deep/index.html"), b"O").unwrap();
        let keep: HashSet<PathBuf> = [PathBuf::from("a/index.html")].into_iter().collect();
        assert_eq!(remove_stale(out, &keep).unwrap(), 1);
        assert!(out.join("a/index.html").exists());
        assert!(!out.join("old").exists());
    }
}
