//! `editor:` in `aushang.yaml`: the web editor (Decap CMS) that `aushang build` puts at
//! `/redaktion/`, and where it saves (the town's GitHub repository, logged in through the
//! inbox server's OAuth endpoint). Only public values: the static site never holds a secret.

use serde::Deserialize;
use url::Url;

/// The `editor:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditorSettings {
    /// Folder of the editor below the site, `redaktion` → `/redaktion/`.
    #[serde(default = "default_path")]
    pub path: String,
    /// `owner/name` of the town's repository on GitHub, where the editor opens pull requests.
    pub repo: String,
    /// The branch notices are merged into.
    #[serde(default = "default_branch")]
    pub branch: String,
    #[serde(default)]
    pub backend: EditorBackend,
    /// Address of a `decap-server` (local git repository) the editor uses when opened on this
    /// machine (`localhost`, `127.0.0.1`); for trying the form locally and for the tests.
    /// A site path (`/api/v1`) or an `http://` address on this machine.
    #[serde(default)]
    pub local_backend: Option<String>,
    /// `editor.auth`: the GitHub OAuth App the inbox server logs editors in with
    /// (docs/editor-login.md); without it editors sign in with a token.
    #[serde(default)]
    pub auth: Option<super::EditorAuthConfig>,
}

/// Where the CMS opens its login popup: `base_url` is a bare origin (Decap compares it with the
/// popup's origin), `auth_endpoint` the path below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginBackend {
    pub base_url: String,
    pub auth_endpoint: String,
}

/// `editor.backend`: the login endpoint (GitHub OAuth) on the inbox server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditorBackend {
    /// The server that runs the login endpoint; by default `inbox.url`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The endpoint's path on that server.
    #[serde(default = "default_auth_endpoint")]
    pub auth_endpoint: String,
}

impl Default for EditorBackend {
    fn default() -> Self {
        EditorBackend {
            base_url: None,
            auth_endpoint: default_auth_endpoint(),
        }
    }
}

fn default_path() -> String {
    "redaktion".into()
}

fn default_branch() -> String {
    "main".into()
}

/// The path the login endpoint of the inbox server answers on.
pub const DEFAULT_AUTH_ENDPOINT: &str = "redaktion/auth";

fn default_auth_endpoint() -> String {
    DEFAULT_AUTH_ENDPOINT.into()
}

impl EditorSettings {
    /// The editor's site path, `/redaktion/`.
    pub fn site_path(&self) -> String {
        format!("/{}/", self.path.trim_matches('/'))
    }

    /// The login server's address (ending in `/`): `editor.backend.base_url` or `inbox.url`.
    pub fn auth_base_url(&self, inbox_url: Option<&str>) -> Option<String> {
        let url = self.backend.base_url.as_deref().or(inbox_url)?;
        Some(format!("{}/", url.trim().trim_end_matches('/')))
    }

    /// The login popup's origin and path: `editor.backend.base_url` as given, or the inbox's
    /// origin with the inbox's own path in front of `auth_endpoint` (an inbox at
    /// `https://t.example/posteingang/` answers on `/posteingang/redaktion/auth`).
    pub fn login_backend(&self, inbox_url: Option<&str>) -> Option<LoginBackend> {
        let endpoint = self.backend.auth_endpoint.trim().trim_matches('/');
        let (url, prefix) = match &self.backend.base_url {
            Some(url) => (Url::parse(url.trim()).ok()?, String::new()),
            None => {
                let url = Url::parse(inbox_url?.trim()).ok()?;
                let prefix = url.path().trim_matches('/').to_string();
                (url, prefix)
            }
        };
        let path_of_base = url.path().trim_matches('/');
        let prefix = if prefix.is_empty() {
            path_of_base.to_string()
        } else {
            prefix
        };
        Some(LoginBackend {
            base_url: url.origin().ascii_serialization(),
            auth_endpoint: if prefix.is_empty() {
                endpoint.to_string()
            } else {
                format!("{prefix}/{endpoint}")
            },
        })
    }

    /// The GitHub REST API the editor saves through: `editor.auth`'s (GitHub Enterprise Server,
    /// or a fake in the tests), else GitHub's own.
    pub fn github_api_url(&self) -> String {
        self.auth.as_ref().map_or_else(
            || format!("https://{}", super::editor_auth::GITHUB_API_HOST),
            |auth| auth.api_url(),
        )
    }

