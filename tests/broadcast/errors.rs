//! Error classes end to end: permanent for one recipient, retryable within the run, fatal for
//! the run (and the clean continuation after it), the circuit breaker, and the template status
//! pre-flight.

use aushang::devtools::fake_graph::{FakeConfig, FakeTemplate, Injection};

use crate::support::*;

const NOTICE: &str = "title: Biotonne im Bezirk Nord\n\
    date: 2026-11-28 08:00\n\
    category: abfall\n\
    summary: Die Abfuhr verschiebt sich auf Samstag.";
const SECOND: &str = "title: Sperrung der Hauptstraße\n\
    date: 2026-11-28 08:30\n\
    category: verkehr\n\
    summary: Die Hauptstraße ist ab Montag gesperrt.";
const NOW: [&str; 2] = ["--now", "2026-11-28 10:00"];

/// Thirty subscribers and the notice, sent by `concurrency` workers to a fake that answers
/// 131026 (not on WhatsApp) for the numbers of subscribers `failing`.
fn thirty_failing_for(failing: impl Iterator<Item = usize>, concurrency: usize) -> (Fake, Site) {
    let inject = failing
        .map(|i| Injection::code_for_number(&number(i), 131026))
        .collect();
    let fake = Fake::start(FakeConfig {
        inject,
        ..FakeConfig::default()
    });
    let mut settings = Settings::new(&fake.api_url());
    settings.concurrency = concurrency;
    let site = Site::new(settings, actives(30));
    site.notice("2026-11-28-biotonne-nord", NOTICE);
    (fake, site)
}

