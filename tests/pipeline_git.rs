//! Exactly once against real git remotes: `scripts/pipeline publish-run` end to end with a bare
//! repository as origin (its `pre-receive` hook rejects chosen pushes), fresh clones as the
//! runners and a second clone as the admin, the fake Graph API as WhatsApp. In every case no
//! recipient gets a notice twice and whoever is not served is reported (docs/exactly-once.md).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aushang::devtools::fake_graph::{AcceptedMessage, FakeConfig, FakeGraph};
use aushang::subscribers::{Identity, Status, Subscriber, SubscriberList};
use common::{PULL_TOKEN, git, repo, text};

const NOW: &str = "2026-11-28 12:00";
const NUMBERS: [&str; 4] = [
    "+4915200000101",
    "+4915200000102",
    "+4915200000103",
    "+4915200000105",
];

fn subscriber(i: usize, topics: &[&str], status: Status) -> Subscriber {
    common::whatsapp_subscriber(i, NUMBERS[i], topics, status)
}

/// The pre-receive hook: rejects a push to `aushang-state` when a commit subject in it matches
/// the pattern in any `reject-*` file in the bare repository.
const HOOK: &str = r#"#!/bin/sh
while read -r old new ref; do
  [ "$ref" = refs/heads/aushang-state ] || continue
  for marker in ./reject-*; do
    [ -f "$marker" ] || continue
    if [ "$old" = 0000000000000000000000000000000000000000 ]; then range=$new; else range=$old..$new; fi
    if git log --format=%s "$range" | grep -q "$(cat "$marker")"; then
      echo "rejected by the test hook ($marker)" >&2
      exit 1
    fi
  done
done
exit 0
"#;

/// A town: the example site with its own key and three subscribers (two active), pushed to a
/// bare origin with the rejecting hook.
struct Town {
    tmp: tempfile::TempDir,
    origin: PathBuf,
    secret: String,
    identity: Identity,
    fake: FakeGraph,
    runtime: tokio::runtime::Runtime,
    inbox_url: Option<String>,
}

impl Town {
    fn new(fake_config: FakeConfig) -> Town {
        Town::with_inbox(fake_config, None)
    }

    fn with_inbox(fake_config: FakeConfig, inbox_url: Option<String>) -> Town {
        Town::build(fake_config, inbox_url, "")
    }

    /// With more channels in aushang.yaml after WhatsApp's section (`extra`, indented 4).
    fn build(fake_config: FakeConfig, inbox_url: Option<String>, extra: &str) -> Town {
        let tmp = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let fake = runtime.block_on(FakeGraph::start(fake_config)).unwrap();
        let site = tmp.path().join("seed");
        common::copy_example_tree(&site);
        let config = std::fs::read_to_string(repo().join("aushang.yaml")).unwrap();
        let mut config = config.replace(
            "      phone_number_id: \"100000000000001\"\n",
            &format!(
                "      phone_number_id: \"100000000000001\"\n      api_url: {}\n",
                fake.api_url()
            ),
        );
        assert!(
            config.contains(&fake.api_url()),
            "the example changed shape"
        );
        if !extra.is_empty() {
            let anchor = "      daily_limit: 250\n";
            assert!(config.contains(anchor), "the example changed shape");
            config = config.replace(anchor, &format!("{anchor}{extra}"));
        }
        if let Some(url) = &inbox_url {
            config = config.replace("https://inbox.musterbach.example/", url);
            assert!(config.contains(url.as_str()), "the example changed shape");
        }
        std::fs::write(site.join("aushang.yaml"), config).unwrap();
        std::fs::write(
            site.join(".gitignore"),
            "/public\n/outbox\n/.aushang.lock\n/.aushang-state/\n/.aushang-inbox-ack\n",
        )
        .unwrap();
        let (identity, secret) = common::write_own_list(
            &site,
            vec![
                subscriber(0, &[], Status::Active),
                subscriber(1, &["abfall"], Status::Active),
                subscriber(2, &[], Status::Pending),
            ],
        );
        let origin = tmp.path().join("origin.git");
        std::fs::create_dir_all(&origin).unwrap();
        git(&origin, &["init", "--bare", "--quiet"]);
        let hook = origin.join("hooks/pre-receive");
        std::fs::write(&hook, HOOK).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        git(&site, &["init", "--quiet"]);
        git(&site, &["add", "-A"]);
        git(&site, &["commit", "--quiet", "-m", "Town site"]);
        git(
            &site,
            &["push", "--quiet", origin.to_str().unwrap(), "HEAD:main"],
        );
        Town {
            tmp,
            origin,
            secret,
            identity,
            fake,
            runtime,
            inbox_url,
        }
    }

