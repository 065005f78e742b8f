//! The editors' login (`editor.auth`, docs/editor-login.md) over real HTTP: the inbox server on
//! 127.0.0.1 against the fake GitHub (`aushang::devtools::fake_github`). The authorize redirect,
//! the state bound to the popup, the token handed only to the site's origin, the refusal of an
//! account that may not push (its token revoked), and — with the real binary — logs that hold
//! neither the client secret nor a token nor a code.

#[path = "inbox/support.rs"]
mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use aushang::devtools::fake_github::{FakeGithub, FakeGithubConfig, FakeUser, Permission};
use aushang::inbox::editor_auth::{ClientSecret, EditorLogin};
use aushang::inbox::{Limits, RunningInbox};
use reqwest::StatusCode;
use support::*;

const CLIENT_ID: &str = "Ov23liFAKE0123456789";
const CLIENT_SECRET: &str = "fake0client0secret0of0forty0characters00";
const REPO: &str = "stadt-musterbach/bekanntmachungen";
/// The example site's origin (its `base_url`): the only place a token may go.
const SITE_ORIGIN: &str = "https://www.musterbach.example";

async fn fake_github() -> FakeGithub {
    let user = |login: &str, permission| FakeUser {
        login: login.into(),
        permission,
    };
    FakeGithub::start(FakeGithubConfig {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        repo: REPO.into(),
        users: vec![
            user("redakteurin", Permission::Push),
            user("leserin", Permission::Read),
            user("fremder", Permission::None),
        ],
    })
    .await
    .unwrap()
}

/// The example site with an inbox and `editor.auth` pointing at the fake.
fn site(github: &FakeGithub) -> Site {
    let site = Site::new(None);
    let path = site.root.join("aushang.yaml");
    let mut yaml = std::fs::read_to_string(&path).unwrap();
    yaml.push_str(&format!(
        "editor:\n  repo: {REPO}\n  auth:\n    client_id: {CLIENT_ID}\n    github_url: {url}\n    github_api_url: {url}\n",
        url = github.url()
    ));
    std::fs::write(path, yaml).unwrap();
    site
}

