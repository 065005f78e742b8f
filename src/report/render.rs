//! The report as text, Markdown (job summary, annual report), CSV (spreadsheets) and JSON, with
//! German headings: town staff read it.

use std::fmt::Write as _;

use super::cost::money;
use super::{Report, Row};

/// A table rendered as Markdown or as padded text.
struct Table {
    headers: Vec<&'static str>,
    /// Right-aligned columns (numbers).
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn markdown(&self) -> String {
        let mut out = format!("| {} |\n|", self.headers.join(" | "));
        for r in &self.right {
            out.push_str(if *r { "---:|" } else { "---|" });
        }
        out.push('\n');
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }

    fn text(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, c) in row.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let pad = " ".repeat(widths[i] - c.chars().count());
                    if self.right[i] {
                        format!("{pad}{c}")
                    } else {
                        format!("{c}{pad}")
                    }
                })
                .collect();
            format!("{}\n", parts.join("  ").trim_end())
        };
        let mut out = line(self.headers.clone());
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn date(row: &Row) -> String {
    row.date
        .map(|d| d.strftime("%d.%m.%Y").to_string())
        .unwrap_or_default()
}

fn failed_codes(row: &Row) -> String {
    let codes: Vec<String> = row
        .reach
        .failed
        .iter()
        .map(|(c, n)| {
            if *c == 0 {
                format!("ohne Code×{n}")
            } else {
                format!("{c}×{n}")
            }
        })
        .collect();
    codes.join(", ")
}

/// Delivered and read are known only where the channel reports statuses (WhatsApp).
fn statused(m: &crate::inbox::reach::MessageReach, n: u64) -> String {
    if m.channel == "whatsapp" {
        n.to_string()
    } else {
        "—".into()
    }
}

fn reach_table(r: &Report) -> Table {
    let mut rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            let m = &row.reach;
            let failed = if m.failed.is_empty() {
                "0".to_string()
            } else {
                format!("{} ({})", m.failed_total(), failed_codes(row))
            };
            vec![
                date(row),
                row.title.clone(),
                m.channel.clone(),
                m.audience.to_string(),
                m.accepted.to_string(),
                statused(m, m.delivered),
                statused(m, m.read),
                failed,
                m.uncertain.to_string(),
                m.deferred.to_string(),
                m.unsubscribed_48h.to_string(),
            ]
        })
        .collect();
    if r.rows.len() > 1 {
        let sum = |f: &dyn Fn(&Row) -> u64| r.rows.iter().map(f).sum::<u64>().to_string();
        rows.push(vec![
            String::new(),
            "Summe".into(),
            String::new(),
            sum(&|x| x.reach.audience),
            sum(&|x| x.reach.accepted),
            sum(&|x| x.reach.delivered),
            sum(&|x| x.reach.read),
            sum(&|x| x.reach.failed_total()),
            sum(&|x| x.reach.uncertain),
            sum(&|x| x.reach.deferred),
            sum(&|x| x.reach.unsubscribed_48h),
        ]);
    }
    Table {
        headers: vec![
            "Versand",
            "Bekanntmachung",
            "Kanal",
            "Empfänger",
            "Angenommen",
            "Zugestellt",
            "Gelesen",
            "Fehlgeschlagen",
            "Unsicher",
            "Zurückgestellt",
            "Abmeldungen (48 h)",
        ],
        right: vec![
            false, false, false, true, true, true, true, true, true, true, true,
        ],
        rows,
    }
}

fn cost_table(r: &Report) -> Table {
    let fmt = |x: Option<f64>| x.map_or("—".to_string(), |v| money(v, &r.currency));
    let mut rows: Vec<Vec<String>> = r
        .costs
        .iter()
        .map(|c| {
            vec![
                c.category.clone(),
                c.billable.to_string(),
                c.free.to_string(),
                c.price.map_or("—".to_string(), |p| {
                    format!("{} {}", format!("{p:.4}").replace('.', ","), r.currency)
                }),
                fmt(c.cost),
            ]
        })
        .collect();
    rows.push(vec![
        "Summe".into(),
        r.costs.iter().map(|c| c.billable).sum::<u64>().to_string(),
        r.costs.iter().map(|c| c.free).sum::<u64>().to_string(),
        String::new(),
        fmt(r.total_cost),
    ]);
    Table {
        headers: vec![
            "Kategorie",
            "Abgerechnet",
            "Kostenlos",
            "Preis je Nachricht",
            "Kosten",
        ],
        right: vec![false, true, true, true, true],
        rows,
    }
}

