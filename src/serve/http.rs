//! The preview's web server: the built site from the preview folder, with a small reload script
//! and a preview banner added to every HTML page as it is sent (the files themselves stay exactly
//! as `aushang build` writes them); the reload events; the broadcast previews; and the error page
//! in place of every page while the site cannot be built.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use tokio::sync::watch;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::serve::pages::{PREVIEW_PREFIX, Pages};
use crate::serve::rebuild::Snapshot;

/// Where the reload events are sent (server-sent events).
pub const EVENTS_PATH: &str = "/_aushang/events";
/// The reload script; its name is what tests look for to prove `build` output never has it.
pub const SCRIPT_PATH: &str = "/_aushang/live.js";
const LIVE_JS: &str = include_str!("live.js");
/// The banner's style sheet; separate so that the banner works with any theme.
pub const STYLE_PATH: &str = "/_aushang/vorschau.css";
const STYLE_CSS: &str = include_str!("vorschau.css");
/// Largest HTML page the server rewrites; bigger ones are sent unchanged (no reload, no banner).
const MAX_INJECT_BYTES: usize = 32 << 20;

/// State shared by the rebuild thread and the request handlers.
pub struct Shared {
    out_dir: PathBuf,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Counts rebuilds that changed something, with what they changed; open tabs reload when
    /// it moves and their page is among the changed ones.
    generation: watch::Sender<Announcement>,
    pages: Pages,
}

/// What the reload events say: `{"generation": 7, "paths": ["/", "/atom.xml"]}`; `paths` is
/// `null` when every page may have changed (configuration, templates, errors).
#[derive(Debug, Clone, Default)]
pub struct Announcement {
    pub generation: u64,
    pub paths: Option<Arc<Vec<String>>>,
}

impl Announcement {
    fn to_json(&self) -> String {
        #[derive(serde::Serialize)]
        struct Wire<'a> {
            generation: u64,
            paths: Option<&'a [String]>,
        }
        let wire = Wire {
            generation: self.generation,
            paths: self.paths.as_deref().map(Vec::as_slice),
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }
}

/// Which open tabs must reload after a rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    Nothing,
    /// Site paths (`/a/b/`) whose files changed.
    Paths(Vec<String>),
    Everything,
}

/// More changed files than this and every tab simply reloads.
const MAX_ANNOUNCED_PATHS: usize = 2000;

impl Shared {
    pub fn new(out_dir: PathBuf, first: Snapshot) -> Self {
        Shared {
            out_dir,
            snapshot: RwLock::new(Arc::new(first)),
            generation: watch::Sender::new(Announcement {
                generation: 1,
                paths: None,
            }),
            pages: Pages::new(),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn generation(&self) -> u64 {
        self.generation.borrow().generation
    }

    /// Publishes a rebuild and tells open tabs what changed.
    pub fn publish(&self, snap: Snapshot, reload: Reload) {
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snap);
        self.announce(reload);
    }

    /// Tells open tabs about changed files.
    pub fn announce(&self, reload: Reload) {
        let paths = match reload {
            Reload::Nothing => return,
            Reload::Paths(p) if p.is_empty() => return,
            Reload::Paths(p) if p.len() <= MAX_ANNOUNCED_PATHS => Some(Arc::new(p)),
            Reload::Paths(_) | Reload::Everything => None,
        };
        self.generation.send_modify(|a| {
            a.generation += 1;
            a.paths = paths;
        });
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(EVENTS_PATH, get(events))
        .route(SCRIPT_PATH, get(live_js))
        .route(STYLE_PATH, get(style_css))
        .route(&format!("{PREVIEW_PREFIX}/"), get(preview_index))
        .route(&format!("{PREVIEW_PREFIX}/{{*path}}"), get(preview))
        .fallback(site)
        .layer(axum::middleware::map_response(no_store))
        .with_state(shared)
}

/// A preview must never show a cached, outdated page.
async fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn live_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        LIVE_JS,
    )
        .into_response()
}

async fn style_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLE_CSS,
    )
        .into_response()
}

