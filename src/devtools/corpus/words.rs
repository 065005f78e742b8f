//! The vocabulary of generated notices: streets, districts, and per-category title and text
//! patterns of a German town, so that generated bodies look and weigh like real ones.

pub const STREETS: &[&str] = &[
    "Hönnestraße",
    "Lindenallee",
    "Birkenstraße",
    "Am Marktplatz",
    "Bahnhofstraße",
    "Kirchweg",
    "Schützenstraße",
    "Mühlenweg",
    "Gartenstraße",
    "Rosenstraße",
    "Eichendorffweg",
    "Friedhofstraße",
    "Zum Sportplatz",
    "Brückenstraße",
    "Hauptstraße",
    "Talweg",
    "Am Wasserturm",
    "Goethestraße",
    "Schillerplatz",
    "Im Wiesengrund",
];

pub const DISTRICTS: &[&str] = &[
    "Oststadt",
    "Weststadt",
    "Altstadt",
    "Nordviertel",
    "Südhang",
    "Oberdorf",
    "Unterdorf",
    "Gewerbegebiet Am Kanal",
];

pub const PLACES: &[&str] = &[
    "im Ratssaal des Rathauses",
    "auf dem Marktplatz",
    "in der Stadthalle",
    "im Bürgerhaus Oststadt",
    "in der Aula der Gesamtschule",
    "im Feuerwehrgerätehaus",
];

pub const WEEKDAYS: &[&str] = &[
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];

/// German month names, shared with the site's date formatting.
pub const MONTHS: &[&str] = &crate::site::dates::MONTHS;

pub const PEOPLE: &[&str] = &[
    "Frau Miriam Musterfrau",
    "Herr Jonas Beispiel",
    "Frau Aylin Probe",
    "Herr Klaus Muster",
    "Frau Greta Exempel",
];

pub const CONTACTS: &[&str] = &[
    "tiefbau@musterbach.example",
    "abfall@musterbach.example",
    "ratsbuero@musterbach.example",
    "kultur@musterbach.example",
    "stadtwerke@musterbach.example",
    "rathaus@musterbach.example",
];

/// One category's patterns. `{s}` is a street, `{d}` a district, `{p}` a place, `{m}` a month.
pub struct Topic {
    pub category: &'static str,
    pub titles: &'static [&'static str],
    pub summaries: &'static [&'static str],
    pub headings: &'static [&'static str],
    pub sentences: &'static [&'static str],
    pub list_items: &'static [&'static str],
    pub tags: &'static [&'static str],
    pub table_head: [&'static str; 3],
}