    /// Every problem, each with the key it belongs to.
    pub fn problems(&self, inbox_url: Option<&str>) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(auth) = &self.auth {
            out.extend(auth.problems());
        }
        let path = self.path.trim_matches('/');
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !path.split('/').all(segment_ok) {
            out.push((
                "path",
                format!(
                    "editor.path `{}` ist kein Ordnername der Website (a–z, 0–9, -, z. B. redaktion)",
                    self.path
                ),
            ));
        } else if crate::content::page_loader::RESERVED_PAGE_SLUGS
            .contains(&path.split('/').next().unwrap_or_default())
        {
            out.push((
                "path",
                format!(
                    "editor.path `{path}` gehört der Website selbst; wählen Sie z. B. redaktion"
                ),
            ));
        }
        let mut parts = self.repo.trim().split('/');
        let name_ok = |s: Option<&str>| {
            s.is_some_and(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            })
        };
        if !(name_ok(parts.next()) && name_ok(parts.next()) && parts.next().is_none()) {
            out.push((
                "repo",
                format!(
                    "editor.repo `{}` ist kein GitHub-Repository der Form besitzer/name",
                    self.repo
                ),
            ));
        }
        if self.branch.trim().is_empty() || self.branch.contains(char::is_whitespace) {
            out.push(("branch", "editor.branch ist kein Branch-Name".into()));
        }
        match self.auth_base_url(inbox_url) {
            None => out.push((
                "editor",
                "der Redaktion fehlt die Anmeldung: setzen Sie editor.backend.base_url oder inbox.url (der Posteingang meldet über GitHub an)".into(),
            )),
            Some(url) => {
                if let Some(message) = web_address_problem(&url) {
                    out.push(("base_url", format!("editor.backend.base_url: {message}")));
                }
            }
        }
        let endpoint = self.backend.auth_endpoint.trim();
        if endpoint.contains("://") || endpoint.contains(char::is_whitespace) || endpoint.is_empty()
        {
            out.push((
                "auth_endpoint",
                format!(
                    "editor.backend.auth_endpoint `{endpoint}` ist kein Pfad auf dem Anmelde-Server (z. B. {DEFAULT_AUTH_ENDPOINT})"
                ),
            ));
        }
        if self.auth.is_some()
            && (self.backend.base_url.is_some()
                || endpoint.trim_matches('/') != DEFAULT_AUTH_ENDPOINT)
        {
            out.push((
                "auth",
                format!(
                    "editor.auth meldet über den Posteingang an (inbox.url, {DEFAULT_AUTH_ENDPOINT}); editor.backend dann weglassen"
                ),
            ));
        }
        if let Some(local) = &self.local_backend
            && !local.starts_with('/')
        {
            let on_this_machine = Url::parse(local).is_ok_and(|u| {
                u.scheme() == "http" && u.host_str().is_some_and(super::is_loopback_host)
            });
            if !on_this_machine {
                out.push((
                    "local_backend",
                    format!(
                        "editor.local_backend `{local}` ist weder ein Pfad der Website (/api/v1) noch eine http-Adresse dieses Rechners"
                    ),
                ));
            }
        }
        out
    }
}

/// Why `url` cannot be the login server, if it cannot: it must be `https://` (plain `http://`
/// only on this machine) without query or fragment.
fn web_address_problem(url: &str) -> Option<String> {
    let Ok(parsed) = Url::parse(url) else {
        return Some(format!("`{url}` ist keine Web-Adresse"));
    };
    let local = parsed.host_str().is_some_and(super::is_loopback_host);
    match parsed.scheme() {
        "https" => None,
        "http" if local => None,
        _ => Some(format!(
            "`{url}` muss mit https:// beginnen (die Anmeldung der Redaktion läuft darüber)"
        )),
    }
    .or_else(|| {
        (parsed.query().is_some() || parsed.fragment().is_some())
            .then(|| format!("`{url}` darf kein `?` oder `#` enthalten"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(yaml: &str) -> EditorSettings {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults_and_the_inbox_as_login_server() {
        let s = settings("repo: musterbach/bekanntmachungen\n");
        assert_eq!(s.site_path(), "/redaktion/");
        assert_eq!(s.branch, "main");
        assert_eq!(s.backend.auth_endpoint, DEFAULT_AUTH_ENDPOINT);
        assert_eq!(
            s.auth_base_url(Some("https://inbox.t.example")).as_deref(),
            Some("https://inbox.t.example/")
        );
        assert!(s.problems(Some("https://inbox.t.example/")).is_empty());
        let keys: Vec<_> = s.problems(None).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["editor"]);
    }

    #[test]
    fn bad_values_are_named_by_their_key() {
        let s = settings(
            "path: archiv\nrepo: nur-ein-name\nbackend:\n  base_url: http://login.example/\n  auth_endpoint: https://x.example/auth\nlocal_backend: http://10.0.0.1:8081/api/v1\n",
        );
        let keys: Vec<_> = s.problems(None).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["path", "repo", "base_url", "auth_endpoint", "local_backend"]
        );
        let ok = settings(
            "path: intern/redaktion\nrepo: a/b\nbackend:\n  base_url: http://127.0.0.1:9000\nlocal_backend: /api/v1\n",
        );
        assert!(ok.problems(None).is_empty(), "{:?}", ok.problems(None));
    }
}
