//! The WhatsApp channel against the fake Graph API over real HTTP on 127.0.0.1: success, each
//! error class, parameter rules, throttling, dropped and refused connections, template status,
//! and (in `whatsapp/fake_records.rs`) the fake's records and the `aushang-dev fake-graph-api` command.

#[path = "whatsapp/fake_records.rs"]
mod fake_records;

use std::sync::Arc;
use std::time::Duration;

use aushang::broadcast::ratelimit::RateLimiter;
use aushang::delivery::errors::{Backoff, ErrorClass, Scope};
use aushang::devtools::fake_graph::{
    FakeConfig, FakeGraph, FakeTemplate, Injection, PARAM_TEXT_DETAILS, number_hash,
};
use aushang::providers::whatsapp::{Payload, SendError, WhatsAppClient, clean_param};

pub const ANNA: &str = "+4915123456789";
pub const BERT: &str = "+4917098765432";

pub fn notice(title: &str, summary: &str) -> Payload {
    Payload::Template {
        name: "neue_bekanntmachung".into(),
        language: "de".into(),
        body_params: vec![title.into(), summary.into()],
        button_suffix: Some("bekanntmachungen/2026/straßensperrung-b27/".into()),
    }
}

pub async fn fake(config: FakeConfig) -> (FakeGraph, WhatsAppClient) {
    let fake = FakeGraph::start(config).await.unwrap();
    let client = WhatsAppClient::new(
        &fake.api_url(),
        &fake.config().phone_number_id,
        fake.config().token.clone(),
    )
    .unwrap();
    (fake, client)
}

fn api_error(r: Result<String, SendError>) -> aushang::providers::whatsapp::errors::ApiError {
    match r {
        Err(SendError::Api(e)) => e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn success_returns_a_wamid_and_the_fake_records_exactly_what_was_sent() {
    let (fake, client) = fake(FakeConfig::default()).await;
    let first = client
        .send(
            ANNA,
            &notice("Straßensperrung B 27", "Vom 12. bis 14. Oktober."),
            "n=4711;s=1;a=1",
        )
        .await
        .unwrap();
    let second = client
        .send(
            BERT,
            &notice("Straßensperrung B 27", "Vom 12. bis 14. Oktober."),
            "n=4711;s=2;a=1",
        )
        .await
        .unwrap();
    assert!(first.starts_with("wamid."), "{first}");
    assert_ne!(first, second);
    let sent = fake.messages();
    assert_eq!(sent.len(), 2);
    let m = &sent[0];
    assert_eq!(m.wamid, first);
    assert_eq!(m.to, ANNA);
    assert_eq!(m.to_masked, "+49151*****789");
    assert_eq!(m.to_sha256, number_hash(ANNA));
    assert_eq!(m.template.as_deref(), Some("neue_bekanntmachung"));
    assert_eq!(m.language.as_deref(), Some("de"));
    assert_eq!(
        m.params,
        ["Straßensperrung B 27", "Vom 12. bis 14. Oktober."]
    );
    assert_eq!(m.correlation.as_deref(), Some("n=4711;s=1;a=1"));
    // '/' stays a path separator, 'ß' is percent-encoded as UTF-8
    assert_eq!(
        m.button_suffix.as_deref(),
        Some("bekanntmachungen/2026/stra%C3%9Fensperrung-b27/")
    );
    assert_eq!(sent[1].to_sha256, number_hash(BERT));
}

#[tokio::test]
async fn button_suffix_is_percent_encoded_and_the_fake_rejects_a_raw_one() {
    let (fake, client) = fake(FakeConfig::default()).await;
    let payload = Payload::Template {
        name: "neue_bekanntmachung".into(),
        language: "de".into(),
        body_params: vec!["Titel".into(), "Text".into()],
        button_suffix: Some("a b/ç|x".into()),
    };
    client.send(ANNA, &payload, "c").await.unwrap();
    assert_eq!(
        fake.messages()[0].button_suffix.as_deref(),
        Some("a%20b/%C3%A7%7Cx")
    );

    // a sender that forgets to encode gets the 132018 Meta gives for an invalid URL
    let raw = serde_json::json!({
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": ANNA, "type": "template",
        "template": { "name": "neue_bekanntmachung", "language": { "code": "de" }, "components": [
            { "type": "body", "parameters": [ { "type": "text", "text": "a" }, { "type": "text", "text": "b" } ] },
            { "type": "button", "sub_type": "url", "index": "0", "parameters": [ { "type": "text", "text": "a b|c" } ] } ] } });
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/{}/messages",
            fake.api_url(),
            fake.config().phone_number_id
        ))
        .bearer_auth(&fake.config().token)
        .json(&raw)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], 132018);
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test]
async fn retry_class_for_an_unknown_error_then_success() {
    let config = FakeConfig {
        inject: vec![Injection::code_at_call(1, 131000)],
        ..FakeConfig::default()
    };
    let (fake, client) = fake(config).await;
    let e = api_error(client.send(ANNA, &notice("T", "S"), "a=1").await);
    assert_eq!(e.code, Some(131000));
    assert_eq!(e.http_status, 500);
    assert_eq!(
        e.class(),
        ErrorClass::Retry {
            scope: Scope::Recipient,
            backoff: Backoff::Limited { max_tries: 3 }
        }
    );
    assert!(fake.messages().is_empty(), "a failed send is not recorded");
    client.send(ANNA, &notice("T", "S"), "a=2").await.unwrap();
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test]
async fn permanent_class_for_one_recipient_others_go_on() {
    let config = FakeConfig {
        inject: vec![Injection::code_for_number(BERT, 131026)],
        ..FakeConfig::default()
    };
    let (fake, client) = fake(config).await;
    let e = api_error(client.send(BERT, &notice("T", "S"), "c").await);
    assert_eq!(e.code, Some(131026));
    assert_eq!(e.class(), ErrorClass::Permanent);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("98765432"), "number leaked: {shown}");
    client.send(ANNA, &notice("T", "S"), "c").await.unwrap();
    assert_eq!(fake.messages().len(), 1);
    assert_eq!(fake.stats().errors.get(&131026), Some(&1));
}

