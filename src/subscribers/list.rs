//! Changing the list in memory: add and merge, unsubscribe, forget, prune, look up and count.
//!
//! Rules that protect people: one row per channel + address (duplicates merge), an unsubscribed
//! person is only re-activated by an explicit `--resubscribe`, never by an import, and
//! unsubscribing keeps only the minimal proof (who, when, what consent) and drops name and topics.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};

use super::record::{Channel, Status, Subscriber};
use super::store::SubscriberList;

/// What happened to one candidate handed to [`SubscriberList::add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// A new row with this id.
    Added(String),
    /// Merged into the existing row with this id (topics joined, missing fields filled).
    Merged(String),
    /// The person unsubscribed earlier and stays unsubscribed.
    StillUnsubscribed(String),
}

/// Whether adding may turn an unsubscribed row active again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resubscribe {
    /// Imports and sign-ups: an unsubscribe is final until the person asks again in person.
    Never,
    /// The admin recorded fresh consent (`add --resubscribe`).
    WithNewConsent,
}

/// Numbers for `aushang subscribers count`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub by_channel: BTreeMap<String, usize>,
    pub by_status: BTreeMap<String, usize>,
    /// Active subscriptions per topic; `(alle)` for those who want every notice.
    pub by_topic: BTreeMap<String, usize>,
}

/// The label used in [`Counts::by_topic`] for subscriptions without topics.
pub const ALL_TOPICS: &str = "(alle)";

impl SubscriberList {
    pub fn get(&self, id: &str) -> Option<&Subscriber> {
        self.subscribers.iter().find(|s| s.id == id)
    }

    /// Rows whose address equals the normalised `key` (see [`super::address::lookup_key`]),
    /// optionally on one channel only.
    pub fn find(&self, key: &str, channel: Option<Channel>) -> Vec<&Subscriber> {
        self.subscribers
            .iter()
            .filter(|s| matches(s, key, channel))
            .collect()
    }

