//! What a hostile client or a fake inbox can do (issue 13, items 3–7): opt-out floods, STOPs
//! behind a flood, pulls that must drain, forged events, sign-up abuse, slow and large requests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use aushang::inbox::Limits;
use aushang::inbox::events::{Envelope, Event, KeywordAction, inbound_id, random_id, status_id};
use aushang::inbox::store::EventStore;
use aushang::subscribers::{Recipients, Status, Subscriber};

use crate::full_loop::{aushang, aushang_any, other_subscriber, text};
use crate::support::*;

fn erika() -> Subscriber {
    Subscriber {
        id: "s_erika0000000001".into(),
        address: NUMBER_E164.into(),
        ..other_subscriber()
    }
}

/// Writes events straight into the inbox's data dir (as a server, or a fake one, would).
fn put_events(site: &Site, events: &[Envelope]) {
    let recipients = Recipients::load(&site.root.join("subscribers")).unwrap();
    let store = EventStore::open(&site.data_dir(), recipients).unwrap();
    for e in events {
        store.put(e).unwrap();
    }
}

fn status(n: usize) -> Envelope {
    let wamid = format!("wamid.flood{n}");
    Envelope {
        id: status_id(&wamid, "delivered"),
        received_at: jiff::Timestamp::now(),
        event: Event::Status {
            at: jiff::Timestamp::now(),
            message_id: wamid,
            status: "delivered".into(),
            correlation: None,
            error_codes: vec![],
            bsuid: None,
            pricing: None,
        },
    }
}

