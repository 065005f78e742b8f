//! `aushang migrate`: brings a site's persisted formats up to what this aushang writes, in place.
//!
//! Each step is idempotent (a second run changes nothing) and writes atomically (temp file +
//! rename). Today's steps:
//! - `aushang.yaml` without the `aushang:` version key (sites from before 0.2) gets the key, so
//!   `check` can tell an older binary from a newer site.
//! - The subscriber list: a v1/v2 list (one that does not record its keys) is converted only by
//!   `aushang subscribers rekey`, because that step changes who can read the list and needs a
//!   person to confirm the keys in `recipients.txt`. Without a key the list cannot be looked at;
//!   the step then says so instead of guessing.
//! - The WhatsApp and outbox journals and the inbox records are read by this aushang as 0.2 wrote
//!   them (`tests/formats.rs`); nothing to convert yet.

use std::path::{Path, PathBuf};

use crate::config::CONFIG_FILE;
use crate::subscribers::keyset::KeyRecord;
use crate::subscribers::store::{LIST_FILE, list_path};
use crate::subscribers::{Identity, SubscriberList};

/// What one step found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Already in today's format.
    Current { what: String },
    /// Converted (or, in a dry run, would be).
    Changed { file: PathBuf, what: String },
    /// Needs a person: the command to run, and why.
    Manual { file: PathBuf, what: String },
    /// Could not be looked at (no key); not a failure.
    Unchecked { file: PathBuf, what: String },
}

/// Runs every step on the site in `root`. `identity` opens the subscriber list if given; with
/// `dry_run` nothing is written.
pub fn run(root: &Path, identity: Option<&Identity>, dry_run: bool) -> anyhow::Result<Vec<Step>> {
    Ok(vec![
        settings(root, dry_run)?,
        subscriber_list(root, identity),
        Step::Current {
            what: "Versandprotokolle (journal/) und Inbox-Aufzeichnungen: Format von aushang 0.2, \
                   nichts umzustellen"
                .into(),
        },
    ])
}

/// The version requirement written into a site that has none: this aushang's minor series.
fn requirement() -> String {
    let mut parts = env!("CARGO_PKG_VERSION").split('.');
    let major = parts.next().unwrap_or("0");
    let minor = parts.next().unwrap_or("0");
    format!(">={major}.{minor}")
}

fn settings(root: &Path, dry_run: bool) -> anyhow::Result<Step> {
    let path = root.join(CONFIG_FILE);
    let text =
        std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let has_key = text.lines().any(|l| {
        l.strip_prefix("aushang")
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    });
    if has_key {
        return Ok(Step::Current {
            what: format!("{CONFIG_FILE}: nennt die nötige aushang-Version"),
        });
    }
    // After the leading comment block, so the file's own header stays on top.
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| !l.trim_start().starts_with('#'))
        .unwrap_or(lines.len());
    let requirement = requirement();
    let mut out = String::with_capacity(text.len() + 120);
    for l in &lines[..at] {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(
        "# The aushang versions this site needs; `check` refuses an older binary (added by `aushang migrate`).\n",
    );
    out.push_str(&format!("aushang: \"{requirement}\"\n"));
    for l in &lines[at..] {
        out.push_str(l);
        out.push('\n');
    }
    if !dry_run {
        crate::fsutil::write_atomic(&path, out.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(Step::Changed {
        file: PathBuf::from(CONFIG_FILE),
        what: format!("Versionsangabe `aushang: \"{requirement}\"` ergänzt"),
    })
}

fn subscriber_list(root: &Path, identity: Option<&Identity>) -> Step {
    let dir = root.join("subscribers");
    let file = Path::new("subscribers").join(LIST_FILE);
    if !list_path(&dir).exists() {
        return Step::Current {
            what: "keine Abonnentenliste".into(),
        };
    }
    let Some(identity) = identity else {
        return Step::Unchecked {
            file,
            what: "ohne Schlüssel nicht lesbar: mit AUSHANG_IDENTITY_FILE erneut aufrufen, oder \
                   gleich `aushang subscribers rekey` (stellt eine ältere Liste um, eine aktuelle \
                   bleibt gleich)"
                .into(),
        };
    };
    match SubscriberList::load(&dir, identity) {
        Ok(list) => match list.key_record() {
            KeyRecord::Unrecorded => Step::Manual {
                file,
                what: "älteres Format (v1/v2, ohne die Liste der Schlüssel): prüfen Sie die \
                       Schlüssel in subscribers/recipients.txt und führen Sie \
                       `aushang subscribers rekey` aus"
                    .into(),
            },
            _ => Step::Current {
                what: format!("{}: aktuelles Format", file.display()),
            },
        },
        Err(e) => Step::Unchecked {
            file,
            what: format!("nicht lesbar: {e}"),
        },
    }
}

/// The lines `aushang migrate` prints, one per step.
pub fn describe(steps: &[Step], dry_run: bool) -> String {
    let mut out = String::new();
    for s in steps {
        let line = match s {
            Step::Current { what } => format!("aktuell: {what}"),
            Step::Changed { file, what } if dry_run => {
                format!("würde umstellen: {}: {what}", file.display())
            }
            Step::Changed { file, what } => format!("umgestellt: {}: {what}", file.display()),
            Step::Manual { file, what } => format!("zu tun: {}: {what}", file.display()),
            Step::Unchecked { file, what } => format!("nicht geprüft: {}: {what}", file.display()),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}
