//! The citizen-facing routes: the sign-up form (`POST /signup`, `GET /signup/stempel`) and the
//! opt-out link (`GET`/`POST /abmelden`, also RFC 8058 one-click).
//!
//! Cheap checks come before the body is read: `Origin`/`Referer`, then the rate limits. An
//! opt-out link waiting in the inbox is not stored again: repeats get the same answer (one
//! stored event per token until the next pull), so a flood cannot bury a real STOP.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;

use super::events::{Envelope, Event, random_id};
use super::memory::client_bucket;
use super::server::{Inbox, store_all};
use super::store::Stored;
use super::{pages, signup};
use crate::config::Config;

pub const FORM_BODY_LIMIT: usize = 16 * 1024;

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

/// The client address: behind the local TLS proxy (peer on loopback) the last `X-Forwarded-For`
/// entry, which the proxy itself appended; otherwise the peer.
pub(super) fn client_ip(peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if peer.ip().is_loopback()
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.ip()
}

fn origin_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
}

/// Whether `origin` (`scheme://host[:port]`) is the site, the inbox itself (its review page), or
/// loopback (a local preview and the tests).
fn origin_ok(config: &Config, origin: &str) -> bool {
    let own = [
        origin_of(&config.base_url),
        config.inbox.as_ref().and_then(|i| origin_of(&i.url)),
    ];
    if own.iter().flatten().any(|o| o == origin) {
        return true;
    }
    reqwest::Url::parse(origin).is_ok_and(|u| {
        u.scheme() == "http" && u.host_str().is_some_and(crate::config::is_loopback_host)
    })
}

/// `Origin` must be an allowed origin (`null` is refused); without `Origin`, `Referer` must be
/// under one. A request with neither (old browsers, privacy tools) passes: the other checks hold.
/// Returns the allowed origin to echo in CORS answers.
pub(super) fn origin_check(config: &Config, headers: &HeaderMap) -> Result<Option<String>, ()> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| ())?.trim();
        return if origin_ok(config, origin) {
            Ok(Some(origin.to_string()))
        } else {
            Err(())
        };
    }
    if let Some(referer) = headers.get(header::REFERER) {
        let referer = referer.to_str().map_err(|_| ())?;
        return match origin_of(referer) {
            Some(o) if origin_ok(config, &o) => Ok(None),
            _ => Err(()),
        };
    }
    Ok(None)
}

fn wrong_origin(config: &Config) -> Response {
    html(StatusCode::FORBIDDEN, pages::wrong_origin(config))
}

fn with_retry(mut r: Response, retry: std::time::Duration) -> Response {
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry.as_secs().max(1)),
    );
    r
}

/// `GET /signup/stempel`: a server-signed time stamp for the form (fetched by its script when
/// the page loads). CORS allows the site to read it.
pub(super) async fn stamp_get(State(state): State<Arc<Inbox>>, headers: HeaderMap) -> Response {
    let Ok(origin) = origin_check(&state.config, &headers) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let stamp = signup::form_stamp(&state.form_key, Timestamp::now());
    let mut r = axum::Json(serde_json::json!({ "stempel": stamp })).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    r
}

