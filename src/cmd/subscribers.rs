//! `aushang subscribers …`: keys, the encrypted list, sign-ups, unsubscribes and DSGVO requests.
//!
//! Output never shows an address in clear except where that is the point (`export`, and
//! `list --reveal` on a terminal). Every change loads, edits in memory and saves atomically;
//! a command that fails writes nothing.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use aushang::config::Config;
use aushang::diagnostics::{self, Problem};
use aushang::subscribers::companions::Companions;
use aushang::subscribers::import::{self, ImportOptions};
use aushang::subscribers::report;
use aushang::subscribers::store::{self, list_path, recipients_path};
use aushang::subscribers::{
    AddOutcome, Channel, Identity, Recipients, Resubscribe, Status, Subscriber, SubscriberList,
    address, mask,
};
use jiff::Timestamp;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Schlüsselpaar und leere verschlüsselte Liste für eine neue Gemeinde anlegen (zeigt den geheimen Schlüssel einmal).
    Init(InitArgs),
    /// Ein Abonnement hinzufügen (Telefonnummern in jeder üblichen deutschen Schreibweise).
    Add(AddArgs),
    /// Einen Export von Anmeldungen einlesen (CSV); Spaltennamen in docs/subscribers.md.
    Import(ImportArgs),
    /// Eine Person als abgemeldet markieren; behält den knappsten Nachweis (wann, welche Einwilligung).
    #[command(visible_alias = "unsubscribe")]
    Remove(AddressArgs),
    /// Eine Person ganz löschen: den Eintrag und jeden Verweis im Journal (DSGVO Art. 17).
    Forget(AddressArgs),
    /// Alles ausgeben, was über eine Person gespeichert ist (DSGVO Art. 15).
    Export(AddressArgs),
    /// Abonnements mit maskierten Adressen auflisten.
    List(ListArgs),
    /// Abonnements nach Kanal, Status und Thema zählen.
    Count,
    /// Die Liste für die Schlüssel neu verschlüsseln, die jetzt in subscribers/recipients.txt stehen.
    Rekey,
    /// Unbestätigte Anmeldungen löschen, die älter als `subscribers.prune_pending_after` sind (Standard 30 Tage).
    Prune(PruneArgs),
}

#[derive(clap::Args)]
pub struct InitArgs {
    /// Wer den neuen Schlüssel hat, als Kommentar in recipients.txt.
    #[arg(long, default_value = "CI (GitHub-Secret AUSHANG_IDENTITY)")]
    holder: String,
}

#[derive(clap::Args)]
pub struct AddArgs {
    /// Kanal: whatsapp, email, sms oder telegram.
    #[arg(long, default_value = "whatsapp")]
    channel: Channel,
    /// Telefonnummer oder E-Mail-Adresse.
    #[arg(long)]
    address: String,
    /// Name, freiwillig (Datensparsamkeit: nur angeben, wenn nötig).
    #[arg(long)]
    name: Option<String>,
    /// Kategorie-Kennungen aus aushang.yaml, mit Komma getrennt; keine = jede Bekanntmachung.
    #[arg(long, value_delimiter = ',')]
    topics: Vec<String>,
    /// Wie die Einwilligung gegeben wurde: web, keyword, paper, import …
    #[arg(long)]
    consent_source: String,
    /// Version oder Prüfsumme des Einwilligungstexts, dem die Person zustimmte.
    #[arg(long, default_value = "")]
    consent_text: String,
    /// Wann die Einwilligung gegeben wurde (Standard: jetzt), z. B. 2026-11-02 oder 02.11.2026 09:15.
    #[arg(long)]
    consent_at: Option<String>,
    /// `active`, oder `pending`, bis die Person bestätigt (Double-Opt-in).
    #[arg(long, default_value = "active")]
    status: Status,
    /// Sprache der Nachrichten an die Person.
    #[arg(long, default_value = "de")]
    language: String,
    /// Die Person hatte sich abgemeldet und hat jetzt neu eingewilligt.
    #[arg(long)]
    resubscribe: bool,
    #[arg(long, hide = true)]
    now: Option<Timestamp>,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// Die CSV-Datei.
    file: PathBuf,
    /// Die gültigen Zeilen übernehmen, auch wenn manche ungültig sind (diese werden genannt und ausgelassen).
    #[arg(long)]
    skip_invalid: bool,
    /// Prüfen und zusammenfassen, ohne zu schreiben.
    #[arg(long)]
    dry_run: bool,
    /// Kanal für Zeilen ohne Spalte `channel`.
    #[arg(long, default_value = "whatsapp")]
    channel: Channel,
    /// Status für Zeilen ohne `status` und ohne `confirmed_at`.
    #[arg(long, default_value = "pending")]
    status: Status,
    /// Herkunft der Einwilligung für Zeilen ohne Spalte `consent_source`.
    #[arg(long, default_value = "import")]
    consent_source: String,
    /// Version des Einwilligungstexts für Zeilen ohne Spalte `consent_text`.
    #[arg(long, default_value = "")]
    consent_text: String,
    #[arg(long, hide = true)]
    now: Option<Timestamp>,
}

