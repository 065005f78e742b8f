//! `aushang broadcast`: send every due notice to its subscribers, exactly once.

use std::path::Path;
use std::process::ExitCode;

use aushang::broadcast::report::append_step_summary;
use aushang::broadcast::run::{BroadcastOptions, broadcast, dry_run};
use aushang::broadcast::{claim, due};
use aushang::providers::secrets::Secrets;

use super::{load_site, parse_now};

#[path = "broadcast_all.rs"]
mod all;

#[derive(clap::Args)]
pub struct Args {
    /// Die genauen Nachrichten und die Zahl der Empfänger zeigen; nichts senden (kein Schlüssel nötig).
    #[arg(long)]
    pub dry_run: bool,
    /// Jede fällige Bekanntmachung als gesendet festhalten, ohne zu senden (Ersteinrichtung einer Website mit Vorgeschichte).
    #[arg(long, conflicts_with = "dry_run")]
    pub mark_sent: bool,
    /// Der Zeitpunkt, für den geplant wird (Standard: jetzt), z. B. "2026-11-28 09:30".
    #[arg(long)]
    pub now: Option<String>,
    /// `whatsapp`, `email`, `telegram`, `mastodon`, `outbox` oder `all`: jeder echte Kanal aus
    /// aushang.yaml, jeder mit seinem Geheimnis (fehlt eines, bricht der Lauf ab, bevor etwas
    /// übernommen oder gesendet ist) (Standard: WhatsApp, wenn eingerichtet und WHATSAPP_TOKEN
    /// gesetzt ist; die anderen nur, wenn genannt).
    #[arg(long)]
    pub channel: Option<String>,
    /// Vor dem Senden nicht prüfen, ob jede Seite einer Bekanntmachung erreichbar ist (200).
    #[arg(long)]
    pub no_link_check: bool,
    /// Erneut an Empfänger senden, deren frühere Zustellung unsicher ist (kann doppelt ankommen).
    #[arg(long)]
    pub resend_uncertain: bool,
    /// Vorab festhalten: im Journal vermerken, an wen Lauf RUN senden wird; nichts senden.
    /// Exit-Code 0: etwas übernommen; 3: nichts fällig; 4: nichts übernommen, aber unsichere
    /// Zustellungen warten (geht 5 vor: erst klärt jemand die unsicheren); 5: das Budget ist
    /// erreicht – bis dahin übernommen (vielleicht nichts), der Rest bleibt fällig, bis das
    /// Budget es erlaubt oder `--approve-budget` (auch ein Sendelauf endet mit 5, wenn das
    /// Budget jemanden zurückgestellt hat).
    #[arg(long, value_name = "RUN", conflicts_with_all = ["dry_run", "mark_sent", "run", "due"])]
    pub claim: Option<String>,
    /// Nur senden, was `--claim RUN` übernommen hat; den Rest danach freigeben.
    #[arg(long, value_name = "RUN", conflicts_with_all = ["dry_run", "mark_sent", "due", "accept_uncertain", "resend_uncertain"])]
    pub run: Option<String>,
    /// Ob ein Versandlauf etwas zu tun hat, nur aus Inhalten und Journal (kein Schlüssel, kein
    /// Token): gibt `due=true` oder `due=false` aus.
    #[arg(long, conflicts_with_all = ["dry_run", "mark_sent"])]
    pub due: bool,
    /// Mit --due: auch, ob sich die Website seit diesem Zeitpunkt (dem letzten Deploy) geändert
    /// hat: gibt `site_due=true` aus, wenn seitdem ein publish_at-, expires- oder update-Datum verstrich.
    #[arg(long, requires = "due", value_name = "INSTANT")]
    pub site_since: Option<String>,
    /// Unsichere Zustellungen als zugestellt festhalten (`accepted`, ohne Nachweis) und ihnen
    /// nichts senden; dann den Rest wie üblich senden.
    #[arg(long, conflicts_with_all = ["resend_uncertain", "dry_run", "mark_sent"])]
    pub accept_uncertain: bool,
    /// NOTICE (ihre Adresse, z. B. /bekanntmachungen/2026/x/) darf mehr kosten als das Budget;
    /// im Journal mit GITHUB_ACTOR, Zeit und Betrag festgehalten. Sendet nichts.
    #[arg(long, value_name = "NOTICE", conflicts_with_all = ["dry_run", "mark_sent", "claim", "run", "due"])]
    pub approve_budget: Option<String>,
    /// Mit --approve-budget: wie viel mehr (in der Währung der Preisliste); Standard: was die
    /// noch offenen Empfänger kosten (braucht den Schlüssel der Liste).
    #[arg(long, value_name = "AMOUNT", requires = "approve_budget")]
    pub approve_amount: Option<String>,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let Some((config, content)) = load_site(root)? else {
        return Ok(ExitCode::FAILURE);
    };
    let now = parse_now(args.now.as_deref(), &config)?;
    if args.due {
        let mut report = due::due(&config, &content.notices, now)?;
        if let Some(since) = &args.site_since {
            let since = parse_now(Some(since), &config)?;
            report.site_changes = Some(due::site_changes(&content.notices, since, now));
        }
        print!("{}", report.to_text());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(notice) = &args.approve_budget {
        let actor = std::env::var(aushang::broadcast::approve::ACTOR_ENV).ok();
        let a = aushang::broadcast::approve::approve(
            &config,
            &content.notices,
            notice,
            args.approve_amount.as_deref(),
            now,
            actor,
        )?;
        let text = aushang::broadcast::budget::approval_text(&a);
        println!("{text}");
        append_step_summary(&format!("## Budget\n\n{text}\n"));
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        let preview = dry_run(&config, &content.notices, now)?;
        print!("{preview}");
        append_step_summary(&preview);
        return Ok(ExitCode::SUCCESS);
    }
    if args.channel.as_deref() == Some("all") {
        return all::run(&config, &content.notices, args, now);
    }
    let opts = BroadcastOptions {
        now,
        channel: args.channel,
        mark_sent: args.mark_sent,
        resend_uncertain: args.resend_uncertain,
        accept_uncertain: args.accept_uncertain,
        link_check: !args.no_link_check,
        run: args.run,
        secrets: secrets(),
    };
    if let Some(run) = &args.claim {
        let claimed = claim::claim(&config, &content.notices, &opts, run)?;
        print!("{}", claimed.to_text());
        let deferred = aushang::broadcast::budget::claim_notice(&claimed);
        if let Some(lines) = &deferred {
            if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
                print!("{}", lines.annotations);
            }
            append_step_summary(&lines.markdown);
        }
        return Ok(ExitCode::from(claim::exit_status(
            claimed.claimed(),
            claimed.uncertain(),
            deferred.is_some(),
        )));
    }
    let report = broadcast(&config, &content.notices, &opts)?;
    print!("{}", report.to_text());
    if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        print!("{}", report.annotations());
    }
    append_step_summary(&report.to_markdown());
    Ok(if report.success() && report.deferred_by_budget() > 0 {
        ExitCode::from(5)
    } else if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The providers' secrets from the environment: the one place a broadcast reads them.
pub(super) fn secrets() -> Secrets {
    Secrets::from_lookup(|name| std::env::var(name).ok())
}
