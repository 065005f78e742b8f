//! Planning: which messages are due on a channel at a given instant, and why the others are not.
//!
//! A notice is due when it is published (past `publish_at`, not a draft, not expired), may be
//! broadcast, and the journal has no completed delivery of it on that channel. An update is due
//! once the notice itself went out, if it is dated after that broadcast started (earlier updates
//! were already on the page the first message linked to). Editing a notice never re-sends it:
//! the journal key is the notice's URL path, not its text.

use jiff::Timestamp;

use crate::config::Config;
use crate::content::Notice;
use crate::delivery::journal::Journal;
use crate::delivery::message::{Message, messages_of};

/// Why a message is or is not sent in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Due,
    /// Inside quiet hours and not urgent: the next run after quiet hours sends it.
    QuietHours,
    /// Published longer ago than `max_age` and never started: reported (and journaled as
    /// `stale`), never sent. A message whose sending began is finished however old it gets.
    Stale,
    /// The notice expired while its sending was under way (daily limit, a stopped run): the rest
    /// of its audience is reported (and the message journaled as `expired`), never sent.
    Expired,
}

impl Decision {
    pub fn label(self) -> &'static str {
        match self {
            Decision::Due => "fällig",
            Decision::QuietHours => "zurückgestellt (Ruhezeit)",
            Decision::Stale => "nicht gesendet (älter als max_age)",
            Decision::Expired => "nicht abgeschlossen (die Bekanntmachung ist abgelaufen)",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PlannedMessage {
    pub message: Message,
    pub decision: Decision,
}

/// How the guards apply: the local outbox is a preview, so it ignores quiet hours and staleness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guards {
    pub quiet_hours: bool,
    pub staleness: bool,
}

/// Lists every message not yet completed on `channel` that is publishable at `now`, in sending
/// order (urgent first, then oldest first).
pub fn plan(
    config: &Config,
    notices: &[Notice],
    journal: &Journal,
    channel: &str,
    now: Timestamp,
    guards: Guards,
) -> Vec<PlannedMessage> {
    let quiet = guards.quiet_hours
        && config
            .broadcast
            .quiet_hours
            .is_some_and(|q| q.contains(now.to_zoned_datetime(config.timezone.clone()).time()));
    let complete = |m: &Message| m.keys().any(|k| journal.is_complete(k, channel));
    let given_up = |m: &Message| m.keys().any(|k| journal.is_given_up(k, channel));
    let started = |m: &Message| m.keys().any(|k| journal.started_at(k, channel).is_some());
    let mut out = Vec::new();
    // Expired notices are never sent; one whose sending began is planned once more, to be
    // reported with whoever it did not reach (real channels only).
    let mut expired = std::collections::HashSet::new();
    for notice in notices
        .iter()
        .filter(|n| n.broadcast && n.is_published(now))
    {
        if notice.is_expired(now) {
            if guards.staleness {
                for m in messages_of(notice, config) {
                    if started(&m) && !complete(&m) && !given_up(&m) {
                        expired.insert(m.key.clone());
                        out.push(m);
                    }
                }
            }
            continue;
        }
        let mut messages = messages_of(notice, config).into_iter();
        let first = messages
            .next()
            .expect("a notice has at least its own message");
        if given_up(&first) {
            // Nobody got the notice, so nobody gets its updates either.
            continue;
        }
        if !complete(&first) {
            out.push(first);
            continue;
        }
        let started = first
            .keys()
            .filter_map(|k| journal.started_at(k, channel))
            .min()
            .unwrap_or(Timestamp::MIN);
        out.extend(
            messages.filter(|u| {
                u.due_from <= now && u.due_from > started && !complete(u) && !given_up(u)
            }),
        );
    }
    out.sort_by(|a, b| {
        b.urgent
            .cmp(&a.urgent)
            .then(a.due_from.cmp(&b.due_from))
            .then(a.key.cmp(&b.key))
    });
    out.into_iter()
        .map(|message| {
            // Started means finished: `max_age` only keeps a message from starting.
            let stale = guards.staleness
                && now.duration_since(message.due_from) > config.broadcast.max_age
                && !started(&message);
            let decision = if expired.contains(&message.key) {
                Decision::Expired
            } else if stale {
                Decision::Stale
            } else if quiet && !message.urgent {
                Decision::QuietHours
            } else {
                Decision::Due
            };
            PlannedMessage { message, decision }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::content::Update;
    use crate::delivery::journal::IndexEvent;

    fn config() -> Config {
        let text = "title: T\nbase_url: https://t.example/\ncategories:\n  - id: verkehr\n    name: Verkehr\n";
        crate::config::parse(Path::new("/site"), Path::new("aushang.yaml"), text).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn notice(slug: &str, date: &str) -> Notice {
        Notice {
            source: PathBuf::from(format!("content/notices/{slug}.md")),
            path: format!("/bekanntmachungen/2026/{slug}/"),
            slug: slug.into(),
            title: format!("Titel {slug}"),
            date: ts(date),
            summary: "Kurz.".into(),
            category: Some("verkehr".into()),
            tags: vec![],
            publish_at: None,
            expires: None,
            draft: false,
            urgent: false,
            broadcast: true,
            aliases: vec![],
            image: None,
            attachments: vec![],
            updates: vec![],
            body_markdown: String::new(),
            body_html: String::new(),
        }
    }

    const ALL: Guards = Guards {
        quiet_hours: true,
        staleness: true,
    };

    fn decisions(notices: &[Notice], journal: &Journal, now: &str) -> Vec<(String, Decision)> {
        plan(&config(), notices, journal, "whatsapp", ts(now), ALL)
            .into_iter()
            .map(|p| (p.message.key, p.decision))
            .collect()
    }

    #[test]
    fn only_published_current_broadcastable_notices_are_planned() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let mut draft = notice("entwurf", "2026-11-28T08:00:00Z");
        draft.draft = true;
        let mut later = notice("spaeter", "2026-11-28T08:00:00Z");
        later.publish_at = Some(ts("2026-11-30T08:00:00Z"));
        let mut expired = notice("abgelaufen", "2026-11-27T08:00:00Z");
        expired.expires = Some(ts("2026-11-28T09:00:00Z"));
        let mut site_only = notice("nur-web", "2026-11-28T08:00:00Z");
        site_only.broadcast = false;
        let now_ok = notice("jetzt", "2026-11-28T08:00:00Z");
        let all = [draft, later, expired, site_only, now_ok];
        assert_eq!(
            decisions(&all, &j, "2026-11-28T10:00:00Z"),
            vec![(
                "/bekanntmachungen/2026/jetzt/#notice".to_string(),
                Decision::Due
            )]
        );
        let at_publish = decisions(&all, &j, "2026-11-30T08:00:00Z");
        assert!(
            at_publish.iter().any(|(k, _)| k.contains("spaeter")),
            "{at_publish:?}"
        );
    }

    #[test]
    fn quiet_hours_follow_berlin_time_across_the_dst_change() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let n = [notice("a", "2026-03-28T00:00:00Z")];
        // 05:30 UTC is 06:30 in winter (CET, quiet) but 07:30 in summer (CEST, not quiet).
        assert_eq!(
            decisions(&n, &j, "2026-03-28T05:30:00Z")[0].1,
            Decision::QuietHours
        );
        assert_eq!(
            decisions(&n, &j, "2026-03-29T05:30:00Z")[0].1,
            Decision::Due
        );
        // 20:30 UTC is 21:30 in winter (quiet) but 22:30 in summer (quiet too); 19:30 UTC is
        // 20:30 in winter (not quiet) and 21:30 in summer (quiet).
        assert_eq!(
            decisions(&n, &j, "2026-03-28T19:30:00Z")[0].1,
            Decision::Due
        );
        assert_eq!(
            decisions(&n, &j, "2026-03-29T19:30:00Z")[0].1,
            Decision::QuietHours
        );
    }

    #[test]
    fn urgent_notices_ignore_quiet_hours_and_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let normal = notice("normal", "2026-11-28T18:00:00Z");
        let mut urgent = notice("wasser", "2026-11-28T21:00:00Z");
        urgent.urgent = true;
        let got = decisions(&[normal, urgent], &j, "2026-11-28T22:30:00Z");
        assert_eq!(
            got[0],
            (
                "/bekanntmachungen/2026/wasser/#notice".into(),
                Decision::Due
            )
        );
        assert_eq!(got[1].1, Decision::QuietHours);
    }

    #[test]
    fn stale_notices_are_reported_not_sent() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let n = [notice("alt", "2026-11-20T08:00:00Z")];
        assert_eq!(
            decisions(&n, &j, "2026-11-23T07:59:00Z")[0].1,
            Decision::Due
        );
        assert_eq!(
            decisions(&n, &j, "2026-11-23T08:01:00Z")[0].1,
            Decision::Stale
        );
        let preview = plan(
            &config(),
            &n,
            &j,
            "outbox",
            ts("2026-11-28T08:00:00Z"),
            Guards {
                quiet_hours: false,
                staleness: false,
            },
        );
        assert_eq!(preview[0].decision, Decision::Due);
    }

