//! German-correct slugs for web addresses: "Hönnestraße" becomes `hoennestrasse`, not `honnestrasse`.

use unicode_normalization::UnicodeNormalization;

/// Turns text into a URL slug of `[a-z0-9-]` without leading or trailing dashes.
///
/// Umlauts are folded the German way (ä→ae, ö→oe, ü→ue, ß→ss) before the generic transliteration
/// of the `slug` crate, which would otherwise drop the "e". NFC comes first so that a decomposed
/// `o` + combining diaeresis (as macOS editors write it) is folded too.
pub fn slugify(s: &str) -> String {
    let mut folded = String::with_capacity(s.len() + 8);
    for c in s.nfc() {
        match c {
            'ä' => folded.push_str("ae"),
            'ö' => folded.push_str("oe"),
            'ü' => folded.push_str("ue"),
            'Ä' => folded.push_str("Ae"),
            'Ö' => folded.push_str("Oe"),
            'Ü' => folded.push_str("Ue"),
            'ß' => folded.push_str("ss"),
            'ẞ' => folded.push_str("SS"),
            other => folded.push(other),
        }
    }
    slug::slugify(folded)
}

/// Whether `s` is already a well-formed slug: lowercase ASCII words joined by single dashes.
pub fn is_valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn german_examples() {
        assert_eq!(
            slugify("Straßensperrung in der Hönnestraße"),
            "strassensperrung-in-der-hoennestrasse"
        );
        assert_eq!(
            slugify("Änderung: Öffnungszeiten für Übergänge!"),
            "aenderung-oeffnungszeiten-fuer-uebergaenge"
        );
        assert_eq!(slugify("GROẞE Straße"), "grosse-strasse");
        assert_eq!(
            slugify("  Müllabfuhr  – 2. Dezember "),
            "muellabfuhr-2-dezember"
        );
    }

    #[test]
    fn decomposed_umlauts_are_folded_like_composed_ones() {
        let nfd = "Ho\u{0308}nnestra\u{00DF}e";
        assert_eq!(slugify(nfd), "hoennestrasse");
        assert_eq!(slugify("U\u{0308}bergang"), "uebergang");
    }

    #[test]
    fn slug_format_check() {
        assert!(is_valid_slug("wasser-2026"));
        assert!(!is_valid_slug("Wasser"));
        assert!(!is_valid_slug("-wasser"));
        assert!(!is_valid_slug("wasser--rohr"));
        assert!(!is_valid_slug("wasser-"));
        assert!(!is_valid_slug(""));
        assert!(!is_valid_slug("straße"));
    }

    proptest! {
        #[test]
        fn output_is_always_a_clean_slug(s in "\\PC*") {
            let out = slugify(&s);
            prop_assert!(out.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{out}");
            prop_assert!(!out.starts_with('-') && !out.ends_with('-'), "{out}");
            prop_assert!(out.is_empty() || is_valid_slug(&out), "{out}");
        }

        #[test]
        fn slugs_are_stable(s in "\\PC*") {
            let once = slugify(&s);
            prop_assert_eq!(slugify(&once), once.clone());
        }
    }
}
