//! The streamed subscriber list: a broadcast reads the list row by row into a queue of
//! `concurrency` places, so these tests use lists many times larger than that queue, and lists
//! that break somewhere in the middle. A bad row or a damaged part of the file stops the run
//! before the first message (the whole list is checked first), naming line and field.

use aushang::subscribers::store::encrypt_to_vec;
use aushang::subscribers::{Identity, Recipients, Status, SubscriberList};

use super::support::*;

const NOTICE: &str = "title: Biotonne im Bezirk Nord\n\
    date: 2026-11-28 08:00\n\
    category: abfall\n\
    summary: Die Abfuhr verschiebt sich auf Samstag.";

/// Replaces the site's encrypted list by `edit` applied to its decrypted text; returns the text.
fn rewrite_list(site: &Site, edit: impl FnOnce(String) -> String) -> String {
    let dir = site.root.join("subscribers");
    let identity = Identity::from_text(&site.secret, "test key").unwrap();
    let list = SubscriberList::load(&dir, &identity).unwrap();
    let keys = aushang::subscribers::keyset::KeySet::of(&Recipients::load(&dir).unwrap());
    let text = String::from_utf8(aushang::subscribers::format::encode(
        list.subscribers(),
        &keys,
    ))
    .unwrap();
    let edited = edit(text);
    write_list(site, &edited);
    edited
}

/// Encrypts `text` as the site's list, as someone editing it with the `age` CLI could.
fn write_list(site: &Site, text: &str) {
    let dir = site.root.join("subscribers");
    let recipients = Recipients::load(&dir).unwrap();
    let bytes = encrypt_to_vec(text.as_bytes(), &recipients).unwrap();
    std::fs::write(dir.join("subscribers.csv.age"), bytes).unwrap();
}

