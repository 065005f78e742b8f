//! Masking phone numbers in error texts, so an error can be logged or shown anywhere.

/// Masks `to` (with or without `+`) and anything else that looks like a phone number: a run of
/// digits, spaces, `+`, `-`, `(` or `)` holding at least 8 digits. Error codes (at most 7 digits)
/// stay readable.
pub fn scrub(text: &str, to: Option<&str>) -> String {
    let mut text = text.to_owned();
    if let Some(to) = to {
        let digits: String = to.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 4 {
            let masked = crate::subscribers::mask(&format!("+{digits}"));
            text = text.replace(&format!("+{digits}"), &masked);
            text = text.replace(&digits, &masked);
        }
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let is_part = |c: char| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')');
    while i < chars.len() {
        if chars[i].is_ascii_digit() || chars[i] == '+' {
            let mut j = i;
            while j < chars.len() && is_part(chars[j]) {
                j += 1;
            }
            // keep trailing separators outside the masked part
            let mut end = j;
            while end > i && !chars[end - 1].is_ascii_digit() {
                end -= 1;
            }
            let run: String = chars[i..end].iter().collect();
            let digits: String = run.chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 8 {
                let plus = if run.starts_with('+') { "+" } else { "" };
                out.push_str(&crate::subscribers::mask(&format!("{plus}{digits}")));
            } else {
                out.push_str(&run);
            }
            out.extend(&chars[end..j]);
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn masks_numbers_keeps_codes() {
        assert_eq!(
            scrub("(#131026) to 4915123456789 failed", None),
            "(#131026) to 491512****789 failed"
        );
        assert_eq!(scrub("+49 151 2345 6789.", None), "+49151*****789.");
        assert_eq!(scrub("subcode 2494055", None), "subcode 2494055");
        assert_eq!(
            scrub("x +4915123456789 y", Some("+4915123456789")),
            "x +49151*****789 y"
        );
        assert_eq!(
            scrub("nothing here", Some("+4915123456789")),
            "nothing here"
        );
    }
}