fn list_bytes(site: &Site) -> Vec<u8> {
    std::fs::read(site.root.join("subscribers/subscribers.csv.age")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opt_out_flood_stores_one_event_and_is_rate_limited() {
    let site = Site::with_subscribers(None, vec![erika()]);
    let server = site.serve_in_process().await;
    let token = aushang::subscribers::optout::token(TOKEN_SECRET.as_bytes(), "s_erika0000000001");
    let client = reqwest::Client::new();
    let mut codes = Vec::new();
    for _ in 0..25 {
        let r = client
            .post(format!("{}/abmelden?t={token}", server.url()))
            .header("x-forwarded-for", "198.51.100.9")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        codes.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            assert!(r.text().await.unwrap().contains("STOP"), "says what to do");
        }
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 20, "{codes:?}");
    assert_eq!(codes[20..], [429; 5]);
    assert_eq!(
        event_files(&site.data_dir()).len(),
        1,
        "repeats are answered, not stored"
    );
    // Another client is not limited by that one.
    let r = client
        .post(format!("{}/abmelden?t={token}", server.url()))
        .header("x-forwarded-for", "198.51.100.10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(event_files(&site.data_dir()).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_behind_a_flood_is_listed_first() {
    let site = Site::new(None);
    put_events(&site, &(0..30).map(status).collect::<Vec<_>>());
    let server = site.serve_in_process().await;
    let stop = inbound_json("wamid.realstop", "STOP", now_unix());
    assert_eq!(signed_post(&server.url(), &stop).await, 200);
    let page: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/events?limit=1", server.url()))
        .bearer_auth(PULL_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["events"][0]["id"], inbound_id("wamid.realstop"));
    assert_eq!(page["remaining"], 30);
}

#[test]
fn the_pull_drains_more_than_a_page_and_applies_the_stop() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let site = Site::with_subscribers(None, vec![erika(), other_subscriber()]);
    put_events(&site, &(0..1005).map(status).collect::<Vec<_>>());
    let server = runtime.block_on(site.serve_in_process());
    let stop = inbound_json("wamid.behind", "STOP", now_unix());
    assert_eq!(runtime.block_on(signed_post(&server.url(), &stop)), 200);
    let out = aushang(
        &site,
        &["inbox", "pull", "--no-ack", "--url", &server.url()],
    );
    let out = text(&out);
    assert!(out.contains("1006 Ereignis(se) abgeholt"), "{out}");
    assert!(out.contains("STOP: abgemeldet"), "{out}");
    let acks = std::fs::read_to_string(site.root.join(".aushang-inbox-ack")).unwrap();
    assert_eq!(acks.lines().count(), 1006, "every event is in the ack file");
    assert_eq!(
        site.list()
            .subscribers()
            .iter()
            .find(|s| s.address == NUMBER_E164)
            .unwrap()
            .status,
        Status::Unsubscribed
    );
}

#[test]
fn forged_events_are_refused_skipped_and_leave_the_list_unchanged() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let site = Site::with_subscribers(None, vec![other_subscriber()]);
    let now = jiff::Timestamp::now();
    let formula = "=cmd|' /C calc'!A0";
    let forged = vec![
        Envelope {
            id: random_id(),
            received_at: now,
            event: Event::Signup {
                at: now,
                address: formula.into(),
                name: None,
                topics: vec![],
                consent_version: "v1".into(),
                language: "de".into(),
            },
        },
        // a START with a web event's id: not from WhatsApp, so no double opt-in
        Envelope {
            id: random_id(),
            received_at: now,
            event: Event::Keyword {
                at: now,
                action: KeywordAction::Start,
                address: Some(NUMBER_E164.into()),
                bsuid: None,
                via: "text".into(),
            },
        },
        Envelope {
            id: inbound_id("wamid.future"),
            received_at: now,
            event: Event::Keyword {
                at: now + jiff::SignedDuration::from_hours(24 * 365),
                action: KeywordAction::Start,
                address: Some(NUMBER_E164.into()),
                bsuid: None,
                via: "text".into(),
            },
        },
    ];
    put_events(&site, &forged);
    let server = runtime.block_on(site.serve_in_process());
    let before = list_bytes(&site);
    let out = text(&aushang(&site, &["inbox", "pull", "--url", &server.url()]));
    assert!(
        out.contains("3 Ereignis(se) als ungültig abgelehnt"),
        "{out}"
    );
    assert!(out.contains("ist keine normalisierte Mobilnummer"), "{out}");
    assert!(!out.contains("calc"), "the value is not echoed: {out}");
    assert_eq!(
        list_bytes(&site),
        before,
        "the list is unchanged byte for byte"
    );
    assert!(
        event_files(&site.data_dir()).is_empty(),
        "skipped events are acknowledged"
    );
    // The list still loads (no command is broken by a stored bad address).
    let out = aushang_any(&site, &["subscribers", "count"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_from_another_site_are_refused_and_the_stamp_is_served_to_ours() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    let client = reqwest::Client::new();
    let form = encode(&[
        ("nummer", NUMBER_LOCAL),
        ("einwilligung", "ja"),
        ("fassung", "v1"),
    ]);
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("referer", "https://evil.example/anmelden/"),
    ] {
        let r = client
            .post(format!("{}/signup", server.url()))
            .header(header, value)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{header}: {value}");
        let page = r.text().await.unwrap();
        assert!(
            page.contains("<a href=\"https:&#47;&#47;www.musterbach.example&#47;anmelden&#47;\""),
            "links the real form: {page}"
        );
    }
    assert!(event_files(&site.data_dir()).is_empty());
    let base = site.config().base_url;
    let origin = base.trim_end_matches('/');
    let r = client
        .get(format!("{}/signup/stempel", server.url()))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], origin);
    let r = client
        .get(format!("{}/signup/stempel", server.url()))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_number_gets_at_most_three_sign_ups_a_day() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    let mut stamps = Vec::new();
    for _ in 0..4 {
        stamps.push(form_stamp(&server.url()).await);
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut codes = Vec::new();
    for (i, stamp) in stamps.into_iter().enumerate() {
        let form = vec![
            ("nummer", NUMBER_LOCAL.to_string()),
            ("einwilligung", "ja".into()),
            ("fassung", "v1".into()),
            ("stempel", stamp),
        ];
        let (code, page) = post_form(&server.url(), &format!("192.0.2.{}", 20 + i), &form).await;
        if code == 429 {
            assert!(page.contains("JA"), "says what to do: {page}");
        }
        codes.push(code);
    }
    assert_eq!(codes, [200, 200, 200, 429]);
    assert_eq!(event_files(&site.data_dir()).len(), 3);
}

