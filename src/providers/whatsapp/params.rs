//! Making notice text and paths safe for template parameters: whitespace rules (so 132018 cannot
//! happen), length caps, and percent-encoding of the URL button suffix.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Cleans one body parameter to the API rules: every run of whitespace (including newlines, tabs
/// and no-break spaces) and every control character becomes one space, the ends are trimmed, the
/// text is capped at `max_chars` characters (ending in "…" when cut), and an empty result becomes
/// "-" because Meta rejects empty parameters.
pub fn clean_param(s: &str, max_chars: usize) -> String {
    let max_chars = max_chars.max(1);
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    if out.is_empty() {
        return "-".into();
    }
    if out.chars().count() <= max_chars {
        return out;
    }
    let mut cut: String = out.chars().take(max_chars - 1).collect();
    let trimmed = cut.trim_end().len();
    cut.truncate(trimmed);
    cut.push('…');
    cut
}

/// Characters kept as they are in a URL button suffix: RFC 3986 unreserved characters and `/`.
/// Meta appends the suffix to the template's URL, so the notice path's `/` separators must stay
/// separators; everything else (space, `ç`, `|`, `%`, `?`, `#`…) is percent-encoded as UTF-8.
const SUFFIX_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Percent-encodes a notice path for the URL button. Give it the raw (decoded) path: a `%` in
/// the input is encoded as `%25`.
pub fn encode_url_suffix(path: &str) -> String {
    utf8_percent_encode(path, SUFFIX_KEEP).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cleans_the_api_rule_breakers() {
        assert_eq!(
            clean_param("  Straße\n\ngesperrt\t(B 27)     ab Montag ", 200),
            "Straße gesperrt (B 27) ab Montag"
        );
        assert_eq!(clean_param("a\u{a0}\u{a0}b\r\nc", 200), "a b c");
        assert_eq!(clean_param(" \n\t ", 200), "-");
        assert_eq!(clean_param("", 200), "-");
        assert_eq!(
            clean_param("Wasserrohrbruch Hauptstraße", 12),
            "Wasserrohrb…"
        );
        assert_eq!(clean_param("ab cd", 4), "ab…");
        assert_eq!(clean_param("äöü", 3), "äöü");
        assert_eq!(clean_param("äöüß", 3), "äö…");
    }

    #[test]
    fn encodes_the_suffix_like_meta_asks() {
        assert_eq!(encode_url_suffix("a b"), "a%20b");
        assert_eq!(encode_url_suffix("ç"), "%C3%A7");
        assert_eq!(encode_url_suffix("a|b"), "a%7Cb");
        assert_eq!(
            encode_url_suffix("bekanntmachungen/2026/straßensperrung-b27/"),
            "bekanntmachungen/2026/stra%C3%9Fensperrung-b27/"
        );
        assert_eq!(encode_url_suffix("100%?x#y"), "100%25%3Fx%23y");
        assert_eq!(encode_url_suffix("a-b_c.d~e"), "a-b_c.d~e");
    }

    proptest! {
        #[test]
        fn cleaned_params_always_pass_the_api_rules(s in "\\PC*|[ \t\r\n\u{a0}a-zä]{0,80}", max in 1usize..300) {
            let out = clean_param(&s, max);
            prop_assert!(!out.is_empty());
            prop_assert!(!out.contains(['\n', '\r', '\t']));
            prop_assert!(!out.contains("  "), "double space in {:?}", out);
            prop_assert_eq!(out.trim(), out.as_str());
            prop_assert!(out.chars().count() <= max);
            prop_assert!(!out.chars().any(|c| c.is_control()));
        }

        #[test]
        fn clean_text_passes_unchanged(words in proptest::collection::vec("[a-zA-Z0-9äöüß.,:!?()-]{1,12}", 1..10)) {
            let s = words.join(" ");
            prop_assert_eq!(clean_param(&s, 1000), s);
        }

        #[test]
        fn cleaning_keeps_the_words(s in "\\PC{0,100}") {
            let words_in: Vec<&str> = s.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()).collect();
            let out = clean_param(&s, 10_000);
            let words_out: Vec<&str> = if words_in.is_empty() { vec![] } else { out.split(' ').collect() };
            prop_assert_eq!(words_in, words_out);
        }

        #[test]
        fn suffix_decodes_back_and_is_url_safe(s in "\\PC{0,60}") {
            let enc = encode_url_suffix(&s);
            prop_assert!(enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b)));
            let dec = percent_encoding::percent_decode_str(&enc).decode_utf8().unwrap();
            prop_assert_eq!(dec, s);
        }
    }
}
