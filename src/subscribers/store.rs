//! Keys and the encrypted file: who may read `subscribers/subscribers.csv.age`, and reading and
//! writing it without the plaintext ever touching disk.
//!
//! * `subscribers/recipients.txt` lists the public keys (`age1…`) every write encrypts to; the
//!   `#` comment lines above a key name its holder. The file is also valid input for `age -R`.
//! * The secret key comes from `AUSHANG_IDENTITY` (the key text) or `AUSHANG_IDENTITY_FILE` (a
//!   path), like sops' `SOPS_AGE_KEY` / `SOPS_AGE_KEY_FILE`.
//! * The list is age X25519 with ASCII armor, so `age -d -i key` and `rage` read it and a file
//!   written by them loads here.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::secrecy::ExposeSecret;

use super::format::{self, FormatError};
use super::keyset::{KeyRecord, KeySet, describe_change};
use super::record::Subscriber;

pub const LIST_FILE: &str = "subscribers.csv.age";
pub const RECIPIENTS_FILE: &str = "recipients.txt";
pub const DEMO_IDENTITY_FILE: &str = "demo-identity.txt";
pub const IDENTITY_ENV: &str = "AUSHANG_IDENTITY";
pub const IDENTITY_FILE_ENV: &str = "AUSHANG_IDENTITY_FILE";

/// The public half of the example site's demo key (`subscribers/demo-identity.txt`). Known here as
/// well so a list still encrypted to it is recognised even after someone deletes the demo file.
pub const DEMO_RECIPIENT: &str = "age1gz2nwt8r2plxmjhdsw7xqcl7aw80ml59lcnh2u6fj2dwa4u57eaq4gwr0z";