/// A raw HTTP/1.1 client: sends `head` (and nothing more) and returns the status line read
/// within `wait`, or `None` if the server did not answer.
fn raw(addr: std::net::SocketAddr, head: &str, wait: Duration) -> Option<String> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(n) if n > 0 => Some(
            String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_signed_is_refused_before_its_body_arrives() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    let addr = server.addr();
    let answer = tokio::task::spawn_blocking(move || {
        let unsigned = "POST /webhooks/whatsapp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 3000000\r\n\r\n";
        let too_big = format!(
            "POST /webhooks/whatsapp HTTP/1.1\r\nhost: x\r\nx-hub-signature-256: sha256={}\r\ncontent-length: 3145729\r\n\r\n",
            "0".repeat(64)
        );
        let no_token = "POST /events/ack HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\n";
        [
            raw(addr, unsigned, Duration::from_secs(2)),
            raw(addr, &too_big, Duration::from_secs(2)),
            raw(addr, no_token, Duration::from_secs(2)),
        ]
    })
    .await
    .unwrap();
    assert_eq!(
        answer,
        [
            Some("HTTP/1.1 401 Unauthorized".to_string()),
            Some("HTTP/1.1 413 Payload Too Large".to_string()),
            Some("HTTP/1.1 401 Unauthorized".to_string()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_a_full_server_answers_at_once() {
    let site = Site::new(None);
    let limits = Limits {
        max_connections: 3,
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let server = aushang::inbox::start_with_limits(
        site.config(),
        secrets(None),
        &site.data_dir(),
        "127.0.0.1:0".parse().unwrap(),
        limits,
    )
    .await
    .unwrap();
    let addr = server.addr();
    let url = server.url();
    tokio::task::spawn_blocking(move || {
        // Two clients that send a header byte by byte and never finish …
        let slow: Vec<TcpStream> = (0..2)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET / HT").unwrap();
                s
            })
            .collect();
        // … and one whose body never comes.
        let mut stalled = TcpStream::connect(addr).unwrap();
        let sig = format!("sha256={}", "0".repeat(64));
        stalled
            .write_all(
                format!("POST /webhooks/whatsapp HTTP/1.1\r\nhost: x\r\nx-hub-signature-256: {sig}\r\ncontent-length: 1000\r\n\r\n{{").as_bytes(),
            )
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // The server is full: a fourth client gets 503 at once, not a hang.
        let started = Instant::now();
        let full = raw(addr, "GET / HTTP/1.1\r\nhost: x\r\n\r\n", Duration::from_secs(5));
        assert_eq!(full.as_deref(), Some("HTTP/1.1 503 Service Unavailable"));
        assert!(started.elapsed() < Duration::from_secs(1));
        // The stalled body is answered 408, the slow headers are closed.
        stalled.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 64];
        let n = stalled.read(&mut buf).unwrap();
        assert!(
            String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
        for mut s in slow {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 256];
            // hyper closes the connection (possibly after a 408)
            let _ = s.read(&mut buf);
            let closed = matches!(s.read(&mut buf), Ok(0) | Err(_));
            assert!(closed, "a slow header must be cut off");
        }
    })
    .await
    .unwrap();
    // Slots are free again: honest clients are served.
    let r = reqwest::get(format!("{url}/")).await.unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn an_import_never_dates_a_confirmation_before_the_consent() {
    use aushang::subscribers::import::{ImportOptions, parse};
    use aushang::subscribers::{Channel, Resubscribe, SubscriberList};
    let opts = ImportOptions {
        channel: Channel::WhatsApp,
        status: Status::Pending,
        consent_source: "import".into(),
        consent_text: String::new(),
        language: "de".into(),
        known_topics: vec![],
        timezone: jiff::tz::TimeZone::get("Europe/Berlin").unwrap(),
        now: "2026-11-28T12:00:00Z".parse().unwrap(),
    };
    // Both dates given, confirmation first: refused, naming line and column, not the number.
    let bad = "Handy;Datum;Bestätigt am\n0171 3920001;05.11.2026;03.11.2026\n";
    let p = parse(bad.as_bytes(), &opts);
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    assert_eq!(p.problems[0].line, 2);
    assert_eq!(p.problems[0].column.as_deref(), Some("Bestätigt am"));
    assert!(!p.problems[0].message.contains("3920001"));
    // Only a confirmation date: the consent is dated by it, not by the import.
    let only = "Handy;Bestätigt am\n0171 3920001;03.11.2026\n";
    let p = parse(only.as_bytes(), &opts);
    let row = &p.rows[0].1;
    assert_eq!(row.status, Status::Active);
    assert!(row.consent_at <= row.confirmed_at, "{row:?}");
    // Merged into a newer pending web sign-up: the import's consent comes along.
    let mut list = SubscriberList::default();
    let pending = Subscriber {
        status: Status::Pending,
        address: row.address.clone(),
        consent_at: Some("2026-11-20T10:00:00Z".parse().unwrap()),
        confirmed_at: None,
        ..erika()
    };
    list.add(pending, Resubscribe::Never);
    list.add(row.clone(), Resubscribe::Never);
    let merged = &list.subscribers()[0];
    assert_eq!(merged.status, Status::Active);
    assert!(merged.consent_at <= merged.confirmed_at, "{merged:?}");
}

#[test]
fn repeated_sign_ups_for_one_number_get_one_confirmation_request_and_change_nothing() {
    use aushang::devtools::fake_graph::{FakeConfig, FakeGraph};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeGraph::start(FakeConfig::with_confirmation_template()))
        .unwrap();
    let site = Site::with_subscribers(Some(&fake.api_url()), vec![other_subscriber()]);
    let server = runtime.block_on(site.serve_in_process());
    let url = server.url();
    let form = |topic: &str, stamp: String| {
        vec![
            ("nummer", NUMBER_LOCAL.to_string()),
            ("thema", topic.to_string()),
            ("einwilligung", "ja".into()),
            ("fassung", "v1".into()),
            ("stempel", stamp),
        ]
    };
    let (a, b) = runtime.block_on(async {
        let a = form_stamp(&url).await;
        let b = form_stamp(&url).await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        (a, b)
    });
    for (ip, topic, stamp) in [("192.0.2.31", "abfall", a), ("192.0.2.32", "verkehr", b)] {
        let (code, page) = runtime.block_on(post_form(&url, ip, &form(topic, stamp)));
        assert_eq!(code, 200, "{page}");
    }
    let out = text(&aushang(&site, &["inbox", "pull", "--url", &url]));
    assert!(
        out.contains("Anmeldung: wartet auf Bestätigung (JA)"),
        "{out}"
    );
    assert!(
        out.contains("die Anmeldung wartet auf das JA der Person (Eintrag unverändert)"),
        "{out}"
    );
    assert!(
        out.contains("eine ging in den letzten 24 Stunden hinaus"),
        "{out}"
    );
    let asked = crate::full_loop::sent_to(&fake, NUMBER_E164, "template");
    assert_eq!(asked.len(), 1, "one confirmation request");
    let row = site.row(NUMBER_E164).unwrap();
    assert_eq!(row.status, Status::Pending);
    assert_eq!(
        row.topics,
        vec!["abfall"],
        "the second sign-up changed nothing yet"
    );
}

#[test]
fn a_pull_that_cannot_drain_the_inbox_fails_so_the_broadcast_does_not_run() {
    // An inbox that keeps saying more events wait but hands out none (a stuck or hostile one).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let site = Site::with_subscribers(None, vec![other_subscriber()]);
    let url = runtime.block_on(async {
        let app = axum::Router::new().route(
            "/events",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!({ "events": [], "remaining": 5 }))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    });
    let before = list_bytes(&site);
    let out = aushang_any(&site, &["inbox", "pull", "--no-ack", "--url", &url]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Vor dem Versand"), "{}", text(&out));
    assert_eq!(list_bytes(&site), before);
}
