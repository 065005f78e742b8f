//! Web sign-ups for a number that is already on the list (active, pending, unreachable or
//! unsubscribed) change nothing on its row: anyone can type any number into the form. The
//! request (topics, consent text version, language, time; never the typed name) waits here until
//! the person answers JA or writes START from that number; only then is it applied. An
//! unsubscribed row thus keeps its proof of the unsubscribe until the person confirms, and a
//! request nobody confirms is simply dropped after `subscribers.prune_pending_after`, leaving
//! the row as it was.
//!
//! Stored in `subscribers/inbox/requests.age`, encrypted to the list's recipients like the list
//! itself (topics tied to a subscriber are personal data).

use std::path::{Path, PathBuf};

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::subscribers::companions;
use crate::subscribers::{Identity, Recipients, Status, Subscriber, SubscriberList};

pub const REQUESTS_FILE: &str = "requests.age";

/// One unconfirmed change of an existing subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    /// The subscriber id of the row it would change.
    pub sub: String,
    /// The sign-up event that asked for it.
    pub event: String,
    pub at: Timestamp,
    pub topics: Vec<String>,
    pub consent_version: String,
    pub language: String,
}

impl ChangeRequest {
    /// Applies the change its person confirmed at `at` to their `row`: active, with the
    /// request's topics, language and consent (from the web form). Returns the row's status
    /// before.
    pub fn confirm(self, row: &mut Subscriber, at: Timestamp) -> Status {
        let was = row.status;
        row.status = Status::Active;
        row.topics = self.topics;
        row.language = self.language;
        row.consent_at = Some(self.at);
        row.consent_source = "web".into();
        row.consent_text = self.consent_version;
        row.confirmed_at = Some(at);
        row.unsubscribed_at = None;
        was
    }
}

/// The waiting requests; at most one per subscriber (the newest).
#[derive(Debug, Default)]
pub struct Requests {
    path: Option<PathBuf>,
    items: Vec<ChangeRequest>,
    changed: bool,
}

