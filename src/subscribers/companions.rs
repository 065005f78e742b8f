//! The other age files under `subscribers/` (the inbox's waiting sign-up requests,
//! `subscribers/inbox/requests.age`): encrypted to the same keys as the list, under the same
//! rule, and re-encrypted with it by `aushang subscribers rekey`.
//!
//! * A write encrypts to `recipients.txt` only when the list records exactly those keys
//!   ([`SubscriberList::check_recipients`]), and never to the demo key unless the demo key opens
//!   the list (the example site's own): [`check_write`].
//! * The inbox server cannot decrypt the list, so it checks what it can see without a key:
//!   [`check_for_server`] (the demo key, and the number of keys in the list's age header).
//!   What it cannot see is one key swapped for another: age X25519 stanzas do not name their
//!   recipient, a fingerprint committed beside the list can be edited in the same pull request,
//!   and pinning the keys on the server would not tell a rekey from a swap (every save gives the
//!   list a new header). That case rests on `check`, which flags every change of
//!   `recipients.txt` in a pull request, and on the list's own record, which the next pull
//!   compares before it takes any event.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use age::armor::ArmoredReader;

use super::store::{
    self, DEMO_RECIPIENT, Identity, LIST_FILE, RECIPIENTS_FILE, Recipients, StoreError,
    SubscriberList, demo_identity_path,
};

/// Refuses a write to a file encrypted to `recipients` unless the list records exactly those keys
/// and the demo key is not among them (or is, and opens the list: the example's demo list).
pub fn check_write(
    list: &SubscriberList,
    subscribers_dir: &Path,
    recipients: &Recipients,
) -> Result<(), StoreError> {
    list.check_recipients(recipients)?;
    check_demo_key(subscribers_dir, recipients)
}

/// `recipients.txt` may name the demo key (whose secret is public) only where the demo key opens
/// the list: the example site. The same rule as `check` (`review::demo_key_problems`).
pub fn check_demo_key(subscribers_dir: &Path, recipients: &Recipients) -> Result<(), StoreError> {
    if !recipients.includes_demo_key() {
        return Ok(());
    }
    let demo = Identity::from_file(&demo_identity_path(subscribers_dir)).ok();
    if demo
        .as_ref()
        .is_some_and(|d| store::can_open(subscribers_dir, d))
    {
        return Ok(());
    }
    let mut demo_keys = vec![DEMO_RECIPIENT.to_string()];
    demo_keys.extend(demo.map(|d| d.public_keys()).unwrap_or_default());
    let key = recipients
        .entries
        .iter()
        .map(|r| r.key.to_string())
        .find(|k| demo_keys.contains(k))
        .unwrap_or_else(|| DEMO_RECIPIENT.to_string());
    Err(StoreError::DemoKey {
        path: recipients.path.clone(),
        key,
    })
}

/// What the inbox server (which holds no secret key) checks before it encrypts anything to
/// `recipients.txt`: the demo-key rule, and that `recipients.txt` names as many keys as the list
/// is encrypted to. age does not name X25519 recipients in its header, so a key swapped for
/// another cannot be seen without a secret key; a key added or removed without a `rekey` can.
/// Returns a note when the list file is absent (a checkout with only `recipients.txt`): then only
/// the demo-key rule could be checked.
pub fn check_for_server(
    subscribers_dir: &Path,
    recipients: &Recipients,
) -> Result<Option<String>, String> {
    check_demo_key(subscribers_dir, recipients).map_err(|e| e.to_string())?;
    let list = store::list_path(subscribers_dir);
    let file = match std::fs::File::open(&list) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Some(format!(
                "{} fehlt in diesem Checkout: {RECIPIENTS_FILE} lässt sich nicht mit den Schlüsseln vergleichen, für die die Liste verschlüsselt ist",
                list.display()
            )));
        }
        Err(e) => return Err(format!("{}: {e}", list.display())),
    };
    let in_header = x25519_stanzas(file)
        .map_err(|e| format!("{}: keine lesbare age-Datei ({e})", list.display()))?;
    let listed = recipients.entries.len();
    if in_header != listed {
        return Err(format!(
            "{path} nennt {listed} Schlüssel, {LIST_FILE} ist aber für {in_header} verschlüsselt: \
             {RECIPIENTS_FILE} wurde ohne `aushang subscribers rekey` geändert, Ereignisse würden \
             also für Schlüssel verschlüsselt, denen die Liste nicht traut; nichts wurde gestartet\n  Hinweis: \
             jeden Schlüssel in {path} mit seiner Inhaberin oder seinem Inhaber prüfen; jemand, der die Liste \
             lesen kann, führt `aushang subscribers rekey` aus und committet; dann diesen Checkout aktualisieren \
             (`git pull`) und neu starten. War keine Änderung gewollt, die Datei wiederherstellen \
             (`git checkout origin/main -- subscribers/{RECIPIENTS_FILE}`)",
            path = recipients.path.display()
        ));
    }
    Ok(None)
}

