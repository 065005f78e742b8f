//! A fake GitHub (real HTTP on 127.0.0.1) for the editors' login: the OAuth App web flow
//! (`GET /login/oauth/authorize` → redirect with `code` and `state`; `POST
//! /login/oauth/access_token` → `{"access_token"}` or GitHub's `{"error": …}` with status 200),
//! the repository API with the token's `permissions` (`GET /repos/{owner}/{repo}`: 401 for an
//! unknown or revoked token, 404 for a repository the user cannot see), and token revocation
//! (`DELETE /applications/{client_id}/token` with basic auth), and what Decap CMS reads right
//! after its login: the signed-in user (`GET /user`), the open pull requests (none) and the
//! content folders (empty trees). The API answers browsers as GitHub's does
//! (CORS for any origin, the `Authorization` header allowed). The consent screen is skipped:
//! `authorize` approves at once for the user named by `login=` (GitHub's own "suggested
//! account" parameter), or the first user. Codes are single-use and expire with the fake.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::json;

/// What a user may do in the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `write`, `maintain` or `admin`: `permissions.push` is true.
    Push,
    /// Read only: the repository is visible, `push` is false.
    Read,
    /// Not a collaborator of a private repository: 404.
    None,
}

#[derive(Debug, Clone)]
pub struct FakeUser {
    pub login: String,
    pub permission: Permission,
}

#[derive(Debug, Clone)]
pub struct FakeGithubConfig {
    pub client_id: String,
    pub client_secret: String,
    /// `owner/name`.
    pub repo: String,
    pub users: Vec<FakeUser>,
}

/// A code the fake handed out.
struct Grant {
    login: String,
    redirect_uri: Option<String>,
    scope: String,
}

#[derive(Default)]
struct Record {
    grants: HashMap<String, Grant>,
    /// token → login
    tokens: HashMap<String, String>,
    revoked: Vec<String>,
    /// The `scope` of every authorize request.
    scopes: Vec<String>,
    exchanges: u32,
}

type Shared = (Arc<FakeGithubConfig>, Arc<Mutex<Record>>);

pub struct FakeGithub {
    addr: SocketAddr,
    record: Arc<Mutex<Record>>,
    _task: tokio::task::JoinHandle<()>,
}

impl FakeGithub {
    pub async fn start(config: FakeGithubConfig) -> std::io::Result<FakeGithub> {
        FakeGithub::start_on("127.0.0.1:0".parse().expect("an address"), config).await
    }

    pub async fn start_on(
        addr: SocketAddr,
        config: FakeGithubConfig,
    ) -> std::io::Result<FakeGithub> {
        let record = Arc::new(Mutex::new(Record::default()));
        let app = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/repos/{owner}/{name}", get(repo))
            .route("/applications/{client_id}/token", delete(revoke))
            .route("/user", get(user))
            .route("/repos/{owner}/{name}/pulls", get(pulls))
            .route("/repos/{owner}/{name}/git/trees/{*spec}", get(tree))
            .with_state((Arc::new(config), record.clone()))
            .layer(axum::middleware::from_fn(cors));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeGithub {
            addr,
            record,
            _task: task,
        })
    }

    /// Serves as both `github_url` and `github_api_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every token handed out so far, oldest first, with its user.
    pub fn tokens(&self) -> Vec<(String, String)> {
        let record = self.record.lock().expect("record");
        let mut out: Vec<_> = record
            .tokens
            .iter()
            .map(|(t, l)| (t.clone(), l.clone()))
            .collect();
        out.sort();
        out
    }

    pub fn token_of(&self, login: &str) -> Option<String> {
        let record = self.record.lock().expect("record");
        record
            .tokens
            .iter()
            .find(|(_, l)| *l == login)
            .map(|(t, _)| t.clone())
    }

    pub fn revoked(&self) -> Vec<String> {
        self.record.lock().expect("record").revoked.clone()
    }

    pub fn scopes(&self) -> Vec<String> {
        self.record.lock().expect("record").scopes.clone()
    }

    /// Token requests, successful or not.
    pub fn exchanges(&self) -> u32 {
        self.record.lock().expect("record").exchanges
    }
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    login: Option<String>,
}

