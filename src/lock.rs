//! One process at a time works on a site: an OS file lock that dies with its process.
//!
//! A broadcast or an inbox pull is refused at once when another holds it (not queued, not
//! interleaved). A change of the subscriber list (`aushang subscribers add` …) waits a while for
//! it instead, so two people adding at the same time both get their change in rather than one
//! overwriting the other. Because the kernel drops the lock when the holder exits, a killed run
//! never blocks the next one; a stale lock file on disk means nothing.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const LOCK_FILE: &str = ".aushang.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "ein anderer aushang-Lauf arbeitet gerade an dieser Website ({holder}); \
         ein zweiter startet nicht, damit niemand eine Nachricht doppelt bekommt — warten Sie, bis er fertig ist"
    )]
    Busy { holder: String },
    #[error(
        "ein anderer aushang-Lauf arbeitet seit {waited} s an dieser Website ({holder}); nichts wurde geändert — versuchen Sie es erneut, wenn er fertig ist"
    )]
    StillBusy { holder: String, waited: u64 },
    #[error("die Sperrdatei {path} lässt sich nicht öffnen: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held for the whole run; dropping it (or the process dying) releases the lock.
#[derive(Debug)]
pub struct SiteLock {
    _file: File,
}

impl SiteLock {
    /// Takes the lock, or waits for it up to `patience` (checking every 50 ms).
    pub fn wait(root: &Path, patience: Duration) -> Result<SiteLock, LockError> {
        let start = Instant::now();
        loop {
            match SiteLock::acquire(root) {
                Err(LockError::Busy { holder }) if start.elapsed() >= patience => {
                    return Err(LockError::StillBusy {
                        holder,
                        waited: start.elapsed().as_secs(),
                    });
                }
                Err(LockError::Busy { .. }) => std::thread::sleep(Duration::from_millis(50)),
                other => return other,
            }
        }
    }

    /// Takes the lock, or refuses at once if another process holds it.
    pub fn acquire(root: &Path) -> Result<SiteLock, LockError> {
        let path = root.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "unbekannter Prozess".into());
                return Err(LockError::Busy { holder });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        write!(file, "pid {}", std::process::id()).map_err(io)?;
        Ok(SiteLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = SiteLock::acquire(dir.path()).unwrap();
        let err = SiteLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id()))
        );
        drop(first);
        SiteLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn waiting_gets_the_lock_once_it_is_free_or_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let first = SiteLock::acquire(dir.path()).unwrap();
        let err = SiteLock::wait(dir.path(), Duration::from_millis(120)).unwrap_err();
        assert!(matches!(err, LockError::StillBusy { .. }), "{err}");
        let root = dir.path().to_path_buf();
        let waiter =
            std::thread::spawn(move || SiteLock::wait(&root, Duration::from_secs(30)).is_ok());
        std::thread::sleep(Duration::from_millis(150));
        assert!(!waiter.is_finished(), "waits while the lock is held");
        drop(first);
        assert!(waiter.join().unwrap());
    }
}
