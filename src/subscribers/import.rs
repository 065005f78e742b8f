//! Reading a sign-up export (CSV from a web form, a spreadsheet of paper forms) into candidates.
//!
//! Columns are found by header name, case-insensitive, with German and English spellings (see
//! [`COLUMN_NAMES`] and docs/subscribers.md). Comma or semicolon separated (German spreadsheets
//! write `;`). Every row is checked before anything changes, and every problem is reported with
//! its line number; other columns (comments, IP addresses …) are ignored and named, never stored.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::address;
use super::record::{Channel, Status, Subscriber};

/// Which header names fill which field. Names are compared lower-cased, with spaces and `-`
/// turned into `_`.
pub const COLUMN_NAMES: &[(Field, &[&str])] = &[
    (
        Field::Name,
        &[
            "name",
            "full_name",
            "vollstaendiger_name",
            "vollständiger_name",
        ],
    ),
    (Field::FirstName, &["vorname", "first_name", "firstname"]),
    (
        Field::LastName,
        &["nachname", "last_name", "lastname", "familienname"],
    ),
    (
        Field::Phone,
        &[
            "telefon",
            "telefonnummer",
            "tel",
            "mobil",
            "mobilnummer",
            "mobilfunknummer",
            "handy",
            "handynummer",
            "phone",
            "mobile",
            "number",
            "nummer",
            "rufnummer",
            "whatsapp",
            "whatsapp_nummer",
        ],
    ),
    (
        Field::Email,
        &["email", "e_mail", "mail", "e_mail_adresse", "email_address"],
    ),
    (Field::Address, &["address", "adresse"]),
    (Field::Channel, &["channel", "kanal"]),
    (
        Field::Topics,
        &[
            "topics",
            "themen",
            "kategorien",
            "categories",
            "interessen",
            "rubriken",
        ],
    ),
    (Field::Language, &["language", "sprache"]),
    (Field::Status, &["status"]),
    (
        Field::ConsentAt,
        &[
            "consent_at",
            "datum",
            "date",
            "einwilligung_am",
            "anmeldedatum",
            "angemeldet_am",
            "timestamp",
            "zeitstempel",
        ],
    ),
    (
        Field::ConsentSource,
        &["consent_source", "quelle", "source", "herkunft"],
    ),
    (
        Field::ConsentText,
        &[
            "consent_text",
            "consent_version",
            "version",
            "einwilligungstext",
            "datenschutz_version",
            "einwilligung_version",
        ],
    ),
    (
        Field::ConfirmedAt,
        &[
            "confirmed_at",
            "bestätigt_am",
            "bestaetigt_am",
            "bestätigt",
            "confirmed",
        ],
    ),
    (Field::UnsubscribedAt, &["unsubscribed_at", "abgemeldet_am"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    FirstName,
    LastName,
    Phone,
    Email,
    Address,
    Channel,
    Topics,
    Language,
    Status,
    ConsentAt,
    ConsentSource,
    ConsentText,
    ConfirmedAt,
    UnsubscribedAt,
}

/// Defaults for what a row does not say.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// For rows without a `channel` column.
    pub channel: Channel,
    /// For rows without `status` or `confirmed_at`.
    pub status: Status,
    pub consent_source: String,
    pub consent_text: String,
    pub language: String,
    /// Category ids topics must come from; empty = no check.
    pub known_topics: Vec<String>,
    /// Dates without a zone (`02.11.2026 09:15`) are read in this zone.
    pub timezone: TimeZone,
    /// Used for a missing `consent_at` (the import is then the only proof of time).
    pub now: Timestamp,
}

/// One bad row (or the header, line 1). The message never holds an address in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    pub line: u64,
    /// The column as written in the file's header.
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "Zeile {}, Spalte `{c}`: {}", self.line, self.message),
            None => write!(f, "Zeile {}: {}", self.line, self.message),
        }
    }
}

/// The result of reading a whole file: good rows with their line, and every problem.
#[derive(Debug, Default)]
pub struct ParsedImport {
    pub rows: Vec<(u64, Subscriber)>,
    pub problems: Vec<ImportProblem>,
    /// Header names that matched nothing and were left out.
    pub ignored_columns: Vec<String>,
}

