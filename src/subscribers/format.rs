//! The plaintext inside `subscribers.csv.age`: a version line, a CSV header, one row per subscription.
//!
//! ```text
//! # aushang subscribers v3
//! # recipients: age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj
//! id,channel,address,name,topics,language,status,consent_at,consent_source,consent_text,confirmed_at,unsubscribed_at,bsuid
//! s_3f9c0a51d2e47b86,whatsapp,+4917139200xx,,verkehr abfall,de,active,2026-11-02T09:15:00Z,web,v1,2026-11-02T09:17:00Z,,
//! ```
//!
//! Versioning: the first line names the format version. [`decode`] dispatches on it; [`encode`]
//! always writes the newest version. v2 added the optional `bsuid` column and the status
//! `unreachable`, so v1 and v2 share one reader (a missing `bsuid` column reads as empty). v3 added
//! line 2, the public keys the file is encrypted to (see [`super::keyset`]: a save refuses a
//! `recipients.txt` that differs from them); the rows are read as in v2. A
//! later change that needs more keeps the old reader, bumps [`VERSION`], and every save — or an explicit
//! `aushang subscribers rekey` — migrates the file. A file from a *newer* aushang is refused rather
//! than half-read. Columns are matched by name, so their order may change between versions.
//!
//! This text only ever exists in memory: it is decrypted into a buffer and encrypted from one.

use jiff::Timestamp;

use super::duplicates::DuplicateCheck;
use super::keyset::KeySet;
use super::record::{Channel, Status, Subscriber, mask};
use crate::text::{guard_csv_cell, unguard_csv_cell};

/// The format version written by this aushang. v2 added the optional `bsuid` column and the
/// status `unreachable`; a v1 file (without them) reads unchanged. v3 added the recipients line.
pub const VERSION: u32 = 3;
const MARKER_PREFIX: &str = "# aushang subscribers v";
/// Line 2 of a v3 list: the public keys the file is encrypted to.
const RECIPIENTS_PREFIX: &str = "# recipients:";

/// The columns, in the order they are written: version 1's twelve, then `bsuid` (v2; missing in
/// v1 files).
pub const COLUMNS: [&str; 13] = [
    "id",
    "channel",
    "address",
    "name",
    "topics",
    "language",
    "status",
    "consent_at",
    "consent_source",
    "consent_text",
    "confirmed_at",
    "unsubscribed_at",
    "bsuid",
];
const BSUID: usize = 12;

/// Something wrong inside the decrypted list. Never holds an address in clear.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error(
        "die entschlüsselte Liste beginnt nicht mit `{MARKER_PREFIX}N`: sie ist keine Abonnentenliste von aushang"
    )]
    NoMarker,
    #[error(
        "die Liste hat Format-Version {0}, geschrieben von einem neueren aushang; dieses aushang liest bis Version {VERSION}: aushang aktualisieren"
    )]
    NewerVersion(u32),
    #[error("Zeile {line}: {message}")]
    Row { line: u64, message: String },
    /// The text stopped being readable (when decrypting while reading: a damaged later chunk).
    #[error("Zeile {line}: ab hier lässt sich die Liste nicht weiterlesen ({detail})")]
    Unreadable { line: u64, detail: String },
}

fn row_error(line: u64, message: impl Into<String>) -> FormatError {
    FormatError::Row {
        line,
        message: message.into(),
    }
}

/// Writes the list as the newest format version, recording `keys`: the public keys the text is
/// about to be encrypted to.
pub fn encode(subscribers: &[Subscriber], keys: &KeySet) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + subscribers.len() * 160);
    out.extend_from_slice(
        format!("{MARKER_PREFIX}{VERSION}\n{RECIPIENTS_PREFIX} {keys}\n").as_bytes(),
    );
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    let ts = |t: &Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    // Writing into a Vec cannot fail.
    w.write_record(COLUMNS).expect("in-memory write");
    for s in subscribers {
        // Free-text cells are guarded against spreadsheet formulas: an admin may open the
        // decrypted list (`age -d`) in a spreadsheet. The other cells are checked on every read
        // (ids, channels, E.164 addresses, statuses, timestamps) and cannot hold a formula.
        w.write_record([
            s.id.as_str(),
            s.channel.as_str(),
            s.address.as_str(),
            &guard_csv_cell(s.name.as_deref().unwrap_or("")),
            &guard_csv_cell(&s.topics.join(" ")),
            &guard_csv_cell(&s.language),
            s.status.as_str(),
            &ts(&s.consent_at),
            &guard_csv_cell(&s.consent_source),
            &guard_csv_cell(&s.consent_text),
            &ts(&s.confirmed_at),
            &ts(&s.unsubscribed_at),
            &guard_csv_cell(s.bsuid.as_deref().unwrap_or("")),
        ])
        .expect("in-memory write");
    }
    w.into_inner().expect("in-memory write")
}