#[tokio::test]
async fn revoked_token_is_fatal() {
    let config = FakeConfig {
        inject: vec![Injection::code_from_call(2, 190)],
        ..FakeConfig::default()
    };
    let (fake, client) = fake(config).await;
    client.send(ANNA, &notice("T", "S"), "c").await.unwrap();
    for _ in 0..2 {
        let e = api_error(client.send(BERT, &notice("T", "S"), "c").await);
        assert_eq!((e.code, e.http_status), (Some(190), 401));
        assert_eq!(e.class(), ErrorClass::Fatal);
    }

    let wrong = WhatsAppClient::new(
        &fake.api_url(),
        &fake.config().phone_number_id,
        "not-the-token".into(),
    )
    .unwrap();
    let e = api_error(wrong.send(ANNA, &notice("T", "S"), "c").await);
    assert_eq!((e.code, e.http_status), (Some(190), 401));
    assert_eq!(e.class(), ErrorClass::Fatal);
    assert!(!e.to_string().contains("not-the-token"));
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test]
async fn unknown_business_number_is_fatal() {
    let (fake, _) = fake(FakeConfig::default()).await;
    let other = WhatsAppClient::new(&fake.api_url(), "999", fake.config().token.clone()).unwrap();
    let e = api_error(other.send(ANNA, &notice("T", "S"), "c").await);
    assert_eq!(e.code, Some(100));
    assert_eq!(e.class(), ErrorClass::Fatal);
}

#[tokio::test]
async fn dirty_params_get_132018_and_clean_param_makes_it_impossible() {
    let (fake, client) = fake(FakeConfig::default()).await;
    let dirty = [
        "Straßensperrung\nB 27",
        "Sperrung\tB 27",
        "Sperrung     B 27",
        "Zeile\r\nzwei",
    ];
    for title in dirty {
        let e = api_error(client.send(ANNA, &notice(title, "Kurz."), "c").await);
        assert_eq!(e.code, Some(132018), "{title:?}");
        assert_eq!(e.http_status, 400);
        assert_eq!(
            e.message,
            "(#132018) There's an issue with the parameters in your template"
        );
        assert_eq!(e.details.as_deref(), Some(PARAM_TEXT_DETAILS));
        assert_eq!(e.class(), ErrorClass::Fatal);
    }
    for title in dirty.iter().chain(&["", "  ", "\u{a0}x\u{2028}y"]) {
        let cleaned = clean_param(title, 200);
        client
            .send(
                ANNA,
                &notice(&cleaned, &clean_param("Absatz eins.\n\nAbsatz zwei.", 200)),
                "c",
            )
            .await
            .unwrap_or_else(|e| panic!("{title:?} → {cleaned:?}: {e}"));
    }
    assert_eq!(fake.messages().len(), 7);
}

