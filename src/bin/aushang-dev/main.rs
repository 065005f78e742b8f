//! `aushang-dev`: tools for aushang's own tests and benchmarks (the fake WhatsApp Graph API, the
//! corpus generator, the I/O floor). Not part of the product: release archives carry only `aushang`.

mod fake_github;
mod fake_graph;
mod gen_corpus;
mod io_floor;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aushang-dev",
    version,
    about = "Development tools for aushang's tests and benchmarks (not shipped)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the fake WhatsApp Graph API (for tests, scripts and benchmarks).
    FakeGraphApi(fake_graph::Args),
    /// Write a generated site with N notices (benchmarks).
    GenCorpus(gen_corpus::Args),
    /// Read a site's inputs and write files of given sizes: the benchmark's I/O floor.
    IoFloor(io_floor::Args),
    /// Run the fake GitHub for the editors' login (OAuth web flow, repository permissions).
    FakeGithub(fake_github::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::FakeGraphApi(args) => fake_graph::run(args),
        Command::GenCorpus(args) => gen_corpus::run(args),
        Command::IoFloor(args) => io_floor::run(args),
        Command::FakeGithub(args) => fake_github::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
