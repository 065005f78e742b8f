//! Text shown to admins: the masked table of `list`, the totals of `count`, the Art. 15 record.

use std::fmt::Write as _;
use std::path::Path;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::list::Counts;
use super::record::{Channel, Status, Subscriber};
use crate::text::for_terminal;

/// The `list` table; addresses masked and names left out unless `reveal`.
pub fn table(rows: &[&Subscriber], reveal: bool, tz: &TimeZone) -> String {
    let mut out = format!(
        "{:<18}  {:<8}  {:<24}  {:<22}  {:<12}  Themen\n",
        "Kennung", "Kanal", "Adresse", "Status", "Einwilligung"
    );
    for s in rows {
        let address = if reveal {
            s.address.clone()
        } else {
            s.masked_address()
        };
        let topics = match (s.status, s.topics.is_empty()) {
            (Status::Unsubscribed, _) => "-".to_string(),
            (_, true) => "(alle)".to_string(),
            (_, false) => s.topics.join(" "),
        };
        let consent = s
            .consent_at
            .map(|t| tz.to_datetime(t).strftime("%d.%m.%Y").to_string())
            .unwrap_or_default();
        // Every value from the list goes through `for_terminal`: a name such as
        // "Erika\nstatus: active" or one with an ESC sequence must not forge or rewrite output.
        let _ = write!(
            out,
            "{:<18}  {:<8}  {:<24}  {:<22}  {:<12}  {}",
            for_terminal(&s.id),
            s.channel.label(),
            for_terminal(&address),
            s.status.label(),
            consent,
            for_terminal(&topics)
        );
        match (&s.name, reveal) {
            (Some(n), true) => {
                let _ = writeln!(out, "  {}", for_terminal(n));
            }
            _ => out.push('\n'),
        }
    }
    out
}

/// The `count` output.
pub fn counts(c: &Counts) -> String {
    let mut out = format!("insgesamt: {}\n", c.total);
    if let Some(n) = c.by_status.get(Status::Unreachable.as_str()) {
        let _ = writeln!(
            out,
            "Hinweis: {n} Abonnement(s) nicht erreichbar (mehrmals nacheinander unzustellbar; sie \
             bekommen nichts, bis sie START schreiben)"
        );
    }
    for (title, map, label) in [
        (
            "nach Kanal",
            &c.by_channel,
            channel_label as fn(&str) -> &str,
        ),
        ("nach Status", &c.by_status, status_label),
        ("aktiv nach Thema", &c.by_topic, |k| k),
    ] {
        let _ = writeln!(out, "{title}:");
        for (k, v) in map {
            let _ = writeln!(out, "  {:<24} {v}", label(k));
        }
    }
    out
}

/// The German label of a stored channel value (`whatsapp` → `WhatsApp`); unknown ones as they are.
fn channel_label(stored: &str) -> &str {
    stored.parse::<Channel>().map_or(stored, |c| c.label())
}

/// The German label of a stored status value (`pending` → `wartet auf Bestätigung`).
fn status_label(stored: &str) -> &str {
    stored.parse::<Status>().map_or(stored, |s| s.label())
}

/// Everything stored about one subscription, in clear (DSGVO Art. 15).
pub fn record(s: &Subscriber, tz: &TimeZone) -> String {
    let ts = |t: Option<Timestamp>| t.map(|t| local(t, tz)).unwrap_or_default();
    let topics = if s.topics.is_empty() {
        "(alle)".to_string()
    } else {
        s.topics.join(", ")
    };
    let fields = [
        ("id", s.id.clone()),
        ("channel", format!("{} ({})", s.channel, s.channel.label())),
        ("address", s.address.clone()),
        ("name", s.name.clone().unwrap_or_default()),
        ("topics", topics),
        ("language", s.language.clone()),
        ("status", format!("{} ({})", s.status, s.status.label())),
        ("consent_at", ts(s.consent_at)),
        ("consent_source", s.consent_source.clone()),
        ("consent_text", s.consent_text.clone()),
        ("confirmed_at", ts(s.confirmed_at)),
        ("unsubscribed_at", ts(s.unsubscribed_at)),
        ("bsuid", s.bsuid.clone().unwrap_or_default()),
    ];
    let mut out = String::new();
    for (k, v) in fields {
        let _ = writeln!(out, "{:<17}{}", format!("{k}:"), for_terminal(&v));
    }
    out
}

/// A moment as the town entered it: the local date, with the time only when there is one (a
/// date-only `02.11.2026` was stored as local midnight and shows as `02.11.2026`, not as the
/// UTC instant `2026-11-01T23:00Z`).
pub fn local(t: Timestamp, tz: &TimeZone) -> String {
    let zoned = tz.to_datetime(t);
    if zoned.time() == jiff::civil::Time::midnight() {
        zoned.strftime("%d.%m.%Y").to_string()
    } else {
        zoned.strftime("%d.%m.%Y %H:%M").to_string()
    }
}

