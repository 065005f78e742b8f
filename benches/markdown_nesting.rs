//! Hostile notice bodies: how long one body of up to 1 MiB (the file size limit) takes to check
//! and to render, split into the stages of `render_markdown` (pulldown-cmark parse + HTML
//! writing, then ammonia's sanitising), for deep nesting of every kind Markdown and HTML allow.
//! Bodies `check` refuses are rendered only at a small size (the time is in the build only if
//! `check` lets them through). Run with `cargo bench --bench markdown_nesting` (env BENCH_KB,
//! default 1024 = the limit); prints the figures (recorded in benches/CONTENT.md), asserts nothing
//! about time.

use std::time::{Duration, Instant};

use aushang::content::body_limits::{MAX_NESTING, body_problem};
use aushang::content::markdown::{markdown_options, render_markdown};

mod common;

fn ms(d: Duration) -> String {
    format!("{:>9.1} ms", d.as_secs_f64() * 1e3)
}

/// `unit` repeated to about `bytes` bytes, then `tail`.
fn repeat(unit: &str, bytes: usize, tail: &str) -> String {
    let mut s = unit.repeat(bytes / unit.len().max(1));
    s.push_str(tail);
    s
}

fn nested_list_lines(bytes: usize) -> String {
    let mut s = String::new();
    let mut depth = 0;
    while s.len() < bytes {
        s.push_str(&" ".repeat(depth * 2));
        s.push_str("- x\n");
        depth += 1;
    }
    s
}

fn main() {
    let kb: usize = std::env::var("BENCH_KB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let size = kb * 1024 - 200;
    let cases: Vec<(&str, String)> = vec![
        ("`>` quotes on one line", repeat(">", size, " x\n")),
        ("`> ` quotes on one line", repeat("> ", size, "x\n")),
        ("`- ` lists on one line", repeat("- ", size, "x\n")),
        ("`1. ` lists on one line", repeat("1. ", size, "x\n")),
        ("lists by indentation", nested_list_lines(size)),
        ("`*` emphasis openers", repeat("*", size, "x\n")),
        ("`*a ` emphasis runs", repeat("*a ", size, "\n")),
        ("`_` emphasis openers", repeat("_", size, "x\n")),
        ("`[` link openers", repeat("[", size, "x\n")),
        ("`[a](` links", repeat("[a](", size, "\n")),
        ("`![` image openers", repeat("![", size, "x\n")),
        ("`` ` `` code spans", repeat("`", size, "x\n")),
        ("`<div>` raw HTML", repeat("<div>", size, "x\n")),
        ("`<b>` inline HTML", repeat("a<b>", size, "x\n")),
        ("`<table>` raw HTML", repeat("<table><tr><td>", size, "x\n")),
        ("`[^` footnotes", repeat("[^a]: [^a]", size, "\n")),
        (
            "`|` table cells",
            format!("|a|\n|-|\n{}", repeat("|", size, "\n")),
        ),
        (
            "ordinary text",
            repeat("Ein ganz normaler Satz. ", size, "\n"),
        ),
        // The worst that is accepted: the deepest allowed nesting, over and over.
        (
            "max `>` per line, repeated",
            repeat(&format!("{} x\n", ">".repeat(MAX_NESTING)), size, ""),
        ),
        (
            "max `>` then none, repeated",
            repeat(&format!("{} x\n\ny\n\n", ">".repeat(MAX_NESTING)), size, ""),
        ),
        (
            "max `- ` per line, repeated",
            repeat(&format!("{}x\n", "- ".repeat(MAX_NESTING)), size, ""),
        ),
        (
            "max `1. ` per line,repeated",
            repeat(&format!("{}x\n", "1. ".repeat(MAX_NESTING)), size, ""),
        ),
        (
            "max `<div>` opened+closed",
            repeat(
                &format!(
                    "{}x{}\n",
                    "<div>".repeat(MAX_NESTING),
                    "</div>".repeat(MAX_NESTING)
                ),
                size,
                "",
            ),
        ),
        (
            "max `<b>`, never closed",
            repeat(&format!("a{}x\n\n", "<b>".repeat(MAX_NESTING)), size, ""),
        ),
        (
            "max emphasis, repeated",
            repeat(
                &format!(
                    "{}x{}\n\n",
                    "*a ".repeat(MAX_NESTING - 1),
                    " b*".repeat(MAX_NESTING - 1)
                ),
                size,
                "",
            ),
        ),
    ];
    println!(
        "hostile notice bodies of {kb} KiB (one body each; release build; max = {MAX_NESTING} levels):"
    );
    for (name, body) in cases {
        let t = Instant::now();
        let refused = body_problem(&body);
        let check = t.elapsed();
        // A refused body never reaches the renderer; render a 16 KiB cut of it to show why.
        let body = if refused.is_some() {
            let mut end = body.len().min(16 * 1024);
            while !body.is_char_boundary(end) {
                end -= 1;
            }
            format!("{} x\n", &body[..end])
        } else {
            body
        };
        let t = Instant::now();
        let mut html = String::new();
        pulldown_cmark::html::push_html(
            &mut html,
            pulldown_cmark::Parser::new_ext(&body, markdown_options()),
        );
        let markdown = t.elapsed();
        let t = Instant::now();
        let clean = ammonia::Builder::default().clean(&html).to_string();
        let sanitise = t.elapsed();
        let t = Instant::now();
        let out = render_markdown(&body);
        let render = t.elapsed();
        println!(
            "  {name:<26} check {} ({:<8}) | render{} {}: pulldown-cmark {}, ammonia {} ({} KiB HTML)",
            ms(check),
            match &refused {
                Some(p) => format!("line {}", p.line),
                None => "accepted".into(),
            },
            if refused.is_some() { " 16 KiB" } else { "" },
            ms(render),
            ms(markdown),
            ms(sanitise),
            (out.len().max(clean.len())) / 1024,
        );
    }
    println!("  load average while measuring: {}", common::load_average());
}
