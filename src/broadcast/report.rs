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
    /// Never to be sent: the message was older than `max_age` before its sending began, or its
    /// notice expired before the sending finished (`status` says which).
    pub left_out: usize,
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
    /// What the run did as a whole (e.g. which journal `--mark-sent` wrote): printed first.
    pub notes: Vec<String>,
    pub messages: Vec<MessageReport>,
    /// Why the run stopped early, if it did (fatal error, circuit breaker, failed pre-flight).
    pub stopped: Option<String>,
    pub warnings: Vec<String>,
}

impl RunReport {
    /// Everything due was sent, deliberately deferred, or given up by the rules (`max_age`,
    /// `expires`; annotated).
    pub fn success(&self) -> bool {
        self.stopped.is_none()
            && self
                .messages
                .iter()
                .all(|m| m.retry_left == 0 && m.uncertain == 0 && m.not_attempted == 0)
    }

    /// GitHub workflow commands for everyone this run did not reach, so a run that left people
    /// out is never silent in the Actions tab: `::error` for what fails the run (to retry,
    /// uncertain, not attempted), `::warning` for what the rules decided (deferred by the daily
    /// limit — the next runs continue — or left out as older than `max_age` or expired, reported once).
    pub fn annotations(&self) -> String {
        let mut out = String::new();
        for m in &self.messages {
            for (command, counts) in [
                (
                    "error",
                    [
                        (m.retry_left, "to retry on the next run".to_string()),
                        (m.uncertain, "uncertain (resend or accept them)".into()),
                        (m.not_attempted, "not attempted (the run stopped)".into()),
                    ]
                    .as_slice(),
                ),
                (
                    "warning",
                    [
                        (
                            m.deferred_by_limit,
                            "deferred by the daily limit (the next runs send to them)".into(),
                        ),
                        (m.left_out, format!("left out for good: {}", m.status)),
                    ]
                    .as_slice(),
                ),
            ] {
                let parts: Vec<String> = counts
                    .iter()
                    .filter(|(n, _)| *n > 0)
                    .map(|(n, what)| format!("{n} {what}"))
                    .collect();
                if !parts.is_empty() {
                    let _ = writeln!(
                        out,
                        "::{command} title=Broadcast::{}",
                        workflow_data(&format!("{} ({}): {}", m.title, m.key, parts.join(", ")))
                    );
                }
            }
        }
        if let Some(why) = &self.stopped {
            let _ = writeln!(
                out,
                "::error title=Broadcast stopped::{}",
                workflow_data(why)
            );
        }
        out
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for n in &self.notes {
            let _ = writeln!(out, "{n}");
        }
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
                ("left out for good", m.left_out),
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
        for n in &self.notes {
            let _ = writeln!(out, "{}\n", md_escape(n));
        }
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
                    m.deferred_by_limit + m.not_attempted + m.not_claimed + m.left_out
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

/// Escapes the message of a workflow command (one line; `%`, CR and LF encoded).
fn workflow_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_name_every_count_left_and_stay_one_line_each() {
        let report = RunReport {
            notes: vec!["--mark-sent wrote the journal x/".into()],
            messages: vec![
                MessageReport {
                    key: "/a/#notice".into(),
                    title: "Straße 100% gesperrt\nab Montag".into(),
                    sent: 50,
                    deferred_by_limit: 120,
                    uncertain: 2,
                    ..Default::default()
                },
                MessageReport {
                    key: "/b/#notice".into(),
                    title: "Alt".into(),
                    status: "not sent (older than max_age)".into(),
                    left_out: 7,
                    ..Default::default()
                },
                MessageReport {
                    key: "/c/#notice".into(),
                    title: "Fertig".into(),
                    sent: 3,
                    complete: true,
                    ..Default::default()
                },
            ],
            stopped: None,
            warnings: vec![],
        };
        assert_eq!(
            report.annotations(),
            "::error title=Broadcast::Straße 100%25 gesperrt%0Aab Montag (/a/#notice): 2 uncertain \
             (resend or accept them)\n\
             ::warning title=Broadcast::Straße 100%25 gesperrt%0Aab Montag (/a/#notice): 120 \
             deferred by the daily limit (the next runs send to them)\n\
             ::warning title=Broadcast::Alt (/b/#notice): 7 left out for good: not sent (older \
             than max_age)\n"
        );
        assert!(!report.success(), "uncertain deliveries fail the run");
        assert!(
            report
                .to_text()
                .starts_with("--mark-sent wrote the journal x/\n")
        );
        let md = report.to_markdown();
        assert!(
            md.contains("| 2 | 120 |\n") && md.contains("| 0 | 7 |\n"),
            "{md}"
        );
    }
}
