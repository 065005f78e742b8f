//! The German wording of what `inbox pull` and `inbox confirm` report per event. The stored,
//! machine form in `subscribers/inbox/applied.jsonl` and `confirmations.jsonl` stays English and
//! unchanged (older and newer versions read it, and code compares it); only the display is
//! translated here. A stored text this version does not know (written by a newer one) is shown as
//! it is.

use std::borrow::Cow;

/// Stored outcome of applying an event → German.
const OUTCOMES: [(&str, &str); 33] = [
    ("pending", "wartet auf Bestätigung (JA)"),
    (
        "ignored: older than a STOP from this number",
        "ignoriert: älter als ein STOP von dieser Nummer",
    ),
    (
        "ignored: older than the unsubscribe",
        "ignoriert: älter als die Abmeldung",
    ),
    (
        "ignored: older than the current subscription",
        "ignoriert: älter als die jetzige Anmeldung",
    ),
    (
        "unsubscribed: sign-up waits for the person's JA (row unchanged)",
        "abgemeldet: die Anmeldung wartet auf das JA der Person (Eintrag unverändert)",
    ),
    (
        "already active: change waits for the person's JA (row unchanged)",
        "schon aktiv: die Änderung wartet auf das JA der Person (Eintrag unverändert)",
    ),
    (
        "sign-up waits for the person's JA (row unchanged)",
        "die Anmeldung wartet auf das JA der Person (Eintrag unverändert)",
    ),
    (
        "not matched: BSUID not known, no phone number",
        "nicht zugeordnet: BSUID unbekannt, keine Telefonnummer",
    ),
    (
        "unsubscribed (stopped marketing messages in WhatsApp)",
        "abgemeldet (hat in WhatsApp Marketing-Nachrichten abbestellt)",
    ),
    (
        "recorded: marketing messages resumed (no change; START subscribes again)",
        "festgehalten: Marketing-Nachrichten wieder erlaubt (keine Änderung; START meldet wieder an)",
    ),
    (
        "recorded: unknown preference value (no change)",
        "festgehalten: unbekannte Einstellung (keine Änderung)",
    ),
    (
        "template change (subscribers/inbox/templates.json)",
        "Vorlagen-Änderung (subscribers/inbox/templates.json)",
    ),
    (
        "status (recorded separately)",
        "Zustellstatus (gesondert festgehalten)",
    ),
    (
        "active (subscribed by START)",
        "aktiv (mit START angemeldet)",
    ),
    (
        "active again (confirmed a sign-up after unsubscribe)",
        "wieder aktiv (Anmeldung nach einer Abmeldung bestätigt)",
    ),
    (
        "confirmed a change of the subscription",
        "Änderung des Abonnements bestätigt",
    ),
    ("confirmed", "bestätigt"),
    ("already active", "schon aktiv"),
    (
        "active again (was unreachable)",
        "wieder aktiv (war nicht erreichbar)",
    ),
    (
        "active again (START after unsubscribe)",
        "wieder aktiv (START nach einer Abmeldung)",
    ),
    ("not found", "nicht gefunden"),
    ("already unsubscribed", "schon abgemeldet"),
    ("unsubscribed", "abgemeldet"),
    (
        "active again (confirmed an e-mail sign-up after unsubscribe)",
        "wieder aktiv (E-Mail-Anmeldung nach einer Abmeldung bestätigt)",
    ),
    (
        "already listed: sign-up waits for the confirmation link (row unchanged)",
        "schon eingetragen: die Anmeldung wartet auf den Bestätigungslink (Eintrag unverändert)",
    ),
    ("confirmed (e-mail link)", "bestätigt (Link in der E-Mail)"),
    (
        "confirmed a change of the subscription (e-mail link)",
        "Änderung des Abonnements bestätigt (Link in der E-Mail)",
    ),
    (
        "ignored: the row changed since this sign-up (no waiting request)",
        "ignoriert: der Eintrag hat sich seit dieser Anmeldung geändert (keine wartende Anfrage)",
    ),
    ("not an e-mail sign-up", "keine E-Mail-Anmeldung"),
    (
        "not found: the row is no longer on the list",
        "nicht gefunden: der Eintrag steht nicht mehr in der Liste",
    ),
    (
        "not found: the sign-up created no row",
        "nicht gefunden: die Anmeldung hat keinen Eintrag angelegt",
    ),
    (
        "not found: the sign-up is not (or no longer) recorded",
        "nicht gefunden: die Anmeldung ist nicht (mehr) festgehalten",
    ),
    (
        "pending (e-mail: waits for the confirmation link)",
        "wartet (E-Mail: auf den Bestätigungslink)",
    ),
];