    /// A fresh clone of origin, as a new runner checks it out (shallow, like actions/checkout).
    fn clone(&self, name: &str) -> PathBuf {
        let dir = self.tmp.path().join(name);
        let url = format!("file://{}", self.origin.display());
        git(
            self.tmp.path(),
            &["clone", "--quiet", "--depth=1", &url, dir.to_str().unwrap()],
        );
        dir
    }

    fn reject(&self, name: &str, subject_pattern: &str) {
        std::fs::write(self.origin.join(format!("reject-{name}")), subject_pattern).unwrap();
    }

    fn allow(&self, name: &str) {
        std::fs::remove_file(self.origin.join(format!("reject-{name}"))).unwrap();
    }

    fn command(&self, checkout: &Path, step: &str, env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(repo().join("scripts/pipeline"));
        cmd.arg(step)
            .current_dir(checkout)
            .env_remove("AUSHANG_INBOX_PULL_TOKEN")
            .env_remove("AUSHANG_STATE_DIR")
            .env_remove("AUSHANG_RUN_ID")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("UNCERTAIN")
            .env("AUSHANG", env!("CARGO_BIN_EXE_aushang"))
            .env("AUSHANG_ROOT", checkout)
            .env("PUBLISH_NOW", NOW)
            .env("AUSHANG_IDENTITY", &self.secret)
            .env("WHATSAPP_TOKEN", "fake-token")
            .env("GIT_AUTHOR_NAME", "aushang")
            .env("GIT_AUTHOR_EMAIL", "aushang@example.org")
            .env("BROADCAST_FLAGS", "--no-link-check")
            .env("PUSH_RETRY_SLEEP", "0")
            .envs(env.iter().copied());
        if self.inbox_url.is_some() {
            cmd.env("AUSHANG_INBOX_PULL_TOKEN", PULL_TOKEN);
        }
        cmd
    }

    /// Runs a pipeline step in `checkout`; no step may print a full number.
    /// `aushang subscribers ARGS` in the admin's checkout, on the list of its state branch.
    fn admin_subscribers(&self, admin: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_aushang"))
            .arg("--root")
            .arg(admin)
            .arg("subscribers")
            .args(args)
            .env(
                "AUSHANG_STATE_DIR",
                admin.join(".aushang-state/subscribers"),
            )
            .env("AUSHANG_IDENTITY", &self.secret)
            .output()
            .unwrap()
    }

    fn run(&self, checkout: &Path, step: &str, env: &[(&str, &str)]) -> Output {
        let out = self.command(checkout, step, env).output().unwrap();
        no_numbers(step, &text(&out));
        out
    }

