//! German date formatting ("28. November 2026, 09:30 Uhr"): jiff has no German month names.

use jiff::Timestamp;
use jiff::tz::TimeZone;

pub const MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

/// "28. November 2026" in the site's time zone.
pub fn date_de(ts: Timestamp, tz: &TimeZone) -> String {
    let z = ts.to_zoned_datetime(tz.clone());
    format!(
        "{}. {} {}",
        z.day(),
        MONTHS[(z.month() - 1) as usize],
        z.year()
    )
}

/// "28. November 2026, 09:30 Uhr"; a local midnight means "the whole day", so the time is left out.
pub fn date_time_de(ts: Timestamp, tz: &TimeZone) -> String {
    let z = ts.to_zoned_datetime(tz.clone());
    let date = format!(
        "{}. {} {}",
        z.day(),
        MONTHS[(z.month() - 1) as usize],
        z.year()
    );
    if z.hour() == 0 && z.minute() == 0 {
        date
    } else {
        format!("{date}, {:02}:{:02} Uhr", z.hour(), z.minute())
    }
}

/// The end of a period, as in "gültig bis …": a local midnight is the end of the day before
/// ("einschließlich 12. Dezember 2026"), any other instant is given with its time.
pub fn until_de(ts: Timestamp, tz: &TimeZone) -> String {
    let z = ts.to_zoned_datetime(tz.clone());
    if z.hour() == 0 && z.minute() == 0 {
        let day_before = z.date().yesterday().unwrap_or(z.date());
        let month = MONTHS[(day_before.month() - 1) as usize];
        format!(
            "einschließlich {}. {month} {}",
            day_before.day(),
            day_before.year()
        )
    } else {
        date_time_de(ts, tz)
    }
}

/// ISO 8601 with the local offset, for `<time datetime=…>`: `2026-11-28T09:30:00+01:00`.
pub fn iso_local(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The calendar year in the site's time zone (the archive groups by it).
pub fn local_year(ts: Timestamp, tz: &TimeZone) -> i16 {
    ts.to_zoned_datetime(tz.clone()).year()
}

/// RFC 3339 in UTC, as Atom and sitemaps want it; seconds precision keeps output stable.
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    #[test]
    fn formats_german_dates_in_the_site_time_zone() {
        let ts: Timestamp = "2026-11-28T08:30:00Z".parse().unwrap();
        assert_eq!(date_de(ts, &berlin()), "28. November 2026");
        assert_eq!(date_time_de(ts, &berlin()), "28. November 2026, 09:30 Uhr");
        assert_eq!(iso_local(ts, &berlin()), "2026-11-28T09:30:00+01:00");
        // 23:30 UTC on 31 Dec is already New Year in Berlin.
        let ny: Timestamp = "2026-12-31T23:30:00Z".parse().unwrap();
        assert_eq!(date_de(ny, &berlin()), "1. Januar 2027");
        assert_eq!(local_year(ny, &berlin()), 2027);
    }

    #[test]
    fn every_month_has_its_german_name_and_midnight_hides_the_time() {
        let tz = berlin();
        let names: Vec<String> = (1..=12)
            .map(|m| {
                let ts = jiff::civil::date(2026, m, 1)
                    .at(0, 0, 0, 0)
                    .to_zoned_datetime(tz.clone())
                    .unwrap()
                    .timestamp();
                date_time_de(ts, &tz)
            })
            .collect();
        assert_eq!(names[2], "1. März 2026");
        assert_eq!(names[11], "1. Dezember 2026");
        assert!(names.iter().all(|n| !n.contains("Uhr")), "{names:?}");
    }

    #[test]
    fn an_end_at_midnight_includes_the_day_before() {
        let end: Timestamp = "2026-12-12T23:00:00Z".parse().unwrap(); // 13 Dec 00:00 in Berlin
        assert_eq!(until_de(end, &berlin()), "einschließlich 12. Dezember 2026");
        let new_year: Timestamp = "2026-12-31T23:00:00Z".parse().unwrap();
        assert_eq!(
            until_de(new_year, &berlin()),
            "einschließlich 31. Dezember 2026"
        );
        let afternoon: Timestamp = "2026-12-12T14:00:00Z".parse().unwrap();
        assert_eq!(
            until_de(afternoon, &berlin()),
            "12. Dezember 2026, 15:00 Uhr"
        );
    }

    #[test]
    fn summer_time_uses_the_summer_offset() {
        let ts: Timestamp = "2026-07-04T12:00:00Z".parse().unwrap();
        assert_eq!(iso_local(ts, &berlin()), "2026-07-04T14:00:00+02:00");
        assert_eq!(rfc3339(ts), "2026-07-04T12:00:00Z");
    }
}
