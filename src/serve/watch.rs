//! Watching the site's sources (`content/`, `templates/`, `static/`, `aushang.yaml`) for changes,
//! debounced, so that one save (which editors and tools often do as several file operations)
//! gives one rebuild.
//!
//! The site folder itself is watched without recursion (it also holds `target/`, `.git/` and
//! maybe `public/`, thousands of folders nobody edits); the source folders recursively, each as
//! soon as it exists.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Duration;

use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{
    DebounceEventResult, Debouncer, RecommendedCache, new_debouncer, notify::RecommendedWatcher,
};

use crate::config::CONFIG_FILE;

/// The folders of a site whose changes the preview shows.
pub const SOURCE_DIRS: [&str; 3] = ["content", "templates", "static"];

/// Quiet time after the last change before a rebuild starts.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

pub struct SourceWatcher {
    root: PathBuf,
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    watched: [bool; 3],
}

impl SourceWatcher {
    /// Starts watching; every batch of relevant changed paths (absolute) is sent to `changes`.
    pub fn start(root: &Path, changes: Sender<Vec<PathBuf>>) -> anyhow::Result<Self> {
        let filter_root = root.to_path_buf();
        let debouncer = new_debouncer(DEBOUNCE, None, move |res: DebounceEventResult| {
            match res {
                Ok(events) => {
                    let paths: Vec<PathBuf> = events
                        .iter()
                        .filter(|e| !matches!(e.kind, EventKind::Access(_)))
                        .flat_map(|e| e.paths.iter())
                        .filter(|p| is_source(&filter_root, p))
                        .cloned()
                        .collect();
                    if !paths.is_empty() {
                        // The receiver is gone only when the server shuts down.
                        let _ = changes.send(paths);
                    }
                }
                Err(errors) => {
                    for e in errors {
                        tracing::warn!("Beobachten der Änderungen: {e}");
                    }
                }
            }
        })?;
        let mut watcher = SourceWatcher {
            root: root.to_path_buf(),
            debouncer,
            watched: [false; 3],
        };
        watcher.debouncer.watch(root, RecursiveMode::NonRecursive)?;
        watcher.watch_new_dirs();
        Ok(watcher)
    }

    /// Starts watching source folders created since the last call (a new `templates/`).
    pub fn watch_new_dirs(&mut self) {
        for (i, dir) in SOURCE_DIRS.iter().enumerate() {
            let path = self.root.join(dir);
            if !self.watched[i] && path.is_dir() {
                match self.debouncer.watch(&path, RecursiveMode::Recursive) {
                    Ok(()) => self.watched[i] = true,
                    Err(e) => tracing::warn!("{} lässt sich nicht beobachten: {e}", path.display()),
                }
            }
        }
    }
}

/// Whether a change to `path` can change the site: a file in a source folder or the
/// configuration, except hidden files and editor scratch files (`.x.swp`, `x~`, vim's `4913`).
pub fn is_source(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name == "4913" {
        return false;
    }
    if rel == Path::new(CONFIG_FILE) {
        return true;
    }
    rel.components()
        .next()
        .is_some_and(|c| SOURCE_DIRS.iter().any(|d| c.as_os_str() == *d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sources_count() {
        let root = Path::new("/site");
        assert!(is_source(root, Path::new("/site/aushang.yaml")));
        assert!(is_source(
            root,
            Path::new("/site/content/notices/2026/a.md")
        ));
        assert!(is_source(root, Path::new("/site/templates")));
        assert!(is_source(root, Path::new("/site/static/bilder/x.png")));
        assert!(!is_source(root, Path::new("/site/public/index.html")));
        assert!(!is_source(root, Path::new("/site/target/debug/x")));
        assert!(!is_source(
            root,
            Path::new("/site/content/notices/.a.md.swp")
        ));
        assert!(!is_source(root, Path::new("/site/content/notices/a.md~")));
        assert!(!is_source(root, Path::new("/elsewhere/content/a.md")));
    }

    #[test]
    fn a_saved_file_is_reported_once_debounced() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("content/notices")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let _w = SourceWatcher::start(&root, tx).unwrap();
        let file = root.join("content/notices/a.md");
        std::fs::write(&file, "eins").unwrap();
        std::fs::write(&file, "zwei").unwrap();
        std::fs::write(root.join("unrelated.txt"), "x").unwrap();
        let batch = rx.recv_timeout(Duration::from_secs(5)).expect("a change");
        assert!(batch.contains(&file), "{batch:?}");
        assert!(batch.iter().all(|p| is_source(&root, p)), "{batch:?}");
    }
}
