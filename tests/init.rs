//! `aushang init`: a new town site from flags alone (no terminal), whose blanks `check` refuses
//! until they are filled, and which then checks, builds and publishes offline (outbox).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::text;

const BLANK: &str = "[[AUSFÜLLEN:";

fn aushang(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aushang"));
    cmd.arg("--root").arg(root).args(args);
    cmd.env_remove("AUSHANG_IDENTITY")
        .env_remove("AUSHANG_IDENTITY_FILE")
        .env_remove("AUSHANG_ROOT")
        .env_remove("AUSHANG_RELEASE_URL")
        .env_remove("WHATSAPP_TOKEN")
        .env_remove("AUSHANG_INBOX_PULL_TOKEN")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn init(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["init", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    aushang(Path::new("."), &args, &[])
}

const FLAGS: &[&str] = &[
    "--name",
    "Stadt Neuhof",
    "--base-url",
    "https://neuhof.example/",
    "--organisation",
    "Stadt Neuhof – Der Bürgermeister",
    "--street",
    "Marktplatz 2",
    "--postcode",
    "12345",
    "--city",
    "Neuhof",
    "--phone",
    "01234 5678-0",
    "--email",
    "rathaus@neuhof.example",
    "--responsible",
    "Bürgermeister Max Neu, Anschrift wie oben",
    "--channel",
    "outbox",
];

/// Files of the site holding text (what `check` reads blanks from).
fn files_with_blanks(site: &Path) -> Vec<PathBuf> {
    walk(site)
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .map(|t| t.contains(BLANK))
                .unwrap_or(false)
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Replaces every blank as a town would: a real value (a checksum where one is asked for).
fn fill_blanks(site: &Path) {
    for path in files_with_blanks(site) {
        let mut text = std::fs::read_to_string(&path).unwrap();
        while let Some(start) = text.find(BLANK) {
            let end = start + text[start..].find("]]").unwrap() + 2;
            let value = if text[start..end].contains("SHA-256") {
                "0".repeat(64)
            } else {
                "Ausgefüllt".to_string()
            };
            text.replace_range(start..end, &value);
        }
        std::fs::write(&path, text).unwrap();
    }
}

#[test]
fn init_writes_a_town_site_that_checks_builds_and_publishes_once_its_blanks_are_filled() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("neuhof");
    let out = init(&site, FLAGS);
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout).to_string();

    // The secret key is printed once, with how to store it in GitHub and use it locally.
    assert_eq!(printed.matches("AGE-SECRET-KEY-").count(), 1, "{printed}");
    assert!(printed.contains("AUSHANG_IDENTITY") && printed.contains("AUSHANG_IDENTITY_FILE"));
    let secret = printed
        .split_whitespace()
        .find(|w| w.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_string();
    for path in walk(&site) {
        let content = std::fs::read(&path).unwrap();
        assert!(
            !String::from_utf8_lossy(&content).contains(&secret),
            "{} holds the secret key",
            path.display()
        );
    }

    // Ordinary file modes (the atomic write's temp file is 0600), scripts executable.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| {
            std::fs::metadata(site.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("aushang.yaml"), 0o644);
        assert_eq!(mode("README.md"), 0o644);
        assert_eq!(mode("scripts/pipeline"), 0o755);
    }

    // A town site, not a copy of the tool.
    for tool in ["src", "tests", "benches", "Cargo.toml", "theme"] {
        assert!(!site.join(tool).exists(), "{tool} was written");
    }
    for file in [
        "aushang.yaml",
        ".aushang-version",
        "README.md",
        ".gitignore",
        "content/pages/impressum.md",
        "content/pages/datenschutz.md",
        "content/pages/barrierefreiheit.md",
        "content/pages/anmelden.md",
        "subscribers/recipients.txt",
        "subscribers/subscribers.csv.age",
        ".github/workflows/check.yml",
        ".github/workflows/publish.yml",
        ".github/actions/aushang/action.yml",
        "scripts/pipeline",
        "scripts/install-aushang",
    ] {
        assert!(site.join(file).is_file(), "{file} missing");
    }
    let action = std::fs::read_to_string(site.join(".github/actions/aushang/action.yml")).unwrap();
    assert!(
        action.contains("scripts/install-aushang --dir .aushang-bin --cargo-fallback")
            && !action.contains("cargo build"),
        "{action}"
    );
    assert_eq!(
        std::fs::read_to_string(site.join("scripts/pipeline")).unwrap(),
        std::fs::read_to_string("scripts/pipeline").unwrap(),
        "the town's pipeline is this repository's"
    );
    // The report's chart: written by `scripts/pipeline report`, uploaded as the artifact the
    // job summary names (a summary shows no local picture), and never committed.
    let publish = std::fs::read_to_string(site.join(".github/workflows/publish.yml")).unwrap();
    let upload = publish
        .split("- name: Diagramm zu Reichweite und Kosten hochladen")
        .nth(1)
        .expect("the town's publish workflow uploads the report's chart");
    assert!(
        publish.contains("run: scripts/pipeline report")
            && upload
                .contains("uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02")
            && upload.contains("name: reichweite-und-kosten\n")
            && upload.contains("path: .aushang-report/reichweite-und-kosten.svg\n"),
        "{publish}"
    );
    let pipeline = std::fs::read_to_string(site.join("scripts/pipeline")).unwrap();
    assert!(
        pipeline.contains("${REPORT_SVG:-$ROOT/.aushang-report/reichweite-und-kosten.svg}")
            && pipeline.contains("${REPORT_ARTIFACT:-reichweite-und-kosten}"),
        "the upload step's path and name are the pipeline's defaults"
    );
    assert!(
        std::fs::read_to_string(site.join(".gitignore"))
            .unwrap()
            .lines()
            .any(|l| l == "/.aushang-report/")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(site.join("scripts/pipeline"))
            .unwrap()
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, "scripts/pipeline is not executable");
    }
    let config = std::fs::read_to_string(site.join("aushang.yaml")).unwrap();
    assert!(
        config.contains("title: \"Stadt Neuhof – Bekanntmachungen\""),
        "{config}"
    );
    assert!(config.contains("aushang: \">=0.2\""), "{config}");

    // Blanks are errors, each with file and line.
    let blanks: usize = files_with_blanks(&site)
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap().matches(BLANK).count())
        .sum();
    assert!(blanks >= 8, "only {blanks} blanks");
    let out = aushang(&site, &["check"], &[]);
    let report = text(&out);
    assert!(!out.status.success(), "{report}");
    assert_eq!(
        report.matches("Noch nicht ausgefüllt").count(),
        blanks,
        "{report}"
    );
    for file in [
        "content/pages/impressum.md:",
        "content/pages/datenschutz.md:",
        "content/pages/barrierefreiheit.md:",
        "content/pages/anmelden.md:",
        ".aushang-version:",
    ] {
        assert!(report.contains(file), "{file} not named:\n{report}");
    }
    let github = text(&aushang(&site, &["check", "--format", "github"], &[]));
    assert!(
        github.contains("::error file=content/pages/impressum.md,line="),
        "{github}"
    );

    // Filled in, the site passes and builds.
    fill_blanks(&site);
    let out = aushang(&site, &["check"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let out = aushang(&site, &["build"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let impressum = std::fs::read_to_string(site.join("public/impressum/index.html")).unwrap();
    assert!(impressum.contains("Marktplatz 2") && impressum.contains("Ausgefüllt"));

    // The key printed by init opens the list: add a subscriber, publish offline to the outbox.
    let key = [("AUSHANG_IDENTITY", secret.as_str())];
    let out = aushang(
        &site,
        &[
            "subscribers",
            "add",
            "--address",
            "0151 23456789",
            "--consent-source",
            "paper",
        ],
        &key,
    );
    assert!(out.status.success(), "{}", text(&out));
    let notice = walk(&site.join("content/notices"))[0].clone();
    let date = notice.file_name().unwrap().to_str().unwrap()[..10].to_string();
    let now = format!("{date} 12:00");
    let publish = |site: &Path| {
        aushang(
            site,
            &[
                "publish",
                "--channel",
                "outbox",
                "--no-link-check",
                "--now",
                &now,
            ],
            &key,
        )
    };
    let out = publish(&site);
    assert!(out.status.success(), "{}", text(&out));
    assert!(site.join("outbox").is_dir(), "{}", text(&out));
    let sent: Vec<_> = walk(&site.join("outbox"))
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .map(|t| t.contains("Neue Bekanntmachungsseite"))
                .unwrap_or(false)
        })
        .collect();
    assert_eq!(sent.len(), 1, "{}", text(&out));
    assert!(site.join("public/index.html").is_file());
    // Exactly once: a second run sends nothing.
    let before = walk(&site.join("outbox")).len();
    let out = publish(&site);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(walk(&site.join("outbox")).len(), before);

    // `new` writes placeholders that `check` refuses (summary = title, placeholder body).
    let out = aushang(&site, &["new", "Sperrung der Hauptstraße"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let out = aushang(&site, &["check"], &[]);
    let report = text(&out);
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("wiederholt nur den Titel"), "{report}");
    assert!(report.contains("Platzhalter von `aushang new`"), "{report}");
    assert!(report.contains("sperrung-der-hauptstrasse.md:"), "{report}");
}

/// `text` with the commented example that starts at the line `# {first}` uncommented: that line
/// and the indented (`#   `) lines after it lose their `# `.
fn uncomment(text: &str, first: &str) -> String {
    let mut inside = false;
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line == format!("# {first}") {
                inside = true;
                found = true;
            } else if !line.starts_with("#   ") {
                inside = false;
            }
            match line.strip_prefix("# ") {
                Some(rest) if inside => rest.to_string(),
                _ => line.to_string(),
            }
        })
        .collect();
    assert!(found, "no `# {first}` in:\n{text}");
    lines.join("\n") + "\n"
}