/// Per WhatsApp message: the budget's count and estimate beside the billed count and actual
/// cost; `None` without a rate card or WhatsApp messages.
fn estimate_table(r: &Report) -> Option<Table> {
    let fmt = |x: Option<f64>| x.map_or("—".to_string(), |v| money(v, &r.currency));
    let rows: Vec<&Row> = r
        .rows
        .iter()
        .filter(|row| row.estimated_cost.is_some())
        .collect();
    if rows.is_empty() {
        return None;
    }
    let billed = |row: &Row| row.reach.billable.values().sum::<u64>();
    let mut out: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                date(row),
                row.title.clone(),
                row.charged.to_string(),
                fmt(row.estimated_cost),
                billed(row).to_string(),
                fmt(row.actual_cost),
            ]
        })
        .collect();
    if rows.len() > 1 {
        let sum = |f: &dyn Fn(&Row) -> Option<f64>| rows.iter().map(|x| f(x)).sum::<Option<f64>>();
        out.push(vec![
            String::new(),
            "Summe".into(),
            rows.iter().map(|x| x.charged).sum::<u64>().to_string(),
            fmt(sum(&|x| x.estimated_cost)),
            rows.iter().map(|x| billed(x)).sum::<u64>().to_string(),
            fmt(sum(&|x| x.actual_cost)),
        ]);
    }
    Some(Table {
        headers: vec![
            "Versand",
            "Bekanntmachung",
            "Gezählt (Budget)",
            "Geschätzt",
            "Abgerechnet",
            "Tatsächlich",
        ],
        right: vec![false, false, true, true, true, true],
        rows: out,
    })
}

const ESTIMATE_NOTE: &str = "Geschätzt: die Zustellungen, die das Budget zählt (von WhatsApp \
     angenommen oder mit unbekanntem Ausgang), × der Preis der Kategorie der Vorlage — so rechnen \
     die Vorschau (Empfänger × Preis) und das Budget. Tatsächlich: die Nachrichten, die WhatsApp \
     laut Statusmeldungen abrechnet (nur zugestellte, in der Kategorie, die Meta meldet), × ihr \
     Preis. Die tatsächlichen Kosten sind darum höchstens so hoch wie geschätzt, solange Meta die \
     Vorlage nicht anders einstuft.";

/// `Budget November 2026: 0,41 EUR von 50,00 EUR verbraucht`, per month.
fn budget_lines(r: &Report) -> Vec<String> {
    r.budget
        .iter()
        .map(|b| {
            let mut line = format!(
                "Budget {}: {} von {} verbraucht",
                b.month,
                money(b.spent, &r.currency),
                money(b.monthly, &r.currency)
            );
            if b.approvals > 0 {
                let _ = write!(
                    line,
                    "; dazu {} Freigabe(n) über das Budget, zusammen {}",
                    b.approvals,
                    money(b.approved, &r.currency)
                );
            }
            line.push_str(" (Maß des Budgets: Zustellungen im Journal × Preis)");
            line
        })
        .collect()
}

