//! The template changes Meta reports by webhook (status, category, quality), recorded into the
//! WhatsApp provider's template book (`subscribers/inbox/templates.json`) by `aushang inbox pull`.

use jiff::Timestamp;

use super::events::{Envelope, Event};
use crate::providers::whatsapp::templates::{TemplateBook, TemplateState};

impl TemplateBook {
    /// Applies the template events among `events`; an event older than what is recorded for
    /// that aspect is ignored, so a late retry never undoes a newer change. Returns whether the
    /// book changed.
    pub fn apply(&mut self, events: &[Envelope]) -> bool {
        let mut sorted: Vec<&Envelope> = events
            .iter()
            .filter(|e| matches!(e.event, Event::Template { .. }))
            .collect();
        sorted.sort_by(|a, b| (a.event.at(), &a.id).cmp(&(b.event.at(), &b.id)));
        let before = self.clone();
        for e in sorted {
            let Event::Template {
                at,
                name,
                language,
                status,
                category,
                quality,
                reason,
                ..
            } = &e.event
            else {
                continue;
            };
            let entry = self
                .templates
                .entry(format!("{name}/{language}"))
                .or_insert_with(|| TemplateState {
                    name: name.clone(),
                    language: language.clone(),
                    ..TemplateState::default()
                });
            let newer = |t: Option<Timestamp>| t.is_none_or(|t| *at >= t);
            if let Some(s) = status
                && newer(entry.status_at)
            {
                entry.status = Some(s.clone());
                entry.status_at = Some(*at);
                entry.reason = reason.clone();
            }
            if let Some(c) = category
                && newer(entry.category_at)
            {
                entry.category = Some(c.clone());
                entry.category_at = Some(*at);
            }
            if let Some(q) = quality
                && newer(entry.quality_at)
            {
                entry.quality = Some(q.clone());
                entry.quality_at = Some(*at);
            }
        }
        *self != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::whatsapp::templates::{blocked_reason, book_path};

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn status(at: i64, status: &str) -> Envelope {
        Envelope {
            id: super::super::events::template_id(status, Some(at)),
            received_at: t(1000),
            event: Event::Template {
                at: t(at),
                name: "neue_bekanntmachung".into(),
                language: "de".into(),
                field: "message_template_status_update".into(),
                status: Some(status.into()),
                category: None,
                quality: None,
                reason: None,
            },
        }
    }

    #[test]
    fn the_newest_status_wins_whatever_the_order() {
        let mut book = TemplateBook::default();
        assert!(book.apply(&[status(20, "APPROVED"), status(10, "PAUSED")]));
        assert_eq!(
            blocked_reason(&book, "neue_bekanntmachung", "de"),
            None,
            "a late PAUSED older than the APPROVED does not block"
        );
        book.apply(&[status(30, "PAUSED")]);
        let why = blocked_reason(&book, "neue_bekanntmachung", "de").unwrap();
        assert!(
            why.contains("`neue_bekanntmachung` (de) ist PAUSED"),
            "{why}"
        );
        assert!(!book.apply(&[status(30, "PAUSED")]), "idempotent");
        book.apply(&[status(40, "REINSTATED")]);
        assert_eq!(blocked_reason(&book, "neue_bekanntmachung", "de"), None);
        assert_eq!(blocked_reason(&book, "other", "de"), None);
    }

    #[test]
    fn the_book_round_trips_and_a_corrupt_one_names_the_file() {
        let root = tempfile::tempdir().unwrap();
        let mut book = TemplateBook::default();
        book.apply(&[status(10, "DISABLED")]);
        book.save(root.path()).unwrap();
        assert_eq!(TemplateBook::load(root.path()).unwrap(), book);
        std::fs::write(book_path(root.path()), "{ not json").unwrap();
        let err = TemplateBook::load(root.path()).unwrap_err();
        assert!(err.contains("templates.json: Zeile 1"), "{err}");
    }
}
