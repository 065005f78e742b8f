//! The outbox channel: writes every rendered message to `outbox/` as files a person can read.
//!
//! It is what a fresh clone (no tokens) delivers to, and a safe place to see exactly what each
//! subscriber would get. Recipients appear masked only; the subscriber id names the file.

use std::path::{Path, PathBuf};

use crate::broadcast::journal::file_key;
use crate::subscribers::Subscriber;

pub const OUTBOX_DIR: &str = "outbox";

#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(root: &Path) -> Outbox {
        Outbox { dir: root.join(OUTBOX_DIR) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal of outbox deliveries lives beside them, so local runs never touch the
    /// committed journal of the real channels.
    pub fn journal_dir(&self) -> PathBuf {
        self.dir.join("journal")
    }

    /// Writes one message for one subscriber; returns the file written (its id for the journal).
    pub fn deliver(
        &self,
        message_key: &str,
        subscriber: &Subscriber,
        header: &str,
        text: &str,
    ) -> std::io::Result<String> {
        let name = format!("{}.txt", subscriber.id);
        let path = self.dir.join(file_key(message_key)).join(&name);
        let body = format!(
            "An: {} ({}, Abonnent {})\n{header}\n\n{text}\n",
            subscriber.masked_address(),
            subscriber.channel,
            subscriber.id
        );
        crate::fsutil::write_atomic(&path, body.as_bytes())?;
        Ok(format!("outbox:{}/{name}", file_key(message_key)))
    }
}