/// Sends the current generation at once (without paths: a tab that missed a rebuild reloads) and
/// then every announcement.
async fn events(
    State(shared): State<Arc<Shared>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = shared.generation.subscribe();
    let stream = futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let mut announcement = rx.borrow_and_update().clone();
        if first {
            announcement.paths = None;
        }
        let data = announcement.to_json();
        let event = Event::default().event("generation").data(data);
        Some((Ok(event), (rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn preview_index(State(shared): State<Arc<Shared>>) -> Response {
    let snap = shared.snapshot();
    let html = shared.pages.preview_index(&snap);
    html_page(StatusCode::OK, &html, &shared, None)
}

async fn preview(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let snap = shared.snapshot();
    let notice_path = req
        .uri()
        .path()
        .strip_prefix(PREVIEW_PREFIX)
        .unwrap_or("/")
        .to_string();
    match shared.pages.preview(&snap, &notice_path) {
        Some(html) => html_page(StatusCode::OK, &html, &shared, None),
        None => {
            let html = shared.pages.preview_index(&snap);
            html_page(StatusCode::NOT_FOUND, &html, &shared, None)
        }
    }
}

/// The built site, or the error page while the last rebuild failed.
///
/// With a sub-path `base_url` (`https://org.github.io/repo/`) the site is served below that path
/// (`/repo/…`), as on the real host, so that its links work and a link that leaves the prefix
/// shows up in the preview too: `/` redirects there, other paths outside it are not found.
async fn site(State(shared): State<Arc<Shared>>, mut req: Request) -> Response {
    let snap = shared.snapshot();
    let base = base_path_of(&snap);
    let path = req.uri().path().to_string();
    let Some(site_path) = site_path_of(&path, &base) else {
        if path == "/" || format!("{path}/") == base {
            return (
                StatusCode::FOUND,
                [(header::LOCATION, base.clone())],
                format!("Die Website liegt unter {base}"),
            )
                .into_response();
        }
        let html = format!(
            "<!DOCTYPE html><html lang=\"de\"><title>Nicht gefunden</title><p>{path} liegt außerhalb \
             der Website: base_url in aushang.yaml hat den Pfad {base}. <a href=\"{base}\">Zur Website</a></p></html>"
        );
        return html_page(StatusCode::NOT_FOUND, &html, &shared, None);
    };
    if let Err(problems) = &snap.result
        && is_page(&site_path)
    {
        let html = shared.pages.problems(problems);
        return html_page(StatusCode::INTERNAL_SERVER_ERROR, &html, &shared, None);
    }
    if base != "/" {
        let rewritten = match req.uri().query() {
            Some(q) => format!("{site_path}?{q}"),
            None => site_path.clone(),
        };
        if let Ok(uri) = rewritten.parse() {
            *req.uri_mut() = uri;
        }
    }
    let files = ServeDir::new(&shared.out_dir)
        .not_found_service(ServeFile::new(shared.out_dir.join("404.html")));
    let res = match files.oneshot(req).await {
        Ok(res) => res.map(Body::new),
        Err(never) => match never {},
    };
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return prefix_redirect(res, &base);
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_INJECT_BYTES).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Seite zu groß für die Vorschau",
        )
            .into_response();
    };
    let page_path = site_path.strip_suffix("index.html").unwrap_or(&site_path);
    let notice = snap
        .notice_at(page_path)
        .map(|n| format!("{PREVIEW_PREFIX}{}", n.path));
    let html = inject(
        &String::from_utf8_lossy(&bytes),
        shared.generation(),
        notice.as_deref(),
    );
    let html = with_base(html, &base);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::ETAG);
    parts.headers.remove(header::LAST_MODIFIED);
    Response::from_parts(parts, Body::from(html))
}

/// The base path of the site's `base_url` (`/` while aushang.yaml cannot be read).
fn base_path_of(snap: &Snapshot) -> String {
    snap.config
        .as_deref()
        .map_or_else(|| "/".to_string(), |c| c.base_path().to_string())
}

