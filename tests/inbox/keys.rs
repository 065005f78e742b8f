//! Who the inbox encrypts to: `aushang inbox serve` refuses the public demo key on a real site and
//! a `recipients.txt` that names more or fewer keys than the list is encrypted to (changed without
//! a rekey); `aushang inbox pull` refuses a changed `recipients.txt` before it fetches anything.

use aushang::subscribers::store::{DEMO_RECIPIENT, recipients_path};
use aushang::subscribers::{Identity, Recipients, SubscriberList};

use crate::full_loop::{NOW, aushang, aushang_any, other_subscriber, text};
use crate::support::*;

fn append_key(site: &Site, holder: &str, key: &str) {
    let path = recipients_path(&site.root.join("subscribers"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!("\n# {holder}\n{key}\n"));
    std::fs::write(path, text).unwrap();
}

async fn start_err(site: &Site) -> String {
    match aushang::inbox::start(
        site.config(),
        secrets(None),
        &site.data_dir(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    {
        Ok(_) => panic!("the inbox started"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_does_not_start_with_the_demo_key_on_a_real_site() {
    let site = Site::new(None);
    append_key(&site, "CI backup", DEMO_RECIPIENT);
    let err = start_err(&site).await;
    assert!(err.contains("der Posteingang startet nicht"), "{err}");
    assert!(
        err.contains(&format!("nennt den Demo-Schlüssel {DEMO_RECIPIENT}")),
        "{err}"
    );
    assert!(err.contains("diesen Schlüssel aus"), "{err}");
    assert!(!site.data_dir().exists(), "nothing stored");

    // The example site itself (its demo key opens its demo list) still serves.
    let subs = site.root.join("subscribers");
    for file in ["recipients.txt", "demo-identity.txt", "subscribers.csv.age"] {
        std::fs::copy(repo().join("subscribers").join(file), subs.join(file)).unwrap();
    }
    let server = site.serve_in_process().await;
    server.shutdown().await.unwrap();
    // ... but only where no real person can reach it: the demo list is public.
    let yaml = site.root.join("aushang.yaml");
    let config = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(
        &yaml,
        config.replace(
            "url: https://inbox.musterbach.example/",
            "url: https://inbox.musterbach.de/",
        ),
    )
    .unwrap();
    let err = start_err(&site).await;
    assert!(err.contains("ist für echte Menschen erreichbar"), "{err}");
    assert!(err.contains("aushang subscribers init"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_does_not_start_when_recipients_txt_changed_without_a_rekey() {
    let site = Site::new(None);
    let subs = site.root.join("subscribers");
    let (intruder, _) = Identity::generate();
    append_key(&site, "PR", &intruder.public_keys()[0]);
    let err = start_err(&site).await;
    assert!(
        err.contains("nennt 2 Schlüssel, subscribers.csv.age ist aber für 1 verschlüsselt"),
        "{err}"
    );
    assert!(err.contains("aushang subscribers rekey"), "{err}");
    assert!(!site.data_dir().exists(), "nothing stored");
    // A removed key is refused as well.
    std::fs::write(
        recipients_path(&subs),
        Recipients::file_text("PR", &intruder.public_keys()[0])
            + &format!(
                "# two\n{}\n# three\n{}\n",
                Identity::generate().0.public_keys()[0],
                Identity::generate().0.public_keys()[0]
            ),
    )
    .unwrap();
    let err = start_err(&site).await;
    assert!(err.contains("nennt 3 Schlüssel"), "{err}");

    // After a rekey by someone who reads the list, the server starts and encrypts to both.
    std::fs::write(
        recipients_path(&subs),
        Recipients::file_text("CI", &site.identity.public_keys()[0]),
    )
    .unwrap();
    append_key(&site, "Hauptamt", &intruder.public_keys()[0]);
    let recipients = Recipients::load(&subs).unwrap();
    let mut list = SubscriberList::load(&subs, &site.identity).unwrap();
    list.rekey(&recipients, None, false).unwrap();
    list.save(&subs, &recipients).unwrap();
    let server = site.serve_in_process().await;
    server.shutdown().await.unwrap();
}

#[test]
fn a_pull_refuses_a_changed_recipients_txt_before_it_takes_any_event() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let site = Site::with_subscribers(None, vec![other_subscriber()]);
    let server = runtime.block_on(site.serve_in_process());
    let unix = now_unix();
    let status = runtime.block_on(signed_post(
        &server.url(),
        &inbound_json("wamid.keys1", "STOP", unix),
    ));
    assert_eq!(status, 200);
    // A first pull writes the inbox's records.
    aushang(
        &site,
        &["inbox", "pull", "--url", &server.url(), "--now", NOW],
    );
    let status = runtime.block_on(signed_post(
        &server.url(),
        &inbound_json("wamid.keys2", "STOP", unix + 1),
    ));
    assert_eq!(status, 200);
    let snapshot = || -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut files = walk(&site.root.join("subscribers"));
        files.sort();
        files
            .into_iter()
            .filter(|f| !f.ends_with("recipients.txt"))
            .map(|f| {
                let bytes = std::fs::read(&f).unwrap();
                (f, bytes)
            })
            .collect()
    };
    let before = snapshot();
    assert!(
        before.iter().any(|(f, _)| f.ends_with("applied.jsonl")),
        "the first pull recorded what it applied"
    );
    let events_before = event_files(&site.data_dir());

    let (intruder, _) = Identity::generate();
    append_key(&site, "PR", &intruder.public_keys()[0]);
    let out = aushang_any(
        &site,
        &["inbox", "pull", "--url", &server.url(), "--now", NOW],
    );
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains(
            "nennt andere Schlüssel als die, für die die Abonnentenliste verschlüsselt ist"
        ),
        "{all}"
    );
    assert!(all.contains("aushang subscribers rekey"), "{all}");
    assert_eq!(snapshot(), before, "the list and the inbox records changed");
    assert_eq!(
        event_files(&site.data_dir()),
        events_before,
        "the event must stay in the inbox for the next pull"
    );
    runtime.block_on(server.shutdown()).unwrap();
}
