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