/// Replaces the `status` field of the data row on `line` (marker = line 1, recipients = line 2,
/// header = line 3).
fn with_status_on_line(text: String, line: usize, status: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                let mut fields: Vec<&str> = l.split(',').collect();
                fields[6] = status;
                fields.join(",")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn assert_nothing_sent(site: &Site, fake: &Fake) {
    assert!(fake.messages().is_empty(), "nothing may be sent");
    assert_eq!(fake.graph().stats().requests, 0);
    assert!(
        site.delivery_lines(&key("biotonne-nord")).is_empty(),
        "no delivery journaled"
    );
    assert!(site.index_events(&key("biotonne-nord")).is_empty());
}

#[test]
fn a_list_many_times_the_queue_reaches_each_wanted_subscriber_exactly_once() {
    let fake = Fake::healthy();
    let mut settings = Settings::new(&fake.api_url());
    settings.concurrency = 2;
    settings.messages_per_second = 1000;
    // 400 rows through a queue of 2 places; who is excluded is spread over the whole list.
    let subs: Vec<Sub> = (1..=400)
        .map(|i| match i {
            i if i % 7 == 0 => Sub::active(i).with_status(Status::Pending),
            i if i % 11 == 0 => Sub::active(i).with_topics(&["verkehr"]),
            i if i % 13 == 0 => Sub::active(i).with_status(Status::Unsubscribed),
            i if i % 5 == 0 => Sub::active(i).with_topics(&["verkehr", "abfall"]),
            i => Sub::active(i),
        })
        .collect();
    let wanted: Vec<(String, usize)> = subs
        .iter()
        .map(|s| {
            let gets = s.status == Status::Active
                && (s.topics.is_empty() || s.topics.iter().any(|t| t == "abfall"));
            (s.id.clone(), usize::from(gets))
        })
        .collect();
    let expected: usize = wanted.iter().map(|w| w.1).sum();
    let site = Site::new(settings, subs);
    site.notice("2026-11-28-biotonne-nord", NOTICE);

    let run = site.broadcast(&["--now", "2026-11-28 10:00"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(counts(&site, &fake.messages()), wanted);
    assert!(
        run.stdout.contains(&format!(
            "gesendet {expected}, übersprungen 0 — vollständig"
        )),
        "{run:?}"
    );
    let states = site.last_states(&key("biotonne-nord"));
    assert_eq!(states.len(), expected);
    assert!(states.values().all(|l| l["state"] == "sent"));
    assert_eq!(
        site.index_events(&key("biotonne-nord")),
        ["started", "completed"]
    );
    site.assert_files_leak_free();
}

#[test]
fn a_journal_from_an_earlier_partial_run_is_honoured_row_by_row() {
    let fake = Fake::healthy();
    let mut settings = Settings::new(&fake.api_url());
    settings.concurrency = 3;
    settings.messages_per_second = 1000;
    let site = Site::new(settings, actives(120));
    site.notice("2026-11-28-biotonne-nord", NOTICE);
    // An earlier run (killed) got to some people: sent, failed for good, cut off mid-request,
    // failed retryably — scattered through the list.
    let file = site.journal_dir().join("deliveries").join(format!(
        "{}~whatsapp.jsonl",
        aushang::delivery::journal::file_key(&key("biotonne-nord"))
    ));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let mut lines = String::new();
    let mut previously = 0;
    for i in (3..=120).step_by(9) {
        let (state, extra) = match (i / 9) % 4 {
            0 => ("sent", r#","id":"wamid.x""#),
            1 => ("failed", r#","code":131026,"class":"permanent""#),
            2 => ("sending", ""),
            _ => ("failed", r#","code":131000,"class":"retry""#),
        };
        lines.push_str(&format!(
            "{{\"t\":\"2026-11-28T09:00:00Z\",\"sub\":\"sub{i:03}\",\"state\":\"{state}\"{extra},\"attempt\":1}}\n"
        ));
        previously += 1;
    }
    std::fs::write(&file, lines).unwrap();
    std::fs::write(
        site.journal_dir().join("index.jsonl"),
        format!(
            "{{\"t\":\"2026-11-28T09:00:00Z\",\"msg\":\"{}\",\"ch\":\"whatsapp\",\"event\":\"started\"}}\n",
            key("biotonne-nord")
        ),
    )
    .unwrap();

    let run = site.broadcast(&["--now", "2026-11-28 10:00"]);
    let final_before = (3..=120).step_by(9).filter(|i| (i / 9) % 4 <= 1).count();
    let uncertain = (3..=120).step_by(9).filter(|i| (i / 9) % 4 == 2).count();
    let to_send = 120 - final_before - uncertain;
    assert!(
        run.stdout.contains(&format!(
            "gesendet {to_send}, übersprungen {final_before}, unsicher {uncertain}"
        )),
        "{run:?}"
    );
    assert_ne!(run.code, 0, "uncertain deliveries leave the run unfinished");
    let messages = fake.messages();
    let got = by_subscriber(&site, &messages);
    assert_eq!(got.len(), to_send);
    assert!(got.values().all(|m| m.len() == 1), "nobody twice");
    for i in (3..=120).step_by(9) {
        let id = format!("sub{i:03}");
        let retried = (i / 9) % 4 == 3;
        assert_eq!(got.contains_key(&id), retried, "{id}");
    }
    // the retried person's attempt count carries on from the journal
    let retried = site
        .delivery_lines(&key("biotonne-nord"))
        .into_iter()
        .filter(|l| l["sub"] == "sub030" && l["state"] == "sent")
        .collect::<Vec<_>>();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0]["attempt"], 2);
    assert!(previously > 10);
    site.assert_files_leak_free();
}

#[test]
fn a_bad_row_in_the_middle_stops_the_run_before_the_first_message() {
    let fake = Fake::healthy();
    let site = Site::new(Settings::new(&fake.api_url()), actives(300));
    site.notice("2026-11-28-biotonne-nord", NOTICE);
    // row 150 of 300 is on line 153 of the decrypted list
    let broken = rewrite_list(&site, |text| with_status_on_line(text, 153, "schlafend"));

    let run = site.broadcast(&["--now", "2026-11-28 10:00"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(
            "subscribers.csv.age (entschlüsselt): Zeile 153: Feld `status`: unbekannter Status `schlafend`"
        ),
        "{run:?}"
    );
    assert!(run.stderr.contains("nichts wurde gesendet"), "{run:?}");
    assert_nothing_sent(&site, &fake);

    // fixed, the next run reaches everyone
    write_list(&site, &broken.replace("schlafend", "active"));
    let fixed = site.broadcast(&["--now", "2026-11-28 10:05"]);
    assert_eq!(fixed.code, 0, "{fixed:?}");
    assert_eq!(fake.messages().len(), 300);
    site.assert_files_leak_free();
}

#[test]
fn a_number_listed_twice_far_down_the_list_stops_the_run_masked() {
    let fake = Fake::healthy();
    let site = Site::new(Settings::new(&fake.api_url()), actives(250));
    site.notice("2026-11-28-biotonne-nord", NOTICE);
    // the person on line 241 (row 238) gets the number of row 5 as well
    rewrite_list(&site, |text| text.replace(&number(238), &number(5)));

    let run = site.broadcast(&["--now", "2026-11-28 10:00"]);
    assert_ne!(run.code, 0, "{run:?}");
    let masked = aushang::subscribers::mask(&number(5));
    assert!(
        run.stderr.contains(&format!(
            "Zeile 241: whatsapp {masked} steht zweimal in der Liste"
        )),
        "{run:?}"
    );
    assert_nothing_sent(&site, &fake);
}

#[test]
fn a_damaged_later_part_of_the_encrypted_list_stops_the_run_before_the_first_message() {
    let fake = Fake::healthy();
    // About 170 KB of plaintext: three of age's 64 KiB chunks, the damage goes into the last.
    let site = Site::new(Settings::new(&fake.api_url()), actives(1500));
    site.notice("2026-11-28-biotonne-nord", NOTICE);
    let path = site.root.join("subscribers/subscribers.csv.age");
    let mut armored = std::fs::read(&path).unwrap();
    let at = armored.len() * 9 / 10;
    let pos = (at..armored.len())
        .find(|&i| armored[i].is_ascii_alphanumeric())
        .unwrap();
    armored[pos] = if armored[pos] == b'A' { b'B' } else { b'A' };
    std::fs::write(&path, armored).unwrap();

    let run = site.broadcast(&["--now", "2026-11-28 10:00"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("ist beschädigt oder abgeschnitten")
            && run
                .stderr
                .contains("der verschlüsselte Inhalt ist nach Zeile"),
        "{run:?}"
    );
    assert_nothing_sent(&site, &fake);
}