#[test]
fn a_permanent_failure_is_recorded_for_that_number_and_never_retried() {
    let fake = Fake::start(FakeConfig {
        inject: vec![Injection::code_for_number(&number(3), 131026)],
        ..FakeConfig::default()
    });
    let site = Site::new(Settings::new(&fake.api_url()), actives(5));
    site.notice("2026-11-28-biotonne-nord", NOTICE);
    let run = site.broadcast(&NOW);
    assert_eq!(
        run.code, 0,
        "a permanent failure is recorded, not a reason for red: {run:?}"
    );
    assert!(
        run.stdout.contains("endgültig fehlgeschlagen 1 (131026×1)"),
        "{run:?}"
    );
    // the log line names the code as a number, not a Rust `Some(131026)`, and has no colour
    // codes when piped (here: into the test)
    assert!(
        run.stderr.contains("endgültig fehlgeschlagen 131026:"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("Some("), "{run:?}");
    assert!(!run.stderr.contains('\u{1b}'), "{run:?}");
    let got = counts(&site, &fake.messages());
    assert_eq!(
        got.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        [1, 1, 0, 1, 1],
        "everyone else still gets it"
    );
    let key = key("biotonne-nord");
    let failed = &site.last_states(&key)["sub003"];
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["code"], 131026);
    assert_eq!(failed["class"], "permanent");
    assert_eq!(fake.graph().stats().requests, 5, "tried once only");

    let again = site.broadcast(&["--now", "2026-11-28 11:00"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(
        fake.graph().stats().requests,
        5,
        "the next run does not retry it"
    );
    assert_eq!(
        site.delivery_lines(&key)
            .iter()
            .filter(|l| l["sub"] == "sub003")
            .count(),
        2
    );
    site.assert_files_leak_free();
}

#[test]
fn retryable_errors_are_retried_within_the_run_and_delivered_once() {
    // call 2: pair rate limit for that recipient (retry after ~1 s); call 4: throughput limit
    // for the whole run (pause ~1 s, lower the rate)
    let fake = Fake::start(FakeConfig {
        inject: vec![
            Injection::code_at_call(2, 131056),
            Injection::code_at_call(4, 130429),
        ],
        ..FakeConfig::default()
    });
    let mut settings = Settings::new(&fake.api_url());
    settings.concurrency = 2;
    let site = Site::new(settings, actives(6));
    site.notice("2026-11-28-biotonne-nord", NOTICE);
    let run = site.broadcast(&NOW);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("gesendet 6, übersprungen 0 — vollständig"),
        "{run:?}"
    );
    assert!(counts(&site, &fake.messages()).iter().all(|(_, n)| *n == 1));
    let stats = fake.graph().stats();
    assert_eq!(stats.requests, 8);
    assert_eq!(stats.errors.get(&131056), Some(&1));
    assert_eq!(stats.errors.get(&130429), Some(&1));
    // the journal shows the retryable failure and then the success, with a higher attempt
    let key = key("biotonne-nord");
    let lines = site.delivery_lines(&key);
    let mut retried = Vec::new();
    for code in [131056, 130429] {
        let failed = lines
            .iter()
            .find(|l| l["code"] == code)
            .unwrap_or_else(|| panic!("no journal line for {code}"));
        assert_eq!(failed["class"], "retry");
        let sub = failed["sub"].as_str().unwrap();
        let last = &site.last_states(&key)[sub];
        assert_eq!(last["state"], "sent");
        assert_eq!(last["attempt"], 2);
        retried.push(sub.to_string());
    }
    // the correlation id carries the attempt, so the retry is told apart from the first try
    for sub in &retried {
        let m = by_subscriber(&site, &fake.messages())[sub][0].clone();
        assert!(
            m.correlation.as_deref().unwrap().ends_with("a=2"),
            "{:?}",
            m.correlation
        );
    }
    assert_eq!(site.index_events(&key), ["started", "completed"]);
    site.assert_files_leak_free();
}

#[test]
fn a_fatal_error_stops_the_run_at_once_and_the_next_run_reaches_everyone_else() {
    let broken = Fake::start(FakeConfig {
        inject: vec![Injection::code_from_call(4, 190)],
        ..FakeConfig::default()
    });
    let concurrency = 3;
    let mut settings = Settings::new(&broken.api_url());
    settings.concurrency = concurrency;
    let mut site = Site::new(settings, actives(10));
    site.notice("2026-11-28-biotonne-nord", NOTICE);
    site.notice("2026-11-28-sperrung-hauptstrasse", SECOND);
    let run = site.broadcast(&NOW);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout.contains("ABGEBROCHEN: schwerer Fehler 190"),
        "{run:?}"
    );
    assert!(run.stdout.contains("nicht versucht"), "{run:?}");
    let first = broken.messages();
    assert_eq!(first.len(), 3);
    // at once: at most one failing request per worker, not one per subscriber
    let stats = broken.graph().stats();
    assert!(stats.requests <= 3 + concurrency as u64, "{stats:?}");
    let fatal: Vec<_> = site
        .delivery_lines(&key("biotonne-nord"))
        .into_iter()
        .filter(|l| l["code"] == 190)
        .collect();
    assert!(!fatal.is_empty() && fatal.iter().all(|l| l["class"] == "fatal"));
    assert!(
        site.delivery_lines(&key("sperrung-hauptstrasse"))
            .is_empty()
    );

    // the token is fixed: a healthy API reaches everyone not yet reached, and nobody twice
    let healthy = Fake::healthy();
    site.reconfigure(|s| s.api_url = healthy.api_url());
    let next = site.broadcast(&["--now", "2026-11-28 10:30"]);
    assert_eq!(next.code, 0, "{next:?}");
    let mut all = first.clone();
    all.extend(healthy.messages());
    assert_eq!(
        counts(&site, &all)
            .iter()
            .map(|(_, n)| *n)
            .collect::<Vec<_>>(),
        [2; 10]
    );
    for slug in ["biotonne-nord", "sperrung-hauptstrasse"] {
        let per_sub = by_subscriber(&site, &all);
        for (id, got) in per_sub {
            let n = got
                .iter()
                .filter(|m| {
                    m.button_suffix.as_deref() == Some(&format!("bekanntmachungen/2026/{slug}/"))
                })
                .count();
            assert_eq!(n, 1, "{id} {slug}");
        }
        assert_eq!(site.index_events(&key(slug)), ["started", "completed"]);
    }
    site.assert_files_leak_free();
}

