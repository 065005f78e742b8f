//! The front-matter fields of notices and pages as one table: name, German label and hint, kind,
//! whether required, and limits. `check` (the loaders) takes the known names, the required fields
//! and the length limits from it; the web editor's form is generated from it
//! (`site::editor::cms_config`), so a field added here appears in both.

/// Longest summary: it is the text of the WhatsApp message and must fit a template parameter.
pub const MAX_SUMMARY_CHARS: usize = 600;
/// Longest title: also a template parameter; Meta's exact per-parameter cap is unknown.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest image description.
pub const MAX_IMAGE_ALT_CHARS: usize = 500;
/// Longest label of an attachment.
pub const MAX_LABEL_CHARS: usize = 200;
/// Longest page title and page description.
pub const MAX_PAGE_TITLE_CHARS: usize = 200;
pub const MAX_PAGE_DESCRIPTION_CHARS: usize = 300;

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One line of text (no line break, no tab, no run of five spaces), at most `max_chars`;
    /// `long`: shown as a text box in the form (the summary).
    Line {
        max_chars: usize,
        long: bool,
    },
    /// A date, optionally with a time (`2026-11-28 09:30`, local time).
    Time,
    /// One of the category ids of `aushang.yaml`.
    Category,
    Flag {
        default: bool,
    },
    /// The address part, `a-z`, `0-9` and `-`.
    Slug,
    /// An image under `static/` or an `https://` address.
    Image,
    /// A file under `static/`.
    File,
    /// A list of words.
    Words,
    /// A list of site paths (`/alte-adresse/`).
    Paths,
    /// A list of entries with the given fields.
    List(&'static [Field]),
}

/// Whether a field must be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Required,
    Optional,
    /// Required whenever the named field of the same entry is set.
    With(&'static str),
}

/// One front-matter field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    /// German label in the form.
    pub label: &'static str,
    /// German hint below the form field.
    pub hint: &'static str,
    pub kind: Kind,
    pub need: Need,
    /// Value shown in `check`'s hint when a required field is missing.
    pub example: &'static str,
}

impl Field {
    pub fn max_chars(&self) -> Option<usize> {
        match self.kind {
            Kind::Line { max_chars, .. } => Some(max_chars),
            _ => None,
        }
    }

    pub fn required(&self) -> bool {
        self.need == Need::Required
    }
}

const fn field(
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    kind: Kind,
    need: Need,
) -> Field {
    Field {
        name,
        label,
        hint,
        kind,
        need,
        example: "",
    }
}

const ATTACHMENT: &[Field] = &[
    field(
        "file",
        "Datei",
        "Eine Datei unter static/, z. B. ein PDF.",
        Kind::File,
        Need::Required,
    ),
    field(
        "label",
        "Linktext",
        "Z. B. „Tagesordnung“; Dateityp und Größe ergänzt die Seite selbst.",
        Kind::Line {
            max_chars: MAX_LABEL_CHARS,
            long: false,
        },
        Need::Required,
    ),
];

const UPDATE: &[Field] = &[
    field(
        "date",
        "Datum",
        "Wann die Aktualisierung gilt (Ortszeit).",
        Kind::Time,
        Need::Required,
    ),
    field(
        "text",
        "Text",
        "Eine Zeile, höchstens 600 Zeichen; wird als WhatsApp-Nachricht verschickt.",
        Kind::Line {
            max_chars: MAX_SUMMARY_CHARS,
            long: true,
        },
        Need::Required,
    ),
];

