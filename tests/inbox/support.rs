//! Shared set-up for the inbox tests: a copy of the example site with its own key, secrets, the
//! in-process server, signed webhook bodies and form posts.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use aushang::inbox::events::Envelope;
use aushang::inbox::webhook::sign;
use aushang::inbox::{RunningInbox, Secrets};
use aushang::subscribers::{Identity, Subscriber, SubscriberList};

// The helpers all integration tests share (`tests/common/`), for the crates that include this.
#[path = "../common/mod.rs"]
mod common;
#[allow(unused_imports)] // not every crate that includes this copies directories
pub use common::{copy_dir, repo};

pub const APP_SECRET: &str = "test-app-secret-0123456789abcdef0123";
pub const VERIFY_TOKEN: &str = "test-verify-token-0123456789";
pub const PULL_TOKEN: &str = "test-pull-token-0123456789abcdef";
pub const TOKEN_SECRET: &str = "test-optout-secret-0123456789abcdef";
pub const PHONE_NUMBER_ID: &str = "100000000000001";
/// Fictitious (the shape used in the subscriber module's tests).
pub const NUMBER_LOCAL: &str = "0151 23456789";
pub const NUMBER_E164: &str = "+4915123456789";
pub const NUMBER_DIGITS: &str = "4915123456789";

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().to_path_buf())
        .collect()
}

pub fn event_files(data: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(data.join("events")) {
        Ok(d) => d
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "age"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

pub fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

pub fn secrets(whatsapp_token: Option<&str>) -> Secrets {
    Secrets {
        app_secret: APP_SECRET.into(),
        verify_token: VERIFY_TOKEN.into(),
        pull_token: PULL_TOKEN.into(),
        token_secret: Some(TOKEN_SECRET.into()),
        whatsapp_token: whatsapp_token.map(String::from),
    }
}

/// An active WhatsApp subscriber with no topics (everything) who signed up on the web on
/// 1 November 2026 and confirmed five minutes later.
pub fn confirmed_subscriber(id: String, address: String) -> Subscriber {
    Subscriber {
        id,
        address,
        ..common::whatsapp_subscriber(0, "", &[], aushang::subscribers::Status::Active)
    }
}

/// A copy of the example site in a temp dir, with its own key and a subscriber list.
pub struct Site {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub identity: Identity,
    pub secret: String,
}

impl Site {
    /// `api_url`: the fake Graph API, when the test sends.
    pub fn new(api_url: Option<&str>) -> Site {
        Site::with_subscribers(api_url, Vec::new())
    }

    pub fn with_subscribers(api_url: Option<&str>, subscribers: Vec<Subscriber>) -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("site");
        common::copy_example_tree(&root);
        let example = std::fs::read_to_string(repo().join("aushang.yaml")).unwrap();
        // The example's own `inbox:` section is the last one; these tests use their own.
        let mut config = example.split("\ninbox:").next().unwrap().to_string();
        if let Some(api) = api_url {
            let anchor = "      phone_number_id: \"100000000000001\"\n";
            assert!(config.contains(anchor), "the example config changed shape");
            config = config.replace(anchor, &format!("{anchor}      api_url: {api}\n"));
        }
        config.push_str(
            "\ninbox:\n  url: https://inbox.musterbach.example/\n  min_fill_seconds: 2\n  \
             signups_per_ip_per_hour: 5\n  confirmation_template: anmeldung_bestaetigen\n",
        );
        std::fs::write(root.join("aushang.yaml"), config).unwrap();
        let (identity, secret) = common::write_own_list(&root, subscribers);
        Site {
            tmp,
            root,
            identity,
            secret,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.tmp.path().join("inbox-data")
    }

    pub fn config(&self) -> aushang::config::Config {
        aushang::config::load(&self.root).unwrap_or_else(|p| panic!("{p:?}"))
    }

    pub async fn serve_in_process(&self) -> RunningInbox {
        aushang::inbox::start(
            self.config(),
            secrets(None),
            &self.data_dir(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap()
    }

    /// Decrypts every stored event with the site's key.
    pub fn decrypt_all(&self) -> Vec<Envelope> {
        let mut files = event_files(&self.data_dir());
        files.sort();
        files
            .iter()
            .map(|f| {
                let bytes = std::fs::read(f).unwrap();
                let plain =
                    aushang::subscribers::store::decrypt(&bytes, &self.identity, f).unwrap();
                serde_json::from_slice(&plain).unwrap()
            })
            .collect()
    }

    pub fn list(&self) -> SubscriberList {
        SubscriberList::load(&self.root.join("subscribers"), &self.identity).unwrap()
    }

    /// The list's row for `address`, if there is one.
    pub fn row(&self, address: &str) -> Option<Subscriber> {
        self.list()
            .subscribers()
            .iter()
            .find(|s| s.address == address)
            .cloned()
    }

    /// Builds the site into `out` with the real binary (asserting it succeeded) and returns the
    /// sign-up page, `anmelden/index.html`.
    pub fn signup_page(&self, out: &Path) -> String {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_aushang"))
            .arg("--root")
            .arg(&self.root)
            .args(["build", "--out"])
            .arg(out)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        std::fs::read_to_string(out.join("anmelden/index.html")).unwrap()
    }
}

/// A webhook body with one inbound text message, as Meta writes it (`text` is inserted verbatim,
/// so `\u00fc` escapes stay escapes).
pub fn inbound_json(wamid: &str, text: &str, unix: i64) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"200000000000002","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"4923991230","phone_number_id":"{PHONE_NUMBER_ID}"}},"contacts":[{{"profile":{{"name":"Erika Beispiel"}},"wa_id":"{NUMBER_DIGITS}"}}],"messages":[{{"from":"{NUMBER_DIGITS}","id":"{wamid}","timestamp":"{unix}","type":"text","text":{{"body":"{text}"}}}}]}}}}]}}]}}"#
    )
}

/// A webhook body with status updates `(wamid, status)`.
pub fn status_json(statuses: &[(&str, &str)]) -> String {
    let items: Vec<String> = statuses
        .iter()
        .map(|(id, status)| {
            format!(
                r#"{{"id":"{id}","status":"{status}","timestamp":"{}","recipient_id":"{NUMBER_DIGITS}","biz_opaque_callback_data":"m=/x/;s=s_1;a=1"}}"#,
                now_unix()
            )
        })
        .collect();
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"200000000000002","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"4923991230","phone_number_id":"{PHONE_NUMBER_ID}"}},"statuses":[{}]}}}}]}}]}}"#,
        items.join(",")
    )
}

pub async fn post_webhook(base: &str, body: &str, signature: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec());
    if let Some(s) = signature {
        req = req.header("x-hub-signature-256", s);
    }
    req.send().await.unwrap().status().as_u16()
}

