//! The editors' login for the web editor at `/redaktion/` (Decap or Sveltia CMS): the GitHub
//! OAuth handshake both CMS speak, served by the inbox server, for GitHub accounts that may push
//! to the town's repository only. See `docs/editor-login.md`.
//!
//! 1. The CMS opens a popup on `GET /redaktion/auth?provider=github&site_id=…&scope=repo`; the
//!    server sets a signed, short-lived state cookie and redirects to GitHub's
//!    `/login/oauth/authorize` with the client id, the scope and that state.
//! 2. GitHub sends the popup back to `GET /redaktion/callback?code=…&state=…`. The state must be
//!    this server's, unexpired, and the popup's own cookie; the code is exchanged for a token, and
//!    `GET /repos/{owner}/{repo}` must say `permissions.push`. Otherwise the token is revoked and
//!    a German page says why.
//! 3. The page hands the token to the opener (the CMS) by `postMessage`, to the site's origin
//!    only. The server keeps nothing: no token is stored or logged.
//!
//! The client secret is read once, at the command's edge (`aushang inbox serve`), from
//! `GITHUB_OAUTH_CLIENT_SECRET`; it signs the states too (a key derived from it).

pub mod github;
pub mod limit;
pub mod page;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::config::{Config, EditorAuthConfig, repo_parts};
use github::{Access, Github};
use limit::LoginLimits;
use page::Outcome;

/// The CMS's `auth_endpoint` (relative to `base_url`, the inbox's origin).
pub const AUTH_ENDPOINT: &str = crate::config::DEFAULT_AUTH_ENDPOINT;
/// Where GitHub sends the popup back: the OAuth App's "Authorization callback URL" is
/// `<inbox.url>redaktion/callback`.
pub const CALLBACK_PATH: &str = "redaktion/callback";
pub const CLIENT_SECRET_ENV: &str = "GITHUB_OAUTH_CLIENT_SECRET";
/// GitHub's client secrets have 40 characters; anything much shorter is a copy error.
const MIN_SECRET_CHARS: usize = 20;
/// The scopes a CMS may ask for: write access to repositories and reading the user's profile.
const SCOPES: [&str; 6] = [
    "repo",
    "public_repo",
    "user",
    "read:user",
    "user:email",
    "read:org",
];

/// The OAuth App's client secret; `Debug` does not show it.
pub struct ClientSecret(String);

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(<hidden>)")
    }
}

impl ClientSecret {
    pub fn new(value: impl Into<String>) -> ClientSecret {
        ClientSecret(value.into())
    }

    /// Reads `GITHUB_OAUTH_CLIENT_SECRET` through `lookup` (the command's edge passes the
    /// environment); `None` when unset. The error never holds the value.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Option<ClientSecret>> {
        let Some(value) = lookup(CLIENT_SECRET_ENV)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        else {
            return Ok(None);
        };
        if value.chars().count() < MIN_SECRET_CHARS {
            anyhow::bail!(
                "{CLIENT_SECRET_ENV} ist zu kurz: das Client-Secret der GitHub-OAuth-App hat 40 Zeichen\n  Hinweis: es unter GitHub → Settings → Developer settings → OAuth Apps → (App) → Generate a new client secret neu erzeugen (docs/editor-login.md)"
            );
        }
        Ok(Some(ClientSecret(value)))
    }
}

/// `editor.auth`, the one place this module reads it from the configuration.
pub fn settings(config: &Config) -> Option<&EditorAuthConfig> {
    config.editor.as_ref()?.auth.as_ref()
}

/// The login, ready to serve.
pub struct EditorLogin {
    config: Config,
    repo: String,
    owner: String,
    name: String,
    /// The only origin the token is posted to: the site's (`base_url`).
    site_origin: String,
    redirect_uri: String,
    secure: bool,
    github: Github,
    secret: ClientSecret,
    key: [u8; 32],
    /// The callback's rate limits (the inbox's memory); set by [`routes`].
    limits: Option<LoginLimits>,
}

