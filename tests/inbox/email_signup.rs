//! The e-mail sign-up (double opt-in) over real HTTP: the confirmation mail arrives at a real
//! SMTP server (aiosmtpd, `tests/smtp/server.py`), the link's GET only shows a button, the POST
//! confirms once, and `aushang inbox pull` makes the row an active `channel: email` subscriber.
//! Expired, forged and used links are refused; the address's limit is the number's limit.

use aushang::inbox::events::Event;
use aushang::subscribers::{Channel, Status};
use serde_json::Value;

use crate::full_loop::{aushang, text};
use crate::smtp::Smtp;
use crate::support::*;

const TYPED: &str = "Erika.Beispiel@Example.org";
const ADDRESS: &str = "erika.beispiel@example.org";
const MASKED: &str = "e***@example.org";
const LINK: &str = "https://inbox.musterbach.example/bestaetigen?t=";

/// The test site with an e-mail channel pointing at `smtp`.
fn email_site(smtp: &Smtp) -> Site {
    let site = Site::new(None);
    let path = site.root.join("aushang.yaml");
    let config = std::fs::read_to_string(&path).unwrap();
    let anchor = "\n  channels:\n";
    assert!(config.contains(anchor), "the example config changed shape");
    let email = format!(
        "{anchor}    email:\n      host: 127.0.0.1\n      port: {}\n      security: none\n      \
         from: \"Stadt Musterbach <bekanntmachungen@musterbach.example>\"\n",
        smtp.port
    );
    std::fs::write(&path, config.replacen(anchor, &email, 1)).unwrap();
    site
}

fn form(address: &str, stamp: &str) -> Vec<(&'static str, String)> {
    vec![
        ("kanal", "email".into()),
        ("nummer", String::new()),
        ("email", address.into()),
        ("name", "Erika Beispiel".into()),
        ("thema", "abfall".into()),
        ("einwilligung", "ja".into()),
        ("fassung", "v1".into()),
        ("website", String::new()),
        ("stempel", stamp.into()),
    ]
}

/// The token of the confirmation link in a mail's text part.
fn token_in(mail: &Value) -> String {
    let text = mail["parts"][0]["text"].as_str().unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(LINK))
        .unwrap_or_else(|| panic!("no link in {text}"));
    line[LINK.len()..].trim().to_string()
}

/// A page's text as a person reads it (the pages escape spaces in texts as `&#32;`).
fn plain(page: String) -> String {
    page.replace("&#32;", " ").replace("&#47;", "/")
}

/// The form posted from a client address: status and page (as read).
async fn sign_up(base: &str, ip: &str, form: &[(&str, String)]) -> (u16, String) {
    let (code, page) = post_form(base, ip, form).await;
    (code, plain(page))
}

async fn get_link(base: &str, token: &str) -> (u16, String) {
    let r = reqwest::get(format!("{base}/bestaetigen?t={token}"))
        .await
        .unwrap();
    (r.status().as_u16(), plain(r.text().await.unwrap()))
}