pub async fn signed_post(base: &str, body: &str) -> u16 {
    post_webhook(
        base,
        body,
        Some(&sign(APP_SECRET.as_bytes(), body.as_bytes())),
    )
    .await
}

/// Posts the sign-up form as a browser would, behind the proxy that adds `X-Forwarded-For`.
pub async fn post_form(base: &str, client_ip: &str, form: &[(&str, String)]) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{base}/signup"))
        .header("x-forwarded-for", client_ip)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(form))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// What the form's script fetches when the page loads: a server-signed stamp.
pub async fn form_stamp(base: &str) -> String {
    let r: serde_json::Value = reqwest::get(format!("{base}/signup/stempel"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["stempel"].as_str().unwrap().to_string()
}

/// A form stamp old enough to be accepted (the test sites' `min_fill_seconds` is 2).
pub async fn ripe_stamp(base: &str) -> String {
    let stamp = form_stamp(base).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    stamp
}

/// The `value` of `<input type="hidden" name="{name}" value="…">` in a page.
pub fn hidden_value(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    page[start..end].to_string()
}

/// `application/x-www-form-urlencoded` (also used for query strings).
pub fn encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k.as_ref(), v.as_ref());
    }
    s.finish()
}

/// One `messages` change of our number, wrapped as a whole webhook body.
pub fn messages_json(value_inner: &str) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"200000000000002","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"4923991230","phone_number_id":"{PHONE_NUMBER_ID}"}},{value_inner}}}}}]}}]}}"#
    )
}

/// An inbound text with a business-scoped user id; `with_number: false` leaves `from` and
/// `wa_id` out, as Meta does for a user with a username.
pub fn inbound_bsuid_json(
    wamid: &str,
    bsuid: &str,
    with_number: bool,
    text: &str,
    unix: i64,
) -> String {
    let (wa_id, from) = if with_number {
        (
            format!(r#","wa_id":"{NUMBER_DIGITS}""#),
            format!(r#""from":"{NUMBER_DIGITS}","#),
        )
    } else {
        (String::new(), String::new())
    };
    messages_json(&format!(
        r#""contacts":[{{"profile":{{"name":"Erika"}},"user_id":"{bsuid}"{wa_id}}}],"messages":[{{{from}"from_user_id":"{bsuid}","id":"{wamid}","timestamp":"{unix}","type":"text","text":{{"body":"{text}"}}}}]"#
    ))
}

/// A failed (or other) status for one accepted message, with our correlation data.
pub fn status_for_json(
    wamid: &str,
    status: &str,
    correlation: &str,
    code: Option<i64>,
    bsuid: Option<&str>,
) -> String {
    let errors = code
        .map(|c| format!(r#","errors":[{{"code":{c},"title":"Message undeliverable"}}]"#))
        .unwrap_or_default();
    let user = bsuid
        .map(|b| format!(r#","recipient_user_id":"{b}""#))
        .unwrap_or_default();
    messages_json(&format!(
        r#""statuses":[{{"id":"{wamid}","status":"{status}","timestamp":"{}","recipient_id":"{NUMBER_DIGITS}","biz_opaque_callback_data":"{correlation}"{user}{errors}}}]"#,
        now_unix()
    ))
}

/// A `user_preferences` webhook (`value`: `stop` or `resume`).
pub fn preference_json(value: &str, unix: i64) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"200000000000002","changes":[{{"field":"user_preferences","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"4923991230","phone_number_id":"{PHONE_NUMBER_ID}"}},"contacts":[{{"profile":{{"name":"Erika"}},"wa_id":"{NUMBER_DIGITS}"}}],"user_preferences":[{{"wa_id":"{NUMBER_DIGITS}","detail":"User requested to {value} marketing messages","category":"marketing_messages","value":"{value}","timestamp":{unix}}}]}}}}]}}]}}"#
    )
}

/// A `message_template_status_update` webhook.
pub fn template_status_json(name: &str, event: &str, unix: i64) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"200000000000002","time":{unix},"changes":[{{"field":"message_template_status_update","value":{{"event":"{event}","message_template_id":594425479261596,"message_template_name":"{name}","message_template_language":"de","reason":"NONE"}}}}]}}]}}"#
    )
}
