//! The batch-side webhooks over real HTTP, then `aushang inbox pull` / `broadcast` (the real
//! binary) against the fake Graph API: BSUIDs, `user_preferences`, template status changes,
//! repeated 131026 (unreachable), and the server's memory across a restart.

use std::time::{Duration, Instant};

use aushang::devtools::fake_graph::{FakeConfig, FakeGraph};
use aushang::subscribers::{Status, Subscriber};

use crate::full_loop::{
    NOW, OTHER, aushang, aushang_any, broadcast_args, other_subscriber, sent_to, status_of, text,
    wait_for_texts,
};
use crate::support::*;

const BSUID: &str = "DE.1a2b3c4d5e6f";
const MASKED: &str = "+49151*****789";

fn erika() -> Subscriber {
    Subscriber {
        id: "s_erika0000000001".into(),
        address: NUMBER_E164.into(),
        ..other_subscriber()
    }
}

fn pull(site: &Site, url: &str) -> String {
    text(&aushang(site, &["inbox", "pull", "--url", url]))
}

fn write_notice(site: &Site, slug: &str, title: &str) {
    std::fs::write(
        site.root
            .join(format!("content/notices/2026/2026-11-28-{slug}.md")),
        format!(
            "---\ntitle: {title}\ndate: 2026-11-28 11:00\nsummary: Eine kurze Zusammenfassung für {title}.\n---\n\nText.\n"
        ),
    )
    .unwrap();
}

/// No file outside the encrypted list holds the number or the BSUID in clear.
fn assert_nothing_personal_in_clear(site: &Site) {
    for file in walk(&site.data_dir())
        .into_iter()
        .chain(walk(&site.root.join("subscribers/inbox")))
        .chain(walk(&site.root.join("subscribers/journal")))
    {
        let content = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !content.contains("23456789") && !content.contains(BSUID),
            "{} holds personal data",
            file.display()
        );
    }
}

#[test]
fn a_bsuid_is_learned_with_the_number_and_a_stop_with_only_the_bsuid_unsubscribes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let site = Site::with_subscribers(None, vec![erika(), other_subscriber()]);
    let server = runtime.block_on(site.serve_in_process());
    let url = server.url();

    // A STOP with only the BSUID before it is known finds nobody and changes nothing.
    let early = inbound_bsuid_json("wamid.bs0", "DE.unknown", false, "STOP", now_unix() - 10);
    assert_eq!(runtime.block_on(signed_post(&url, &early)), 200);
    let out = pull(&site, &url);
    assert!(
        out.contains("STOP: nicht zugeordnet: BSUID unbekannt"),
        "{out}"
    );
    assert_eq!(status_of(&site, NUMBER_E164), Some(Status::Active));

    // JA with number and BSUID: already active, and the BSUID is stored in the list.
    let ja = inbound_bsuid_json("wamid.bs1", BSUID, true, "JA", now_unix());
    assert_eq!(runtime.block_on(signed_post(&url, &ja)), 200);
    let out = pull(&site, &url);
    assert!(out.contains("START: schon aktiv"), "{out}");
    let row = site.row(NUMBER_E164).unwrap();
    assert_eq!(row.bsuid.as_deref(), Some(BSUID));

    // The username user writes STOP: no number in the webhook at all.
    let stop = inbound_bsuid_json("wamid.bs2", BSUID, false, "Stopp", now_unix() + 1);
    assert!(!stop.contains(NUMBER_DIGITS));
    assert_eq!(runtime.block_on(signed_post(&url, &stop)), 200);
    assert_eq!(
        runtime.block_on(signed_post(&url, &stop)),
        200,
        "a retry is accepted"
    );
    let out = pull(&site, &url);
    assert!(
        out.contains("STOP: abgemeldet (s_erika0000000001)"),
        "{out}"
    );
    assert!(
        out.contains("1 Ereignis(se) abgeholt"),
        "the retry was stored once: {out}"
    );
    assert_eq!(status_of(&site, NUMBER_E164), Some(Status::Unsubscribed));
    assert_eq!(status_of(&site, OTHER), Some(Status::Active));
    assert_nothing_personal_in_clear(&site);
    runtime.block_on(server.shutdown()).unwrap();
}