async fn press_button(base: &str, token: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{base}/bestaetigen"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("t", token)]))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), plain(r.text().await.unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_sign_up_is_confirmed_by_the_link_and_becomes_an_active_email_row() {
    let smtp = Smtp::start();
    let site = email_site(&smtp);
    let server = site.serve_in_process().await;
    let base = server.url();

    let stamp = ripe_stamp(&base).await;
    let (code, page) = sign_up(&base, "203.0.113.20", &form(TYPED, &stamp)).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains(MASKED), "{page}");
    assert!(!page.to_lowercase().contains(ADDRESS), "{page}");

    // The confirmation mail is at the SMTP server already when the answer comes.
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail["rcpt"][0], ADDRESS);
    assert!(mail["ascii"].as_bool().unwrap(), "7-bit clean");
    let subject = mail["subject"].as_str().unwrap();
    assert!(
        subject.starts_with("Bitte bestätigen Sie Ihre Anmeldung"),
        "{subject}"
    );
    assert!(subject.contains("Musterbach"), "{subject}");
    assert_eq!(mail["content_type"], "multipart/alternative");
    let parts = mail["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["type"], "text/plain");
    assert_eq!(parts[1]["type"], "text/html");
    let plain = parts[0]["text"].as_str().unwrap();
    let html = parts[1]["text"].as_str().unwrap();
    assert!(plain.contains("Musterbach"), "{plain}");
    assert!(plain.contains("ignorieren Sie diese E-Mail"), "{plain}");
    assert!(plain.contains("gelöscht"), "{plain}");
    let token = token_in(mail);
    assert!(html.contains(&format!("{LINK}{token}")), "{html}");
    assert!(
        html.contains("lang=\"de\"") && !html.contains("<img"),
        "{html}"
    );
    // No personal data in the link: the opaque token only.
    assert!(!token.contains("erika") && !token.contains('@'), "{token}");

    // A GET (a mail scanner, a preview) shows the button and confirms nothing.
    for _ in 0..2 {
        let (code, page) = get_link(&base, &token).await;
        assert_eq!(code, 200, "{page}");
        assert!(page.contains("<button type=\"submit\">Anmeldung bestätigen</button>"));
        assert!(page.contains("method=\"post\""), "{page}");
    }
    assert_eq!(event_files(&site.data_dir()).len(), 1, "only the sign-up");

    let (code, page) = press_button(&base, &token).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Anmeldung bestätigt"), "{page}");
    assert_eq!(event_files(&site.data_dir()).len(), 2);
    let (code, page) = press_button(&base, &token).await;
    assert_eq!(code, 410, "a used link: {page}");
    assert!(page.contains("schon verwendet"), "{page}");
    assert_eq!(
        event_files(&site.data_dir()).len(),
        2,
        "nothing stored again"
    );

    let events = site.decrypt_all();
    let signup = events
        .iter()
        .find(|e| matches!(e.event, Event::EmailSignup { .. }))
        .expect("the sign-up");
    match &signup.event {
        Event::EmailSignup {
            address,
            topics,
            consent_version,
            ..
        } => {
            assert_eq!(address, ADDRESS);
            assert_eq!(topics, &vec!["abfall".to_string()]);
            assert_eq!(consent_version, "v1");
        }
        _ => unreachable!(),
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.event, Event::EmailConfirm { signup: s, .. } if *s == signup.id))
    );

    let out = text(&aushang(&site, &["inbox", "pull", "--url", &base]));
    assert!(!out.to_lowercase().contains("erika.beispiel"), "{out}");
    let list = site.list();
    let rows: Vec<_> = list.subscribers().iter().collect();
    assert_eq!(rows.len(), 1, "{out}");
    let row = rows[0];
    assert_eq!(row.channel, Channel::Email);
    assert_eq!(row.address, ADDRESS);
    assert_eq!(row.status, Status::Active, "{out}");
    assert_eq!(row.topics, vec!["abfall".to_string()]);
    assert_eq!(row.consent_source, "web");
    assert_eq!(row.consent_text, "v1");
    assert!(row.consent_at.is_some() && row.confirmed_at.is_some());
    assert!(row.confirmed_at >= row.consent_at);

    // Acknowledged by the pull: the link stays used, and no file holds the address in clear.
    let (code, _) = press_button(&base, &token).await;
    assert_eq!(code, 410);
    for file in walk(&site.data_dir())
        .into_iter()
        .chain(walk(&site.root.join("subscribers/inbox")))
    {
        let content = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).to_lowercase();
        assert!(!content.contains("erika.beispiel"), "{}", file.display());
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_forged_and_unchosen_links_and_fields_are_refused() {
    let smtp = Smtp::start();
    let site = email_site(&smtp);
    let server = site.serve_in_process().await;
    let base = server.url();

    // The chosen field must be filled and valid; the address is never echoed.
    let stamps = futures_stamps(&base, 9).await;
    let (code, page) = sign_up(&base, "203.0.113.30", &form("", &stamps[0])).await;
    assert_eq!(code, 400, "{page}");
    assert!(page.contains("E-Mail-Adresse an"), "{page}");
    let (code, page) = sign_up(&base, "203.0.113.31", &form("erika@@x", &stamps[1])).await;
    assert_eq!(code, 400, "{page}");
    assert!(
        page.contains("ungültig") && !page.contains("erika@@x"),
        "{page}"
    );
    // WhatsApp chosen: the number is what counts, an e-mail field filled as well does not help.
    let mut whatsapp = form(TYPED, &stamps[2]);
    whatsapp[0].1 = "whatsapp".into();
    let (code, page) = sign_up(&base, "203.0.113.32", &whatsapp).await;
    assert_eq!(code, 400, "{page}");
    assert!(page.contains("Handynummer"), "{page}");
    // Honeypot: the same answer as a real sign-up, nothing stored, no mail.
    let mut bot = form(TYPED, &stamps[3]);
    bot[7].1 = "http://spam.example".into();
    let (code, page) = sign_up(&base, "203.0.113.33", &bot).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains(MASKED), "{page}");
    assert!(event_files(&site.data_dir()).is_empty());
    assert_eq!(smtp.stored(), 0);

    // The number's limit holds for an address: three sign-ups a day, then 429 and no mail.
    for (i, stamp) in stamps[4..7].iter().enumerate() {
        let (code, page) = sign_up(&base, &format!("203.0.113.4{i}"), &form(TYPED, stamp)).await;
        assert_eq!(code, 200, "{page}");
    }
    let (code, page) = sign_up(&base, "203.0.113.49", &form(TYPED, &stamps[7])).await;
    assert_eq!(code, 429, "{page}");
    assert!(page.contains("E-Mail-Adresse"), "{page}");
    assert_eq!(smtp.stored(), 3);

    let token = token_in(&smtp.mails()[0]);
    // Forged: one character of the tag changed, or the expiry moved.
    let last = token.chars().last().unwrap();
    let forged = format!(
        "{}{}",
        &token[..token.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let parts: Vec<&str> = token.split('.').collect();
    let moved = format!(
        "{}.{}.{}",
        parts[0],
        parts[1].parse::<i64>().unwrap() + 86_400,
        parts[2]
    );
    for bad in [forged.as_str(), moved.as_str(), "", "w-0.1.2"] {
        let (code, page) = get_link(&base, bad).await;
        assert_eq!(code, 400, "{bad}: {page}");
        let (code, page) = press_button(&base, bad).await;
        assert_eq!(code, 400, "{bad}: {page}");
        assert!(page.contains("ungültig"), "{page}");
    }
    // Expired: a token the server itself signed (its memory key), a second past its end.
    let memory = aushang::inbox::memory::Memory::open(&site.data_dir(), 5, 60).unwrap();
    let past = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1);
    let expired = aushang::inbox::email_signup::make_token(&memory, parts[0], past);
    let (code, page) = get_link(&base, &expired).await;
    assert_eq!(code, 410, "{page}");
    assert!(page.contains("abgelaufen"), "{page}");
    let (code, _) = press_button(&base, &expired).await;
    assert_eq!(code, 410);
    // Nothing but the three sign-ups was stored.
    assert_eq!(event_files(&site.data_dir()).len(), 3);
    // The genuine one still works.
    let (code, page) = press_button(&base, &token).await;
    assert_eq!(code, 200, "{page}");
    server.shutdown().await.unwrap();
}