    /// What origin's state branch holds at `path` (empty when absent).
    fn state_file(&self, path: &str) -> String {
        let out = Command::new("git")
            .args(["show", &format!("aushang-state:{path}")])
            .current_dir(&self.origin)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every journal line on origin's state branch in state `state`.
    fn origin_lines(&self, state: &str) -> usize {
        let out = Command::new("git")
            .args([
                "grep",
                "-h",
                &format!("\"state\":\"{state}\""),
                "aushang-state",
            ])
            .args(["--", "subscribers/journal/deliveries"])
            .current_dir(&self.origin)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    }

    fn notices(&self) -> Vec<AcceptedMessage> {
        self.fake
            .messages()
            .into_iter()
            .filter(|m| {
                m.correlation
                    .as_deref()
                    .is_some_and(|c| c.starts_with("m="))
            })
            .collect()
    }

    /// Fails when anyone got the same notice twice; returns the (number, notice) pairs.
    fn assert_nobody_twice(&self) -> BTreeMap<(String, String), usize> {
        let mut got: BTreeMap<(String, String), usize> = BTreeMap::new();
        for m in self.notices() {
            let c = m.correlation.clone().unwrap();
            let notice = c.split(";s=").next().unwrap().to_string();
            *got.entry((m.to.clone(), notice)).or_default() += 1;
        }
        let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "got a notice twice: {twice:?}");
        assert!(
            got.keys().all(|(to, _)| to != NUMBERS[2]),
            "a pending subscriber got a notice"
        );
        let journal = self.state_file("subscribers/journal/index.jsonl");
        no_numbers("journal", &journal);
        got
    }
}

fn no_numbers(what: &str, output: &str) {
    for n in NUMBERS {
        assert!(
            !output.contains(n),
            "{what} printed a full number:\n{output}"
        );
    }
}

/// The number of deliveries a complete run makes (run once on a separate town).
fn full_audience() -> usize {
    let town = Town::new(FakeConfig::default());
    let runner = town.clone("runner");
    let out = town.run(&runner, "publish-run", &[]);
    assert!(out.status.success(), "{}", text(&out));
    let got = town.assert_nobody_twice();
    assert!(got.len() >= 3, "the example should send several notices");
    // The run's claim and outcomes are on origin; the next run from a fresh clone sends nothing.
    assert_eq!(town.origin_lines("claimed"), got.len());
    assert_eq!(town.origin_lines("sent"), got.len());
    let again = town.run(&town.clone("next"), "publish-run", &[]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("due=false"), "{}", text(&again));
    assert_eq!(town.notices().len(), got.len(), "a fresh clone sent again");
    // A pull request's preview (no secrets) plans against the state branch's journal too.
    let pr = town.run(
        &town.clone("pull-request"),
        "pr-check",
        &[("AUSHANG_IDENTITY", ""), ("WHATSAPP_TOKEN", "")],
    );
    assert!(pr.status.success(), "{}", text(&pr));
    assert!(text(&pr).contains("Nachrichten-Vorschau"), "{}", text(&pr));
    assert!(!text(&pr).contains("Status: fällig"), "{}", text(&pr));
    got.len()
}

#[test]
fn a_run_claims_on_the_state_branch_before_sending_and_never_writes_main() {
    let total = full_audience();
    assert!(total > 0);
}

#[test]
fn a_claim_that_cannot_be_pushed_sends_nothing() {
    let town = Town::new(FakeConfig::default());
    town.reject("claims", "^Claim:");
    let runner = town.clone("runner");
    let out = town.run(&runner, "publish-run", &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("ließ sich nicht auf") && text(&out).contains("nichts wurde versandt"),
        "{}",
        text(&out)
    );
    assert_eq!(
        town.fake.messages().len(),
        0,
        "a message left without a claim"
    );
    assert_eq!(town.origin_lines("claimed"), 0);
    let main_log = git(&town.origin, &["log", "--format=%s", "main"]);
    assert_eq!(main_log.trim(), "Town site", "the pipeline wrote main");

    // Once the remote takes claims again, a fresh clone sends to everyone, once.
    town.allow("claims");
    let next = town.run(&town.clone("next"), "publish-run", &[]);
    assert!(next.status.success(), "{}", text(&next));
    let got = town.assert_nobody_twice();
    assert!(!got.is_empty());
    assert_eq!(town.origin_lines("sent"), got.len());
}

