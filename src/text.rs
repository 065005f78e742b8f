//! Text from outside (front matter, sign-up names, list cells): control characters found,
//! escaped for terminals, and spreadsheet formulas neutralised in CSV cells.
//!
//! Control characters are the Unicode category Cc: C0 (U+0000–U+001F), DEL and C1
//! (U+0080–U+009F). A NUL or ESC in a title makes `atom.xml` invalid XML; an ESC or OSC sequence
//! in a name printed raw takes over the admin's terminal. Tab, line feed and carriage return are
//! ordinary in multi-line text (notice bodies) and are judged by the caller (one-line fields
//! refuse them with their own message).

use std::borrow::Cow;

/// A control character other than tab, line feed and carriage return.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The byte offset and character of the first forbidden control character in `s`.
pub fn find_control(s: &str) -> Option<(usize, char)> {
    s.char_indices().find(|&(_, c)| is_forbidden_control(c))
}

/// The first control character of any kind, tab and line breaks included: for one-line values
/// such as a person's name.
pub fn find_control_in_line(s: &str) -> Option<(usize, char)> {
    s.char_indices().find(|&(_, c)| c.is_control())
}

/// How a control character is named in a message: `U+001B (ESC)`.
pub fn describe_control(c: char) -> String {
    const C0: [&str; 32] = [
        "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "TAB", "LF", "VT", "FF",
        "CR", "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM",
        "SUB", "ESC", "FS", "GS", "RS", "US",
    ];
    let code = c as u32;
    match code {
        0..=31 => format!("U+{code:04X} ({})", C0[code as usize]),
        0x7f => "U+007F (DEL)".into(),
        _ => format!("U+{code:04X}"),
    }
}

/// `s` safe to print on a terminal: every control character (line breaks and tabs included, so a
/// value can never forge a line of output) and every bidirectional override is written as an
/// escape such as `\u{1b}`; everything else, umlauts included, stays as it is.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_terminal_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_terminal_escape(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`for_terminal`] but keeps line feeds and tabs: for messages and hints that aushang
/// writes itself over several lines, with values from outside inside them.
pub fn for_terminal_keeping_lines(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| needs_terminal_escape(c) && !matches!(c, '\n' | '\t'))
    {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.split('\n')
            .map(|line| {
                line.split('\t')
                    .map(for_terminal)
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

fn needs_terminal_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether a spreadsheet would read a CSV cell as a formula (OWASP "CSV injection"): it starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return, or is such a cell already guarded with a
/// leading `'` (guarded once more, so that [`unguard_csv_cell`] gives back exactly the value).
fn needs_guard(cell: &str) -> bool {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => true,
        Some(b'\'') => needs_guard(&cell[1..]),
        _ => false,
    }
}

/// A CSV cell as written for people who open the file in a spreadsheet: prefixed with `'` where
/// it would otherwise be read as a formula, unchanged otherwise.
pub fn guard_csv_cell(cell: &str) -> Cow<'_, str> {
    if needs_guard(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The value of a cell written by [`guard_csv_cell`] (exactly: `unguard(guard(v)) == v`).
pub fn unguard_csv_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_guard(rest) => rest,
        _ => cell,
    }
}

/// Text for an XML document with every character XML 1.0 forbids (C0 controls other than tab and
/// line breaks, U+FFFE, U+FFFF) replaced by U+FFFD, so that a feed stays well-formed whatever
/// slipped through. Works on the rendered bytes; returns them unchanged when nothing is wrong.
pub fn xml_safe(bytes: Vec<u8>) -> Vec<u8> {
    let bad_at = |b: &[u8], i: usize| -> usize {
        match b[i] {
            0..=8 | 11 | 12 | 14..=31 => 1,
            0xEF if b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(&(0xBE | 0xBF))) => {
                3
            }
            _ => 0,
        }
    };
    if !(0..bytes.len()).any(|i| bad_at(&bytes, i) > 0) {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut i = 0;
    while i < bytes.len() {
        match bad_at(&bytes, i) {
            0 => {
                out.push(bytes[i]);
                i += 1;
            }
            n => {
                out.extend_from_slice("\u{fffd}".as_bytes());
                i += n;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_found_and_named() {
        assert_eq!(find_control("Straße\tgesperrt\n"), None);
        assert_eq!(find_control("a\u{1b}[31m"), Some((1, '\u{1b}')));
        assert_eq!(find_control("\u{0}"), Some((0, '\u{0}')));
        assert_eq!(find_control("ü\u{9b}"), Some((2, '\u{9b}')));
        assert_eq!(
            find_control_in_line("Erika\nstatus: active"),
            Some((5, '\n'))
        );
        assert_eq!(find_control_in_line("Jürgen Müller"), None);
        assert_eq!(describe_control('\u{1b}'), "U+001B (ESC)");
        assert_eq!(describe_control('\u{0}'), "U+0000 (NUL)");
        assert_eq!(describe_control('\u{7f}'), "U+007F (DEL)");
        assert_eq!(describe_control('\u{9b}'), "U+009B");
    }

    #[test]
    fn terminal_output_shows_escapes_instead_of_controls() {
        assert!(matches!(for_terminal("Jürgen"), Cow::Borrowed("Jürgen")));
        assert_eq!(
            for_terminal("\u{1b}]0;pwned\u{7}Erika\nstatus: active\u{202e}"),
            "\\u{1b}]0;pwned\\u{7}Erika\\u{a}status: active\\u{202e}"
        );
        assert_eq!(
            for_terminal_keeping_lines("a\u{1b}[2J\nb\tc\r"),
            "a\\u{1b}[2J\nb\tc\\u{d}"
        );
    }

    #[test]
    fn formula_cells_are_guarded_and_read_back_exactly() {
        for (value, written) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+49", "'+49"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=x", "''=x"),
            ("Erika", "Erika"),
            ("'quoted'", "'quoted'"),
            ("", ""),
        ] {
            assert_eq!(guard_csv_cell(value), written, "{value:?}");
            assert_eq!(unguard_csv_cell(written), value, "{value:?}");
        }
    }

    #[test]
    fn xml_never_gets_a_forbidden_character() {
        let ok = b"<a>\t\n\r\xc2\x85</a>".to_vec();
        assert_eq!(xml_safe(ok.clone()), ok);
        let bad = b"<a>\x00\x1b[\xef\xbf\xbe</a>".to_vec();
        assert_eq!(
            String::from_utf8(xml_safe(bad)).unwrap(),
            "<a>\u{fffd}\u{fffd}[\u{fffd}</a>"
        );
    }
}
