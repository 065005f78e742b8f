//! The `aushang` command line: parses arguments and hands each subcommand to `cmd::*`.

mod cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aushang",
    version,
    about = "Public notices for small towns: website and broadcast messages"
)]
struct Cli {
    /// The site folder (holding aushang.yaml).
    #[arg(long, global = true, default_value = ".", env = "AUSHANG_ROOT")]
    root: PathBuf,
    /// More log output (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// The subscriber state folder (list, recipients, journal, inbox records) instead of
    /// <root>/subscribers, e.g. a checkout of the `aushang-state` branch.
    #[arg(long, global = true, env = "AUSHANG_STATE_DIR", value_name = "DIR")]
    state: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new town site in a new folder (asks on a terminal what no flag gave).
    Init(cmd::init::Args),
    /// Render the notice website into public/.
    Build(cmd::build::Args),
    /// Check configuration, notices, pages and templates without writing anything.
    Check(cmd::check::Args),
    /// Live preview: serve the site locally, rebuild and reload on every change, show messages.
    Serve(cmd::serve::Args),
    /// Write a new notice file with every front-matter field explained.
    New(cmd::new::Args),
    /// Send every due notice to its subscribers, exactly once (or preview with --dry-run).
    Broadcast(cmd::broadcast::Args),
    /// Build the site, then broadcast: the whole job.
    Publish(cmd::publish::Args),
    /// Upgrade the site's stored formats (aushang.yaml, subscriber list, journals) to this version.
    Migrate(cmd::migrate::Args),
    /// The encrypted subscriber list: keys, sign-ups, unsubscribes, DSGVO requests.
    #[command(subcommand)]
    Subscribers(cmd::subscribers::Command),
    /// The inbox server (sign-ups, opt-outs, WhatsApp webhooks) and pulling its events.
    #[command(subcommand)]
    Inbox(cmd::inbox::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
