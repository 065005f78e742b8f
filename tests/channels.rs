//! The channels beyond WhatsApp, end to end with the real binary: e-mail against a real SMTP
//! server (aiosmtpd, `tests/smtp/server.py`, started per test on 127.0.0.1; `scripts/test`
//! installs it into `target/smtp-venv`). Every mail the server took is read back with Python's
//! `email` package (`tests/smtp/read.py`) and checked: headers, both parts, encodings, links,
//! Message-ID stability, and exactly once across reruns and SMTP failures. STARTTLS/TLS in `channels/tls.rs`, a killed run
//! and the one-click unsubscribe in `channels/resume.rs`.

#[path = "channels/support.rs"]
mod support;

#[path = "channels/mail_template.rs"]
mod mail_template;
#[path = "channels/resume.rs"]
mod resume;
#[path = "channels/tls.rs"]
mod tls;

use aushang::delivery::journal::{DeliveryState, FailureClass};
use support::*;

#[test]
fn each_email_subscriber_gets_one_multipart_mail_with_rfc8058_headers() {
    let smtp = Smtp::start();
    let site = Site::new(&smtp, "");
    let (code, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_eq!(code, 0, "{out}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 3, "{out}");
    for (id, address) in [
        ("s_0000000000000001", "anna@example.org"),
        ("s_0000000000000002", "bert@example.org"),
        ("s_0000000000000003", "cora@example.org"),
    ] {
        let got = by_rcpt(&mails, address);
        assert_eq!(got.len(), 1, "{address}");
        let m = got[0];
        let h = &m["headers"];
        assert!(
            m["ascii"].as_bool().unwrap(),
            "the mail must be 7-bit clean"
        );
        assert_eq!(
            m["subject"],
            "Sperrung der Hauptstraße – Umleitung über Bürgerweg"
        );
        let raw_subject = m["raw_subject"].as_str().unwrap();
        // RFC 2047 encoded words for the non-ASCII words, and nothing else outside ASCII
        assert!(
            raw_subject.to_lowercase().contains("=?utf-8?b?"),
            "{raw_subject}"
        );
        assert!(raw_subject.is_ascii(), "{raw_subject}");
        assert_eq!(h["To"], address);
        assert_eq!(
            h["From"],
            "Stadt Teststadt <bekanntmachungen@teststadt.example>"
        );
        assert_eq!(h["Reply-To"], "rathaus@teststadt.example");
        assert_eq!(m["content_type"], "multipart/alternative");
        let token = format!("{id}.");
        let unsubscribe = h["List-Unsubscribe"].as_str().unwrap();
        assert!(
            unsubscribe.starts_with(&format!("<{INBOX}abmelden?t={token}"))
                && unsubscribe.ends_with('>'),
            "{unsubscribe}"
        );
        let url = &unsubscribe[1..unsubscribe.len() - 1];
        let t = url.split("t=").nth(1).unwrap();
        assert_eq!(
            aushang::subscribers::optout::verify(TOKEN_SECRET.as_bytes(), t).as_deref(),
            Some(id),
            "the link must unsubscribe exactly this subscriber"
        );
        assert_eq!(h["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
        let from: lettre::message::Mailbox = "bekanntmachungen@teststadt.example".parse().unwrap();
        assert_eq!(
            h["Message-ID"],
            aushang::providers::email::mail::message_id(&site.key(), id, &from)
        );
        let parts = m["parts"].as_array().unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0]["type"], "text/plain");
        assert_eq!(parts[1]["type"], "text/html");
        for p in parts {
            assert_eq!(p["charset"], "utf-8");
            let enc = p["encoding"].as_str().unwrap();
            assert!(enc == "quoted-printable" || enc == "base64", "{enc}");
            let text = p["text"].as_str().unwrap();
            assert!(text.contains("Die Hauptstraße ist ab Montag"), "{text}");
            assert!(text.contains("https://www.teststadt.example/"), "{text}");
        }
        let plain = parts[0]["text"].as_str().unwrap();
        assert!(
            plain.contains(&format!("Abmelden (ein Klick genügt): {url}")),
            "{plain}"
        );
        let html = parts[1]["text"].as_str().unwrap();
        assert!(html.contains(&format!("href=\"{url}\"")), "{html}");
        assert!(
            html.contains("<html lang=\"de\">") && !html.contains("<img"),
            "{html}"
        );
    }
    // exactly once: a rerun sends nothing, and the journal holds each as sent
    let (code, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(smtp.mails().len(), 3, "{out}");
    let journal = site.journal();
    assert_eq!(journal.len(), 3);
    assert!(journal.values().all(|l| l.state == DeliveryState::Sent));
}

#[test]
fn a_451_is_retried_and_a_550_is_permanent_for_that_address_only() {
    let smtp = Smtp::start();
    smtp.control(r#"{"data_451_times": 1, "reject_rcpt": ["bert@example.org"]}"#);
    let site = Site::new(&smtp, "");
    let (_, out) = site.broadcast(&["--channel", "email"], &[]);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "{out}");
    assert!(by_rcpt(&mails, "bert@example.org").is_empty());
    let journal = site.journal();
    let bert = &journal["s_0000000000000002"];
    assert_eq!(
        (bert.state, bert.code, bert.class),
        (
            DeliveryState::Failed,
            Some(550),
            Some(FailureClass::Permanent)
        )
    );
    for id in ["s_0000000000000001", "s_0000000000000003"] {
        assert_eq!(journal[id].state, DeliveryState::Sent, "{out}");
    }
    // the 451 was answered once and retried in the same run: one of the two has attempt 2
    let attempts: Vec<_> = ["s_0000000000000001", "s_0000000000000003"]
        .iter()
        .map(|id| journal[*id].attempt.unwrap())
        .collect();
    assert_eq!(attempts.iter().sum::<u32>(), 3, "{attempts:?}");
    smtp.control("{}");
    site.broadcast(&["--channel", "email"], &[]);
    assert_eq!(
        smtp.mails().len(),
        2,
        "a permanent failure is never retried"
    );
}

#[test]
fn a_535_stops_the_run_and_the_right_password_then_reaches_everyone() {
    let smtp = Smtp::start();
    smtp.control(r#"{"password": "richtig"}"#);
    let site = Site::new(&smtp, "      username: bekanntmachungen\n");
    let (code, out) = site.broadcast(&["--channel", "email"], &[("SMTP_PASSWORD", "falsch")]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("535"), "{out}");
    assert!(
        !out.contains("falsch"),
        "the password must never be printed"
    );
    assert!(smtp.mails().is_empty());
    let journal = site.journal();
    assert!(
        journal
            .values()
            .all(|l| l.class == Some(FailureClass::Fatal)),
        "{journal:?}"
    );
    let (code, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_ne!(code, 0);
    assert!(out.contains("SMTP_PASSWORD"), "{out}");
    let (code, out) = site.broadcast(&["--channel", "email"], &[("SMTP_PASSWORD", "richtig")]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(smtp.mails().len(), 3);
}

#[test]
fn a_connection_lost_after_data_is_uncertain_and_never_resent_by_default() {
    let smtp = Smtp::start();
    smtp.control(r#"{"drop_after_data": 1}"#);
    let site = Site::new(&smtp, "");
    let (_, out) = site.broadcast(&["--channel", "email"], &[]);
    // the server took all three, but for one the answer never came
    assert_eq!(smtp.mails().len(), 3, "{out}");
    let journal = site.journal();
    let uncertain: Vec<_> = journal
        .iter()
        .filter(|(_, l)| l.state == DeliveryState::Uncertain)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(uncertain.len(), 1, "{journal:?}");
    let (_, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_eq!(
        smtp.mails().len(),
        3,
        "an uncertain mail must not be sent again: {out}"
    );
    assert_eq!(
        site.journal()[&uncertain[0]].state,
        DeliveryState::Uncertain
    );
}

#[test]
fn dry_run_shows_the_mail_subject_and_text_part() {
    let smtp = Smtp::start();
    let site = Site::new(&smtp, "");
    let (code, out) = site.broadcast(&["--dry-run"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("## Vorschau email"), "{out}");
    assert!(
        out.contains("E-Mail, Betreff: Sperrung der Hauptstraße – Umleitung über Bürgerweg"),
        "{out}"
    );
    assert!(out.contains("> Abmelden (ein Klick genügt): https://inbox.teststadt.example/abmelden?t=<persönlicher-Code>"), "{out}");
    assert!(smtp.mails().is_empty());
}

#[test]
fn the_outbox_shows_every_configured_channel_with_recipients_masked() {
    let smtp = Smtp::start();
    let site = Site::new(
        &smtp,
        "    telegram:\n      chat_id: \"@teststadt\"\n    mastodon:\n      instance_url: https://social.teststadt.example\n",
    );
    let (code, out) = site.broadcast(&["--channel", "outbox"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(smtp.mails().is_empty(), "the outbox sends nothing");
    let dirs: Vec<_> = std::fs::read_dir(site.root.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.ends_with("journal"))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let read = |name: &str| {
        std::fs::read_to_string(dirs[0].join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    // An e-mail subscriber's file is the mail: subject and text part, address masked.
    let mail = read("s_0000000000000001.txt");
    assert!(
        mail.contains("E-Mail, Betreff: Sperrung der Hauptstraße – Umleitung über Bürgerweg"),
        "{mail}"
    );
    assert!(
        mail.contains("/abmelden?t=s_0000000000000001."),
        "the subscriber's own link: {mail}"
    );
    assert!(mail.contains("Abmelden (ein Klick genügt): "), "{mail}");
    assert!(!mail.contains("anna@example.org"), "{mail}");
    assert!(mail.starts_with("An: "), "{mail}");
    // A WhatsApp subscriber's file stays the plain message.
    let whatsapp = read("s_0000000000000004.txt");
    assert!(!whatsapp.contains("E-Mail, Betreff"), "{whatsapp}");
    assert!(!whatsapp.contains("+4915200000004"), "{whatsapp}");
    // Each public post once per notice, with its character count.
    let telegram = read("telegram.txt");
    assert!(
        telegram.contains("Telegram-Kanalbeitrag (") && telegram.contains("von 4096 Zeichen)"),
        "{telegram}"
    );
    assert!(
        telegram.contains("Die Hauptstraße ist ab Montag"),
        "{telegram}"
    );
    let mastodon = read("mastodon.txt");
    assert!(mastodon.contains("Mastodon-Beitrag ("), "{mastodon}");
    assert!(
        mastodon.contains("https://www.teststadt.example/"),
        "{mastodon}"
    );
    assert!(
        !dirs[0].join("s_0000000000000005.txt").exists(),
        "who left got one"
    );
}
