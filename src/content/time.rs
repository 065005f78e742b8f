//! Dates as editors write them in front matter ("2026-11-28", "2026-11-28 09:30"), read in the site's
//! time zone, and turned into instants.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// Parses a date or date-time. Without an offset it is local time in `tz`.
///
/// Accepted: `2026-11-28` (midnight), `2026-11-28 09:30`, `2026-11-28T09:30[:ss]`, and any of the
/// time forms with `+01:00` or `Z`. Local times that fall into a DST gap are moved forward by the
/// gap, times in the repeated autumn hour take the first (summer time) occurrence, as a person
/// reading a clock would.
pub fn parse_time(s: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("die Zeitangabe ist leer".into());
    }
    if has_offset(s) {
        return s
            .parse::<Timestamp>()
            .map_err(|e| format!("`{s}` ist keine gültige Zeitangabe ({e})"));
    }
    let local = if s.len() <= 10 {
        s.parse::<Date>()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
            .map_err(|e| format!("`{s}` ist kein gültiges Datum ({e})"))?
    } else {
        s.parse::<DateTime>()
            .map_err(|e| format!("`{s}` ist keine gültige Zeitangabe ({e})"))?
    };
    tz.to_timestamp(local)
        .map_err(|e| format!("`{s}` lässt sich nicht in die Zeitzone umrechnen ({e})"))
}

/// Whether `s` is a plain calendar date (no time of day).
pub fn is_date_only(s: &str) -> bool {
    let s = s.trim();
    s.len() <= 10 && s.parse::<Date>().is_ok()
}

/// A trailing `Z` or `±hh:mm` after the time part.
fn has_offset(s: &str) -> bool {
    let Some(time_start) = s.find(['T', 't', ' ']) else {
        return false;
    };
    let time = &s[time_start + 1..];
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    fn utc(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn local_forms_are_read_in_the_site_time_zone() {
        let tz = berlin();
        assert_eq!(
            parse_time("2026-11-28", &tz).unwrap(),
            utc("2026-11-27T23:00:00Z")
        );
        assert_eq!(
            parse_time("2026-11-28 09:30", &tz).unwrap(),
            utc("2026-11-28T08:30:00Z")
        );
        assert_eq!(
            parse_time("2026-11-28T09:30", &tz).unwrap(),
            utc("2026-11-28T08:30:00Z")
        );
        assert_eq!(
            parse_time(" 2026-11-28T09:30:15 ", &tz).unwrap(),
            utc("2026-11-28T08:30:15Z")
        );
    }

    #[test]
    fn summer_time_is_respected() {
        let tz = berlin();
        assert_eq!(
            parse_time("2026-07-01 12:00", &tz).unwrap(),
            utc("2026-07-01T10:00:00Z")
        );
        // Spring gap: 02:30 does not exist on 2026-03-29; the clock reads 03:30 CEST then.
        assert_eq!(
            parse_time("2026-03-29 02:30", &tz).unwrap(),
            utc("2026-03-29T01:30:00Z")
        );
        // Autumn fold: 02:30 happens twice on 2026-10-25; the first (CEST) one is taken.
        assert_eq!(
            parse_time("2026-10-25 02:30", &tz).unwrap(),
            utc("2026-10-25T00:30:00Z")
        );
    }

    #[test]
    fn explicit_offsets_win_over_the_time_zone() {
        let tz = berlin();
        assert_eq!(
            parse_time("2026-11-28T09:30+01:00", &tz).unwrap(),
            utc("2026-11-28T08:30:00Z")
        );
        assert_eq!(
            parse_time("2026-11-28T09:30Z", &tz).unwrap(),
            utc("2026-11-28T09:30:00Z")
        );
        assert_eq!(
            parse_time("2026-11-28 09:30-05:00", &tz).unwrap(),
            utc("2026-11-28T14:30:00Z")
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let tz = berlin();
        for bad in [
            "",
            "morgen",
            "2026-13-01",
            "2026-02-30",
            "28.11.2026",
            "2026-11-28 25:00",
            "2026-11-28T09:30+99:00",
        ] {
            let err = parse_time(bad, &tz).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
    }

    #[test]
    fn date_only_detection() {
        assert!(is_date_only("2026-11-28"));
        assert!(!is_date_only("2026-11-28 10:00"));
        assert!(!is_date_only("morgen"));
    }
}