/// The site path a request path names (`/repo/archiv/` → `/archiv/` below base path `/repo/`),
/// or `None` when the request is outside the base path.
pub fn site_path_of(path: &str, base: &str) -> Option<String> {
    path.strip_prefix(base).map(|rest| format!("/{rest}"))
}

/// The file server redirects `/a` to `/a/` by the path it was given: put the base path back.
fn prefix_redirect(mut res: Response, base: &str) -> Response {
    if base == "/" || !res.status().is_redirection() {
        return res;
    }
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| crate::site::base_path::prefix_url(l, base));
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(header::LOCATION, value);
    }
    res
}

/// Tells the reload script the base path, so that it compares its page's site path with the
/// site paths a rebuild announces.
fn with_base(html: String, base: &str) -> String {
    if base == "/" {
        return html;
    }
    html.replacen(
        &format!("<script src=\"{SCRIPT_PATH}\""),
        &format!("<script src=\"{SCRIPT_PATH}\" data-base=\"{base}\""),
        1,
    )
}

fn html_page(status: StatusCode, html: &str, shared: &Shared, preview: Option<&str>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        inject(html, shared.generation(), preview),
    )
        .into_response()
}

/// Whether a request is for a page (shown as the error page while the build is broken) rather
/// than a style sheet, image or document, which are still served from the last good build.
fn is_page(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    last.is_empty() || last.ends_with(".html") || !last.contains('.')
}

/// Adds the banner's style sheet before `</head>`, and the preview banner and the reload script
/// before `</body>`.
pub fn inject(html: &str, generation: u64, preview: Option<&str>) -> String {
    let link = match preview {
        Some(href) => {
            format!(" <a href=\"{href}\">WhatsApp-Nachricht zu dieser Bekanntmachung</a> ·")
        }
        None => String::new(),
    };
    let style = format!("<link rel=\"stylesheet\" href=\"{STYLE_PATH}\">\n");
    let banner = format!(
        "<aside aria-label=\"Vorschau\" class=\"aushang-vorschau\">Lokale Vorschau (aushang serve) ·{link} \
         <a href=\"{PREVIEW_PREFIX}/\">Alle Nachrichten</a></aside>\n\
         <script src=\"{SCRIPT_PATH}\" data-generation=\"{generation}\"></script>\n"
    );
    let lower = html.to_ascii_lowercase();
    let body_end = lower.rfind("</body>").unwrap_or(html.len());
    let head_end = lower.find("</head>").filter(|&h| h < body_end);
    let mut out = String::with_capacity(html.len() + style.len() + banner.len());
    match head_end {
        Some(h) => {
            out.push_str(&html[..h]);
            out.push_str(&style);
            out.push_str(&html[h..body_end]);
        }
        None => out.push_str(&html[..body_end]),
    }
    out.push_str(&banner);
    out.push_str(&html[body_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_and_script_go_before_the_end_of_body() {
        let html = inject(
            "<html><head><title>t</title></head><body><p>x</p></BODY></html>",
            7,
            Some("/_vorschau/a/"),
        );
        let script = html.find(SCRIPT_PATH).unwrap();
        assert!(script < html.find("</BODY>").unwrap());
        assert!(html.find("<p>x</p>").unwrap() < html.find("<aside").unwrap());
        assert!(html.contains("data-generation=\"7\""));
        assert!(html.contains("href=\"/_vorschau/a/\""));
        assert!(html.find(STYLE_PATH).unwrap() < html.find("</head>").unwrap());
        // A page without </body> still gets it, at the end.
        assert!(inject("<p>kaputt", 1, None).ends_with("</script>\n"));
    }

    #[test]
    fn pages_are_told_apart_from_files() {
        assert!(is_page("/"));
        assert!(is_page("/bekanntmachungen/2026/x/"));
        assert!(is_page("/bekanntmachungen/2026/x"));
        assert!(is_page("/404.html"));
        assert!(!is_page("/style.1234.css"));
        assert!(!is_page("/dokumente/a.pdf"));
    }
}
