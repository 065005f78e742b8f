//! Reading the encrypted list one row at a time, for runs that must not hold every subscriber in
//! memory (a broadcast to 100,000 people): decrypted and parsed while it is read, so the plaintext
//! never exists as a whole, not even in memory. What only the whole list can show (an id or an
//! address used twice) is checked with compact numbers instead of the rows.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use age::armor::ArmoredReader;

pub use super::duplicates::DuplicateCheck;
use super::format::{self, FormatError};
use super::record::Subscriber;
use super::store::{Identity, StoreError, corrupt, decrypting_reader, io_err, list_path};

type PlainReader = BufReader<age::stream::StreamReader<ArmoredReader<BufReader<std::fs::File>>>>;

/// Which version of the list file a stream read: two streams with the same fingerprint read the
/// same bytes (the list is only ever replaced by rename, which gives a new file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
}

impl Fingerprint {
    fn of(meta: &std::fs::Metadata) -> Fingerprint {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Fingerprint {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        }
    }
}

/// `subscribers/subscribers.csv.age` read one row at a time, decrypted while reading: memory
/// stays the same whether the list holds 100 or 200,000 people, and the plaintext never exists
/// as a whole, not even in memory. Yields each subscriber with the line of the decrypted file it
/// is on; stops after the first error (a bad row, or a damaged chunk of the file).
pub struct SubscriberStream {
    path: PathBuf,
    rows: format::Rows<PlainReader>,
    fingerprint: Fingerprint,
}

impl SubscriberStream {
    pub fn open(
        subscribers_dir: &Path,
        identity: &Identity,
    ) -> Result<SubscriberStream, StoreError> {
        let path = list_path(subscribers_dir);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::MissingList { path });
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        // The fingerprint of the open file is the one of the bytes read, even if a writer
        // renames a new list into place meanwhile.
        let fingerprint = Fingerprint::of(&file.metadata().map_err(io_err(&path))?);
        if fingerprint.len == 0 {
            return Err(corrupt(&path, "die Datei ist leer".into()));
        }
        let plain = decrypting_reader(file, identity, &path)?;
        let rows = format::Rows::new(BufReader::with_capacity(64 * 1024, plain))
            .map_err(|e| format_error(&path, e))?;
        Ok(SubscriberStream {
            path,
            rows,
            fingerprint,
        })
    }

    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Reads to the end, checking every row and what only the whole list can show (no id and no
    /// address twice), and hands each subscriber to `each`. Returns the number of rows. Costs
    /// about 24–47 bytes per row for the duplicate check, freed on return.
    pub fn scan(self, mut each: impl FnMut(&Subscriber)) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let mut duplicates = DuplicateCheck::default();
        let mut rows = 0;
        for row in self {
            let (line, s) = row?;
            duplicates
                .check(line, &s)
                .map_err(|e| format_error(&path, e))?;
            each(&s);
            rows += 1;
        }
        Ok(rows)
    }
}

impl Iterator for SubscriberStream {
    type Item = Result<(u64, Subscriber), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.rows.next()?;
        Some(row.map_err(|e| format_error(&self.path, e)))
    }
}

fn format_error(path: &Path, e: FormatError) -> StoreError {
    match e {
        // A chunk that fails authentication is damage to the file, not a bad row.
        FormatError::Unreadable { line, detail } => corrupt(
            path,
            format!("der verschlüsselte Inhalt ist nach Zeile {line} nicht stimmig ({detail})"),
        ),
        source => StoreError::Format {
            path: path.to_path_buf(),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribers::keyset::KeySet;
    use crate::subscribers::record::Channel;
    use crate::subscribers::store::{RECIPIENTS_FILE, Recipients, SubscriberList, encrypt_to_vec};

    fn person(i: u64) -> Subscriber {
        Subscriber {
            id: format!("s_{i:016x}"),
            channel: Channel::WhatsApp,
            address: format!("+999{i:010}"),
            name: Some("Erika".into()),
            topics: vec!["abfall".into()],
            language: "de".into(),
            status: super::super::record::Status::Active,
            consent_at: None,
            consent_source: "web".into(),
            consent_text: "v1".into(),
            confirmed_at: None,
            unsubscribed_at: None,
            bsuid: None,
        }
    }

    fn site(list: &[Subscriber]) -> (tempfile::TempDir, Identity, Recipients) {
        let dir = tempfile::tempdir().unwrap();
        let (identity, _) = Identity::generate();
        let text = Recipients::file_text("test", &identity.public_keys()[0]);
        let recipients = Recipients::parse(&text, &dir.path().join(RECIPIENTS_FILE)).unwrap();
        SubscriberList::new(list.to_vec())
            .save(dir.path(), &recipients)
            .unwrap();
        (dir, identity, recipients)
    }

    #[test]
    fn the_stream_yields_what_load_gives_across_many_chunks() {
        // ~100 bytes a row: about four of age's 64 KiB chunks
        let list: Vec<Subscriber> = (0..2500).map(person).collect();
        let (dir, identity, _) = site(&list);
        let streamed: Vec<Subscriber> = SubscriberStream::open(dir.path(), &identity)
            .unwrap()
            .map(|r| r.unwrap().1)
            .collect();
        assert_eq!(
            streamed,
            SubscriberList::load(dir.path(), &identity)
                .unwrap()
                .subscribers
        );
        let mut seen = 0;
        let rows = SubscriberStream::open(dir.path(), &identity)
            .unwrap()
            .scan(|_| seen += 1)
            .unwrap();
        assert_eq!((rows, seen), (2500, 2500));
    }

    #[test]
    fn the_stream_refuses_the_wrong_key_and_scan_finds_duplicates() {
        let mut list: Vec<Subscriber> = (0..10).map(person).collect();
        let (dir, _, _) = site(&list);
        let (other, _) = Identity::generate();
        assert!(matches!(
            SubscriberStream::open(dir.path(), &other).err(),
            Some(StoreError::WrongKey { .. })
        ));
        // a list written by hand (age CLI) may hold what `save` never writes
        list[7].id = list[2].id.clone();
        let (identity, _) = Identity::generate();
        let text = Recipients::file_text("test", &identity.public_keys()[0]);
        let recipients = Recipients::parse(&text, &dir.path().join(RECIPIENTS_FILE)).unwrap();
        // writes `list` encrypted as it is and returns what scanning it says
        let scan_error_of = |list: &[Subscriber]| {
            let bytes =
                encrypt_to_vec(&format::encode(list, &KeySet::of(&recipients)), &recipients)
                    .unwrap();
            std::fs::write(list_path(dir.path()), bytes).unwrap();
            SubscriberStream::open(dir.path(), &identity)
                .unwrap()
                .scan(|_| {})
                .unwrap_err()
                .to_string()
        };
        let err = scan_error_of(&list);
        assert!(
            err.ends_with("Zeile 11: die ID `s_0000000000000002` kommt zweimal vor"),
            "{err}"
        );
        list[7].id = "s_0000000000000077".into();
        list[9].address = list[1].address.clone();
        let err = scan_error_of(&list);
        assert!(
            err.ends_with("Zeile 13: whatsapp +99900*****001 steht zweimal in der Liste"),
            "{err}"
        );
    }
}