/// Reads any supported format version into the current model.
pub fn decode(bytes: &[u8]) -> Result<Vec<Subscriber>, FormatError> {
    decode_recorded(bytes).map(|(subscribers, _)| subscribers)
}

/// Like [`decode`], and the public keys the file records (`None` before v3).
pub fn decode_recorded(bytes: &[u8]) -> Result<(Vec<Subscriber>, Option<KeySet>), FormatError> {
    let mut duplicates = DuplicateCheck::default();
    // Rows are about 120 bytes; sizing up front avoids re-allocating a 100,000-row list.
    let mut subscribers = Vec::with_capacity(bytes.len() / 100 + 1);
    let mut rows = Rows::new(bytes)?;
    let recorded = rows.recorded_keys().cloned();
    for row in &mut rows {
        let (line, s) = row?;
        duplicates.check(line, &s)?;
        subscribers.push(s);
    }
    Ok((subscribers, recorded))
}

/// Reads the recipients line of a v3 list (line 2).
fn recorded_keys(line: &[u8]) -> Result<KeySet, FormatError> {
    const LINE: u64 = 2;
    let text = std::str::from_utf8(line)
        .ok()
        .and_then(|t| t.trim_end().strip_prefix(RECIPIENTS_PREFIX))
        .ok_or_else(|| {
            row_error(
                LINE,
                format!("erwartet `{RECIPIENTS_PREFIX} age1…` (die Schlüssel, für die die Liste verschlüsselt ist)"),
            )
        })?;
    KeySet::parse(text).map_err(|why| row_error(LINE, format!("{RECIPIENTS_PREFIX} {why}")))
}

/// Checks the version line (line 1, with its newline; a byte order mark is allowed) and returns
/// the version.
fn check_marker(line: &[u8]) -> Result<u32, FormatError> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| FormatError::NoMarker)?;
    let version: u32 = text
        .strip_suffix('\n')
        .ok_or(FormatError::NoMarker)?
        .trim_end_matches('\r')
        .strip_prefix(MARKER_PREFIX)
        .and_then(|v| v.trim().parse().ok())
        .ok_or(FormatError::NoMarker)?;
    match version {
        1..=VERSION => Ok(version),
        v => Err(FormatError::NewerVersion(v)),
    }
}

/// Reads the CSV header (line `header_line`): for each column of [`COLUMNS`] its position in a row
/// (`usize::MAX` for the optional `bsuid` when absent), and how many fields a row has.
fn column_index(line: &[u8], header_line: u64) -> Result<(Vec<usize>, usize), FormatError> {
    let header = match csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line)
        .records()
        .next()
    {
        Some(Ok(record)) => record,
        Some(Err(e)) => {
            return Err(row_error(
                header_line,
                format!("der Kopf lässt sich nicht lesen: {}", csv_reason(&e)),
            ));
        }
        None => csv::StringRecord::new(),
    };
    let mut index = vec![usize::MAX; COLUMNS.len()];
    for (i, name) in header.iter().enumerate() {
        match COLUMNS.iter().position(|c| *c == name.trim()) {
            Some(c) if index[c] == usize::MAX => index[c] = i,
            Some(_) => {
                return Err(row_error(
                    header_line,
                    format!("die Spalte `{name}` kommt zweimal vor"),
                ));
            }
            None => {
                return Err(row_error(
                    header_line,
                    format!("unbekannte Spalte `{name}` in der Abonnentenliste"),
                ));
            }
        }
    }
    if let Some(c) = index[..BSUID].iter().position(|i| *i == usize::MAX) {
        return Err(row_error(
            header_line,
            format!("die Spalte `{}` fehlt", COLUMNS[c]),
        ));
    }
    Ok((index, header.len()))
}