#[test]
fn a_marketing_stop_in_whatsapp_unsubscribes_and_resume_is_only_recorded() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let site = Site::with_subscribers(None, vec![erika(), other_subscriber()]);
    let server = runtime.block_on(site.serve_in_process());
    let url = server.url();

    let stop = preference_json("stop", now_unix());
    assert_eq!(runtime.block_on(signed_post(&url, &stop)), 200);
    let out = pull(&site, &url);
    assert!(
        out.contains(
            "Marketing abbestellt: abgemeldet (hat in WhatsApp Marketing-Nachrichten abbestellt)"
        ),
        "{out}"
    );
    assert_eq!(status_of(&site, NUMBER_E164), Some(Status::Unsubscribed));

    // Meta retries the same webhook after the pull took it: recognised, not applied again.
    assert_eq!(runtime.block_on(signed_post(&url, &stop)), 200);
    let out = pull(&site, &url);
    assert!(out.contains("0 Ereignis(se) abgeholt"), "{out}");

    let resume = preference_json("resume", now_unix() + 5);
    assert_eq!(runtime.block_on(signed_post(&url, &resume)), 200);
    let out = pull(&site, &url);
    assert!(
        out.contains(
            "Marketing wieder erlaubt: festgehalten: Marketing-Nachrichten wieder erlaubt"
        ),
        "{out}"
    );
    assert_eq!(
        status_of(&site, NUMBER_E164),
        Some(Status::Unsubscribed),
        "resuming marketing in WhatsApp is no consent to notices"
    );
    assert_nothing_personal_in_clear(&site);
    runtime.block_on(server.shutdown()).unwrap();
}

#[test]
fn a_paused_template_is_reported_and_stops_the_broadcast_until_reinstated() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeGraph::start(FakeConfig::default()))
        .unwrap();
    let site = Site::with_subscribers(Some(&fake.api_url()), vec![erika(), other_subscriber()]);
    let server = runtime.block_on(site.serve_in_process());
    let url = server.url();
    let paused_at = now_unix() - 60;

    let paused = template_status_json("neue_bekanntmachung", "PAUSED", paused_at);
    assert_eq!(runtime.block_on(signed_post(&url, &paused)), 200);
    let out = pull(&site, &url);
    assert!(
        out.contains(
            "WARNUNG: Bekanntmachungs-Vorlage: WhatsApp-Vorlage `neue_bekanntmachung` (de) ist PAUSED"
        ),
        "{out}"
    );
    let book = std::fs::read_to_string(site.root.join("subscribers/inbox/templates.json")).unwrap();
    assert!(book.contains("\"PAUSED\""), "{book}");

    let refused = aushang_any(&site, &broadcast_args());
    let out = text(&refused);
    assert!(!refused.status.success(), "{out}");
    assert!(
        out.contains("`neue_bekanntmachung` (de) ist PAUSED"),
        "the error names template and status: {out}"
    );
    assert!(fake.messages().is_empty(), "nothing may be sent");

    // Every pull repeats it while it lasts, even without new events.
    let out = pull(&site, &url);
    assert!(
        out.contains("0 Ereignis(se) abgeholt") && out.contains("ist PAUSED"),
        "{out}"
    );

    // Reinstated: quiet again, and the broadcast goes out.
    let reinstated = template_status_json("neue_bekanntmachung", "REINSTATED", paused_at + 30);
    assert_eq!(runtime.block_on(signed_post(&url, &reinstated)), 200);
    let out = pull(&site, &url);
    assert!(!out.contains("WARNING"), "{out}");
    // A late retry of the old PAUSED changes nothing (stored once, older than REINSTATED).
    assert_eq!(runtime.block_on(signed_post(&url, &paused)), 200);
    let out = pull(&site, &url);
    assert!(!out.contains("WARNING"), "{out}");
    aushang(&site, &broadcast_args());
    assert!(!sent_to(&fake, NUMBER_E164, "template").is_empty());
    runtime.block_on(server.shutdown()).unwrap();
}