#[tokio::test]
async fn empty_parameter_is_rejected() {
    let (_fake, client) = fake(FakeConfig::default()).await;
    let e = api_error(client.send(ANNA, &notice("", "S"), "c").await);
    assert_eq!(e.code, Some(131008));
    assert_eq!(e.class(), ErrorClass::Fatal);
}

#[tokio::test]
async fn wrong_template_or_parameter_count_is_fatal() {
    let (fake, client) = fake(FakeConfig::default()).await;
    let wrong_name = Payload::Template {
        name: "gibt_es_nicht".into(),
        language: "de".into(),
        body_params: vec!["a".into(), "b".into()],
        button_suffix: Some("x/".into()),
    };
    let e = api_error(client.send(ANNA, &wrong_name, "c").await);
    assert_eq!((e.code, e.http_status), (Some(132001), 404));
    assert_eq!(e.class(), ErrorClass::Fatal);

    let wrong_language = Payload::Template {
        name: "neue_bekanntmachung".into(),
        language: "en".into(),
        body_params: vec!["a".into(), "b".into()],
        button_suffix: Some("x/".into()),
    };
    assert_eq!(
        api_error(client.send(ANNA, &wrong_language, "c").await).code,
        Some(132001)
    );

    let three = Payload::Template {
        name: "neue_bekanntmachung".into(),
        language: "de".into(),
        body_params: vec!["a".into(), "b".into(), "c".into()],
        button_suffix: Some("x/".into()),
    };
    let e = api_error(client.send(ANNA, &three, "c").await);
    assert_eq!(e.code, Some(132000));
    assert_eq!(e.class(), ErrorClass::Fatal);

    let no_button = Payload::Template {
        name: "neue_bekanntmachung".into(),
        language: "de".into(),
        body_params: vec!["a".into(), "b".into()],
        button_suffix: None,
    };
    assert_eq!(
        api_error(client.send(ANNA, &no_button, "c").await).code,
        Some(132018)
    );
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn paused_template_is_refused() {
    let mut t = FakeTemplate::new("neue_bekanntmachung", "de", 2, true);
    t.status = "PAUSED".into();
    let config = FakeConfig {
        templates: vec![t],
        ..FakeConfig::default()
    };
    let (_fake, client) = fake(config).await;
    let e = api_error(client.send(ANNA, &notice("T", "S"), "c").await);
    assert_eq!(e.code, Some(132015));
    assert_eq!(e.class(), ErrorClass::Fatal);
}

#[tokio::test]
async fn text_needs_an_open_service_window() {
    let config = FakeConfig {
        service_window: vec!["4915123456789".into()],
        ..FakeConfig::default()
    };
    let (fake, client) = fake(config).await;
    let text = Payload::Text {
        body: "Sie sind abgemeldet.".into(),
        preview_url: false,
    };
    client.send(ANNA, &text, "c").await.unwrap();
    let e = api_error(client.send(BERT, &text, "c").await);
    assert_eq!(e.code, Some(131047));
    assert_eq!(e.class(), ErrorClass::Permanent);
    let sent = fake.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, "text");
    assert_eq!(sent[0].text.as_deref(), Some("Sie sind abgemeldet."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceeding_the_fakes_rate_gets_130429() {
    let config = FakeConfig {
        messages_per_second: Some(5),
        ..FakeConfig::default()
    };
    let (fake, client) = fake(config).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client
                .send(ANNA, &notice("T", "S"), &format!("burst={i}"))
                .await
        }));
    }
    let mut throttled = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => {}
            Err(SendError::Api(e)) => {
                assert_eq!(e.code, Some(130429));
                assert!(e.is_throughput_limit());
                assert!(matches!(
                    e.class(),
                    ErrorClass::Retry {
                        scope: Scope::RunWide,
                        ..
                    }
                ));
                throttled += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(throttled, 5, "10 requests at once against a limit of 5");
    assert_eq!(fake.messages().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limiter_keeps_below_the_fakes_limit() {
    let config = FakeConfig {
        messages_per_second: Some(8),
        throttle_http_status: 429,
        ..FakeConfig::default()
    };
    let (fake, client) = fake(config).await;
    // 4/s against a limit of 8: arrivals (not grants) are what the fake counts, so leave ample
    // room for scheduling jitter on a busy machine; the window property itself is proven with
    // the paused clock in the rate limiter's unit tests
    let limiter = Arc::new(RateLimiter::new(4));
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (client, limiter) = (client.clone(), limiter.clone());
        tasks.push(tokio::spawn(async move {
            limiter.acquire().await;
            client
                .send(ANNA, &notice("T", "S"), &format!("paced={i}"))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(fake.messages().len(), 10);
    // without the limiter, the same 10 requests get five 130429s (test above); arrival times
    // may bunch a little on a busy machine, hence the limit's headroom over 4/s
    let stats = fake.stats();
    assert!(stats.errors.is_empty(), "{stats:?}");
    assert!(stats.max_per_second <= 8, "{stats:?}");
}

#[tokio::test]
async fn dropped_connection_is_uncertain_not_an_api_error() {
    let config = FakeConfig {
        inject: vec![
            Injection::drop_at_call(1, true),
            Injection::drop_at_call(2, false),
        ],
        ..FakeConfig::default()
    };
    let (fake, client) = fake(config).await;
    let after = client
        .send(ANNA, &notice("T", "S"), "c1")
        .await
        .unwrap_err();
    assert!(
        matches!(after, SendError::Transport(ref t) if t.uncertain),
        "{after:?}"
    );
    assert!(after.is_uncertain());
    // this is why it is uncertain: the fake did send the message
    assert_eq!(fake.messages().len(), 1);
    let before = client
        .send(BERT, &notice("T", "S"), "c2")
        .await
        .unwrap_err();
    assert!(before.is_uncertain(), "{before:?}");
    assert!(!before.to_string().contains("98765432"));
    assert_eq!(fake.messages().len(), 1);
    assert_eq!(fake.stats().dropped, 2);
    // the client recovers: the next request gets a fresh connection
    client.send(BERT, &notice("T", "S"), "c3").await.unwrap();
}

#[tokio::test]
async fn a_timeout_after_sending_is_uncertain() {
    let config = FakeConfig {
        latency_ms: 1500,
        ..FakeConfig::default()
    };
    let fake = FakeGraph::start(config).await.unwrap();
    let client = WhatsAppClient::with_timeouts(
        &fake.api_url(),
        &fake.config().phone_number_id,
        fake.config().token.clone(),
        Duration::from_secs(5),
        Duration::from_millis(300),
    )
    .unwrap();
    let e = client.send(ANNA, &notice("T", "S"), "c").await.unwrap_err();
    assert!(e.is_uncertain(), "{e:?}");
    assert_eq!(
        fake.messages().len(),
        1,
        "accepted although the client gave up"
    );
}

#[tokio::test]
async fn connect_refused_is_safe_to_retry() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = WhatsAppClient::new(
        &format!("http://127.0.0.1:{port}/v25.0"),
        "100000000000001",
        "t".into(),
    )
    .unwrap();
    let e = client.send(ANNA, &notice("T", "S"), "c").await.unwrap_err();
    match &e {
        SendError::Transport(t) => assert!(!t.uncertain, "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        e.class(),
        ErrorClass::Retry {
            scope: Scope::Recipient,
            ..
        }
    ));
}

#[tokio::test]
async fn template_status_reads_approval_and_category() {
    let mut marketing = FakeTemplate::new("bekanntmachung_aktualisiert", "de", 2, true);
    marketing.category = "MARKETING".into();
    let config = FakeConfig {
        templates: vec![
            FakeTemplate::new("neue_bekanntmachung", "de", 2, true),
            marketing,
        ],
        ..FakeConfig::default()
    };
    let (fake, client) = fake(config).await;
    let waba = fake.config().waba_id.clone();
    let t = client
        .template_status(&waba, "neue_bekanntmachung", "de")
        .await
        .unwrap();
    assert!(t.is_approved() && !t.is_marketing(), "{t:?}");
    let t = client
        .template_status(&waba, "bekanntmachung_aktualisiert", "de")
        .await
        .unwrap();
    assert_eq!(
        (t.status.as_str(), t.category.as_str()),
        ("APPROVED", "MARKETING")
    );
    assert!(t.is_marketing());
    let missing = client
        .template_status(&waba, "neue_bekanntmachung", "en")
        .await
        .unwrap_err();
    assert!(matches!(missing, SendError::TemplateNotFound { .. }));
    assert_eq!(missing.class(), ErrorClass::Fatal);
    let wrong = WhatsAppClient::new(&fake.api_url(), "1", "nope".into()).unwrap();
    let e = wrong
        .template_status(&waba, "neue_bekanntmachung", "de")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(190));
}