    /// Active subscribers on `channel` who want a notice of `category`.
    pub fn recipients_for<'a>(
        &'a self,
        channel: Channel,
        category: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Subscriber> + 'a {
        self.subscribers
            .iter()
            .filter(move |s| s.wants(channel, category))
    }

    /// Adds one candidate (its `id` is ignored; its address must already be normalised).
    pub fn add(&mut self, candidate: Subscriber, resubscribe: Resubscribe) -> AddOutcome {
        self.add_all(vec![candidate], resubscribe)
            .pop()
            .expect("one outcome per candidate")
    }

    /// Adds many candidates at once, merging duplicates among them and with the list.
    pub fn add_all(
        &mut self,
        candidates: Vec<Subscriber>,
        resubscribe: Resubscribe,
    ) -> Vec<AddOutcome> {
        let mut index: HashMap<(Channel, String), usize> = self
            .subscribers
            .iter()
            .enumerate()
            .map(|(i, s)| ((s.channel, s.address.clone()), i))
            .collect();
        let mut ids: HashSet<String> = self.subscribers.iter().map(|s| s.id.clone()).collect();
        let mut outcomes = Vec::with_capacity(candidates.len());
        for mut c in candidates {
            let key = (c.channel, c.address.clone());
            match index.get(&key) {
                Some(&i) => outcomes.push(merge(&mut self.subscribers[i], c, resubscribe)),
                None => {
                    c.id = new_id(&ids);
                    ids.insert(c.id.clone());
                    if c.status == Status::Unsubscribed {
                        minimise(&mut c);
                    }
                    index.insert(key, self.subscribers.len());
                    outcomes.push(AddOutcome::Added(c.id.clone()));
                    self.subscribers.push(c);
                }
            }
        }
        outcomes
    }

    /// Marks every matching row unsubscribed (keeping minimal proof). Returns the ids that changed;
    /// rows already unsubscribed are left as they are.
    pub fn unsubscribe(
        &mut self,
        key: &str,
        channel: Option<Channel>,
        now: Timestamp,
    ) -> Vec<String> {
        let mut changed = Vec::new();
        for s in self
            .subscribers
            .iter_mut()
            .filter(|s| matches(s, key, channel))
        {
            if s.status != Status::Unsubscribed {
                s.status = Status::Unsubscribed;
                s.unsubscribed_at = Some(now);
                minimise(s);
                changed.push(s.id.clone());
            }
        }
        changed
    }

    /// Removes every matching row completely (DSGVO Art. 17) and returns them, so the caller can
    /// erase the journal rows that reference their ids.
    pub fn forget(&mut self, key: &str, channel: Option<Channel>) -> Vec<Subscriber> {
        let (gone, kept) = std::mem::take(&mut self.subscribers)
            .into_iter()
            .partition(|s| matches(s, key, channel));
        self.subscribers = kept;
        gone
    }

    /// Removes `pending` sign-ups whose consent is older than `max_age` (or undated: an undated
    /// sign-up can never be shown to be recent). Returns the removed rows.
    pub fn prune_pending(&mut self, now: Timestamp, max_age: SignedDuration) -> Vec<Subscriber> {
        let cutoff = now - max_age;
        let stale =
            |s: &Subscriber| s.status == Status::Pending && s.consent_at.is_none_or(|t| t < cutoff);
        let (gone, kept) = std::mem::take(&mut self.subscribers)
            .into_iter()
            .partition(stale);
        self.subscribers = kept;
        gone
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            total: self.subscribers.len(),
            ..Counts::default()
        };
        for s in &self.subscribers {
            *c.by_channel.entry(s.channel.to_string()).or_default() += 1;
            *c.by_status.entry(s.status.to_string()).or_default() += 1;
            if s.status == Status::Active {
                if s.topics.is_empty() {
                    *c.by_topic.entry(ALL_TOPICS.to_string()).or_default() += 1;
                }
                for t in &s.topics {
                    *c.by_topic.entry(t.clone()).or_default() += 1;
                }
            }
        }
        c
    }
}

fn matches(s: &Subscriber, key: &str, channel: Option<Channel>) -> bool {
    s.address == key && channel.is_none_or(|c| c == s.channel)
}

/// Drops what an unsubscribed row no longer needs: the name and the topics.
fn minimise(s: &mut Subscriber) {
    s.name = None;
    s.topics.clear();
}

fn merge(existing: &mut Subscriber, new: Subscriber, resubscribe: Resubscribe) -> AddOutcome {
    let id = existing.id.clone();
    if existing.status == Status::Unsubscribed {
        if new.status == Status::Unsubscribed || resubscribe == Resubscribe::Never {
            return AddOutcome::StillUnsubscribed(id);
        }
        // Fresh consent replaces the old proof entirely.
        *existing = Subscriber {
            id: id.clone(),
            unsubscribed_at: None,
            ..new
        };
        return AddOutcome::Merged(id);
    }
    if new.status == Status::Unsubscribed {
        existing.status = Status::Unsubscribed;
        existing.unsubscribed_at = new.unsubscribed_at.or(existing.unsubscribed_at);
        minimise(existing);
        return AddOutcome::Merged(id);
    }
    if existing.name.is_none() {
        existing.name = new.name;
    }
    // Empty topics mean "everything", so joining with it gives everything.
    if existing.topics.is_empty() || new.topics.is_empty() {
        existing.topics.clear();
    } else {
        for t in new.topics {
            if !existing.topics.contains(&t) {
                existing.topics.push(t);
            }
        }
    }
    if existing.status == Status::Pending && new.status == Status::Active {
        existing.status = Status::Active;
        existing.confirmed_at = new.confirmed_at.or(existing.confirmed_at);
        // Never confirmed before consented: a confirmation older than the pending row's consent
        // belongs to the consent that came with it.
        if let (Some(confirmed), Some(consent), Some(new_consent)) =
            (existing.confirmed_at, existing.consent_at, new.consent_at)
            && confirmed < consent
            && new_consent <= confirmed
        {
            existing.consent_at = new.consent_at;
            existing.consent_source = new.consent_source.clone();
            existing.consent_text = new.consent_text.clone();
        }
    }
    // The earliest consent proof stays; a row without one takes the new proof.
    if existing.consent_at.is_none() && existing.consent_source.is_empty() {
        existing.consent_at = new.consent_at;
        existing.consent_source = new.consent_source;
        existing.consent_text = new.consent_text;
    }
    AddOutcome::Merged(id)
}

