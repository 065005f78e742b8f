//! The inbox server over real HTTP on 127.0.0.1: handshake, signatures over raw bytes, replays,
//! malformed and huge bodies, every bad sign-up, encryption at rest, durability before the 200,
//! the opt-out link, and (in `inbox/full_loop.rs`) the whole loop with `aushang inbox pull` and
//! `aushang broadcast` against the fake Graph API.

#[path = "inbox/batch.rs"]
mod batch;
#[path = "inbox/email_signup.rs"]
mod email_signup;
#[path = "inbox/full_loop.rs"]
mod full_loop;
#[path = "inbox/hardening.rs"]
mod hardening;
#[path = "inbox/keys.rs"]
mod keys;
#[path = "inbox/outgoing.rs"]
mod outgoing;
#[path = "inbox/resend.rs"]
mod resend;
#[path = "inbox/signup.rs"]
mod signup;
#[allow(dead_code)]
#[path = "channels/support.rs"]
mod smtp;
#[path = "inbox/support.rs"]
mod support;

use aushang::inbox::events::Envelope;
use aushang::inbox::webhook::sign;
use reqwest::StatusCode;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_echoes_the_challenge_only_with_the_verify_token() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    let http = reqwest::Client::new();
    let url = format!("{}/webhooks/whatsapp", server.url());
    let ok = http
        .get(format!(
            "{url}?{}",
            encode(&[
                ("hub.mode", "subscribe"),
                ("hub.challenge", "1158201444"),
                ("hub.verify_token", VERIFY_TOKEN)
            ])
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(
        ok.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    for query in [
        vec![
            ("hub.mode", "subscribe"),
            ("hub.challenge", "1"),
            ("hub.verify_token", "wrong-token-of-some-length"),
        ],
        vec![
            ("hub.mode", "unsubscribe"),
            ("hub.challenge", "1"),
            ("hub.verify_token", VERIFY_TOKEN),
        ],
        vec![("hub.challenge", "1")],
    ] {
        let r = http
            .get(format!("{url}?{}", encode(&query)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{query:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_checked_over_the_raw_bytes() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    // Meta escapes non-ASCII; a handler that re-serialises would hash different bytes.
    let escaped = inbound_json(
        "wamid.esc",
        "Gr\\u00fc\\u00dfe, wann ist Sperrm\\u00fcll?",
        now_unix(),
    );
    let raw_utf8 = inbound_json("wamid.raw", "Grüße, wann ist Sperrmüll? STOP", now_unix());
    let confirm_escaped = inbound_json("wamid.confirm", "Best\\u00e4tigen", now_unix());
    assert_eq!(signed_post(&server.url(), &escaped).await, 200);
    assert_eq!(signed_post(&server.url(), &raw_utf8).await, 200);
    assert_eq!(signed_post(&server.url(), &confirm_escaped).await, 200);
    // The same message, signed over its decoded form but sent escaped: refused.
    let decoded = inbound_json("wamid.x", "Grüße", now_unix());
    let sent = inbound_json("wamid.x", "Gr\\u00fc\\u00dfe", now_unix());
    assert_eq!(
        post_webhook(
            &server.url(),
            &sent,
            Some(&sign(APP_SECRET.as_bytes(), decoded.as_bytes()))
        )
        .await,
        401
    );
    let keyword = inbound_json("wamid.forged", "STOP", now_unix());
    assert_eq!(
        post_webhook(
            &server.url(),
            &keyword,
            Some(&sign(b"not-the-app-secret", keyword.as_bytes()))
        )
        .await,
        401
    );
    assert_eq!(post_webhook(&server.url(), &keyword, None).await, 401);
    let mut tampered = sign(APP_SECRET.as_bytes(), keyword.as_bytes());
    tampered.replace_range(10..11, if &tampered[10..11] == "0" { "1" } else { "0" });
    assert_eq!(
        post_webhook(&server.url(), &keyword, Some(&tampered)).await,
        401
    );
    // Nothing forged was stored; of the genuine ones only the keyword is an event (questions
    // get the service text, they are not events).
    let kinds: Vec<&str> = site.decrypt_all().iter().map(|e| e.event.kind()).collect();
    assert_eq!(
        kinds,
        vec!["start"],
        "\"Best\\u00e4tigen\" is the keyword BESTÄTIGEN"
    );
    let genuine_stop = inbound_json("wamid.genuine", "stop", now_unix());
    assert_eq!(signed_post(&server.url(), &genuine_stop).await, 200);
    let mut kinds: Vec<&str> = site.decrypt_all().iter().map(|e| e.event.kind()).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["start", "stop"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_webhooks_are_stored_once_and_other_numbers_ignored() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    let stop = inbound_json("wamid.replay", "STOP", now_unix());
    let status = status_json(&[
        ("wamid.out1", "delivered"),
        ("wamid.out1", "read"),
        ("wamid.out1", "delivered"),
    ]);
    for _ in 0..3 {
        assert_eq!(signed_post(&server.url(), &stop).await, 200);
        assert_eq!(signed_post(&server.url(), &status).await, 200);
    }
    let foreign = stop
        .replace(PHONE_NUMBER_ID, "999999999999999")
        .replace("wamid.replay", "wamid.foreign");
    assert_eq!(signed_post(&server.url(), &foreign).await, 200);
    let mut kinds: Vec<String> = site
        .decrypt_all()
        .iter()
        .map(|e| e.event.kind().to_string())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec!["status", "status", "stop"],
        "one STOP, one event per (id, status)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_bodies_are_refused_and_the_server_goes_on() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    for body in [
        "{not json",
        "{\"object\":\"page\",\"entry\":[]}",
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"100000000000001\"},\"messages\":[{\"id\":5}]}}]}]}",
    ] {
        assert_eq!(signed_post(&server.url(), body).await, 400, "{body}");
    }
    let huge = format!(
        "{{\"object\":\"whatsapp_business_account\",\"pad\":\"{}\"}}",
        "x".repeat(3 * 1024 * 1024 + 10)
    );
    // The server answers 413 from the Content-Length alone and may close the connection while
    // the client is still writing the body: a broken pipe is a refusal too.
    let refused = reqwest::Client::new()
        .post(format!("{}/webhooks/whatsapp", server.url()))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            sign(APP_SECRET.as_bytes(), huge.as_bytes()),
        )
        .body(huge.into_bytes())
        .send()
        .await;
    match refused {
        Ok(response) => assert_eq!(response.status().as_u16(), 413),
        Err(e) => assert!(
            e.is_request() && !e.is_connect(),
            "expected 413 or a connection closed mid-body, got {e}"
        ),
    }
    let ok = status_json(&[("wamid.after", "sent")]);
    assert_eq!(
        signed_post(&server.url(), &ok).await,
        200,
        "the server still works"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_encrypted_and_on_disk_before_the_answer() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    let form = vec![
        ("nummer", NUMBER_LOCAL.to_string()),
        ("einwilligung", "ja".into()),
        ("fassung", "v1".into()),
        ("stempel", ripe_stamp(&server.url()).await),
    ];
    let (code, _) = post_form(&server.url(), "192.0.2.10", &form).await;
    assert_eq!(code, 200);
    // The 200 arrived: the encrypted file must already be there, complete.
    let files = event_files(&site.data_dir());
    assert_eq!(files.len(), 1);
    let stop = inbound_json("wamid.durable", "STOP", now_unix());
    assert_eq!(signed_post(&server.url(), &stop).await, 200);
    assert_eq!(
        event_files(&site.data_dir()).len(),
        2,
        "stored before the 200"
    );
    for file in walk(&site.data_dir()) {
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for needle in [NUMBER_E164, NUMBER_DIGITS, "23456789", "Erika"] {
            assert!(
                !text.contains(needle),
                "{} holds {needle} in clear",
                file.display()
            );
        }
    }
    for file in event_files(&site.data_dir()) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
            "{}",
            file.display()
        );
    }
    // ... and the key holder can read them, also with the age CLI.
    let key = site.tmp.path().join("key.txt");
    std::fs::write(&key, &site.secret).unwrap();
    let mut files = event_files(&site.data_dir());
    files.sort();
    let out = std::process::Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(&files[0])
        .output()
        .expect("the `age` CLI is needed for the interop test: apt-get install age");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plain["event"]["kind"], "signup");
    let events: Vec<Envelope> = site.decrypt_all();
    let addresses: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            aushang::inbox::events::Event::Signup { address, .. } => Some(address.clone()),
            aushang::inbox::events::Event::Keyword { address, .. } => address.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(addresses, vec![NUMBER_E164.to_string(); 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_out_link_confirms_on_get_and_unsubscribes_on_post() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = aushang::subscribers::optout::token(TOKEN_SECRET.as_bytes(), "s_00000000000000aa");
    let get = http
        .get(format!(
            "{}/abmelden?{}",
            server.url(),
            encode(&[("t", &token)])
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    let page = get.text().await.unwrap();
    assert!(
        page.contains("<form method=\"post\"") && page.contains("Ja, abmelden"),
        "{page}"
    );
    assert!(
        event_files(&site.data_dir()).is_empty(),
        "GET must not unsubscribe"
    );
    // RFC 8058 one-click: token in the URI, fixed body, 2xx without redirect.
    let post = http
        .post(format!("{}/abmelden?t={token}", server.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::OK);
    let events = site.decrypt_all();
    assert_eq!(events.len(), 1);
    assert!(
        matches!(&events[0].event, aushang::inbox::events::Event::LinkUnsubscribe { subscriber, .. } if subscriber == "s_00000000000000aa")
    );
    let forged = token.replace("s_00000000000000aa", "s_00000000000000ab");
    let bad = http
        .post(format!("{}/abmelden", server.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("t", forged)]))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(event_files(&site.data_dir()).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pull_api_needs_the_token_and_ack_deletes() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    assert_eq!(
        signed_post(&server.url(), &status_json(&[("wamid.p", "sent")])).await,
        200
    );
    let http = reqwest::Client::new();
    let anonymous = http
        .get(format!("{}/events", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = http
        .get(format!("{}/events", server.url()))
        .bearer_auth("x".repeat(PULL_TOKEN.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let list: serde_json::Value = http
        .get(format!("{}/events", server.url()))
        .bearer_auth(PULL_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["events"][0]["id"].as_str().unwrap().to_string();
    let ack: serde_json::Value = http
        .post(format!("{}/events/ack", server.url()))
        .bearer_auth(PULL_TOKEN)
        .json(&serde_json::json!({ "ids": [id] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ack["deleted"], 1);
    assert!(event_files(&site.data_dir()).is_empty());
    // Meta retries after the pull took it: still a duplicate.
    assert_eq!(
        signed_post(&server.url(), &status_json(&[("wamid.p", "sent")])).await,
        200
    );
    assert!(event_files(&site.data_dir()).is_empty());
}