async fn authorize(
    State((config, record)): State<Shared>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    if q.client_id.as_deref() != Some(config.client_id.as_str()) {
        return (StatusCode::NOT_FOUND, "unknown OAuth App\n").into_response();
    }
    let Some(redirect_uri) = q.redirect_uri.clone() else {
        return (StatusCode::BAD_REQUEST, "this fake needs redirect_uri\n").into_response();
    };
    let user = match &q.login {
        Some(login) => config.users.iter().find(|u| &u.login == login),
        None => config.users.first(),
    };
    let Some(user) = user else {
        return (StatusCode::NOT_FOUND, "unknown user\n").into_response();
    };
    let code = random_hex(10);
    let scope = q.scope.clone().unwrap_or_default();
    {
        let mut record = record.lock().expect("record");
        record.scopes.push(scope.clone());
        record.grants.insert(
            code.clone(),
            Grant {
                login: user.login.clone(),
                redirect_uri: Some(redirect_uri.clone()),
                scope,
            },
        );
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("code", &code);
    if let Some(state) = &q.state {
        query.append_pair("state", state);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    (
        StatusCode::FOUND,
        [(
            header::LOCATION,
            format!("{redirect_uri}{sep}{}", query.finish()),
        )],
    )
        .into_response()
}

async fn access_token(
    State((config, record)): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let fields: HashMap<String, String> = if is_json {
        serde_json::from_slice::<HashMap<String, serde_json::Value>>(&body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect()
    } else {
        form_urlencoded::parse(&body).into_owned().collect()
    };
    let field = |k: &str| fields.get(k).map(String::as_str);
    let mut record = record.lock().expect("record");
    record.exchanges += 1;
    let answer = if field("client_id") != Some(&config.client_id)
        || field("client_secret") != Some(&config.client_secret)
    {
        Err("incorrect_client_credentials")
    } else {
        match field("code").and_then(|c| record.grants.remove(c)) {
            None => Err("bad_verification_code"),
            Some(grant)
                if field("redirect_uri").is_some()
                    && field("redirect_uri") != grant.redirect_uri.as_deref() =>
            {
                Err("redirect_uri_mismatch")
            }
            Some(grant) => {
                let token = format!("gho_{}", random_hex(18));
                record.tokens.insert(token.clone(), grant.login);
                Ok((token, grant.scope))
            }
        }
    };
    drop(record);
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    // GitHub answers 200 in both cases, form-encoded unless asked for JSON.
    match (answer, wants_json) {
        (Ok((token, scope)), true) => {
            axum::Json(json!({"access_token": token, "token_type": "bearer", "scope": scope}))
                .into_response()
        }
        (Err(error), true) => axum::Json(json!({
            "error": error,
            "error_description": "refused by the fake GitHub",
        }))
        .into_response(),
        (Ok((token, scope)), false) => {
            format!("access_token={token}&scope={scope}&token_type=bearer").into_response()
        }
        (Err(error), false) => format!("error={error}").into_response(),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("token "))
}

/// GitHub's API answers every origin: `Access-Control-Allow-Origin: *`, preflights included.
async fn cors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = if request.method() == axum::http::Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type, If-None-Match",
        ),
        (
            header::ACCESS_CONTROL_ALLOW_METHODS,
            "GET, POST, PATCH, PUT, DELETE",
        ),
    ] {
        headers.insert(name, axum::http::HeaderValue::from_static(value));
    }
    response
}

/// The user a live (not revoked) token belongs to.
fn token_user(record: &Mutex<Record>, headers: &HeaderMap) -> Option<String> {
    let record = record.lock().expect("record");
    bearer(headers)
        .filter(|t| !record.revoked.iter().any(|r| r == t))
        .and_then(|t| record.tokens.get(t).cloned())
}

/// GitHub's answer to an unknown or revoked token.
fn bad_credentials() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"message": "Bad credentials"})),
    )
        .into_response()
}

/// `GET /user`: the token's user, as much of it as Decap reads.
async fn user(State((_, record)): State<Shared>, headers: HeaderMap) -> Response {
    match token_user(&record, &headers) {
        Some(login) => axum::Json(json!({
            "login": login,
            "id": 1,
            "type": "User",
            "name": login,
            "avatar_url": null,
        }))
        .into_response(),
        None => bad_credentials(),
    }
}

/// `GET /repos/{owner}/{repo}/pulls`: no pull request is open.
async fn pulls(State((_, record)): State<Shared>, headers: HeaderMap) -> Response {
    match token_user(&record, &headers) {
        Some(_) => axum::Json(json!([])).into_response(),
        None => bad_credentials(),
    }
}

/// `GET /repos/{owner}/{repo}/git/trees/{branch}:{folder}`: every folder is empty.
async fn tree(State((_, record)): State<Shared>, headers: HeaderMap) -> Response {
    match token_user(&record, &headers) {
        Some(_) => axum::Json(json!({"sha": "0".repeat(40), "tree": [], "truncated": false}))
            .into_response(),
        None => bad_credentials(),
    }
}

async fn repo(
    State((config, record)): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(login) = token_user(&record, &headers) else {
        return bad_credentials();
    };
    let permission = config
        .users
        .iter()
        .find(|u| u.login == login)
        .map_or(Permission::None, |u| u.permission);
    if format!("{owner}/{name}") != config.repo || permission == Permission::None {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Not Found"})),
        )
            .into_response();
    }
    let push = permission == Permission::Push;
    axum::Json(json!({
        "name": name,
        "full_name": config.repo,
        "owner": {"login": owner},
        "default_branch": "main",
        "private": true,
        "permissions": {"admin": false, "maintain": false, "push": push, "triage": push, "pull": true},
    }))
    .into_response()
}

/// Standard base64 (for the expected basic-auth header).
fn base64(input: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn revoke(
    State((config, record)): State<Shared>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64(format!("{}:{}", config.client_id, config.client_secret).as_bytes())
    );
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    if client_id != config.client_id || !authorized {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Not Found"})),
        )
            .into_response();
    }
    #[derive(Deserialize)]
    struct Body {
        access_token: String,
    }
    let Ok(body) = serde_json::from_slice::<Body>(&body) else {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    };
    let mut record = record.lock().expect("record");
    if !record.tokens.contains_key(&body.access_token) {
        return StatusCode::NOT_FOUND.into_response();
    }
    record.revoked.push(body.access_token);
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(plain.as_bytes()), encoded);
        }
    }
}