/// Stored outcomes that carry a detail after a fixed start (a message id, an error).
const PREFIXES: [(&str, &str); 5] = [
    ("confirmation sent", "Bestätigungsanfrage gesendet"),
    ("confirmation failed", "Bestätigungsanfrage fehlgeschlagen"),
    ("sent", "gesendet"),
    ("failed", "fehlgeschlagen"),
    (
        "sending",
        "wird gesendet (der Lauf endete, bevor das Ergebnis feststand)",
    ),
];

/// An event's stored kind → German.
const KINDS: [(&str, &str); 10] = [
    ("signup", "Anmeldung"),
    ("start", "START"),
    ("stop", "STOP"),
    ("link_unsubscribe", "Abmeldung per Link"),
    ("status", "Zustellstatus"),
    ("marketing_stop", "Marketing abbestellt"),
    ("marketing_resume", "Marketing wieder erlaubt"),
    ("marketing_preference", "Marketing-Einstellung"),
    ("template", "Vorlagen-Änderung"),
    ("confirmation", "Bestätigungsanfrage"),
];

/// WhatsApp's delivery statuses → German.
const STATUSES: [(&str, &str); 5] = [
    ("sent", "gesendet"),
    ("delivered", "zugestellt"),
    ("read", "gelesen"),
    ("failed", "fehlgeschlagen"),
    ("deleted", "gelöscht"),
];

fn lookup<'a>(table: &[(&str, &'static str)], stored: &'a str) -> Cow<'a, str> {
    match table.iter().find(|(k, _)| *k == stored) {
        Some((_, de)) => Cow::Borrowed(de),
        None => Cow::Borrowed(stored),
    }
}

/// How a stored outcome (`applied.jsonl`, `confirmations.jsonl`) is shown.
pub fn outcome(stored: &str) -> Cow<'_, str> {
    if let Some((_, de)) = OUTCOMES.iter().find(|(k, _)| *k == stored) {
        return Cow::Borrowed(de);
    }
    for (start, de) in PREFIXES {
        if let Some(rest) = stored.strip_prefix(start)
            && (rest.is_empty() || rest.starts_with([' ', ':', '(']))
        {
            return Cow::Owned(format!("{de}{rest}"));
        }
    }
    Cow::Borrowed(stored)
}

/// How a stored event kind is shown.
pub fn kind(stored: &str) -> Cow<'_, str> {
    lookup(&KINDS, stored)
}

/// How a WhatsApp delivery status is shown.
pub fn status(stored: &str) -> Cow<'_, str> {
    lookup(&STATUSES, stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every outcome `apply` can store has a German display: a new outcome without one fails here.
    /// The other literals of apply.rs (field values, file names, messages) are listed.
    #[test]
    fn every_outcome_apply_stores_is_shown_in_german() {
        let until_tests = |s: &'static str| &s[..s.find("#[cfg(test)]").unwrap_or(s.len())];
        let source = [
            until_tests(include_str!("apply.rs")),
            until_tests(include_str!("email_apply.rs")),
        ]
        .concat();
        let not_outcomes = [
            "Option::is_none",
            "applied.jsonl",
            "email_apply.rs",
            "de",
            "id was just found",
            "inbox",
            "keyword",
            "resume",
            "stop",
            "web",
        ];
        let mut checked = 0;
        for (n, literal) in source.split('"').enumerate() {
            if n % 2 == 0 || literal.contains('{') || not_outcomes.contains(&literal) {
                continue;
            }
            assert_ne!(
                outcome(literal),
                literal,
                "no German display for `{literal}`"
            );
            checked += 1;
        }
        assert!(checked >= OUTCOMES.len(), "only {checked} outcomes found");
    }

    #[test]
    fn details_are_kept_and_unknown_texts_pass_through() {
        assert_eq!(
            outcome("confirmation sent (wamid.1)"),
            "Bestätigungsanfrage gesendet (wamid.1)"
        );
        assert_eq!(outcome("failed: x"), "fehlgeschlagen: x");
        assert_eq!(outcome("sent wamid.2"), "gesendet wamid.2");
        assert_eq!(outcome("sentinel"), "sentinel");
        assert_eq!(
            outcome("written by a newer version"),
            "written by a newer version"
        );
        assert_eq!(kind("signup"), "Anmeldung");
        assert_eq!(kind("email_signup"), "email_signup");
        assert_eq!(status("delivered"), "zugestellt");
    }
}
