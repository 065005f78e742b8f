//! Outgoing messages carry the opt-out link where the channel can show one: the outbox files of
//! `aushang broadcast` end in each subscriber's own `/abmelden?t=…` link (the token `aushang inbox
//! link` prints and the server accepts), fall back to "Abmelden: STOP antworten" with a warning
//! without the secret, and the dry-run preview shows the line only where the channel can show it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::*;

const NOW: &str = "2026-11-28 12:00";

/// A copy of the example site with its demo list (the outbox channel may use the demo key).
fn example_site(tmp: &Path, without_whatsapp: bool) -> PathBuf {
    let root = tmp.join("site");
    for part in ["content", "static", "subscribers"] {
        copy_dir(&repo().join(part), &root.join(part));
    }
    let mut config = std::fs::read_to_string(repo().join("aushang.yaml")).unwrap();
    assert!(config.contains("\ninbox:\n  url: https://inbox.musterbach.example/\n"));
    if without_whatsapp {
        let start = config.find("  channels:\n").unwrap();
        let end = config.find("\n# The sign-up").unwrap();
        config.replace_range(start..end, "");
    }
    std::fs::write(root.join("aushang.yaml"), config).unwrap();
    root
}

fn aushang(root: &Path, args: &[&str], secret: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aushang"));
    cmd.arg("--root")
        .arg(root)
        .args(args)
        .env_remove("AUSHANG_INBOX_TOKEN_SECRET")
        .env_remove("WHATSAPP_TOKEN")
        .env_remove("AUSHANG_IDENTITY")
        .env_remove("AUSHANG_IDENTITY_FILE")
        .env_remove("GITHUB_STEP_SUMMARY");
    if let Some(s) = secret {
        cmd.env("AUSHANG_INBOX_TOKEN_SECRET", s);
    }
    cmd.output().unwrap()
}

