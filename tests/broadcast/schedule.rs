//! Time rules end to end: quiet hours (also across both DST changes), staleness, the daily
//! messaging limit split across runs, updates, and `--mark-sent`.

use aushang::devtools::fake_graph::FakeConfig;

use crate::support::*;

fn site(fake: &Fake, subscribers: usize) -> Site {
    Site::new(Settings::new(&fake.api_url()), actives(subscribers))
}

fn notice(title: &str, date: &str, extra: &str) -> String {
    format!("title: {title}\ndate: {date}\nsummary: Kurzfassung zu {title}.\n{extra}")
}

/// How many messages the fake accepted for each notice slug, over all subscribers.
fn sent_for(fake: &Fake, slug: &str) -> usize {
    let suffix = format!("bekanntmachungen/2026/{slug}/");
    fake.messages()
        .iter()
        .filter(|m| m.button_suffix.as_deref() == Some(suffix.as_str()))
        .count()
}

#[test]
fn quiet_hours_defer_normal_notices_but_not_urgent_ones() {
    let fake = Fake::healthy();
    let site = site(&fake, 3);
    site.notice(
        "2026-11-28-laubsammlung",
        &notice("Laubsammlung", "2026-11-28 20:00", ""),
    );
    site.notice(
        "2026-11-28-wasserrohrbruch",
        &notice("Wasserrohrbruch", "2026-11-28 22:00", "urgent: true"),
    );
    let late = site.broadcast(&["--now", "2026-11-28 22:30"]);
    assert_eq!(
        late.code, 0,
        "deferring is deliberate, not a failure: {late:?}"
    );
    assert_eq!(sent_for(&fake, "wasserrohrbruch"), 3);
    assert_eq!(sent_for(&fake, "laubsammlung"), 0);
    assert!(
        late.stdout
            .contains("[zurückgestellt (Ruhezeit)] /bekanntmachungen/2026/laubsammlung/#notice"),
        "{late:?}"
    );
    assert!(site.index_events(&key("laubsammlung")).is_empty());

    let still_night = site.broadcast(&["--now", "2026-11-29 06:55"]);
    assert_eq!(still_night.code, 0, "{still_night:?}");
    assert_eq!(sent_for(&fake, "laubsammlung"), 0);

    let morning = site.broadcast(&["--now", "2026-11-29 07:05"]);
    assert_eq!(morning.code, 0, "{morning:?}");
    assert_eq!(sent_for(&fake, "laubsammlung"), 3);
    assert_eq!(
        sent_for(&fake, "wasserrohrbruch"),
        3,
        "the urgent one is not sent again"
    );
    assert!(counts(&site, &fake.messages()).iter().all(|(_, n)| *n == 2));
    site.assert_files_leak_free();
}

/// Times in UTC, so that only a correct Europe/Berlin offset on that day gives the right answer.
#[test]
fn quiet_hours_follow_berlin_time_across_both_dst_changes() {
    // spring: on 29 March 2026 clocks go from 02:00 CET to 03:00 CEST
    let fake = Fake::healthy();
    let spring = site(&fake, 2);
    spring.notice(
        "2026-03-28-fruehjahrsputz",
        &notice("Frühjahrsputz", "2026-03-28 18:00", ""),
    );
    // 04:45 UTC = 06:45 CEST: quiet
    let early = spring.broadcast(&["--now", "2026-03-29T04:45:00Z"]);
    assert_eq!(early.code, 0, "{early:?}");
    assert!(
        early.stdout.contains("zurückgestellt (Ruhezeit)"),
        "{early:?}"
    );
    assert_eq!(sent_for(&fake, "fruehjahrsputz"), 0);
    // 05:30 UTC = 07:30 CEST (it would still be 06:30 with the winter offset): sent
    let after = spring.broadcast(&["--now", "2026-03-29T05:30:00Z"]);
    assert_eq!(after.code, 0, "{after:?}");
    assert_eq!(sent_for(&fake, "fruehjahrsputz"), 2);
    spring.assert_files_leak_free();

    // autumn: on 25 October 2026 clocks go from 03:00 CEST back to 02:00 CET
    let fake = Fake::healthy();
    let autumn = site(&fake, 2);
    autumn.notice(
        "2026-10-24-herbstmarkt",
        &notice("Herbstmarkt", "2026-10-24 18:00", ""),
    );
    // 05:30 UTC = 06:30 CET (it would be 07:30 with the summer offset): quiet
    let early = autumn.broadcast(&["--now", "2026-10-25T05:30:00Z"]);
    assert_eq!(early.code, 0, "{early:?}");
    assert!(
        early.stdout.contains("zurückgestellt (Ruhezeit)"),
        "{early:?}"
    );
    assert_eq!(sent_for(&fake, "herbstmarkt"), 0);
    // 06:05 UTC = 07:05 CET: sent
    let after = autumn.broadcast(&["--now", "2026-10-25T06:05:00Z"]);
    assert_eq!(after.code, 0, "{after:?}");
    assert_eq!(sent_for(&fake, "herbstmarkt"), 2);
    autumn.assert_files_leak_free();
}

