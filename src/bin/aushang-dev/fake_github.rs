//! `aushang-dev fake-github`: runs the fake GitHub (OAuth App web flow, repository permissions,
//! token revocation) for the browser tests of the editors' login. Prints its base URL as the
//! first line; use it as both `editor.auth.github_url` and `github_api_url`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use aushang::devtools::fake_github::{FakeGithub, FakeGithubConfig, FakeUser, Permission};

#[derive(clap::Args)]
pub struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long)]
    client_id: String,
    #[arg(long)]
    client_secret: String,
    /// `owner/name` of the repository whose permissions the fake reports.
    #[arg(long)]
    repo: String,
    /// `login:push`, `login:read` or `login:none`; the first one approves when no `login=` is
    /// given to the authorize page.
    #[arg(long = "user", required = true)]
    users: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let users = args
        .users
        .iter()
        .map(|u| {
            let (login, permission) = u
                .split_once(':')
                .with_context(|| format!("--user {u}: expected login:push|read|none"))?;
            let permission = match permission {
                "push" => Permission::Push,
                "read" => Permission::Read,
                "none" => Permission::None,
                other => anyhow::bail!("--user {u}: unknown permission {other}"),
            };
            Ok(FakeUser {
                login: login.to_string(),
                permission,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let config = FakeGithubConfig {
        client_id: args.client_id,
        client_secret: args.client_secret,
        repo: args.repo,
        users,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let fake = FakeGithub::start_on(([127, 0, 0, 1], args.port).into(), config)
            .await
            .context("starting the fake GitHub")?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", fake.url())?;
        out.flush()?;
        drop(out);
        tokio::signal::ctrl_c().await?;
        Ok(ExitCode::SUCCESS)
    })
}
