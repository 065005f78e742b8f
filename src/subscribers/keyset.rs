//! Who the list is encrypted to, recorded inside the list: the guard against a changed
//! `recipients.txt`.
//!
//! age does not name X25519 recipients in a file's header, so the set of public keys the list was
//! encrypted to is written into the encrypted text itself (line 2, `# recipients: age1… age1…`,
//! see [`super::format`]). Every ordinary save compares `recipients.txt` with that record and
//! refuses any difference; only `aushang subscribers rekey`, run by someone who can decrypt the
//! list, writes a new record.
//!
//! Why inside the encrypted text and not in a committed file beside it: a plain file can be edited
//! in the same pull request that adds a key to `recipients.txt`, so it would prove nothing. The
//! encrypted text can only be written by someone who has replaced the whole list (which loses its
//! contents and changes nothing for the real one) or who can already read it. The record travels
//! with the list through `age -d`/`age -e` edits, and it is only ever compared, never trusted to
//! choose keys: a save encrypts to `recipients.txt` only when both agree.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::store::{DEMO_RECIPIENT, Identity, Recipients};

/// A set of age public keys (`age1…`), compared without order or comments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet(BTreeSet<String>);

impl KeySet {
    /// The keys of a parsed `recipients.txt`.
    pub fn of(recipients: &Recipients) -> KeySet {
        KeySet(
            recipients
                .entries
                .iter()
                .map(|r| r.key.to_string())
                .collect(),
        )
    }

    /// Parses the keys of a record line (after `# recipients:`), separated by spaces.
    pub fn parse(text: &str) -> Result<KeySet, String> {
        let mut keys = BTreeSet::new();
        for word in text.split_whitespace() {
            let key = age::x25519::Recipient::from_str(word)
                .map_err(|_| format!("`{word}` ist kein öffentlicher age-Schlüssel"))?;
            keys.insert(key.to_string());
        }
        if keys.is_empty() {
            return Err("kein öffentlicher Schlüssel ist festgehalten".into());
        }
        Ok(KeySet(keys))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains(key)
    }

    /// Keys in `self` but not in `other`.
    pub fn missing_from<'a>(&'a self, other: &'a KeySet) -> Vec<&'a str> {
        self.0.difference(&other.0).map(String::as_str).collect()
    }

    /// Whether one of these keys is the example site's demo key, whose secret is public: the
    /// built-in one, or the public half of `demo` (the site's `demo-identity.txt`, if any).
    pub fn includes_demo_key(&self, demo: Option<&Identity>) -> bool {
        self.contains(DEMO_RECIPIENT)
            || demo.is_some_and(|d| d.public_keys().iter().any(|k| self.contains(k)))
    }
}

impl fmt::Display for KeySet {
    /// The keys separated by spaces, as on the record line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.iter().collect();
        f.write_str(&keys.join(" "))
    }
}

/// What a loaded list knows about the keys it is encrypted to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeyRecord {
    /// A list made in memory (`init`, tests): its first save records `recipients.txt`.
    #[default]
    New,
    /// Loaded from a file that records these keys.
    Recorded(KeySet),
    /// Loaded from a file written before aushang recorded its keys (format v1 or v2): only
    /// `rekey` may save it.
    Unrecorded,
}

/// The keys added and removed by a change of `recipients.txt`, each with its holder as written
/// in the comment above it, for messages (public keys are not secret).
pub fn describe_change(recorded: &KeySet, recipients: &Recipients) -> String {
    let now = KeySet::of(recipients);
    let holder = |key: &str| {
        recipients
            .entries
            .iter()
            .find(|r| r.key.to_string() == key)
            .and_then(|r| r.holder.clone())
    };
    let mut parts = Vec::new();
    for key in now.missing_from(recorded) {
        parts.push(match holder(key) {
            Some(h) => format!("hinzugefügt {key} ({h})"),
            None => format!("hinzugefügt {key}"),
        });
    }
    for key in recorded.missing_from(&now) {
        parts.push(format!("entfernt {key}"));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_compare_without_order_and_refuse_non_keys() {
        let (a, _) = Identity::generate();
        let (b, _) = Identity::generate();
        let (a, b) = (a.public_keys().remove(0), b.public_keys().remove(0));
        let one = KeySet::parse(&format!("{a} {b}")).unwrap();
        let two = KeySet::parse(&format!("  {b}\t{a} ")).unwrap();
        assert_eq!(one, two);
        assert_eq!(KeySet::parse(&one.to_string()).unwrap(), one);
        assert!(
            KeySet::parse("age1nothing")
                .unwrap_err()
                .contains("ist kein öffentlicher age-Schlüssel")
        );
        assert!(KeySet::parse(" ").is_err());
        let just_a = KeySet::parse(&a).unwrap();
        assert_eq!(one.missing_from(&just_a), vec![b.as_str()]);
        assert!(!one.includes_demo_key(None));
        assert!(
            KeySet::parse(DEMO_RECIPIENT)
                .unwrap()
                .includes_demo_key(None)
        );
    }
}