#[test]
fn repeated_131026_makes_a_subscriber_unreachable_until_their_own_start() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake_config = FakeConfig {
        service_window: vec!["*".into()],
        ..FakeConfig::default()
    };
    let fake = runtime.block_on(FakeGraph::start(fake_config)).unwrap();
    let site = Site::with_subscribers(Some(&fake.api_url()), vec![erika(), other_subscriber()]);
    let server = runtime.block_on(site.serve_in_process());
    let url = server.url();
    for (slug, title) in [
        ("eins", "Erste Bekanntmachung"),
        ("zwei", "Zweite Bekanntmachung"),
        ("drei", "Dritte Bekanntmachung"),
    ] {
        write_notice(&site, slug, title);
    }
    aushang(&site, &broadcast_args());
    let to_erika = sent_to(&fake, NUMBER_E164, "template");
    assert!(to_erika.len() >= 3, "{}", to_erika.len());

    // Two failures are not yet enough.
    for m in &to_erika[..2] {
        let body = status_for_json(
            &m.wamid,
            "failed",
            m.correlation.as_deref().unwrap(),
            Some(131026),
            Some(BSUID),
        );
        assert_eq!(runtime.block_on(signed_post(&url, &body)), 200);
    }
    for m in sent_to(&fake, OTHER, "template") {
        let body = status_for_json(
            &m.wamid,
            "delivered",
            m.correlation.as_deref().unwrap(),
            None,
            None,
        );
        assert_eq!(runtime.block_on(signed_post(&url, &body)), 200);
    }
    let out = pull(&site, &url);
    assert!(!out.contains("nicht erreichbar"), "{out}");
    assert!(
        out.contains("1 geschäftsbezogene Nutzer-ID(s) (BSUID) gelernt"),
        "{out}"
    );
    assert_eq!(status_of(&site, NUMBER_E164), Some(Status::Active));

    // The third different message fails too: unreachable, reported masked.
    for m in &to_erika[2..] {
        let body = status_for_json(
            &m.wamid,
            "failed",
            m.correlation.as_deref().unwrap(),
            Some(131026),
            None,
        );
        assert_eq!(runtime.block_on(signed_post(&url, &body)), 200);
    }
    let out = pull(&site, &url);
    assert!(
        out.contains(&format!(
            "s_erika0000000001 ({MASKED}): jetzt nicht erreichbar"
        )),
        "{out}"
    );
    assert_eq!(status_of(&site, NUMBER_E164), Some(Status::Unreachable));
    assert_eq!(status_of(&site, OTHER), Some(Status::Active));
    let listed = text(&aushang(&site, &["subscribers", "list"]));
    assert!(
        listed
            .lines()
            .any(|l| l.contains(MASKED) && l.contains("nicht erreichbar")),
        "{listed}"
    );
    let counted = text(&aushang(&site, &["subscribers", "count"]));
    assert!(
        counted
            .lines()
            .any(|l| l.trim_start().starts_with("nicht erreichbar") && l.ends_with(" 1")),
        "{counted}"
    );

    // The next notice: the other subscriber gets it, the unreachable one nothing (and it says so).
    write_notice(&site, "vier", "Vierte Bekanntmachung");
    let before = to_erika.len();
    let other_before = sent_to(&fake, OTHER, "template").len();
    let out = text(&aushang(&site, &broadcast_args()));
    assert!(
        out.contains("nicht erreichbar") && out.contains(MASKED),
        "{out}"
    );
    assert_eq!(sent_to(&fake, NUMBER_E164, "template").len(), before);
    assert_eq!(sent_to(&fake, OTHER, "template").len(), other_before + 1);

    // Their own START makes them active again; the next notice reaches them.
    let start = inbound_json("wamid.start-again", "START", now_unix());
    assert_eq!(runtime.block_on(signed_post(&url, &start)), 200);
    let out = pull(&site, &url);
    assert!(
        out.contains("START: wieder aktiv (war nicht erreichbar)"),
        "{out}"
    );
    assert_eq!(status_of(&site, NUMBER_E164), Some(Status::Active));
    write_notice(&site, "fuenf", "Fünfte Bekanntmachung");
    aushang(&site, &broadcast_args());
    assert_eq!(sent_to(&fake, NUMBER_E164, "template").len(), before + 1);
    // …and the old failures no longer count.
    let out = pull(&site, &url);
    assert!(!out.contains("jetzt nicht erreichbar"), "{out}");
    assert_nothing_personal_in_clear(&site);
    runtime.block_on(server.shutdown()).unwrap();
}

