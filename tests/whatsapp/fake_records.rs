//! The fake Graph API's records (in-process, over HTTP, in a file) and the `aushang-dev fake-graph-api` command.

use std::io::{BufRead, BufReader};

use aushang::devtools::fake_graph::{AcceptedMessage, FakeConfig, number_hash};
use aushang::providers::whatsapp::{Payload, WhatsAppClient};

use super::{ANNA, BERT, fake, notice};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_are_each_recorded_once_with_unique_ids() {
    let (fake, client) = fake(FakeConfig {
        latency_ms: 20,
        ..FakeConfig::default()
    })
    .await;
    let mut tasks = Vec::new();
    for i in 0..200u64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let to = format!("+49151{:08}", i);
            client
                .send(&to, &notice("T", "S"), &format!("s={i}"))
                .await
                .unwrap()
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        assert!(ids.insert(t.await.unwrap()));
    }
    let sent = fake.messages();
    assert_eq!(sent.len(), 200);
    let correlations: std::collections::HashSet<_> =
        sent.iter().map(|m| m.correlation.clone()).collect();
    assert_eq!(correlations.len(), 200);
    assert_eq!(
        sent.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=200).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn records_over_http_and_in_a_file_never_hold_full_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sent.jsonl");
    let (fake, client) = fake(FakeConfig {
        record_file: Some(file.clone()),
        ..FakeConfig::default()
    })
    .await;
    client.send(ANNA, &notice("T", "S"), "s=1").await.unwrap();
    client.send(BERT, &notice("T", "S"), "s=2").await.unwrap();
    let over_http = reqwest::get(format!("{}/_fake/messages", fake.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let in_file = std::fs::read_to_string(&file).unwrap();
    for text in [&over_http, &in_file] {
        assert!(
            !text.contains("23456789") && !text.contains("98765432"),
            "{text}"
        );
    }
    let listed: Vec<AcceptedMessage> = serde_json::from_str(&over_http).unwrap();
    let lines: Vec<AcceptedMessage> = in_file
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed, lines);
    assert_eq!(lines[1].to_sha256, number_hash(BERT));
    assert_eq!(lines[1].correlation.as_deref(), Some("s=2"));
}

#[test]
fn dev_command_serves_and_prints_its_address_first() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fake.json");
    std::fs::write(
        &config,
        r#"{ "token": "cli-token", "phone_number_id": "42424242",
             "templates": [ { "name": "hallo", "language": "de", "body_params": 1 } ],
             "inject": [ { "call": 2, "fault": { "error": { "code": 131026 } } } ] }"#,
    )
    .unwrap();
    let record = dir.path().join("sent.jsonl");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("aushang-dev"))
        .args(["fake-graph-api", "--port", "0", "--config"])
        .arg(&config)
        .arg("--record")
        .arg(&record)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first.trim().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let outcome = rt.block_on(async {
        let client =
            WhatsAppClient::new(&format!("{base}/v25.0"), "42424242", "cli-token".into()).unwrap();
        let hello = Payload::Template {
            name: "hallo".into(),
            language: "de".into(),
            body_params: vec!["Welt".into()],
            button_suffix: None,
        };
        let ok = client.send(ANNA, &hello, "x").await;
        let injected = client.send(BERT, &hello, "y").await;
        (ok, injected)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(outcome.0.is_ok(), "{:?}", outcome.0);
    assert_eq!(outcome.1.unwrap_err().code(), Some(131026));
    let lines = std::fs::read_to_string(&record).unwrap();
    assert_eq!(lines.lines().count(), 1);
    assert!(lines.contains(&number_hash(ANNA)));
}

#[test]
fn dev_command_reports_a_bad_config_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fake.json");
    std::fs::write(&config, "{\n  \"token\": \"x\",\n  \"tokn\": 1\n}").unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin!("aushang-dev"))
        .args(["fake-graph-api", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fake.json:3:"), "{err}");
    assert!(err.contains("tokn"), "{err}");
}

/// The dev tools live in `aushang-dev`; the product binary neither lists nor accepts them.
#[test]
fn product_binary_carries_no_dev_tools() {
    let help = std::process::Command::new(assert_cmd::cargo::cargo_bin!("aushang"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("build"), "{help}");
    for tool in ["fake-graph-api", "gen-corpus", "io-floor"] {
        assert!(!help.contains(tool), "{tool} in aushang --help:\n{help}");
        let run = std::process::Command::new(assert_cmd::cargo::cargo_bin!("aushang"))
            .args([tool, "--help"])
            .output()
            .unwrap();
        assert!(!run.status.success(), "aushang {tool} still runs");
        let dev = std::process::Command::new(assert_cmd::cargo::cargo_bin!("aushang-dev"))
            .args([tool, "--help"])
            .output()
            .unwrap();
        assert!(dev.status.success(), "aushang-dev {tool} --help failed");
    }
}
