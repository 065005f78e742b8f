//! German `--help` and argument errors. The texts of commands and options are the German doc
//! comments in `cmd::*`; clap's own words (headings, "Print help", `[default: …]`, its error
//! sentences) are replaced here, so an editor or admin never gets half English, half German.

use std::error::Error as _;

use clap::error::{ContextKind, ErrorKind};
use clap::{Arg, ArgAction, Command, CommandFactory, FromArgMatches};

const TEMPLATE: &str = "{about-with-newline}\nAufruf: {usage}\n\n{all-args}{after-help}";

/// The command line of `C` with German help.
pub fn command<C: CommandFactory>() -> Command {
    german(C::command()).disable_version_flag(true).arg(
        Arg::new("version")
            .short('V')
            .long("version")
            .action(ArgAction::Version)
            .help("Version anzeigen")
            .help_heading("Optionen"),
    )
}

/// Parses the process's arguments; on a mistake prints a German error and exits with 2.
pub fn parse<C: CommandFactory + FromArgMatches>() -> C {
    let mut cmd = command::<C>();
    let matches = match cmd.try_get_matches_from_mut(std::env::args_os()) {
        Ok(m) => m,
        Err(e) => exit(e),
    };
    C::from_arg_matches(&matches).unwrap_or_else(|e| exit(e))
}

fn german(cmd: Command) -> Command {
    cmd.help_template(TEMPLATE)
        .subcommand_help_heading("Befehle")
        .subcommand_value_name("BEFEHL")
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .mut_args(german_arg)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Hilfe anzeigen (-h kurz, --help ausführlich)")
                .help_heading("Optionen"),
        )
        .mut_subcommands(german)
}

/// Defaults, environment variables and possible values in German words, under German headings.
fn german_arg(arg: Arg) -> Arg {
    let heading = if arg.is_positional() {
        "Argumente"
    } else {
        "Optionen"
    };
    let arg = match arg.get_help_heading() {
        Some(_) => arg,
        None => arg.help_heading(heading),
    };
    if arg.is_hide_set() {
        return arg;
    }
    let takes_values = arg.get_action().takes_values();
    let arg = match (takes_values, value_name(&arg)) {
        (true, Some(name)) => arg.value_name(name),
        _ => arg,
    };
    let mut notes = Vec::new();
    let mut long_notes = Vec::new();
    let values = arg.get_possible_values();
    if takes_values && !values.is_empty() && !arg.is_hide_possible_values_set() {
        let names: Vec<&str> = values.iter().map(|v| v.get_name()).collect();
        notes.push(format!("mögliche Werte: {}", names.join(", ")));
        for v in &values {
            if let Some(help) = v.get_help() {
                long_notes.push(format!("  {}: {help}", v.get_name()));
            }
        }
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if takes_values && !defaults.is_empty() && !arg.is_hide_default_value_set() {
        notes.push(format!("Standard: {}", defaults.join(", ")));
    }
    if let Some(env) = arg.get_env()
        && !arg.is_hide_env_set()
    {
        notes.push(format!("Umgebung: {}", env.to_string_lossy()));
    }
    // clap's English brackets are never shown; an empty default (`""`) is not worth a note.
    let arg = match takes_values {
        true => arg.hide_default_value(true).hide_possible_values(true),
        false => arg,
    }
    .hide_env(true);
    if notes.is_empty() {
        return arg;
    }
    let suffix = format!(" [{}]", notes.join("; "));
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    let mut long = arg
        .get_long_help()
        .map(ToString::to_string)
        .unwrap_or_else(|| help.clone());
    long.push_str(&suffix);
    if !long_notes.is_empty() {
        long.push('\n');
        long.push_str(&long_notes.join("\n"));
    }
    arg.help(format!("{help}{suffix}")).long_help(long)
}

/// The placeholder of a value in German (clap would show the field's English name).
fn value_name(arg: &Arg) -> Option<&'static str> {
    let key = match arg.get_value_names() {
        Some([one]) => one.as_str().to_ascii_lowercase(),
        Some(_) => return None,
        None => arg.get_id().as_str().to_string(),
    };
    Some(match key.as_str() {
        "root" | "state" | "dir" | "out" | "data" => "ORDNER",
        "now" | "instant" | "site_since" | "consent_at" => "ZEITPUNKT",
        "run" | "claim" => "LAUF",
        "channel" => "KANAL",
        "format" => "FORMAT",
        "ref" | "base" => "BRANCH",
        "url" | "base_url" | "release_url" => "ADRESSE",
        "ack_file" | "release_sums" | "file" => "DATEI",
        "port" => "PORT",
        "listen" | "address" => "ADRESSE",
        "older_than" | "every" => "DAUER",
        "max_resends" => "ANZAHL",
        "subscriber" => "KENNUNG",
        "name" => "NAME",
        "organisation" => "HERAUSGEBER",
        "street" => "STRASSE",
        "postcode" => "PLZ",
        "city" => "ORT",
        "phone" => "TELEFON",
        "email" => "E-MAIL",
        "responsible" => "VERANTWORTLICH",
        "phone_number_id" => "ID",
        "holder" => "INHABER",
        "topics" => "THEMEN",
        "topic" => "THEMA",
        "consent_source" => "HERKUNFT",
        "consent_text" => "VERSION",
        "status" => "STATUS",
        "language" => "SPRACHE",
        "title" => "TITEL",
        "category" => "KATEGORIE",
        _ => return None,
    })
}

