//! `aushang-dev fake-graph-api`: runs the fake WhatsApp Graph API for scripts, benchmarks
//! and tests that run `aushang` as a separate process. Prints its base URL as the first line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use aushang::devtools::fake_graph::{FakeConfig, FakeGraph};

#[derive(clap::Args)]
pub struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// JSON file with the fake's configuration (templates, token, limits, injected faults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Append every accepted message to this file as a JSON line (numbers masked and hashed).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Added to every answer, in milliseconds.
    #[arg(long)]
    latency_ms: Option<u64>,
    /// More messages than this in any second get 130429.
    #[arg(long)]
    messages_per_second: Option<u32>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => load(path)?,
        None => FakeConfig::default(),
    };
    if let Some(p) = args.port {
        config.port = p;
    }
    if args.record.is_some() {
        config.record_file = args.record;
    }
    if let Some(l) = args.latency_ms {
        config.latency_ms = l;
    }
    if args.messages_per_second.is_some() {
        config.messages_per_second = args.messages_per_second;
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let fake = FakeGraph::start(config)
            .await
            .context("starting the fake Graph API")?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", fake.base_url())?;
        out.flush()?;
        drop(out);
        tokio::select! {
            _ = fake.wait() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn load(path: &Path) -> anyhow::Result<FakeConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {}", path.display(), e.line(), e.column(), e))
}
