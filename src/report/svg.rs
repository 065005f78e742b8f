//! The report's chart as a hand-written SVG (no script): reach per notice (recipients,
//! delivered, read) and, with the list's key, active subscriptions per week and channel.
//! Accessible: `role="img"`, `<title>` and `<desc>` referenced by `aria-labelledby`, every bar
//! labelled with its number; the Markdown report puts the same numbers in a table beside it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Report;

const WIDTH: f64 = 760.0;
const LABEL_W: f64 = 270.0;
const BAR_X: f64 = LABEL_W + 10.0;
const BAR_MAX: f64 = WIDTH - BAR_X - 60.0;
const ROW_H: f64 = 40.0;
const LINE_H: f64 = 200.0;
/// Bars per notice: label, colour.
const SERIES: [(&str, &str); 3] = [
    ("Empfänger", "#6b7280"),
    ("Zugestellt", "#1d4ed8"),
    ("Gelesen", "#047857"),
];
const CHANNEL_COLOURS: [&str; 4] = ["#1d4ed8", "#b45309", "#047857", "#7c3aed"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

/// The chart of `report` as an SVG document.
pub fn chart(report: &Report) -> String {
    let rows = &report.rows;
    let bars_h = 60.0 + ROW_H * rows.len().max(1) as f64;
    let weekly = weekly_active(report);
    let trend_h = if weekly.is_empty() {
        0.0
    } else {
        LINE_H + 90.0
    };
    let height = bars_h + trend_h + 10.0;
    let mut desc = format!(
        "Balkendiagramm für {}: Empfänger, zugestellte und gelesene Nachrichten je Versand ({} {}",
        report.period.label,
        rows.len(),
        if rows.len() == 1 {
            "Versand"
        } else {
            "Versände"
        }
    );
    let recipients: u64 = rows.iter().map(|r| r.reach.audience).sum();
    let delivered: u64 = rows.iter().map(|r| r.reach.delivered).sum();
    let read: u64 = rows.iter().map(|r| r.reach.read).sum();
    let _ = write!(
        desc,
        ", zusammen {recipients} Empfänger, {delivered} zugestellt, {read} gelesen)."
    );
    if weekly.is_empty() {
        desc.push_str(" Der Verlauf der Abonnements fehlt (ohne den Schlüssel der Liste).");
    } else {
        desc.push_str(" Liniendiagramm: aktive Abonnements am Ende jeder Woche, je Kanal.");
    }
    desc.push_str(" Dieselben Zahlen stehen in der Tabelle neben dem Diagramm.");
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="chart-title chart-desc" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        out,
        r#"<title id="chart-title">Reichweite und Abonnements: {}</title>"#,
        esc(&report.period.label)
    );
    let _ = writeln!(out, r#"<desc id="chart-desc">{}</desc>"#, esc(&desc));
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        out,
        r##"<text x="10" y="22" font-size="16" font-weight="bold" fill="#111827">Reichweite je Bekanntmachung</text>"##
    );
    for (i, (label, colour)) in SERIES.iter().enumerate() {
        let x = BAR_X + i as f64 * 120.0;
        let _ = writeln!(
            out,
            r##"<rect x="{x}" y="32" width="12" height="12" fill="{colour}"/><text x="{}" y="43" fill="#111827">{label}</text>"##,
            x + 16.0
        );
    }
    let max = rows
        .iter()
        .map(|r| r.reach.audience)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    if rows.is_empty() {
        let _ = writeln!(
            out,
            r##"<text x="10" y="80" fill="#111827">In diesem Zeitraum wurde nichts versandt.</text>"##
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = 60.0 + ROW_H * i as f64;
        let label = format!(
            "{} {}",
            row.date
                .map(|d| d.strftime("%d.%m.").to_string())
                .unwrap_or_default(),
            row.title
        );
        let _ = writeln!(
            out,
            r##"<text x="10" y="{}" fill="#111827"><title>{}</title>{}</text>"##,
            y + 20.0,
            esc(&label),
            esc(&short(&label, 36))
        );
        let values = [row.reach.audience, row.reach.delivered, row.reach.read];
        for (j, ((name, colour), v)) in SERIES.iter().zip(values).enumerate() {
            let by = y + 4.0 + j as f64 * 11.0;
            let w = (v as f64 / max * BAR_MAX).max(if v > 0 { 1.0 } else { 0.0 });
            let _ = writeln!(
                out,
                r##"<rect x="{BAR_X}" y="{by}" width="{w:.1}" height="9" fill="{colour}"><title>{name}: {v}</title></rect><text x="{:.1}" y="{:.1}" font-size="10" fill="#111827">{v}</text>"##,
                BAR_X + w + 4.0,
                by + 8.5
            );
        }
    }
    if !weekly.is_empty() {
        line_chart(&mut out, bars_h + 10.0, &weekly);
    }
    out.push_str("</svg>\n");
    out
}

/// Channel → (week label, active) in week order.
fn weekly_active(report: &Report) -> BTreeMap<String, Vec<(String, u64)>> {
    let mut out: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    if let Some(t) = &report.trend {
        for w in &t.by_channel {
            out.entry(w.channel.clone())
                .or_default()
                .push((w.week.strftime("%d.%m.").to_string(), w.active));
        }
    }
    out
}

fn line_chart(out: &mut String, top: f64, series: &BTreeMap<String, Vec<(String, u64)>>) {
    let _ = writeln!(
        out,
        r##"<text x="10" y="{}" font-size="16" font-weight="bold" fill="#111827">Aktive Abonnements je Woche</text>"##,
        top + 12.0
    );
    let (x0, x1) = (60.0, WIDTH - 30.0);
    let (y0, y1) = (top + 40.0 + LINE_H, top + 40.0);
    let max = series
        .values()
        .flatten()
        .map(|(_, v)| *v)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = series.values().map(Vec::len).max().unwrap_or(1);
    let step = if n > 1 {
        (x1 - x0) / (n - 1) as f64
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        r##"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#6b7280"/><line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#6b7280"/><text x="{}" y="{}" text-anchor="end" fill="#111827">0</text><text x="{}" y="{}" text-anchor="end" fill="#111827">{max}</text>"##,
        x0 - 6.0,
        y0 + 4.0,
        x0 - 6.0,
        y1 + 4.0
    );
    if let Some(weeks) = series.values().next() {
        for (i, (label, _)) in weeks.iter().enumerate() {
            // at most about twelve week labels, so they never overlap
            if i % n.div_ceil(12).max(1) == 0 {
                let _ = writeln!(
                    out,
                    r##"<text x="{:.1}" y="{}" text-anchor="middle" font-size="10" fill="#111827">{}</text>"##,
                    x0 + step * i as f64,
                    y0 + 16.0,
                    esc(label)
                );
            }
        }
    }
    for (k, (channel, points)) in series.iter().enumerate() {
        let colour = CHANNEL_COLOURS[k % CHANNEL_COLOURS.len()];
        let coords: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(i, (_, v))| {
                format!(
                    "{:.1},{:.1}",
                    x0 + step * i as f64,
                    y0 - *v as f64 / max * (y0 - y1)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            coords.join(" ")
        );
        for (i, (label, v)) in points.iter().enumerate() {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{} Woche ab {}: {v} aktiv</title></circle>"#,
                x0 + step * i as f64,
                y0 - *v as f64 / max * (y0 - y1),
                esc(channel),
                esc(label)
            );
        }
        let last = points.last().map_or(0, |p| p.1);
        let _ = writeln!(
            out,
            r##"<rect x="{}" y="{}" width="12" height="12" fill="{colour}"/><text x="{}" y="{}" fill="#111827">{} ({last} aktiv zuletzt)</text>"##,
            x0 + 200.0 * k as f64,
            y0 + 26.0,
            x0 + 16.0 + 200.0 * k as f64,
            y0 + 37.0,
            esc(channel)
        );
    }
}
