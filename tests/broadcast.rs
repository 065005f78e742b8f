//! `aushang broadcast` end to end: the real binary against the fake Graph API (real HTTP on
//! 127.0.0.1, started in-process by each test), on temporary test sites with a fresh key and
//! fictitious numbers (+4915200000001…). Every test asserts through the fake's record of what it
//! accepted, the journal files, exit codes and output; every run's stdout and stderr, and at the
//! end every file of the site, is checked to hold no full subscriber number.
//!
//! Error classes and template status are in `broadcast/errors.rs`, time rules (quiet hours,
//! staleness, daily limit, updates, `--mark-sent`) in `broadcast/schedule.rs`, and the guards
//! (lock, demo key, link pre-flight) in `broadcast/guards.rs`, and the streamed subscriber list
//! (lists far larger than the send queue, bad rows and damage in the middle) in
//! `broadcast/stream.rs`.

#[path = "broadcast/support.rs"]
mod support;

#[path = "broadcast/errors.rs"]
mod errors;
#[path = "broadcast/guards.rs"]
mod guards;
#[path = "broadcast/schedule.rs"]
mod schedule;
#[path = "broadcast/stream.rs"]
mod stream;

use std::collections::HashSet;
use std::time::Duration;

use aushang::devtools::fake_graph::FakeConfig;
use aushang::subscribers::Status;
use support::*;

/// Four subscribers wanting everything, one each for `abfall` and `verkehr` only, one pending
/// and one unsubscribed.
fn mixed_subscribers() -> Vec<Sub> {
    let mut subs = actives(4);
    subs.push(Sub::active(5).with_topics(&["abfall"]));
    subs.push(Sub::active(6).with_topics(&["verkehr"]));
    subs.push(Sub::active(7).with_status(Status::Pending));
    subs.push(Sub::active(8).with_status(Status::Unsubscribed));
    subs
}

const BIOTONNE: &str = "title: Biotonne im Bezirk Nord\n\
    date: 2026-11-28 08:00\n\
    category: abfall\n\
    summary: \"Die Abfuhr  verschiebt sich    auf Samstag, 5. Dezember.\"";
const SPERRUNG: &str = "title: Sperrung der Hauptstraße\n\
    date: 2026-11-28 08:30\n\
    category: verkehr\n\
    summary: Die Hauptstraße ist ab Montag zwischen Markt und Kirche gesperrt.";
const STADTFEST: &str = "title: Stadtfest am Wochenende\n\
    date: 2026-11-28 09:00\n\
    summary: Am Samstag und Sonntag feiert die Teststadt ihr Stadtfest auf dem Marktplatz.";

fn site_with_three_notices(fake: &Fake) -> Site {
    let site = Site::new(Settings::new(&fake.api_url()), mixed_subscribers());
    site.notice("2026-11-28-biotonne-nord", BIOTONNE);
    site.notice("2026-11-28-sperrung-hauptstrasse", SPERRUNG);
    site.notice("2026-11-28-stadtfest", STADTFEST);
    site
}

