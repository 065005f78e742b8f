//! The budget guard end to end: the real binary against the fake Graph API (as in
//! tests/broadcast.rs), with a rate card and `broadcast.budget` in aushang.yaml. Every test
//! checks, from the fake's record of accepted messages, that nobody got a message twice and
//! that whoever the budget deferred gets it once a later run may send.

#[path = "broadcast/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::HashMap;

use support::*;

const RATE: &str = "0.10";

/// A site with `n` subscribers, WhatsApp at 0,10 EUR (utility) / 0,25 EUR (marketing) and the
/// budget lines given (YAML under `broadcast.budget`).
fn site(fake: &Fake, n: usize, budget: &str) -> Site {
    let site = Site::new(Settings::new(&fake.api_url()), actives(n));
    set_budget(&site, budget);
    site
}

fn set_budget(site: &Site, budget: &str) {
    site.write_config();
    let path = site.root.join("aushang.yaml");
    let mut yaml = std::fs::read_to_string(&path).unwrap();
    yaml.push_str(&format!(
        "      prices:\n        currency: EUR\n        utility: {RATE}\n        marketing: 0.25\n  budget:\n{budget}"
    ));
    std::fs::write(path, yaml).unwrap();
}

fn notice(site: &Site, slug: &str, date: &str) {
    site.notice(
        &format!("2026-11-28-{slug}"),
        &format!("title: Titel {slug}\ndate: {date}\nsummary: Kurzfassung zu {slug}."),
    );
}

/// Messages per subscriber id for one notice slug.
fn received(site: &Site, fake: &Fake, slug: &str) -> HashMap<String, usize> {
    let suffix = format!("bekanntmachungen/2026/{slug}/");
    let mut out = HashMap::new();
    for (id, msgs) in by_subscriber(site, &fake.messages()) {
        let n = msgs
            .iter()
            .filter(|m| m.button_suffix.as_deref() == Some(suffix.as_str()))
            .count();
        if n > 0 {
            out.insert(id, n);
        }
    }
    out
}

fn in_actions(site: &Site, args: &[&str]) -> Run {
    let mut all = vec!["broadcast", "--no-link-check"];
    all.extend_from_slice(args);
    site.run_env(&all, |c| {
        c.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTOR", "buergermeisterin");
    })
}