impl EditorLogin {
    /// `None` without `editor.auth` in the configuration.
    pub fn new(config: &Config, secret: ClientSecret) -> anyhow::Result<Option<EditorLogin>> {
        let Some(auth) = settings(config) else {
            tracing::warn!(
                "{CLIENT_SECRET_ENV} is set but aushang.yaml has no editor.auth: no editors' login"
            );
            return Ok(None);
        };
        let Some(inbox) = &config.inbox else {
            anyhow::bail!("editor.auth needs inbox.url");
        };
        let repo = config
            .editor
            .as_ref()
            .map(|e| e.repo.as_str())
            .unwrap_or_default();
        let (owner, name) =
            repo_parts(repo).ok_or_else(|| anyhow::anyhow!("editor.repo is not owner/name"))?;
        let site_origin = reqwest::Url::parse(&config.base_url)?
            .origin()
            .ascii_serialization();
        let inbox_url = if inbox.url.ends_with('/') {
            inbox.url.clone()
        } else {
            format!("{}/", inbox.url)
        };
        Ok(Some(EditorLogin {
            github: Github::new(&auth.github_url(), &auth.api_url(), auth.client_id.trim())?,
            repo: format!("{owner}/{name}"),
            owner: owner.to_string(),
            name: name.to_string(),
            site_origin,
            redirect_uri: format!("{inbox_url}{CALLBACK_PATH}"),
            secure: inbox_url.starts_with("https://"),
            key: state::key_from_client_secret(&secret.0),
            secret,
            config: config.clone(),
            limits: None,
        }))
    }

    fn popup(&self, status: StatusCode, outcome: Outcome, clear_cookie: bool) -> Response {
        popup_page(
            &self.config,
            &self.site_origin,
            status,
            &outcome,
            clear_cookie.then(|| state::clear_cookie(self.secure)),
        )
    }
}

fn popup_page(
    config: &Config,
    site_origin: &str,
    status: StatusCode,
    outcome: &Outcome,
    set_cookie: Option<String>,
) -> Response {
    let (html, nonce) = page::render(config, site_origin, outcome);
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    protect(headers);
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if let Some(v) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, v);
    }
    response
}