#[derive(clap::Args)]
pub struct AddressArgs {
    /// Telefonnummer (beliebige Schreibweise) oder E-Mail-Adresse.
    address: String,
    /// Nur dieser Kanal (Standard: jeder Kanal mit dieser Adresse).
    #[arg(long)]
    channel: Option<Channel>,
    #[arg(long, hide = true)]
    now: Option<Timestamp>,
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// Adressen und Namen im Klartext zeigen (nur am Terminal, nie in eine Datei oder ein CI-Protokoll).
    #[arg(long)]
    reveal: bool,
    /// Nur dieser Status, als gespeicherter Wert: active (aktiv), pending (wartet auf
    /// Bestätigung), unsubscribed (abgemeldet) oder unreachable (nicht erreichbar).
    #[arg(long)]
    status: Option<Status>,
    /// Nur dieser Kanal.
    #[arg(long)]
    channel: Option<Channel>,
    /// Nur Abonnements dieses Themas (Kategorie-Kennung).
    #[arg(long)]
    topic: Option<String>,
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// Zeigen, was gelöscht würde, ohne zu schreiben.
    #[arg(long)]
    dry_run: bool,
    #[arg(long, hide = true)]
    now: Option<Timestamp>,
}

/// How long a change of the list waits for another aushang run on the same site to finish.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

pub fn run(root: &Path, command: Command) -> anyhow::Result<ExitCode> {
    let dir = super::subscribers_dir(root);
    // Every command that reads, changes and writes the list holds the site lock throughout, so
    // two at once (or one beside an inbox pull) cannot overwrite each other's change.
    let _lock = match &command {
        Command::Export(_) | Command::List(_) | Command::Count => None,
        _ => Some(aushang::lock::SiteLock::wait(root, LOCK_PATIENCE)?),
    };
    match command {
        Command::Init(args) => init(&dir, args),
        Command::Add(args) => add(root, &dir, args),
        Command::Import(args) => import_file(root, &dir, args),
        Command::Remove(args) => remove(&dir, args),
        Command::Forget(args) => forget(root, &dir, args),
        Command::Export(args) => export(&dir, args, &site_timezone(root)),
        Command::List(args) => list(&dir, args, &site_timezone(root)),
        Command::Count => count(&dir),
        Command::Rekey => rekey(&dir),
        Command::Prune(args) => prune(root, &dir, args),
    }
}

fn init(dir: &Path, args: InitArgs) -> anyhow::Result<ExitCode> {
    let (public, secret) = create_key_and_list(dir, &args.holder)?;
    print!(
        "{}",
        report::init_instructions(&recipients_path(dir), &list_path(dir), &public, &secret)
    );
    Ok(ExitCode::SUCCESS)
}

