//! What a run did, per message and channel: printed at the end, and appended to the GitHub job
//! summary as Markdown when `GITHUB_STEP_SUMMARY` is set.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Counts for one message on one channel.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MessageReport {
    pub key: String,
    pub title: String,
    pub channel: String,
    /// `due`, or why it was not sent (quiet hours, stale, marked, link check failed…).
    pub status: String,
    pub sent: usize,
    /// Already sent or permanently failed in an earlier run.
    pub skipped: usize,
    /// Permanent failures by error code.
    pub permanent: BTreeMap<i64, usize>,
    /// Failed with a retryable error; the next run tries again.
    pub retry_left: usize,
    /// A request went out without an answer (killed mid-request, timeout): not resent by default.
    pub uncertain: usize,
    /// Not sent because the daily messaging limit was reached.
    pub deferred_by_limit: usize,
    /// Not tried because the run stopped.
    pub not_attempted: usize,
    /// Not claimed by this `--run`: left for the next run (nothing is lost).
    pub not_claimed: usize,
    pub complete: bool,
}

impl MessageReport {
    pub fn permanent_total(&self) -> usize {
        self.permanent.values().sum()
    }
}

/// The whole run.
#[derive(Debug, Default, Clone)]
pub struct RunReport {
    pub messages: Vec<MessageReport>,
    /// Why the run stopped early, if it did (fatal error, circuit breaker, failed pre-flight).
    pub stopped: Option<String>,
    pub warnings: Vec<String>,
}

impl RunReport {
    /// Everything due was sent or deliberately deferred.
    pub fn success(&self) -> bool {
        self.stopped.is_none()
            && self
                .messages
                .iter()
                .all(|m| m.retry_left == 0 && m.uncertain == 0 && m.not_attempted == 0)
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.messages.is_empty() {
            out.push_str("Nothing to send: every published notice has been broadcast.\n");
        }
        for m in &self.messages {
            let _ = writeln!(out, "{} [{}] {}", m.channel, m.status, m.key);
            let _ = writeln!(out, "    {}", m.title);
            let _ = write!(out, "    sent {}, skipped {}", m.sent, m.skipped);
            if m.permanent_total() > 0 {
                let codes: Vec<String> = m
                    .permanent
                    .iter()
                    .map(|(c, n)| format!("{c}×{n}"))
                    .collect();
                let _ = write!(
                    out,
                    ", failed permanently {} ({})",
                    m.permanent_total(),
                    codes.join(", ")
                );
            }
            for (label, n) in [
                ("to retry", m.retry_left),
                ("uncertain", m.uncertain),
                ("deferred by daily limit", m.deferred_by_limit),
                ("not attempted", m.not_attempted),
                ("not claimed by this run (next run)", m.not_claimed),
            ] {
                if n > 0 {
                    let _ = write!(out, ", {label} {n}");
                }
            }
            let _ = writeln!(out, "{}", if m.complete { " — complete" } else { "" });
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        if let Some(why) = &self.stopped {
            let _ = writeln!(out, "STOPPED: {why}");
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::from("## Broadcast\n\n");
        if self.messages.is_empty() {
            out.push_str("Nothing to send: every published notice has been broadcast.\n");
        } else {
            out.push_str("| Channel | Notice | Status | Sent | Skipped | Failed | To retry | Uncertain | Deferred |\n");
            out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|\n");
            for m in &self.messages {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    m.channel,
                    md_escape(&m.title),
                    m.status,
                    m.sent,
                    m.skipped,
                    m.permanent_total(),
                    m.retry_left,
                    m.uncertain,
                    m.deferred_by_limit + m.not_attempted + m.not_claimed
                );
            }
        }
        for w in &self.warnings {
            let _ = writeln!(out, "\n> **Warning:** {}", md_escape(w));
        }
        if let Some(why) = &self.stopped {
            let _ = writeln!(out, "\n> **Stopped:** {}", md_escape(why));
        }
        out
    }
}

/// Appends Markdown to the GitHub job summary when running in GitHub Actions.
pub fn append_step_summary(markdown: &str) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let result = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{markdown}\n").as_bytes()));
    if let Err(e) = result {
        tracing::warn!("could not write the job summary: {e}");
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