fn trend_tables(r: &Report) -> Option<(Table, Table)> {
    let t = r.trend.as_ref()?;
    let weekly = Table {
        headers: vec!["Woche ab", "Kanal", "Aktiv", "Unbestätigt", "Abgemeldet"],
        right: vec![false, false, true, true, true],
        rows: t
            .by_channel
            .iter()
            .map(|w| {
                vec![
                    w.week.strftime("%d.%m.%Y").to_string(),
                    w.channel.clone(),
                    w.active.to_string(),
                    w.pending.to_string(),
                    w.unsubscribed.to_string(),
                ]
            })
            .collect(),
    };
    // By topic: the state in the last week, and the unsubscribes over the whole period.
    let last = t.by_topic.iter().map(|w| w.week).max();
    let mut topics: std::collections::BTreeMap<(String, String), (u64, u64, u64)> =
        Default::default();
    for w in &t.by_topic {
        let e = topics
            .entry((w.channel.clone(), w.topic.clone()))
            .or_default();
        if Some(w.week) == last {
            e.0 = w.active;
            e.1 = w.pending;
        }
        e.2 += w.unsubscribed;
    }
    let by_topic = Table {
        headers: vec![
            "Kanal",
            "Thema",
            "Aktiv",
            "Unbestätigt",
            "Abgemeldet im Zeitraum",
        ],
        right: vec![false, false, true, true, true],
        rows: topics
            .into_iter()
            .map(|((c, topic), (a, p, u))| {
                vec![c, topic, a.to_string(), p.to_string(), u.to_string()]
            })
            .collect(),
    };
    Some((weekly, by_topic))
}

fn other_line(r: &Report) -> Option<String> {
    (r.other_billable + r.other_free > 0).then(|| {
        format!(
            "Darin enthalten: {} abgerechnete und {} kostenlose Nachricht(en) ohne Bekanntmachung \
             (z. B. Bestätigungsanfragen).",
            r.other_billable, r.other_free
        )
    })
}

const NO_TREND: &str = "Der Verlauf der Abonnentinnen und Abonnenten braucht den Schlüssel der \
     Liste (AUSHANG_IDENTITY oder AUSHANG_IDENTITY_FILE); ohne ihn steht hier nur die Reichweite.";

