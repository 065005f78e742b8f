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
            aushang::inbox::optout::verify(TOKEN_SECRET.as_bytes(), token).as_deref(),
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
    assert!(!all(&out).contains("is not set: messages say"));
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
            "an inbox is configured but AUSHANG_INBOX_TOKEN_SECRET is not set: messages say „Abmelden: STOP antworten“"
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
        !all(&out).contains("is not set: messages say"),
        "{}",
        all(&out)
    );
}