#[test]
fn every_due_notice_reaches_every_matching_subscriber_exactly_once() {
    let fake = Fake::healthy();
    let site = site_with_three_notices(&fake);
    let run = site.broadcast(&["--now", "2026-11-28 10:00"]);
    assert_eq!(run.code, 0, "{run:?}");

    // topics respected, pending and unsubscribed get nothing
    let messages = fake.messages();
    let wanted: Vec<(String, usize)> = [3, 3, 3, 3, 1, 1, 0, 0]
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("sub{:03}", i + 1), *n))
        .collect();
    assert_eq!(counts(&site, &messages), wanted);
    let per_sub = by_subscriber(&site, &messages);
    let keys = |id: &str| -> HashSet<String> {
        per_sub[id]
            .iter()
            .map(|m| m.button_suffix.clone().unwrap())
            .collect()
    };
    assert_eq!(
        keys("sub005"),
        HashSet::from(["bekanntmachungen/2026/biotonne-nord/".to_string()])
    );
    assert_eq!(
        keys("sub006"),
        HashSet::from(["bekanntmachungen/2026/sperrung-hauptstrasse/".to_string()])
    );

    // template, language, cleaned parameters, URL suffix, correlation id
    for m in &messages {
        let sub = site.sub_of_number(&m.to);
        assert_eq!(m.kind, "template");
        assert_eq!(m.template.as_deref(), Some(NOTICE_TEMPLATE));
        assert_eq!(m.language.as_deref(), Some("de"));
        let suffix = m.button_suffix.as_deref().unwrap();
        let key = format!("/{suffix}#notice");
        let expected_params = match suffix {
            "bekanntmachungen/2026/biotonne-nord/" => [
                "Biotonne im Bezirk Nord",
                "Die Abfuhr verschiebt sich auf Samstag, 5. Dezember.",
            ],
            "bekanntmachungen/2026/sperrung-hauptstrasse/" => [
                "Sperrung der Hauptstraße",
                "Die Hauptstraße ist ab Montag zwischen Markt und Kirche gesperrt.",
            ],
            "bekanntmachungen/2026/stadtfest/" => [
                "Stadtfest am Wochenende",
                "Am Samstag und Sonntag feiert die Teststadt ihr Stadtfest auf dem Marktplatz.",
            ],
            other => panic!("unexpected URL suffix {other}"),
        };
        assert_eq!(m.params, expected_params, "{}", sub.id);
        let correlation = m.correlation.as_deref().unwrap();
        assert!(
            correlation.contains(&key)
                && correlation.contains(&sub.id)
                && correlation.contains("a=1"),
            "correlation {correlation:?} should name {key}, {} and the attempt",
            sub.id
        );
    }

    // the journal: started and completed per message; per recipient `sending` then `sent` with
    // the wamid the fake issued
    for slug in ["biotonne-nord", "sperrung-hauptstrasse", "stadtfest"] {
        let key = key(slug);
        assert_eq!(site.index_events(&key), ["started", "completed"], "{key}");
        let lines = site.delivery_lines(&key);
        for (id, got) in per_sub.iter() {
            let Some(m) = got
                .iter()
                .find(|m| format!("/{}#notice", m.button_suffix.as_deref().unwrap()) == key)
            else {
                continue;
            };
            let mine: Vec<_> = lines.iter().filter(|l| l["sub"] == id.as_str()).collect();
            assert_eq!(mine.len(), 2, "{key} {id}: {mine:?}");
            assert_eq!(mine[0]["state"], "sending");
            assert_eq!(mine[1]["state"], "sent");
            assert_eq!(mine[1]["id"], m.wamid.as_str());
        }
        let journaled: HashSet<&str> = lines.iter().map(|l| l["sub"].as_str().unwrap()).collect();
        for never in ["sub007", "sub008"] {
            assert!(
                !journaled.contains(never),
                "{never} is not active and must not be in the journal"
            );
        }
    }
    // abfall and verkehr: 4 wanting everything + 1 with that topic; no category: only the 4
    assert_eq!(
        run.stdout
            .matches("gesendet 5, übersprungen 0 — vollständig")
            .count(),
        2,
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("gesendet 4, übersprungen 0 — vollständig"),
        "{run:?}"
    );

    // a rerun sends nothing and succeeds
    let again = site.broadcast(&["--now", "2026-11-28 10:05"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("Nichts zu senden"), "{again:?}");
    assert_eq!(fake.messages().len(), messages.len());

    // fixing a typo in a title does not send the notice again
    site.notice(
        "2026-11-28-biotonne-nord",
        &BIOTONNE.replace("Bezirk Nord", "Bezirk Nord (korrigiert)"),
    );
    let edited = site.broadcast(&["--now", "2026-11-28 11:00"]);
    assert_eq!(edited.code, 0, "{edited:?}");
    assert_eq!(fake.messages().len(), messages.len());
    assert_eq!(fake.graph().stats().requests, messages.len() as u64);
    assert!(site.assert_files_leak_free() > 3);
}

#[test]
fn dry_run_prints_the_exact_text_and_the_recipient_count_only_with_a_key() {
    let fake = Fake::healthy();
    let site = site_with_three_notices(&fake);
    let without_key = site.run_env(
        &["broadcast", "--dry-run", "--now", "2026-11-28 10:00"],
        |c| {
            c.env_remove("AUSHANG_IDENTITY")
                .env_remove("WHATSAPP_TOKEN");
        },
    );
    assert_eq!(without_key.code, 0, "{without_key:?}");
    let out = &without_key.stdout;
    assert!(
        out.contains(
            "> Neue Bekanntmachung der Teststadt: Biotonne im Bezirk Nord. Die Abfuhr verschiebt sich \
             auf Samstag, 5. Dezember. Mehr über den Button.\n"
        ),
        "{without_key:?}"
    );
    assert!(
        out.contains("[ Bekanntmachung lesen ] → https://www.teststadt.example/bekanntmachungen/2026/biotonne-nord/"),
        "{without_key:?}"
    );
    assert!(
        out.contains(&format!("WhatsApp-Vorlage `{NOTICE_TEMPLATE}` (de)")),
        "{without_key:?}"
    );
    assert_eq!(
        out.matches("Empfänger: unbekannt").count(),
        3,
        "{without_key:?}"
    );

    let with_key = site.run(&["broadcast", "--dry-run", "--now", "2026-11-28 10:00"]);
    assert_eq!(with_key.code, 0, "{with_key:?}");
    // per notice in sending order (oldest first): abfall 4+1, verkehr 4+1, no category 4 — the
    // pending and the unsubscribed person are not counted
    let counts: Vec<&str> = with_key
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("- Empfänger: "))
        .collect();
    assert_eq!(counts, ["5", "5", "4"], "{with_key:?}");
    assert!(fake.messages().is_empty());
    assert_eq!(fake.graph().stats().requests, 0);
    assert!(
        !site.journal_dir().join("index.jsonl").exists(),
        "a dry run writes no journal"
    );
    site.assert_files_leak_free();
}