#[test]
fn a_notice_older_than_max_age_is_reported_and_not_sent() {
    let fake = Fake::healthy();
    let site = site(&fake, 2);
    site.notice(
        "2026-11-24-altpapier",
        &notice("Altpapier", "2026-11-24 09:00", ""),
    );
    site.notice(
        "2026-11-28-neu",
        &notice("Neue Meldung", "2026-11-28 09:00", ""),
    );
    let run = site.broadcast(&["--now", "2026-11-28 10:00"]);
    assert_eq!(run.code, 0, "max_age is a rule, not a failure: {run:?}");
    assert!(
        run.stdout.contains(
            "[nicht gesendet (älter als max_age)] /bekanntmachungen/2026/altpapier/#notice\n    \
             Altpapier\n    gesendet 0, übersprungen 0, endgültig ausgelassen 2\n"
        ),
        "{run:?}"
    );
    assert_eq!(sent_for(&fake, "altpapier"), 0);
    assert_eq!(sent_for(&fake, "neu"), 2);
    assert_eq!(site.index_events(&key("altpapier")), ["stale"]);
    // and it stays unsent on later runs, reported once
    let later = site.broadcast(&["--now", "2026-11-28 12:00"]);
    assert_eq!(later.code, 0, "{later:?}");
    assert!(!later.stdout.contains("altpapier"), "{later:?}");
    assert_eq!(sent_for(&fake, "altpapier"), 0);
    site.assert_files_leak_free();
}

