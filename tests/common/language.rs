//! Whether aushang's own words in an output are German: English function words are looked for
//! outside quoted values (`…`), quoted source lines (`12 | …`) and the wrapped messages of
//! libraries and the system (`(Meldung der …)`, `(Meldung des Systems: …)`).

/// Words of an English sentence; none may appear in aushang's own words (compared lowercased).
pub const ENGLISH: [&str; 19] = [
    " the ",
    " is ",
    " are ",
    " must ",
    " cannot ",
    " not ",
    " and ",
    " with ",
    " of ",
    " would ",
    " could ",
    " no ",
    " to ",
    " for ",
    " from ",
    " nothing ",
    " already ",
    " has ",
    " this ",
];

/// Clap's own English words in a help text or an argument error.
pub const CLAP_ENGLISH: [&str; 9] = [
    "Usage",
    "Options:",
    "Commands:",
    "Arguments:",
    "Print help",
    "Print version",
    "[default",
    "[possible values",
    "[env:",
];

/// The text aushang wrote itself (see the module comment), lowercased, punctuation as spaces.
pub fn own_words(output: &str) -> String {
    let mut own = String::new();
    for line in output.split(['\n', '%']) {
        if line
            .trim_start()
            .split_once(" | ")
            .is_some_and(|(n, _)| n.trim().chars().all(|c| c.is_ascii_digit()))
        {
            continue;
        }
        let line = match line.find("(Meldung de") {
            Some(start) => &line[..start],
            None => line,
        };
        let mut quoted = false;
        for c in line.chars() {
            if c == '`' {
                quoted = !quoted;
            } else if !quoted {
                own.push(c);
            }
        }
        own.push_str(" \n");
    }
    own.replace(['.', ',', ':', ';', '(', ')'], " ")
        .to_lowercase()
}

/// Fails naming the English word and showing the whole output.
pub fn assert_german(output: &str) {
    let own = format!(" {} ", own_words(output));
    for word in ENGLISH {
        assert!(
            !own.contains(word),
            "English `{}` in:\n{output}",
            word.trim()
        );
    }
    for word in CLAP_ENGLISH {
        assert!(
            !output.contains(word),
            "clap's English `{word}` in:\n{output}"
        );
    }
}
