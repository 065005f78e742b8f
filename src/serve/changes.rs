//! Which files changed: size-and-time stamps of source files, and the index of the preview
//! folder that tells which site paths a rebuild changed (so that only tabs showing them reload).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::site;

/// The files of the preview folder with their size and modification time, to tell which site
/// paths a rebuild changed (the renderer rewrites only files whose bytes changed).
#[derive(Default)]
pub struct OutputIndex {
    files: HashMap<PathBuf, Stamp>,
}

impl OutputIndex {
    /// Rescans `out` and returns the site paths (`/a/b/`, `/atom.xml`) of files that are new,
    /// changed or gone since the last scan.
    pub fn update(&mut self, out: &Path) -> Vec<String> {
        let mut now = HashMap::with_capacity(self.files.len());
        for entry in walkdir::WalkDir::new(out).into_iter().flatten() {
            if entry.file_type().is_file()
                && let Ok(rel) = entry.path().strip_prefix(out)
            {
                now.insert(rel.to_path_buf(), stamp(entry.path()));
            }
        }
        let mut changed: Vec<String> = now
            .iter()
            .filter(|(f, s)| self.files.get(*f) != Some(*s))
            .map(|(f, _)| f)
            .chain(self.files.keys().filter(|f| !now.contains_key(*f)))
            .map(|f| site_path(f))
            .collect();
        changed.sort();
        self.files = now;
        changed
    }
}

impl OutputIndex {
    /// Takes note of files written or deleted outside a full rebuild (a partial rebuild), so
    /// that the next [`OutputIndex::update`] does not report them again.
    pub fn update_files(&mut self, out: &Path, site_paths: &[String]) {
        for p in site_paths {
            if let Some(file) = site::output::file_for_path(p) {
                let path = out.join(&file);
                if path.is_file() {
                    self.files.insert(file, stamp(&path));
                } else {
                    self.files.remove(&file);
                }
            }
        }
    }
}

/// `a/b/index.html` → `/a/b/`; `atom.xml` → `/atom.xml`.
fn site_path(file: &Path) -> String {
    let text = file
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    match text.strip_suffix("index.html") {
        Some(dir) => format!("/{dir}"),
        None => format!("/{text}"),
    }
}

/// Size and modification time of a file: what tells a changed file from an unchanged one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

pub fn stamp(path: &Path) -> Stamp {
    match std::fs::metadata(path) {
        Ok(m) => Stamp {
            modified: m.modified().ok(),
            len: m.len(),
        },
        Err(_) => Stamp {
            modified: None,
            len: u64::MAX,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_noted_after_a_partial_rebuild_are_not_reported_again() {
        let out = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(out.path().join("a")).unwrap();
        std::fs::write(out.path().join("a/index.html"), "A").unwrap();
        std::fs::write(out.path().join("b.xml"), "B").unwrap();
        let mut index = OutputIndex::default();
        assert_eq!(index.update(out.path()), ["/a/", "/b.xml"]);
        std::fs::write(out.path().join("a/index.html"), "AA").unwrap();
        std::fs::remove_file(out.path().join("b.xml")).unwrap();
        index.update_files(out.path(), &["/a/".into(), "/b.xml".into()]);
        assert!(index.update(out.path()).is_empty());
    }

    #[test]
    fn output_files_map_to_site_paths() {
        assert_eq!(site_path(Path::new("index.html")), "/");
        assert_eq!(site_path(Path::new("a/b/index.html")), "/a/b/");
        assert_eq!(
            site_path(Path::new("kategorie/x/atom.xml")),
            "/kategorie/x/atom.xml"
        );
    }
}