/// Reads an import file's bytes. A problem with the file as a whole (not UTF-8, no address
/// column) comes back as the only problem, with no rows.
pub fn parse(bytes: &[u8], opts: &ImportOptions) -> ParsedImport {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64
                + 1;
            return only(
                line,
                None,
                "die Datei ist kein UTF-8: als \"CSV UTF-8\" speichern und erneut importieren",
            );
        }
    };
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(_) => return only(1, None, "die Kopfzeile lässt sich nicht als CSV lesen"),
    };
    let mut columns: Vec<(Field, usize, String)> = Vec::new();
    let mut parsed = ParsedImport::default();
    for (i, raw) in header.iter().enumerate() {
        let norm = raw.trim().to_lowercase().replace([' ', '-', '.'], "_");
        match COLUMN_NAMES
            .iter()
            .find(|(_, names)| names.contains(&norm.as_str()))
        {
            Some((field, _)) if columns.iter().any(|(f, _, _)| f == field) => {
                return only(
                    1,
                    Some(raw),
                    "zwei Spalten meinen dasselbe Feld; eine davon behalten",
                );
            }
            Some((field, _)) => columns.push((*field, i, raw.trim().to_string())),
            None if raw.trim().is_empty() => {}
            // A header that is really a row of data (no header line) must not print a number.
            None if raw.contains(|c: char| c.is_ascii_digit() || c == '@') => {
                parsed.ignored_columns.push(format!("column {}", i + 1))
            }
            None => parsed.ignored_columns.push(raw.trim().to_string()),
        }
    }
    let has = |f: Field| columns.iter().any(|(c, _, _)| *c == f);
    if !(has(Field::Phone) || has(Field::Email) || has(Field::Address)) {
        return only(
            1,
            None,
            "keine Adress-Spalte: eine Spalte `telefon`, `mobil`, `phone`, `email` oder `address` nennen (siehe docs/subscribers.md)",
        );
    }
    let mut record = csv::StringRecord::new();
    let mut lines = LineCounter::new(text);
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| lines.line_at(p.byte())).unwrap_or(0);
                parsed.problems.push(problem(
                    line,
                    None,
                    "diese Zeile ist kein gültiges CSV (Anführungszeichen prüfen)",
                ));
                continue;
            }
        }
        // The csv crate does not count blank lines; the byte offset gives the line an editor shows.
        let line = record
            .position()
            .map(|p| lines.line_at(p.byte()))
            .unwrap_or(0);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |f: Field| -> Option<(&str, &str)> {
            columns
                .iter()
                .find(|(c, _, _)| *c == f)
                .and_then(|(_, i, name)| record.get(*i).map(|v| (v.trim(), name.as_str())))
                .filter(|(v, _)| !v.is_empty())
        };
        match parse_row(line, &get, opts) {
            Ok(s) => parsed.rows.push((line, s)),
            Err(mut p) => parsed.problems.append(&mut p),
        }
    }
    parsed
}

/// Turns the byte offsets the csv reader reports into 1-based file lines. Offsets only grow while
/// a file is read, so each call counts the newlines since the previous one: one pass over the file
/// in all (counting from the start each time made a 100,000-row import quadratic).
struct LineCounter<'a> {
    text: &'a [u8],
    /// Offset up to which newlines are counted, and the line that offset is on.
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            pos: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, byte: u64) -> u64 {
        let mut end = (byte as usize).min(self.text.len());
        // A record's position is where the reader stood, which is before any blank lines it skipped.
        while matches!(self.text.get(end), Some(b'\n' | b'\r')) {
            end += 1;
        }
        if end < self.pos {
            // Never happens with the csv reader; stay correct anyway.
            self.pos = 0;
            self.line = 1;
        }
        self.line += self.text[self.pos..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.pos = end;
        self.line
    }
}

fn only(line: u64, column: Option<&str>, message: &str) -> ParsedImport {
    ParsedImport {
        problems: vec![problem(line, column, message)],
        ..ParsedImport::default()
    }
}

