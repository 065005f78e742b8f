//! The subscriber trend: active, pending and unsubscribed per week, by channel and topic, from
//! the timestamps in the (decrypted) list. Counts only; nothing of a row leaves this module.
//!
//! A row keeps only its latest consent, confirmation and unsubscribe times, so the past is
//! reconstructed from those: someone who unsubscribed and came back counts as active since the
//! return; a pruned unconfirmed sign-up is gone from the list and from the trend.

use std::collections::BTreeMap;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::subscribers::list::ALL_TOPICS;
use crate::subscribers::{Status, Subscriber};

/// One week on one channel and topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekCount {
    /// The Monday that begins the week (site time zone).
    pub week: Date,
    pub channel: String,
    /// A category id, or `(alle)` for people who want every notice.
    pub topic: String,
    /// Active at the end of the week.
    pub active: u64,
    /// Signed up, not yet confirmed, at the end of the week.
    pub pending: u64,
    /// Unsubscribed during the week.
    pub unsubscribed: u64,
}

/// The Mondays of the weeks that overlap `[from, to)`.
pub fn weeks(from: Date, to: Date) -> Vec<Date> {
    let mut monday = from;
    while monday.weekday() != Weekday::Monday {
        monday = monday.yesterday().expect("a date after year -9999");
    }
    let mut out = Vec::new();
    while monday < to {
        out.push(monday);
        monday = monday
            .checked_add(jiff::Span::new().days(7))
            .expect("a date before year 9999");
    }
    out
}

/// Counts per week (Mondays `weeks`), channel and topic; a week's state is taken at its end, or
/// at `now` for the running week. A person with several topics counts under each.
pub fn trend(
    subscribers: &[Subscriber],
    weeks: &[Date],
    tz: &TimeZone,
    now: Timestamp,
) -> Vec<WeekCount> {
    let mut out: BTreeMap<(Date, String, String), WeekCount> = BTreeMap::new();
    for &week in weeks {
        let Ok(start) = week.to_zoned_datetime(tz.clone()).map(|z| z.timestamp()) else {
            continue;
        };
        let end = (start + SignedDuration::from_hours(24 * 7)).min(now);
        if end <= start {
            continue;
        }
        for s in subscribers {
            let unsubscribed = s.unsubscribed_at.is_some_and(|u| u <= end);
            let since = match (s.status, s.confirmed_at) {
                (_, Some(c)) => Some(c),
                (Status::Pending, None) => None,
                (_, None) => s.consent_at,
            };
            let active = !unsubscribed && since.is_some_and(|c| c <= end);
            let pending = !unsubscribed
                && !active
                && s.consent_at.is_some_and(|c| c <= end)
                && (s.status == Status::Pending || s.confirmed_at.is_some());
            let left = s.unsubscribed_at.is_some_and(|u| u > start && u <= end);
            if !(active || pending || left) {
                continue;
            }
            let topics: Vec<String> = if s.topics.is_empty() {
                vec![ALL_TOPICS.to_string()]
            } else {
                s.topics.clone()
            };
            for topic in topics {
                let c = out
                    .entry((week, s.channel.as_str().to_string(), topic.clone()))
                    .or_insert_with(|| WeekCount {
                        week,
                        channel: s.channel.as_str().to_string(),
                        topic,
                        active: 0,
                        pending: 0,
                        unsubscribed: 0,
                    });
                c.active += u64::from(active);
                c.pending += u64::from(pending);
                c.unsubscribed += u64::from(left);
            }
        }
    }
    out.into_values().collect()
}

/// The week totals per channel (every topic summed, each person once).
pub fn by_channel(
    subscribers: &[Subscriber],
    weeks: &[Date],
    tz: &TimeZone,
    now: Timestamp,
) -> Vec<WeekCount> {
    let flat: Vec<Subscriber> = subscribers
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.topics.clear();
            s
        })
        .collect();
    trend(&flat, weeks, tz, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribers::Channel;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn row(id: &str, channel: Channel, topics: &[&str], status: Status) -> Subscriber {
        Subscriber {
            id: id.into(),
            channel,
            address: "+4915100000001".into(),
            name: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            language: "de".into(),
            status,
            consent_at: Some(ts("2026-11-03T10:00:00Z")),
            consent_source: "import".into(),
            consent_text: "v1".into(),
            confirmed_at: None,
            unsubscribed_at: None,
            bsuid: None,
        }
    }

    #[test]
    fn imports_count_from_consent_topics_each_and_channels_apart() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let imported = row(
            "s_1",
            Channel::WhatsApp,
            &["verkehr", "abfall"],
            Status::Active,
        );
        let pending = row("s_2", Channel::Email, &[], Status::Pending);
        let mut unreachable = row("s_3", Channel::WhatsApp, &[], Status::Unreachable);
        unreachable.confirmed_at = Some(ts("2026-11-04T10:00:00Z"));
        let weeks = weeks(
            jiff::civil::date(2026, 11, 2),
            jiff::civil::date(2026, 11, 10),
        );
        assert_eq!(
            weeks,
            vec![
                jiff::civil::date(2026, 11, 2),
                jiff::civil::date(2026, 11, 9)
            ]
        );
        let subs = [imported, pending, unreachable];
        let now = ts("2026-11-10T12:00:00Z");
        let by_topic = trend(&subs, &weeks, &tz, now);
        let get = |week: u8, channel: &str, topic: &str| {
            by_topic
                .iter()
                .find(|w| {
                    w.week == jiff::civil::date(2026, 11, week as i8)
                        && w.channel == channel
                        && w.topic == topic
                })
                .map(|w| (w.active, w.pending, w.unsubscribed))
        };
        assert_eq!(get(2, "whatsapp", "verkehr"), Some((1, 0, 0)));
        assert_eq!(get(2, "whatsapp", "abfall"), Some((1, 0, 0)));
        assert_eq!(
            get(2, "whatsapp", ALL_TOPICS),
            Some((1, 0, 0)),
            "still subscribed"
        );
        assert_eq!(get(2, "email", ALL_TOPICS), Some((0, 1, 0)));
        let totals = by_channel(&subs, &weeks, &tz, now);
        let whatsapp: Vec<u64> = totals
            .iter()
            .filter(|w| w.channel == "whatsapp")
            .map(|w| w.active)
            .collect();
        assert_eq!(
            whatsapp,
            vec![2, 2],
            "each person once, whatever their topics"
        );
    }
}