fn parse_row<'a>(line: u64, field: &impl Fn(usize) -> &'a str) -> Result<Subscriber, FormatError> {
    let bad = |column: &str, why: String| row_error(line, format!("Feld `{column}`: {why}"));
    let id = field(0).trim().to_string();
    if id.is_empty() {
        return Err(bad("id", "empty".into()));
    }
    let channel: Channel = field(1).parse().map_err(|e| bad("channel", e))?;
    let address = field(2).trim().to_string();
    let plausible = match channel {
        Channel::WhatsApp | Channel::Sms => {
            address.len() > 4
                && address.starts_with('+')
                && address[1..].bytes().all(|b| b.is_ascii_digit())
        }
        Channel::Email => address.contains('@'),
        Channel::Telegram => !address.is_empty(),
    };
    if !plausible {
        return Err(bad(
            "address",
            format!(
                "`{}` ist keine normalisierte {channel}-Adresse",
                mask(&address)
            ),
        ));
    }
    let text = |c: usize| unguard_csv_cell(field(c).trim());
    let name = Some(text(3)).filter(|n| !n.is_empty()).map(str::to_owned);
    let topics = text(4).split_whitespace().map(str::to_owned).collect();
    let language = text(5).to_string();
    let status: Status = field(6).parse().map_err(|e| bad("status", e))?;
    let time = |c: usize| -> Result<Option<Timestamp>, FormatError> {
        let v = field(c).trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<Timestamp>().map(Some).map_err(|_| {
            bad(
                COLUMNS[c],
                format!("`{v}` ist kein Zeitstempel wie 2026-11-28T09:00:00Z"),
            )
        })
    };
    Ok(Subscriber {
        id,
        channel,
        address,
        name,
        topics,
        language,
        status,
        consent_at: time(7)?,
        consent_source: text(8).to_string(),
        consent_text: text(9).to_string(),
        confirmed_at: time(10)?,
        unsubscribed_at: time(11)?,
        bsuid: Some(text(BSUID))
            .filter(|b| !b.is_empty())
            .map(str::to_owned),
    })
}

/// The csv crate's message without the record contents (which could hold an address).
fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "kein UTF-8-Text".into(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} Felder, wo der Kopf {expected_len} hat")
        }
        _ => "fehlerhaftes CSV".into(),
    }
}

// ---- reading row by row -----------------------------------------------------------------------

/// Reads a list one row at a time, for runs that must not hold every subscriber in memory (a
/// broadcast to 100,000 people). Each row is checked exactly as [`decode`] checks it; what only
/// the whole list can show (an id or address used twice) is the caller's to check, see
/// [`DuplicateCheck`]. After the first error the reader yields nothing more.
pub struct Rows<R: std::io::Read> {
    reader: csv::Reader<R>,
    /// For each column of [`COLUMNS`], its position in this file's header.
    index: Vec<usize>,
    width: usize,
    record: csv::StringRecord,
    done: bool,
    /// Lines before the first row: the version marker, the recipients line (v3) and the header.
    head_lines: u64,
    recorded: Option<KeySet>,
}

impl<R: std::io::BufRead> Rows<R> {
    /// Reads and checks the marker and the header line.
    pub fn new(mut input: R) -> Result<Rows<R>, FormatError> {
        let mut read_line = |line: u64| {
            let mut bytes = Vec::new();
            input
                .read_until(b'\n', &mut bytes)
                .map(|_| bytes)
                .map_err(|e| FormatError::Unreadable {
                    line,
                    detail: e.to_string(),
                })
        };
        let version = check_marker(&read_line(1)?)?;
        let recorded = match version {
            1 | 2 => None,
            _ => Some(recorded_keys(&read_line(2)?)?),
        };
        let head_lines = if recorded.is_some() { 3 } else { 2 };
        let (index, width) = column_index(&read_line(head_lines)?, head_lines)?;
        Ok(Rows {
            reader: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(input),
            index,
            width,
            record: csv::StringRecord::new(),
            done: false,
            head_lines,
            recorded,
        })
    }

    /// The public keys the file records it is encrypted to (`None` before format v3).
    pub fn recorded_keys(&self) -> Option<&KeySet> {
        self.recorded.as_ref()
    }
}

