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
    /// Not sent because the budget is used up (`budget_reason` says which); they stay due.
    pub deferred_by_budget: usize,
    pub budget_reason: Option<String>,
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
                        (m.retry_left, "beim nächsten Lauf erneut zu versuchen".to_string()),
                        (m.uncertain, "unsicher (erneut senden oder akzeptieren)".into()),
                        (m.not_attempted, "nicht versucht (der Lauf wurde abgebrochen)".into()),
                    ]
                    .as_slice(),
                ),
                (
                    "warning",
                    [
                        (
                            m.deferred_by_limit,
                            "wegen des Tageslimits zurückgestellt (die nächsten Läufe senden an sie)".into(),
                        ),
                        (m.left_out, format!("endgültig ausgelassen: {}", m.status)),
                        (
                            m.deferred_by_budget,
                            crate::broadcast::budget::deferred_text(m.budget_reason.as_deref(), &m.key),
                        ),
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
                        "::{command} title=Versand::{}",
                        workflow_data(&format!("{} ({}): {}", m.title, m.key, parts.join(", ")))
                    );
                }
            }
        }
        if let Some(why) = &self.stopped {
            let _ = writeln!(
                out,
                "::error title=Versand abgebrochen::{}",
                workflow_data(why)
            );
        }
        out
    }

    /// Recipients deferred by the budget (exit status 5 when nothing else went wrong).
    pub fn deferred_by_budget(&self) -> usize {
        self.messages.iter().map(|m| m.deferred_by_budget).sum()
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for n in &self.notes {
            let _ = writeln!(out, "{n}");
        }
        // Warnings before the results they concern, so they are read first.
        for w in &self.warnings {
            let _ = writeln!(out, "Warnung: {w}");
        }
        if self.messages.is_empty() {
            out.push_str(
                "Nichts zu senden: jede veröffentlichte Bekanntmachung ist schon versandt.\n",
            );
        }
        for m in &self.messages {
            let _ = writeln!(out, "{} [{}] {}", m.channel, m.status, m.key);
            let _ = writeln!(out, "    {}", m.title);
            let _ = write!(out, "    gesendet {}, übersprungen {}", m.sent, m.skipped);
            if m.permanent_total() > 0 {
                let codes: Vec<String> = m
                    .permanent
                    .iter()
                    .map(|(c, n)| format!("{c}×{n}"))
                    .collect();
                let _ = write!(
                    out,
                    ", endgültig fehlgeschlagen {} ({})",
                    m.permanent_total(),
                    codes.join(", ")
                );
            }
            for (label, n) in [
                ("erneut zu versuchen", m.retry_left),
                ("unsicher", m.uncertain),
                ("wegen Tageslimit zurückgestellt", m.deferred_by_limit),
                ("wegen des Budgets zurückgestellt", m.deferred_by_budget),
                ("nicht versucht", m.not_attempted),
                (
                    "von diesem Lauf nicht übernommen (nächster Lauf)",
                    m.not_claimed,
                ),
                ("endgültig ausgelassen", m.left_out),
            ] {
                if n > 0 {
                    let _ = write!(out, ", {label} {n}");
                }
            }
            let _ = writeln!(out, "{}", if m.complete { " — vollständig" } else { "" });
            if m.deferred_by_budget > 0 {
                let _ = writeln!(
                    out,
                    "    Budget: {} {}",
                    m.deferred_by_budget,
                    crate::broadcast::budget::deferred_text(m.budget_reason.as_deref(), &m.key)
                );
            }
        }
        if let Some(why) = &self.stopped {
            let _ = writeln!(out, "ABGEBROCHEN: {why}");
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::from("## Versand\n\n");
        for n in &self.notes {
            let _ = writeln!(out, "{}\n", md_escape(n));
        }
        for w in &self.warnings {
            let _ = writeln!(out, "> **Warnung:** {}\n", md_escape(w));
        }
        if self.messages.is_empty() {
            out.push_str(
                "Nichts zu senden: jede veröffentlichte Bekanntmachung ist schon versandt.\n",
            );
        } else {
            out.push_str("| Kanal | Bekanntmachung | Status | Gesendet | Übersprungen | Fehlgeschlagen | Erneut zu versuchen | Unsicher | Zurückgestellt |\n");
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
                    m.deferred_by_limit
                        + m.deferred_by_budget
                        + m.not_attempted
                        + m.not_claimed
                        + m.left_out
                );
            }
        }
        for m in self.messages.iter().filter(|m| m.deferred_by_budget > 0) {
            let _ = writeln!(
                out,
                "\n> **Budget:** {}: {} {}",
                md_escape(&m.title),
                m.deferred_by_budget,
                md_escape(&crate::broadcast::budget::deferred_text(
                    m.budget_reason.as_deref(),
                    &m.key
                ))
            );
        }
        if let Some(why) = &self.stopped {
            let _ = writeln!(out, "\n> **Abgebrochen:** {}", md_escape(why));
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
        tracing::warn!("die Job-Zusammenfassung lässt sich nicht schreiben: {e}");
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
                    status: "nicht gesendet (älter als max_age)".into(),
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
            "::error title=Versand::Straße 100%25 gesperrt%0Aab Montag (/a/#notice): 2 unsicher \
             (erneut senden oder akzeptieren)\n\
             ::warning title=Versand::Straße 100%25 gesperrt%0Aab Montag (/a/#notice): 120 \
             wegen des Tageslimits zurückgestellt (die nächsten Läufe senden an sie)\n\
             ::warning title=Versand::Alt (/b/#notice): 7 endgültig ausgelassen: nicht gesendet \
             (älter als max_age)\n"
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

    #[test]
    fn warnings_come_before_the_results_they_concern() {
        let report = RunReport {
            notes: vec![],
            messages: vec![MessageReport {
                key: "/a/#notice".into(),
                title: "Sperrung".into(),
                sent: 3,
                complete: true,
                ..Default::default()
            }],
            stopped: None,
            warnings: vec!["the template has no opt-out button".into()],
        };
        for text in [report.to_text(), report.to_markdown()] {
            let warning = text.find("the template has no opt-out button").unwrap();
            let result = text.find("Sperrung").unwrap();
            assert!(warning < result, "{text}");
        }
    }
}
