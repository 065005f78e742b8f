//! Test sites for `aushang broadcast`: a temp site with a fresh key and fictitious subscribers,
//! the fake Graph API on a runtime the test keeps alive, the real binary, and the checks every
//! run gets (no full number in any output or file).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aushang::devtools::fake_graph::{AcceptedMessage, FakeConfig, FakeGraph};
use aushang::subscribers::{Channel, Identity, Recipients, Status, Subscriber, SubscriberList};
use serde_json::Value;

pub const TOKEN: &str = "fake-token";
pub const NOTICE_TEMPLATE: &str = "neue_bekanntmachung";
pub const UPDATE_TEMPLATE: &str = "bekanntmachung_aktualisiert";

/// The fictitious number of subscriber `i` (1-based): +4915200000001, +4915200000002…
pub fn number(i: usize) -> String {
    format!("+4915200000{i:03}")
}

/// The part of a number that any written form of it (E.164, digits, national) contains.
fn national(number: &str) -> &str {
    &number[3..]
}

/// The fake Graph API on its own runtime, which lives as long as this value.
pub struct Fake {
    pub graph: Option<FakeGraph>,
    rt: tokio::runtime::Runtime,
}

impl Fake {
    pub fn start(config: FakeConfig) -> Fake {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let graph = rt.block_on(FakeGraph::start(config)).unwrap();
        Fake {
            graph: Some(graph),
            rt,
        }
    }

    pub fn healthy() -> Fake {
        Fake::start(FakeConfig::default())
    }

    pub fn graph(&self) -> &FakeGraph {
        self.graph.as_ref().expect("fake running")
    }

    pub fn api_url(&self) -> String {
        self.graph().api_url()
    }

    pub fn messages(&self) -> Vec<AcceptedMessage> {
        self.graph().messages()
    }

    /// Runs a future on the fake's runtime (e.g. a second server).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.rt
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        // the server's drop signals its tasks, which need the runtime still running
        let _guard = self.rt.enter();
        self.graph.take();
    }
}

/// One subscriber as the test made it.
#[derive(Clone)]
pub struct Sub {
    pub id: String,
    pub number: String,
    pub topics: Vec<String>,
    pub status: Status,
}

impl Sub {
    pub fn active(i: usize) -> Sub {
        Sub {
            id: format!("sub{i:03}"),
            number: number(i),
            topics: vec![],
            status: Status::Active,
        }
    }

    pub fn with_topics(mut self, topics: &[&str]) -> Sub {
        self.topics = topics.iter().map(|t| t.to_string()).collect();
        self
    }

    pub fn with_status(mut self, status: Status) -> Sub {
        self.status = status;
        self
    }
}

/// `n` active subscribers wanting everything.
pub fn actives(n: usize) -> Vec<Sub> {
    (1..=n).map(Sub::active).collect()
}

/// The `broadcast:` settings a test varies.
#[derive(Clone)]
pub struct Settings {
    pub api_url: String,
    pub base_url: String,
    pub waba_id: Option<String>,
    pub concurrency: usize,
    pub messages_per_second: u32,
    pub daily_limit: Option<u32>,
    pub link_check_timeout: String,
}

impl Settings {
    pub fn new(api_url: &str) -> Settings {
        Settings {
            api_url: api_url.into(),
            base_url: "https://www.teststadt.example/".into(),
            waba_id: None,
            concurrency: 4,
            messages_per_second: 200,
            daily_limit: None,
            link_check_timeout: "3s".into(),
        }
    }

    fn yaml(&self) -> String {
        let mut whatsapp = format!(
            "      phone_number_id: \"100000000000001\"\n      api_url: \"{}\"\n",
            self.api_url
        );
        if let Some(w) = &self.waba_id {
            whatsapp.push_str(&format!("      waba_id: \"{w}\"\n"));
        }
        whatsapp.push_str(&format!(
            "      template:\n\
             \x20       name: {NOTICE_TEMPLATE}\n\
             \x20       language: de\n\
             \x20       body: \"Neue Bekanntmachung der Teststadt: {{{{1}}}}. {{{{2}}}} Mehr über den Button.\"\n\
             \x20       params: [title, summary]\n\
             \x20       url_button: true\n\
             \x20       update_name: {UPDATE_TEMPLATE}\n\
             \x20       update_body: \"Aktualisierung: {{{{1}}}}. {{{{2}}}} Details über den Button.\"\n\
             \x20       update_params: [title, update]\n\
             \x20     messages_per_second: {}\n\
             \x20     concurrency: {}\n",
            self.messages_per_second, self.concurrency
        ));
        if let Some(d) = self.daily_limit {
            whatsapp.push_str(&format!("      daily_limit: {d}\n"));
        }
        format!(
            "title: Teststadt Bekanntmachungen\n\
             base_url: {}\n\
             language: de\n\
             timezone: Europe/Berlin\n\
             categories:\n\
             \x20 - id: abfall\n    name: Abfall\n    description: Abfuhr\n\
             \x20 - id: verkehr\n    name: Verkehr\n    description: Sperrungen\n\
             broadcast:\n\
             \x20 quiet_hours: \"21:00-07:00\"\n\
             \x20 max_age: 3d\n\
             \x20 link_check_timeout: {}\n\
             \x20 channels:\n\
             \x20   whatsapp:\n{whatsapp}",
            self.base_url, self.link_check_timeout
        )
    }
}