impl<R: std::io::Read> Iterator for Rows<R> {
    /// A subscriber and the line of the decrypted file it starts on.
    type Item = Result<(u64, Subscriber), FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let line = self.reader.position().line() + self.head_lines;
        let row = match self.reader.read_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                return None;
            }
            Ok(true) if self.record.len() != self.width => Err(row_error(
                line,
                format!(
                    "{} Felder, wo der Kopf {} hat",
                    self.record.len(),
                    self.width
                ),
            )),
            Ok(true) => {
                let (record, index) = (&self.record, &self.index);
                let field = |c: usize| index.get(c).and_then(|&i| record.get(i)).unwrap_or("");
                parse_row(line, &field).map(|s| (line, s))
            }
            Err(e) => Err(match e.kind() {
                csv::ErrorKind::Io(io) => FormatError::Unreadable {
                    line,
                    detail: io.to_string(),
                },
                _ => row_error(line, csv_reason(&e)),
            }),
        };
        self.done = row.is_err();
        Some(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> KeySet {
        KeySet::parse(crate::subscribers::store::DEMO_RECIPIENT).unwrap()
    }

    fn encode_demo(list: &[Subscriber]) -> Vec<u8> {
        encode(list, &keys())
    }

    #[test]
    fn formula_cells_are_neutralised_in_the_csv_and_read_back_unchanged() {
        let mut s = sample("s_1", "+491713920001");
        s.name = Some("=cmd|' /C calc'!A0".into());
        s.consent_source = "@SUM(1+1)".into();
        s.consent_text = "-2+3".into();
        s.topics = vec!["+x".into(), "verkehr".into()];
        s.bsuid = Some("'=HYPERLINK(1)".into());
        let bytes = encode_demo(std::slice::from_ref(&s));
        let text = String::from_utf8(bytes.clone()).unwrap();
        let row = text.lines().nth(3).unwrap();
        for cell in csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(row.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
        {
            assert!(
                !cell.starts_with(['=', '@', '-', '\t', '\r'])
                    && (!cell.starts_with('+') || cell == s.address),
                "{cell:?} in {row}"
            );
        }
        assert!(row.contains("'=cmd"), "{row}");
        assert_eq!(decode(&bytes).unwrap(), vec![s]);
    }

    fn sample(id: &str, address: &str) -> Subscriber {
        Subscriber {
            id: id.into(),
            channel: Channel::WhatsApp,
            address: address.into(),
            name: Some("Erika, \"die Ältere\"".into()),
            topics: vec!["verkehr".into(), "abfall".into()],
            language: "de".into(),
            status: Status::Active,
            consent_at: Some("2026-11-02T09:15:00Z".parse().unwrap()),
            consent_source: "web".into(),
            consent_text: "v1".into(),
            confirmed_at: Some("2026-11-02T09:17:00Z".parse().unwrap()),
            unsubscribed_at: None,
            bsuid: None,
        }
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let list = vec![
            sample("s_1", "+491713920001"),
            sample("s_2", "+491713920002"),
        ];
        let mut list = list;
        list[1].bsuid = Some("DE.1a2b3c".into());
        list[1].status = Status::Unreachable;
        let text = encode_demo(&list);
        let head = format!(
            "# aushang subscribers v3\n# recipients: {}\nid,channel,address,",
            keys()
        );
        assert!(text.starts_with(head.as_bytes()));
        assert_eq!(decode_recorded(&text).unwrap(), (list, Some(keys())));
    }

    #[test]
    fn a_v1_list_without_the_bsuid_column_still_loads() {
        let text = "# aushang subscribers v1\nid,channel,address,name,topics,language,status,consent_at,consent_source,consent_text,confirmed_at,unsubscribed_at\ns_9,whatsapp,+491713920009,,,de,active,,web,v1,,\n";
        let (list, recorded) = decode_recorded(text.as_bytes()).unwrap();
        assert_eq!(list[0].bsuid, None);
        assert_eq!(list[0].status, Status::Active);
        assert_eq!(recorded, None, "v1 and v2 do not record their keys");
        // saving migrates it to the current version, with the column
        let again = encode_demo(&list);
        assert!(again.starts_with(b"# aushang subscribers v3\n"));
        assert!(
            String::from_utf8(again.clone())
                .unwrap()
                .lines()
                .nth(2)
                .unwrap()
                .ends_with(",bsuid")
        );
        assert_eq!(decode(&again).unwrap(), list);
    }

    #[test]
    fn columns_are_matched_by_name() {
        let text = "# aushang subscribers v1\nstatus,id,channel,address,name,topics,language,consent_at,consent_source,consent_text,confirmed_at,unsubscribed_at\npending,s_9,whatsapp,+491713920009,,,de,,web,v1,,\n";
        let list = decode(text.as_bytes()).unwrap();
        assert_eq!(list[0].status, Status::Pending);
        assert_eq!(list[0].id, "s_9");
    }

    #[test]
    fn newer_and_foreign_files_are_refused() {
        assert_eq!(
            decode(b"# aushang subscribers v7\nid\n"),
            Err(FormatError::NewerVersion(7))
        );
        assert_eq!(decode(b"id,channel\n"), Err(FormatError::NoMarker));
    }

    #[test]
    fn bad_rows_name_line_and_field_without_the_address() {
        let mut text = String::from_utf8(encode_demo(&[sample("s_1", "+491713920001")])).unwrap();
        text.push_str("s_2,whatsapp,+491713920002,,,de,sleeping,,web,v1,,,\n");
        let err = decode(text.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            row_error(
                5,
                "Feld `status`: unbekannter Status `sleeping` (bekannt: pending, active, unsubscribed, unreachable)"
            )
        );
        let dup = String::from_utf8(encode_demo(&[
            sample("s_1", "+491713920001"),
            sample("s_2", "+491713920001"),
        ]))
        .unwrap();
        let err = decode(dup.as_bytes()).unwrap_err().to_string();
        assert!(
            err.starts_with("Zeile 5:") && err.contains("+49171****001"),
            "{err}"
        );
        assert!(!err.contains("+491713920001"), "{err}");
    }

    #[test]
    fn rows_read_one_at_a_time_like_decode() {
        let mut list: Vec<Subscriber> = (0..5)
            .map(|i| sample(&format!("s_{i}"), &format!("+49171392000{i}")))
            .collect();
        list[2].bsuid = Some("DE.9f8e7d".into());
        list[3].status = Status::Unreachable;
        let text = encode_demo(&list);
        let rows: Vec<(u64, Subscriber)> = Rows::new(&text[..])
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            [4, 5, 6, 7, 8]
        );
        assert_eq!(rows.into_iter().map(|r| r.1).collect::<Vec<_>>(), list);
        let reordered = "# aushang subscribers v1\nstatus,id,channel,address,name,topics,language,consent_at,consent_source,consent_text,confirmed_at,unsubscribed_at\npending,s_9,whatsapp,+491713920009,,,de,,web,v1,,\n";
        let (line, s) = Rows::new(reordered.as_bytes())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!((line, s.status, s.id.as_str()), (3, Status::Pending, "s_9"));
    }

    #[test]
    fn rows_stop_at_the_first_bad_row_naming_line_and_field() {
        let mut text = String::from_utf8(encode_demo(&[sample("s_1", "+491713920001")])).unwrap();
        text.push_str("s_2,whatsapp,+491713920002,,,de,active,yesterday,web,v1,,,\n");
        text.push_str("s_3,whatsapp,+491713920003,,,de,active,,web,v1,,,\n");
        let mut rows = Rows::new(text.as_bytes()).unwrap();
        assert_eq!(rows.next().unwrap().unwrap().0, 4);
        let err = rows.next().unwrap().unwrap_err().to_string();
        assert!(
            err.starts_with("Zeile 5: Feld `consent_at`: `yesterday`"),
            "{err}"
        );
        assert!(rows.next().is_none(), "nothing after the first error");
        let mut short = String::from_utf8(encode_demo(&[])).unwrap();
        short.push_str("s_1,whatsapp,+491713920001\n");
        let err = Rows::new(short.as_bytes())
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(err, row_error(4, "3 Felder, wo der Kopf 13 hat"));
        assert_eq!(
            Rows::new(&b"# aushang subscribers v9\nid\n"[..]).err(),
            Some(FormatError::NewerVersion(9))
        );
        assert_eq!(
            Rows::new(&b"# aushang subscribers v1\nid,channel\n"[..]).err(),
            Some(row_error(2, "die Spalte `address` fehlt"))
        );
    }

    #[test]
    fn a_v3_list_needs_its_recipients_line() {
        let text = String::from_utf8(encode_demo(&[sample("s_1", "+491713920001")])).unwrap();
        let without: String = text
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let err = decode(without.as_bytes()).unwrap_err().to_string();
        assert!(
            err.starts_with("Zeile 2: erwartet `# recipients: age1…`"),
            "{err}"
        );
        let bad = text.replacen("# recipients: age1", "# recipients: age2", 1);
        let err = decode(bad.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("Zeile 2: # recipients: `age2"), "{err}");
    }
}
