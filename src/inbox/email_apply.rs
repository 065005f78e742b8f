//! Applying e-mail sign-ups (double opt-in by the link in the confirmation mail) to the list.
//!
//! An `EmailSignup` creates a `pending` `channel: email` row for an address not on the list; for
//! a listed address it changes nothing and waits in [`super::Requests`] like a WhatsApp sign-up
//! for a listed number. The `EmailConfirm` of that very sign-up (the server stored it when the
//! link's button was pressed) makes the row `active` with the web consent (sign-up time, consent
//! text version) and `confirmed_at`, or applies the waiting request. The sign-up is found by its
//! event id through `applied.jsonl`, so the confirmation carries no personal data. The
//! confirmation mail itself was sent by the inbox server: nothing here sends anything.

use jiff::Timestamp;

use super::{Applied, AppliedLog, added_id, applied};
use crate::inbox::events::{Envelope, Event};
use crate::inbox::requests::ChangeRequest;
use crate::subscribers::{Channel, Resubscribe, Status, Subscriber, SubscriberList};

fn row_by_address<'a>(list: &'a SubscriberList, address: &str) -> Option<&'a Subscriber> {
    list.subscribers
        .iter()
        .find(|s| s.channel == Channel::Email && s.address == address)
}

/// Applies an [`Event::EmailSignup`].
pub(super) fn apply_signup(
    list: &mut SubscriberList,
    log: &mut AppliedLog,
    envelope: &Envelope,
) -> Applied {
    let Event::EmailSignup {
        at,
        address,
        name,
        topics,
        consent_version,
        language,
    } = &envelope.event
    else {
        return applied("not an e-mail sign-up", None);
    };
    let existing =
        row_by_address(list, address).map(|s| (s.id.clone(), s.status, s.unsubscribed_at));
    match existing {
        None => {
            let candidate = Subscriber {
                id: String::new(),
                channel: Channel::Email,
                address: address.clone(),
                name: name.clone(),
                topics: topics.clone(),
                language: language.clone(),
                status: Status::Pending,
                consent_at: Some(*at),
                consent_source: "web".into(),
                consent_text: consent_version.clone(),
                confirmed_at: None,
                unsubscribed_at: None,
                bsuid: None,
            };
            let id = added_id(list.add(candidate, Resubscribe::Never));
            applied(
                "pending (e-mail: waits for the confirmation link)",
                Some(id),
            )
        }
        Some((id, Status::Unsubscribed, Some(u))) if u > *at => {
            applied("ignored: older than the unsubscribe", Some(id))
        }
        // Anyone can type any address: nothing changes until the link in the mail is used.
        Some((id, _, _)) => {
            log.requests.insert(ChangeRequest {
                sub: id.clone(),
                event: envelope.id.clone(),
                at: *at,
                topics: topics.clone(),
                consent_version: consent_version.clone(),
                language: language.clone(),
            });
            applied(
                "already listed: sign-up waits for the confirmation link (row unchanged)",
                Some(id),
            )
        }
    }
}