pub(super) async fn signup_post(
    State(state): State<Arc<Inbox>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let config = &state.config;
    if origin_check(config, &headers).is_err() {
        return wrong_origin(config);
    }
    let client = client_bucket(client_ip(peer, &headers));
    let allowed = state.memory.allow_signup(&client, Timestamp::now());
    state.writer.changed();
    if let Err(refusal) = allowed {
        return with_retry(
            html(
                StatusCode::TOO_MANY_REQUESTS,
                pages::signup_limit(config, refusal),
            ),
            state.memory.retry_after(refusal),
        );
    }
    let body = match state.budget.read(&headers, body, FORM_BODY_LIMIT).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let form = signup::SignupForm::parse(&body);
    let now = Timestamp::now();
    let mut unused = |tag: &str| state.used_stamps.first_use(tag, now);
    match signup::decide(&form, config, &state.form_key, now, &mut unused) {
        signup::Decision::Accept(event @ Event::EmailSignup { .. }) => {
            super::email_signup::accept(&state, event, now).await
        }
        signup::Decision::Accept(event) => {
            if let Event::Signup { address, .. } = &event
                && let Err(refusal) = state.memory.allow_number(address, now)
            {
                state.writer.changed();
                return with_retry(
                    html(
                        StatusCode::TOO_MANY_REQUESTS,
                        pages::signup_limit(config, refusal),
                    ),
                    state.memory.retry_after(refusal),
                );
            }
            state.writer.changed();
            let envelope = Envelope {
                id: random_id(),
                received_at: now,
                event,
            };
            match store_all(&state, vec![envelope]).await {
                Ok(_) => html(StatusCode::OK, pages::signup_received(config)),
                Err(status) => html(
                    status,
                    pages::invalid(
                        config,
                        &["Ein technischer Fehler ist aufgetreten. Bitte versuchen Sie es später noch einmal.".into()],
                    ),
                ),
            }
        }
        signup::Decision::Honeypot if form.wants_email() => html(
            StatusCode::OK,
            super::email_signup::honeypot_page(config, &form.email),
        ),
        signup::Decision::Honeypot => html(StatusCode::OK, pages::signup_received(config)),
        signup::Decision::Review { stamp } => {
            let masked = form.masked_address();
            html(
                StatusCode::OK,
                pages::review(config, &form, &stamp, &masked),
            )
        }
        signup::Decision::Invalid(problems) => {
            html(StatusCode::BAD_REQUEST, pages::invalid(config, &problems))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    t: Option<String>,
}

pub(super) async fn optout_get(
    State(state): State<Arc<Inbox>>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let config = &state.config;
    match (&state.secrets.token_secret, q.t) {
        (Some(secret), Some(t))
            if crate::subscribers::optout::verify(secret.as_bytes(), &t).is_some() =>
        {
            html(StatusCode::OK, pages::optout_confirm(config, &t))
        }
        _ => html(StatusCode::BAD_REQUEST, pages::optout_invalid(config)),
    }
}

/// The prefix of the event ids of one subscriber's opt-out link events: a keyed hash of the
/// subscriber id (no personal data, and not linkable without the inbox's memory key).
fn optout_prefix(state: &Inbox, subscriber: &str) -> String {
    format!("w-{}", &state.memory.tag("optout-link", subscriber)[..16])
}

pub(super) async fn optout_post(
    State(state): State<Arc<Inbox>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let config = &state.config;
    let client = client_bucket(client_ip(peer, &headers));
    let allowed = state.memory.allow_optout(&client, Timestamp::now());
    state.writer.changed();
    if !allowed {
        return with_retry(
            html(
                StatusCode::TOO_MANY_REQUESTS,
                pages::optout_too_many(config),
            ),
            state.memory.optout_retry_after(),
        );
    }
    let body = match state.budget.read(&headers, body, FORM_BODY_LIMIT).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // RFC 8058: the token is in the URI and the body is `List-Unsubscribe=One-Click`; the
    // confirmation page posts it as a form field instead.
    let token = q.t.or_else(|| {
        form_urlencoded::parse(&body)
            .find(|(k, _)| k == "t")
            .map(|(_, v)| v.into_owned())
    });
    let subscriber = match (&state.secrets.token_secret, token) {
        (Some(secret), Some(t)) => crate::subscribers::optout::verify(secret.as_bytes(), &t),
        _ => None,
    };
    let Some(subscriber) = subscriber else {
        return html(StatusCode::BAD_REQUEST, pages::optout_invalid(config));
    };
    let now = Timestamp::now();
    let prefix = optout_prefix(&state, &subscriber);
    let envelope = Envelope {
        id: format!("{prefix}{:08x}", rand::random::<u32>()),
        received_at: now,
        event: Event::LinkUnsubscribe {
            at: now,
            subscriber,
        },
    };
    let store = state.store.clone();
    let stored =
        tokio::task::spawn_blocking(move || store.put_unless_waiting(&envelope, &prefix)).await;
    match stored {
        Ok(Ok(Stored::New | Stored::Duplicate)) => html(StatusCode::OK, pages::optout_done(config)),
        Ok(Err(e)) => {
            tracing::error!("ein Ereignis lässt sich nicht speichern: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(e) => {
            tracing::error!("das Speichern der Ereignisse ist abgebrochen: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text =
            "title: T\nbase_url: https://www.t.example/\ninbox:\n  url: https://inbox.t.example/\n";
        crate::config::parse(
            std::path::Path::new("/"),
            std::path::Path::new("aushang.yaml"),
            text,
        )
        .unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn origin_and_referer_must_be_the_site_the_inbox_or_loopback() {
        let c = config();
        for ok in [
            "https://www.t.example",
            "https://inbox.t.example",
            "http://127.0.0.1:8080",
            "http://localhost:4000",
        ] {
            assert!(
                origin_check(&c, &headers(&[("origin", ok)])).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "https://evil.example",
            "null",
            "http://www.t.example",
            "https://www.t.example.evil.example",
        ] {
            assert!(
                origin_check(&c, &headers(&[("origin", bad)])).is_err(),
                "{bad}"
            );
        }
        assert!(
            origin_check(
                &c,
                &headers(&[("referer", "https://www.t.example/anmelden/")])
            )
            .is_ok()
        );
        assert!(
            origin_check(
                &c,
                &headers(&[("referer", "https://evil.example/anmelden/")])
            )
            .is_err()
        );
        assert!(
            origin_check(&c, &HeaderMap::new()).is_ok(),
            "neither: passes"
        );
    }
}