/// No caching (the page holds a token), no referrer (the URL holds the code).
fn protect(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// The routes; empty without `editor.auth`. With `editor.auth` but no secret they answer that
/// the login is not set up (the rest of the inbox runs on). The callback's rate limits live in
/// `limits` (the inbox's memory).
pub fn routes(config: &Config, login: Option<EditorLogin>, limits: LoginLimits) -> Router {
    if settings(config).is_none() {
        return Router::new();
    }
    let auth = format!("/{AUTH_ENDPOINT}");
    let callback = format!("/{CALLBACK_PATH}");
    match login {
        Some(login) => Router::new()
            .route(&auth, get(authorize))
            .route(&callback, get(callback_get))
            .with_state(Arc::new(EditorLogin {
                limits: Some(limits),
                ..login
            })),
        None => {
            tracing::warn!(
                "editor.auth ist eingerichtet, aber {CLIENT_SECRET_ENV} ist nicht gesetzt: die Anmeldung der Redaktion antwortet mit 503"
            );
            let config = Arc::new(config.clone());
            let missing = move || {
                let config = config.clone();
                async move {
                    let origin = reqwest::Url::parse(&config.base_url)
                        .map(|u| u.origin().ascii_serialization())
                        .unwrap_or_default();
                    let text = "Die Anmeldung für die Redaktion ist auf diesem Server noch nicht eingerichtet. Bitte wenden Sie sich an die Person, die die Website betreut.";
                    popup_page(
                        &config,
                        &origin,
                        StatusCode::SERVICE_UNAVAILABLE,
                        &Outcome {
                            title: "Anmeldung nicht eingerichtet",
                            text,
                            result: Err(("NOT_CONFIGURED", text)),
                        },
                        None,
                    )
                }
            };
            Router::new()
                .route(&auth, get(missing.clone()))
                .route(&callback, get(missing))
        }
    }
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    provider: Option<String>,
    scope: Option<String>,
}

/// The scope to ask GitHub for: the CMS's (when every part is one of [`SCOPES`]), else `repo`.
fn scope(asked: Option<&str>) -> Option<String> {
    let asked = asked
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("repo");
    let parts: Vec<&str> = asked.split([',', ' ']).filter(|p| !p.is_empty()).collect();
    parts
        .iter()
        .all(|p| SCOPES.contains(p))
        .then(|| parts.join(","))
}

async fn authorize(
    State(login): State<Arc<EditorLogin>>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    if q.provider.as_deref().unwrap_or("github") != "github" {
        let text = "Diese Anmeldung ist nur für GitHub eingerichtet.";
        return login.popup(
            StatusCode::BAD_REQUEST,
            Outcome {
                title: "Anmeldung nicht möglich",
                text,
                result: Err(("UNSUPPORTED_BACKEND", text)),
            },
            false,
        );
    }
    let Some(scope) = scope(q.scope.as_deref()) else {
        let text = "Die Redaktion hat Rechte verlangt, die diese Anmeldung nicht vergibt.";
        return login.popup(
            StatusCode::BAD_REQUEST,
            Outcome {
                title: "Anmeldung nicht möglich",
                text,
                result: Err(("UNSUPPORTED_SCOPE", text)),
            },
            false,
        );
    };
    let state = state::issue(&login.key, jiff::Timestamp::now().as_second());
    let location = login
        .github
        .authorize_url(&login.redirect_uri, &scope, &state);
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    protect(headers);
    match (
        HeaderValue::from_str(&location),
        HeaderValue::from_str(&state::set_cookie(&state, login.secure)),
    ) {
        (Ok(location), Ok(cookie)) => {
            headers.insert(header::LOCATION, location);
            headers.insert(header::SET_COOKIE, cookie);
            response
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback_get(
    State(login): State<Arc<EditorLogin>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    if let Some(limits) = &login.limits
        && let Err(refusal) = limits.client(peer, &headers)
    {
        return limit::refused(&login, limits, refusal);
    }
    let cookie = state::cookie_value(
        headers.get(header::COOKIE).and_then(|v| v.to_str().ok()),
        state::COOKIE,
    );
    let now = jiff::Timestamp::now().as_second();
    if let Err(refusal) = state::verify(&login.key, q.state.as_deref(), cookie, now) {
        tracing::warn!("editor login refused: {}", refusal.label());
        let text = "Diese Anmeldung ist abgelaufen oder wurde nicht in diesem Browser begonnen. Bitte schließen Sie dieses Fenster und klicken Sie in der Redaktion erneut auf „Mit GitHub anmelden“.";
        return login.popup(
            StatusCode::FORBIDDEN,
            Outcome {
                title: "Anmeldung abgelaufen",
                text,
                result: Err(("CSRF_DETECTED", text)),
            },
            true,
        );
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && q.error.is_none()) else {
        tracing::info!("editor login cancelled at GitHub");
        let text = "Die Anmeldung wurde bei GitHub abgebrochen. Sie können es in der Redaktion erneut versuchen.";
        return login.popup(
            StatusCode::OK,
            Outcome {
                title: "Anmeldung abgebrochen",
                text,
                result: Err(("AUTH_CANCELLED", text)),
            },
            true,
        );
    };
    if let Some(limits) = &login.limits
        && let Err(refusal) = limits.exchange()
    {
        return limit::refused(&login, limits, refusal);
    }
    let token = match login
        .github
        .exchange(&code, &login.redirect_uri, &login.secret.0)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!("editor login failed: token exchange: {e}");
            return unavailable(&login);
        }
    };
    let access = match login.github.access(&token, &login.owner, &login.name).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(
                "editor login failed: permission check on {}: {e}",
                login.repo
            );
            revoke(&login, &token).await;
            return unavailable(&login);
        }
    };
    if access == Access::Push {
        tracing::info!(
            "editor login: write access to {} confirmed; token handed to the editor's window",
            login.repo
        );
        return login.popup(
            StatusCode::OK,
            Outcome {
                title: "Angemeldet",
                text: "Sie sind angemeldet. Dieses Fenster schließt sich gleich; die Redaktion geht im anderen Fenster weiter.",
                result: Ok(token.expose()),
            },
            true,
        );
    }
    tracing::warn!(
        "editor login refused: the account may not push to {} ({access:?}); token revoked",
        login.repo
    );
    revoke(&login, &token).await;
    let text = match access {
        Access::ReadOnly => format!(
            "Ihr GitHub-Konto darf im Repository {} nicht schreiben. Bitte bitten Sie die Person, die die Website betreut, Sie dort mit Schreibrecht (Write) einzutragen. Danach können Sie sich erneut anmelden.",
            login.repo
        ),
        _ => format!(
            "Ihr GitHub-Konto hat keinen Zugriff auf das Repository {}. Bitte bitten Sie die Person, die die Website betreut, Sie dort mit Schreibrecht (Write) einzutragen (gehört es einer Organisation, muss diese auch die Anmelde-App freigeben). Danach können Sie sich erneut anmelden.",
            login.repo
        ),
    };
    login.popup(
        StatusCode::FORBIDDEN,
        Outcome {
            title: "Kein Schreibzugriff",
            text: &text,
            result: Err(("NO_WRITE_ACCESS", &text)),
        },
        true,
    )
}

