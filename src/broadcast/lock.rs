//! One broadcast per site at a time: an OS file lock that dies with its process.
//!
//! A second process is refused at once (not queued, not interleaved). Because the kernel drops
//! the lock when the holder exits, a killed run never blocks the next one; a stale lock file
//! on disk means nothing.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = ".aushang.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another aushang run is working on this site right now ({holder}); \
         refusing to start a second one so nobody gets a message twice — wait for it to finish"
    )]
    Busy { holder: String },
    #[error("cannot open the lock file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Held for the whole run; dropping it (or the process dying) releases the lock.
#[derive(Debug)]
pub struct SiteLock {
    _file: File,
}

impl SiteLock {
    pub fn acquire(root: &Path) -> Result<SiteLock, LockError> {
        let path = root.join(LOCK_FILE);
        let io = |source| LockError::Io { path: path.clone(), source };
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
                    .unwrap_or_else(|| "unknown process".into());
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
        assert!(err.to_string().contains(&format!("pid {}", std::process::id())));
        drop(first);
        SiteLock::acquire(dir.path()).unwrap();
    }
}
