//! Reach and cost (issue 17) end to end: a broadcast against the fake Graph API, status
//! webhooks with Meta's `pricing` (delivered, read, failed, free) and a STOP into the inbox,
//! `aushang inbox pull` (twice over the same events) → `reach.json` equals the journal's
//! numbers, and `aushang report` equals the hand-computed fixtures in tests/fixtures/report/.
//! Nothing the report writes holds a subscriber id, number or name.

#[path = "inbox/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aushang::delivery::journal::{DeliveryState, IndexEvent, Journal, journal_dir};
use aushang::devtools::fake_graph::{FakeConfig, FakeGraph, Fate, Injection};
use aushang::subscribers::{Channel, Status, Subscriber};
use support::*;

const NOW: &str = "2026-11-28 12:00";
const REPORT_NOW: &str = "2026-11-30 12:00";

/// A: read, B: delivered, C: failed later (131049), D: read inside the service window (free,
/// topic abfall only), E (the support module's number): delivered, then STOP within 48 h,
/// F: refused at sending (131026), G: pending, H: unsubscribed on 10 November.
const A: &str = "+4915100000001";
const B: &str = "+4915100000002";
const C: &str = "+4915100000003";
const D: &str = "+4915100000004";
const F: &str = "+4915100000006";
const G: &str = "+4915100000007";
const H: &str = "+4915100000008";

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn subscriber(n: u8, address: &str, topics: &[&str], status: Status) -> Subscriber {
    Subscriber {
        id: format!("s_00000000000000{n:02x}"),
        channel: Channel::WhatsApp,
        address: address.into(),
        name: Some(format!("Person Nummer{n}")),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        language: "de".into(),
        status,
        consent_at: Some(ts("2026-11-01T10:00:00Z")),
        consent_source: "web".into(),
        consent_text: "v1".into(),
        confirmed_at: Some(ts("2026-11-01T10:05:00Z")),
        unsubscribed_at: None,
        bsuid: None,
    }
}

fn subscribers() -> Vec<Subscriber> {
    let mut g = subscriber(7, G, &["verkehr"], Status::Pending);
    g.consent_at = Some(ts("2026-11-20T09:00:00Z"));
    g.confirmed_at = None;
    let mut h = subscriber(8, H, &[], Status::Unsubscribed);
    h.consent_at = Some(ts("2026-10-01T09:00:00Z"));
    h.confirmed_at = Some(ts("2026-10-01T09:05:00Z"));
    h.unsubscribed_at = Some(ts("2026-11-10T08:00:00Z"));
    vec![
        subscriber(1, A, &[], Status::Active),
        subscriber(2, B, &[], Status::Active),
        subscriber(3, C, &[], Status::Active),
        subscriber(4, D, &["abfall"], Status::Active),
        subscriber(5, NUMBER_E164, &[], Status::Active),
        subscriber(6, F, &[], Status::Active),
        g,
        h,
    ]
}

fn fate(to: &str) -> Fate {
    match to {
        A | D => Fate::Read,
        C => Fate::Failed(131049),
        _ => Fate::Delivered,
    }
}

