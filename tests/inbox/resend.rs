//! `aushang inbox confirm [--resend]` against the fake Graph API: pending sign-ups whose
//! confirmation request was lost are asked again, at most once per `--every` and at most
//! `--max-resends` times, recorded (subscriber ids only) before sending, output masked.

use std::process::{Command, Output};

use aushang::devtools::fake_graph::{FakeConfig, FakeGraph};
use aushang::subscribers::{Channel, Status, Subscriber};

use crate::support::*;

const NOW: &str = "2026-11-28T12:00:00Z";

fn pending(n: u8, days_ago: i64, status: Status) -> Subscriber {
    let now: jiff::Timestamp = NOW.parse().unwrap();
    Subscriber {
        id: format!("s_resend00000000{n:02}"),
        channel: Channel::WhatsApp,
        address: format!("+49152000004{n:02}"),
        name: None,
        topics: Vec::new(),
        language: "de".into(),
        status,
        consent_at: Some(now - jiff::SignedDuration::from_hours(24 * days_ago)),
        consent_source: "web".into(),
        consent_text: "v1".into(),
        confirmed_at: None,
        unsubscribed_at: None,
        bsuid: None,
    }
}

fn confirm(site: &Site, args: &[&str], whatsapp_token: Option<&str>) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aushang"));
    cmd.arg("--root")
        .arg(&site.root)
        .args(["inbox", "confirm"])
        .args(args)
        .env("AUSHANG_IDENTITY", &site.secret)
        .env_remove("AUSHANG_IDENTITY_FILE")
        .env_remove("WHATSAPP_TOKEN");
    if let Some(t) = whatsapp_token {
        cmd.env("WHATSAPP_TOKEN", t);
    }
    let out = cmd.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains("+49152000004"),
        "a number in the output:\n{all}"
    );
    assert!(out.status.success(), "{args:?}:\n{all}");
    (out, all)
}

fn at(days_after_now: i64) -> String {
    let now: jiff::Timestamp = NOW.parse().unwrap();
    (now + jiff::SignedDuration::from_hours(24 * days_after_now)).to_string()
}

