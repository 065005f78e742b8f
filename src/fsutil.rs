//! Writing files so that a crash never leaves half a file behind: temp file, fsync, rename; and
//! reading the append-only JSON-lines records such writes and appends leave.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every record of the JSON-lines file `path` (a missing file: none). A line that does not
/// parse (a torn last line after a power loss) is skipped with a warning naming file and line:
/// it records nothing.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<Vec<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(record) => out.push(record),
            Err(e) => tracing::warn!(
                "{}:{}: unlesbare Zeile übersprungen ({e})",
                path.display(),
                i + 1
            ),
        }
    }
    Ok(out)
}

/// Writes `bytes` to `path` atomically: readers see the old content or the new, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    write_and_rename(dir, path, bytes)?;
    // The rename is only durable once the directory entry is on disk too.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A temp file in `dir` with `bytes`, fsynced, renamed to `path` (durable once `dir` is synced).
fn write_and_rename(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".aushang-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Atomic writes into one directory under concurrency, with as few directory fsyncs as possible
/// (group commit): a rename is durable once a directory fsync that *started after it* has
/// finished, so a writer that finds such a sync already done (or waits for one in progress and
/// is covered by it) does not start its own. Under 64 concurrent webhook requests this turns one
/// directory fsync per event into about one per batch; each file still gets its own fsync.
#[derive(Debug)]
pub struct DirSync {
    dir: PathBuf,
    /// Renames finished so far (a writer takes its ticket after its rename).
    renamed: AtomicU64,
    /// The highest ticket covered by a finished directory fsync.
    synced: Mutex<u64>,
    syncs: AtomicU64,
}

impl DirSync {
    pub fn new(dir: &Path) -> DirSync {
        DirSync {
            dir: dir.to_path_buf(),
            renamed: AtomicU64::new(0),
            synced: Mutex::new(0),
            syncs: AtomicU64::new(0),
        }
    }

    /// Like [`write_atomic`] for a file in this directory, but returns only once the rename is
    /// durable, and fails if the directory cannot be synced.
    pub fn write_atomic(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        write_and_rename(&self.dir, path, bytes)?;
        let ticket = self.renamed.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        if *synced >= ticket {
            return Ok(());
        }
        // Every ticket up to `upto` was taken after its rename, and this sync starts after
        // reading `upto`: it makes all of them durable.
        let upto = self.renamed.load(Ordering::SeqCst);
        std::fs::File::open(&self.dir)?.sync_all()?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        *synced = upto;
        Ok(())
    }

    /// How many directory fsyncs were made (for tests and benchmarks).
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/list.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn concurrent_writers_share_directory_syncs_and_every_file_is_whole() {
        let dir = tempfile::tempdir().unwrap();
        let sync = std::sync::Arc::new(DirSync::new(dir.path()));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let sync = sync.clone();
                let root = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let body = format!("thread {t} file {i}");
                        sync.write_atomic(&root.join(format!("{t}-{i}.txt")), body.as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for t in 0..8 {
            for i in 0..25 {
                let got = std::fs::read_to_string(dir.path().join(format!("{t}-{i}.txt"))).unwrap();
                assert_eq!(got, format!("thread {t} file {i}"));
            }
        }
        let names = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(names, 200, "no temp files left");
        assert!(
            (1..=200).contains(&sync.syncs()),
            "between one and one per file: {}",
            sync.syncs()
        );
    }

    #[test]
    fn a_lone_writer_syncs_the_directory_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let sync = DirSync::new(dir.path());
        for i in 0..3 {
            sync.write_atomic(&dir.path().join(format!("{i}")), b"x")
                .unwrap();
        }
        assert_eq!(
            sync.syncs(),
            3,
            "nobody else's sync can cover a later rename"
        );
    }
}
