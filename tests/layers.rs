//! The module layers stay as `docs/architecture.md` draws them: `broadcast` and `inbox` stand
//! side by side on `providers`, which stand on `delivery` (and `subscribers`, `config`); nothing
//! reaches up or sideways. The commands (`src/cmd`) tie them together and are the only place that
//! reads secrets from the environment. Each check reads the source and names file:line.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/<dir>`.
fn sources(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut out = Vec::new();
    walk(&root, &mut out);
    assert!(!out.is_empty(), "no sources under {}", root.display());
    out
}

/// `text` without its comments (`//…` to the end of the line), line by line, so a doc comment
/// may name another layer.
fn code_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => line[..i].to_string(),
            None => line.to_string(),
        })
        .collect()
}

/// Where `text` uses module `crate::<module>` (as a path or inside `use crate::{…}`):
/// 1-based line numbers.
fn uses_module(text: &str, module: &str) -> Vec<usize> {
    let lines = code_lines(text);
    let mut hits = Vec::new();
    let mut in_group = false;
    for (i, line) in lines.iter().enumerate() {
        let direct = line.contains(&format!("crate::{module}::"))
            || line.contains(&format!("crate::{module};"))
            || line.contains(&format!("crate::{module} "));
        // `use crate::{a, inbox::x};`, possibly across lines.
        if line.contains("crate::{") {
            in_group = true;
        }
        let grouped = in_group
            && line
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == module);
        if line.contains('}') {
            in_group = false;
        }
        if direct || grouped {
            hits.push(i + 1);
        }
    }
    hits
}

/// Every place a file under `src/<dir>` uses one of `forbidden`, as `file:line: module`.
fn violations(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for path in sources(dir) {
        let text = std::fs::read_to_string(&path).unwrap();
        for module in forbidden {
            for line in uses_module(&text, module) {
                out.push(format!(
                    "{}:{line}: uses crate::{module}",
                    path.strip_prefix(root).unwrap().display()
                ));
            }
        }
    }
    out
}

fn assert_none(rule: &str, found: Vec<String>) {
    assert!(found.is_empty(), "{rule}:\n  {}", found.join("\n  "));
}

#[test]
fn the_scanner_finds_paths_and_grouped_imports_but_not_comments() {
    let text = "use crate::inbox::events::Event;\n\
                // crate::inbox in a comment\n\
                let x = crate::broadcast::run::broadcast(); // crate::inbox\n\
                use crate::{\n    config::Config,\n    inbox::Secrets,\n};\n\
                use crate::inboxes::Other;\n";
    assert_eq!(uses_module(text, "inbox"), vec![1, 6]);
    assert_eq!(uses_module(text, "broadcast"), vec![3]);
}

#[test]
fn broadcast_and_inbox_never_import_each_other() {
    assert_none(
        "broadcast must not import inbox (shared vocabulary belongs in delivery/, providers/ or subscribers/)",
        violations("broadcast", &["inbox"]),
    );
    assert_none(
        "inbox must not import broadcast (shared vocabulary belongs in delivery/, providers/ or subscribers/)",
        violations("inbox", &["broadcast"]),
    );
}

#[test]
fn providers_never_import_broadcast_or_inbox() {
    assert_none(
        "providers stand below broadcast and inbox",
        violations("providers", &["broadcast", "inbox"]),
    );
}

#[test]
fn delivery_and_subscribers_import_none_of_the_layers_above() {
    assert_none(
        "delivery is the vocabulary below broadcast, inbox and providers",
        violations("delivery", &["broadcast", "inbox", "providers"]),
    );
    assert_none(
        "subscribers (the list, the opt-out token) stand below delivery and everything on it",
        violations(
            "subscribers",
            &["broadcast", "inbox", "providers", "delivery"],
        ),
    );
}

#[test]
fn only_the_command_edge_reads_the_environment_for_delivery() {
    // `broadcast/report.rs` reads GITHUB_STEP_SUMMARY, where to write the job summary: not a
    // secret, and called only from the commands.
    let allowed = ["src/broadcast/report.rs"];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for dir in ["broadcast", "inbox", "providers", "delivery"] {
        for path in sources(dir) {
            let name = path.strip_prefix(root).unwrap().display().to_string();
            if allowed.contains(&name.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in code_lines(&text).iter().enumerate() {
                if line.contains("env::var") {
                    found.push(format!("{name}:{}: reads the environment", i + 1));
                }
            }
        }
    }
    assert_none(
        "secrets are read once in src/cmd and passed down (providers::secrets::Secrets, inbox::Secrets)",
        found,
    );
}