#[test]
fn the_circuit_breaker_stops_a_run_where_too_many_fail_permanently() {
    // every second number is "not on WhatsApp": 50 % permanent failures, a data problem
    let (fake, site) = thirty_failing_for((1..=30).step_by(2), 2);
    let run = site.broadcast(&NOW);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("ABGEBROCHEN: Notbremse"), "{run:?}");
    let stats = fake.graph().stats();
    assert!(
        stats.requests >= 20,
        "it judges only after 20 attempts: {stats:?}"
    );
    assert!(
        stats.requests < 30,
        "it stops before trying everyone: {stats:?}"
    );
    let failed = site
        .last_states(&key("biotonne-nord"))
        .values()
        .filter(|l| l["state"] == "failed" && l["class"] == "permanent")
        .count() as u64;
    assert_eq!(failed, stats.errors[&131026]);
    assert!(failed * 100 > stats.requests * 30);
    site.assert_files_leak_free();
}

#[test]
fn a_paused_template_stops_the_run_before_any_message() {
    let mut paused = FakeTemplate::new(NOTICE_TEMPLATE, "de", 2, true);
    paused.status = "PAUSED".into();
    let fake = Fake::start(FakeConfig {
        templates: vec![paused, FakeTemplate::new(UPDATE_TEMPLATE, "de", 2, true)],
        ..FakeConfig::default()
    });
    let mut settings = Settings::new(&fake.api_url());
    settings.waba_id = Some(fake.graph().config().waba_id.clone());
    let site = Site::new(settings, actives(3));
    site.notice("2026-11-28-biotonne-nord", NOTICE);
    let run = site.broadcast(&NOW);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "ABGEBROCHEN: WhatsApp-Vorlage `{NOTICE_TEMPLATE}` (de) ist PAUSED"
        )),
        "{run:?}"
    );
    assert_eq!(fake.graph().stats().requests, 0);
    assert!(fake.messages().is_empty());
    // the summary names the notice that was held back, never "nothing to send"
    assert!(!run.stdout.contains("Nichts zu senden"), "{run:?}");
    assert!(
        run.stdout.contains(
            "[nicht gesendet (Lauf vor dem Senden abgebrochen)] /bekanntmachungen/2026/biotonne-nord/#notice"
        ),
        "{run:?}"
    );
    assert!(run.stdout.contains("nicht versucht 3"), "{run:?}");
    assert!(site.delivery_lines(&key("biotonne-nord")).is_empty());
    site.assert_files_leak_free();
}

/// Four subscribers and the notice, sent to one at a time (in subscriber order) by a fake that
/// closes call 2's connection after accepting the message and call 3's before accepting it.
fn calls_2_and_3_unanswered() -> (Fake, Site) {
    let fake = Fake::start(FakeConfig {
        inject: vec![
            Injection::drop_at_call(2, true),
            Injection::drop_at_call(3, false),
        ],
        ..FakeConfig::default()
    });
    let mut settings = Settings::new(&fake.api_url());
    settings.concurrency = 1;
    let site = Site::new(settings, actives(4));
    site.notice("2026-11-28-biotonne-nord", NOTICE);
    (fake, site)
}

/// A request that got no answer at all is uncertain whatever happened at the other end: the fake
/// closes call 2's connection after accepting the message and call 3's before accepting it. Both
/// are journaled `uncertain`, neither is resent by the next run, and `--resend-uncertain` sends
/// both again — which gives call 3's recipient the message and call 2's a second copy.
#[test]
fn a_request_without_an_answer_is_uncertain_and_not_resent_by_default() {
    let (fake, site) = calls_2_and_3_unanswered();
    let run = site.broadcast(&NOW);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout
            .contains("gesendet 2, übersprungen 0, unsicher 2"),
        "{run:?}"
    );
    let key = key("biotonne-nord");
    let states = site.last_states(&key);
    // with one worker the calls go out in subscriber order
    assert_eq!(states["sub002"]["state"], "uncertain");
    assert_eq!(states["sub003"]["state"], "uncertain");
    let got = |fake: &Fake| {
        counts(&site, &fake.messages())
            .into_iter()
            .map(|(_, n)| n)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        got(&fake),
        [1, 1, 0, 1],
        "call 2 was accepted, call 3 was not"
    );

    let again = site.broadcast(&["--now", "2026-11-28 10:30"]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(
        again
            .stdout
            .contains("gesendet 0, übersprungen 2, unsicher 2"),
        "{again:?}"
    );
    assert_eq!(fake.graph().stats().requests, 4, "nothing resent");

    let resent = site.broadcast(&["--now", "2026-11-28 11:00", "--resend-uncertain"]);
    assert_eq!(resent.code, 0, "{resent:?}");
    assert_eq!(got(&fake), [1, 2, 1, 1]);
    assert_eq!(site.index_events(&key), ["started", "completed"]);
    site.assert_files_leak_free();
}