#[test]
fn lost_confirmations_are_resent_once_per_period_and_never_more_than_allowed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeGraph::start(FakeConfig::with_confirmation_template()))
        .unwrap();
    let site = Site::with_subscribers(
        Some(&fake.api_url()),
        vec![
            pending(1, 3, Status::Pending),  // request lost: due
            pending(2, 1, Status::Pending),  // signed up yesterday: too recent
            pending(3, 40, Status::Pending), // about to be pruned
            pending(4, 3, Status::Active),   // confirmed
            pending(5, 5, Status::Pending),  // first request 4 days ago: too recent
            pending(6, 20, Status::Pending), // resent twice already
            pending(7, 3, Status::Pending),  // a run died while sending to them an hour ago
        ],
    );
    let records = site.root.join("subscribers/inbox");
    std::fs::create_dir_all(&records).unwrap();
    std::fs::write(
        records.join("applied.jsonl"),
        format!(
            "{{\"t\":\"{t}\",\"id\":\"confirm-e5\",\"at\":\"{t}\",\"kind\":\"confirmation\",\"outcome\":\"confirmation sent (wamid.x)\",\"sub\":\"s_resend0000000005\"}}\n",
            t = at(-4)
        ),
    )
    .unwrap();
    std::fs::write(
        records.join("confirmations.jsonl"),
        format!(
            "{{\"t\":\"{}\",\"sub\":\"s_resend0000000006\",\"outcome\":\"sent wamid.a\"}}\n\
             {{\"t\":\"{}\",\"sub\":\"s_resend0000000006\",\"outcome\":\"failed: x\"}}\n\
             {{\"t\":\"{}\",\"sub\":\"s_resend0000000007\",\"outcome\":\"sending\"}}\n",
            at(-15),
            at(-8),
            "2026-11-28T11:00:00Z"
        ),
    )
    .unwrap();
    let record_before = std::fs::read_to_string(records.join("confirmations.jsonl")).unwrap();

    // Without --resend: who is due, nothing sent, nothing recorded.
    let (_, shown) = confirm(&site, &["--now", NOW], Some("fake-token"));
    assert!(
        shown.contains("6 unbestätigte Anmeldung(en), 1 erneut gefragt"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "nicht gefragt: 3 zu frisch, 1 schon so oft wie erlaubt gefragt, 1 werden bald gelöscht"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("s_resend0000000001 (+49152*****401): fällig (Probelauf: nicht gesendet)"),
        "{shown}"
    );
    assert!(fake.messages().is_empty());
    assert_eq!(
        std::fs::read_to_string(records.join("confirmations.jsonl")).unwrap(),
        record_before
    );

    // Without the WhatsApp token: said so, nothing sent or recorded.
    let (_, no_token) = confirm(&site, &["--resend", "--now", NOW], None);
    assert!(
        no_token.contains("WHATSAPP_TOKEN ist nicht gesetzt"),
        "{no_token}"
    );
    assert!(fake.messages().is_empty());

    // --resend: exactly the lost one gets the confirmation template.
    let (_, sent) = confirm(&site, &["--resend", "--now", NOW], Some("fake-token"));
    let messages = fake.messages();
    assert_eq!(messages.len(), 1, "{sent}");
    assert_eq!(messages[0].to, "+4915200000401");
    assert_eq!(messages[0].kind, "template");
    assert_eq!(
        messages[0].template.as_deref(),
        Some("anmeldung_bestaetigen")
    );
    assert!(
        sent.contains(&format!(
            "s_resend0000000001 (+49152*****401): gesendet {}",
            messages[0].wamid
        )),
        "{sent}"
    );
    let record = std::fs::read_to_string(records.join("confirmations.jsonl")).unwrap();
    assert!(!record.contains("+49152"), "an address in the record");
    assert!(
        record.contains(&format!(
            "\"sub\":\"s_resend0000000001\",\"outcome\":\"sent {}\"",
            messages[0].wamid
        )),
        "{record}"
    );

    // Again at once (a second scheduled run): nobody is asked twice.
    confirm(&site, &["--resend", "--now", NOW], Some("fake-token"));
    assert_eq!(fake.messages().len(), 1, "asked again within --every");

    // A week later: asked a second time (and the one whose first request was 11 days ago).
    let week = at(7);
    confirm(&site, &["--resend", "--now", &week], Some("fake-token"));
    let to_first = |fake: &FakeGraph| {
        fake.messages()
            .iter()
            .filter(|m| m.to == "+4915200000401")
            .count()
    };
    assert_eq!(to_first(&fake), 2);
    assert!(fake.messages().iter().any(|m| m.to == "+4915200000405"));
    assert!(
        !fake.messages().iter().any(|m| m.to == "+4915200000406"),
        "max resends reached"
    );
    // Two weeks later: --max-resends (2) reached for the first one.
    let (_, later) = confirm(&site, &["--resend", "--now", &at(14)], Some("fake-token"));
    assert_eq!(to_first(&fake), 2, "{later}");
    // The confirmed one was never asked.
    assert!(!fake.messages().iter().any(|m| m.to == "+4915200000404"));
}

