//! `aushang init DIR`: writes a new town site (settings, one notice, standing pages with blanks,
//! an encrypted empty list with a fresh key, workflows installing the pinned release, a README).
//! Asks for what no flag gave only when stdin is a terminal; otherwise leaves blanks for `check`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use aushang::town::scaffold::{self, Channel, Town};
use aushang::town::{DEFAULT_RELEASE_URL, PIN_FILE, version};

#[derive(clap::Args)]
pub struct Args {
    /// Der Ordner der neuen Website (wird angelegt; wenn es ihn gibt, muss er leer sein).
    dir: PathBuf,
    /// Wie die Gemeinde sich nennt, z. B. "Stadt Neuhof".
    #[arg(long)]
    name: Option<String>,
    /// Adresse der Website, z. B. https://www.neuhof.de/ oder https://neuhof.github.io/bekanntmachungen/.
    #[arg(long)]
    base_url: Option<String>,
    /// Herausgeber für Fußzeile und Impressum, z. B. "Stadt Neuhof – Der Bürgermeister".
    #[arg(long)]
    organisation: Option<String>,
    /// Straße und Hausnummer der Verwaltung.
    #[arg(long)]
    street: Option<String>,
    /// Postleitzahl.
    #[arg(long)]
    postcode: Option<String>,
    /// Ort.
    #[arg(long)]
    city: Option<String>,
    /// Telefonnummer der Verwaltung.
    #[arg(long)]
    phone: Option<String>,
    /// E-Mail-Adresse der Verwaltung.
    #[arg(long)]
    email: Option<String>,
    /// Verantwortlich für den Inhalt (§ 18 Abs. 2 MStV): Name, Funktion, Anschrift.
    #[arg(long)]
    responsible: Option<String>,
    /// `whatsapp` (Standard) oder `outbox` (noch kein Versand: Nachrichten landen in outbox/).
    #[arg(long, value_enum)]
    channel: Option<Channel>,
    /// WhatsApp Phone number ID aus dem WhatsApp Manager von Meta.
    #[arg(long)]
    phone_number_id: Option<String>,
    /// Die Datei SHA256SUMS dieser aushang-Version (von ihrer Release-Seite), um ihre Archive
    /// festzulegen; ohne sie bekommt .aushang-version eine Lücke für die Prüfsumme, die CI braucht.
    #[arg(long)]
    release_sums: Option<PathBuf>,
    /// Woher die Release-Archive geladen werden (`{version}` wird ersetzt); Standard: die
    /// Releases des aushang-Repositorys. Muss auf das echte Release-Repository oder einen
    /// Spiegel zeigen.
    #[arg(long, env = "AUSHANG_RELEASE_URL", default_value = DEFAULT_RELEASE_URL)]
    release_url: String,
    /// Nie fragen, auch nicht am Terminal (fehlende Antworten werden Lücken).
    #[arg(long)]
    no_input: bool,
}

pub fn run(_root: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.dir.clone();
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!(
            "{} ist nicht leer; aushang init schreibt nur in einen neuen oder leeren Ordner",
            dir.display()
        );
    }
    if !(args.release_url.starts_with("https://") || args.release_url.starts_with("http://")) {
        bail!(
            "--release-url `{}` ist keine http(s)-Adresse (z. B. {DEFAULT_RELEASE_URL})",
            args.release_url
        );
    }
    let sums = match &args.release_sums {
        None => Vec::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{} lässt sich nicht lesen", path.display()))?;
            scaffold::parse_sums(&text, version::RUNNING)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
    };
    let town = ask_missing(args, sums)?;
    let release_url = town.release_url.clone();
    for file in town.files() {
        let path = dir.join(&file.path);
        std::fs::create_dir_all(path.parent().expect("files live in a folder"))
            .with_context(|| format!("{} lässt sich nicht anlegen", path.display()))?;
        aushang::fsutil::write_atomic(&path, file.text.as_bytes())
            .with_context(|| format!("{} lässt sich nicht schreiben", path.display()))?;
        // The atomic write's temp file is private (0600); a repository's files are not secret,
        // and collaborators' tools expect ordinary modes. Scripts must be executable.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if file.executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        }
    }
    let (public, secret) = super::subscribers::create_key_and_list(
        &dir.join("subscribers"),
        "CI (GitHub-Secret AUSHANG_IDENTITY)",
    )?;
    print!("{}", report(&dir, &public, &secret, &release_url));
    Ok(ExitCode::SUCCESS)
}

