//! The three GitHub calls of a login: exchange the code for a token (`POST
//! /login/oauth/access_token`), ask whether that token may push to the town's repository (`GET
//! /repos/{owner}/{repo}` → `permissions.push`), and revoke a token that may not (`DELETE
//! /applications/{client_id}/token`). Errors never contain the token, the code or the secret.

use std::time::Duration;

use serde::Deserialize;

/// An OAuth token; `Debug` does not show it.
pub struct Token(String);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<hidden>)")
    }
}

/// Whether the token's user may write to the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Push,
    /// The user sees the repository but may not push.
    ReadOnly,
    /// GitHub answers 404 (private and not theirs, or the organisation has not approved the
    /// OAuth App) or 403.
    NotVisible,
}

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("GitHub is not reachable ({0})")]
    Unreachable(String),
    #[error("GitHub answered HTTP {0}")]
    Status(u16),
    #[error("GitHub refused the code: {0}")]
    Refused(String),
    #[error("GitHub's answer is not what was expected")]
    Malformed,
}

/// A client for one OAuth App.
#[derive(Clone)]
pub struct Github {
    http: reqwest::Client,
    github_url: String,
    api_url: String,
    client_id: String,
}

impl Github {
    pub fn new(github_url: &str, api_url: &str, client_id: &str) -> anyhow::Result<Github> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("aushang-inbox/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Github {
            http,
            github_url: github_url.trim_end_matches('/').to_string(),
            api_url: api_url.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
        })
    }

    /// The authorize link the popup is sent to.
    pub fn authorize_url(&self, redirect_uri: &str, scope: &str, state: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", state)
            .append_pair("allow_signup", "false")
            .finish();
        format!("{}/login/oauth/authorize?{query}", self.github_url)
    }

    /// Exchanges the one-time `code` (sent in the body, never in a URL).
    pub async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        client_secret: &str,
    ) -> Result<Token, GithubError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", client_secret)
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .finish();
        let response = self
            .http
            .post(format!("{}/login/oauth/access_token", self.github_url))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(GithubError::Status(response.status().as_u16()));
        }
        #[derive(Deserialize)]
        struct Answer {
            access_token: Option<String>,
            error: Option<String>,
        }
        let answer: Answer = response.json().await.map_err(|_| GithubError::Malformed)?;
        match (answer.access_token, answer.error) {
            (Some(token), _) if !token.is_empty() => Ok(Token(token)),
            // GitHub's error codes are fixed words (`bad_verification_code`, …): safe to log.
            (_, Some(error)) => Err(GithubError::Refused(
                error
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(64)
                    .collect(),
            )),
            _ => Err(GithubError::Malformed),
        }
    }

    /// What the token's user may do in `owner/name`.
    pub async fn access(
        &self,
        token: &Token,
        owner: &str,
        name: &str,
    ) -> Result<Access, GithubError> {
        let response = self
            .http
            .get(format!("{}/repos/{owner}/{name}", self.api_url))
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(unreachable)?;
        match response.status().as_u16() {
            200 => {}
            403 | 404 => return Ok(Access::NotVisible),
            other => return Err(GithubError::Status(other)),
        }
        #[derive(Deserialize)]
        struct Repo {
            permissions: Option<Permissions>,
        }
        #[derive(Deserialize)]
        struct Permissions {
            #[serde(default)]
            push: bool,
        }
        let repo: Repo = response.json().await.map_err(|_| GithubError::Malformed)?;
        Ok(match repo.permissions {
            Some(p) if p.push => Access::Push,
            _ => Access::ReadOnly,
        })
    }

    /// Revokes a token the server will not hand out (best effort: the caller logs a failure).
    pub async fn revoke(&self, token: &Token, client_secret: &str) -> Result<(), GithubError> {
        let response = self
            .http
            .delete(format!(
                "{}/applications/{}/token",
                self.api_url, self.client_id
            ))
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .basic_auth(&self.client_id, Some(client_secret))
            .json(&serde_json::json!({ "access_token": token.expose() }))
            .send()
            .await
            .map_err(unreachable)?;
        match response.status().as_u16() {
            204 | 200 | 404 => Ok(()),
            other => Err(GithubError::Status(other)),
        }
    }
}

/// A transport error without its URL's query (there is none, but to be sure) or any body.
fn unreachable(e: reqwest::Error) -> GithubError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    GithubError::Unreachable(kind.to_string())
}