/// The number inside an id of the shape `new_id` gives (`s_` + 16 lower-case hex digits), so
/// sets of ids can hold 8 bytes per subscriber instead of a string. Any other id gives `None`
/// (lists edited by hand may use other ids; they are held as text). Exact both ways: each number
/// comes from exactly one id string.
pub fn id_number(id: &str) -> Option<u64> {
    let hex = id.strip_prefix("s_")?;
    if hex.len() != 16 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// A random id (`s_` + 16 hex digits) not used by any row.
fn new_id(taken: &HashSet<String>) -> String {
    loop {
        let id = format!("s_{:016x}", rand::random::<u64>());
        if !taken.contains(&id) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(address: &str, status: Status, topics: &[&str]) -> Subscriber {
        Subscriber {
            id: String::new(),
            channel: Channel::WhatsApp,
            address: address.into(),
            name: Some("Erika Beispiel".into()),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            language: "de".into(),
            status,
            consent_at: Some("2026-11-01T10:00:00Z".parse().unwrap()),
            consent_source: "web".into(),
            consent_text: "v1".into(),
            confirmed_at: None,
            unsubscribed_at: None,
            bsuid: None,
        }
    }

    const NOW: &str = "2026-11-28T12:00:00Z";

    #[test]
    fn ids_are_random_distinct_and_shaped() {
        let mut list = SubscriberList::default();
        let a = list.add(
            person("+491713920001", Status::Active, &[]),
            Resubscribe::Never,
        );
        let b = list.add(
            person("+491713920002", Status::Active, &[]),
            Resubscribe::Never,
        );
        let (AddOutcome::Added(a), AddOutcome::Added(b)) = (a, b) else {
            panic!("both are new")
        };
        assert_ne!(a, b);
        assert!(
            a.starts_with("s_") && a.len() == 18 && a[2..].chars().all(|c| c.is_ascii_hexdigit()),
            "{a}"
        );
    }

    #[test]
    fn id_numbers_are_exact() {
        assert_eq!(id_number("s_00000000000000ff"), Some(255));
        assert_eq!(id_number("s_ffffffffffffffff"), Some(u64::MAX));
        // Upper case, other lengths and other shapes would alias or are not ours: held as text.
        for other in [
            "s_00000000000000FF",
            "s_0ff",
            "s_000000000000000ff",
            "x_00000000000000ff",
            "s_+000000000000001",
        ] {
            assert_eq!(id_number(other), None, "{other}");
        }
        let mut list = SubscriberList::default();
        let AddOutcome::Added(id) = list.add(
            person("+491713920001", Status::Active, &[]),
            Resubscribe::Never,
        ) else {
            panic!()
        };
        assert_eq!(id_number(&id).map(|n| format!("s_{n:016x}")), Some(id));
    }

    #[test]
    fn duplicates_merge_topics_and_confirmation() {
        let mut list = SubscriberList::default();
        let AddOutcome::Added(id) = list.add(
            person("+491713920001", Status::Pending, &["verkehr"]),
            Resubscribe::Never,
        ) else {
            panic!()
        };
        let mut again = person("+491713920001", Status::Active, &["abfall", "verkehr"]);
        again.confirmed_at = Some(NOW.parse().unwrap());
        assert_eq!(
            list.add(again, Resubscribe::Never),
            AddOutcome::Merged(id.clone())
        );
        let s = list.get(&id).unwrap();
        assert_eq!(s.topics, vec!["verkehr", "abfall"]);
        assert_eq!(s.status, Status::Active);
        assert_eq!(list.subscribers().len(), 1);
        // "everything" absorbs a topic list
        list.add(
            person("+491713920001", Status::Active, &[]),
            Resubscribe::Never,
        );
        assert!(list.get(&id).unwrap().topics.is_empty());
    }

    #[test]
    fn unsubscribed_stays_unsubscribed_unless_new_consent() {
        let mut list = SubscriberList::default();
        list.add(
            person("+491713920001", Status::Active, &["rat"]),
            Resubscribe::Never,
        );
        let changed = list.unsubscribe("+491713920001", None, NOW.parse().unwrap());
        assert_eq!(changed.len(), 1);
        let s = &list.subscribers()[0];
        assert_eq!(
            (s.status, s.name.as_deref(), s.topics.len()),
            (Status::Unsubscribed, None, 0)
        );
        assert_eq!(s.consent_source, "web", "the consent proof stays");
        let outcome = list.add(
            person("+491713920001", Status::Active, &[]),
            Resubscribe::Never,
        );
        assert!(matches!(outcome, AddOutcome::StillUnsubscribed(_)));
        assert_eq!(list.subscribers()[0].status, Status::Unsubscribed);
        list.add(
            person("+491713920001", Status::Active, &[]),
            Resubscribe::WithNewConsent,
        );
        assert_eq!(list.subscribers()[0].status, Status::Active);
        assert_eq!(list.subscribers()[0].unsubscribed_at, None);
    }

    #[test]
    fn forget_removes_only_that_person() {
        let mut list = SubscriberList::default();
        list.add(
            person("+491713920001", Status::Active, &[]),
            Resubscribe::Never,
        );
        list.add(
            person("+491713920002", Status::Active, &[]),
            Resubscribe::Never,
        );
        let gone = list.forget("+491713920001", None);
        assert_eq!(gone.len(), 1);
        assert_eq!(list.subscribers().len(), 1);
        assert!(list.find("+491713920001", None).is_empty());
    }

    #[test]
    fn prune_drops_only_old_pending() {
        let mut list = SubscriberList::default();
        let mut old = person("+491713920001", Status::Pending, &[]);
        old.consent_at = Some("2026-10-01T00:00:00Z".parse().unwrap());
        let mut fresh = person("+491713920002", Status::Pending, &[]);
        fresh.consent_at = Some("2026-11-20T00:00:00Z".parse().unwrap());
        let mut active = person("+491713920003", Status::Active, &[]);
        active.consent_at = Some("2025-01-01T00:00:00Z".parse().unwrap());
        list.add_all(vec![old, fresh, active], Resubscribe::Never);
        let gone = list.prune_pending(NOW.parse().unwrap(), SignedDuration::from_hours(30 * 24));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].address, "+491713920001");
        assert_eq!(list.subscribers().len(), 2);
    }

    #[test]
    fn counts_by_channel_status_topic() {
        let mut list = SubscriberList::default();
        list.add_all(
            vec![
                person("+491713920001", Status::Active, &["verkehr", "rat"]),
                person("+491713920002", Status::Active, &[]),
                person("+491713920003", Status::Pending, &["verkehr"]),
            ],
            Resubscribe::Never,
        );
        let c = list.counts();
        assert_eq!(c.total, 3);
        assert_eq!(c.by_status.get("active"), Some(&2));
        assert_eq!(c.by_status.get("pending"), Some(&1));
        assert_eq!(c.by_topic.get("verkehr"), Some(&1));
        assert_eq!(c.by_topic.get(ALL_TOPICS), Some(&1));
        assert_eq!(c.by_channel.get("whatsapp"), Some(&3));
    }
}
