//! The message preview of the editor: the text `broadcast --dry-run` shows, rendered once by the
//! broadcast code itself with a marker in place of each notice field (`⟦title⟧`, `⟦summary⟧`…).
//! The form's preview replaces the markers with the entry's values, cleaned as WhatsApp
//! parameters are, so it shows exactly what the dry run will show for the saved notice.

use serde::Serialize;

use crate::config::Config;
use crate::delivery::message::{FIELDS, Message, MessageKind};
use crate::providers::deliverer::Deliverer;
use crate::providers::outbox::Outbox;
use crate::subscribers::optout::OptOut;

/// `⟦name⟧`: the marker of notice field `name` in a message pattern.
pub fn marker(name: &str) -> String {
    format!("\u{27e6}{name}\u{27e7}")
}

/// What the editor's preview needs to fill in a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessagePatterns {
    /// The message about a new notice, with markers.
    pub notice: Result<String, String>,
    /// The message about an update, with markers (`⟦update⟧` is the update's text).
    pub update: Result<String, String>,
    /// Whether field values are cleaned to WhatsApp's parameter rules (one line, capped); plain
    /// text messages (the outbox without WhatsApp) show them as written.
    pub whatsapp: bool,
    /// How it is sent, as the dry run says it (`WhatsApp-Vorlage `name` (de)`).
    pub header: Result<String, String>,
}

/// Renders both messages with markers, the way the dry run renders them (the outbox deliverer
/// with the site's WhatsApp settings; the opt-out link as previews show it, no secret read).
pub fn patterns(config: &Config) -> MessagePatterns {
    let whatsapp = config.broadcast.channels.whatsapp.clone();
    let optout = config.inbox.as_ref().map(|i| OptOut::new(&i.url, None));
    let deliverer = Deliverer::Outbox {
        outbox: Outbox::new(&config.root).with_optout(optout),
        whatsapp: whatsapp.clone(),
    };
    let notice = pattern_message(MessageKind::Notice);
    let update = pattern_message(MessageKind::Update {
        date: jiff::Timestamp::UNIX_EPOCH,
        text: marker("update"),
    });
    let rendered = deliverer.render(&notice);
    MessagePatterns {
        header: rendered
            .as_ref()
            .map(|r| r.header.clone())
            .map_err(Clone::clone),
        notice: rendered.map(|r| r.text),
        update: deliverer.render(&update).map(|r| r.text),
        whatsapp: whatsapp.is_some(),
    }
}

fn pattern_message(kind: MessageKind) -> Message {
    debug_assert!(FIELDS.contains(&"category"));
    Message {
        key: String::new(),
        alias_keys: Vec::new(),
        kind,
        notice_path: marker("path"),
        title: marker("title"),
        summary: marker("summary"),
        category: Some(marker("category")),
        urgent: false,
        due_from: jiff::Timestamp::UNIX_EPOCH,
        url: marker("url"),
        date_text: marker("date"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::notice_loader::{Outcome, notice_from_source};
    use crate::content::source::SourceFile;
    use crate::delivery::message::messages_of;

    /// Fills a pattern as `aushang-editor.js` does (`fill`), for notices whose values need no
    /// cleaning: each marker becomes the field's value.
    fn fill(pattern: &str, values: &[(&str, &str)]) -> String {
        values
            .iter()
            .fold(pattern.to_string(), |text, (name, value)| {
                text.replace(&marker(name), value)
            })
    }

    #[test]
    fn the_filled_pattern_is_the_dry_runs_text() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = crate::config::load(root).unwrap();
        let patterns = patterns(&config);
        let text = "---\ntitle: Sperrung der Hönnestraße\ndate: 2026-12-06 09:30\nsummary: Die Hönnestraße ist am Montag gesperrt; Umleitung über die Bahnhofstraße.\ncategory: verkehr\nupdates:\n  - date: 2026-12-07 10:00\n    text: Die Sperrung dauert bis Mittwoch.\n---\nText.\n";
        let src = SourceFile::parse(
            "content/notices/2026/2026-12-06-sperrung-der-hoennestrasse.md".into(),
            text.into(),
        )
        .unwrap();
        let mut problems = Vec::new();
        let Outcome::Loaded(n) = notice_from_source(&config, src, false, &mut problems) else {
            panic!("{problems:?}");
        };
        let messages = messages_of(&n.notice, &config);
        let deliverer = Deliverer::Outbox {
            outbox: Outbox::new(&config.root)
                .with_optout(config.inbox.as_ref().map(|i| OptOut::new(&i.url, None))),
            whatsapp: config.broadcast.channels.whatsapp.clone(),
        };
        let url = config.absolute_url("/bekanntmachungen/2026/sperrung-der-hoennestrasse/");
        let common = [
            ("title", "Sperrung der Hönnestraße"),
            ("category", "verkehr"),
            ("url", url.as_str()),
            ("path", "/bekanntmachungen/2026/sperrung-der-hoennestrasse/"),
        ];
        let mut values = common.to_vec();
        values.extend([
            ("summary", n.notice.summary.as_str()),
            ("date", "6. Dezember 2026"),
        ]);
        assert_eq!(
            fill(patterns.notice.as_ref().unwrap(), &values),
            deliverer.render(&messages[0]).unwrap().text
        );
        let mut values = common.to_vec();
        values.extend([
            ("update", "Die Sperrung dauert bis Mittwoch."),
            ("summary", n.notice.summary.as_str()),
            ("date", "7. Dezember 2026"),
        ]);
        assert_eq!(
            fill(patterns.update.as_ref().unwrap(), &values),
            deliverer.render(&messages[1]).unwrap().text
        );
        assert!(patterns.whatsapp);
        assert!(patterns.notice.unwrap().contains(&marker("summary")));
    }
}
