//! Applying inbox events to the subscriber list, in event-time order and idempotently.
//!
//! A WhatsApp user is found by number or, when Meta sent only the business-scoped user id
//! (BSUID), by the BSUID learned earlier from a webhook that carried both. `unreachable` rows
//! (see `inbox::undeliverable`) become `active` again through their own START.
//!
//! Conflicts are decided by event time: an event older than the row's last change of state is
//! recorded and ignored (a START written before a STOP that was already applied does not undo
//! it; a STOP older than a fresh subscription does not end it). Unsubscribes (STOP, opt-out link,
//! WhatsApp "stop") are applied before everything else in a pull; a START or sign-up older than
//! a STOP of the same number that found no row (yet) is ignored, so the order cannot undo it.
//!
//! A web sign-up creates a `pending` row only for a number not on the list. For a number on the
//! list (whatever its status) it changes nothing: the request waits in
//! [`super::requests`] until the person's own START/JA, which applies it (an unsubscribed row
//! keeps its proof until then).
//!
//! What was applied is recorded in `subscribers/inbox/applied.jsonl` (committed): event id, times,
//! kind, outcome and subscriber id, never an address. An event id found there is not applied
//! again. An unsubscribe that changed nothing (already unsubscribed, not found) is not recorded:
//! applying it again changes nothing either, and a flood of repeats must not grow the file.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::events::{Envelope, Event, KeywordAction};
use super::requests::{ChangeRequest, Requests};
use crate::subscribers::{AddOutcome, Channel, Resubscribe, Status, Subscriber, SubscriberList};