fn problem(line: u64, column: Option<&str>, message: impl Into<String>) -> ImportProblem {
    ImportProblem {
        line,
        column: column.map(str::to_owned),
        message: message.into(),
    }
}

type Getter<'a> = dyn Fn(Field) -> Option<(&'a str, &'a str)> + 'a;

/// Checks one row; returns every problem of the row, not just the first.
fn parse_row<'a>(
    line: u64,
    get: &Getter<'a>,
    opts: &ImportOptions,
) -> Result<Subscriber, Vec<ImportProblem>> {
    let mut problems = Vec::new();
    let channel = match get(Field::Channel) {
        Some((v, col)) => v.parse::<Channel>().unwrap_or_else(|_| {
            problems.push(problem(
                line,
                Some(col),
                "unbekannter Kanal (bekannt: whatsapp, email, sms, telegram)",
            ));
            opts.channel
        }),
        None => opts.channel,
    };
    let source = match channel {
        Channel::Email => get(Field::Email).or_else(|| get(Field::Address)),
        _ => get(Field::Phone).or_else(|| get(Field::Address)),
    };
    let address = match source {
        Some((raw, col)) => match address::normalize(channel, raw) {
            Ok(a) => Some(a),
            Err(e) => {
                // The reason only: even masked, a cell of a shifted column is personal data.
                problems.push(problem(line, Some(col), e.reason));
                None
            }
        },
        None => {
            let what = if channel == Channel::Email {
                "E-Mail-Adresse"
            } else {
                "Telefonnummer"
            };
            problems.push(problem(
                line,
                None,
                format!("keine {what} für den Kanal {channel}"),
            ));
            None
        }
    };
    for f in [Field::Name, Field::FirstName, Field::LastName] {
        if let Some((v, col)) = get(f)
            && let Err(why) = super::record::check_name(v)
        {
            problems.push(problem(line, Some(col), why));
        }
    }
    let name = match (
        get(Field::Name),
        get(Field::FirstName),
        get(Field::LastName),
    ) {
        (Some((n, _)), _, _) => Some(n.to_string()),
        (None, first, last) => {
            let joined = [first, last]
                .iter()
                .flatten()
                .map(|(v, _)| *v)
                .collect::<Vec<_>>()
                .join(" ");
            Some(joined).filter(|n| !n.is_empty())
        }
    };
    let mut topics = Vec::new();
    if let Some((raw, col)) = get(Field::Topics) {
        for t in raw
            .split([',', ';', '|', ' ', '/'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let t = t.to_lowercase();
            if !opts.known_topics.is_empty() && !opts.known_topics.contains(&t) {
                problems.push(problem(
                    line,
                    Some(col),
                    format!(
                        "unbekanntes Thema (bekannt: {})",
                        opts.known_topics.join(", ")
                    ),
                ));
            } else if !topics.contains(&t) {
                topics.push(t);
            }
        }
    }
    let mut time = |f: Field| -> Option<Timestamp> {
        let (raw, col) = get(f)?;
        parse_time(raw, &opts.timezone)
            .map_err(|_| problems.push(problem(line, Some(col), NOT_A_DATE)))
            .ok()
    };
    let consent_at = time(Field::ConsentAt);
    let confirmed_at = time(Field::ConfirmedAt);
    let unsubscribed_at = time(Field::UnsubscribedAt);
    let status = match get(Field::Status) {
        Some((raw, col)) => parse_status(raw).unwrap_or_else(|()| {
            problems.push(problem(
                line,
                Some(col),
                "unbekannter Status (pending, active oder unsubscribed verwenden)",
            ));
            opts.status
        }),
        None if unsubscribed_at.is_some() => Status::Unsubscribed,
        None if confirmed_at.is_some() => Status::Active,
        None => opts.status,
    };
    if let (Some(consent), Some(confirmed)) = (consent_at, confirmed_at)
        && confirmed < consent
    {
        let col = get(Field::ConfirmedAt).map(|(_, c)| c);
        problems.push(problem(
            line,
            col,
            "die Bestätigung ist vor der Einwilligung datiert; beide Daten prüfen",
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Subscriber {
        id: String::new(),
        channel,
        address: address.expect("no problems means an address"),
        name,
        topics,
        language: get(Field::Language)
            .map(|(v, _)| v.to_lowercase())
            .unwrap_or_else(|| opts.language.clone()),
        status,
        // Without a consent date, consent was given by the confirmation at the latest.
        consent_at: consent_at
            .or(confirmed_at.map(|c| c.min(opts.now)))
            .or(Some(opts.now)),
        consent_source: get(Field::ConsentSource)
            .map(|(v, _)| v.to_string())
            .unwrap_or_else(|| opts.consent_source.clone()),
        consent_text: get(Field::ConsentText)
            .map(|(v, _)| v.to_string())
            .unwrap_or_else(|| opts.consent_text.clone()),
        confirmed_at,
        unsubscribed_at: if status == Status::Unsubscribed {
            unsubscribed_at.or(Some(opts.now))
        } else {
            None
        },
        bsuid: None,
    })
}

fn parse_status(raw: &str) -> Result<Status, ()> {
    match raw.trim().to_lowercase().as_str() {
        "active" | "aktiv" | "bestätigt" | "bestaetigt" | "confirmed" => Ok(Status::Active),
        "pending" | "ausstehend" | "offen" | "unbestätigt" => Ok(Status::Pending),
        "unsubscribed" | "abgemeldet" => Ok(Status::Unsubscribed),
        _ => Err(()),
    }
}

/// The problem for a cell that is not a date; the cell itself is never repeated.
const NOT_A_DATE: &str = "kein Datum (schreiben Sie 2026-11-02, 02.11.2026 oder 02.11.2026 09:15)";

/// Reads `2026-11-02T09:15:00Z`, `2026-11-02 09:15`, `2026-11-02`, `02.11.2026` or
/// `02.11.2026 09:15`; times without a zone are local to `tz`.
pub fn parse_time(raw: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let raw = raw.trim();
    if let Ok(t) = raw.parse::<Timestamp>() {
        return Ok(t);
    }
    let civil = raw
        .parse::<jiff::civil::DateTime>()
        .ok()
        .or_else(|| {
            raw.parse::<jiff::civil::Date>()
                .ok()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .or_else(|| jiff::civil::DateTime::strptime("%d.%m.%Y %H:%M", raw).ok())
        .or_else(|| jiff::civil::DateTime::strptime("%d.%m.%Y %H:%M:%S", raw).ok())
        .or_else(|| {
            jiff::civil::Date::strptime("%d.%m.%Y", raw)
                .ok()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        });
    civil
        .and_then(|dt| tz.to_ambiguous_timestamp(dt).compatible().ok())
        .ok_or_else(|| {
            format!(
                "`{raw}` ist kein Datum (2026-11-02, 02.11.2026 oder 02.11.2026 09:15 schreiben)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ImportOptions {
        ImportOptions {
            channel: Channel::WhatsApp,
            status: Status::Pending,
            consent_source: "import".into(),
            consent_text: String::new(),
            language: "de".into(),
            known_topics: vec!["verkehr".into(), "abfall".into()],
            timezone: TimeZone::get("Europe/Berlin").unwrap(),
            now: "2026-11-28T12:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn german_headers_semicolons_and_dates() {
        let csv = "Vorname;Nachname;Handy;Themen;Datum;Bestätigt am;Kommentar\n\
                   Erika;Beispiel;0171 3920001;Verkehr, Abfall;02.11.2026 09:15;03.11.2026;ruft gern an\n";
        let p = parse(csv.as_bytes(), &opts());
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.ignored_columns, vec!["Kommentar"]);
        let (line, s) = &p.rows[0];
        assert_eq!(*line, 2);
        assert_eq!(s.address, "+491713920001");
        assert_eq!(s.name.as_deref(), Some("Erika Beispiel"));
        assert_eq!(s.topics, vec!["verkehr", "abfall"]);
        assert_eq!(s.status, Status::Active, "a confirmation date means active");
        assert_eq!(
            s.consent_at,
            Some("2026-11-02T08:15:00Z".parse().unwrap()),
            "Berlin is UTC+1 in November"
        );
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let csv = "name,telefon,topics,status\n\
                   A,0171 3920001,verkehr,active\n\
                   B,030 23125000,,\n\
                   C,0171 3920003,kultur,\n\
                   \n\
                   D,,verkehr,sleeping\n";
        let p = parse(csv.as_bytes(), &opts());
        assert_eq!(p.rows.len(), 1);
        let lines: Vec<u64> = p.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![3, 4, 6, 6], "{:?}", p.problems);
        assert!(
            p.problems[0].to_string().contains("Festnetznummer"),
            "{}",
            p.problems[0]
        );
        assert!(
            !p.problems[0].to_string().contains("23125000"),
            "{}",
            p.problems[0]
        );
        assert!(p.problems[1].message.contains("unbekanntes Thema"));
        assert!(!p.problems[1].message.contains("kultur"));
    }

    #[test]
    fn no_cell_value_appears_in_any_problem() {
        // A shifted column: every field holds (part of) a phone number.
        let csv = "name;telefon;kanal;themen;status;datum;bestätigt am\n\
                   A;0171 3920001;01713920002;01713920003;01713920004;01713920005;01713920006\n\
                   B;030 23125007;whatsapp;;;;\n";
        let p = parse(csv.as_bytes(), &opts());
        assert!(p.rows.is_empty());
        let lines: Vec<u64> = p.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 2, 2, 2, 2, 3], "{:?}", p.problems);
        for problem in &p.problems {
            let shown = problem.to_string();
            assert!(problem.column.is_some(), "{shown}");
            for digits in ["3920", "01713", "2312", "5007"] {
                assert!(!shown.contains(digits), "{shown}");
            }
        }
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        let csv = "vorname;nachname;handy\n\
                   \"Erika\nstatus: active\";Beispiel;0171 3920001\n\
                   Max;\u{1b}[2JMuster;0171 3920002\n";
        let p = parse(csv.as_bytes(), &opts());
        assert!(p.rows.is_empty());
        let shown: Vec<String> = p.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown[0].starts_with(
                "Zeile 2, Spalte `vorname`: der Name enthält ein Steuerzeichen (U+000A (LF))"
            ),
            "{shown:?}"
        );
        assert!(
            shown[1].starts_with("Zeile 4, Spalte `nachname`"),
            "{shown:?}"
        );
        assert!(shown[1].contains("U+001B (ESC)"), "{shown:?}");
    }

    #[test]
    fn ignored_columns_that_look_like_data_are_named_by_position() {
        let p = parse(
            "telefon,0171 3920001,a@b.example,Kommentar\n0171 3920002,x,y,z\n".as_bytes(),
            &opts(),
        );
        assert_eq!(p.ignored_columns, vec!["column 2", "column 3", "Kommentar"]);
    }

    #[test]
    fn lines_are_counted_across_many_rows_and_blank_lines() {
        let mut csv = String::from("telefon,status\n");
        for i in 0..2000 {
            csv.push_str(&format!("0171 39{i:05},active\n"));
            if i % 7 == 0 {
                csv.push_str("\n\r\n");
            }
        }
        csv.push_str("0171 3900000,sleeping\n");
        let p = parse(csv.as_bytes(), &opts());
        assert_eq!(p.rows.len(), 2000);
        assert_eq!(p.rows[1].0, 5, "row 2 follows two blank lines");
        let expected = csv.lines().count() as u64;
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        assert_eq!(p.problems[0].line, expected);
    }

    #[test]
    fn a_file_without_an_address_column_is_refused() {
        let p = parse(b"name,themen\nA,verkehr\n", &opts());
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].line, 1);
        assert!(p.rows.is_empty());
    }

    #[test]
    fn non_utf8_is_refused_with_the_line() {
        let p = parse(b"name,telefon\nJ\xfcrgen,0171 3920001\n", &opts());
        assert_eq!(p.problems[0].line, 2);
        assert!(p.problems[0].message.contains("UTF-8"));
    }
}