/// Clap's usage line with its one English word replaced.
fn german_usage(text: &str) -> String {
    text.replace("[OPTIONS]", "[OPTIONEN]")
}

/// Prints a German message for `e` (help and version as clap prints them) and exits.
fn exit(e: clap::Error) -> ! {
    let message = match e.kind() {
        ErrorKind::DisplayVersion => e.exit(),
        ErrorKind::DisplayHelp => {
            print!("{}", german_usage(&e.render().to_string()));
            std::process::exit(0)
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprint!("{}", german_usage(&e.render().to_string()));
            std::process::exit(2)
        }
        kind => message(&e, kind),
    };
    let usage = e.get(ContextKind::Usage).map(|u| u.to_string()).map(|u| {
        let u = u.trim();
        german_usage(u.strip_prefix("Usage:").unwrap_or(u).trim())
    });
    eprintln!("Fehler: {message}");
    if let Some(usage) = usage {
        eprintln!("\nAufruf: {usage}");
    }
    eprintln!("\nMehr dazu mit --help");
    std::process::exit(2)
}

fn message(e: &clap::Error, kind: ErrorKind) -> String {
    let ctx = |k: ContextKind| e.get(k).map(|v| v.to_string()).unwrap_or_default();
    let suggestion = |k: ContextKind| match e.get(k) {
        Some(s) => format!(" (meinten Sie `{s}`?)"),
        None => String::new(),
    };
    match kind {
        ErrorKind::UnknownArgument => format!(
            "unbekannte Angabe `{}`{}",
            ctx(ContextKind::InvalidArg),
            suggestion(ContextKind::SuggestedArg)
        ),
        ErrorKind::InvalidSubcommand => format!(
            "unbekannter Befehl `{}`{}",
            ctx(ContextKind::InvalidSubcommand),
            suggestion(ContextKind::SuggestedSubcommand)
        ),
        ErrorKind::InvalidValue => {
            let valid = ctx(ContextKind::ValidValue);
            format!(
                "`{}` ist kein gültiger Wert für {}{}",
                ctx(ContextKind::InvalidValue),
                ctx(ContextKind::InvalidArg),
                if valid.is_empty() {
                    String::new()
                } else {
                    format!(" (mögliche Werte: {valid})")
                }
            )
        }
        ErrorKind::ValueValidation => format!(
            "{}: `{}` ist ungültig{}",
            ctx(ContextKind::InvalidArg),
            ctx(ContextKind::InvalidValue),
            e.source().map(|s| format!(": {s}")).unwrap_or_default()
        ),
        ErrorKind::MissingRequiredArgument => {
            format!("es fehlt: {}", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::MissingSubcommand => "es fehlt ein Befehl".to_string(),
        ErrorKind::ArgumentConflict => format!(
            "{} lässt sich nicht zusammen mit {} verwenden",
            ctx(ContextKind::InvalidArg),
            ctx(ContextKind::PriorArg)
        ),
        _ => {
            let arg = ctx(ContextKind::InvalidArg);
            if arg.is_empty() {
                "ungültiger Aufruf".to_string()
            } else {
                format!("ungültiger Aufruf bei {arg}")
            }
        }
    }
}