/// Everything that can go wrong with keys and the encrypted list. Messages never hold an address
/// or key material.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `example` is the example site's demo key file when the site has one: only then does the
    /// hint name it (a real town has no demo key, and naming one there misleads).
    #[error(
        "kein Schlüssel zum Öffnen der Abonnentenliste: {IDENTITY_ENV} (der geheime Schlüssel, AGE-SECRET-KEY-1…) oder {IDENTITY_FILE_ENV} (der Pfad einer Schlüsseldatei) setzen{}",
        missing_identity_hint(.example.as_deref())
    )]
    MissingIdentity { example: Option<PathBuf> },
    #[error("die Schlüsseldatei {path} (aus {IDENTITY_FILE_ENV}) lässt sich nicht lesen: {source}")]
    IdentityFileUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{origin}, Zeile {line}: kein geheimer age-Schlüssel (erwartet AGE-SECRET-KEY-1…; nur X25519-Schlüssel werden unterstützt)"
    )]
    BadIdentity { origin: String, line: usize },
    #[error("{origin} enthält keinen geheimen Schlüssel (erwartet eine Zeile AGE-SECRET-KEY-1…)")]
    EmptyIdentity { origin: String },
    #[error(
        "dieser Schlüssel kann die Liste nicht entschlüsseln: er gehört nicht zu den Empfängern von {path}\n  Hinweis: Ihr öffentlicher Schlüssel ist {public}; jemand, der die Liste lesen kann, trägt ihn in {RECIPIENTS_FILE} ein und führt `aushang subscribers rekey` aus"
    )]
    WrongKey { path: PathBuf, public: String },
    #[error(
        "{path} ist beschädigt oder abgeschnitten: {detail}\n  Hinweis: aus Git wiederherstellen (`git checkout -- {path}`)"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path} (entschlüsselt): {source}")]
    Format { path: PathBuf, source: FormatError },
    #[error(
        "{path} wurde ersetzt, während dieser Lauf sie verwendete; aus ihr wurde nichts mehr gesendet\n  Hinweis: erneut starten: das Journal hält fest, was gesendet wurde, die neue Liste wird zuerst geprüft"
    )]
    Replaced { path: PathBuf },
    #[error(
        "unter {path} gibt es keine Abonnentenliste\n  Hinweis: `aushang subscribers init` legt eine an"
    )]
    MissingList { path: PathBuf },
    #[error(
        "{path} fehlt: dort stehen die öffentlichen Schlüssel, für die die Abonnentenliste verschlüsselt ist\n  Hinweis: `aushang subscribers init` legt sie für eine neue Gemeinde an"
    )]
    MissingRecipients { path: PathBuf },
    #[error(
        "{path} nennt keinen öffentlichen Schlüssel: niemand könnte die Liste lesen\n  Hinweis: für jede Person mit Schlüssel eine Zeile age1… ergänzen"
    )]
    EmptyRecipients { path: PathBuf },
    #[error(
        "{path}, Zeile {line}: kein öffentlicher age-Schlüssel (erwartet age1…; nur X25519-Schlüssel werden unterstützt)"
    )]
    BadRecipient { path: PathBuf, line: usize },
    #[error(
        "{path} nennt andere Schlüssel als die, für die die Abonnentenliste verschlüsselt ist ({change}); nichts wurde geschrieben\n  Hinweis: nur wer die Liste schon lesen kann, ändert, wer sie lesen darf: jeden Schlüssel in {path} mit seiner Inhaberin oder seinem Inhaber prüfen und `aushang subscribers rekey` ausführen; war keine Änderung gewollt, die Datei wiederherstellen (`git checkout origin/main -- {path}`)"
    )]
    RecipientsChanged { path: PathBuf, change: String },
    #[error(
        "{path} wurde von einem älteren aushang geschrieben und hält nicht fest, für welche Schlüssel sie verschlüsselt ist; nichts wurde geschrieben\n  Hinweis: die Schlüssel in {RECIPIENTS_FILE} prüfen, dann einmal `aushang subscribers rekey` ausführen: danach behält jedes Speichern genau diese Schlüssel"
    )]
    RecipientsUnrecorded { path: PathBuf },
    #[error(
        "{path} nennt den Demo-Schlüssel {key}, dessen geheimer Schlüssel öffentlich ist (subscribers/{DEMO_IDENTITY_FILE}), aber diese Abonnentenliste ist nicht die Demo-Liste des Beispiels; nichts wurde geschrieben\n  Hinweis: diesen Schlüssel aus {path} entfernen; das Repository einer echten Gemeinde löscht subscribers/{DEMO_IDENTITY_FILE}"
    )]
    DemoKey { path: PathBuf, key: String },
    #[error(
        "{path} gibt es schon: `init` überschreibt nie eine Abonnentenliste oder ihre Schlüssel"
    )]
    AlreadyExists { path: PathBuf },
    #[error("die Liste lässt sich nicht verschlüsseln: {0}")]
    Encrypt(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn missing_identity_hint(example: Option<&Path>) -> String {
    match example {
        Some(demo) => format!(
            "\n  Hinweis: für die Beispiel-Website {IDENTITY_FILE_ENV}={} verwenden",
            demo.display()
        ),
        None => format!(
            "\n  Hinweis: der Schlüssel wurde einmal von `aushang init` oder `aushang subscribers init` ausgegeben; ihn in einer Datei außerhalb des Repositorys aufbewahren und {IDENTITY_FILE_ENV} auf ihren Pfad setzen"
        ),
    }
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub fn list_path(subscribers_dir: &Path) -> PathBuf {
    subscribers_dir.join(LIST_FILE)
}

pub fn recipients_path(subscribers_dir: &Path) -> PathBuf {
    subscribers_dir.join(RECIPIENTS_FILE)
}

/// `subscribers/demo-identity.txt`: the example site's secret key, committed on purpose.
pub fn demo_identity_path(subscribers_dir: &Path) -> PathBuf {
    subscribers_dir.join(DEMO_IDENTITY_FILE)
}

// ---- identity ----------------------------------------------------------------------------------

/// One or more age X25519 secret keys. `Debug` shows only the public keys.
#[derive(Clone)]
pub struct Identity(Vec<age::x25519::Identity>);

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Identity")
            .field(&self.public_keys())
            .finish()
    }
}

impl Identity {
    /// The key from `AUSHANG_IDENTITY` and/or the key file named by `AUSHANG_IDENTITY_FILE`.
    pub fn from_env() -> Result<Identity, StoreError> {
        Identity::read_env(None)
    }

    /// As `from_env`, for the site whose subscriber folder is `subscribers_dir`: when no key is
    /// set, the hint names the demo key only if this site has one (the example).
    pub fn from_env_for(subscribers_dir: &Path) -> Result<Identity, StoreError> {
        let demo = demo_identity_path(subscribers_dir);
        Identity::read_env(demo.is_file().then_some(demo))
    }

    fn read_env(example: Option<PathBuf>) -> Result<Identity, StoreError> {
        let text = std::env::var(IDENTITY_ENV)
            .ok()
            .filter(|t| !t.trim().is_empty());
        let file = std::env::var_os(IDENTITY_FILE_ENV).filter(|p| !p.is_empty());
        let mut keys = Vec::new();
        if let Some(text) = text {
            keys.extend(Identity::from_text(&text, IDENTITY_ENV)?.0);
        }
        if let Some(path) = file {
            keys.extend(Identity::from_file(Path::new(&path))?.0);
        }
        if keys.is_empty() {
            return Err(StoreError::MissingIdentity { example });
        }
        Ok(Identity(keys))
    }