#[test]
fn the_scaffold_checks_with_the_editor_example_commented_and_filled_in() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("neuhof");
    let out = init(&site, FLAGS);
    assert!(out.status.success(), "{}", text(&out));
    fill_blanks(&site);
    let config_path = site.join("aushang.yaml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    // Commented: the site checks and builds without an editor.
    for line in ["# editor:", "#   repo: ", "#     client_id: ", "# inbox:"] {
        assert!(config.contains(line), "{line} missing:\n{config}");
    }
    let out = aushang(&site, &["check"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let out = aushang(&site, &["build"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!site.join("public/redaktion").exists());
    // The README tells editors where the form is and IT where to set it up.
    let readme = std::fs::read_to_string(site.join("README.md")).unwrap();
    assert!(
        readme.contains("/redaktion/") && readme.contains("`editor:`"),
        "{readme}"
    );

    // Filled in as the comment says (remove `# `, put in the values): still checks, and the
    // build has the editor, pointed at the inbox for its login.
    let filled = uncomment(&uncomment(&config, "inbox:"), "editor:")
        .replace(
            "https://posteingang.example.de/",
            "https://posteingang.neuhof.example/",
        )
        .replace(
            "stadt-beispiel/bekanntmachungen",
            "stadt-neuhof/bekanntmachungen",
        )
        .replace("Ov23liAbCdEf01234567", "Ov23liNeuhof0123456");
    assert!(
        filled.contains("\neditor:\n  repo: stadt-neuhof/bekanntmachungen"),
        "{filled}"
    );
    std::fs::write(&config_path, &filled).unwrap();
    let out = aushang(&site, &["check"], &[]);
    assert!(out.status.success(), "{}\n{filled}", text(&out));
    let out = aushang(&site, &["build"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let settings = std::fs::read_to_string(site.join("public/redaktion/config.js")).unwrap();
    assert!(
        settings.contains(r#""base_url": "https://posteingang.neuhof.example""#)
            && settings.contains(r#""repo": "stadt-neuhof/bekanntmachungen""#),
        "{settings}"
    );
    // Half filled in (the editor without a login server) is refused, naming the setting.
    let no_inbox = uncomment(&config, "editor:");
    std::fs::write(&config_path, &no_inbox).unwrap();
    let out = aushang(&site, &["check"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("inbox"), "{}", text(&out));
}

/// Copies `from` (relative to this repository) into `site`.
fn copy(from: &str, site: &Path) {
    let target = site.join(from);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::copy(from, target).unwrap();
}

#[test]
fn check_warns_about_example_leftovers_in_a_site_that_is_not_the_example() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path();
    let config = std::fs::read_to_string("aushang.yaml")
        .unwrap()
        .replace("https://www.musterbach.example/", "https://www.neuhof.de/");
    std::fs::write(site.join("aushang.yaml"), config).unwrap();
    for file in [
        "content/pages/impressum.md",
        "content/pages/datenschutz.md",
        "static/dokumente/2026-12-10-tagesordnung-stadtrat.pdf",
        "static/bilder/sommerfest-marktplatz.png",
        "subscribers/demo-identity.txt",
    ] {
        copy(file, site);
    }
    let out = aushang(site, &["check"], &[]);
    let report = text(&out);
    for file in [
        "aushang.yaml:",
        "content/pages/impressum.md:",
        "content/pages/datenschutz.md:",
        "static/dokumente/2026-12-10-tagesordnung-stadtrat.pdf",
        "static/bilder/sommerfest-marktplatz.png",
        "subscribers/demo-identity.txt",
    ] {
        assert!(report.contains(file), "{file} not named:\n{report}");
    }
    assert!(report.contains("Rest des Beispiels"), "{report}");
    // A file of a demo file's name with the town's own contents is not a leftover.
    std::fs::write(
        site.join("static/bilder/sommerfest-marktplatz.png"),
        b"unser Bild",
    )
    .unwrap();
    let report = text(&aushang(site, &["check"], &[]));
    assert!(!report.contains("sommerfest-marktplatz.png"), "{report}");

    // The example itself is not warned about.
    let report = text(&aushang(Path::new("."), &["check"], &[]));
    assert!(!report.contains("Rest des Beispiels"), "{report}");
    assert!(!report.contains("demo-identity"), "{report}");
}

#[test]
fn init_without_answers_leaves_blanks_for_everything_it_was_not_told() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("ort");
    let out = init(&site, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let config = std::fs::read_to_string(site.join("aushang.yaml")).unwrap();
    for what in [
        "Titel der Website",
        "Name der Gemeinde",
        "Adresse der Website",
        "Telefonnummer",
        "Phone number ID",
    ] {
        assert!(
            config.contains(&format!("{BLANK} {what}")),
            "{what}:\n{config}"
        );
    }
    let report = text(&aushang(&site, &["check"], &[]));
    assert!(report.contains("aushang.yaml:"), "{report}");
    assert!(
        report.contains("Noch nicht ausgefüllt: Phone number ID"),
        "{report}"
    );
}

#[test]
fn init_refuses_a_folder_that_is_not_empty() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    let out = init(tmp.path(), FLAGS);
    assert!(!out.status.success());
    assert!(text(&out).contains("nicht leer"), "{}", text(&out));
    assert_eq!(walk(tmp.path()).len(), 1, "something was written");
}

/// On a terminal (here a pseudo-terminal from util-linux `script`), `init` asks for what no flag
/// gave; an empty answer leaves a blank.
#[test]
fn init_asks_on_a_terminal_for_what_no_flag_gave() {
    if Command::new("script").arg("--version").output().is_err() {
        panic!("util-linux `script` is needed for this test (apt-get install util-linux)");
    }
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("testdorf");
    let command = format!(
        "{} init {} --organisation 'Gemeinde Testdorf'",
        env!("CARGO_BIN_EXE_aushang"),
        site.display()
    );
    // name, base_url, street, postcode, city, phone, email, responsible, channel
    let answers = "Gemeinde Testdorf\nhttps://testdorf.example/\n\n\n\n\n\n\n\nn\n";
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("Name der Gemeinde"), "{shown}");
    assert!(
        !shown.contains("Herausgeber"),
        "asked for a flag's value: {shown}"
    );
    let config = std::fs::read_to_string(site.join("aushang.yaml")).unwrap();
    assert!(
        config.contains("title: \"Gemeinde Testdorf – Bekanntmachungen\""),
        "{config}"
    );
    assert!(
        config.contains("base_url: \"https://testdorf.example/\""),
        "{config}"
    );
    assert!(
        config.contains("organisation: \"Gemeinde Testdorf\""),
        "{config}"
    );
    assert!(
        config.contains(&format!("street: \"{BLANK} Straße")),
        "{config}"
    );
    assert!(
        !config.contains("Phone number ID"),
        "answered n to WhatsApp: {config}"
    );
}

/// A town made with `--channel outbox` has no real channel: its publish workflow's steps succeed,
/// broadcast nothing and say why (they used to fail on `--channel whatsapp`).
#[test]
fn an_outbox_town_gets_a_publish_pipeline_that_broadcasts_nothing_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("neuhof");
    let out = init(&site, FLAGS);
    assert!(out.status.success(), "{}", text(&out));
    let origin = tmp.path().join("origin.git");
    common::push_to_new_origin(&site, &origin);
    let pipeline = |step: &str, uncertain: &str| {
        Command::new(site.join("scripts/pipeline"))
            .arg(step)
            .current_dir(&site)
            .env("AUSHANG", env!("CARGO_BIN_EXE_aushang"))
            .env("AUSHANG_ROOT", &site)
            .env("UNCERTAIN", uncertain)
            .env("AUSHANG_RUN_ID", "test-run")
            .env("GIT_AUTHOR_NAME", "aushang")
            .env("GIT_AUTHOR_EMAIL", "aushang@example.org")
            .env("PUSH_RETRY_SLEEP", "0")
            .env_remove("WHATSAPP_TOKEN")
            .env_remove("AUSHANG_STATE_DIR")
            .env_remove("AUSHANG_INBOX_PULL_TOKEN")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap()
    };
    // The scheduled run: nothing is due on no channel.
    let out = pipeline("publish-run", "none");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("due=false"), "{}", text(&out));
    // A run by hand that skips the due check reaches the claim: a notice, no failure.
    let out = pipeline("publish-run", "resend");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("richtet keinen echten Kanal ein"),
        "{}",
        text(&out)
    );
    // The step without the state branch, likewise.
    let out = pipeline("broadcast", "none");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("richtet keinen echten Kanal ein"),
        "{}",
        text(&out)
    );
}

/// The Datenschutz page names the processor of each channel: the example fills them in, a new
/// town's page leaves blanks for its own mail provider and Mastodon instance.
#[test]
fn the_datenschutz_pages_name_each_channels_processor() {
    let example = std::fs::read_to_string("content/pages/datenschutz.md").unwrap();
    for name in [
        "Meta Platforms Ireland Limited",
        "Kommunale\nRechenzentrum Musterland",
        "Telegram FZ-LLC",
        "social.bund.de",
    ] {
        assert!(example.contains(name), "the example page misses {name}");
    }
    assert!(!example.contains(BLANK));
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("neuhof");
    let out = init(&site, FLAGS);
    assert!(out.status.success(), "{}", text(&out));
    let page = std::fs::read_to_string(site.join("content/pages/datenschutz.md")).unwrap();
    for name in ["Meta Platforms", "Telegram FZ-LLC"] {
        assert!(page.contains(name), "the template misses {name}");
    }
    assert!(
        page.contains("[[AUSFÜLLEN: Name und Anschrift Ihres E-Mail-Anbieters"),
        "{page}"
    );
    assert!(
        page.contains("[[AUSFÜLLEN: Adresse der Mastodon-Instanz"),
        "{page}"
    );
}

/// The release address is one constant (`repository` in Cargo.toml) that `init` writes into the
/// pin, overridable with `--release-url` (or AUSHANG_RELEASE_URL): the pin then names that
/// repository for downloads and for the cargo fallback, and `init` says where CI installs from.
#[test]
fn init_pins_the_release_address_it_was_given() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("default");
    let out = init(&site, &[&["--no-input"], FLAGS].concat());
    assert!(out.status.success(), "{}", text(&out));
    let pin = std::fs::read_to_string(site.join(".aushang-version")).unwrap();
    let repository = aushang::town::REPOSITORY;
    assert_eq!(
        aushang::town::DEFAULT_RELEASE_URL,
        format!("{repository}/releases/download/v{{version}}")
    );
    assert!(
        pin.contains(&format!(
            "release_url={}\n",
            aushang::town::DEFAULT_RELEASE_URL
        )) && pin.contains(&format!("cargo_git={repository}\n")),
        "{pin}"
    );
    assert!(
        text(&out).contains(&format!("von {}", aushang::town::DEFAULT_RELEASE_URL)),
        "{}",
        text(&out)
    );

    let mirror = "https://git.example.org/stadt/aushang/releases/download/v{version}";
    let site = tmp.path().join("mirror");
    let out = init(
        &site,
        &[&["--no-input", "--release-url", mirror], FLAGS].concat(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let pin = std::fs::read_to_string(site.join(".aushang-version")).unwrap();
    assert!(
        pin.contains(&format!("release_url={mirror}\n"))
            && pin.contains("cargo_git=https://git.example.org/stadt/aushang\n"),
        "{pin}"
    );
    assert!(!pin.contains(repository), "{pin}");

    let site = tmp.path().join("bad");
    let out = init(
        &site,
        &[&["--no-input", "--release-url", "git.example.org/x"], FLAGS].concat(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("keine http(s)-Adresse"),
        "{}",
        text(&out)
    );
    assert!(!site.exists(), "nothing is written for a bad address");
}