    #[test]
    fn a_started_message_stays_due_past_max_age_and_a_given_up_one_is_not_planned() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let mut begun = notice("begonnen", "2026-11-20T08:00:00Z");
        begun.updates.push(Update {
            date: ts("2026-11-20T07:00:00Z"),
            text: "vorab".into(),
        });
        let mut dropped = notice("aufgegeben", "2026-11-20T08:00:00Z");
        dropped.updates.push(Update {
            date: ts("2026-11-28T08:00:00Z"),
            text: "neu".into(),
        });
        let n = [begun, dropped];
        let begun_key = "/bekanntmachungen/2026/begonnen/#notice";
        let dropped_key = "/bekanntmachungen/2026/aufgegeben/#notice";
        j.record_index(
            begun_key,
            "whatsapp",
            IndexEvent::Started,
            ts("2026-11-20T09:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            decisions(&n, &j, "2026-11-28T10:00:00Z"),
            vec![
                (dropped_key.to_string(), Decision::Stale),
                (begun_key.to_string(), Decision::Due),
            ]
        );
        // started on another channel does not count here
        let other = plan(&config(), &n, &j, "sms", ts("2026-11-28T10:00:00Z"), ALL);
        assert!(other.iter().all(|p| p.decision == Decision::Stale));
        j.record_index(
            dropped_key,
            "whatsapp",
            IndexEvent::Stale,
            ts("2026-11-28T10:00:00Z"),
        )
        .unwrap();
        // given up: neither the notice nor its later update is planned again
        assert_eq!(
            decisions(&n, &j, "2026-11-28T11:00:00Z"),
            vec![(begun_key.to_string(), Decision::Due)]
        );
    }