async fn revoke(login: &EditorLogin, token: &github::Token) {
    if let Err(e) = login.github.revoke(token, &login.secret.0).await {
        tracing::warn!("editor login: revoking a refused token failed: {e}");
    }
}

fn unavailable(login: &EditorLogin) -> Response {
    let text = "GitHub hat die Anmeldung nicht bestätigt oder ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Minuten erneut.";
    login.popup(
        StatusCode::BAD_GATEWAY,
        Outcome {
            title: "Anmeldung fehlgeschlagen",
            text,
            result: Err(("TOKEN_REQUEST_FAILED", text)),
        },
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_limited_to_what_the_editor_needs() {
        assert_eq!(scope(None).as_deref(), Some("repo"));
        assert_eq!(scope(Some("repo,user")).as_deref(), Some("repo,user"));
        assert_eq!(
            scope(Some("public_repo read:org")).as_deref(),
            Some("public_repo,read:org")
        );
        assert_eq!(scope(Some("repo,delete_repo")), None);
        assert_eq!(scope(Some("admin:org")), None);
    }

    #[test]
    fn the_backend_is_the_inbox_origin_with_the_path_below() {
        let text = "title: T\nbase_url: https://www.t.example/\ninbox:\n  url: https://t.example/posteingang/\neditor:\n  repo: stadt/site\n  auth:\n    client_id: Ov23liX\n";
        let c = crate::config::parse(
            std::path::Path::new("/"),
            std::path::Path::new("aushang.yaml"),
            text,
        )
        .unwrap();
        let editor = c.editor.as_ref().unwrap();
        let inbox_url = c.inbox.as_ref().map(|i| i.url.as_str());
        assert_eq!(
            editor.login_backend(inbox_url),
            Some(crate::config::LoginBackend {
                base_url: "https://t.example".into(),
                auth_endpoint: format!("posteingang/{AUTH_ENDPOINT}")
            })
        );
        let login = EditorLogin::new(&c, ClientSecret::new("s".repeat(40)))
            .unwrap()
            .unwrap();
        assert_eq!(
            login.redirect_uri,
            "https://t.example/posteingang/redaktion/callback"
        );
        assert_eq!(login.site_origin, "https://www.t.example");
        assert!(login.secure);
        assert!(!format!("{:?}", login.secret).contains("sss"));
    }
}
