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
    /// Den Posteingang-Server starten (hinter einem TLS-Proxy). Geheimnisse kommen aus der Umgebung.
    Serve(ServeArgs),
    /// Die Ereignisse des Posteingangs abholen, in die Abonnentenliste übernehmen, dann quittieren.
    Pull(PullArgs),
    /// Die Ereignisse quittieren, die `pull --no-ack` übernommen hat (nach dem Commit der Liste ausführen).
    Ack {
        /// Adresse des Posteingangs (Standard: `inbox.url` aus aushang.yaml).
        #[arg(long)]
        url: Option<String>,
        /// Die Datei, in die `pull --no-ack` die Ereignis-IDs schrieb.
        #[arg(long, default_value = ACK_FILE)]
        ack_file: PathBuf,
    },
    /// Unbestätigte Anmeldungen zeigen, die erneut um Bestätigung gebeten werden sollten; mit --resend senden.
    Confirm(ConfirmArgs),
    /// Den Abmeldelink eines Abonnenten ausgeben (braucht AUSHANG_INBOX_TOKEN_SECRET).
    Link {
        /// Die Kennung des Abonnenten (`s_…`), wie `aushang subscribers list` sie zeigt.
        subscriber: String,
    },
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Port, auf dem gelauscht wird (0: ein freier, er wird ausgegeben).
    #[arg(long, default_value_t = 8087)]
    port: u16,
    /// Adresse, auf der gelauscht wird; hinter einem lokalen Proxy 127.0.0.1 lassen.
    #[arg(long, default_value = "127.0.0.1")]
    listen: IpAddr,
    /// Wo empfangene Ereignisse gespeichert werden (verschlüsselt).
    #[arg(long, default_value = "inbox-data")]
    data: PathBuf,
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// Adresse des Posteingangs (Standard: `inbox.url` aus aushang.yaml).
    #[arg(long)]
    url: Option<String>,
    /// Der Zeitpunkt, der als Übernahmezeit festgehalten wird (Standard: jetzt).
    #[arg(long)]
    now: Option<String>,
    /// Nicht quittieren: die Ereignis-IDs für `aushang inbox ack` nach dem Commit in --ack-file
    /// schreiben (der Posteingang behält die Ereignisse bis dahin).
    #[arg(long)]
    no_ack: bool,
    /// Die Datei für die Ereignis-IDs von --no-ack.
    #[arg(long, default_value = ACK_FILE)]
    ack_file: PathBuf,
}

#[derive(clap::Args)]
pub struct ConfirmArgs {
    /// Die Bestätigungsvorlage erneut senden (ohne: nur zeigen, wer an der Reihe ist).
    #[arg(long)]
    resend: bool,
    /// Nur Anmeldungen (und letzte Anfragen), die mindestens so alt sind, z. B. 2d oder 36h.
    #[arg(long, default_value = "2d")]
    older_than: String,
    /// Jeden Abonnenten höchstens einmal in diesem Zeitraum fragen.
    #[arg(long, default_value = "7d")]
    every: String,
    /// Erneute Anfragen je Abonnent insgesamt (die erste beim Abholen nicht mitgezählt).
    #[arg(long, default_value_t = 2)]
    max_resends: usize,
    /// Der Zeitpunkt für Entscheidung und Aufzeichnung (Standard: jetzt).
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
            let editor = match aushang::inbox::editor_auth::ClientSecret::from_lookup(|name| {
                std::env::var(name).ok()
            })? {
                Some(secret) => aushang::inbox::editor_auth::EditorLogin::new(&config, secret)?,
                None => None,
            };
            let data = if args.data.is_absolute() {
                args.data
            } else {
                root.join(args.data)
            };
            let runtime =
                tokio::runtime::Runtime::new().context("Start der asynchronen Laufzeitumgebung")?;
            runtime.block_on(async {
                // The e-mail sign-up's confirmation mails (docs/inbox.md, "E-mail sign-up").
                let smtp_password = std::env::var(aushang::providers::email::PASSWORD_ENV)
                    .ok()
                    .filter(|p| !p.is_empty());
                let server = aushang::inbox::start_with(
                    config,
                    secrets,
                    &data,
                    SocketAddr::new(args.listen, args.port),
                    aushang::inbox::Limits::default(),
                    aushang::inbox::Extras {
                        editor,
                        smtp_password,
                    },
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
