//! `journal/held-back.jsonl`: how many people a claim (or a run without one) held back before
//! recording anything for them — over the daily messaging limit or the budget — and who
//! therefore have no line in the journal yet. Counts per message and channel only (no subscriber id, number or name), so the
//! reach (`inbox::reach`) can count them as part of the audience, deferred, although the
//! journal does not know them. The last line of a message and channel is its current number
//! (a claim writes one whenever it held someone back, and a 0 when it no longer does); a
//! `completed` (or `expired`, `stale`, `marked`) after it in the index makes it 0. Append-only, one line per write, a torn last
//! line fenced off (merged with `merge=union` on the state branch like the rest of the journal).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub const HELD_BACK_FILE: &str = "held-back.jsonl";

/// One claim's count for one message on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldBack {
    pub t: Timestamp,
    /// The run that claimed (`gh-123-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    pub msg: String,
    pub ch: String,
    /// Held back by the channel's daily messaging limit.
    #[serde(default)]
    pub by_limit: u64,
    /// Held back by the budget (`broadcast.budget`).
    #[serde(default)]
    pub by_budget: u64,
}

impl HeldBack {
    pub fn total(&self) -> u64 {
        self.by_limit + self.by_budget
    }
}

/// `journal/held-back.jsonl` under a journal directory.
pub fn held_back_path(journal_dir: &Path) -> PathBuf {
    journal_dir.join(HELD_BACK_FILE)
}

/// Every line, in file order (a missing file: none; an unreadable line, e.g. torn by a power
/// loss, is passed over with a warning naming file and line).
pub fn read(journal_dir: &Path) -> std::io::Result<Vec<HeldBack>> {
    let path = held_back_path(journal_dir);
    crate::fsutil::read_jsonl(&path)
}

/// The current count per (message, channel): the last line of each.
pub fn latest(lines: &[HeldBack]) -> HashMap<(String, String), HeldBack> {
    let mut out = HashMap::new();
    for l in lines {
        out.insert((l.msg.clone(), l.ch.clone()), l.clone());
    }
    out
}

/// Records `line` when it says something new: someone is held back, or the last line of its
/// message and channel said someone was. Returns whether it wrote.
pub fn record(journal_dir: &Path, line: &HeldBack) -> std::io::Result<bool> {
    let before = read(journal_dir)?
        .into_iter()
        .rfind(|l| l.msg == line.msg && l.ch == line.ch)
        .map_or(0, |l| l.total());
    if line.total() == 0 && before == 0 {
        return Ok(false);
    }
    let path = held_back_path(journal_dir);
    std::fs::create_dir_all(journal_dir)?;
    let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
    text.push('\n');
    let torn = std::fs::read(&path)
        .map(|b| b.last().is_some_and(|c| *c != b'\n'))
        .unwrap_or(false);
    if torn {
        text.insert(0, '\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    file.write_all(text.as_bytes())?;
    file.sync_data()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: &str, msg: &str, by_limit: u64, by_budget: u64) -> HeldBack {
        HeldBack {
            t: t.parse().unwrap(),
            run: Some("run-1".into()),
            msg: msg.into(),
            ch: "whatsapp".into(),
            by_limit,
            by_budget,
        }
    }

    #[test]
    fn only_news_is_written_and_the_last_line_counts() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("journal");
        assert!(!record(&j, &line("2026-12-02T10:00:00Z", "/a/#notice", 0, 0)).unwrap());
        assert!(!held_back_path(&j).exists(), "nothing held back: no file");
        assert!(record(&j, &line("2026-12-02T10:00:00Z", "/a/#notice", 2, 7)).unwrap());
        // A torn line (power loss) is fenced off and passed over.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(held_back_path(&j))
            .unwrap();
        f.write_all(b"{\"t\":\"2026-12").unwrap();
        assert!(record(&j, &line("2026-12-03T10:00:00Z", "/a/#notice", 0, 0)).unwrap());
        assert!(!record(&j, &line("2026-12-04T10:00:00Z", "/a/#notice", 0, 0)).unwrap());
        let lines = read(&j).unwrap();
        assert_eq!(lines.len(), 2);
        let now = latest(&lines);
        assert_eq!(now[&("/a/#notice".into(), "whatsapp".into())].total(), 0);
        assert_eq!(lines[0].total(), 9);
    }
}
