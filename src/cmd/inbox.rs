//! `aushang inbox serve | pull | ack | confirm | link`: the inbox server, the batch side that
//! applies its events, resending lost confirmation requests, and the opt-out link of one
//! subscriber.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use aushang::config;
use aushang::inbox::confirm::{ResendOptions, resend};
use aushang::inbox::pull::{PullOptions, ack_file as ack_file_fn, pull};
use aushang::inbox::{PULL_TOKEN_ENV, Secrets};
use aushang::subscribers::Identity;
use aushang::subscribers::optout;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Run the inbox server (behind a TLS proxy). Secrets come from the environment.
    Serve(ServeArgs),
    /// Fetch the inbox's events, apply them to the subscriber list, then acknowledge them.
    Pull(PullArgs),
    /// Acknowledge the events a `pull --no-ack` applied (run it after the list was committed).
    Ack {
        /// The inbox URL (default: `inbox.url` from aushang.yaml).
        #[arg(long)]
        url: Option<String>,
        /// The file `pull --no-ack` wrote the event ids to.
        #[arg(long, default_value = ACK_FILE)]
        ack_file: PathBuf,
    },
    /// Show pending sign-ups due for another confirmation request; with --resend, send it.
    Confirm(ConfirmArgs),
    /// Print the opt-out link of one subscriber (needs AUSHANG_INBOX_TOKEN_SECRET).
    Link {
        /// The subscriber id (`s_…`), as shown by `aushang subscribers list`.
        subscriber: String,
    },
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, default_value_t = 8087)]
    port: u16,
    /// Address to listen on; keep 127.0.0.1 behind a local proxy.
    #[arg(long, default_value = "127.0.0.1")]
    listen: IpAddr,
    /// Where received events are stored (encrypted).
    #[arg(long, default_value = "inbox-data")]
    data: PathBuf,
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// The inbox URL (default: `inbox.url` from aushang.yaml).
    #[arg(long)]
    url: Option<String>,
    /// The instant recorded as "applied at" (default: now).
    #[arg(long)]
    now: Option<String>,
    /// Do not acknowledge: write the event ids to --ack-file for `aushang inbox ack` after the
    /// commit (the inbox keeps the events until then).
    #[arg(long)]
    no_ack: bool,
    #[arg(long, default_value = ACK_FILE)]
    ack_file: PathBuf,
}

#[derive(clap::Args)]
pub struct ConfirmArgs {
    /// Send the confirmation template again (without it: only show who is due).
    #[arg(long)]
    resend: bool,
    /// Only sign-ups (and last requests) at least this old, e.g. 2d or 36h.
    #[arg(long, default_value = "2d")]
    older_than: String,
    /// Ask each subscriber at most once in this period.
    #[arg(long, default_value = "7d")]
    every: String,
    /// Resends per subscriber, ever (the pull's first request not counted).
    #[arg(long, default_value_t = 2)]
    max_resends: usize,
    /// The instant to decide and record at (default: now).
    #[arg(long)]
    now: Option<String>,
}

/// Relative to the site root; not to be committed.
const ACK_FILE: &str = ".aushang-inbox-ack";

pub fn run(root: &Path, command: Command) -> anyhow::Result<ExitCode> {
    let config = match super::read_config(root) {
        Ok(c) => c,
        Err(problems) => {
            eprint!(
                "{}",
                aushang::diagnostics::render(&problems, aushang::diagnostics::Format::Human)
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    match command {
        Command::Serve(args) => {
            let secrets = Secrets::from_lookup(|name| std::env::var(name).ok())?;
            let data = if args.data.is_absolute() {
                args.data
            } else {
                root.join(args.data)
            };
            let runtime =
                tokio::runtime::Runtime::new().context("Start der asynchronen Laufzeitumgebung")?;
            runtime.block_on(async {
                let server = aushang::inbox::start(
                    config,
                    secrets,
                    &data,
                    SocketAddr::new(args.listen, args.port),
                )
                .await?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "Posteingang läuft unter {}", server.url())?;
                out.flush()?;
                drop(out);
                server.run_until_signal().await?;
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Pull(args) => {
            let identity = Identity::from_env_for(&config.root.join("subscribers"))?;
            let pull_token = pull_token()?;
            let url = inbox_url(args.url, &config)?;
            let now = super::parse_now(args.now.as_deref(), &config)?;
            let whatsapp_token = std::env::var(aushang::providers::whatsapp::TOKEN_ENV)
                .ok()
                .filter(|t| !t.trim().is_empty());
            let report = pull(
                &config,
                &identity,
                &PullOptions {
                    url,
                    pull_token,
                    whatsapp_token,
                    now,
                    defer_ack: args.no_ack.then(|| root.join(&args.ack_file)),
                },
            )?;
            print!("{}", report.to_text());
            Ok(ExitCode::SUCCESS)
        }
        Command::Ack { url, ack_file } => {
            let url = inbox_url(url, &config)?;
            let deleted = ack_file_fn(&url, &pull_token()?, &root.join(ack_file))?;
            println!("Posteingang: {deleted} Ereignis(se) quittiert");
            Ok(ExitCode::SUCCESS)
        }
        Command::Confirm(args) => {
            let duration = |flag: &str, value: &str| {
                config::parse_duration(value).with_context(|| {
                    format!("--{flag} `{value}` ist keine Zeitdauer (z. B. 2d, 36h)")
                })
            };
            let opts = ResendOptions {
                older_than: duration("older-than", &args.older_than)?,
                every: duration("every", &args.every)?,
                max_resends: args.max_resends,
                whatsapp_token: std::env::var(aushang::providers::whatsapp::TOKEN_ENV)
                    .ok()
                    .filter(|t| !t.trim().is_empty()),
                dry_run: !args.resend,
                now: super::parse_now(args.now.as_deref(), &config)?,
            };
            let identity = Identity::from_env_for(&config.root.join("subscribers"))?;
            let report = resend(&config, &identity, &opts)?;
            print!("{}", report.to_text());
            if !args.resend && !report.asked.is_empty() {
                println!("mit --resend ausführen, um sie zu senden");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Link { subscriber } => {
            let raw = std::env::var(optout::TOKEN_SECRET_ENV).ok();
            let secret = optout::checked_secret(raw.as_deref())
                .map_err(anyhow::Error::msg)?
                .with_context(|| format!("{} ist nicht gesetzt", optout::TOKEN_SECRET_ENV))?;
            let Some(inbox) = &config.inbox else {
                anyhow::bail!("aushang.yaml hat kein inbox.url");
            };
            println!(
                "{}",
                optout::url(&inbox.url, secret.trim().as_bytes(), &subscriber)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn pull_token() -> anyhow::Result<String> {
    std::env::var(PULL_TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .with_context(|| {
            format!("der Abruf aus dem Posteingang braucht sein Token in {PULL_TOKEN_ENV}")
        })
}

fn inbox_url(given: Option<String>, config: &aushang::config::Config) -> anyhow::Result<String> {
    match given.or_else(|| config.inbox.as_ref().map(|i| i.url.clone())) {
        Some(u) => Ok(u),
        None => anyhow::bail!(
            "keine Adresse des Posteingangs: --url angeben oder inbox.url in aushang.yaml setzen"
        ),
    }
}
