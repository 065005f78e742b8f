//! `aushang broadcast --mark-sent`: records every due message as sent without sending, for a
//! site adopting aushang with notices it already has. Writes the journal of the real channel
//! configured (no token or key needed), never silently the local outbox's, and says which.

use anyhow::{Context, bail};

use crate::broadcast::plan::{Guards, plan};
use crate::broadcast::report::{MessageReport, RunReport};
use crate::broadcast::run::BroadcastOptions;
use crate::config::Config;
use crate::content::Notice;
use crate::delivery::journal::{IndexEvent, Journal, journal_dir};
use crate::providers::outbox::Outbox;
use crate::providers::select;

/// The journals `--mark-sent` writes: one per channel that real runs will use — each real channel
/// configured (WhatsApp, e-mail, Telegram, Mastodon: `subscribers/journal/`), whether or not its
/// token is at hand; the local outbox's git-ignored journal only when asked for (`--channel
/// outbox`) or when no real channel is configured.
fn mark_sent_journals(
    config: &Config,
    requested: Option<&str>,
) -> anyhow::Result<Vec<(&'static str, std::path::PathBuf)>> {
    let whatsapp = config.broadcast.channels.whatsapp.is_some();
    let real = || ("whatsapp", journal_dir(&config.subscribers_dir()));
    let outbox = || ("outbox", Outbox::for_site(config, None).journal_dir());
    // e-mail, Telegram, Mastodon: the same journal folder, each under its channel name
    let others: Vec<_> = select::NAMES
        .into_iter()
        .filter(|name| select::configured(config, name))
        .map(|name| (name, journal_dir(&config.subscribers_dir())))
        .collect();
    Ok(match requested {
        Some("whatsapp") if whatsapp => vec![real()],
        Some("whatsapp") => {
            bail!(
                "--channel whatsapp, aber aushang.yaml hat keinen Abschnitt broadcast.channels.whatsapp"
            )
        }
        Some("outbox") => vec![outbox()],
        Some(name) if select::NAMES.contains(&name) => {
            match others.into_iter().find(|(n, _)| *n == name) {
                Some(journal) => vec![journal],
                None => bail!(
                    "--channel {name}, aber aushang.yaml hat keinen Abschnitt broadcast.channels.{name}"
                ),
            }
        }
        Some(other) => {
            bail!(
                "unbekannter Kanal `{other}` (bekannt: whatsapp, email, telegram, mastodon, outbox)"
            )
        }
        None if whatsapp || !others.is_empty() => {
            whatsapp.then(real).into_iter().chain(others).collect()
        }
        None => vec![outbox()],
    })
}

/// `--mark-sent`: records every due message as sent on each channel of [`mark_sent_journals`]
/// without sending, so adopting a site with history does not send its old notices. Needs no
/// token and no key; the report opens with the journal(s) it wrote.
pub fn mark_sent(
    config: &Config,
    notices: &[Notice],
    opts: &BroadcastOptions,
) -> anyhow::Result<RunReport> {
    let mut report = RunReport::default();
    for (channel, dir) in mark_sent_journals(config, opts.channel.as_deref())? {
        let journal = Journal::open(&dir).context("das Journal lässt sich nicht lesen")?;
        let guards = Guards {
            quiet_hours: false,
            staleness: false,
        };
        let planned = plan(config, notices, &journal, channel, opts.now, guards);
        for p in &planned {
            journal.record_index(&p.message.key, channel, IndexEvent::Started, opts.now)?;
            journal.record_index(&p.message.key, channel, IndexEvent::Marked, opts.now)?;
            report.messages.push(MessageReport {
                key: p.message.key.clone(),
                title: p.message.title.clone(),
                channel: channel.into(),
                status: "als gesendet markiert (nichts gesendet)".into(),
                complete: true,
                ..Default::default()
            });
        }
        journal.sync()?;
        let shown = dir.strip_prefix(&config.root).unwrap_or(&dir).display();
        let mut note = format!(
            "--mark-sent hat das Journal {shown}/ geschrieben (Kanal {channel}): {} Nachricht(en) als \
             gesendet markiert, nichts wurde gesendet",
            planned.len()
        );
        if channel == "outbox" {
            note.push_str(
                "; das ist das Journal des lokalen Ordners outbox/ (nicht committet): echte Kanäle sind nicht markiert",
            );
        } else {
            note.push_str("; committen und pushen, damit der Workflow es weiß");
        }
        report.notes.push(note);
    }
    Ok(report)
}