/// Even the example's own demo list must not receive real people's sign-ups: its secret key is
/// public and the list is committed. So a server whose `recipients.txt` names the demo key only
/// runs where no citizen can reach it: an `inbox.url` on a reserved name (`.example`, `.test`,
/// `.invalid`, `.localhost`, `localhost`) or a loopback address. Mirrors `broadcast`, which
/// never sends the demo list to a real channel.
pub fn check_demo_key_unreachable(recipients: &Recipients, inbox_url: &str) -> Result<(), String> {
    if !recipients.includes_demo_key() {
        return Ok(());
    }
    let host = url::Url::parse(inbox_url).ok().and_then(|u| {
        u.host_str()
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
    });
    let reserved = host.as_deref().is_some_and(|h| {
        let h = h.trim_start_matches('[').trim_end_matches(']');
        h == "localhost"
            || [".example", ".test", ".invalid", ".localhost"]
                .iter()
                .any(|tld| h.ends_with(tld))
            || crate::config::is_loopback_host(h)
    });
    if reserved {
        return Ok(());
    }
    Err(format!(
        "{path} nennt den Demo-Schlüssel {DEMO_RECIPIENT}, dessen geheimer Schlüssel öffentlich ist, \
         aber inbox.url `{inbox_url}` ist für echte Menschen erreichbar: ihre Nummern würden für \
         einen Schlüssel verschlüsselt, den jeder lesen kann\n  Hinweis: eine echte Gemeinde legt \
         ihren eigenen Schlüssel an (`aushang subscribers init`, siehe docs/subscribers.md), \
         entfernt den Demo-Schlüssel aus {path} und löscht subscribers/{demo}",
        path = recipients.path.display(),
        demo = store::DEMO_IDENTITY_FILE,
    ))
}

/// How many X25519 stanzas (`-> X25519 …`) the age header of `input` holds.
fn x25519_stanzas<R: Read>(input: R) -> std::io::Result<usize> {
    let mut reader = BufReader::new(ArmoredReader::new(input));
    let mut line = Vec::new();
    let mut count = 0;
    let mut first = true;
    // The header is small; a file without its end within 1 MiB is not an age file.
    let mut budget = 1 << 20;
    loop {
        line.clear();
        let n = reader.by_ref().take(budget).read_until(b'\n', &mut line)?;
        if n == 0 || !line.ends_with(b"\n") {
            return Err(std::io::Error::other("der Kopf hat kein Ende"));
        }
        budget -= n as u64;
        if first {
            if line != b"age-encryption.org/v1\n" {
                return Err(std::io::Error::other("kein age-Kopf"));
            }
            first = false;
        } else if line.starts_with(b"---") {
            return Ok(count);
        } else if line.starts_with(b"-> X25519 ") {
            count += 1;
        }
    }
}

/// The other age files under `subscribers/`, decrypted in memory, to be written again to the
/// new keys after a rekey.
pub struct Companions(Vec<(PathBuf, Vec<u8>)>);

impl Companions {
    /// Decrypts every `*.age` file under `subscribers_dir` except the list itself. Fails (before
    /// anything is written) if one cannot be read with `identity`.
    pub fn load(subscribers_dir: &Path, identity: &Identity) -> Result<Companions, StoreError> {
        let mut found = Vec::new();
        collect(subscribers_dir, &mut found).map_err(|source| StoreError::Io {
            path: subscribers_dir.to_path_buf(),
            source,
        })?;
        let list = store::list_path(subscribers_dir);
        found.retain(|p| *p != list);
        found.sort();
        let mut out = Vec::new();
        for path in found {
            let bytes = std::fs::read(&path).map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
            let plain = store::decrypt(&bytes, identity, &path)?;
            out.push((path, plain));
        }
        Ok(Companions(out))
    }

    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.0.iter().map(|(p, _)| p.as_path())
    }

    /// Encrypts each file to `recipients` (under [`check_write`]) and replaces it atomically.
    pub fn save(
        &self,
        list: &SubscriberList,
        subscribers_dir: &Path,
        recipients: &Recipients,
    ) -> Result<(), StoreError> {
        check_write(list, subscribers_dir, recipients)?;
        for (path, plain) in &self.0 {
            let armored = store::encrypt_to_vec(plain, recipients)?;
            crate::fsutil::write_atomic(path, &armored).map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            collect(&path, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "age") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipients_of(keys: &[&Identity]) -> Recipients {
        let mut text = String::new();
        for k in keys {
            text.push_str(&format!("{}\n", k.public_keys()[0]));
        }
        Recipients::parse(&text, Path::new("recipients.txt")).unwrap()
    }

    #[test]
    fn the_demo_key_only_serves_where_nobody_real_can_reach_it() {
        let demo =
            Recipients::parse(&format!("{DEMO_RECIPIENT}\n"), Path::new("recipients.txt")).unwrap();
        for url in [
            "https://inbox.musterbach.example/",
            "http://127.0.0.1:8087/",
            "http://[::1]:8087/",
            "http://localhost/",
            "https://inbox.town.test/",
        ] {
            assert!(check_demo_key_unreachable(&demo, url).is_ok(), "{url}");
        }
        let err = check_demo_key_unreachable(&demo, "https://inbox.musterbach.de/").unwrap_err();
        assert!(err.contains("ist für echte Menschen erreichbar"), "{err}");
        let (real, _) = Identity::generate();
        assert!(
            check_demo_key_unreachable(&recipients_of(&[&real]), "https://inbox.musterbach.de/")
                .is_ok()
        );
    }

    #[test]
    fn the_header_tells_how_many_keys_a_file_is_encrypted_to() {
        let (a, _) = Identity::generate();
        let (b, _) = Identity::generate();
        let one = store::encrypt_to_vec(b"x", &recipients_of(&[&a])).unwrap();
        let two = store::encrypt_to_vec(b"x", &recipients_of(&[&a, &b])).unwrap();
        assert_eq!(x25519_stanzas(&one[..]).unwrap(), 1);
        assert_eq!(x25519_stanzas(&two[..]).unwrap(), 2);
        assert!(x25519_stanzas(&b"not age\n"[..]).is_err());
        assert!(x25519_stanzas(&b"age-encryption.org/v1\n-> X25519 a\n"[..]).is_err());
    }
}
