//! Text shown to admins: the masked table of `list`, the totals of `count`, the Art. 15 record.

use std::fmt::Write as _;
use std::path::Path;

use jiff::Timestamp;

use super::list::Counts;
use super::record::{Status, Subscriber};
use crate::text::for_terminal;

/// The `list` table; addresses masked and names left out unless `reveal`.
pub fn table(rows: &[&Subscriber], reveal: bool) -> String {
    let mut out = format!(
        "{:<18}  {:<8}  {:<24}  {:<12}  {:<10}  topics\n",
        "id", "channel", "address", "status", "consent"
    );
    for s in rows {
        let address = if reveal {
            s.address.clone()
        } else {
            s.masked_address()
        };
        let topics = match (s.status, s.topics.is_empty()) {
            (Status::Unsubscribed, _) => "-".to_string(),
            (_, true) => "(all)".to_string(),
            (_, false) => s.topics.join(" "),
        };
        let consent = s
            .consent_at
            .map(|t| t.to_string()[..10].to_string())
            .unwrap_or_default();
        // Every value from the list goes through `for_terminal`: a name such as
        // "Erika\nstatus: active" or one with an ESC sequence must not forge or rewrite output.
        let _ = write!(
            out,
            "{:<18}  {:<8}  {:<24}  {:<12}  {:<10}  {}",
            for_terminal(&s.id),
            s.channel,
            for_terminal(&address),
            s.status,
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
    let mut out = format!("total: {}\n", c.total);
    if let Some(n) = c.by_status.get(Status::Unreachable.as_str()) {
        let _ = writeln!(
            out,
            "note: {n} subscription(s) unreachable (undeliverable several times in a row; they get \
             nothing until they write START)"
        );
    }
    for (title, map) in [
        ("by channel", &c.by_channel),
        ("by status", &c.by_status),
        ("active by topic", &c.by_topic),
    ] {
        let _ = writeln!(out, "{title}:");
        for (k, v) in map {
            let _ = writeln!(out, "  {k:<16} {v}");
        }
    }
    out
}

/// Everything stored about one subscription, in clear (DSGVO Art. 15).
pub fn record(s: &Subscriber) -> String {
    let ts = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    let topics = if s.topics.is_empty() {
        "(all)".to_string()
    } else {
        s.topics.join(", ")
    };
    let fields = [
        ("id", s.id.clone()),
        ("channel", s.channel.to_string()),
        ("address", s.address.clone()),
        ("name", s.name.clone().unwrap_or_default()),
        ("topics", topics),
        ("language", s.language.clone()),
        ("status", s.status.to_string()),
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

/// What `aushang subscribers init` prints: the only time the new secret key is shown.
pub fn init_instructions(recipients: &Path, list: &Path, public: &str, secret: &str) -> String {
    format!(
        "Created {} (public key {public})\n\
         and an empty encrypted list {}.\n\n\
         Secret key — shown only now, aushang keeps no copy:\n\n    {secret}\n\n\
         1. Store it as the repository secret AUSHANG_IDENTITY (GitHub: Settings → Secrets and\n   \
         variables → Actions), only for the workflow step that sends.\n\
         2. Keep a second copy in the town's password manager. Without it nobody can read the list.\n\
         3. Admins who need the list create their own key (`age-keygen -o key.txt`), add the public\n   \
         key to recipients.txt and someone with access runs `aushang subscribers rekey`.\n\
         Never commit the secret key.\n",
        recipients.display(),
        list.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribers::record::Channel;

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
        let masked = table(&[&s], false);
        assert!(
            masked.contains("+49171****000") && masked.contains("2026-09-01"),
            "{masked}"
        );
        assert!(!masked.contains("3920000") && !masked.contains("Erika"));
        let shown = table(&[&s], true);
        assert!(shown.contains("+491713920000") && shown.contains("Erika Beispiel"));
    }

    #[test]
    fn unreachable_is_shown_in_the_table_and_the_counts() {
        let mut s = erika();
        s.status = Status::Unreachable;
        let t = table(&[&s], false);
        assert!(
            t.contains("unreachable") && t.contains("+49171****000"),
            "{t}"
        );
        let list = crate::subscribers::SubscriberList::new(vec![s, erika()]);
        let text = counts(&list.counts());
        assert!(text.contains("unreachable      1"), "{text}");
        assert!(
            text.contains("note: 1 subscription(s) unreachable"),
            "{text}"
        );
    }

    #[test]
    fn names_from_the_list_cannot_forge_or_rewrite_terminal_output() {
        let mut s = erika();
        s.name = Some("\u{1b}]0;owned\u{7}\u{1b}[2KErika\nstatus:          unsubscribed".into());
        s.consent_source = "web\u{1b}[8m".into();
        s.topics = vec!["verkehr\u{1b}[1A".into()];
        for out in [record(&s), table(&[&s], true)] {
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
        assert_eq!(record(&s).lines().count(), 13);
        assert_eq!(table(&[&s], true).lines().count(), 2);
    }

    #[test]
    fn the_record_holds_every_field() {
        let text = record(&erika());
        assert_eq!(text.lines().count(), 13);
        assert!(text.contains("address:         +491713920000\n"), "{text}");
        assert!(
            text.contains("consent_at:      2026-09-01T08:12:00Z\n"),
            "{text}"
        );
    }
}