impl Requests {
    /// Reads `requests.age` in `records_dir` (none: no requests).
    pub fn load(records_dir: &Path, identity: &Identity) -> anyhow::Result<Requests> {
        let path = records_dir.join(REQUESTS_FILE);
        let items = match std::fs::read(&path) {
            Ok(bytes) => {
                let plain = crate::subscribers::store::decrypt(&bytes, identity, &path)?;
                serde_json::from_slice(&plain).with_context(|| {
                    format!(
                        "{}: keine Liste von Anmeldewünschen (aus git wiederherstellen)",
                        path.display()
                    )
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(anyhow::anyhow!("{}: {e}", path.display())),
        };
        Ok(Requests {
            path: Some(path),
            items,
            changed: false,
        })
    }

    /// Writes the file (encrypted, atomically) if anything changed: to the keys the list is
    /// encrypted to, under the list's rule (refused, writing nothing, when `recipients.txt`
    /// differs from them or names the demo key of a site that is not the demo; see
    /// [`companions::check_write`]).
    pub fn save(&mut self, list: &SubscriberList, recipients: &Recipients) -> anyhow::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if !self.changed {
            return Ok(());
        }
        if self.items.is_empty() && !path.exists() {
            self.changed = false;
            return Ok(());
        }
        // `subscribers/inbox/requests.age`: the list lives one folder up.
        let subscribers_dir = path
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."));
        companions::check_write(list, subscribers_dir, recipients)?;
        let json = serde_json::to_vec(&self.items)?;
        let armored = crate::subscribers::store::encrypt_to_vec(&json, recipients)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::fsutil::write_atomic(path, &armored)
            .with_context(|| format!("{}", path.display()))?;
        self.changed = false;
        Ok(())
    }

    pub fn items(&self) -> &[ChangeRequest] {
        &self.items
    }

    /// Keeps `request`, replacing an older one for the same subscriber.
    pub fn insert(&mut self, request: ChangeRequest) {
        self.items.retain(|r| r.sub != request.sub);
        self.items.push(request);
        self.changed = true;
    }

    /// Removes and returns the request for `sub` made before `confirmed_at`.
    pub fn take(&mut self, sub: &str, confirmed_at: Timestamp) -> Option<ChangeRequest> {
        let i = self
            .items
            .iter()
            .position(|r| r.sub == sub && r.at <= confirmed_at)?;
        self.changed = true;
        Some(self.items.remove(i))
    }

    /// Drops requests older than `max_age` and those of subscribers no longer on the list.
    /// Returns how many were dropped.
    pub fn prune(
        &mut self,
        now: Timestamp,
        max_age: SignedDuration,
        on_list: impl Fn(&str) -> bool,
    ) -> usize {
        let before = self.items.len();
        self.items
            .retain(|r| now.duration_since(r.at) < max_age && on_list(&r.sub));
        let dropped = before - self.items.len();
        self.changed |= dropped > 0;
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_encrypted_replaced_taken_and_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let (identity, _) = Identity::generate();
        let text = Recipients::file_text("test", &identity.public_keys()[0]);
        let recipients = Recipients::parse(&text, Path::new("recipients.txt")).unwrap();
        let t = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
        let req = |sub: &str, at| ChangeRequest {
            sub: sub.into(),
            event: "w-000000000000000000000001".into(),
            at,
            topics: vec!["verkehr".into()],
            consent_version: "v1".into(),
            language: "de".into(),
        };
        let mut r = Requests::load(dir.path(), &identity).unwrap();
        r.save(&SubscriberList::new(Vec::new()), &recipients)
            .unwrap();
        assert!(!dir.path().join(REQUESTS_FILE).exists(), "nothing to write");
        r.insert(req("s_1", t(0)));
        r.insert(req("s_1", t(10)));
        r.insert(req("s_2", t(0)));
        r.save(&SubscriberList::new(Vec::new()), &recipients)
            .unwrap();
        let bytes = std::fs::read_to_string(dir.path().join(REQUESTS_FILE)).unwrap();
        assert!(bytes.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
        assert!(!bytes.contains("verkehr") && !bytes.contains("s_1"));
        let mut r = Requests::load(dir.path(), &identity).unwrap();
        assert_eq!(r.items().len(), 2);
        assert_eq!(
            r.take("s_1", t(5)),
            None,
            "a JA before the request does not confirm it"
        );
        assert_eq!(r.take("s_1", t(20)).unwrap().at, t(10));
        assert_eq!(r.prune(t(100), SignedDuration::from_secs(50), |_| true), 1);
        assert!(r.items().is_empty());
    }

    fn request(sub: &str) -> ChangeRequest {
        ChangeRequest {
            sub: sub.into(),
            event: "w-000000000000000000000001".into(),
            at: Timestamp::from_second(1_800_000_000).unwrap(),
            topics: vec!["verkehr".into()],
            consent_version: "v1".into(),
            language: "de".into(),
        }
    }

    /// A site whose list is encrypted to one fresh key, with one waiting request.
    fn site() -> (tempfile::TempDir, Identity, SubscriberList) {
        let dir = tempfile::tempdir().unwrap();
        let (identity, _) = Identity::generate();
        std::fs::write(
            dir.path().join(crate::subscribers::store::RECIPIENTS_FILE),
            Recipients::file_text("CI", &identity.public_keys()[0]),
        )
        .unwrap();
        let recipients = Recipients::load(dir.path()).unwrap();
        SubscriberList::new(Vec::new())
            .save(dir.path(), &recipients)
            .unwrap();
        let list = SubscriberList::load(dir.path(), &identity).unwrap();
        let mut r = Requests::load(&dir.path().join("inbox"), &identity).unwrap();
        r.insert(request("s_1"));
        r.save(&list, &recipients).unwrap();
        (dir, identity, list)
    }

    #[test]
    fn requests_are_never_encrypted_to_keys_the_list_does_not_record() {
        let (dir, identity, list) = site();
        let file = dir.path().join("inbox").join(REQUESTS_FILE);
        let before = std::fs::read(&file).unwrap();
        let (intruder, _) = Identity::generate();
        let path = dir.path().join(crate::subscribers::store::RECIPIENTS_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&format!("# PR\n{}\n", intruder.public_keys()[0]));
        std::fs::write(&path, text).unwrap();
        let changed = Recipients::load(dir.path()).unwrap();
        let mut r = Requests::load(&dir.path().join("inbox"), &identity).unwrap();
        r.insert(request("s_2"));
        let err = r.save(&list, &changed).unwrap_err().to_string();
        assert!(err.contains("aushang subscribers rekey"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), before, "nothing written");
    }

    #[test]
    fn requests_are_never_encrypted_to_the_demo_key_of_a_real_site() {
        let (dir, identity, _) = site();
        let file = dir.path().join("inbox").join(REQUESTS_FILE);
        let before = std::fs::read(&file).unwrap();
        // Even a list that takes any keys (one made in memory) does not make a real site the
        // demo: the demo key cannot open its list.
        let path = dir.path().join(crate::subscribers::store::RECIPIENTS_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&format!(
            "# DEMO\n{}\n",
            crate::subscribers::store::DEMO_RECIPIENT
        ));
        std::fs::write(&path, text).unwrap();
        let demo = Recipients::load(dir.path()).unwrap();
        let list = SubscriberList::new(Vec::new());
        let mut r = Requests::load(&dir.path().join("inbox"), &identity).unwrap();
        r.insert(request("s_2"));
        let err = r.save(&list, &demo).unwrap_err().to_string();
        assert!(err.contains("nennt den Demo-Schlüssel"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), before, "nothing written");
    }
}