    /// Reads a key file as written by `age-keygen` (comment lines allowed).
    pub fn from_file(path: &Path) -> Result<Identity, StoreError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| StoreError::IdentityFileUnreadable {
                path: path.to_path_buf(),
                source,
            })?;
        Identity::from_text(&text, &path.display().to_string())
    }

    /// Parses key text; `origin` names where it came from in errors (never the key itself).
    pub fn from_text(text: &str, origin: &str) -> Result<Identity, StoreError> {
        let mut keys = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key =
                age::x25519::Identity::from_str(line).map_err(|_| StoreError::BadIdentity {
                    origin: origin.to_string(),
                    line: i + 1,
                })?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(StoreError::EmptyIdentity {
                origin: origin.to_string(),
            });
        }
        Ok(Identity(keys))
    }

    /// A fresh key pair; returns the identity and its secret text (`AGE-SECRET-KEY-1…`).
    pub fn generate() -> (Identity, String) {
        let key = age::x25519::Identity::generate();
        let secret = key.to_string().expose_secret().to_string();
        (Identity(vec![key]), secret)
    }

    /// The public keys (`age1…`) matching these secret keys.
    pub fn public_keys(&self) -> Vec<String> {
        self.0.iter().map(|k| k.to_public().to_string()).collect()
    }
}

// ---- recipients --------------------------------------------------------------------------------

/// One public key the list is encrypted to, with its holder from the comment above it.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub key: age::x25519::Recipient,
    /// The `#` comment line(s) directly above the key, e.g. "CI" or "Hauptamt Frau X".
    pub holder: Option<String>,
    pub line: usize,
}

/// The parsed `subscribers/recipients.txt`.
#[derive(Debug, Clone)]
pub struct Recipients {
    pub path: PathBuf,
    pub entries: Vec<Recipient>,
    demo: bool,
}

/// Each key line of recipients text, unchecked: (line number, key text, holder from the comment
/// lines right above it). Blank lines end a comment.
pub(crate) fn key_lines(text: &str) -> Vec<(usize, &str, Option<String>)> {
    let mut out = Vec::new();
    let mut comment: Vec<&str> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            comment.clear();
        } else if let Some(c) = line.strip_prefix('#') {
            comment.push(c.trim());
        } else {
            let holder = Some(comment.join(" ")).filter(|h| !h.is_empty());
            out.push((i + 1, line, holder));
            comment.clear();
        }
    }
    out
}

impl Recipients {
    pub fn load(subscribers_dir: &Path) -> Result<Recipients, StoreError> {
        let path = recipients_path(subscribers_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::MissingRecipients { path });
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        let mut recipients = Recipients::parse(&text, &path)?;
        if let Ok(demo) = Identity::from_file(&demo_identity_path(subscribers_dir)) {
            let demo_keys = demo.public_keys();
            recipients.demo |= recipients
                .entries
                .iter()
                .any(|r| demo_keys.contains(&r.key.to_string()));
        }
        Ok(recipients)
    }

    /// Parses recipients text; `path` is used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Recipients, StoreError> {
        let mut entries = Vec::new();
        for (line, text, holder) in key_lines(text) {
            let key =
                age::x25519::Recipient::from_str(text).map_err(|_| StoreError::BadRecipient {
                    path: path.to_path_buf(),
                    line,
                })?;
            entries.push(Recipient { key, holder, line });
        }
        if entries.is_empty() {
            return Err(StoreError::EmptyRecipients {
                path: path.to_path_buf(),
            });
        }
        let demo = entries.iter().any(|r| r.key.to_string() == DEMO_RECIPIENT);
        Ok(Recipients {
            path: path.to_path_buf(),
            entries,
            demo,
        })
    }

    /// Whether the example site's demo key can read the list: then nothing may go to a real channel.
    pub fn includes_demo_key(&self) -> bool {
        self.demo
    }

    /// The text of a new recipients file holding one key.
    pub fn file_text(holder: &str, public_key: &str) -> String {
        format!(
            "# Public keys that can read subscribers.csv.age (age X25519). One key per line; the\n\
             # comment line above each key names its holder. After adding or removing a key run\n\
             # `aushang subscribers rekey`. This file also works with `age -R recipients.txt`.\n\
             \n# {holder}\n{public_key}\n"
        )
    }
}

// ---- the list ----------------------------------------------------------------------------------

/// The decrypted subscriber list, held in memory only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberList {
    pub(crate) subscribers: Vec<Subscriber>,
    /// The keys the file it was loaded from is encrypted to: every save keeps exactly these.
    keys: KeyRecord,
}

