//! The `aushang` command line: parses arguments and hands each subcommand to `cmd::*`.

mod cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aushang",
    version,
    about = "Bekanntmachungen für kleine Gemeinden: Website und Nachrichten an Abonnenten"
)]
struct Cli {
    /// Der Ordner der Website (mit aushang.yaml).
    #[arg(long, global = true, default_value = ".", env = "AUSHANG_ROOT")]
    root: PathBuf,
    /// Mehr Protokollausgabe (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Der Ordner mit dem Abonnentenstand (Liste, Empfänger-Schlüssel, Journal, Posteingang)
    /// statt <root>/subscribers, z. B. ein Checkout des Branches `aushang-state`.
    #[arg(long, global = true, env = "AUSHANG_STATE_DIR", value_name = "DIR")]
    state: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Eine neue Website für eine Gemeinde in einem neuen Ordner anlegen (fragt am Terminal nach, was keine Option angibt).
    Init(cmd::init::Args),
    /// Die Website der Bekanntmachungen nach public/ erstellen.
    Build(cmd::build::Args),
    /// Einstellungen, Bekanntmachungen, Seiten und Vorlagen prüfen, ohne etwas zu schreiben.
    Check(cmd::check::Args),
    /// Live-Vorschau: die Website lokal zeigen, bei jeder Änderung neu erstellen und neu laden, Nachrichten zeigen.
    Serve(cmd::serve::Args),
    /// Eine neue Bekanntmachung anlegen, jede Angabe im Kopf erklärt.
    New(cmd::new::Args),
    /// Jede fällige Bekanntmachung genau einmal an ihre Abonnenten senden (oder mit --dry-run nur zeigen).
    Broadcast(cmd::broadcast::Args),
    /// Website erstellen, dann senden: der ganze Ablauf.
    Publish(cmd::publish::Args),
    /// Gespeicherte Formate der Website (aushang.yaml, Abonnentenliste, Journale) auf diese Version bringen.
    Migrate(cmd::migrate::Args),
    /// Die verschlüsselte Abonnentenliste: Schlüssel, Anmeldungen, Abmeldungen, DSGVO-Anfragen.
    #[command(subcommand)]
    Subscribers(cmd::subscribers::Command),
    /// Der Posteingang-Server (Anmeldungen, Abmeldungen, WhatsApp-Webhooks) und das Abholen seiner Ereignisse.
    #[command(subcommand)]
    Inbox(cmd::inbox::Command),
    /// Reichweite und Kosten je Bekanntmachung und der Verlauf der Abonnements, für einen Monat oder ein Jahr.
    Report(cmd::report::Args),
}

fn main() -> ExitCode {
    let cli: Cli = cmd::help::parse();
    init_logging(cli.verbose);
    let root = cli.root;
    cmd::set_state_dir(cli.state);
    let result = match cli.command {
        Command::Init(args) => cmd::init::run(&root, args),
        Command::Build(args) => cmd::build::run(&root, args),
        Command::Check(args) => cmd::check::run(&root, args),
        Command::Serve(args) => cmd::serve::run(&root, args),
        Command::New(args) => cmd::new::run(&root, args),
        Command::Broadcast(args) => cmd::broadcast::run(&root, args),
        Command::Publish(args) => cmd::publish::run(&root, args),
        Command::Migrate(args) => cmd::migrate::run(&root, args),
        Command::Subscribers(command) => cmd::subscribers::run(&root, command),
        Command::Inbox(command) => cmd::inbox::run(&root, command),
        Command::Report(args) => cmd::report::run(&root, args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Fehler: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Colours only for a person at a terminal: never into a pipe, a file or a CI log, and never
/// when `NO_COLOR` is set (https://no-color.org).
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Logs go to stderr, each line starting with a German level word; stdout is kept for data.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "aushang=info",
        1 => "aushang=debug",
        _ => "aushang=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUSHANG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .event_format(aushang::log_format::GermanLines)
        .init();
}