    #[test]
    fn updates_are_due_once_after_the_notice_went_out() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let mut n = notice("sperrung", "2026-11-27T08:00:00Z");
        n.updates.push(Update {
            date: ts("2026-11-27T07:00:00Z"),
            text: "vorab".into(),
        });
        n.updates.push(Update {
            date: ts("2026-11-28T08:00:00Z"),
            text: "verlängert".into(),
        });
        let n = [n];
        // Not yet sent: only the notice itself (its page already shows the updates).
        let first = decisions(&n, &j, "2026-11-28T09:00:00Z");
        assert_eq!(first.len(), 1);
        assert!(first[0].0.ends_with("#notice"));
        let key = "/bekanntmachungen/2026/sperrung/#notice";
        j.record_index(
            key,
            "whatsapp",
            IndexEvent::Started,
            ts("2026-11-27T08:30:00Z"),
        )
        .unwrap();
        j.record_index(
            key,
            "whatsapp",
            IndexEvent::Completed,
            ts("2026-11-27T08:31:00Z"),
        )
        .unwrap();
        let second = decisions(&n, &j, "2026-11-28T09:00:00Z");
        assert_eq!(second.len(), 1, "{second:?}");
        assert!(second[0].0.contains("#update-20261128T0900"), "{second:?}");
        j.record_index(
            &second[0].0,
            "whatsapp",
            IndexEvent::Completed,
            ts("2026-11-28T09:05:00Z"),
        )
        .unwrap();
        assert!(decisions(&n, &j, "2026-11-28T10:00:00Z").is_empty());
    }

    #[test]
    fn editing_or_moving_a_sent_notice_does_not_resend_it() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let old_key = "/bekanntmachungen/2026/alter-name/#notice";
        j.record_index(
            old_key,
            "whatsapp",
            IndexEvent::Marked,
            ts("2026-11-28T08:00:00Z"),
        )
        .unwrap();
        let mut moved = notice("neuer-name", "2026-11-28T07:00:00Z");
        moved.title = "Korrigierter Titel".into();
        moved.aliases = vec!["/bekanntmachungen/2026/alter-name".into()];
        assert!(decisions(&[moved], &j, "2026-11-28T09:00:00Z").is_empty());
    }
}