/// The flags, completed by questions on a terminal.
fn ask_missing(args: Args, sums: Vec<(String, String)>) -> anyhow::Result<Town> {
    let interactive = !args.no_input && std::io::stdin().is_terminal();
    if interactive {
        eprintln!("Eine leere Antwort lässt eine Lücke [[AUSFÜLLEN: …]], die Sie später füllen.");
    }
    let mut lines = std::io::stdin().lock();
    let mut ask = |given: Option<String>, question: &str| -> anyhow::Result<Option<String>> {
        if given.is_some() || !interactive {
            return Ok(given);
        }
        eprint!("{question}: ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        lines.read_line(&mut answer)?;
        Ok(Some(answer.trim().to_string()).filter(|a| !a.is_empty()))
    };
    let name = ask(args.name, "Name der Gemeinde, z. B. Stadt Neuhof")?;
    let base_url = ask(
        args.base_url,
        "Adresse der Website, z. B. https://www.neuhof.de/",
    )?;
    let organisation = ask(
        args.organisation,
        "Herausgeber, z. B. Stadt Neuhof – Der Bürgermeister",
    )?;
    let street = ask(args.street, "Straße und Hausnummer der Verwaltung")?;
    let postcode = ask(args.postcode, "Postleitzahl")?;
    let city = ask(args.city, "Ort")?;
    let phone = ask(args.phone, "Telefon")?;
    let email = ask(args.email, "E-Mail")?;
    let responsible = ask(
        args.responsible,
        "Verantwortlich für den Inhalt (Name, Funktion)",
    )?;
    let channel = match args.channel {
        Some(c) => c,
        None => match ask(
            None,
            "Nachrichten per WhatsApp senden? (n = vorerst nur in outbox/) [J/n]",
        )?
        .as_deref()
        {
            Some("n" | "N" | "nein" | "Nein") => Channel::Outbox,
            _ => Channel::Whatsapp,
        },
    };
    let phone_number_id = if channel == Channel::Whatsapp {
        ask(
            args.phone_number_id,
            "WhatsApp Phone number ID (WhatsApp Manager von Meta)",
        )?
    } else {
        None
    };
    Ok(Town {
        name,
        base_url,
        organisation,
        street,
        postcode,
        city,
        phone,
        email,
        responsible,
        channel,
        phone_number_id,
        today: jiff::tz::TimeZone::get("Europe/Berlin")
            .unwrap_or(jiff::tz::TimeZone::UTC)
            .to_datetime(jiff::Timestamp::now())
            .date(),
        version: version::RUNNING.to_string(),
        release_url: args.release_url,
        sums,
    })
}

/// What `init` prints: where the site is, the secret key (only now) and the next steps, in German.
fn report(dir: &Path, public: &str, secret: &str, release_url: &str) -> String {
    let d = dir.display();
    let v = version::RUNNING;
    format!(
        "Neue Bekanntmachungsseite in {d} angelegt.\n\n\
         Schlüssel der Empfängerliste (subscribers/recipients.txt: {public}).\n\
         Geheimer Schlüssel – er wird nur jetzt angezeigt, aushang behält keine Kopie:\n\n    {secret}\n\n\
         1. In GitHub als Secret AUSHANG_IDENTITY speichern: Repository → Settings → Secrets and\n   \
         variables → Actions → New repository secret, Name AUSHANG_IDENTITY, Wert: die Zeile oben.\n\
         2. Eine zweite Kopie in den Passwortmanager der Verwaltung. Ohne sie kann niemand die\n   \
         Liste lesen.\n\
         3. Auf dem eigenen Rechner: den Schlüssel in eine Datei außerhalb des Repositorys legen,\n   \
         nur für Sie lesbar (z. B. ~/.config/aushang/schluessel.txt, chmod 600), und\n   \
         export AUSHANG_IDENTITY_FILE=~/.config/aushang/schluessel.txt\n   \
         Dann arbeiten `aushang subscribers …` und `aushang publish` mit der Liste.\n\
         Den geheimen Schlüssel nie ins Repository legen.\n\n\
         Weiter:\n\
         - Alle Stellen mit AUSFÜLLEN in aushang.yaml, {PIN_FILE} und content/pages/ ausfüllen;\n   \
         `aushang --root {d} check` nennt jede Stelle mit Datei und Zeile.\n\
         - Vorschau: `aushang --root {d} serve`.\n\
         - Die Workflows installieren aushang {v} von {release_url}\n   \
         (Zeile release_url= in {PIN_FILE}); die Adresse muss auf das echte Release-Repository\n   \
         oder einen Spiegel zeigen.\n\
         - Den Ordner als eigenes GitHub-Repository hochladen, dort Settings → Pages → Source:\n   \
         GitHub Actions wählen. README.md erklärt den Rest.\n"
    )
}