fn all(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// (subscriber id from the file name, file text) of every outbox message.
fn outbox_files(root: &Path) -> Vec<(String, String)> {
    walk(&root.join("outbox"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            let id = p.file_stem().unwrap().to_string_lossy().into_owned();
            (id, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn outbox_messages_end_in_the_subscribers_own_opt_out_link() {
    let tmp = tempfile::tempdir().unwrap();
    let root = example_site(tmp.path(), false);
    let out = aushang(
        &root,
        &["broadcast", "--channel", "outbox", "--now", NOW],
        Some(TOKEN_SECRET),
    );
    assert!(out.status.success(), "{}", all(&out));
    let files = outbox_files(&root);
    assert!(files.len() >= 2, "{}", all(&out));
    for (id, text) in &files {
        let last = text.trim_end().lines().last().unwrap();
        let token = last
            .strip_prefix("Abmelden: https://inbox.musterbach.example/abmelden?t=")
            .unwrap_or_else(|| panic!("{id}: {text}"));
        assert_eq!(
            aushang::subscribers::optout::verify(TOKEN_SECRET.as_bytes(), token).as_deref(),
            Some(id.as_str()),
            "the token names another subscriber"
        );
        // The same link `aushang inbox link` prints.
        let link = aushang(&root, &["inbox", "link", id], Some(TOKEN_SECRET));
        assert_eq!(
            String::from_utf8_lossy(&link.stdout).trim(),
            last.strip_prefix("Abmelden: ").unwrap()
        );
    }
    assert!(!all(&out).contains("ist nicht gesetzt: Nachrichten sagen"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_in_an_outbox_message_unsubscribes_at_the_inbox() {
    let site = Site::new(None);
    std::fs::remove_dir_all(site.root.join("subscribers")).unwrap();
    copy_dir(&repo().join("subscribers"), &site.root.join("subscribers"));
    let root = site.root.clone();
    let out = tokio::task::spawn_blocking(move || {
        aushang(
            &root,
            &["broadcast", "--channel", "outbox", "--now", NOW],
            Some(TOKEN_SECRET),
        )
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", all(&out));
    let (id, text) = outbox_files(&site.root).remove(0);
    let link = text
        .trim_end()
        .lines()
        .last()
        .unwrap()
        .strip_prefix("Abmelden: ")
        .unwrap()
        .to_string();
    let server = site.serve_in_process().await;
    let local = link.replace("https://inbox.musterbach.example", &server.url());
    // RFC 8058 one-click: POST to the link itself with `List-Unsubscribe=One-Click`.
    let r = reqwest::Client::new()
        .post(&local)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The demo list is encrypted to the demo key; the server encrypts events to it as well.
    let demo =
        aushang::subscribers::Identity::from_file(&site.root.join("subscribers/demo-identity.txt"))
            .unwrap();
    let events: Vec<aushang::inbox::events::Envelope> = event_files(&site.data_dir())
        .iter()
        .map(|f| {
            let plain =
                aushang::subscribers::store::decrypt(&std::fs::read(f).unwrap(), &demo, f).unwrap();
            serde_json::from_slice(&plain).unwrap()
        })
        .collect();
    assert_eq!(events.len(), 1);
    assert!(
        matches!(&events[0].event, aushang::inbox::events::Event::LinkUnsubscribe { subscriber, .. } if *subscriber == id)
    );
    server.shutdown().await.unwrap();
}

#[test]
fn without_the_secret_messages_say_stop_and_the_run_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let root = example_site(tmp.path(), false);
    let out = aushang(
        &root,
        &["broadcast", "--channel", "outbox", "--now", NOW],
        None,
    );
    assert!(out.status.success(), "{}", all(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "ein Posteingang ist eingestellt, aber AUSHANG_INBOX_TOKEN_SECRET ist nicht gesetzt: Nachrichten sagen „Abmelden: STOP antworten“"
        ),
        "{}",
        all(&out)
    );
    let files = outbox_files(&root);
    assert!(!files.is_empty());
    for (id, text) in &files {
        assert!(!text.contains("abmelden?t="), "{id}: {text}");
        // The template already says it; it is not said twice.
        assert_eq!(
            text.matches("Abmelden: STOP antworten").count(),
            1,
            "{text}"
        );
    }
}

#[test]
fn the_preview_shows_the_link_where_the_channel_can_show_one() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = example_site(&tmp.path().join("plain"), true);
    let out = aushang(&plain, &["broadcast", "--dry-run", "--now", NOW], None);
    assert!(out.status.success(), "{}", all(&out));
    let preview = String::from_utf8_lossy(&out.stdout);
    assert!(
        preview.contains(
            "> Abmelden: https://inbox.musterbach.example/abmelden?t=<persönlicher-Code>"
        ),
        "{preview}"
    );
    // A WhatsApp template cannot carry an extra line: its preview stays exactly the template.
    let whatsapp = example_site(&tmp.path().join("whatsapp"), false);
    let out = aushang(&whatsapp, &["broadcast", "--dry-run", "--now", NOW], None);
    assert!(out.status.success(), "{}", all(&out));
    let preview = String::from_utf8_lossy(&out.stdout);
    assert!(preview.contains("Abmelden: STOP antworten."), "{preview}");
    assert!(!preview.contains("abmelden?t="), "{preview}");
    // A preview needs no secret (pull requests never have one), so it does not warn about it.
    assert!(
        !all(&out).contains("ist nicht gesetzt: Nachrichten sagen"),
        "{}",
        all(&out)
    );
}

fn active(n: u8) -> aushang::subscribers::Subscriber {
    confirmed_subscriber(
        format!("s_optoutbutton00{n:02}"),
        format!("+49152000005{n:02}"),
    )
}

/// A site whose WhatsApp templates have the opt-out button, sending to the fake Graph API.
fn button_site(api_url: &str) -> Site {
    let site = Site::with_subscribers(Some(api_url), vec![active(1), active(2)]);
    let path = site.root.join("aushang.yaml");
    let config = std::fs::read_to_string(&path).unwrap();
    let anchor = "        url_button: true\n";
    assert!(config.contains(anchor), "the example config changed shape");
    std::fs::write(
        &path,
        config.replace(anchor, &format!("{anchor}        optout_button: true\n")),
    )
    .unwrap();
    site
}

fn whatsapp_broadcast(site: &Site, secret: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aushang"));
    cmd.arg("--root")
        .arg(&site.root)
        .args([
            "broadcast",
            "--channel",
            "whatsapp",
            "--no-link-check",
            "--now",
            NOW,
        ])
        .env("AUSHANG_IDENTITY", &site.secret)
        .env("WHATSAPP_TOKEN", "fake-token")
        .env_remove("AUSHANG_IDENTITY_FILE")
        .env_remove("AUSHANG_INBOX_TOKEN_SECRET")
        .env_remove("GITHUB_STEP_SUMMARY");
    if let Some(s) = secret {
        cmd.env("AUSHANG_INBOX_TOKEN_SECRET", s);
    }
    let out = cmd.output().unwrap();
    assert!(!all(&out).contains("+49152000005"), "{}", all(&out));
    out
}

#[test]
fn a_whatsapp_opt_out_button_gets_each_subscribers_token_and_the_fake_checks_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut fake_config = aushang::devtools::fake_graph::FakeConfig::default();
    for t in &mut fake_config.templates {
        t.optout_button = true;
    }
    let fake = runtime
        .block_on(aushang::devtools::fake_graph::FakeGraph::start(fake_config))
        .unwrap();
    let site = button_site(&fake.api_url());

    // The preview shows the second button.
    let preview = aushang(&site.root, &["broadcast", "--dry-run", "--now", NOW], None);
    assert!(
        String::from_utf8_lossy(&preview.stdout).contains(
            "> [ Abmelden ] → https://inbox.musterbach.example/abmelden?t=<persönlicher-Code>"
        ),
        "{}",
        all(&preview)
    );

    let out = whatsapp_broadcast(&site, Some(TOKEN_SECRET));
    assert!(out.status.success(), "{}", all(&out));
    let messages = fake.messages();
    assert!(messages.len() >= 2, "{}", all(&out));
    for m in &messages {
        let suffix = m
            .optout_suffix
            .as_deref()
            .expect("an opt-out button suffix");
        let sub = aushang::subscribers::optout::verify(TOKEN_SECRET.as_bytes(), suffix)
            .unwrap_or_else(|| panic!("not a valid token: {suffix}"));
        let correlation = m.correlation.as_deref().unwrap();
        assert!(
            correlation.contains(&format!(";s={sub};")),
            "the token of {sub} went to another subscriber ({correlation})"
        );
        assert!(
            m.button_suffix.is_some(),
            "the notice button is still filled"
        );
    }
}

#[test]
fn without_the_secret_the_button_asks_to_write_stop_and_a_template_without_it_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut with_button = aushang::devtools::fake_graph::FakeConfig::default();
    for t in &mut with_button.templates {
        t.optout_button = true;
    }
    let fake = runtime
        .block_on(aushang::devtools::fake_graph::FakeGraph::start(with_button))
        .unwrap();
    let site = button_site(&fake.api_url());
    let out = whatsapp_broadcast(&site, None);
    assert!(out.status.success(), "{}", all(&out));
    assert!(
        all(&out).contains("AUSHANG_INBOX_TOKEN_SECRET ist nicht gesetzt: der Abmelde-Knopf öffnet eine Seite, die bittet, STOP zu schreiben"),
        "{}",
        all(&out)
    );
    let messages = fake.messages();
    assert!(!messages.is_empty());
    assert!(
        messages
            .iter()
            .all(|m| m.optout_suffix.as_deref() == Some("STOP"))
    );

    // The approved template has no such button: the fake refuses what Meta would refuse.
    let plain = runtime
        .block_on(aushang::devtools::fake_graph::FakeGraph::start(
            aushang::devtools::fake_graph::FakeConfig::default(),
        ))
        .unwrap();
    let site = button_site(&plain.api_url());
    let out = whatsapp_broadcast(&site, Some(TOKEN_SECRET));
    assert!(plain.messages().is_empty(), "{}", all(&out));
    assert!(all(&out).contains("132018"), "{}", all(&out));
}

#[test]
fn a_weak_hmac_secret_is_refused_at_every_edge_with_how_to_make_one() {
    let tmp = tempfile::tempdir().unwrap();
    let root = example_site(tmp.path(), true);
    let weak = "short-but-not-32-bytes";
    let expect_refusal = |out: &Output, name: &str| {
        let text = all(out);
        assert!(!out.status.success(), "{text}");
        assert!(
            text.contains(&format!(
                "{name} ist zu kurz: mindestens 32 zufällige Bytes nötig"
            )),
            "{text}"
        );
        assert!(text.contains("head -c 32 /dev/urandom | base64"), "{text}");
        assert!(
            !text.contains(weak),
            "the secret itself is never printed: {text}"
        );
    };
    expect_refusal(
        &aushang(&root, &["inbox", "link", "s_00000000000000aa"], Some(weak)),
        "AUSHANG_INBOX_TOKEN_SECRET",
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aushang"));
    let broadcast = cmd
        .arg("--root")
        .arg(&root)
        .args(["broadcast", "--channel", "outbox", "--now", NOW])
        .env("AUSHANG_INBOX_TOKEN_SECRET", weak)
        .env_remove("AUSHANG_IDENTITY")
        .env(
            "AUSHANG_IDENTITY_FILE",
            root.join("subscribers/demo-identity.txt"),
        )
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    expect_refusal(&broadcast, "AUSHANG_INBOX_TOKEN_SECRET");
    assert!(outbox_files(&root).is_empty(), "nothing sent");
    // The server: the app secret (webhook signatures) and the opt-out secret alike.
    for (app, optout, name) in [
        (weak, TOKEN_SECRET, "WHATSAPP_APP_SECRET"),
        (APP_SECRET, weak, "AUSHANG_INBOX_TOKEN_SECRET"),
    ] {
        let mut server = Command::new(env!("CARGO_BIN_EXE_aushang"))
            .arg("--root")
            .arg(&root)
            .args(["inbox", "serve", "--port", "0", "--data"])
            .arg(tmp.path().join("inbox-data"))
            .env("WHATSAPP_APP_SECRET", app)
            .env("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
            .env("AUSHANG_INBOX_PULL_TOKEN", PULL_TOKEN)
            .env("AUSHANG_INBOX_TOKEN_SECRET", optout)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while server.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if server.try_wait().unwrap().is_none() {
            server.kill().unwrap();
        }
        expect_refusal(&server.wait_with_output().unwrap(), name);
    }
}
