//! How log lines look on stderr: a German level word (`Warnung:`, `Hinweis:`, `Fehler:`) and the
//! message, nothing else — a town's admin reads them in a terminal or a CI log. Colour only when
//! the writer allows it (a terminal without `NO_COLOR`).

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter `main` installs.
#[derive(Debug, Clone, Copy, Default)]
pub struct GermanLines;

/// The German word for a level, as it starts a log line.
pub fn level_word(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "Fehler",
        Level::WARN => "Warnung",
        Level::INFO => "Hinweis",
        Level::DEBUG => "Debug",
        Level::TRACE => "Ablauf",
    }
}

impl<S, N> FormatEvent<S, N> for GermanLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = event.metadata().level();
        let word = level_word(level);
        if writer.has_ansi_escapes() {
            let colour = match *level {
                Level::ERROR => "31",
                Level::WARN => "33",
                Level::INFO => "32",
                _ => "2",
            };
            write!(writer, "\u{1b}[1;{colour}m{word}:\u{1b}[0m ")?;
        } else {
            write!(writer, "{word}: ")?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