/// Applies an [`Event::EmailConfirm`] of the sign-up with event id `signup`.
pub(super) fn apply_confirm(
    list: &mut SubscriberList,
    log: &mut AppliedLog,
    signup: &str,
    at: Timestamp,
) -> Applied {
    let Some(line) = log.lines().iter().rev().find(|l| l.id == signup) else {
        return applied(
            "not found: the sign-up is not (or no longer) recorded",
            None,
        );
    };
    let Some(id) = line.sub.clone() else {
        return applied("not found: the sign-up created no row", None);
    };
    let waiting = log
        .requests
        .items()
        .iter()
        .any(|r| r.sub == id && r.event == signup);
    let request = if waiting {
        log.requests.take(&id, at)
    } else {
        None
    };
    let Some(row) = list
        .subscribers
        .iter_mut()
        .find(|s| s.id == id && s.channel == Channel::Email)
    else {
        return applied("not found: the row is no longer on the list", Some(id));
    };
    if let Some(request) = request {
        let was = request.confirm(row, at);
        return applied(
            match was {
                Status::Unsubscribed => {
                    "active again (confirmed an e-mail sign-up after unsubscribe)"
                }
                Status::Active => "confirmed a change of the subscription (e-mail link)",
                _ => "confirmed (e-mail link)",
            },
            Some(id),
        );
    }
    match row.status {
        Status::Pending => {
            row.status = Status::Active;
            row.confirmed_at = Some(at);
            applied("confirmed (e-mail link)", Some(id))
        }
        Status::Active => applied("already active", Some(id)),
        Status::Unsubscribed | Status::Unreachable => applied(
            "ignored: the row changed since this sign-up (no waiting request)",
            Some(id),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::apply_all;
    use super::*;
    use crate::inbox::events::random_id;

    const ADDRESS: &str = "erika@example.org";

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn signup(at: i64, topics: &[&str]) -> Envelope {
        Envelope {
            id: random_id(),
            received_at: t(at),
            event: Event::EmailSignup {
                at: t(at),
                address: ADDRESS.into(),
                name: Some("Erika".into()),
                topics: topics.iter().map(|s| s.to_string()).collect(),
                consent_version: "v2".into(),
                language: "de".into(),
            },
        }
    }

    fn confirm(at: i64, signup: &Envelope) -> Envelope {
        Envelope {
            id: crate::inbox::email_signup::confirm_id(&signup.id),
            received_at: t(at),
            event: Event::EmailConfirm {
                at: t(at),
                signup: signup.id.clone(),
            },
        }
    }

    fn outcomes(r: &[(Envelope, Applied)]) -> Vec<&'static str> {
        r.iter().map(|(_, a)| a.outcome).collect()
    }

    #[test]
    fn a_sign_up_is_pending_until_its_own_link_confirms_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AppliedLog::load(dir.path()).unwrap();
        let mut list = SubscriberList::default();
        let s = signup(10, &["verkehr"]);
        let r = apply_all(&mut list, &mut log, std::slice::from_ref(&s), "v1", t(100));
        assert_eq!(
            outcomes(&r),
            vec!["pending (e-mail: waits for the confirmation link)"]
        );
        assert!(
            !r[0].1.needs_confirmation,
            "no WhatsApp template to an address"
        );
        let row = &list.subscribers()[0];
        assert_eq!((row.channel, row.status), (Channel::Email, Status::Pending));
        // A confirmation of another sign-up finds nothing.
        let other = signup(11, &[]);
        let r = apply_all(&mut list, &mut log, &[confirm(20, &other)], "v1", t(100));
        assert_eq!(
            outcomes(&r),
            vec!["not found: the sign-up is not (or no longer) recorded"]
        );
        let c = confirm(30, &s);
        let r = apply_all(&mut list, &mut log, std::slice::from_ref(&c), "v1", t(100));
        assert_eq!(outcomes(&r), vec!["confirmed (e-mail link)"]);
        let row = &list.subscribers()[0];
        assert_eq!(row.status, Status::Active);
        assert_eq!(row.consent_at, Some(t(10)));
        assert_eq!(row.confirmed_at, Some(t(30)));
        assert_eq!(row.consent_text, "v2");
        assert_eq!(row.consent_source, "web");
        // The same confirmation again (a pull after a failed ack) is not applied twice.
        assert!(apply_all(&mut list, &mut log, &[c], "v1", t(100)).is_empty());
    }

    #[test]
    fn a_sign_up_for_a_listed_address_changes_the_row_only_by_its_own_link() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AppliedLog::load(dir.path()).unwrap();
        let mut list = SubscriberList::default();
        let first = signup(10, &[]);
        let second = signup(40, &["verkehr"]);
        let events = vec![first.clone(), confirm(20, &first), second.clone()];
        let r = apply_all(&mut list, &mut log, &events, "v1", t(100));
        assert_eq!(
            outcomes(&r)[2],
            "already listed: sign-up waits for the confirmation link (row unchanged)"
        );
        assert!(list.subscribers()[0].topics.is_empty(), "row unchanged");
        let r = apply_all(&mut list, &mut log, &[confirm(50, &second)], "v1", t(100));
        assert_eq!(
            outcomes(&r),
            vec!["confirmed a change of the subscription (e-mail link)"]
        );
        let row = &list.subscribers()[0];
        assert_eq!(row.topics, vec!["verkehr".to_string()]);
        assert_eq!(row.consent_at, Some(t(40)));
        assert_eq!(list.subscribers().len(), 1);
    }
}