async fn serve(site: &Site, secret: Option<&str>) -> RunningInbox {
    let config = site.config();
    let editor = secret.map(|s| {
        EditorLogin::new(&config, ClientSecret::new(s))
            .unwrap()
            .unwrap()
    });
    aushang::inbox::start_with(
        config,
        secrets(None),
        &site.data_dir(),
        "127.0.0.1:0".parse().unwrap(),
        Limits::default(),
        aushang::inbox::Extras {
            editor,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn query(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The popup's first step: the redirect to GitHub and the state cookie (`name=value`).
async fn start_login(http: &reqwest::Client, inbox: &str) -> (String, String) {
    let r = http
        .get(format!(
            "{inbox}/redaktion/auth?provider=github&site_id=www.musterbach.example&scope=repo"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let cookie = header(&r, "set-cookie");
    let pair = cookie.split(';').next().unwrap().to_string();
    (header(&r, "location"), pair)
}

/// GitHub's part for `login`: the callback URL it sends the popup to, on the test's server.
async fn github_approves(
    http: &reqwest::Client,
    location: &str,
    login: &str,
    inbox: &str,
) -> String {
    let r = http
        .get(format!("{location}&login={login}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let back = header(&r, "location");
    let path_and_query = back
        .strip_prefix("https://inbox.musterbach.example")
        .unwrap_or_else(|| panic!("GitHub sent the popup to {back}"));
    format!("{inbox}{path_and_query}")
}

async fn callback(
    http: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
) -> (StatusCode, String, reqwest::header::HeaderMap) {
    let mut request = http.get(url);
    if let Some(c) = cookie {
        request = request.header("cookie", c);
    }
    let r = request.send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    // The page's text is escaped by ammonia (`&#32;` for spaces); the script is not.
    let page = r
        .text()
        .await
        .unwrap()
        .replace("&#32;", " ")
        .replace("&#47;", "/");
    (status, page, headers)
}

/// The script's two `postMessage` calls both name the site's origin; no `*` anywhere.
fn assert_posts_only_to_the_site(page: &str) {
    assert!(
        page.contains(&format!("var siteOrigin = \"{SITE_ORIGIN}\";")),
        "{page}"
    );
    assert_eq!(page.matches("postMessage(").count(), 2, "{page}");
    assert_eq!(page.matches(", siteOrigin)").count(), 2, "{page}");
    assert!(!page.contains("\"*\"") && !page.contains("'*'"), "{page}");
    assert!(page.contains("event.origin !== siteOrigin"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorize_redirect_carries_client_id_scope_and_a_state_bound_to_the_popup() {
    let github = fake_github().await;
    let site = site(&github);
    let server = serve(&site, Some(CLIENT_SECRET)).await;
    let http = client();
    let (location, cookie) = start_login(&http, &server.url()).await;
    assert!(
        location.starts_with(&format!("{}/login/oauth/authorize?", github.url())),
        "{location}"
    );
    let q = query(&location);
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["scope"], "repo");
    assert_eq!(
        q["redirect_uri"],
        "https://inbox.musterbach.example/redaktion/callback"
    );
    assert_eq!(cookie, format!("aushang_redaktion={}", q["state"]));
    assert!(!location.contains(CLIENT_SECRET));
    let r = http
        .get(format!("{}/redaktion/auth?provider=github", server.url()))
        .send()
        .await
        .unwrap();
    let set_cookie = header(&r, "set-cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Max-Age=600", "Secure"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert_eq!(header(&r, "cache-control"), "no-store");
    // Two logins get two states.
    assert_ne!(query(&header(&r, "location"))["state"], q["state"]);
    // Only the scopes an editor needs; only GitHub.
    for bad in ["provider=github&scope=repo,delete_repo", "provider=gitlab"] {
        let r = http
            .get(format!("{}/redaktion/auth?{bad}", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(header(&r, "set-cookie").is_empty());
        let page = r.text().await.unwrap();
        assert!(page.contains("authorization:github:error:"), "{page}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_whose_state_is_not_the_popups_is_refused_before_github_is_asked() {
    let github = fake_github().await;
    let site = site(&github);
    let server = serve(&site, Some(CLIENT_SECRET)).await;
    let http = client();
    let (location, cookie) = start_login(&http, &server.url()).await;
    let back = github_approves(&http, &location, "redakteurin", &server.url()).await;
    let (_, other_cookie) = start_login(&http, &server.url()).await;
    let forged = "aushang_redaktion=00.99999999999.00".to_string();
    let with_forged_state = back.replace(&query(&back)["state"], "00.99999999999.00");
    for (url, cookie) in [
        (&back, None),                       // another browser: no cookie
        (&back, Some(&other_cookie)),        // another login's cookie
        (&with_forged_state, Some(&forged)), // a state this server never signed
        (&with_forged_state, Some(&cookie)), // the popup's cookie, someone else's state
    ] {
        let (status, page, headers) = callback(&http, url, cookie.map(String::as_str)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{url} {cookie:?}");
        assert!(page.contains("Anmeldung abgelaufen"), "{page}");
        assert!(page.contains("authorization:github:error:"), "{page}");
        assert!(!page.contains("gho_"), "{page}");
        assert!(
            headers["set-cookie"]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }
    assert_eq!(
        github.exchanges(),
        0,
        "the code went to GitHub with a bad state"
    );
    assert!(github.tokens().is_empty());
    // The right cookie still works afterwards.
    let (status, page, _) = callback(&http, &back, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_with_push_access_gets_the_token_posted_to_the_site_origin_only() {
    let github = fake_github().await;
    let site = site(&github);
    let server = serve(&site, Some(CLIENT_SECRET)).await;
    let http = client();
    let (location, cookie) = start_login(&http, &server.url()).await;
    let back = github_approves(&http, &location, "redakteurin", &server.url()).await;
    let (status, page, headers) = callback(&http, &back, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let token = github.token_of("redakteurin").expect("a token was issued");
    let message = format!(
        "authorization:github:success:{}",
        serde_json::json!({"provider": "github", "token": token})
    );
    let in_script = serde_json::to_string(&message).unwrap();
    assert!(
        page.contains(&format!("var message = {in_script};")),
        "{page}"
    );
    assert_eq!(
        page.matches(&token).count(),
        1,
        "the token only in the script"
    );
    assert!(page.contains("\"authorizing:github\""), "{page}");
    assert_posts_only_to_the_site(&page);
    assert!(page.contains("Sie sind angemeldet"), "{page}");
    // The script runs under its nonce and nothing else may; nothing is cached; the state is gone.
    let csp = headers["content-security-policy"].to_str().unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    assert!(
        page.contains(&format!("<script nonce=\"{nonce}\">")),
        "{page}"
    );
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(github.revoked().is_empty());
    assert_eq!(github.scopes(), ["repo"]);
    // The code is single-use: a replay gets no token.
    let (status, page, _) = callback(&http, &back, Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{page}");
    assert!(!page.contains("gho_"), "{page}");
    assert_eq!(github.tokens().len(), 1);
    server.shutdown().await.unwrap();
}

/// The callback as the local TLS proxy passes it on from `client` (`X-Forwarded-For`).
async fn callback_from(
    http: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
    client: &str,
) -> (StatusCode, String, reqwest::header::HeaderMap) {
    let mut request = http.get(url).header("x-forwarded-for", client);
    if let Some(c) = cookie {
        request = request.header("cookie", c);
    }
    let r = request.send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (
        status,
        r.text().await.unwrap().replace("&#32;", " "),
        headers,
    )
}

/// A whole login of the writer from `client`: the callback's status.
async fn login_from(http: &reqwest::Client, inbox: &str, client: &str) -> (StatusCode, String) {
    let (location, cookie) = start_login(http, inbox).await;
    let back = github_approves(http, &location, "redakteurin", inbox).await;
    let (status, page, _) = callback_from(http, &back, Some(&cookie), client).await;
    (status, page)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_are_limited_per_client_address_and_in_all() {
    use aushang::inbox::editor_auth::limit::{LOGINS_PER_CLIENT_PER_HOUR, LOGINS_PER_HOUR};
    let github = fake_github().await;
    let site = site(&github);
    let server = serve(&site, Some(CLIENT_SECRET)).await;
    let http = client();
    let inbox = server.url();
    // One address probing with forged callbacks uses up its own share ...
    let forged = format!("{inbox}/redaktion/callback?code=abc&state=00.99999999999.00");
    for _ in 0..LOGINS_PER_CLIENT_PER_HOUR {
        let (status, _, _) = callback_from(&http, &forged, None, "198.51.100.7").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, page, headers) = callback_from(&http, &forged, None, "198.51.100.7").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("Zu viele Anmeldeversuche"), "{page}");
    assert!(page.contains("authorization:github:error:"), "{page}");
    assert_eq!(
        headers["retry-after"],
        (3600 / LOGINS_PER_CLIENT_PER_HOUR).to_string()
    );
    // ... and then not even a real login from there reaches GitHub,
    let (status, page) = login_from(&http, &inbox, "198.51.100.7").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert_eq!(github.exchanges(), 0);
    assert!(github.tokens().is_empty());
    // ... while the editors elsewhere log in: the forged callbacks cost them nothing.
    for i in 0..LOGINS_PER_HOUR {
        let client = format!("203.0.113.{}", i % 200);
        let (status, page) = login_from(&http, &inbox, &client).await;
        assert_eq!(status, StatusCode::OK, "login {i}: {page}");
    }
    // Everyone together: at most LOGINS_PER_HOUR token exchanges at GitHub per hour.
    let (status, page) = login_from(&http, &inbox, "192.0.2.1").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("ungewöhnlich viele"), "{page}");
    assert_eq!(github.exchanges(), LOGINS_PER_HOUR);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_without_push_access_is_refused_and_its_token_revoked() {
    let github = fake_github().await;
    let site = site(&github);
    let server = serve(&site, Some(CLIENT_SECRET)).await;
    let http = client();
    for (login, says) in [
        (
            "leserin",
            "darf im Repository stadt-musterbach/bekanntmachungen nicht schreiben",
        ),
        (
            "fremder",
            "hat keinen Zugriff auf das Repository stadt-musterbach/bekanntmachungen",
        ),
    ] {
        let (location, cookie) = start_login(&http, &server.url()).await;
        let back = github_approves(&http, &location, login, &server.url()).await;
        let (status, page, _) = callback(&http, &back, Some(&cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{login}: {page}");
        assert!(page.contains("Kein Schreibzugriff"), "{page}");
        assert!(page.contains(says), "{page}");
        assert!(page.contains("authorization:github:error:"), "{page}");
        assert!(page.contains("NO_WRITE_ACCESS"), "{page}");
        let token = github.token_of(login).unwrap();
        assert!(!page.contains(&token), "{login}'s token is in the page");
        assert!(
            github.revoked().contains(&token),
            "{login}'s token was not revoked"
        );
        assert_posts_only_to_the_site(&page);
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_client_secret_the_login_says_so_and_the_inbox_runs_on() {
    let github = fake_github().await;
    let site = site(&github);
    let server = serve(&site, None).await;
    let http = client();
    let r = http
        .get(format!("{}/redaktion/auth?provider=github", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.text().await.unwrap().contains("noch nicht eingerichtet"));
    let r = http.get(format!("{}/", server.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    server.shutdown().await.unwrap();
}

/// The real binary, its secret from the environment, every log level on: after a login that
/// succeeds and one that is refused, stderr holds neither the secret nor a token nor a code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_logs_neither_the_client_secret_nor_a_token() {
    let github = fake_github().await;
    let site = site(&github);
    let log = site.tmp.path().join("inbox.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_aushang"))
        .arg("--root")
        .arg(&site.root)
        .args(["inbox", "serve", "--port", "0", "--data"])
        .arg(site.data_dir())
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .env("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
        .env("AUSHANG_INBOX_PULL_TOKEN", PULL_TOKEN)
        .env("GITHUB_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
        .env("AUSHANG_LOG", "trace")
        .env_remove("AUSHANG_IDENTITY")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let inbox = line
        .trim()
        .strip_prefix("Posteingang läuft unter ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    let http = client();
    let mut codes = Vec::new();
    for (login, expected) in [
        ("redakteurin", StatusCode::OK),
        ("leserin", StatusCode::FORBIDDEN),
    ] {
        let (location, cookie) = start_login(&http, &inbox).await;
        let back = github_approves(&http, &location, login, &inbox).await;
        codes.push(query(&back)["code"].clone());
        let (status, page, _) = callback(&http, &back, Some(&cookie)).await;
        assert_eq!(status, expected, "{login}: {page}");
    }
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("write access to stadt-musterbach/bekanntmachungen confirmed"),
        "{logged}"
    );
    assert!(logged.contains("may not push"), "{logged}");
    let tokens = github.tokens();
    assert_eq!(tokens.len(), 2);
    assert!(
        !logged.contains(CLIENT_SECRET),
        "the client secret is in the log"
    );
    for (token, _) in &tokens {
        assert!(
            !logged.contains(token.as_str()),
            "a token is in the log:\n{logged}"
        );
    }
    for code in &codes {
        assert!(
            !logged.contains(code.as_str()),
            "a code is in the log:\n{logged}"
        );
    }
}