/// A temporary test site with its own key and subscribers.
pub struct Site {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub secret: String,
    pub subs: Vec<Sub>,
    pub settings: Settings,
    summary: PathBuf,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // only ever built from leak-checked output
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Site {
    pub fn new(settings: Settings, subs: Vec<Sub>) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("site");
        std::fs::create_dir_all(root.join("content/notices")).unwrap();
        let (identity, secret) = Identity::generate();
        let subscribers_dir = root.join("subscribers");
        std::fs::create_dir_all(&subscribers_dir).unwrap();
        let recipients_path = subscribers_dir.join("recipients.txt");
        let text = Recipients::file_text("Test", &identity.public_keys()[0]);
        std::fs::write(&recipients_path, &text).unwrap();
        let recipients = Recipients::parse(&text, &recipients_path).unwrap();
        let list: Vec<Subscriber> = subs
            .iter()
            .map(|s| Subscriber {
                id: s.id.clone(),
                channel: Channel::WhatsApp,
                address: s.number.clone(),
                name: Some(format!("Person {}", s.id)),
                topics: s.topics.clone(),
                language: "de".into(),
                status: s.status,
                consent_at: Some("2026-01-01T10:00:00Z".parse().unwrap()),
                consent_source: "web".into(),
                consent_text: "v1".into(),
                confirmed_at: (s.status != Status::Pending)
                    .then(|| "2026-01-01T10:05:00Z".parse().unwrap()),
                unsubscribed_at: (s.status == Status::Unsubscribed)
                    .then(|| "2026-02-01T10:00:00Z".parse().unwrap()),
                bsuid: None,
            })
            .collect();
        SubscriberList::new(list)
            .save(&subscribers_dir, &recipients)
            .unwrap();
        let summary = dir.path().join("step-summary.md");
        let site = Site {
            _dir: dir,
            root,
            secret,
            subs,
            settings,
            summary,
        };
        site.write_config();
        site
    }

    pub fn write_config(&self) {
        std::fs::write(self.root.join("aushang.yaml"), self.settings.yaml()).unwrap();
    }

    /// Changes settings (e.g. a healthy api_url after a fatal error) and rewrites aushang.yaml.
    pub fn reconfigure(&mut self, change: impl FnOnce(&mut Settings)) {
        change(&mut self.settings);
        self.write_config();
    }