pub const TOPICS: &[Topic] = &[
    Topic {
        category: "verkehr",
        titles: &[
            "Straßensperrung in der {s}",
            "Baustelle {s}: Umleitung über die {s2}",
            "Vollsperrung der {s} wegen Kanalarbeiten",
            "Halteverbot in der {s} für Baumpflege",
            "Neue Ampel an der Kreuzung {s} / {s2}",
        ],
        summaries: &[
            "Die {s} ist zwischen {s2} und Marktplatz voll gesperrt. Eine Umleitung über die {s3} ist ausgeschildert.",
            "Wegen Bauarbeiten gilt in der {s} ein absolutes Halteverbot. Anwohnerinnen und Anwohner erreichen ihre Grundstücke über die {s2}.",
            "In der {d} wird die {s} erneuert. Busse der Linie 3 fahren während der Arbeiten eine Umleitung.",
        ],
        headings: &[
            "Umleitung",
            "Dauer der Arbeiten",
            "Busverkehr",
            "Anlieger",
            "Warum wird gebaut?",
        ],
        sentences: &[
            "Die Arbeiten beginnen am {wd} um 7:00 Uhr und dauern voraussichtlich bis Ende {m}.",
            "Der Fußweg bleibt auf der Nordseite der **{s}** jederzeit begehbar.",
            "Rettungsdienst und Feuerwehr können die Baustelle jederzeit passieren.",
            "Die Umleitung für den Durchgangsverkehr führt über die {s2} und die {s3}.",
            "Die Stadtwerke nutzen die Sperrung, um gleichzeitig die Wasserleitung zu erneuern.",
            "Wir bitten alle Verkehrsteilnehmenden um Verständnis für die Einschränkungen.",
            "Lieferverkehr ist werktags zwischen 9 und 11 Uhr bis zur Baustelle möglich.",
        ],
        list_items: &[
            "Zufahrt für Anlieger bis zur Hausnummer 24",
            "Parken nur auf den markierten Flächen am {s2}",
            "Die Bushaltestelle {s} wird zur {s3} verlegt",
            "Radfahrende schieben im Baustellenbereich",
            "Müllabfuhr wie gewohnt; Tonnen bitte an die Ecke {s2} stellen",
        ],
        tags: &["Baustelle", "Umleitung", "Sperrung", "Busverkehr", "Parken"],
        table_head: ["Abschnitt", "Von", "Bis"],
    },
    Topic {
        category: "abfall",
        titles: &[
            "Geänderte Abfuhrtermine in der {d}",
            "Biotonne im Bezirk {d}: neuer Abfuhrtag",
            "Sperrmüllsammlung im {m}",
            "Schadstoffmobil am {s}",
            "Weihnachtsbäume werden im Januar abgeholt",
        ],
        summaries: &[
            "Wegen des Feiertags verschiebt sich die Abfuhr der Restmülltonnen in der {d} um einen Tag. Bitte stellen Sie die Tonnen ab 6 Uhr bereit.",
            "Die Biotonne wird in der {d} ab {m} am {wd} geleert. Die übrigen Tonnen bleiben bei ihren Terminen.",
            "Das Schadstoffmobil hält am {wd} auf dem Parkplatz {s}. Haushalte können dort kostenlos Farben, Batterien und Chemikalien abgeben.",
        ],
        headings: &[
            "Neue Termine",
            "Was gehört hinein?",
            "Bereitstellung",
            "Fragen",
        ],
        sentences: &[
            "Bitte stellen Sie die Tonnen am Abfuhrtag bis **6:00 Uhr** gut sichtbar an den Straßenrand.",
            "Der Abfallkalender für {m} steht auch im Bürgerbüro zur Abholung bereit.",
            "Nicht geleerte Tonnen melden Sie bitte bis 16 Uhr beim Entsorgungsbetrieb.",
            "Die Sammlung betrifft alle Straßen der {d} einschließlich der {s}.",
            "Große Mengen Gartenabfälle können am Wertstoffhof abgegeben werden.",
            "Bitte füllen Sie die Biotonne nicht mit Plastiktüten, auch nicht mit kompostierbaren.",
        ],
        list_items: &[
            "Restmüll: {wd}, 14-täglich",
            "Biotonne: {wd2}, wöchentlich von April bis Oktober",
            "Papier: am ersten {wd} im Monat",
            "Gelbe Säcke: {wd2}, 14-täglich",
            "Sperrmüll nur nach Anmeldung",
        ],
        tags: &[
            "Abfuhr",
            "Biotonne",
            "Sperrmüll",
            "Wertstoffhof",
            "Abfallkalender",
        ],
        table_head: ["Bezirk", "Alter Termin", "Neuer Termin"],
    },
    Topic {
        category: "rat",
        titles: &[
            "Öffentliche Sitzung des Stadtrates im {m}",
            "Sitzung des Bauausschusses am {wd}",
            "Niederschrift der Ratssitzung veröffentlicht",
            "Geänderte Öffnungszeiten des Bürgerbüros",
            "Bekanntmachung der Haushaltssatzung",
        ],
        summaries: &[
            "Der Stadtrat tagt am {wd} um 18 Uhr öffentlich {p}. Themen sind unter anderem die Sanierung der {s} und der Haushalt.",
            "Das Bürgerbüro hat im {m} geänderte Öffnungszeiten. Termine können weiterhin online oder telefonisch vereinbart werden.",
            "Die Niederschrift über den öffentlichen Teil der Sitzung liegt im Ratsbüro zur Einsicht aus.",
        ],
        headings: &[
            "Tagesordnung",
            "Öffentlicher Teil",
            "Einsicht",
            "Öffnungszeiten",
            "Barrierefreiheit",
        ],
        sentences: &[
            "Die Sitzung ist öffentlich; Besucherinnen und Besucher sind willkommen.",
            "Der Sitzungsort {p} ist über den Seiteneingang stufenlos erreichbar.",
            "Die Unterlagen liegen ab {wd} im Ratsbüro (Zimmer 104) zur Einsicht aus.",
            "Einwohnerinnen und Einwohner können zu Beginn der Sitzung Fragen stellen.",
            "Über die Sanierung der **{s}** entscheidet der Rat nach der Beratung im Bauausschuss.",
            "Die Haushaltssatzung tritt mit dieser Bekanntmachung in Kraft.",
        ],
        list_items: &[
            "Eröffnung und Feststellung der Beschlussfähigkeit",
            "Einwohnerfragestunde",
            "Sanierung der {s}: Vergabe der Bauleistungen",
            "Bebauungsplan Nr. 47 „{s2}“: Satzungsbeschluss",
            "Mitteilungen der Bürgermeisterin",
        ],
        tags: &[
            "Stadtrat",
            "Haushalt",
            "Bürgerbüro",
            "Bauausschuss",
            "Satzung",
        ],
        table_head: ["Tag", "Vormittag", "Nachmittag"],
    },
    Topic {
        category: "veranstaltungen",
        titles: &[
            "Wochenmarkt zieht vorübergehend in die {s}",
            "Sommerfest auf dem Marktplatz",
            "Konzert des Posaunenchors {p}",
            "Weihnachtsmarkt eröffnet",
            "Stadtlauf durch die {d}",
        ],
        summaries: &[
            "Am {wd} lädt die Stadt zum Fest {p} ein. Für Kinder gibt es ein eigenes Programm, der Eintritt ist frei.",
            "Der Wochenmarkt findet im {m} in der {s} statt. Die Stände haben wie gewohnt von 7 bis 13 Uhr geöffnet.",
            "Beim Stadtlauf am {wd} sind mehrere Straßen in der {d} von 9 bis 14 Uhr gesperrt.",
        ],
        headings: &["Programm", "Anreise", "Mitmachen", "Sperrungen"],
        sentences: &[
            "Vereine und Initiativen können sich bis Ende {m} im Kulturbüro anmelden.",
            "Parkplätze gibt es an der Stadthalle; vom Bahnhof sind es zehn Minuten zu Fuß.",
            "Der Festplatz {p} ist barrierefrei zugänglich.",
            "Für das leibliche Wohl sorgen die Musterbacher Vereine.",
            "Bei schlechtem Wetter findet das Programm in der Stadthalle statt.",
            "Der Erlös kommt der Jugendarbeit in der {d} zugute.",
        ],
        list_items: &[
            "14:00 Uhr: Eröffnung durch die Bürgermeisterin",
            "15:00 Uhr: Kinderprogramm auf der Wiese",
            "17:00 Uhr: Konzert des Musikvereins",
            "20:00 Uhr: Tanz {p}",
            "Stände der Vereine rund um den Marktplatz",
        ],
        tags: &["Fest", "Markt", "Konzert", "Vereine", "Kinder"],
        table_head: ["Tag", "Uhrzeit", "Was"],
    },
    Topic {
        category: "versorgung",
        titles: &[
            "Stromabschaltung in der {s}",
            "Abkochgebot für Trinkwasser in der {d}",
            "Spülung des Wassernetzes in der {d}",
            "Wasserrohrbruch in der {s} behoben",
            "Gasleitung in der {s} wird erneuert",
        ],
        summaries: &[
            "Am {wd} wird in der {s} zwischen 8 und 12 Uhr der Strom abgeschaltet. Grund sind Arbeiten am Ortsnetz.",
            "In der {d} muss das Leitungswasser bis auf Weiteres abgekocht werden. Kostenloses Trinkwasser gibt es {p}.",
            "Die Stadtwerke spülen im {m} das Wassernetz der {d}. Das Wasser kann kurzzeitig trüb sein, ist aber unbedenklich.",
        ],
        headings: &[
            "Was Sie tun sollten",
            "Betroffene Straßen",
            "Hintergrund",
            "Störungstelefon",
        ],
        sentences: &[
            "Bitte schalten Sie empfindliche Geräte vor Beginn der Arbeiten aus.",
            "Wasser zum Trinken und Zähneputzen bitte **sprudelnd aufkochen** und abkühlen lassen.",
            "Zum Duschen und Waschen können Sie das Wasser wie gewohnt verwenden.",
            "Die Stadtwerke informieren, sobald die Einschränkung aufgehoben ist.",
            "Betroffen sind alle Haushalte in der **{s}** und in der {s2}.",
            "Das Störungstelefon der Stadtwerke ist rund um die Uhr erreichbar: 02399 123-999.",
        ],
        list_items: &[
            "{s}, Hausnummern 1 bis 40",
            "{s2}, vollständig",
            "{s3}, nur die geraden Hausnummern",
            "Kindertagesstätte {d} (wird gesondert informiert)",
            "Betriebe im Gewerbegebiet Am Kanal",
        ],
        tags: &[
            "Trinkwasser",
            "Strom",
            "Stadtwerke",
            "Störung",
            "Abkochgebot",
        ],
        table_head: ["Straße", "Beginn", "Ende"],
    },
];

pub const UPDATES: &[&str] = &[
    "Die Arbeiten dauern zwei Tage länger als geplant.",
    "Die Einschränkung ist aufgehoben.",
    "Der Termin wurde auf den folgenden {wd} verschoben.",
    "Die Umleitung führt jetzt zusätzlich über die {s}.",
    "Die Tagesordnung wurde um einen Punkt ergänzt.",
];