#[test]
fn without_a_confirmation_template_there_is_nothing_to_resend() {
    let site = Site::new(None);
    let config = std::fs::read_to_string(site.root.join("aushang.yaml")).unwrap();
    std::fs::write(
        site.root.join("aushang.yaml"),
        config.replace("  confirmation_template: anmeldung_bestaetigen\n", ""),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_aushang"))
        .arg("--root")
        .arg(&site.root)
        .args(["inbox", "confirm", "--resend"])
        .env("AUSHANG_IDENTITY", &site.secret)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("inbox.confirmation_template ist in aushang.yaml nicht gesetzt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_paused_confirmation_template_is_not_resent_and_the_run_says_why() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeGraph::start(FakeConfig::with_confirmation_template()))
        .unwrap();
    let site = Site::with_subscribers(Some(&fake.api_url()), vec![pending(1, 3, Status::Pending)]);
    let records = site.root.join("subscribers/inbox");
    std::fs::create_dir_all(&records).unwrap();
    std::fs::write(
        records.join("templates.json"),
        r#"{"templates":{"anmeldung_bestaetigen/de":{"name":"anmeldung_bestaetigen","language":"de","status":"PAUSED","status_at":"2026-11-27T12:00:00Z"}}}"#,
    )
    .unwrap();

    let (_, out) = confirm(&site, &["--resend", "--now", NOW], Some("fake-token"));
    assert!(
        out.contains("keine Bestätigungsanfrage an 1 unbestätigte Anmeldung(en)")
            && out.contains("PAUSED"),
        "{out}"
    );
    assert!(fake.messages().is_empty(), "nothing may be sent");
    assert!(!records.join("confirmations.jsonl").exists());
}

#[test]
fn waiting_sign_ups_for_listed_numbers_are_asked_again_within_the_same_limits() {
    use aushang::inbox::requests::{ChangeRequest, Requests};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeGraph::start(FakeConfig::with_confirmation_template()))
        .unwrap();
    let mut unsubscribed = pending(3, 60, Status::Unsubscribed);
    unsubscribed.unsubscribed_at =
        Some(NOW.parse::<jiff::Timestamp>().unwrap() - jiff::SignedDuration::from_hours(24 * 10));
    let site = Site::with_subscribers(
        Some(&fake.api_url()),
        vec![
            pending(1, 200, Status::Active), // someone asked to change their topics 3 days ago
            pending(2, 200, Status::Active), // asked 3 times already
            unsubscribed,                    // said STOP; a web form named the number again
            pending(4, 200, Status::Active), // request only yesterday: too recent
        ],
    );
    let subs = site.root.join("subscribers");
    let records = subs.join("inbox");
    let mut requests = Requests::load(&records, &site.identity).unwrap();
    for (n, days_ago) in [(1, 3), (2, 20), (3, 3), (4, 1)] {
        let now: jiff::Timestamp = NOW.parse().unwrap();
        requests.insert(ChangeRequest {
            sub: format!("s_resend00000000{n:02}"),
            event: format!("w-00000000000000000000000{n}"),
            at: now - jiff::SignedDuration::from_hours(24 * days_ago),
            topics: vec!["verkehr".into()],
            consent_version: "v1".into(),
            language: "de".into(),
        });
    }
    requests
        .save(
            &site.list(),
            &aushang::subscribers::Recipients::load(&subs).unwrap(),
        )
        .unwrap();
    std::fs::write(
        records.join("confirmations.jsonl"),
        format!(
            "{{\"t\":\"{}\",\"sub\":\"s_resend0000000002\",\"outcome\":\"sent wamid.a\"}}\n\
             {{\"t\":\"{}\",\"sub\":\"s_resend0000000002\",\"outcome\":\"sent wamid.b\"}}\n",
            at(-15),
            at(-8),
        ),
    )
    .unwrap();

    let (_, sent) = confirm(&site, &["--resend", "--now", NOW], Some("fake-token"));
    assert!(
        sent.contains(
            "0 unbestätigte Anmeldung(en) und 4 Anmeldung(en) für schon eingetragene Nummern, 1 erneut gefragt"
        ),
        "{sent}"
    );
    assert!(
        sent.contains("1 zu frisch, 1 schon so oft wie erlaubt gefragt, 0 werden bald gelöscht, 1 von abgemeldeten Nummern"),
        "{sent}"
    );
    let to: Vec<String> = fake.messages().into_iter().map(|m| m.to).collect();
    assert_eq!(to, ["+4915200000401"], "{sent}");
    // The same limits: not again within --every, at most --max-resends times.
    confirm(&site, &["--resend", "--now", NOW], Some("fake-token"));
    confirm(&site, &["--resend", "--now", &at(7)], Some("fake-token"));
    confirm(&site, &["--resend", "--now", &at(14)], Some("fake-token"));
    confirm(&site, &["--resend", "--now", &at(21)], Some("fake-token"));
    let count = |n: &str| fake.messages().iter().filter(|m| m.to == n).count();
    assert_eq!(count("+4915200000401"), 2, "at most twice");
    assert_eq!(count("+4915200000402"), 0, "max reached before");
    assert_eq!(
        count("+4915200000403"),
        0,
        "never to an unsubscribed number"
    );
    assert_eq!(count("+4915200000404"), 2);
}