#[test]
fn the_daily_limit_splits_a_broadcast_across_runs() {
    let fake = Fake::healthy();
    let mut settings = Settings::new(&fake.api_url());
    settings.daily_limit = Some(5);
    settings.concurrency = 2;
    let site = Site::new(settings, actives(8));
    site.notice(
        "2026-11-28-biotonne-nord",
        &notice("Biotonne", "2026-11-28 09:00", ""),
    );
    let first = site.broadcast(&["--now", "2026-11-28 10:00"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first
            .stdout
            .contains("gesendet 5, übersprungen 0, wegen Tageslimit zurückgestellt 3"),
        "{first:?}"
    );
    assert_eq!(fake.messages().len(), 5);
    assert_eq!(site.index_events(&key("biotonne-nord")), ["started"]);
    // The 3 held back have no journal line; the reach counts them (audience, deferred).
    let reach = || {
        let r = aushang::inbox::reach::compute(&site.root.join("subscribers")).unwrap();
        let m = &r.messages[0];
        (m.audience, m.accepted, m.deferred)
    };
    assert_eq!(reach(), (8, 5, 3));

    let hour_later = site.broadcast(&["--now", "2026-11-28 11:00"]);
    assert_eq!(hour_later.code, 0, "{hour_later:?}");
    assert!(
        hour_later
            .stdout
            .contains("gesendet 0, übersprungen 5, wegen Tageslimit zurückgestellt 3"),
        "{hour_later:?}"
    );
    assert_eq!(fake.messages().len(), 5);
    assert_eq!(reach(), (8, 5, 3), "the same 3, not 6");

    let next_day = site.broadcast(&["--now", "2026-11-29 11:00"]);
    assert_eq!(next_day.code, 0, "{next_day:?}");
    assert!(
        next_day
            .stdout
            .contains("gesendet 3, übersprungen 5 — vollständig"),
        "{next_day:?}"
    );
    assert!(
        counts(&site, &fake.messages()).iter().all(|(_, n)| *n == 1),
        "nobody twice, nobody missed"
    );
    assert_eq!(
        site.index_events(&key("biotonne-nord")),
        ["started", "completed"]
    );
    assert_eq!(reach(), (8, 8, 0));
    site.assert_files_leak_free();
}

/// Started means finished: with a daily limit the rest of a notice goes out on the next days,
/// also once the notice is older than `max_age`; only a notice that never started is given up,
/// and that is reported with its count and an annotation — once.
#[test]
fn a_started_notice_is_finished_past_max_age_and_a_never_started_stale_one_is_reported() {
    let fake = Fake::healthy();
    let mut settings = Settings::new(&fake.api_url());
    settings.daily_limit = Some(50);
    let site = Site::new(settings, actives(170));
    site.notice(
        "2026-11-28-laubsammlung",
        &notice("Laubsammlung", "2026-11-28 09:00", ""),
    );
    site.notice(
        "2026-11-24-altpapier",
        &notice("Altpapier", "2026-11-24 09:00", ""),
    );
    let in_ci = |c: &mut std::process::Command| {
        c.env("GITHUB_ACTIONS", "true");
    };
    let args = |now: &'static str| ["broadcast", "--no-link-check", "--now", now];

    let first = site.run_env(&args("2026-11-28 10:00"), in_ci);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first
            .stdout
            .contains("gesendet 50, übersprungen 0, wegen Tageslimit zurückgestellt 120\n"),
        "{first:?}"
    );
    assert!(
        first.stdout.contains("endgültig ausgelassen 170"),
        "{first:?}"
    );
    assert!(
        first.stdout.contains(
            "::warning title=Versand::Altpapier (/bekanntmachungen/2026/altpapier/#notice): \
             170 endgültig ausgelassen: nicht gesendet (älter als max_age)\n"
        ),
        "{first:?}"
    );
    assert!(
        first.stdout.contains(
            "::warning title=Versand::Laubsammlung (/bekanntmachungen/2026/laubsammlung/#notice): \
             120 wegen des Tageslimits zurückgestellt"
        ),
        "{first:?}"
    );
    assert_eq!(site.index_events(&key("altpapier")), ["stale"]);

    for (now, sent, deferred) in [("2026-11-29 10:30", 50, 70), ("2026-11-30 11:00", 50, 20)] {
        let run = site.run_env(&args(now), in_ci);
        assert_eq!(run.code, 0, "deferring is not failing: {run:?}");
        assert!(
            run.stdout.contains(&format!(
                "gesendet {sent}, übersprungen {}, wegen Tageslimit zurückgestellt {deferred}\n",
                170 - sent - deferred
            )),
            "{run:?}"
        );
        assert!(
            run.stdout.contains("::warning title=Versand::Laubsammlung"),
            "{run:?}"
        );
        assert!(!run.stdout.contains("altpapier"), "reported once: {run:?}");
    }
    // 1 December 11:30 is past max_age (3 days after 28 November 09:00): the rest still goes out
    let last = site.run_env(&args("2026-12-01 11:30"), in_ci);
    assert_eq!(last.code, 0, "{last:?}");
    assert!(
        last.stdout
            .contains("gesendet 20, übersprungen 150 — vollständig"),
        "{last:?}"
    );
    assert!(
        !last.stdout.contains("::"),
        "nothing left to annotate: {last:?}"
    );
    assert_eq!(sent_for(&fake, "laubsammlung"), 170);
    assert_eq!(sent_for(&fake, "altpapier"), 0);
    assert!(
        counts(&site, &fake.messages()).iter().all(|(_, n)| *n == 1),
        "everyone exactly once"
    );
    assert_eq!(
        site.index_events(&key("laubsammlung")),
        ["started", "completed"]
    );
    site.assert_files_leak_free();
}