/// An encrypted list written to a temp file next to the real one but not yet renamed over it.
/// `SubscriberList::save` commits at once; the split exists so tests can stop between the steps.
#[doc(hidden)]
pub struct PendingSave {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl PendingSave {
    pub fn commit(self) -> Result<(), StoreError> {
        let dir = self
            .target
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        self.temp
            .persist(&self.target)
            .map_err(|e| io_err(&self.target)(e.error))?;
        // The rename only survives a power cut once the directory entry is on disk.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    pub fn temp_path(&self) -> &Path {
        self.temp.path()
    }
}

impl SubscriberList {
    /// A list made in memory: its first save encrypts to `recipients.txt` and records those keys
    /// (for `init` and tests; every command that changes a list loads it instead).
    pub fn new(subscribers: Vec<Subscriber>) -> SubscriberList {
        SubscriberList {
            subscribers,
            keys: KeyRecord::New,
        }
    }

    /// Decrypts and parses `subscribers/subscribers.csv.age`.
    pub fn load(subscribers_dir: &Path, identity: &Identity) -> Result<SubscriberList, StoreError> {
        let path = list_path(subscribers_dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::MissingList { path });
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        let plaintext = decrypt(&bytes, identity, &path)?;
        let (subscribers, recorded) =
            format::decode_recorded(&plaintext).map_err(|source| StoreError::Format {
                path: path.clone(),
                source,
            })?;
        Ok(SubscriberList {
            subscribers,
            keys: recorded.map_or(KeyRecord::Unrecorded, KeyRecord::Recorded),
        })
    }

    /// The keys the loaded file is encrypted to, as it records them.
    pub fn key_record(&self) -> &KeyRecord {
        &self.keys
    }

    /// Refuses `recipients` unless they are exactly the keys the list is encrypted to (any list
    /// loaded from a file; a new list takes them). Every ordinary save checks this first.
    pub fn check_recipients(&self, recipients: &Recipients) -> Result<(), StoreError> {
        match &self.keys {
            KeyRecord::New => Ok(()),
            // A recorded demo key is only the example's own when the demo key opens the list;
            // otherwise the list file was replaced by one made to look like it (its public keys
            // are no secret).
            KeyRecord::Recorded(keys) if *keys == KeySet::of(recipients) => {
                match recipients.path.parent() {
                    Some(dir) if recipients.includes_demo_key() => {
                        super::companions::check_demo_key(dir, recipients)
                    }
                    _ => Ok(()),
                }
            }
            KeyRecord::Recorded(keys) => Err(StoreError::RecipientsChanged {
                path: recipients.path.clone(),
                change: describe_change(keys, recipients),
            }),
            KeyRecord::Unrecorded => Err(StoreError::RecipientsUnrecorded {
                path: recipients
                    .path
                    .parent()
                    .map(list_path)
                    .unwrap_or_else(|| PathBuf::from(LIST_FILE)),
            }),
        }
    }

    /// `aushang subscribers rekey`: from now on the list is encrypted to `recipients` (the caller
    /// could decrypt it, so may choose who else can). The demo key, whose secret is public, is
    /// only kept for a list that the demo key can read already (the example's own).
    /// `demo` is the site's `demo-identity.txt`, if any; `demo_reads_file` says whether it opens
    /// the list file as it is (for lists that do not record their keys yet).
    pub fn rekey(
        &mut self,
        recipients: &Recipients,
        demo: Option<&Identity>,
        demo_reads_file: bool,
    ) -> Result<(), StoreError> {
        let new = KeySet::of(recipients);
        if new.includes_demo_key(demo) {
            let demo_list = match &self.keys {
                KeyRecord::Recorded(old) => old.includes_demo_key(demo),
                KeyRecord::New => true,
                KeyRecord::Unrecorded => demo_reads_file,
            };
            if !demo_list {
                let mut demo_keys = vec![DEMO_RECIPIENT.to_string()];
                demo_keys.extend(demo.map(Identity::public_keys).unwrap_or_default());
                let key = demo_keys
                    .into_iter()
                    .find(|k| new.contains(k))
                    .expect("a demo key is among them");
                return Err(StoreError::DemoKey {
                    path: recipients.path.clone(),
                    key,
                });
            }
        }
        self.keys = KeyRecord::Recorded(new);
        Ok(())
    }

    pub fn subscribers(&self) -> &[Subscriber] {
        &self.subscribers
    }