/// The other way to settle uncertain deliveries: `--accept-uncertain` records them as
/// `accepted` (delivered without proof), sends nothing to them, says how many, and sends the
/// rest as usual. It cannot be combined with `--resend-uncertain`.
#[test]
fn accept_uncertain_records_them_as_delivered_and_sends_nothing_to_them() {
    let (fake, site) = calls_2_and_3_unanswered();
    let run = site.broadcast(&NOW);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout
            .contains("gesendet 2, übersprungen 0, unsicher 2"),
        "{run:?}"
    );
    let key = key("biotonne-nord");

    let both = site.broadcast(&[
        "--now",
        "2026-11-28 10:30",
        "--accept-uncertain",
        "--resend-uncertain",
    ]);
    assert_eq!(both.code, 2, "a usage error: {both:?}");
    assert!(
        both.stderr.contains("lässt sich nicht zusammen mit"),
        "{both:?}"
    );
    assert_eq!(fake.graph().stats().requests, 4);

    site.notice("2026-11-28-sperrung-hauptstrasse", SECOND);
    let accepted = site.broadcast(&["--now", "2026-11-28 11:00", "--accept-uncertain"]);
    assert_eq!(accepted.code, 0, "{accepted:?}");
    assert!(
        accepted.stdout.starts_with(
            "--accept-uncertain: 2 unsichere Zustellungen als zugestellt festgehalten (`accepted` im \
             Journal subscribers/journal/); an sie wurde nichts gesendet\n    \
             /bekanntmachungen/2026/biotonne-nord/#notice: 2 als `accepted` festgehalten\n"
        ),
        "{accepted:?}"
    );
    assert!(
        accepted
            .stdout
            .contains("gesendet 0, übersprungen 4 — vollständig"),
        "{accepted:?}"
    );
    let states = site.last_states(&key);
    assert_eq!(states["sub002"]["state"], "accepted");
    assert_eq!(states["sub003"]["state"], "accepted");
    assert_eq!(states["sub001"]["state"], "sent");
    assert_eq!(site.index_events(&key), ["started", "completed"]);
    let biotonne = |fake: &Fake| {
        fake.messages()
            .iter()
            .filter(|m| m.button_suffix.as_deref() == Some("bekanntmachungen/2026/biotonne-nord/"))
            .count()
    };
    assert_eq!(biotonne(&fake), 3, "nothing resent");
    assert_eq!(
        fake.messages().len(),
        3 + 4,
        "the other notice went to everyone as usual"
    );

    let later = site.broadcast(&["--now", "2026-11-28 12:00"]);
    assert_eq!(later.code, 0, "settled for good: {later:?}");
    assert_eq!(fake.messages().len(), 7);
    site.assert_files_leak_free();
}

/// Failures bunched at the start of the list (one bad import batch) must trip the breaker too:
/// the share is judged at every attempt from the 20th on, not only when the next failure comes.
#[test]
fn the_circuit_breaker_also_trips_when_the_failures_came_first() {
    let (fake, site) = thirty_failing_for(1..=10, 1);
    let run = site.broadcast(&NOW);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("ABGEBROCHEN: Notbremse: 10 von 20"),
        "{run:?}"
    );
    assert_eq!(
        fake.graph().stats().requests,
        20,
        "judged at the 20th attempt: 10 of 20 failed"
    );
    assert!(run.stdout.contains("nicht versucht 10"), "{run:?}");
    site.assert_files_leak_free();
}
