//! TEMPORARY in main until the `wa` branch lands (it owns this file).

pub fn clean_param(s: &str, max_chars: usize) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let out: String = joined.chars().take(max_chars).collect();
    if out.is_empty() { "-".into() } else { out }
}