    /// Writes `content/notices/<file>.md` with this front matter (YAML lines) and a short body.
    pub fn notice(&self, file: &str, front_matter: &str) {
        let text = format!(
            "---\n{}\n---\n\nDer ausführliche Text der Bekanntmachung.\n",
            front_matter.trim()
        );
        std::fs::write(
            self.root.join("content/notices").join(format!("{file}.md")),
            text,
        )
        .unwrap();
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_aushang"));
        cmd.arg("--root")
            .arg(&self.root)
            .env("AUSHANG_IDENTITY", &self.secret)
            .env("WHATSAPP_TOKEN", TOKEN)
            .env("AUSHANG_LOG", "aushang=debug")
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .env_remove("AUSHANG_IDENTITY_FILE")
            .env_remove("AUSHANG_ROOT")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    /// `aushang broadcast ARGS` (link check off unless `link_check` is used).
    pub fn broadcast(&self, args: &[&str]) -> Run {
        let mut all = vec!["broadcast", "--no-link-check"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    pub fn broadcast_with_link_check(&self, args: &[&str]) -> Run {
        let mut all = vec!["broadcast"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// Runs the binary with these arguments and optional extra environment changes.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, |_| {})
    }

    pub fn run_env(&self, args: &[&str], env: impl FnOnce(&mut Command)) -> Run {
        let mut cmd = self.command();
        cmd.args(args);
        env(&mut cmd);
        let out = cmd.output().unwrap();
        self.checked(out)
    }

    /// Starts `aushang broadcast ARGS` in the background (for the kill test).
    pub fn spawn_broadcast(&self, args: &[&str]) -> Child {
        let mut cmd = self.command();
        cmd.arg("broadcast").arg("--no-link-check").args(args);
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    pub fn checked(&self, out: Output) -> Run {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        self.assert_leak_free("stdout", &stdout);
        self.assert_leak_free("stderr", &stderr);
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }

    /// Fails (without echoing the text) if `text` holds any subscriber's full number.
    pub fn assert_leak_free(&self, what: &str, text: &str) {
        for s in &self.subs {
            assert!(
                !text.contains(national(&s.number)),
                "{what} contains the full number of subscriber {} (masked {})",
                s.id,
                aushang::subscribers::mask(&s.number)
            );
        }
    }

    /// Every plaintext file of the site (journal, outbox, lock, …) and the job summary is free of
    /// full numbers. Returns how many files were checked.
    pub fn assert_files_leak_free(&self) -> usize {
        let mut checked = 0;
        let mut files: Vec<PathBuf> = walk(&self.root);
        if self.summary.exists() {
            files.push(self.summary.clone());
        }
        for path in files {
            if path.ends_with("subscribers/subscribers.csv.age") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            self.assert_leak_free(
                &path.display().to_string(),
                &String::from_utf8_lossy(&bytes),
            );
            checked += 1;
        }
        checked
    }

    pub fn journal_dir(&self) -> PathBuf {
        self.root.join("subscribers/journal")
    }

    /// The lines of `subscribers/journal/index.jsonl`.
    pub fn index_lines(&self) -> Vec<Value> {
        read_jsonl(&self.journal_dir().join("index.jsonl"))
    }

    /// Index events recorded for one message key, in order (`started`, `completed`, `marked`).
    pub fn index_events(&self, key: &str) -> Vec<String> {
        self.index_lines()
            .iter()
            .filter(|l| l["msg"] == key && l["ch"] == "whatsapp")
            .map(|l| l["event"].as_str().unwrap().to_string())
            .collect()
    }

    /// The delivery lines of one message on WhatsApp.
    pub fn delivery_lines(&self, key: &str) -> Vec<Value> {
        let name = format!(
            "{}~whatsapp.jsonl",
            aushang::delivery::journal::file_key(key)
        );
        read_jsonl(&self.journal_dir().join("deliveries").join(name))
    }

    /// The last journaled state per subscriber id for one message.
    pub fn last_states(&self, key: &str) -> HashMap<String, Value> {
        let mut out = HashMap::new();
        for l in self.delivery_lines(key) {
            out.insert(l["sub"].as_str().unwrap().to_string(), l);
        }
        out
    }

    pub fn sub_of_number(&self, number: &str) -> &Sub {
        self.subs
            .iter()
            .find(|s| s.number == number)
            .expect("a number the test made")
    }
}

/// Accepted messages per subscriber id (numbers the test did not make fail the test).
pub fn by_subscriber<'a>(
    site: &Site,
    messages: &'a [AcceptedMessage],
) -> HashMap<String, Vec<&'a AcceptedMessage>> {
    let mut out: HashMap<String, Vec<&AcceptedMessage>> = HashMap::new();
    for m in messages {
        let sub = site
            .subs
            .iter()
            .find(|s| s.number == m.to)
            .unwrap_or_else(|| {
                panic!(
                    "the fake got a message for an unknown number {}",
                    m.to_masked
                )
            });
        out.entry(sub.id.clone()).or_default().push(m);
    }
    out
}

/// How many messages each subscriber got, in subscriber order.
pub fn counts(site: &Site, messages: &[AcceptedMessage]) -> Vec<(String, usize)> {
    let map = by_subscriber(site, messages);
    site.subs
        .iter()
        .map(|s| (s.id.clone(), map.get(&s.id).map_or(0, Vec::len)))
        .collect()
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{}: bad line ({e})", path.display()))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The message key of a notice file `YYYY-MM-DD-slug` dated in 2026.
pub fn key(slug: &str) -> String {
    format!("/bekanntmachungen/2026/{slug}/#notice")
}