/// A notice that expires while the daily limit still holds part of its audience back is not sent
/// on after it expired, and whoever it did not reach is reported — once, with the count.
#[test]
fn a_notice_that_expires_mid_broadcast_reports_whom_it_did_not_reach() {
    let fake = Fake::healthy();
    let mut settings = Settings::new(&fake.api_url());
    settings.daily_limit = Some(2);
    let site = Site::new(settings, actives(5));
    site.notice(
        "2026-11-28-wasserzaehler",
        &notice(
            "Wasserzähler",
            "2026-11-28 09:00",
            "expires: 2026-11-29 12:00",
        ),
    );
    let first = site.broadcast(&["--now", "2026-11-28 10:00"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first
            .stdout
            .contains("gesendet 2, übersprungen 0, wegen Tageslimit zurückgestellt 3"),
        "{first:?}"
    );
    let expired = site.run_env(
        &["broadcast", "--no-link-check", "--now", "2026-11-29 13:00"],
        |c| {
            c.env("GITHUB_ACTIONS", "true");
        },
    );
    assert_eq!(expired.code, 0, "{expired:?}");
    assert!(
        expired.stdout.contains(
            "[nicht abgeschlossen (die Bekanntmachung ist abgelaufen)] /bekanntmachungen/2026/wasserzaehler/#notice\n    \
             Wasserzähler\n    gesendet 0, übersprungen 0, endgültig ausgelassen 3\n"
        ),
        "{expired:?}"
    );
    assert!(
        expired.stdout.contains(
            "::warning title=Versand::Wasserzähler (/bekanntmachungen/2026/wasserzaehler/#notice): \
             3 endgültig ausgelassen: nicht abgeschlossen (die Bekanntmachung ist abgelaufen)\n"
        ),
        "{expired:?}"
    );
    assert_eq!(fake.messages().len(), 2, "nothing sent after it expired");
    assert_eq!(
        site.index_events(&key("wasserzaehler")),
        ["started", "expired"]
    );
    let later = site.broadcast(&["--now", "2026-11-29 14:00"]);
    assert_eq!(later.code, 0, "{later:?}");
    assert!(
        later.stdout.contains("Nichts zu senden"),
        "reported once: {later:?}"
    );
    site.assert_files_leak_free();
}

#[test]
fn an_update_after_the_broadcast_sends_one_update_message() {
    let fake = Fake::healthy();
    let site = site(&fake, 3);
    let original = notice(
        "Sperrung der Brücke",
        "2026-11-28 08:00",
        "category: verkehr",
    );
    site.notice("2026-11-28-brueckensperrung", &original);
    assert_eq!(site.broadcast(&["--now", "2026-11-28 09:00"]).code, 0);
    assert_eq!(fake.messages().len(), 3);

    let updated = format!(
        "{original}\nupdates:\n  - date: 2026-11-28 12:00\n    text: Die Sperrung dauert bis Freitag."
    );
    site.notice("2026-11-28-brueckensperrung", &updated);
    let run = site.broadcast(&["--now", "2026-11-28 13:00"]);
    assert_eq!(run.code, 0, "{run:?}");
    let updates: Vec<_> = fake.messages().into_iter().skip(3).collect();
    assert_eq!(updates.len(), 3, "{run:?}");
    for m in &updates {
        assert_eq!(m.template.as_deref(), Some(UPDATE_TEMPLATE));
        assert_eq!(
            m.params,
            ["Sperrung der Brücke", "Die Sperrung dauert bis Freitag."]
        );
        assert_eq!(
            m.button_suffix.as_deref(),
            Some("bekanntmachungen/2026/brueckensperrung/")
        );
        assert!(
            m.correlation
                .as_deref()
                .unwrap()
                .contains("#update-20261128T1200")
        );
    }
    assert!(counts(&site, &fake.messages()).iter().all(|(_, n)| *n == 2));
    let update_key = "/bekanntmachungen/2026/brueckensperrung/#update-20261128T1200";
    assert_eq!(site.index_events(update_key), ["started", "completed"]);

    let again = site.broadcast(&["--now", "2026-11-28 14:00"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(fake.messages().len(), 6);
    site.assert_files_leak_free();
}

#[test]
fn mark_sent_records_everything_due_without_sending() {
    let fake = Fake::start(FakeConfig::default());
    let site = site(&fake, 3);
    site.notice(
        "2026-11-27-alt",
        &notice("Ältere Meldung", "2026-11-27 09:00", ""),
    );
    site.notice(
        "2026-11-28-neu",
        &notice("Neue Meldung", "2026-11-28 09:00", ""),
    );
    // on the admin's computer: neither the token nor the key is needed
    let run = site.run_env(
        &["broadcast", "--mark-sent", "--now", "2026-11-28 10:00"],
        |c| {
            c.env_remove("WHATSAPP_TOKEN")
                .env_remove("AUSHANG_IDENTITY");
        },
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout
            .matches("als gesendet markiert (nichts gesendet)")
            .count(),
        2,
        "{run:?}"
    );
    assert!(
        run.stdout.lines().next().is_some_and(|l| l.starts_with(
            "--mark-sent hat das Journal subscribers/journal/ geschrieben (Kanal whatsapp): 2 Nachricht(en)"
        )),
        "says first which journal it wrote: {run:?}"
    );
    assert!(!run.stdout.contains("outbox"), "{run:?}");
    assert!(
        !site.root.join("outbox").exists(),
        "never the outbox's journal"
    );
    assert_eq!(fake.graph().stats().requests, 0);
    for slug in ["alt", "neu"] {
        assert_eq!(site.index_events(&key(slug)), ["started", "marked"]);
        assert!(site.delivery_lines(&key(slug)).is_empty());
    }
    let later = site.broadcast(&["--now", "2026-11-28 11:00"]);
    assert_eq!(later.code, 0, "{later:?}");
    assert!(later.stdout.contains("Nichts zu senden"), "{later:?}");
    assert_eq!(fake.graph().stats().requests, 0);
    site.assert_files_leak_free();
}

#[test]
fn mark_sent_writes_the_outbox_journal_only_when_asked_or_without_a_real_channel() {
    let fake = Fake::healthy();
    let site = site(&fake, 2);
    site.notice(
        "2026-11-28-neu",
        &notice("Neue Meldung", "2026-11-28 09:00", ""),
    );
    let run = site.broadcast(&[
        "--mark-sent",
        "--channel",
        "outbox",
        "--now",
        "2026-11-28 10:00",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with(
            "--mark-sent hat das Journal outbox/journal/ geschrieben (Kanal outbox): 1 Nachricht(en)"
        ) && run.stdout.contains("echte Kanäle sind nicht markiert"),
        "{run:?}"
    );
    assert!(site.root.join("outbox/journal/index.jsonl").exists());
    assert!(site.index_events(&key("neu")).is_empty());
    // WhatsApp still sends it: only the outbox was marked
    let real = site.broadcast(&["--now", "2026-11-28 11:00"]);
    assert_eq!(real.code, 0, "{real:?}");
    assert_eq!(sent_for(&fake, "neu"), 2);

    // a site without any real channel marks the outbox, and says so first
    let bare = Site::new(Settings::new(&fake.api_url()), actives(1));
    let yaml = std::fs::read_to_string(bare.root.join("aushang.yaml")).unwrap();
    let cut = yaml.find("  channels:").unwrap();
    std::fs::write(bare.root.join("aushang.yaml"), &yaml[..cut]).unwrap();
    bare.notice(
        "2026-11-28-neu",
        &notice("Neue Meldung", "2026-11-28 09:00", ""),
    );
    let run = bare.broadcast(&["--mark-sent", "--now", "2026-11-28 10:00"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("--mark-sent hat das Journal outbox/journal/ geschrieben (Kanal outbox)"),
        "{run:?}"
    );
    site.assert_files_leak_free();
}