pub const APPLIED_FILE: &str = "applied.jsonl";
/// Applied ids older than this are forgotten; the time rule still protects against stale events.
pub const KEEP_APPLIED: SignedDuration = SignedDuration::from_hours(60 * 24);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedLine {
    /// When it was applied.
    pub t: Timestamp,
    pub id: String,
    /// When the event happened.
    pub at: Timestamp,
    pub kind: String,
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// The applied-events record.
#[derive(Debug)]
pub struct AppliedLog {
    path: PathBuf,
    lines: Vec<AppliedLine>,
    ids: HashSet<String>,
    /// Sign-ups for listed numbers waiting for the person's JA (loaded and saved by the pull;
    /// empty and not saved otherwise).
    pub requests: Requests,
    /// Numbers whose STOP found no row in this pull, with the newest such STOP's time.
    stops_not_found: HashMap<String, Timestamp>,
    /// Unsubscribes in this pull that changed nothing and were therefore not recorded.
    pub unrecorded: usize,
}

impl AppliedLog {
    pub fn load(dir: &Path) -> Result<AppliedLog, String> {
        let path = dir.join(APPLIED_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let line: AppliedLine = serde_json::from_str(raw)
                .map_err(|e| format!("{}, Zeile {}: {e}", path.display(), i + 1))?;
            lines.push(line);
        }
        let ids = lines.iter().map(|l| l.id.clone()).collect();
        Ok(AppliedLog {
            path,
            lines,
            ids,
            requests: Requests::default(),
            stops_not_found: HashMap::new(),
            unrecorded: 0,
        })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    pub fn push(&mut self, line: AppliedLine) {
        self.ids.insert(line.id.clone());
        self.lines.push(line);
    }

    pub fn lines(&self) -> &[AppliedLine] {
        &self.lines
    }

    /// Writes the record atomically, dropping lines older than [`KEEP_APPLIED`].
    pub fn save(&mut self, now: Timestamp) -> std::io::Result<()> {
        self.lines
            .retain(|l| now.duration_since(l.t) < KEEP_APPLIED);
        self.ids = self.lines.iter().map(|l| l.id.clone()).collect();
        let mut text = String::new();
        for l in &self.lines {
            text.push_str(&serde_json::to_string(l).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        crate::fsutil::write_atomic(&self.path, text.as_bytes())
    }
}

/// The result of applying one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub outcome: &'static str,
    pub subscriber: Option<String>,
    /// A new web sign-up that should get the confirmation template.
    pub needs_confirmation: bool,
}

fn applied(outcome: &'static str, subscriber: Option<String>) -> Applied {
    Applied {
        outcome,
        subscriber,
        needs_confirmation: false,
    }
}

/// Applies one subscriber event (statuses are handled elsewhere) to `list`.
fn apply_event(
    list: &mut SubscriberList,
    log: &mut AppliedLog,
    envelope: &Envelope,
    consent_version: &str,
) -> Applied {
    let event = &envelope.event;
    match event {
        Event::Signup {
            at,
            address,
            name,
            topics,
            consent_version: version,
            language,
        } => {
            let candidate = Subscriber {
                id: String::new(),
                channel: Channel::WhatsApp,
                address: address.clone(),
                name: name.clone(),
                topics: topics.clone(),
                language: language.clone(),
                status: Status::Pending,
                consent_at: Some(*at),
                consent_source: "web".into(),
                consent_text: version.clone(),
                confirmed_at: None,
                unsubscribed_at: None,
                bsuid: None,
            };
            let existing =
                row_by_address(list, address).map(|s| (s.id.clone(), s.status, s.unsubscribed_at));
            match existing {
                None if log.stopped_after(address, *at) => {
                    applied("ignored: older than a STOP from this number", None)
                }
                None => {
                    let id = added_id(list.add(candidate, Resubscribe::Never));
                    Applied {
                        outcome: "pending",
                        subscriber: Some(id),
                        needs_confirmation: true,
                    }
                }
                Some((id, Status::Unsubscribed, Some(u))) if u > *at => {
                    applied("ignored: older than the unsubscribe", Some(id))
                }
                // Anyone can type any number: nothing changes until the person's own JA.
                Some((id, status, _)) => {
                    log.requests.insert(ChangeRequest {
                        sub: id.clone(),
                        event: envelope.id.clone(),
                        at: *at,
                        topics: topics.clone(),
                        consent_version: version.clone(),
                        language: language.clone(),
                    });
                    Applied {
                        outcome: match status {
                            Status::Unsubscribed => {
                                "unsubscribed: sign-up waits for the person's JA (row unchanged)"
                            }
                            Status::Active => {
                                "already active: change waits for the person's JA (row unchanged)"
                            }
                            _ => "sign-up waits for the person's JA (row unchanged)",
                        },
                        subscriber: Some(id),
                        needs_confirmation: true,
                    }
                }
            }
        }
        Event::EmailSignup { .. } => email::apply_signup(list, log, envelope),
        Event::EmailConfirm { at, signup } => email::apply_confirm(list, log, signup, *at),
        Event::Keyword {
            at,
            action,
            address,
            bsuid,
            ..
        } => {
            let id = find(list, address.as_deref(), bsuid.as_deref());
            if let (Some(id), Some(b)) = (&id, bsuid) {
                learn_bsuid(list, id, b);
            }
            let address = match (address, &id) {
                (Some(a), _) => a.clone(),
                (None, Some(id)) => list.get(id).map(|s| s.address.clone()).unwrap_or_default(),
                // A START from someone known only by a BSUID cannot subscribe: no number.
                (None, None) => {
                    return applied("not matched: BSUID not known, no phone number", None);
                }
            };
            let result = match action {
                KeywordAction::Start if id.is_none() && log.stopped_after(&address, *at) => {
                    applied("ignored: older than a STOP from this number", None)
                }
                KeywordAction::Start => {
                    start(list, &mut log.requests, &address, *at, consent_version)
                }
                KeywordAction::Stop => {
                    if id.is_none() {
                        log.stop_not_found(&address, *at);
                    }
                    stop(list, &mut log.requests, id, *at)
                }
            };
            // A row START just created (or a new number of a known person) gets the BSUID too.
            if let (Some(sub), Some(b)) = (&result.subscriber, bsuid) {
                learn_bsuid(list, sub, b);
            }
            result
        }
        Event::Preference {
            at,
            address,
            bsuid,
            value,
            ..
        } => {
            let id = find(list, address.as_deref(), bsuid.as_deref());
            if let (Some(id), Some(b)) = (&id, bsuid) {
                learn_bsuid(list, id, b);
            }
            match value.as_str() {
                // WhatsApp's own "stop" covers only marketing; a town that asked for no more
                // messages is told so anyway (policy: respect every opt-out request).
                "stop" => {
                    if let (None, Some(a)) = (&id, address) {
                        log.stop_not_found(a, *at);
                    }
                    let mut r = stop(list, &mut log.requests, id, *at);
                    if r.outcome == "unsubscribed" {
                        r.outcome = "unsubscribed (stopped marketing messages in WhatsApp)";
                    }
                    r
                }
                "resume" => applied(
                    "recorded: marketing messages resumed (no change; START subscribes again)",
                    id,
                ),
                _ => applied("recorded: unknown preference value (no change)", id),
            }
        }
        Event::Template { .. } => {
            applied("template change (subscribers/inbox/templates.json)", None)
        }
        Event::LinkUnsubscribe { at, subscriber } => {
            let id = list.get(subscriber).map(|s| s.id.clone());
            stop(list, &mut log.requests, id, *at)
        }
        Event::Status { .. } => applied("status (recorded separately)", None),
    }
}

fn start(
    list: &mut SubscriberList,
    requests: &mut Requests,
    address: &str,
    at: Timestamp,
    consent_version: &str,
) -> Applied {
    let candidate = Subscriber {
        id: String::new(),
        channel: Channel::WhatsApp,
        address: address.to_string(),
        name: None,
        topics: Vec::new(),
        language: "de".into(),
        status: Status::Active,
        consent_at: Some(at),
        consent_source: "keyword".into(),
        consent_text: consent_version.to_string(),
        confirmed_at: Some(at),
        unsubscribed_at: None,
        bsuid: None,
    };
    let Some(row) = row_by_address_mut(list, address) else {
        let id = added_id(list.add(candidate, Resubscribe::Never));
        return applied("active (subscribed by START)", Some(id));
    };
    let id = row.id.clone();
    if row.status == Status::Unsubscribed && row.unsubscribed_at.is_some_and(|u| u > at) {
        return applied("ignored: older than the unsubscribe", Some(id));
    }
    // The person's own START/JA confirms a sign-up that waited for it.
    if let Some(request) = requests.take(&id, at) {
        let was = request.confirm(row, at);
        return applied(
            match was {
                Status::Unsubscribed => "active again (confirmed a sign-up after unsubscribe)",
                Status::Active => "confirmed a change of the subscription",
                _ => "confirmed",
            },
            Some(id),
        );
    }
    match row.status {
        Status::Active => applied("already active", Some(id)),
        Status::Pending => {
            row.status = Status::Active;
            row.confirmed_at = Some(at);
            applied("confirmed", Some(id))
        }
        // Undeliverable messages counted before this START no longer count (confirmed_at).
        Status::Unreachable => {
            row.status = Status::Active;
            row.confirmed_at = Some(at);
            applied("active again (was unreachable)", Some(id))
        }
        Status::Unsubscribed if row.unsubscribed_at.is_some_and(|u| u > at) => {
            applied("ignored: older than the unsubscribe", Some(id))
        }
        Status::Unsubscribed => {
            let id = added_id(list.add(candidate, Resubscribe::WithNewConsent));
            applied("active again (START after unsubscribe)", Some(id))
        }
    }
}

fn stop(
    list: &mut SubscriberList,
    requests: &mut Requests,
    id: Option<String>,
    at: Timestamp,
) -> Applied {
    let Some(id) = id else {
        return applied("not found", None);
    };
    // A STOP also withdraws a sign-up that waited for a JA.
    let _ = requests.take(&id, at);
    let row = list
        .subscribers
        .iter_mut()
        .find(|s| s.id == id)
        .expect("id was just found");
    if row.status == Status::Unsubscribed {
        return applied("already unsubscribed", Some(id));
    }
    if row.consent_at.is_some_and(|c| c > at) {
        return applied("ignored: older than the current subscription", Some(id));
    }
    let address = row.address.clone();
    let channel = row.channel;
    list.unsubscribe(&address, Some(channel), at);
    applied("unsubscribed", Some(id))
}

/// The WhatsApp row with this number, else the one with this BSUID.
fn find(list: &SubscriberList, address: Option<&str>, bsuid: Option<&str>) -> Option<String> {
    address
        .and_then(|a| row_by_address(list, a))
        .or_else(|| {
            bsuid.and_then(|b| {
                list.subscribers
                    .iter()
                    .find(|s| s.channel == Channel::WhatsApp && s.bsuid.as_deref() == Some(b))
            })
        })
        .map(|s| s.id.clone())
}

/// Stores `bsuid` on row `id`; a BSUID belongs to one person, so another row holding it (an old
/// number of the same person) loses it. Returns whether anything changed.
pub fn learn_bsuid(list: &mut SubscriberList, id: &str, bsuid: &str) -> bool {
    if bsuid.is_empty()
        || list
            .get(id)
            .is_none_or(|s| s.bsuid.as_deref() == Some(bsuid))
    {
        return false;
    }
    for s in list.subscribers.iter_mut() {
        if s.id == id {
            s.bsuid = Some(bsuid.to_string());
        } else if s.bsuid.as_deref() == Some(bsuid) {
            s.bsuid = None;
        }
    }
    true
}

fn row_by_address<'a>(list: &'a SubscriberList, address: &str) -> Option<&'a Subscriber> {
    list.subscribers
        .iter()
        .find(|s| s.channel == Channel::WhatsApp && s.address == address)
}

fn row_by_address_mut<'a>(
    list: &'a mut SubscriberList,
    address: &str,
) -> Option<&'a mut Subscriber> {
    list.subscribers
        .iter_mut()
        .find(|s| s.channel == Channel::WhatsApp && s.address == address)
}