#[test]
fn outcomes_rejected_after_sending_are_uncertain_for_a_fresh_clone_and_never_resent() {
    let town = Town::new(FakeConfig::default());
    town.reject("outcomes", "^Journal: outcomes");
    let runner = town.clone("runner");
    let out = town.run(&runner, "publish-run", &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Ergebnisse von Lauf"), "{}", text(&out));
    let sent = town.assert_nobody_twice().len();
    assert!(sent > 0);
    assert_eq!(town.origin_lines("claimed"), sent, "the claim was pushed");
    assert_eq!(town.origin_lines("sent"), 0);
    town.allow("outcomes");

    // A fresh clone (the runner is gone): nothing resent, every claimed delivery reported.
    let fresh = town.run(&town.clone("fresh"), "publish-run", &[]);
    assert!(
        !fresh.status.success(),
        "uncertain ones must not pass silently"
    );
    let report = text(&fresh);
    let uncertain: usize = report
        .lines()
        .filter_map(|l| l.split(", unsicher ").nth(1))
        .map(|rest| rest.split(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(uncertain, sent, "{report}");
    assert!(report.contains("uncertain=resend"), "{report}");
    assert_eq!(town.notices().len(), sent, "a fresh clone resent");
    // Waiting on uncertain deliveries only: the due check no longer asks for a broadcast.
    let due = town.run(&town.clone("due"), "publish-run", &[]);
    assert!(due.status.success(), "{}", text(&due));
    assert!(text(&due).contains("due=false"), "{}", text(&due));

    // The original runner still holds the outcomes: its next run pushes them.
    let back = town.run(&runner, "state-checkout", &[]);
    assert!(back.status.success(), "{}", text(&back));
    assert_eq!(town.origin_lines("sent"), sent, "{}", text(&back));
    assert_eq!(town.notices().len(), sent);
    // Nothing is uncertain any more: the next run completes the notices without sending, and
    // the run after that has nothing due.
    let settle = town.run(&town.clone("settle"), "publish-run", &[]);
    assert!(settle.status.success(), "{}", text(&settle));
    assert!(text(&settle).contains("due=true"), "{}", text(&settle));
    assert_eq!(town.notices().len(), sent);
    let quiet = town.run(&town.clone("quiet"), "publish-run", &[]);
    assert!(quiet.status.success(), "{}", text(&quiet));
    assert!(text(&quiet).contains("due=false"), "{}", text(&quiet));
}

/// SIGKILL to `root` and every process below it, each by its own id (never a group or -1).
fn kill_tree(root: u32) {
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid …: the command name may hold spaces, so split after ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(parent) && !tree.contains(&pid) {
                tree.push(pid);
            }
        }
        i += 1;
    }
    for pid in tree {
        assert!(pid > 1);
        let _ = Command::new("kill")
            .args(["-s", "KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn a_run_killed_after_its_claim_is_pushed_is_not_repeated() {
    let town = Town::new(FakeConfig {
        latency_ms: 1500,
        ..FakeConfig::default()
    });
    let runner = town.clone("runner");
    let mut child = town
        .command(&runner, "publish-run", &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while town.origin_lines("claimed") == 0 || town.fake.stats().requests == 0 {
        assert!(Instant::now() < deadline, "the run never claimed and sent");
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    kill_tree(child.id());
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    let claimed = town.origin_lines("claimed");
    let log = git(&town.origin, &["log", "--format=%s", "aushang-state"]);
    assert_eq!(
        town.origin_lines("sent"),
        0,
        "the outcomes were pushed:\n{log}"
    );
    let before = town.notices().len();
    assert!(before < claimed, "the run finished before the kill");

    let fresh = town.run(&town.clone("fresh"), "publish-run", &[]);
    assert!(!fresh.status.success(), "{}", text(&fresh));
    assert!(text(&fresh).contains("uncertain"), "{}", text(&fresh));
    assert_eq!(town.notices().len(), before, "a fresh clone resent");
    town.assert_nobody_twice();

    // Resolving by hand with uncertain=resend: everyone claimed has it afterwards.
    let resend = town.run(
        &town.clone("resend"),
        "publish-run",
        &[("UNCERTAIN", "resend")],
    );
    assert!(resend.status.success(), "{}", text(&resend));
    let mut got: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in town.notices() {
        let c = m.correlation.clone().unwrap();
        *got.entry((m.to.clone(), c.split(";s=").next().unwrap().into()))
            .or_default() += 1;
    }
    assert_eq!(got.len(), claimed, "someone claimed never got the notice");
    let twice = got.values().filter(|n| **n > 1).count();
    assert!(twice <= before, "only uncertain ones may get it twice");
}

#[test]
fn an_admin_list_change_during_a_run_is_kept_and_the_events_applied_on_top() {
    let fake_config = FakeConfig::with_confirmation_template();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let town = Town::with_inbox(fake_config, Some(format!("http://{addr}/")));

    // The inbox holds a web sign-up, not yet pulled.
    let admin = town.clone("admin");
    let server_config = aushang::config::load(&admin).unwrap();
    let data = town.tmp.path().join("inbox-data");
    let server = common::start_inbox(&town.runtime, server_config, &data, addr);
    // The form's script fetches a server-signed stamp; it counts after min_fill_seconds.
    let status = common::sign_up_by_form(&town.runtime, &server.url(), "0152 00000104", "abfall");
    assert_eq!(status, 200);

    // The admin prepares a list change on the state branch…
    let state = town.run(&admin, "admin-state", &[]);
    assert!(state.status.success(), "{}", text(&state));
    let added = town.admin_subscribers(
        &admin,
        &["add", "--address", NUMBERS[3], "--consent-source", "paper"],
    );
    assert!(added.status.success(), "{}", text(&added));

    // …and pushes it while the run pulls the inbox (a wrapper around aushang does it then).
    let wrapper = town.tmp.path().join("aushang-wrapper");
    let admin_push = format!(
        "env -u AUSHANG_STATE_DIR AUSHANG_ROOT='{}' '{}' admin-push 'Admin adds a subscriber' >&2",
        admin.display(),
        repo().join("scripts/pipeline").display()
    );
    let marker = town.tmp.path().join("admin-pushes-now");
    std::fs::write(&marker, "").unwrap();
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$3 $4\" = 'inbox pull' ] && [ -f '{m}' ]; then rm '{m}'; {admin_push} || exit 99; fi\nexec '{bin}' \"$@\"\n",
            m = marker.display(),
            bin = env!("CARGO_BIN_EXE_aushang"),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

    let runner = town.clone("runner");
    let out = town.run(
        &runner,
        "publish-run",
        &[("AUSHANG", wrapper.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!marker.exists(), "the admin did not push during the run");
    assert!(
        text(&out).contains("werden darauf erneut angewendet"),
        "no conflict happened:\n{}",
        text(&out)
    );
    let log = git(&town.origin, &["log", "--format=%s", "aushang-state"]);
    assert!(log.contains("Admin adds a subscriber"), "{log}");

    // Origin's list holds both the admin's subscriber and the sign-up; nothing was lost.
    let check = town.clone("check");
    git(&check, &["fetch", "--quiet", "origin", "aushang-state"]);
    git(&check, &["checkout", "--quiet", "FETCH_HEAD"]);
    let list = SubscriberList::load(&check.join("subscribers"), &town.identity).unwrap();
    let addresses: Vec<&str> = list
        .subscribers()
        .iter()
        .map(|s| s.address.as_str())
        .collect();
    assert!(
        addresses.contains(&NUMBERS[3]),
        "the admin's change was lost"
    );
    assert!(
        addresses.contains(&"+4915200000104"),
        "the sign-up was lost: {} rows",
        addresses.len()
    );
    // The events were acknowledged only after the push, and the sign-up asked once.
    assert_eq!(std::fs::read_dir(data.join("events")).unwrap().count(), 0);
    let confirmations = town
        .fake
        .messages()
        .iter()
        .filter(|m| m.template.as_deref() == Some("anmeldung_bestaetigen"))
        .filter(|m| m.to == "+4915200000104")
        .count();
    assert_eq!(confirmations, 1, "asked twice:\n{}", text(&out));

    // Everyone active got each notice once, the admin's new subscriber included.
    let got = town.assert_nobody_twice();
    assert!(got.keys().any(|(to, _)| to == NUMBERS[3]), "{got:?}");
    assert_eq!(town.origin_lines("sent"), got.len());
    town.runtime.block_on(server.shutdown()).unwrap();

    // The admin erases the new subscriber (DSGVO) from a checkout the run has since moved past:
    // admin-push never merges, it undoes the change and asks for it again.
    let forgotten = list
        .subscribers()
        .iter()
        .find(|s| s.address == NUMBERS[3])
        .unwrap()
        .id
        .clone();
    let forget = || {
        let out = town.admin_subscribers(&admin, &["forget", NUMBERS[3]]);
        assert!(out.status.success(), "{}", text(&out));
    };
    forget();
    let stale = town.run(&admin, "admin-push", &[]);
    assert!(!stale.status.success(), "{}", text(&stale));
    assert!(
        text(&stale).contains("führen Sie Ihren Befehl erneut aus"),
        "{}",
        text(&stale)
    );
    let state = town.run(&admin, "admin-state", &[]);
    assert!(state.status.success(), "{}", text(&state));
    forget();
    let pushed = town.run(&admin, "admin-push", &[]);
    assert!(pushed.status.success(), "{}", text(&pushed));
    let grep = Command::new("git")
        .args([
            "grep",
            "-c",
            &forgotten,
            "aushang-state",
            "--",
            "subscribers",
        ])
        .current_dir(&town.origin)
        .output()
        .unwrap();
    assert!(
        grep.stdout.is_empty(),
        "the forgotten id is still on the state branch:\n{}",
        String::from_utf8_lossy(&grep.stdout)
    );
    assert!(town.origin_lines("sent") < got.len());
}

#[test]
fn the_due_check_needs_no_secrets_and_the_deploy_stamp_decides_whether_the_site_is_due() {
    let town = Town::new(FakeConfig::default());
    let runner = town.clone("runner");
    let checkout = town.run(&runner, "state-checkout", &[]);
    assert!(checkout.status.success(), "{}", text(&checkout));
    let outputs = town.tmp.path().join("github-output");
    let due = |now: &str| {
        std::fs::write(&outputs, "").unwrap();
        let out = town.run(
            &runner,
            "due",
            &[
                ("AUSHANG_IDENTITY", ""),
                ("WHATSAPP_TOKEN", ""),
                ("PUBLISH_NOW", now),
                ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
            ],
        );
        assert!(out.status.success(), "{}", text(&out));
        std::fs::read_to_string(&outputs).unwrap()
    };
    // Nothing sent and never deployed: both due.
    assert_eq!(due(NOW), "due=true\nsite_due=true\n");

    let stamped = town.run(&runner, "site-stamp", &[("BUILT_AT", NOW)]);
    assert!(stamped.status.success(), "{}", text(&stamped));
    assert_eq!(town.state_file("site-deployed").trim(), NOW);
    assert_eq!(due("2026-11-28 12:30"), "due=true\nsite_due=false\n");
    // The Weihnachtsmarkt notice is published at 2026-12-01 08:00: the site is due again.
    assert!(due("2026-12-01 08:30").contains("site_due=true"));

    // Once everything is sent, the scheduled run has no broadcast to ask approval for.
    let run = town.run(&runner, "publish-run", &[]);
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(due("2026-11-28 12:30"), "due=false\nsite_due=false\n");
}

/// Two runs at once (say an admin's by hand while the scheduled one runs): the second run's
/// claim push is rejected, it claims again on top of the first run's claim and sends nothing twice.
#[test]
fn two_runs_racing_for_the_same_notices_send_each_notice_once() {
    let town = Town::new(FakeConfig::default());
    let first = town.clone("first");
    let second = town.clone("second");
    // The second run claims on its stale state right after the first run finished everything.
    let marker = town.tmp.path().join("first-runs-now");
    std::fs::write(&marker, "").unwrap();
    let wrapper = town.tmp.path().join("aushang-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$3 $6\" = 'broadcast --claim' ] && [ -f '{m}' ]; then rm '{m}'; \
             env -u AUSHANG_STATE_DIR AUSHANG='{bin}' AUSHANG_ROOT='{first}' AUSHANG_RUN_ID=first \
             '{pipeline}' publish-run >&2 || exit 99; fi\nexec '{bin}' \"$@\"\n",
            m = marker.display(),
            bin = env!("CARGO_BIN_EXE_aushang"),
            first = first.display(),
            pipeline = repo().join("scripts/pipeline").display(),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = town.run(
        &second,
        "publish-run",
        &[
            ("AUSHANG", wrapper.to_str().unwrap()),
            ("AUSHANG_RUN_ID", "second"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!marker.exists(), "the first run did not run in between");
    assert!(
        text(&out).contains("Push der Übernahme (Claim) abgelehnt"),
        "no race happened:\n{}",
        text(&out)
    );
    let got = town.assert_nobody_twice();
    assert!(!got.is_empty());
    assert_eq!(town.origin_lines("claimed"), got.len(), "claimed twice");
    assert_eq!(town.origin_lines("sent"), got.len());
}

#[test]
fn accepting_uncertain_deliveries_from_the_workflow_records_them_and_sends_nothing() {
    let town = Town::new(FakeConfig::default());
    town.reject("outcomes", "^Journal: outcomes");
    let out = town.run(&town.clone("runner"), "publish-run", &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let sent = town.assert_nobody_twice().len();
    town.allow("outcomes");

    let accept = town.run(
        &town.clone("accept"),
        "publish-run",
        &[("UNCERTAIN", "accept")],
    );
    assert!(accept.status.success(), "{}", text(&accept));
    assert!(
        text(&accept).contains("als zugestellt festgehalten"),
        "{}",
        text(&accept)
    );
    assert_eq!(town.notices().len(), sent, "accept sent something");
    assert_eq!(town.origin_lines("accepted"), sent);
    let next = town.run(&town.clone("next"), "publish-run", &[]);
    assert!(next.status.success(), "{}", text(&next));
    assert!(text(&next).contains("due=false"), "{}", text(&next));
    assert_eq!(town.notices().len(), sent);
}

#[test]
fn a_run_sends_on_every_configured_channel_exactly_once_across_reruns() {
    use aushang::devtools::fake_telegram::{FakeTelegram, FakeTelegramConfig};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let telegram = rt
        .block_on(FakeTelegram::start(FakeTelegramConfig {
            token: "123456:pipeline-bot-token".into(),
            chat_id: "@musterbach".into(),
            throttle_times: 0,
            retry_after: 1,
        }))
        .unwrap();
    let town = Town::build(
        FakeConfig::default(),
        None,
        &format!(
            "    telegram:\n      chat_id: \"@musterbach\"\n      api_url: {}\n",
            telegram.api_url()
        ),
    );
    let token = [("TELEGRAM_BOT_TOKEN", "123456:pipeline-bot-token")];
    // A configured channel whose secret is missing fails loudly, before anything is claimed.
    let runner = town.clone("without-token");
    let out = town.run(&runner, "publish-run", &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("TELEGRAM_BOT_TOKEN"), "{}", text(&out));
    assert!(town.notices().is_empty(), "WhatsApp sent without Telegram");
    assert!(telegram.posts().is_empty());
    assert_eq!(town.origin_lines("claimed"), 0, "a claim was left behind");
    // The due check names both channels' work.
    let out = town.run(&town.clone("due"), "due", &[]);
    assert!(text(&out).contains("[telegram]"), "{}", text(&out));
    assert!(text(&out).contains("[whatsapp]"), "{}", text(&out));
    // With the token: both channels, claimed on the state branch first.
    let out = town.run(&town.clone("runner"), "publish-run", &token);
    assert!(out.status.success(), "{}", text(&out));
    let got = town.assert_nobody_twice();
    let notices: std::collections::BTreeSet<_> = got.keys().map(|(_, n)| n.clone()).collect();
    assert!(!notices.is_empty(), "{}", text(&out));
    let posts = telegram.posts();
    assert_eq!(posts.len(), notices.len(), "one Telegram post per notice");
    assert_eq!(
        town.origin_lines("claimed"),
        got.len() + posts.len(),
        "WhatsApp and Telegram claimed before sending"
    );
    assert_eq!(town.origin_lines("sent"), got.len() + posts.len());
    // A rerun from a fresh clone sends nothing on either channel.
    let again = town.run(&town.clone("next"), "publish-run", &token);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("due=false"), "{}", text(&again));
    let forced = town.clone("forced");
    assert!(town.run(&forced, "state-checkout", &[]).status.success());
    let again = town.run(&forced, "claim-send", &token);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(town.notices().len(), got.len(), "WhatsApp sent again");
    assert_eq!(telegram.posts().len(), posts.len(), "Telegram posted again");
}

/// The budget on the state branch: the claim takes only what the budget allows (exit 5, the
/// deferred carry no line), the scheduled due check then waits, and an approval given as the
/// workflow input is pushed with who gave it and lets the next run finish that notice.
#[test]
fn a_budget_defers_on_the_state_branch_until_the_workflow_input_approves() {
    let prices = "      prices:\n        currency: EUR\n        utility: 0.10\n        \
                  marketing: 0.25\n  budget:\n    monthly: 0.2\n";
    let town = Town::build(FakeConfig::default(), None, prices);
    let actions = [("GITHUB_ACTIONS", "true")];
    let out = town.run(&town.clone("runner"), "publish-run", &actions);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        text(&out).contains("::warning title=Budget erreicht::"),
        "{}",
        text(&out)
    );
    assert_eq!(
        town.notices().len(),
        2,
        "0,20 EUR at 0,10 EUR: {}",
        text(&out)
    );
    assert_eq!(
        town.origin_lines("claimed"),
        2,
        "claims only for what is sent"
    );
    assert_eq!(town.origin_lines("sent"), 2);
    // Those held back before anything was claimed for them are counted for the reach (no ids)
    // and pushed with the claim.
    let held = town.state_file("subscribers/journal/held-back.jsonl");
    assert!(
        held.contains("\"by_budget\":") && !held.contains("\"sub\"") && !held.contains("s_"),
        "{held}"
    );
    // Nothing more without an approval: the due check waits instead of asking for a run.
    let again = town.run(&town.clone("next"), "publish-run", &[]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("Budget erreicht: Monatsbudget 0,20 EUR"),
        "{}",
        text(&again)
    );
    assert_eq!(town.notices().len(), 2);
    // The first notice the budget held back, as the annotation names it.
    let all = text(&out);
    let path = all
        .split("approve_over_budget=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    let approved = town.run(
        &town.clone("approve"),
        "publish-run",
        &[
            ("APPROVE_OVER_BUDGET", path.as_str()),
            ("GITHUB_ACTOR", "kaemmerer"),
        ],
    );
    assert!(
        matches!(approved.status.code(), Some(0 | 5)),
        "{}",
        text(&approved)
    );
    let record = town.state_file("subscribers/journal/budget.jsonl");
    assert!(
        record.contains("\"by\":\"kaemmerer\"")
            && record.contains(&format!("\"notice\":\"{path}\"")),
        "{record}"
    );
    let index = town.state_file("subscribers/journal/index.jsonl");
    assert!(
        index.contains(&format!(
            "\"msg\":\"{path}#notice\",\"ch\":\"whatsapp\",\"event\":\"completed\""
        )),
        "the approved notice went to everyone: {index}"
    );
    assert!(town.notices().len() > 2);
    town.assert_nobody_twice();
}