/// A new key pair, `recipients.txt` with its public key and an empty encrypted list in `dir`
/// (also used by `aushang init`). Returns the public and the secret key; the secret is nowhere
/// else.
pub fn create_key_and_list(dir: &Path, holder: &str) -> anyhow::Result<(String, String)> {
    for path in [list_path(dir), recipients_path(dir)] {
        if path.exists() {
            return Err(store::StoreError::AlreadyExists { path }.into());
        }
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{} lässt sich nicht anlegen", dir.display()))?;
    let (identity, secret) = Identity::generate();
    let public = identity.public_keys().remove(0);
    let text = Recipients::file_text(holder, &public);
    let recipients = Recipients::parse(&text, &recipients_path(dir))?;
    // The list first: if writing it fails there is no recipients file claiming a list exists.
    SubscriberList::default().save(dir, &recipients)?;
    aushang::fsutil::write_atomic(&recipients_path(dir), text.as_bytes()).with_context(|| {
        format!(
            "{} lässt sich nicht schreiben",
            recipients_path(dir).display()
        )
    })?;
    Ok((public, secret))
}

/// Identity, recipients and the decrypted list: what every changing command needs.
fn open(dir: &Path) -> anyhow::Result<(Recipients, SubscriberList)> {
    let identity = Identity::from_env_for(dir)?;
    let recipients = Recipients::load(dir)?;
    let list = SubscriberList::load(dir, &identity)?;
    if recipients.includes_demo_key() {
        eprintln!(
            "Hinweis: der Demo-Schlüssel kann diese Liste lesen: es sind Beispieldaten, nie wirklich an sie senden"
        );
    }
    Ok((recipients, list))
}

/// [`open`] for a command that will change the list: refuses at once, before anything is
/// touched, when `recipients.txt` is not the set of keys the list is encrypted to.
fn open_for_change(dir: &Path) -> anyhow::Result<(Recipients, SubscriberList)> {
    let (recipients, list) = open(dir)?;
    list.check_recipients(&recipients)?;
    Ok((recipients, list))
}

fn load_config(root: &Path) -> anyhow::Result<Config> {
    super::read_config(root).map_err(|problems| {
        anyhow::anyhow!(
            "{}aushang.yaml enthält Fehler",
            diagnostics::render(&problems, diagnostics::Format::Human)
        )
    })
}

fn describe(s: &Subscriber) -> String {
    format!("{} ({} {})", s.id, s.channel.label(), s.masked_address())
}

fn add(root: &Path, dir: &Path, args: AddArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(root)?;
    let address = address::normalize(args.channel, &args.address)?;
    let now = args.now.unwrap_or_else(Timestamp::now);
    let known: Vec<String> = config.categories.iter().map(|c| c.id.clone()).collect();
    let mut topics = Vec::new();
    for t in args
        .topics
        .iter()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
    {
        if !known.contains(&t) {
            bail!(
                "unbekanntes Thema `{t}` (die Kategorien in aushang.yaml sind: {})",
                known.join(", ")
            );
        }
        topics.push(t);
    }
    if let Some(name) = &args.name {
        aushang::subscribers::check_name(name.trim())
            .map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    }
    let consent_at = match &args.consent_at {
        Some(raw) => import::parse_time(raw, &config.timezone)
            .map_err(|m| anyhow::anyhow!("--consent-at: {m}"))?,
        None => now,
    };
    let (recipients, mut list) = open_for_change(dir)?;
    let candidate = Subscriber {
        id: String::new(),
        channel: args.channel,
        address,
        name: args
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        topics,
        language: args.language,
        status: args.status,
        consent_at: Some(consent_at),
        consent_source: args.consent_source,
        consent_text: args.consent_text,
        confirmed_at: None,
        unsubscribed_at: if args.status == Status::Unsubscribed {
            Some(now)
        } else {
            None
        },
        bsuid: None,
    };
    let policy = if args.resubscribe {
        Resubscribe::WithNewConsent
    } else {
        Resubscribe::Never
    };
    let outcome = list.add(candidate, policy);
    let id = match &outcome {
        AddOutcome::StillUnsubscribed(id) => {
            let when = list
                .get(id)
                .and_then(|s| s.unsubscribed_at)
                .map(|t| report::local(t, &config.timezone))
                .unwrap_or_default();
            bail!(
                "{} hat sich abgemeldet ({when}); nichts geändert\n  Hinweis: --resubscribe nur angeben, wenn die Person neu eingewilligt hat",
                describe(list.get(id).expect("just found"))
            );
        }
        AddOutcome::Added(id) | AddOutcome::Merged(id) => id.clone(),
    };
    list.save(dir, &recipients)?;
    let s = list.get(&id).expect("just added");
    match outcome {
        AddOutcome::Added(_) => println!("hinzugefügt: {} – {}", describe(s), s.status.label()),
        _ => println!(
            "schon auf der Liste: zusammengeführt mit {} ({})",
            describe(s),
            s.status.label()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn import_file(root: &Path, dir: &Path, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(root)?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("{} lässt sich nicht lesen", args.file.display()))?;
    let opts = ImportOptions {
        channel: args.channel,
        status: args.status,
        consent_source: args.consent_source,
        consent_text: args.consent_text,
        language: config.language.clone(),
        known_topics: config.categories.iter().map(|c| c.id.clone()).collect(),
        timezone: config.timezone.clone(),
        now: args.now.unwrap_or_else(Timestamp::now),
    };
    let parsed = import::parse(&bytes, &opts);
    if !parsed.ignored_columns.is_empty() {
        eprintln!(
            "Hinweis: ignorierte Spalten (nicht gespeichert): {}",
            parsed.ignored_columns.join(", ")
        );
    }
    let problems: Vec<Problem> = parsed
        .problems
        .iter()
        .map(|p| {
            // No `at()`: it would copy the source line, and that line holds a phone number.
            let message = match &p.column {
                Some(c) => format!("Spalte `{c}`: {}", p.message),
                None => p.message.clone(),
            };
            let mut problem = Problem::error(&args.file, message);
            problem.line = Some(p.line as usize);
            problem
        })
        .collect();
    eprint!(
        "{}",
        diagnostics::render(&problems, diagnostics::Format::Human)
    );
    let invalid = parsed
        .problems
        .iter()
        .map(|p| p.line)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if invalid > 0 && !args.skip_invalid {
        bail!(
            "{invalid} ungültige Zeile(n) in {}; nichts wurde importiert\n  Hinweis: die Zeilen korrigieren oder --skip-invalid angeben, um nur die gültigen Zeilen zu importieren",
            args.file.display()
        );
    }
    let (recipients, mut list) = open_for_change(dir)?;
    let outcomes = list.add_all(
        parsed.rows.into_iter().map(|(_, s)| s).collect(),
        Resubscribe::Never,
    );
    let added = outcomes
        .iter()
        .filter(|o| matches!(o, AddOutcome::Added(_)))
        .count();
    let merged = outcomes
        .iter()
        .filter(|o| matches!(o, AddOutcome::Merged(_)))
        .count();
    let skipped = outcomes
        .iter()
        .filter(|o| matches!(o, AddOutcome::StillUnsubscribed(_)))
        .count();
    if args.dry_run {
        println!("Probelauf, nichts geschrieben:");
    } else if added + merged > 0 {
        list.save(dir, &recipients)?;
    }
    println!(
        "hinzugefügt {added}, zusammengeführt {merged}, übersprungen {skipped} (abgemeldet, nicht wieder aktiviert), ungültig {invalid}"
    );
    Ok(ExitCode::SUCCESS)
}

fn lookup(args: &AddressArgs) -> anyhow::Result<String> {
    Ok(address::lookup_key(&args.address)?)
}

fn not_found(key: &str) -> anyhow::Error {
    anyhow::anyhow!("kein Abonnement mit der Adresse {}", mask(key))
}

fn remove(dir: &Path, args: AddressArgs) -> anyhow::Result<ExitCode> {
    let key = lookup(&args)?;
    let (recipients, mut list) = open_for_change(dir)?;
    if list.find(&key, args.channel).is_empty() {
        return Err(not_found(&key));
    }
    let changed = list.unsubscribe(&key, args.channel, args.now.unwrap_or_else(Timestamp::now));
    if changed.is_empty() {
        println!("schon abgemeldet: {}; nichts geändert", mask(&key));
        return Ok(ExitCode::SUCCESS);
    }
    list.save(dir, &recipients)?;
    for id in changed {
        println!(
            "abgemeldet: {}",
            describe(list.get(&id).expect("just changed"))
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn forget(root: &Path, dir: &Path, args: AddressArgs) -> anyhow::Result<ExitCode> {
    let key = lookup(&args)?;
    let (recipients, mut list) = open_for_change(dir)?;
    let ids: Vec<String> = list
        .find(&key, args.channel)
        .iter()
        .map(|s| s.id.clone())
        .collect();
    if ids.is_empty() {
        return Err(not_found(&key));
    }
    // Journal first: if saving the list then fails, running `forget` again finishes the job,
    // whereas a list saved first would lose the ids the journal rows are found by.
    let journal_rows = aushang::delivery::journal::forget_subscribers(root, dir, &ids)
        .with_context(|| {
            format!(
                "{} lässt sich nicht aus dem Journal entfernen; die Liste ist unverändert",
                ids.join(", ")
            )
        })?;
    let gone = list.forget(&key, args.channel);
    list.save(dir, &recipients)?;
    for s in &gone {
        println!("gelöscht: {}", describe(s));
    }
    println!(
        "{} Abonnement(s) und {journal_rows} Journal-Zeile(n) entfernt",
        gone.len()
    );
    println!(
        "Hinweis: ältere verschlüsselte Fassungen der Liste bleiben in der Git-Historie; siehe docs/subscribers.md (crypto-shredding)"
    );
    Ok(ExitCode::SUCCESS)
}

/// The site's time zone for showing dates as they were entered; Europe/Berlin when the
/// configuration cannot be read (listing the subscribers does not need the rest of it).
fn site_timezone(root: &Path) -> jiff::tz::TimeZone {
    super::read_config(root)
        .map(|c| c.timezone)
        .unwrap_or_else(|_| {
            jiff::tz::TimeZone::get("Europe/Berlin").unwrap_or(jiff::tz::TimeZone::UTC)
        })
}

fn export(dir: &Path, args: AddressArgs, tz: &jiff::tz::TimeZone) -> anyhow::Result<ExitCode> {
    let key = lookup(&args)?;
    let (_, list) = open(dir)?;
    let found = list.find(&key, args.channel);
    if found.is_empty() {
        return Err(not_found(&key));
    }
    eprintln!(
        "Hinweis: das sind personenbezogene Daten; der Person aushändigen, keine unverschlüsselte Kopie aufbewahren"
    );
    for s in found {
        println!("{}", report::record(s, tz));
    }
    Ok(ExitCode::SUCCESS)
}

fn list(dir: &Path, args: ListArgs, tz: &jiff::tz::TimeZone) -> anyhow::Result<ExitCode> {
    if args.reveal && !std::io::stdout().is_terminal() {
        bail!(
            "--reveal gibt nur auf einem Terminal aus, damit Adressen nie in einer Datei oder einem CI-Protokoll landen"
        );
    }
    let (_, list) = open(dir)?;
    let rows: Vec<&Subscriber> = list
        .subscribers()
        .iter()
        .filter(|s| args.status.is_none_or(|st| s.status == st))
        .filter(|s| args.channel.is_none_or(|c| s.channel == c))
        .filter(|s| {
            args.topic
                .as_ref()
                .is_none_or(|t| s.topics.is_empty() || s.topics.contains(t))
        })
        .collect();
    print!("{}", report::table(&rows, args.reveal, tz));
    eprintln!(
        "{} von {} Abonnement(s)",
        rows.len(),
        list.subscribers().len()
    );
    Ok(ExitCode::SUCCESS)
}

fn count(dir: &Path) -> anyhow::Result<ExitCode> {
    let (_, list) = open(dir)?;
    print!("{}", report::counts(&list.counts()));
    Ok(ExitCode::SUCCESS)
}

fn rekey(dir: &Path) -> anyhow::Result<ExitCode> {
    let (recipients, mut list) = open(dir)?;
    let demo = Identity::from_file(&aushang::subscribers::demo_identity_path(dir)).ok();
    let demo_reads_file = demo.as_ref().is_some_and(|d| store::can_open(dir, d));
    list.rekey(&recipients, demo.as_ref(), demo_reads_file)?;
    // The inbox's waiting requests (and any other age file here) follow the list's keys: all
    // decrypted before anything is written, so an unreadable one stops the rekey untouched.
    let companions = Companions::load(dir, &Identity::from_env()?)?;
    list.save(dir, &recipients)?;
    companions.save(&list, dir, &recipients)?;
    println!(
        "{} Abonnement(s) neu verschlüsselt für {} Schlüssel:",
        list.subscribers().len(),
        recipients.entries.len()
    );
    for r in &recipients.entries {
        println!(
            "  {}  {}",
            r.key,
            r.holder.as_deref().unwrap_or("(ohne Namen)")
        );
    }
    for path in companions.paths() {
        println!("ebenfalls neu verschlüsselt: {}", path.display());
    }
    println!(
        "Hinweis: aus recipients.txt entfernte Schlüssel können diese Fassung nicht lesen, ältere"
    );
    println!(
        "Fassungen in der Git-Historie aber weiterhin; siehe docs/subscribers.md (revoking access, crypto-shredding)"
    );
    Ok(ExitCode::SUCCESS)
}

fn prune(root: &Path, dir: &Path, args: PruneArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(root)?;
    let max_age = config.subscribers.prune_pending_after;
    let (recipients, mut list) = open_for_change(dir)?;
    let gone = list.prune_pending(args.now.unwrap_or_else(Timestamp::now), max_age);
    for s in &gone {
        println!(
            "{} {}",
            if args.dry_run {
                "würde löschen:"
            } else {
                "gelöscht:"
            },
            describe(s)
        );
    }
    if !gone.is_empty() && !args.dry_run {
        list.save(dir, &recipients)?;
    }
    println!(
        "{} unbestätigte Anmeldung(en), älter als {}, {}",
        gone.len(),
        humanize(max_age),
        if args.dry_run {
            "würden gelöscht (Probelauf)"
        } else {
            "gelöscht"
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn humanize(d: jiff::SignedDuration) -> String {
    let hours = d.as_hours();
    if hours % 24 == 0 {
        format!("{} Tage", hours / 24)
    } else {
        format!("{hours} Stunden")
    }
}