fn added_id(outcome: AddOutcome) -> String {
    match outcome {
        AddOutcome::Added(id) | AddOutcome::Merged(id) | AddOutcome::StillUnsubscribed(id) => id,
    }
}

impl AppliedLog {
    fn stop_not_found(&mut self, address: &str, at: Timestamp) {
        let t = self
            .stops_not_found
            .entry(address.to_string())
            .or_insert(at);
        *t = (*t).max(at);
    }

    /// Whether a STOP from `address` that found no row came after `at`.
    fn stopped_after(&self, address: &str, at: Timestamp) -> bool {
        self.stops_not_found.get(address).is_some_and(|t| *t > at)
    }
}

/// Outcomes of an unsubscribe that changed nothing (not recorded, see the module docs).
fn unchanged_unsubscribe(e: &Event, outcome: &str) -> bool {
    e.is_stop_class()
        && matches!(
            outcome,
            "already unsubscribed" | "not found" | "ignored: older than the current subscription"
        )
}

/// Applies `events` that are not in `log`, recording each: unsubscribes first, then the others,
/// each sorted by event time, then id. Returns the results of the newly applied events, in order.
pub fn apply_all(
    list: &mut SubscriberList,
    log: &mut AppliedLog,
    events: &[Envelope],
    consent_version: &str,
    now: Timestamp,
) -> Vec<(Envelope, Applied)> {
    let mut sorted: Vec<&Envelope> = events
        .iter()
        .filter(|e| !matches!(e.event, Event::Status { .. }))
        .collect();
    sorted.sort_by(|a, b| {
        (!a.event.is_stop_class(), a.event.at(), &a.id).cmp(&(
            !b.event.is_stop_class(),
            b.event.at(),
            &b.id,
        ))
    });
    let mut out = Vec::new();
    for e in sorted {
        if log.contains(&e.id) {
            continue;
        }
        let result = apply_event(list, log, e, consent_version);
        if unchanged_unsubscribe(&e.event, result.outcome) {
            log.unrecorded += 1;
            continue;
        }
        log.push(AppliedLine {
            t: now,
            id: e.id.clone(),
            at: e.event.at(),
            kind: e.event.kind().into(),
            outcome: result.outcome.into(),
            sub: result.subscriber.clone(),
        });
        out.push((e.clone(), result));
    }
    out
}

#[path = "email_apply.rs"]
mod email;

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