/// Where the Markdown report points to its chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart<'a> {
    None,
    /// The SVG's file name, shown as an image above the tables that hold its data.
    Image(&'a str),
    /// The name of the workflow artifact the SVG is uploaded as: a GitHub job summary shows
    /// no local picture, so it says where to download it.
    Artifact(&'a str),
}

/// Markdown, with the chart as `chart` says.
pub fn markdown(r: &Report, chart: Chart<'_>) -> String {
    let mut out = format!("## Reichweite und Kosten: {}\n\n", r.period.label);
    match chart {
        Chart::None => {}
        Chart::Image(file) => {
            let _ = writeln!(
                out,
                "![Diagramm: Reichweite je Bekanntmachung und Abonnements je Woche, {} (die \
                 Zahlen stehen in den Tabellen darunter)]({file})\n",
                r.period.label
            );
        }
        Chart::Artifact(name) => {
            let _ = writeln!(
                out,
                "Das Diagramm (Reichweite je Bekanntmachung und Abonnements je Woche, als SVG) \
                 liegt bei diesem Lauf als Artefakt „{}“ zum Herunterladen (Zusammenfassung des \
                 Laufs, unten unter „Artifacts“); die Zahlen stehen in den Tabellen darunter.\n",
                md_cell(name)
            );
        }
    }
    out.push_str("### Reichweite je Bekanntmachung\n\n");
    if r.rows.is_empty() {
        out.push_str("In diesem Zeitraum wurde nichts versandt.\n\n");
    } else {
        out.push_str(&reach_table(r).markdown());
        out.push('\n');
    }
    out.push_str("### Abgerechnete Nachrichten (WhatsApp)\n\n");
    if r.costs.is_empty() {
        out.push_str("Keine Preisangaben von WhatsApp in diesem Zeitraum.\n\n");
    } else {
        out.push_str(&cost_table(r).markdown());
        out.push('\n');
        if let Some(l) = other_line(r) {
            let _ = writeln!(out, "{l}\n");
        }
    }
    let estimate = estimate_table(r);
    let budget = budget_lines(r);
    if estimate.is_some() || !budget.is_empty() {
        out.push_str("### Kosten je Bekanntmachung: geschätzt und tatsächlich\n\n");
        if let Some(t) = &estimate {
            out.push_str(&t.markdown());
            let _ = writeln!(out, "\n{ESTIMATE_NOTE}\n");
        }
        for l in &budget {
            let _ = writeln!(out, "**{l}**\n");
        }
    }
    out.push_str("### Abonnentinnen und Abonnenten\n\n");
    match trend_tables(r) {
        Some((weekly, topics)) => {
            out.push_str(&weekly.markdown());
            out.push_str("\nNach Thema (Stand am Ende des Zeitraums):\n\n");
            out.push_str(&topics.markdown());
            out.push('\n');
        }
        None => {
            let _ = writeln!(out, "{NO_TREND}\n");
        }
    }
    for n in &r.notes {
        let _ = writeln!(out, "> {}\n", md_cell(n));
    }
    out
}

pub fn text(r: &Report) -> String {
    let mut out = format!("Reichweite und Kosten: {}\n\n", r.period.label);
    out.push_str("Reichweite je Bekanntmachung\n");
    if r.rows.is_empty() {
        out.push_str("In diesem Zeitraum wurde nichts versandt.\n");
    } else {
        out.push_str(&reach_table(r).text());
    }
    out.push_str("\nAbgerechnete Nachrichten (WhatsApp)\n");
    if r.costs.is_empty() {
        out.push_str("Keine Preisangaben von WhatsApp in diesem Zeitraum.\n");
    } else {
        out.push_str(&cost_table(r).text());
        if let Some(l) = other_line(r) {
            let _ = writeln!(out, "{l}");
        }
    }
    let estimate = estimate_table(r);
    let budget = budget_lines(r);
    if estimate.is_some() || !budget.is_empty() {
        out.push_str("\nKosten je Bekanntmachung: geschätzt und tatsächlich\n");
        if let Some(t) = &estimate {
            out.push_str(&t.text());
            let _ = writeln!(out, "{ESTIMATE_NOTE}");
        }
        for l in &budget {
            let _ = writeln!(out, "{l}");
        }
    }
    out.push_str("\nAbonnentinnen und Abonnenten\n");
    match trend_tables(r) {
        Some((weekly, topics)) => {
            out.push_str(&weekly.text());
            out.push_str("\nNach Thema (Stand am Ende des Zeitraums)\n");
            out.push_str(&topics.text());
        }
        None => {
            let _ = writeln!(out, "{NO_TREND}");
        }
    }
    for n in &r.notes {
        let _ = writeln!(out, "Hinweis: {n}");
    }
    out
}

/// The per-notice table, one row per message and channel, with its cost (the trend is in the
/// other formats).
pub fn csv(r: &Report) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "versand",
        "bekanntmachung",
        "schluessel",
        "kanal",
        "empfaenger",
        "angenommen",
        "zugestellt",
        "gelesen",
        "fehlgeschlagen",
        "fehlercodes",
        "unsicher",
        "zurueckgestellt",
        "abmeldungen_48h",
        "abgerechnet",
        "kostenlos",
        "kosten",
        "waehrung",
        "budget_gezaehlt",
        "kosten_geschaetzt",
    ]);
    let rates: std::collections::HashMap<&str, Option<f64>> = r
        .costs
        .iter()
        .map(|c| (c.category.as_str(), c.price))
        .collect();
    for row in &r.rows {
        let m = &row.reach;
        let cost: Option<f64> = if r.total_cost.is_some() {
            m.billable
                .iter()
                .map(|(c, n)| {
                    rates
                        .get(c.as_str())
                        .copied()
                        .flatten()
                        .map(|p| p * *n as f64)
                })
                .sum()
        } else {
            None
        };
        let codes: Vec<String> = m.failed.iter().map(|(c, n)| format!("{c}:{n}")).collect();
        let _ = w.write_record([
            row.date.map(|d| d.to_string()).unwrap_or_default(),
            row.title.clone(),
            m.msg.clone(),
            m.channel.clone(),
            m.audience.to_string(),
            m.accepted.to_string(),
            m.delivered.to_string(),
            m.read.to_string(),
            m.failed_total().to_string(),
            codes.join(" "),
            m.uncertain.to_string(),
            m.deferred.to_string(),
            m.unsubscribed_48h.to_string(),
            m.billable.values().sum::<u64>().to_string(),
            m.free.values().sum::<u64>().to_string(),
            cost.map(|c| format!("{c:.2}")).unwrap_or_default(),
            r.currency.clone(),
            row.charged.to_string(),
            row.estimated_cost
                .map(|c| format!("{c:.2}"))
                .unwrap_or_default(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

pub fn json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).unwrap_or_default();
    s.push('\n');
    s
}