fn approval_lines(site: &Site) -> Vec<serde_json::Value> {
    std::fs::read_to_string(site.journal_dir().join("budget.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_budget_stops_the_run_mid_audience_and_an_approval_sends_exactly_the_rest() {
    let fake = Fake::healthy();
    // 1,05 EUR at 0,10 EUR: floor(10.5) = 10 of 25.
    let site = site(&fake, 25, "    monthly: 1.05\n");
    notice(&site, "sperrung", "2026-12-02 08:00");
    let first = in_actions(&site, &["--now", "2026-12-02 10:00"]);
    assert_eq!(first.code, 5, "{first:?}");
    let got = received(&site, &fake, "sperrung");
    assert_eq!(got.len(), 10, "{first:?}");
    assert!(got.values().all(|n| *n == 1));
    assert!(
        first.stdout.contains(
            "::warning title=Versand::Titel sperrung (/bekanntmachungen/2026/sperrung/#notice): 15 \
             wegen des Budgets zurückgestellt (Monatsbudget 1,05 EUR für Dezember 2026 erreicht, \
             bisher 1,00 EUR verbraucht)"
        ) && first
            .stdout
            .contains("approve_over_budget=/bekanntmachungen/2026/sperrung/"),
        "{first:?}"
    );
    // Not complete: the rest stays due.
    assert_eq!(site.index_events(&key("sperrung")), ["started"]);

    // Without approval, a rerun sends nothing more and says so again; the due check waits.
    let again = in_actions(&site, &["--now", "2026-12-02 10:30"]);
    assert_eq!(again.code, 5, "{again:?}");
    assert_eq!(fake.messages().len(), 10);
    assert!(
        again.stdout.contains("15 wegen des Budgets zurückgestellt"),
        "{again:?}"
    );
    let due = site.run(&["broadcast", "--due", "--now", "2026-12-02 10:30"]);
    assert!(
        due.stdout.contains("due=false") && due.stdout.contains("(Budget erreicht: Monatsbudget"),
        "{due:?}"
    );

    // A person approves from the Actions tab: who, when and how much go into the journal.
    let approve = in_actions(
        &site,
        &[
            "--approve-budget",
            "/bekanntmachungen/2026/sperrung/",
            "--now",
            "2026-12-02 11:00",
        ],
    );
    assert_eq!(approve.code, 0, "{approve:?}");
    assert!(
        approve
            .stdout
            .contains("darf 1,50 EUR mehr kosten (15 ausstehende Empfänger) (von buergermeisterin"),
        "{approve:?}"
    );
    assert_eq!(fake.messages().len(), 10, "approving sends nothing");
    let lines = approval_lines(&site);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["notice"], "/bekanntmachungen/2026/sperrung/");
    assert_eq!(lines[0]["by"], "buergermeisterin");
    assert_eq!(lines[0]["amount"], "1.5");
    assert_eq!(lines[0]["currency"], "EUR");
    assert_eq!(lines[0]["recipients"], 15);
    assert_eq!(lines[0]["t"], "2026-12-02T10:00:00Z");
    assert_eq!(
        lines[0]["spent_before"], "1",
        "the ten sent before the approval"
    );

    let rest = in_actions(&site, &["--now", "2026-12-02 11:05"]);
    assert_eq!(rest.code, 0, "{rest:?}");
    let got = received(&site, &fake, "sperrung");
    assert_eq!(got.len(), 25, "nobody skipped: {rest:?}");
    assert!(got.values().all(|n| *n == 1), "nobody twice: {got:?}");
    assert_eq!(
        site.index_events(&key("sperrung")),
        ["started", "completed"]
    );
    site.assert_files_leak_free();
}

#[test]
fn the_claim_takes_only_what_the_budget_allows_and_the_next_claim_after_approval_the_rest() {
    let fake = Fake::healthy();
    let site = site(&fake, 12, "    monthly: 0.5\n");
    notice(&site, "wahl", "2026-12-02 08:00");
    let now = ["--now", "2026-12-02 10:00"];
    let claim =
        |run: &str| in_actions(&site, &["--channel", "all", "--claim", run, now[0], now[1]]);
    let send = |run: &str| in_actions(&site, &["--channel", "all", "--run", run, now[0], now[1]]);

    let first = claim("run-1");
    assert_eq!(first.code, 5, "{first:?}");
    assert!(
        first
            .stdout
            .contains("::warning title=Budget erreicht::Titel wahl")
            && first
                .stdout
                .contains("5 übernommen, 7 wegen des Budgets zurückgestellt"),
        "{first:?}"
    );
    let claimed = |run: &str| {
        site.delivery_lines(&key("wahl"))
            .iter()
            .filter(|l| l["state"] == "claimed" && l["run"] == run)
            .count()
    };
    assert_eq!(claimed("run-1"), 5, "claims only for what this run sends");
    assert_eq!(send("run-1").code, 0);
    assert_eq!(received(&site, &fake, "wahl").len(), 5);
    // The 7 held back before anything was claimed for them have no journal line, yet the reach
    // counts them: in the audience, deferred (from journal/held-back.jsonl: counts, no ids).
    assert_eq!(site.last_states(&key("wahl")).len(), 5);
    assert_eq!(reach(&site, "wahl"), (12, 5, 7));
    let held = std::fs::read_to_string(site.journal_dir().join("held-back.jsonl")).unwrap();
    assert!(held.contains("\"by_budget\":7"), "{held}");
    for sub in &site.subs {
        assert!(
            !held.contains(&sub.id) && !held.contains(&sub.number[3..]),
            "{held}"
        );
    }

    let second = claim("run-2");
    assert_eq!(second.code, 5, "{second:?}");
    assert_eq!(claimed("run-2"), 0);
    assert_eq!(send("run-2").code, 0);
    assert_eq!(fake.messages().len(), 5);
    assert_eq!(reach(&site, "wahl"), (12, 5, 7), "still 7 waiting, not 14");

    let approve = in_actions(&site, &["--approve-budget", "wahl", now[0], now[1]]);
    assert_eq!(approve.code, 0, "{approve:?}");
    assert_eq!(approval_lines(&site)[0]["recipients"], 7);
    let third = claim("run-3");
    assert_eq!(third.code, 0, "{third:?}");
    assert_eq!(claimed("run-3"), 7);
    assert_eq!(send("run-3").code, 0);
    let got = received(&site, &fake, "wahl");
    assert_eq!(got.len(), 12);
    assert!(got.values().all(|n| *n == 1), "{got:?}");
    assert_eq!(
        reach(&site, "wahl"),
        (12, 12, 0),
        "nobody deferred any more, nobody counted twice"
    );
    assert_eq!(claim("run-4").code, 3, "nothing left to claim");
}

/// Audience, accepted and deferred of one notice in the reach (`inbox::reach`).
fn reach(site: &Site, slug: &str) -> (u64, u64, u64) {
    let r = aushang::inbox::reach::compute(&site.root.join("subscribers")).unwrap();
    let m = r
        .messages
        .into_iter()
        .find(|m| m.msg == key(slug) && m.channel == "whatsapp")
        .expect("the notice is in the reach");
    (m.audience, m.accepted, m.deferred)
}

#[test]
fn a_per_notice_budget_caps_each_notice_on_its_own() {
    let fake = Fake::healthy();
    let site = site(&fake, 8, "    per_notice: 0.5\n");
    notice(&site, "erste", "2026-12-02 08:00");
    notice(&site, "zweite", "2026-12-02 08:30");
    let run = in_actions(&site, &["--now", "2026-12-02 10:00"]);
    assert_eq!(run.code, 5, "{run:?}");
    for slug in ["erste", "zweite"] {
        let got = received(&site, &fake, slug);
        assert_eq!(got.len(), 5, "{slug}: {run:?}");
        assert!(got.values().all(|n| *n == 1));
    }
    assert!(
        run.stdout.contains(
            "3 wegen des Budgets zurückgestellt (Budget je Bekanntmachung 0,50 EUR erreicht"
        ),
        "{run:?}"
    );
    // Raising the budget lets the next run finish both, nobody twice.
    set_budget(&site, "    per_notice: 1\n");
    let raised = in_actions(&site, &["--now", "2026-12-02 10:30"]);
    assert_eq!(raised.code, 0, "{raised:?}");
    for slug in ["erste", "zweite"] {
        let got = received(&site, &fake, slug);
        assert_eq!(got.len(), 8, "{slug}");
        assert!(got.values().all(|n| *n == 1));
    }
}

#[test]
fn a_new_month_brings_a_new_budget_and_the_deferred_get_the_message_then() {
    let fake = Fake::healthy();
    let site = site(&fake, 25, "    monthly: 1\n");
    notice(&site, "laub", "2026-11-30 08:00");
    assert_eq!(in_actions(&site, &["--now", "2026-11-30 10:00"]).code, 5);
    assert_eq!(received(&site, &fake, "laub").len(), 10);
    assert_eq!(in_actions(&site, &["--now", "2026-11-30 20:00"]).code, 5);
    assert_eq!(fake.messages().len(), 10, "November's budget is used up");
    // December's budget: the morning run sends December's share.
    assert_eq!(in_actions(&site, &["--now", "2026-12-01 08:00"]).code, 5);
    assert_eq!(received(&site, &fake, "laub").len(), 20);
    assert_eq!(in_actions(&site, &["--now", "2026-12-20 08:00"]).code, 5);
    assert_eq!(fake.messages().len(), 20);
    // Started means finished: January sends the last five, however old the notice is.
    let january = in_actions(&site, &["--now", "2027-01-02 08:00"]);
    assert_eq!(january.code, 0, "{january:?}");
    let got = received(&site, &fake, "laub");
    assert_eq!(got.len(), 25);
    assert!(got.values().all(|n| *n == 1), "{got:?}");
}

#[test]
fn the_dry_run_estimates_recipients_times_rate_and_what_the_budget_defers() {
    let fake = Fake::healthy();
    let site = site(&fake, 25, "    monthly: 1.05\n");
    notice(&site, "fest", "2026-12-02 08:00");
    let preview = site.run(&["broadcast", "--dry-run", "--now", "2026-12-02 10:00"]);
    assert_eq!(preview.code, 0, "{preview:?}");
    let out = &preview.stdout;
    assert!(out.contains("- Empfänger: 25\n"), "{preview:?}");
    assert!(
        out.contains("- Geschätzte Kosten (WhatsApp, utility): 25 × 0,10 EUR = 2,50 EUR\n"),
        "{preview:?}"
    );
    assert!(
        out.contains(
            "- Budget: Monatsbudget 1,05 EUR, im Dezember 2026 bisher 0,00 EUR verbraucht\n"
        ) && out.contains("- Über dem Budget: 15 Empfänger würden zurückgestellt"),
        "{preview:?}"
    );
    assert!(fake.messages().is_empty());

    // Meta moved the template to MARKETING (recorded by `inbox pull`): billed at that rate.
    let inbox = site.root.join("subscribers/inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(
        inbox.join("templates.json"),
        format!(
            "{{\"templates\":{{\"{NOTICE_TEMPLATE}/de\":{{\"name\":\"{NOTICE_TEMPLATE}\",\
             \"language\":\"de\",\"category\":\"MARKETING\"}}}}}}"
        ),
    )
    .unwrap();
    let marketing = site.run(&["broadcast", "--dry-run", "--now", "2026-12-02 10:00"]);
    assert!(
        marketing
            .stdout
            .contains("- Geschätzte Kosten (WhatsApp, marketing): 25 × 0,25 EUR = 6,25 EUR\n"),
        "{marketing:?}"
    );
    // Without the key (a fork's pull request) the rate is shown, the count is unknown.
    let no_key = site.run_env(
        &["broadcast", "--dry-run", "--now", "2026-12-02 10:00"],
        |c| {
            c.env_remove("AUSHANG_IDENTITY");
        },
    );
    assert!(
        no_key
            .stdout
            .contains("Empfänger × 0,25 EUR (Empfängerzahl unbekannt)"),
        "{no_key:?}"
    );
}

#[test]
fn check_names_the_line_of_a_bad_price_or_budget() {
    let fake = Fake::healthy();
    let site = site(&fake, 1, "    monthly: 10\n");
    let path = site.root.join("aushang.yaml");
    let yaml = std::fs::read_to_string(&path)
        .unwrap()
        .replace("marketing: 0.25", "marketing: -0.25\n        promo: 0.3");
    std::fs::write(&path, &yaml).unwrap();
    let line_of = |needle: &str| yaml.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let check = site.run(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    let all = format!("{}{}", check.stdout, check.stderr);
    assert!(
        all.contains(&format!("aushang.yaml:{}:", line_of("marketing: -0.25")))
            && all.contains("ist negativ"),
        "{check:?}"
    );
    assert!(
        all.contains(&format!("aushang.yaml:{}:", line_of("promo:")))
            && all.contains("unbekannte Preiskategorie `promo`"),
        "{check:?}"
    );
}

#[test]
fn an_approved_amount_lets_exactly_that_much_more_go_out_and_a_raised_budget_the_rest() {
    let fake = Fake::healthy();
    let site = site(&fake, 10, "    monthly: 0.3\n");
    notice(&site, "markt", "2026-12-02 08:00");
    assert_eq!(in_actions(&site, &["--now", "2026-12-02 10:00"]).code, 5);
    assert_eq!(received(&site, &fake, "markt").len(), 3);
    let approve = in_actions(
        &site,
        &[
            "--approve-budget",
            "bekanntmachungen/2026/markt",
            "--approve-amount",
            "0.45",
            "--now",
            "2026-12-02 10:10",
        ],
    );
    assert_eq!(approve.code, 0, "{approve:?}");
    assert_eq!(approval_lines(&site)[0]["amount"], "0.45");
    assert_eq!(approval_lines(&site)[0].get("recipients"), None);
    // 0,45 EUR at 0,10 EUR: four more, the other three still wait.
    let run = in_actions(&site, &["--now", "2026-12-02 10:20"]);
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(received(&site, &fake, "markt").len(), 7);
    assert!(
        run.stdout.contains("3 wegen des Budgets zurückgestellt"),
        "{run:?}"
    );
    // A raised monthly budget: 0,70 EUR of 1,00 EUR spent, so exactly the last three.
    set_budget(&site, "    monthly: 1\n");
    let raised = in_actions(&site, &["--now", "2026-12-02 10:30"]);
    assert_eq!(raised.code, 0, "{raised:?}");
    let got = received(&site, &fake, "markt");
    assert_eq!(got.len(), 10);
    assert!(got.values().all(|n| *n == 1), "{got:?}");
}

/// Uncertain deliveries come before the budget: a run that claimed and died leaves its claims
/// uncertain (and counted as spent), so the next claim finds nothing to take, uncertain ones
/// waiting and the rest deferred by the budget. It must exit 4 (a person decides first), not 5
/// (which would let `scripts/pipeline claim-send` go on as if only money were the matter).
#[test]
fn a_claim_with_uncertain_deliveries_and_a_reached_budget_exits_4_not_5() {
    let fake = Fake::healthy();
    let site = site(&fake, 12, "    monthly: 0.5\n");
    notice(&site, "wahl", "2026-12-02 08:00");
    let now = ["--now", "2026-12-02 10:00"];
    let claim =
        |run: &str| in_actions(&site, &["--channel", "all", "--claim", run, now[0], now[1]]);

    let first = claim("run-1");
    assert_eq!(first.code, 5, "five claimed, seven deferred: {first:?}");
    // run-1 dies before sending: its five claims are another run's claims without an outcome.
    // The due check asks for a run (not "Budget erreicht"), so a person hears of them.
    let due = || site.run(&["broadcast", "--due", now[0], now[1]]).stdout;
    let before = due();
    assert!(
        before.contains("due=true") && before.contains("unsichere Zustellungen zu klären"),
        "{before}"
    );
    let second = claim("run-2");
    assert_eq!(second.code, 4, "{second:?}");
    assert!(
        second.stdout.contains("unsicher 5") && second.stdout.contains("7 wegen des Budgets"),
        "both reasons are still reported: {second:?}"
    );
    assert_eq!(fake.messages().len(), 0, "claiming sends nothing");
    assert!(
        site.delivery_lines(&key("wahl"))
            .iter()
            .all(|l| l["run"] != "run-2"),
        "run-2 claimed nobody"
    );

    // Having said so once, the scheduled due check waits for the decision.
    let after = due();
    assert!(
        after.contains("due=false")
            && after.contains("wartet auf die Klärung unsicherer Zustellungen"),
        "{after}"
    );
    // Once a person accepts them, the budget alone is left: exit 5 again.
    let accept = in_actions(
        &site,
        &[
            "--channel",
            "all",
            "--claim",
            "run-3",
            "--accept-uncertain",
            now[0],
            now[1],
        ],
    );
    assert_eq!(accept.code, 5, "{accept:?}");
    let last = due();
    assert!(
        last.contains("due=false") && last.contains("Budget erreicht"),
        "{last}"
    );
}