/// WhatsApp fills a template's placeholders once: a `{{1}}` inside a parameter stays literal.
/// The preview shows exactly that, so it matches what the fake is sent.
#[test]
fn the_preview_shows_a_placeholder_inside_a_parameter_literally_as_whatsapp_does() {
    let fake = Fake::healthy();
    let site = Site::new(Settings::new(&fake.api_url()), actives(1));
    site.notice(
        "2026-11-28-klammern",
        "title: \"Wahl {{2}}\"\ndate: 2026-11-28 08:00\nsummary: \"Formular {{1}} ausfüllen.\"",
    );
    let preview = site.run(&["broadcast", "--dry-run", "--now", "2026-11-28 10:00"]);
    assert_eq!(preview.code, 0, "{preview:?}");
    let shown = "> Neue Bekanntmachung der Teststadt: Wahl {{2}}. Formular {{1}} ausfüllen. \
                 Mehr über den Button.\n";
    assert!(preview.stdout.contains(shown), "{preview:?}");
    let run = site.broadcast(&["--now", "2026-11-28 10:00"]);
    assert_eq!(run.code, 0, "{run:?}");
    let sent = fake.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].params, ["Wahl {{2}}", "Formular {{1}} ausfüllen."]);
}

/// Crash and resume. The fake records (accepts) a message as soon as the request arrives and
/// only then waits out its latency, so a request cut off mid-latency by the kill has been
/// delivered although the client never saw the answer: exactly the "uncertain" case. Such
/// recipients must not be resent by default; `--resend-uncertain` resends them, which duplicates
/// at most those (≤ concurrency) messages.
#[test]
fn a_killed_run_resumes_without_duplicates_and_reports_uncertain_deliveries() {
    let concurrency = 4;
    let fake = Fake::start(FakeConfig {
        latency_ms: 300,
        ..FakeConfig::default()
    });
    let mut settings = Settings::new(&fake.api_url());
    settings.concurrency = concurrency;
    let site = Site::new(settings, actives(40));
    site.notice("2026-11-28-biotonne-nord", BIOTONNE);
    let now = ["--now", "2026-11-28 10:00"];

    let mut child = site.spawn_broadcast(&now);
    let reached = wait_until(Duration::from_secs(30), || fake.messages().len() >= 12);
    child.kill().unwrap();
    let killed = site.checked(child.wait_with_output().unwrap());
    assert!(reached, "the run never got going: {killed:?}");
    assert_ne!(killed.code, 0, "killed by a signal: {killed:?}");
    let at_kill = fake.messages().len();
    assert!(
        at_kill < 40,
        "the run finished before it was killed ({at_kill} accepted)"
    );

    // the journal holds `sending` without an outcome for the requests in flight
    let key = key("biotonne-nord");
    let in_flight: HashSet<String> = site
        .last_states(&key)
        .into_iter()
        .filter(|(_, l)| l["state"] == "sending")
        .map(|(id, _)| id)
        .collect();
    assert!(
        !in_flight.is_empty() && in_flight.len() <= concurrency,
        "{in_flight:?}"
    );
    assert_eq!(site.index_events(&key), ["started"]);

    // the rerun (the killed process's lock died with it) skips the uncertain ones
    let resumed = site.broadcast(&now);
    assert_eq!(
        resumed.code, 2,
        "uncertain deliveries remain, so CI shows red: {resumed:?}"
    );
    assert!(
        resumed
            .stdout
            .contains(&format!("unsicher {}", in_flight.len())),
        "{resumed:?}"
    );
    let after = counts(&site, &fake.messages());
    for (id, n) in &after {
        if in_flight.contains(id) {
            assert!(*n <= 1, "{id} got {n} messages");
        } else {
            assert_eq!(*n, 1, "{id} should have exactly one message");
        }
    }
    assert_eq!(
        site.index_events(&key),
        ["started"],
        "not complete while uncertain"
    );

    // --resend-uncertain completes: everyone has the message, duplicates only among the uncertain
    let completed = site.broadcast(&["--now", "2026-11-28 10:10", "--resend-uncertain"]);
    assert_eq!(completed.code, 0, "{completed:?}");
    let last = counts(&site, &fake.messages());
    let mut duplicates = 0;
    for (id, n) in &last {
        assert!(*n >= 1, "{id} never got the message");
        if *n > 1 {
            assert!(
                in_flight.contains(id) && *n == 2,
                "{id} got {n} messages but was not uncertain"
            );
            duplicates += 1;
        }
    }
    assert!(duplicates <= concurrency);
    for id in &in_flight {
        assert_eq!(site.last_states(&key)[id]["state"], "sent", "{id}");
    }
    assert_eq!(site.index_events(&key), ["started", "completed"]);
    site.assert_files_leak_free();
}