/// The example site with two notices of 28 November, the rate card, and the list above.
fn site(fake: &FakeGraph) -> Site {
    let site = Site::with_subscribers(Some(&fake.api_url()), subscribers());
    let notices = site.root.join("content/notices");
    std::fs::remove_dir_all(&notices).unwrap();
    std::fs::create_dir_all(notices.join("2026")).unwrap();
    std::fs::write(
        notices.join("2026/2026-11-28-sperrung-hauptstrasse.md"),
        "---\ntitle: Sperrung der Hauptstraße\ndate: 2026-11-28 09:00\nsummary: Die Hauptstraße ist am 3. Dezember gesperrt.\ncategory: verkehr\n---\n\nUmleitung über den Markt.\n",
    )
    .unwrap();
    std::fs::write(
        notices.join("2026/2026-11-28-biotonne.md"),
        "---\ntitle: Leerung der Biotonne verschoben\ndate: 2026-11-28 10:00\nsummary: Die Biotonne wird erst am Samstag geleert.\ncategory: abfall\n---\n\nBitte am Samstag bereitstellen.\n",
    )
    .unwrap();
    let config_path = site.root.join("aushang.yaml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    let anchor = "      phone_number_id: \"100000000000001\"\n";
    let config = config.replacen(
        anchor,
        &format!("{anchor}      prices:\n        currency: EUR\n        utility: \"0.0456\"\n        marketing: \"0.1131\"\n"),
        1,
    );
    // A monthly budget: the report puts the budget's spend beside the actual cost.
    let budget = "  # budget:\n  #   monthly: 50\n";
    assert!(config.contains(budget), "the example config changed shape");
    let config = config.replacen(budget, "  budget:\n    monthly: 50\n", 1);
    std::fs::write(&config_path, config).unwrap();
    site
}

fn run(site: &Site, args: &[&str], identity: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aushang"));
    cmd.arg("--root")
        .arg(&site.root)
        .args(args)
        .env("AUSHANG_INBOX_PULL_TOKEN", PULL_TOKEN)
        .env("WHATSAPP_TOKEN", "fake-token")
        .env_remove("AUSHANG_IDENTITY_FILE")
        .env_remove("AUSHANG_STATE_DIR")
        .env_remove("GITHUB_STEP_SUMMARY");
    if identity {
        cmd.env("AUSHANG_IDENTITY", &site.secret);
    } else {
        cmd.env_remove("AUSHANG_IDENTITY");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/report")
        .join(name)
}

/// Compares with a fixture; `AUSHANG_UPDATE_FIXTURES=1` rewrites it (then read the diff!).
fn assert_fixture(name: &str, actual: &str) {
    assert_file(&fixture(name), actual);
}

fn assert_file(path: &Path, actual: &str) {
    if std::env::var_os("AUSHANG_UPDATE_FIXTURES").is_some() {
        std::fs::write(path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(actual, expected, "{} differs", path.display());
}

/// Every subscriber id, number (also without `+` and its tail) and name of the list.
fn personal_needles() -> Vec<String> {
    let mut out = Vec::new();
    for s in subscribers() {
        out.push(s.id.clone());
        out.push(s.address.clone());
        out.push(s.address.trim_start_matches('+').to_string());
        out.push(s.address[s.address.len() - 8..].to_string());
        out.push(s.name.clone().unwrap());
        out.push(format!("Nummer{}", &s.id[s.id.len() - 1..]));
    }
    out
}

fn assert_no_personal_data(what: &str, text: &str) {
    for needle in personal_needles() {
        assert!(!text.contains(&needle), "{what} holds {needle}:\n{text}");
    }
}

fn reach_json(state: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(state.join("inbox/reach.json")).unwrap()).unwrap()
}

#[test]
fn statuses_with_pricing_give_the_journals_reach_and_the_hand_computed_report() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = FakeConfig {
        service_window: vec![D.into()],
        inject: vec![Injection::code_for_number(F, 131026)],
        ..Default::default()
    };
    let fake = runtime.block_on(FakeGraph::start(config)).unwrap();
    let site = site(&fake);
    let state = site.root.join("subscribers");

    run(
        &site,
        &[
            "broadcast",
            "--channel",
            "whatsapp",
            "--now",
            NOW,
            "--no-link-check",
        ],
        true,
    );
    assert_eq!(fake.messages().len(), 9, "4 + 5 accepted, F refused twice");

    let server = runtime.block_on(site.serve_in_process());
    let hook = format!("{}/webhooks/whatsapp", server.url());
    let posted = runtime
        .block_on(fake.post_status_webhooks(&hook, APP_SECRET, |m| fate(&m.to)))
        .unwrap();
    // A, D: sent+delivered+read twice-ish: (A 3 + D 3 on the biotonne, A 3 on the closure),
    // B, E: 2 each per notice, C: 1 failed per notice.
    assert_eq!(posted, 3 + 3 + 3 + 2 * 4 + 2);
    // E writes STOP an hour after the broadcast.
    let stop_at = ts("2026-11-28T12:00:00Z").as_second();
    let stop = inbound_json("wamid.stop-e", "STOP", stop_at);
    assert_eq!(runtime.block_on(signed_post(&server.url(), &stop)), 200);

    // First pull leaves the events in the inbox (--no-ack); the second fetches them again.
    run(
        &site,
        &["inbox", "pull", "--url", &server.url(), "--no-ack"],
        true,
    );
    let first = reach_json(&state);
    let ledger = std::fs::read_to_string(state.join("inbox/reach-ledger.json")).unwrap();
    run(&site, &["inbox", "pull", "--url", &server.url()], true);
    assert_eq!(
        reach_json(&state),
        first,
        "a second pull of the same events counted again"
    );
    assert_eq!(
        std::fs::read_to_string(state.join("inbox/reach-ledger.json")).unwrap(),
        ledger
    );

    // The reach numbers are the journal's.
    let journal = Journal::open(&journal_dir(&state)).unwrap();
    let messages = first["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    for m in messages {
        let key = m["msg"].as_str().unwrap();
        assert!(
            journal
                .index_lines()
                .iter()
                .any(|l| l.msg == key && l.event == IndexEvent::Started)
        );
        let log = journal.deliveries(key, "whatsapp").unwrap();
        let accepted = log
            .last
            .values()
            .filter(|l| l.state == DeliveryState::Sent)
            .count() as u64;
        assert_eq!(m["audience"], log.last.len() as u64, "{key}");
        assert_eq!(m["accepted"], accepted, "{key}");
    }
    let closure = messages
        .iter()
        .find(|m| m["msg"].as_str().unwrap().contains("sperrung"))
        .unwrap();
    let bin = messages
        .iter()
        .find(|m| m["msg"].as_str().unwrap().contains("biotonne"))
        .unwrap();
    for (m, audience, accepted, delivered, read, billed, free) in [
        (closure, 5, 4, 3, 1, 3, None),
        (bin, 6, 5, 4, 2, 3, Some(1)),
    ] {
        assert_eq!(m["audience"], audience);
        assert_eq!(m["accepted"], accepted);
        assert_eq!(m["delivered"], delivered);
        assert_eq!(m["read"], read);
        assert_eq!(m["failed"], serde_json::json!({"131026": 1, "131049": 1}));
        assert_eq!(
            (m["uncertain"].as_u64(), m["deferred"].as_u64()),
            (Some(0), Some(0))
        );
        assert_eq!(m["billable"], serde_json::json!({"utility": billed}));
        assert_eq!(m["free"]["utility"].as_u64(), free);
        assert_eq!(m["unsubscribed_48h"], 1, "E's STOP follows both");
    }

    // The report, hand-computed (tests/fixtures/report/README.md explains every number).
    let out_dir = site.tmp.path().join("out");
    let svg = out_dir.join("bericht.svg");
    let markdown = stdout(&run(
        &site,
        &[
            "report",
            "--month",
            "2026-11",
            "--format",
            "markdown",
            "--svg",
            svg.to_str().unwrap(),
            "--now",
            REPORT_NOW,
        ],
        true,
    ));
    assert_fixture("2026-11.md", &markdown);
    let csv = stdout(&run(
        &site,
        &[
            "report", "--month", "2026-11", "--format", "csv", "--now", REPORT_NOW,
        ],
        true,
    ));
    assert_fixture("2026-11.csv", &csv);
    let json = stdout(&run(
        &site,
        &[
            "report", "--year", "2026", "--format", "json", "--now", REPORT_NOW,
        ],
        true,
    ));
    let text = stdout(&run(
        &site,
        &["report", "--month", "2026-11", "--now", REPORT_NOW],
        true,
    ));
    assert_fixture("2026-11.txt", &text);
    // Without the key: the reach and cost, and a line saying the trend needs the key.
    let keyless = stdout(&run(
        &site,
        &[
            "report", "--month", "2026-11", "--format", "markdown", "--now", REPORT_NOW,
        ],
        false,
    ));
    let reach_part = markdown.split("### Abonnentinnen").next().unwrap();
    let without_image: String = reach_part
        .lines()
        .filter(|l| !l.starts_with("!["))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .replacen("\n\n", "\n", 1);
    assert!(
        keyless.starts_with(without_image.trim_end()),
        "the reach table needs no key:\n{keyless}"
    );
    assert!(
        keyless.contains("braucht den Schlüssel der Liste"),
        "{keyless}"
    );
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    for (what, content) in [
        ("reach.json", serde_json::to_string(&first).unwrap()),
        ("reach-ledger.json", ledger),
        ("markdown", markdown),
        ("csv", csv),
        ("json", json),
        ("text", text),
        ("keyless", keyless.clone()),
        ("svg", svg_text.clone()),
    ] {
        assert_no_personal_data(what, &content);
    }
    assert_well_formed_chart(&svg_text);
    // The README shows this very chart.
    assert_file(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/images/report-example.svg"),
        &svg_text,
    );

    // After a publishing run the pipeline puts the month's reach and cost into the job summary,
    // without the list's key even where the step has it.
    let summary = site.tmp.path().join("summary.md");
    let step = Command::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/pipeline"))
        .arg("report")
        .env("AUSHANG", env!("CARGO_BIN_EXE_aushang"))
        .env("AUSHANG_ROOT", &site.root)
        .env("PUBLISH_NOW", REPORT_NOW)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("AUSHANG_IDENTITY", &site.secret)
        .env_remove("AUSHANG_STATE_DIR")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    assert!(
        step.status.success(),
        "{}",
        String::from_utf8_lossy(&step.stderr)
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    // A job summary shows no local picture: the chart is written for the upload step, and the
    // summary names the artifact instead of linking the file.
    let chart_line = summary
        .lines()
        .find(|l| l.starts_with("Das Diagramm"))
        .unwrap_or_else(|| panic!("no chart line:\n{summary}"));
    assert!(
        chart_line.contains("Artefakt „reichweite-und-kosten“") && !summary.contains("!["),
        "{summary}"
    );
    assert_eq!(
        summary
            .replacen(&format!("{chart_line}\n\n"), "", 1)
            .trim_end(),
        keyless.trim_end()
    );
    let chart =
        std::fs::read_to_string(site.root.join(".aushang-report/reichweite-und-kosten.svg"))
            .expect("the pipeline writes the chart where the workflow uploads it from");
    assert_well_formed_chart(&chart);
    assert_no_personal_data("job summary", &summary);
    assert_no_personal_data("job summary chart", &chart);
}

/// Parses the SVG as XML and checks the accessible name and description it references.
fn assert_well_formed_chart(svg: &str) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut stack: Vec<String> = Vec::new();
    let mut root_attrs = Vec::new();
    let mut title = String::new();
    let mut desc = String::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if stack.is_empty() {
                    for a in e.attributes() {
                        let a = a.unwrap();
                        root_attrs.push((
                            String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                            String::from_utf8(a.value.to_vec()).unwrap(),
                        ));
                    }
                }
                stack.push(name);
            }
            Event::End(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.as_str()),
                    "unbalanced tags"
                );
            }
            Event::Text(t) => {
                let t = t.decode().unwrap().into_owned();
                match stack.as_slice() {
                    [root, leaf] if root == "svg" && leaf == "title" => title.push_str(&t),
                    [root, leaf] if root == "svg" && leaf == "desc" => desc.push_str(&t),
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    let attr = |k: &str| {
        root_attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(attr("role").as_deref(), Some("img"));
    assert_eq!(
        attr("aria-labelledby").as_deref(),
        Some("chart-title chart-desc")
    );
    assert!(title.contains("November 2026"), "{title}");
    assert!(
        desc.contains("2 Versände") && desc.contains("Tabelle"),
        "{desc}"
    );
    assert!(svg.contains("<title id=\"chart-title\">") && svg.contains("<desc id=\"chart-desc\">"));
}

fn totals(reach: &serde_json::Value, field: &str) -> u64 {
    reach["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[field].as_u64().unwrap())
        .sum()
}

#[test]
fn an_uncertain_delivery_counts_as_uncertain_until_its_status_settles_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = FakeConfig {
        // the first message is taken, but its answer never comes
        inject: vec![
            Injection::drop_at_call(1, true),
            Injection::code_for_number(F, 131026),
        ],
        ..Default::default()
    };
    let fake = runtime.block_on(FakeGraph::start(config)).unwrap();
    let site = site(&fake);
    let state = site.root.join("subscribers");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aushang"));
    let out = cmd
        .arg("--root")
        .arg(&site.root)
        .args([
            "broadcast",
            "--channel",
            "whatsapp",
            "--now",
            NOW,
            "--no-link-check",
        ])
        .env("AUSHANG_IDENTITY", &site.secret)
        .env("WHATSAPP_TOKEN", "fake-token")
        .env_remove("AUSHANG_STATE_DIR")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an uncertain delivery fails the run"
    );
    assert_eq!(fake.messages().len(), 9);

    let server = runtime.block_on(site.serve_in_process());
    run(&site, &["inbox", "pull", "--url", &server.url()], true);
    let before = reach_json(&state);
    assert_eq!(
        (totals(&before, "accepted"), totals(&before, "uncertain")),
        (8, 1)
    );
    assert_eq!(totals(&before, "delivered"), 0);

    let hook = format!("{}/webhooks/whatsapp", server.url());
    // Over HTTP this time, as with `aushang-dev fake-graph-api`.
    let answer: serde_json::Value = runtime
        .block_on(async {
            reqwest::Client::new()
                .post(format!("{}/_fake/statuses", fake.base_url()))
                .json(&serde_json::json!({"url": hook, "app_secret": APP_SECRET, "fate": "delivered"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
        })
        .unwrap();
    assert_eq!(
        answer["posted"], 18,
        "sent and delivered for each of the 9 messages"
    );
    run(&site, &["inbox", "pull", "--url", &server.url()], true);
    let after = reach_json(&state);
    assert_eq!(
        (totals(&after, "accepted"), totals(&after, "uncertain")),
        (9, 0),
        "the status settled the uncertain delivery in the journal"
    );
    assert_eq!(totals(&after, "delivered"), 9);
    let journal = Journal::open(&journal_dir(&state)).unwrap();
    for m in after["messages"].as_array().unwrap() {
        let log = journal
            .deliveries(m["msg"].as_str().unwrap(), "whatsapp")
            .unwrap();
        let sent = log
            .last
            .values()
            .filter(|l| l.state == DeliveryState::Sent)
            .count() as u64;
        assert_eq!(m["accepted"], sent);
        assert_eq!(
            m["billable"]["utility"], m["delivered"],
            "every delivery billed"
        );
    }
}

#[test]
fn the_journal_and_records_of_0_2_give_a_reach() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("subscribers");
    copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats/site/subscribers"),
        &state,
    );
    let reach = aushang::inbox::reach::update(&state, ts("2026-12-01T00:00:00Z")).unwrap();
    assert_eq!(
        reach.messages.len(),
        1,
        "a notice only marked as sent was not sent"
    );
    let m = &reach.messages[0];
    assert_eq!(m.msg, "/bekanntmachungen/2026/wasserleitung/#notice");
    assert_eq!((m.audience, m.accepted, m.uncertain), (3, 1, 1));
    assert_eq!(m.failed, std::collections::BTreeMap::from([(131026, 1)]));
    let written = std::fs::read_to_string(state.join("inbox/reach.json")).unwrap();
    assert_no_personal_data("reach.json of 0.2", &written);
    assert!(!written.contains("s_8f8aa02ed522339f") && !written.contains("wamid"));
}