/// `n` form stamps, old enough once this returns (one wait for all).
async fn futures_stamps(base: &str, n: usize) -> Vec<String> {
    let mut stamps = Vec::new();
    for _ in 0..n {
        stamps.push(form_stamp(base).await);
    }
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    stamps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_email_channel_the_choice_is_refused() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    let stamp = ripe_stamp(&server.url()).await;
    let (code, page) = sign_up(&server.url(), "203.0.113.60", &form(TYPED, &stamp)).await;
    assert_eq!(code, 400, "{page}");
    assert!(page.contains("nicht eingerichtet"), "{page}");
    assert!(event_files(&site.data_dir()).is_empty());
}

#[test]
fn the_form_offers_the_email_choice_only_with_an_email_channel() {
    let smtp_port_only = Smtp::start();
    let site = email_site(&smtp_port_only);
    let page = site.signup_page(&site.tmp.path().join("with-email"));
    assert!(
        page.contains("<legend>Wie möchten Sie die Bekanntmachungen erhalten?</legend>"),
        "{page}"
    );
    for (id, value) in [("f-kanal-whatsapp", "whatsapp"), ("f-kanal-email", "email")] {
        assert!(
            page.contains(&format!(
                "<input type=\"radio\" id=\"{id}\" name=\"kanal\" value=\"{value}\""
            )),
            "{page}"
        );
        assert!(page.contains(&format!("<label for=\"{id}\">")), "{page}");
    }
    assert!(page.contains("<label for=\"f-email\">Ihre E-Mail-Adresse</label>"));
    // Without JavaScript both fields are there and neither is required (the inbox checks).
    for field in ["name=\"nummer\"", "name=\"email\""] {
        let start = page.find(field).unwrap();
        let tag = &page[start..start + page[start..].find('>').unwrap()];
        assert!(!tag.contains("required"), "{tag}");
    }
    assert!(
        page.contains("per WhatsApp oder E-Mail"),
        "the consent names both"
    );
    // The example site has no e-mail channel: the WhatsApp-only form as before.
    let example = Site::new(None);
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_aushang"))
        .arg("--root")
        .arg(&example.root)
        .args(["build", "--out"])
        .arg(example.tmp.path().join("out"))
        .output()
        .unwrap();
    assert!(status.status.success());
    let page = std::fs::read_to_string(example.tmp.path().join("out/anmelden/index.html")).unwrap();
    assert!(!page.contains("name=\"kanal\"") && !page.contains("name=\"email\""));
    assert!(page.contains("autocomplete=\"tel\" required"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_that_cannot_be_sent_is_said_at_once() {
    let smtp = Smtp::start();
    smtp.control(&format!(r#"{{"reject_rcpt": ["{ADDRESS}"]}}"#));
    let site = email_site(&smtp);
    let server = site.serve_in_process().await;
    let stamp = ripe_stamp(&server.url()).await;
    let (code, page) = sign_up(&server.url(), "203.0.113.70", &form(TYPED, &stamp)).await;
    assert_eq!(code, 503, "{page}");
    assert!(page.contains("nicht verschickt"), "{page}");
    assert_eq!(smtp.stored(), 0);
    // The sign-up was stored before the mail was tried: it stays pending and is pruned.
    assert_eq!(event_files(&site.data_dir()).len(), 1);
    server.shutdown().await.unwrap();

    // An SMTP login without SMTP_PASSWORD: e-mail sign-ups are refused, nothing is stored.
    let with_login = email_site(&smtp);
    let path = with_login.root.join("aushang.yaml");
    let config = std::fs::read_to_string(&path).unwrap().replacen(
        "      security: none\n",
        "      security: none\n      username: aushang\n",
        1,
    );
    std::fs::write(&path, config).unwrap();
    let server = with_login.serve_in_process().await;
    let stamp = ripe_stamp(&server.url()).await;
    let (code, page) = sign_up(&server.url(), "203.0.113.71", &form(TYPED, &stamp)).await;
    assert_eq!(code, 503, "{page}");
    assert!(page.contains("gerade nicht möglich"), "{page}");
    assert!(event_files(&with_login.data_dir()).is_empty());
    server.shutdown().await.unwrap();
}

/// The real `aushang inbox serve`: `SMTP_PASSWORD` from its environment logs it in at the SMTP
/// server, and its log names the person only masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_inbox_logs_in_with_smtp_password_and_logs_no_address() {
    let smtp = Smtp::start();
    smtp.control(r#"{"password": "richtig-0123"}"#);
    let site = email_site(&smtp);
    let path = site.root.join("aushang.yaml");
    let config = std::fs::read_to_string(&path).unwrap().replacen(
        "      security: none\n",
        "      security: none\n      username: aushang\n",
        1,
    );
    std::fs::write(&path, config).unwrap();
    let log = site.tmp.path().join("inbox.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aushang"))
        .arg("--root")
        .arg(&site.root)
        .args(["inbox", "serve", "--port", "0", "--data"])
        .arg(site.data_dir())
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .env("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
        .env("AUSHANG_INBOX_PULL_TOKEN", PULL_TOKEN)
        .env("SMTP_PASSWORD", "richtig-0123")
        .env("AUSHANG_LOG", "aushang=info")
        .env_remove("WHATSAPP_TOKEN")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::options().append(true).open(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let base = loop {
        let out = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(i) = out.find("Posteingang läuft unter ") {
            let rest = &out[i + "Posteingang läuft unter ".len()..];
            break rest.lines().next().unwrap().trim().to_string();
        }
        assert!(std::time::Instant::now() < deadline, "{out}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let stamp = ripe_stamp(&base).await;
    let (code, page) = sign_up(&base, "203.0.113.80", &form(TYPED, &stamp)).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(code, 200, "{page}");
    assert_eq!(smtp.stored(), 1, "the mail went out after AUTH");
    let out = std::fs::read_to_string(&log).unwrap();
    assert!(
        out.contains(&format!("Bestätigungsmail an {MASKED} gesendet")),
        "{out}"
    );
    assert!(!out.to_lowercase().contains("erika.beispiel"), "{out}");
    assert!(!out.contains("richtig-0123"), "{out}");
}