/// Without a token the run falls back to the outbox: readable files with the masked number only,
/// journaled under `outbox/journal/` (never the real channel's journal), and nothing twice.
#[test]
fn without_a_token_the_outbox_gets_readable_messages_with_masked_numbers_only() {
    let fake = Fake::healthy();
    let site = site_with_three_notices(&fake);
    let no_token = |c: &mut std::process::Command| {
        c.env_remove("WHATSAPP_TOKEN");
    };
    let args = ["broadcast", "--no-link-check", "--now", "2026-11-28 10:00"];
    let run = site.run_env(&args, no_token);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("WHATSAPP_TOKEN ist nicht gesetzt"),
        "{run:?}"
    );
    assert_eq!(fake.graph().stats().requests, 0);
    let file = site
        .root
        .join("outbox/bekanntmachungen_2026_biotonne-nord_notice/sub005.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    site.assert_leak_free("outbox file", &text);
    assert!(
        text.starts_with("An: +49152*****005 (whatsapp, Abonnent sub005)"),
        "{text}"
    );
    assert!(
        text.contains("Neue Bekanntmachung der Teststadt: Biotonne im Bezirk Nord. Die Abfuhr verschiebt sich auf Samstag, 5. Dezember."),
        "{text}"
    );
    let outbox_files = std::fs::read_dir(site.root.join("outbox"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "journal")
        .map(|e| std::fs::read_dir(e.path()).unwrap().count())
        .sum::<usize>();
    assert_eq!(outbox_files, 5 + 5 + 4);
    assert!(site.root.join("outbox/journal/index.jsonl").exists());
    assert!(
        !site.journal_dir().exists(),
        "the outbox never touches the real journal"
    );
    let again = site.run_env(&args, no_token);
    assert!(again.stdout.contains("Nichts zu senden"), "{again:?}");
    assert!(site.assert_files_leak_free() >= 16);
}

/// The leak check every test relies on catches a number in any written form, and lets the
/// masked form through.
#[test]
fn the_leak_check_catches_full_numbers_in_any_form() {
    let site = Site::new(Settings::new("http://127.0.0.1:9/v25.0"), actives(3));
    let number = &site.subs[2].number;
    let digits = number.trim_start_matches('+').to_string();
    let national = format!("0{}", &number[3..]);
    for form in [number.clone(), digits, national] {
        let text = format!("Fehler beim Senden an {form}.");
        let caught = std::panic::catch_unwind(|| site.assert_leak_free("text", &text));
        assert!(caught.is_err(), "a full number slipped through");
    }
    site.assert_leak_free("text", &aushang::subscribers::mask(number));
}

#[test]
fn forgetting_a_subscriber_erases_their_journal_rows() {
    let fake = Fake::healthy();
    let site = Site::new(Settings::new(&fake.api_url()), actives(3));
    site.notice("2026-11-28-stadtfest", STADTFEST);
    let run = site.broadcast(&["--now", "2026-11-28 12:00"]);
    assert_eq!(run.code, 0, "{run:?}");
    let key = "/bekanntmachungen/2026/stadtfest/#notice";
    let gone = site.subs[0].clone();
    assert!(site.last_states(key).contains_key(&gone.id));

    let forget = site.run(&["subscribers", "forget", &gone.number]);
    assert_eq!(forget.code, 0, "{forget:?}");
    let states = site.last_states(key);
    assert!(
        !states.contains_key(&gone.id),
        "journal still names the forgotten person"
    );
    assert_eq!(states.len(), 2, "the others' rows must stay");
    for entry in walkdir::WalkDir::new(site.journal_dir()) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            assert!(
                !text.contains(&gone.id),
                "{} still names them",
                entry.path().display()
            );
        }
    }
    // The notice stays complete: forgetting someone never makes the others get it again.
    let again = site.broadcast(&["--now", "2026-11-28 12:30"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(fake.messages().len(), 3);
}