/// What `aushang subscribers init` prints: the only time the new secret key is shown.
pub fn init_instructions(recipients: &Path, list: &Path, public: &str, secret: &str) -> String {
    format!(
        "Angelegt: {} (öffentlicher Schlüssel {public})\n\
         und eine leere verschlüsselte Liste {}.\n\n\
         Geheimer Schlüssel – nur jetzt angezeigt, aushang behält keine Kopie:\n\n    {secret}\n\n\
         1. Als Repository-Secret AUSHANG_IDENTITY speichern (GitHub: Settings → Secrets and\n   \
         variables → Actions), nur für den Workflow-Schritt, der sendet.\n\
         2. Eine zweite Kopie im Passwort-Manager der Gemeinde aufbewahren. Ohne sie kann niemand die Liste lesen.\n\
         3. Wer die Liste braucht, legt einen eigenen Schlüssel an (`age-keygen -o key.txt`), trägt den\n   \
         öffentlichen Schlüssel in recipients.txt ein, und jemand mit Zugang führt `aushang subscribers rekey` aus.\n\
         Den geheimen Schlüssel nie committen.\n",
        recipients.display(),
        list.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erika() -> Subscriber {
        Subscriber {
            id: "s_00000000000000e1".into(),
            channel: Channel::WhatsApp,
            address: "+491713920000".into(),
            name: Some("Erika Beispiel".into()),
            topics: vec!["verkehr".into()],
            language: "de".into(),
            status: Status::Active,
            consent_at: Some("2026-09-01T08:12:00Z".parse().unwrap()),
            consent_source: "web".into(),
            consent_text: "v1".into(),
            confirmed_at: None,
            unsubscribed_at: None,
            bsuid: None,
        }
    }

    #[test]
    fn the_table_masks_unless_revealed() {
        let s = erika();
        let masked = table(&[&s], false, &berlin());
        assert!(
            masked.contains("+49171****000") && masked.contains("01.09.2026"),
            "{masked}"
        );
        assert!(!masked.contains("3920000") && !masked.contains("Erika"));
        let shown = table(&[&s], true, &berlin());
        assert!(shown.contains("+491713920000") && shown.contains("Erika Beispiel"));
    }

    #[test]
    fn unreachable_is_shown_in_the_table_and_the_counts() {
        let mut s = erika();
        s.status = Status::Unreachable;
        let t = table(&[&s], false, &berlin());
        assert!(
            t.contains("nicht erreichbar")
                && !t.contains("unreachable")
                && t.contains("+49171****000"),
            "{t}"
        );
        let list = crate::subscribers::SubscriberList::new(vec![s, erika()]);
        let text = counts(&list.counts());
        assert!(text.contains("nicht erreichbar         1"), "{text}");
        assert!(text.contains("aktiv                    1"), "{text}");
        assert!(text.contains("WhatsApp                 2"), "{text}");
        assert!(
            text.contains("Hinweis: 1 Abonnement(s) nicht erreichbar"),
            "{text}"
        );
    }

    #[test]
    fn names_from_the_list_cannot_forge_or_rewrite_terminal_output() {
        let mut s = erika();
        s.name = Some("\u{1b}]0;owned\u{7}\u{1b}[2KErika\nstatus:          unsubscribed".into());
        s.consent_source = "web\u{1b}[8m".into();
        s.topics = vec!["verkehr\u{1b}[1A".into()];
        for out in [record(&s, &berlin()), table(&[&s], true, &berlin())] {
            assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
            assert!(
                out.lines()
                    .all(|l| !l.starts_with("status:          unsubscribed")),
                "{out}"
            );
            assert!(
                out.contains("\\u{1b}]0;owned\\u{7}\\u{1b}[2KErika\\u{a}status:"),
                "{out}"
            );
        }
        assert_eq!(record(&s, &berlin()).lines().count(), 13);
        assert_eq!(table(&[&s], true, &berlin()).lines().count(), 2);
    }

    #[test]
    fn the_record_holds_every_field() {
        let text = record(&erika(), &berlin());
        assert_eq!(text.lines().count(), 13);
        assert!(text.contains("address:         +491713920000\n"), "{text}");
        assert!(
            text.contains("consent_at:      01.09.2026 10:12\n"),
            "shown in the town's time, as entered: {text}"
        );
    }

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    #[test]
    fn a_date_only_consent_shows_as_the_date_entered() {
        let mut s = erika();
        // `02.11.2026` entered as a date: local midnight, which is 23:00 UTC the day before.
        s.consent_at = Some(crate::content::time::parse_time("2026-11-02", &berlin()).unwrap());
        assert_eq!(s.consent_at.unwrap().to_string(), "2026-11-01T23:00:00Z");
        let text = record(&s, &berlin());
        assert!(text.contains("consent_at:      02.11.2026\n"), "{text}");
        assert!(!text.contains("2026-11-01"), "{text}");
        let row = table(&[&s], false, &berlin());
        assert!(row.contains("02.11.2026"), "{row}");
        assert!(!row.contains("2026-11-01"), "{row}");
    }
}
