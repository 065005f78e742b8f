//! The dry run's preview of every configured channel beyond WhatsApp: what each would send now.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::broadcast::plan::{Decision, Guards, plan};
use crate::config::Config;
use crate::content::Notice;
use crate::delivery::journal::{Journal, journal_dir};
use crate::providers::deliverer::write_preview;
use crate::providers::secrets::Secrets;
use crate::providers::select::{NAMES, choose, configured};

/// The dry run's section for every configured channel beyond WhatsApp: per open message the
/// exact rendering (mail subject and text part; the post with its character count). Needs no
/// secret: e-mail shows the personal unsubscribe link as a placeholder.
pub fn preview(config: &Config, notices: &[Notice], now: Timestamp) -> anyhow::Result<String> {
    let mut out = String::new();
    let journal = Journal::open(&journal_dir(&config.subscribers_dir()))?;
    for name in NAMES.into_iter().filter(|n| configured(config, n)) {
        // Rendering uses no secret (the personal link shows as a placeholder); the stand-in
        // only lets the clients be built, and nothing is sent.
        let (deliverer, _) = choose(config, name, &Secrets::placeholder())?;
        let planned = plan(
            config,
            notices,
            &journal,
            name,
            now,
            Guards {
                quiet_hours: true,
                staleness: true,
            },
        );
        let open: Vec<_> = planned
            .iter()
            .filter(|p| p.decision == Decision::Due)
            .collect();
        let _ = writeln!(out, "## Vorschau {name}\n");
        let _ = writeln!(out, "{} Nachricht(en) jetzt fällig.\n", open.len());
        for p in open {
            let _ = writeln!(out, "### {}\n", p.message.title);
            write_preview(&mut out, &deliverer.render(&p.message));
        }
    }
    Ok(out)
}