/// Waits until `count` texts went to the number, or a bounded time passed.
fn texts_after(fake: &FakeGraph, count: usize, wait: Duration) -> usize {
    let deadline = Instant::now() + wait;
    loop {
        let n = sent_to(fake, NUMBER_E164, "text").len();
        if n >= count || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_rate_limit_and_the_24h_memory_survive_a_restart_without_personal_data() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake_config = FakeConfig {
        service_window: vec!["*".into()],
        ..FakeConfig::default()
    };
    let fake = runtime.block_on(FakeGraph::start(fake_config)).unwrap();
    let site = Site::new(Some(&fake.api_url()));
    let serve = || {
        runtime
            .block_on(aushang::inbox::start(
                site.config(),
                secrets(Some("fake-token")),
                &site.data_dir(),
                "127.0.0.1:0".parse().unwrap(),
            ))
            .unwrap()
    };
    let server = serve();
    let url = server.url();
    // The test site allows 5 sign-ups per address and hour; every attempt counts.
    for i in 0..5 {
        let (code, _) = runtime.block_on(post_form(&url, "198.51.100.7", &[]));
        assert_eq!(code, 400, "attempt {i}");
    }
    let (code, _) = runtime.block_on(post_form(&url, "198.51.100.7", &[]));
    assert_eq!(code, 429);
    // A question: the service text, once.
    let q1 = inbound_json("wamid.q1", "Wann ist Sperrm\\u00fcll?", now_unix());
    assert_eq!(runtime.block_on(signed_post(&url, &q1)), 200);
    assert_eq!(wait_for_texts(&fake, NUMBER_E164, 1).len(), 1);

    runtime.block_on(server.shutdown()).unwrap();
    let server = serve();
    let url = server.url();
    let (code, _) = runtime.block_on(post_form(&url, "198.51.100.7", &[]));
    assert_eq!(code, 429, "the limit holds after the restart");
    let (code, _) = runtime.block_on(post_form(&url, "198.51.100.8", &[]));
    assert_eq!(code, 400, "another address is not limited");
    let q2 = inbound_json("wamid.q2", "Und der Gelbe Sack?", now_unix());
    assert_eq!(runtime.block_on(signed_post(&url, &q2)), 200);
    assert_eq!(
        texts_after(&fake, 2, Duration::from_millis(1500)),
        1,
        "no second service text within 24 h, restart or not"
    );

    // Neither the number nor the address is on disk in clear; the key is private.
    let data = site.data_dir();
    let memory = std::fs::read_to_string(data.join("memory.json")).unwrap();
    assert!(
        !memory.contains("198.51.100") && !memory.contains("23456789"),
        "{memory}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("memory.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A corrupt memory file is not fatal: the server starts and simply forgot.
    runtime.block_on(server.shutdown()).unwrap();
    std::fs::write(data.join("memory.json"), "{\"signups\": {\"x\": [").unwrap();
    let server = serve();
    let q3 = inbound_json("wamid.q3", "Noch eine Frage", now_unix());
    assert_eq!(runtime.block_on(signed_post(&server.url(), &q3)), 200);
    assert_eq!(texts_after(&fake, 2, Duration::from_secs(10)), 2);
    runtime.block_on(server.shutdown()).unwrap();
}

#[test]
fn a_pull_deletes_sign_ups_left_unconfirmed_past_the_limit_and_their_records() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stale = Subscriber {
        id: "s_stale000000001".into(),
        address: NUMBER_E164.into(),
        status: Status::Pending,
        consent_at: Some("2026-10-20T10:00:00Z".parse().unwrap()), // 39 days before NOW
        confirmed_at: None,
        ..other_subscriber()
    };
    let recent = Subscriber {
        id: "s_recent00000001".into(),
        address: "+4915200000103".into(),
        status: Status::Pending,
        consent_at: Some("2026-11-20T10:00:00Z".parse().unwrap()),
        confirmed_at: None,
        ..other_subscriber()
    };
    let site = Site::with_subscribers(None, vec![stale, recent, other_subscriber()]);
    let records = site.root.join("subscribers/inbox");
    std::fs::create_dir_all(&records).unwrap();
    std::fs::write(
        records.join("applied.jsonl"),
        "{\"t\":\"2026-10-20T10:00:00Z\",\"id\":\"e-stale\",\"at\":\"2026-10-20T10:00:00Z\",\"kind\":\"signup\",\"outcome\":\"pending\",\"sub\":\"s_stale000000001\"}\n\
         {\"t\":\"2026-11-20T10:00:00Z\",\"id\":\"e-recent\",\"at\":\"2026-11-20T10:00:00Z\",\"kind\":\"signup\",\"outcome\":\"pending\",\"sub\":\"s_recent00000001\"}\n",
    )
    .unwrap();
    let server = runtime.block_on(site.serve_in_process());

    let out = text(&aushang(
        &site,
        &["inbox", "pull", "--url", &server.url(), "--now", NOW],
    ));
    assert!(
        out.contains(
            "1 unbestätigte Anmeldung(en), älter als subscribers.prune_pending_after, gelöscht"
        ),
        "{out}"
    );
    let list = site.list();
    let ids: Vec<&str> = list.subscribers().iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s_recent00000001", "s_other0000000001"]);
    let applied = std::fs::read_to_string(records.join("applied.jsonl")).unwrap();
    assert!(!applied.contains("s_stale000000001"), "{applied}");
    assert!(applied.contains("s_recent00000001"), "{applied}");

    // Nothing more to delete: the next pull leaves the list alone.
    let again = text(&aushang(
        &site,
        &["inbox", "pull", "--url", &server.url(), "--now", NOW],
    ));
    assert!(!again.contains("unbestätigte Anmeldung(en)"), "{again}");
}
