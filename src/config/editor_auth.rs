//! `editor.auth` in `aushang.yaml`: the GitHub OAuth App through which editors log in to the
//! web editor (`/redaktion/`), served by the inbox server (`inbox::editor_auth`).
//!
//! Only public values live here (the client id, the repository, GitHub's addresses); the client
//! secret comes from the inbox server's environment (`GITHUB_OAUTH_CLIENT_SECRET`). The addresses
//! are checked as strictly as the WhatsApp `api_url`: the client secret and every editor's token
//! go there, and a pull request can change this file.

use reqwest::Url;
use serde::Deserialize;

/// GitHub's own host (login and OAuth) and its API host.
pub const GITHUB_HOST: &str = "github.com";
pub const GITHUB_API_HOST: &str = "api.github.com";

/// `editor.auth`: the GitHub OAuth App.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditorAuthConfig {
    /// The OAuth App's client id (public; it is in every authorize link).
    pub client_id: String,
    /// Where editors log in: `https://github.com`, or a GitHub Enterprise Server's address.
    #[serde(default = "default_github_url")]
    pub github_url: String,
    /// GitHub's REST API; by default `https://api.github.com` (for github.com) or
    /// `<github_url>/api/v3` (GitHub Enterprise Server).
    #[serde(default)]
    pub github_api_url: Option<String>,
    /// Allows hosts other than github.com: the client secret and the tokens go there.
    #[serde(default)]
    pub github_enterprise: bool,
}

fn default_github_url() -> String {
    format!("https://{GITHUB_HOST}")
}

impl EditorAuthConfig {
    /// `github_url` without a trailing slash.
    pub fn github_url(&self) -> String {
        self.github_url.trim().trim_end_matches('/').to_string()
    }

    /// The REST API base without a trailing slash.
    pub fn api_url(&self) -> String {
        match &self.github_api_url {
            Some(url) => url.trim().trim_end_matches('/').to_string(),
            None if parse(&self.github_url).and_then(|u| u.host_str().map(str::to_owned))
                == Some(GITHUB_HOST.to_string()) =>
            {
                format!("https://{GITHUB_API_HOST}")
            }
            None => format!("{}/api/v3", self.github_url()),
        }
    }

    /// Every problem, each with the key it belongs to.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let id = self.client_id.trim();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
            out.push((
                "client_id",
                format!(
                    "editor.auth.client_id `{id}` ist keine Client-ID einer GitHub-OAuth-App (z. B. Ov23li…)"
                ),
            ));
        }
        for (key, url, official) in [
            ("github_url", self.github_url(), GITHUB_HOST),
            ("github_api_url", self.api_url(), GITHUB_API_HOST),
        ] {
            match parse(&url) {
                None => out.push((
                    key,
                    format!("editor.auth.{key} `{url}` ist keine vollständige Adresse"),
                )),
                Some(u) => {
                    let loopback = u.host_str().is_some_and(super::is_loopback_host);
                    if u.scheme() != "https" && !loopback {
                        out.push((
                            key,
                            format!(
                                "editor.auth.{key} `{url}` verwendet {}://: das Client-Secret und die Zugangs-Tokens der Redaktion würden unverschlüsselt übertragen",
                                u.scheme()
                            ),
                        ));
                    }
                    if !loopback && u.host_str() != Some(official) && !self.github_enterprise {
                        out.push((
                            key,
                            format!(
                                "editor.auth.{key} `{url}` ist nicht {official}: das Client-Secret und die Tokens der Redaktion gingen an {}; für GitHub Enterprise Server daneben `github_enterprise: true` setzen",
                                u.host_str().unwrap_or("einen anderen Rechner")
                            ),
                        ));
                    }
                }
            }
        }
        out
    }
}

/// `owner/name` split in two, when both parts are plain GitHub names.
pub fn repo_parts(repo: &str) -> Option<(&str, &str)> {
    let (owner, name) = repo.trim().split_once('/')?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && s != "."
            && s != ".."
    };
    (plain(owner) && plain(name)).then_some((owner, name))
}

fn parse(text: &str) -> Option<Url> {
    Url::parse(text.trim())
        .ok()
        .filter(|u| u.host_str().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(extra: &str) -> EditorAuthConfig {
        let text = format!("client_id: Ov23liABC123\n{extra}");
        serde_saphyr::from_str(&text).unwrap()
    }

    #[test]
    fn github_com_is_the_default_and_enterprise_must_be_said_out_loud() {
        let a = auth("");
        assert!(a.problems().is_empty(), "{:?}", a.problems());
        assert_eq!(a.github_url(), "https://github.com");
        assert_eq!(a.api_url(), "https://api.github.com");
        let ghe = auth("github_url: https://git.musterbach.example/\n");
        assert_eq!(ghe.api_url(), "https://git.musterbach.example/api/v3");
        let p = ghe.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].1.contains("github_enterprise: true"), "{p:?}");
        let ghe = auth("github_url: https://git.musterbach.example/\ngithub_enterprise: true\n");
        assert!(ghe.problems().is_empty());
        let http = auth("github_url: http://git.musterbach.example\ngithub_enterprise: true\n");
        assert!(http.problems()[0].1.contains("unverschlüsselt"));
        let local = auth("github_url: http://127.0.0.1:9\ngithub_api_url: http://127.0.0.1:9/\n");
        assert!(local.problems().is_empty(), "{:?}", local.problems());
        assert_eq!(local.api_url(), "http://127.0.0.1:9");
        let lookalike = auth("github_url: https://github.com.evil.example\n");
        assert_eq!(lookalike.problems().len(), 2);
    }

    #[test]
    fn editor_auth_needs_an_inbox_and_its_problems_name_their_lines() {
        let text = "title: T\nbase_url: https://www.t.example/\neditor:\n  repo: stadt\n  auth:\n    client_id: Ov23liX\n";
        let parse = |t: &str| {
            crate::config::parse(
                std::path::Path::new("/"),
                std::path::Path::new("aushang.yaml"),
                t,
            )
        };
        let err = parse(text).unwrap_err();
        let found: Vec<_> = err.iter().map(|p| (p.line, p.message.clone())).collect();
        let line_of = |needle: &str| {
            err.iter()
                .find(|p| p.message.contains(needle))
                .unwrap_or_else(|| panic!("no `{needle}` in {found:?}"))
                .line
        };
        assert_eq!(line_of("besitzer/name"), Some(4), "{found:?}");
        assert_eq!(
            line_of("braucht einen Abschnitt inbox:"),
            Some(5),
            "{found:?}"
        );
        let fixed = text.replace("repo: stadt", "repo: stadt/site")
            + "inbox:\n  url: https://inbox.t.example/\n";
        let c = parse(&fixed).unwrap();
        let editor = c.editor.unwrap();
        assert_eq!(editor.repo, "stadt/site");
        assert_eq!(editor.auth.unwrap().client_id, "Ov23liX");
        let typo = fixed.replace("client_id", "clientid");
        assert!(parse(&typo).is_err());
    }

    #[test]
    fn the_client_id_is_checked() {
        let bad = EditorAuthConfig {
            client_id: "x y".into(),
            ..auth("")
        };
        let keys: Vec<_> = bad.problems().iter().map(|p| p.0).collect();
        assert_eq!(keys, ["client_id"]);
        assert_eq!(repo_parts("stadt/site"), Some(("stadt", "site")));
        assert_eq!(repo_parts("stadt/../x"), None);
        assert_eq!(repo_parts("stadt/.."), None);
    }
}