/// The fields of a notice, in the order of the form.
pub const NOTICE: &[Field] = &[
    Field {
        example: "Straßensperrung in der Hönnestraße",
        ..field(
            "title",
            "Titel",
            "Eine Zeile, höchstens 200 Zeichen. Steht auf der Website und in der WhatsApp-Nachricht.",
            Kind::Line {
                max_chars: MAX_TITLE_CHARS,
                long: false,
            },
            Need::Required,
        )
    },
    Field {
        example: "2026-11-28",
        ..field(
            "date",
            "Datum",
            "Ab dann steht die Bekanntmachung auf der Website (Ortszeit).",
            Kind::Time,
            Need::Required,
        )
    },
    Field {
        example: "Ein bis zwei Sätze für die WhatsApp-Nachricht.",
        ..field(
            "summary",
            "Kurzfassung",
            "Der Text der WhatsApp-Nachricht an alle Abonnenten: ein bis zwei Sätze (wer, was, wann, wo) in einer Zeile, höchstens 600 Zeichen, ohne Zeilenumbruch.",
            Kind::Line {
                max_chars: MAX_SUMMARY_CHARS,
                long: true,
            },
            Need::Required,
        )
    },
    field(
        "category",
        "Kategorie",
        "Abonnenten können Themen nach Kategorie wählen.",
        Kind::Category,
        Need::Optional,
    ),
    field(
        "tags",
        "Schlagworte",
        "Werden auf der Seite gezeigt.",
        Kind::Words,
        Need::Optional,
    ),
    field(
        "publish_at",
        "Geplante Veröffentlichung",
        "Erst ab diesem Zeitpunkt auf der Website und verschickt. Leer lassen: ab dem Datum.",
        Kind::Time,
        Need::Optional,
    ),
    field(
        "expires",
        "Ablauf",
        "Danach verschwindet die Meldung von der Startseite; ihre Seite bleibt erreichbar. Muss nach dem Datum liegen.",
        Kind::Time,
        Need::Optional,
    ),
    field(
        "draft",
        "Entwurf",
        "Ein Entwurf wird weder veröffentlicht noch verschickt.",
        Kind::Flag { default: false },
        Need::Optional,
    ),
    field(
        "urgent",
        "Dringend",
        "Oben auf der Startseite und auch in der Nachtruhe (21–7 Uhr) verschickt, z. B. Trinkwasser, Unwetter.",
        Kind::Flag { default: false },
        Need::Optional,
    ),
    field(
        "broadcast",
        "Per WhatsApp verschicken",
        "Aus: nur auf der Website, keine Nachricht.",
        Kind::Flag { default: true },
        Need::Optional,
    ),
    field(
        "slug",
        "Adresse",
        "Teil der Web-Adresse (a–z, 0–9, -). Wird beim ersten Speichern aus dem Titel gebildet; nach der Veröffentlichung NICHT mehr ändern, sonst führen verschickte Links ins Leere.",
        Kind::Slug,
        Need::Optional,
    ),
    field(
        "aliases",
        "Frühere Adressen",
        "Alte Adressen (/alte-adresse/), die hierher weiterleiten.",
        Kind::Paths,
        Need::Optional,
    ),
    field(
        "image",
        "Bild",
        "Eine Bilddatei (jpg, png, webp, gif, avif, svg) oder eine https-Adresse; auch für Linkvorschauen.",
        Kind::Image,
        Need::Optional,
    ),
    field(
        "image_alt",
        "Bildbeschreibung",
        "Pflicht zu einem Bild: ein Satz, was darauf zu sehen ist, für Menschen, die es nicht sehen können.",
        Kind::Line {
            max_chars: MAX_IMAGE_ALT_CHARS,
            long: false,
        },
        Need::With("image"),
    ),
    field(
        "attachments",
        "Anhänge",
        "Dateien (z. B. PDFs) mit ihrem Linktext.",
        Kind::List(ATTACHMENT),
        Need::Optional,
    ),
    field(
        "updates",
        "Aktualisierungen",
        "Nachträge mit Datum; jeder neue wird an die Abonnenten verschickt.",
        Kind::List(UPDATE),
        Need::Optional,
    ),
];

/// The fields of a standing page.
pub const PAGE: &[Field] = &[
    Field {
        example: "Impressum",
        ..field(
            "title",
            "Titel",
            "Eine Zeile.",
            Kind::Line {
                max_chars: MAX_PAGE_TITLE_CHARS,
                long: false,
            },
            Need::Required,
        )
    },
    field(
        "description",
        "Beschreibung",
        "Erscheint in Suchmaschinen und Linkvorschauen; eine Zeile.",
        Kind::Line {
            max_chars: MAX_PAGE_DESCRIPTION_CHARS,
            long: false,
        },
        Need::Optional,
    ),
    field(
        "slug",
        "Adresse",
        "Teil der Web-Adresse (a–z, 0–9, -); sonst der Dateiname.",
        Kind::Slug,
        Need::Optional,
    ),
];

/// The field named `name` of `fields`; panics on a name the table lacks (a programming error
/// caught by every test that loads a notice).
pub fn get(fields: &'static [Field], name: &str) -> &'static Field {
    fields
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no front-matter field `{name}` in the content model"))
}

/// The longest text `name` of `fields` may hold.
pub fn max_chars(fields: &'static [Field], name: &str) -> usize {
    get(fields, name)
        .max_chars()
        .unwrap_or_else(|| panic!("`{name}` has no length limit"))
}

/// The names of `fields`, in order.
pub fn names(fields: &[Field]) -> Vec<&'static str> {
    fields.iter().map(|f| f.name).collect()
}