    /// Encrypts to exactly `recipients` and replaces the file atomically (temp file, fsync, rename).
    /// Refuses (writing nothing) when `recipients` are not the keys the list is encrypted to; see
    /// [`check_recipients`](Self::check_recipients) and [`rekey`](Self::rekey).
    pub fn save(&self, subscribers_dir: &Path, recipients: &Recipients) -> Result<(), StoreError> {
        self.prepare_save(subscribers_dir, recipients)?.commit()
    }

    /// The first half of [`save`](Self::save): the encrypted temp file, fsynced, not yet renamed.
    #[doc(hidden)]
    pub fn prepare_save(
        &self,
        subscribers_dir: &Path,
        recipients: &Recipients,
    ) -> Result<PendingSave, StoreError> {
        self.check_recipients(recipients)?;
        let target = list_path(subscribers_dir);
        let temp = tempfile::Builder::new()
            .prefix(".subscribers-")
            .suffix(".age.tmp")
            .tempfile_in(subscribers_dir)
            .map_err(io_err(subscribers_dir))?;
        let plaintext = format::encode(&self.subscribers, &KeySet::of(recipients));
        let file = BufWriter::new(temp.as_file());
        encrypt_into(&plaintext, recipients, file).map_err(|e| match e {
            EncryptFailure::Io(source) => StoreError::Io {
                path: target.clone(),
                source,
            },
            EncryptFailure::Age(msg) => StoreError::Encrypt(msg),
        })?;
        temp.as_file().sync_all().map_err(io_err(&target))?;
        Ok(PendingSave { temp, target })
    }
}

enum EncryptFailure {
    Io(std::io::Error),
    Age(String),
}

impl From<std::io::Error> for EncryptFailure {
    fn from(e: std::io::Error) -> Self {
        EncryptFailure::Io(e)
    }
}

fn encrypt_into<W: Write>(
    plaintext: &[u8],
    recipients: &Recipients,
    out: W,
) -> Result<(), EncryptFailure> {
    let encryptor = age::Encryptor::with_recipients(
        recipients
            .entries
            .iter()
            .map(|r| &r.key as &dyn age::Recipient),
    )
    .map_err(|e| EncryptFailure::Age(e.to_string()))?;
    let armor = ArmoredWriter::wrap_output(out, Format::AsciiArmor)?;
    let mut writer = encryptor.wrap_output(armor)?;
    writer.write_all(plaintext)?;
    let mut out = writer.finish()?.finish()?;
    out.flush()?;
    Ok(())
}

/// Encrypts in memory (for tests and benchmarks that build files without a directory).
pub fn encrypt_to_vec(plaintext: &[u8], recipients: &Recipients) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    encrypt_into(plaintext, recipients, &mut out).map_err(|e| match e {
        EncryptFailure::Io(e) => StoreError::Encrypt(e.to_string()),
        EncryptFailure::Age(m) => StoreError::Encrypt(m),
    })?;
    Ok(out)
}

/// Decrypts armored (or binary) age bytes in memory; `path` names the source in errors.
pub fn decrypt(bytes: &[u8], identity: &Identity, path: &Path) -> Result<Vec<u8>, StoreError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(corrupt(path, "die Datei ist leer".into()));
    }
    let mut reader = decrypting_reader(bytes, identity, path)?;
    let mut plaintext = Vec::with_capacity(bytes.len());
    reader.read_to_end(&mut plaintext).map_err(|e| {
        corrupt(
            path,
            format!("der verschlüsselte Inhalt ist nicht stimmig ({e})"),
        )
    })?;
    Ok(plaintext)
}

pub(super) fn corrupt(path: &Path, detail: String) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        detail,
    }
}

/// Whether `identity` can open the list file in `subscribers_dir` (only its header is read).
pub fn can_open(subscribers_dir: &Path, identity: &Identity) -> bool {
    let path = list_path(subscribers_dir);
    std::fs::File::open(&path)
        .ok()
        .is_some_and(|f| decrypting_reader(f, identity, &path).is_ok())
}

/// Checks the header and key and returns a reader of the plaintext, decrypted (and
/// authenticated) one 64 KiB chunk at a time as it is read.
pub(super) fn decrypting_reader<R: Read>(
    input: R,
    identity: &Identity,
    path: &Path,
) -> Result<age::stream::StreamReader<ArmoredReader<BufReader<R>>>, StoreError> {
    let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(input))
        .map_err(|e| corrupt(path, format!("keine lesbare age-Datei ({e})")))?;
    decryptor
        .decrypt(identity.0.iter().map(|k| k as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => StoreError::WrongKey {
                path: path.to_path_buf(),
                public: identity.public_keys().join(", "),
            },
            other => corrupt(path, format!("der Kopf ist nicht stimmig ({other})")),
        })
}
