//! The e-mail sign-up (double opt-in): the form's e-mail choice, the confirmation mail the inbox
//! server sends at once, and the link that confirms (`GET`/`POST /bestaetigen`).
//!
//! The server sends the mail itself, right after the sign-up is stored: the person gets it within
//! seconds (a scheduled pull may run only hourly, and GitHub delays or skips scheduled runs), the
//! address never has to wait anywhere for a later step, and the person is told at once when the
//! mail could not be sent. The cost is one more secret on the inbox host (`SMTP_PASSWORD`, when
//! the SMTP server needs a login); the scheduled `inbox-sync` sends nothing for e-mail.
//!
//! The link is `<inbox.url>/bestaetigen?t=<sign-up event id>.<expiry>.<tag>`: the id is random
//! (no personal data), the tag a 128-bit HMAC with the installation's memory key (`memory.key`,
//! never leaves the server), so a token cannot be forged or its expiry moved. A `GET` only shows
//! a page with a button (mail scanners open links); the `POST` stores an `EmailConfirm` event
//! whose id is derived from the sign-up's, so a second use is a duplicate the store refuses (and
//! the pull would not apply twice). The link is valid [`LINK_VALID`], less than the store
//! remembers acknowledged ids ([`super::store::REMEMBER_ACKED`]), so a used link stays used.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::email_pages as pages;
use super::events::{Envelope, Event, is_event_id, random_id};
use super::forms::FORM_BODY_LIMIT;
use super::memory::{Memory, Refusal};
use super::server::{Inbox, store_all};
use super::store::Stored;
use crate::config::Config;
use crate::providers::email::{EmailSettings, SmtpPool, send_single};
use crate::subscribers::{address, mask};

/// How long a confirmation link works.
pub const LINK_VALID: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The form's value of `kanal` for the e-mail choice.
pub const CHANNEL_EMAIL: &str = "email";

/// Sends the confirmation mails: the site's `broadcast.channels.email` settings and the SMTP
/// password the command's edge read.
pub struct Mailer {
    settings: EmailSettings,
    pool: SmtpPool,
}

impl Mailer {
    /// `None` when the e-mail channel is not configured, or needs a login and `password` is
    /// missing (then e-mail sign-ups are answered "not possible right now", and the log says why).
    pub fn from_config(config: &Config, password: Option<String>) -> Option<Mailer> {
        let email = config.broadcast.channels.email.clone()?;
        if email.username.is_some() && password.is_none() {
            tracing::warn!(
                "{} ist nicht gesetzt: E-Mail-Anmeldungen werden abgelehnt, bis es gesetzt ist (der SMTP-Server verlangt eine Anmeldung)",
                crate::providers::email::PASSWORD_ENV
            );
            return None;
        }
        let settings = EmailSettings {
            config: email,
            password,
            inbox_url: None,
            token_secret: None,
            site_title: config.title.clone(),
        };
        Some(Mailer {
            pool: SmtpPool::new(settings.clone()),
            settings,
        })
    }
}

/// Whether the form offers the e-mail choice: the site has an e-mail channel.
pub fn offered(config: &Config) -> bool {
    config.broadcast.channels.email.is_some()
}

/// The normalised e-mail address of a form that chose e-mail, else `None` with the problem
/// (German, without the address) added to `problems`.
pub fn check_address(raw: &str, config: &Config, problems: &mut Vec<String>) -> Option<String> {
    if !offered(config) {
        problems.push(
            "Die Anmeldung per E-Mail ist hier nicht eingerichtet. Bitte wählen Sie WhatsApp."
                .into(),
        );
        return None;
    }
    if raw.trim().is_empty() {
        problems.push("Bitte geben Sie Ihre E-Mail-Adresse an.".into());
        return None;
    }
    match address::normalize_email(raw) {
        Ok(a) => Some(a),
        Err(_) => {
            problems.push(
                "Diese E-Mail-Adresse ist ungültig. Bitte prüfen Sie sie (Beispiel: name@beispiel.de)."
                    .into(),
            );
            None
        }
    }
}

// ---- the link ------------------------------------------------------------------------------------

/// What a link's token turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Token {
    /// Genuine and not expired: the sign-up's event id.
    Valid(String),
    Expired,
    /// Malformed or forged.
    Invalid,
}

fn tag(memory: &Memory, signup: &str, expires: i64) -> String {
    memory.tag("email-confirm", &format!("{signup}.{expires}"))
}

/// The token for the sign-up with event id `signup`, valid until `expires`.
pub fn make_token(memory: &Memory, signup: &str, expires: Timestamp) -> String {
    let expires = expires.as_second();
    format!("{signup}.{expires}.{}", tag(memory, signup, expires))
}

/// Checks a token (the tag in constant time, then the expiry against `now`).
pub fn check_token(memory: &Memory, token: &str, now: Timestamp) -> Token {
    let mut parts = token.trim().split('.');
    let (Some(signup), Some(expires), Some(given), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Token::Invalid;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return Token::Invalid;
    };
    if !(is_event_id(signup) && signup.starts_with("w-")) {
        return Token::Invalid;
    }
    let expected = tag(memory, signup, expires);
    if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        return Token::Invalid;
    }
    if now.as_second() > expires {
        return Token::Expired;
    }
    Token::Valid(signup.to_string())
}

/// The id of the confirmation of sign-up `signup`: the same for every use of its link.
pub fn confirm_id(signup: &str) -> String {
    let digest = Sha256::digest(format!("email-confirm:{signup}").as_bytes());
    format!("w-{}", hex::encode(&digest[..12]))
}

/// The full confirmation URL under the inbox's public URL.
pub fn link(config: &Config, token: &str) -> String {
    let base = config.inbox.as_ref().map(|i| i.url.as_str()).unwrap_or("");
    format!("{}/bestaetigen?t={token}", base.trim_end_matches('/'))
}

// ---- the routes ----------------------------------------------------------------------------------

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    let h = r.headers_mut();
    // The token is in the URL of these pages: never in a Referer, never in a cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn with_retry(mut r: Response, retry: std::time::Duration) -> Response {
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry.as_secs().max(1)),
    );
    r
}

/// An accepted e-mail sign-up (the form's checks and the per-client limit passed): the
/// per-address limit, then the event is stored, then the confirmation mail is sent.
pub(super) async fn accept(state: &Arc<Inbox>, event: Event, now: Timestamp) -> Response {
    let config = &state.config;
    let Event::EmailSignup { address, .. } = &event else {
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::unavailable(config),
        );
    };
    let address = address.clone();
    let Some(mailer) = state.mailer.clone() else {
        return html(StatusCode::SERVICE_UNAVAILABLE, pages::unavailable(config));
    };
    // The same limit as for a number: at most a few sign-ups, so mails, per address and day.
    let allowed = state.memory.allow_number(&address, now);
    state.writer.changed();
    if let Err(refusal) = allowed {
        return with_retry(
            html(StatusCode::TOO_MANY_REQUESTS, pages::limit(config, refusal)),
            state.memory.retry_after(refusal),
        );
    }
    let id = random_id();
    let envelope = Envelope {
        id: id.clone(),
        received_at: now,
        event,
    };
    // Stored before the mail goes out: a link never points to a sign-up that is not on disk.
    if let Err(status) = store_all(state, vec![envelope]).await {
        return html(status, pages::unavailable(config));
    }
    let token = make_token(&state.memory, &id, now + LINK_VALID);
    let masked = mask(&address);
    let mail = match pages::confirmation_mail(
        config,
        &mailer.settings,
        &address,
        &id,
        &link(config, &token),
    ) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("die Bestätigungsmail an {masked} lässt sich nicht erstellen: {e}");
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::unavailable(config),
            );
        }
    };
    match send_single(&mailer.pool, &mail).await {
        Ok(_) => {
            tracing::info!("Bestätigungsmail an {masked} gesendet (Anmeldung {id})");
            html(StatusCode::OK, pages::received(config, &masked))
        }
        // `detail` has every address masked by the SMTP client.
        Err((true, detail)) => {
            tracing::error!(
                "Bestätigungsmail an {masked} (Anmeldung {id}) abgelehnt: {detail}; \
                 broadcast.channels.email und {} prüfen",
                crate::providers::email::PASSWORD_ENV
            );
            html(StatusCode::SERVICE_UNAVAILABLE, pages::not_sent(config))
        }
        Err((false, detail)) => {
            tracing::warn!(
                "Bestätigungsmail an {masked} (Anmeldung {id}) nicht zugestellt: {detail}"
            );
            html(StatusCode::SERVICE_UNAVAILABLE, pages::not_sent(config))
        }
    }
}

#[derive(serde::Deserialize)]
pub(super) struct TokenQuery {
    t: Option<String>,
}

fn refusal_page(config: &Config, token: Token) -> Response {
    match token {
        Token::Expired => html(StatusCode::GONE, pages::expired(config)),
        _ => html(StatusCode::BAD_REQUEST, pages::invalid_link(config)),
    }
}

/// `GET /bestaetigen?t=…`: a page with the button; never confirms (mail scanners open links).
pub(super) async fn confirm_get(
    State(state): State<Arc<Inbox>>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let config = &state.config;
    let token = q.t.unwrap_or_default();
    match check_token(&state.memory, &token, Timestamp::now()) {
        Token::Valid(_) => html(StatusCode::OK, pages::confirm_page(config, &token)),
        other => refusal_page(config, other),
    }
}

/// `POST /bestaetigen`: the button (token as form field `t`, or in the URI). Stores the
/// confirmation once; a second use is refused. Each genuine token stores at most one event, so
/// no further limit is needed here.
pub(super) async fn confirm_post(
    State(state): State<Arc<Inbox>>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let config = &state.config;
    let body = match state.budget.read(&headers, body, FORM_BODY_LIMIT).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let token =
        q.t.or_else(|| {
            form_urlencoded::parse(&body)
                .find(|(k, _)| k == "t")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    let now = Timestamp::now();
    let signup = match check_token(&state.memory, &token, now) {
        Token::Valid(signup) => signup,
        other => return refusal_page(config, other),
    };
    let envelope = Envelope {
        id: confirm_id(&signup),
        received_at: now,
        event: Event::EmailConfirm { at: now, signup },
    };
    match store_all(&state, vec![envelope]).await {
        Ok(stored) if stored.iter().all(|(_, s)| *s == Stored::New) => {
            html(StatusCode::OK, pages::confirmed(config))
        }
        Ok(_) => html(StatusCode::GONE, pages::used(config)),
        Err(status) => html(status, pages::unavailable(config)),
    }
}

/// The answer to a form that chose e-mail and hit the honeypot: the same as a real one.
pub fn honeypot_page(config: &Config, raw_address: &str) -> String {
    let masked = address::normalize_email(raw_address)
        .map(|a| mask(&a))
        .unwrap_or_default();
    pages::received(config, &masked)
}

/// The limits' answer when `refusal` refused an e-mail sign-up.
pub fn limit_page(config: &Config, refusal: Refusal) -> String {
    pages::limit(config, refusal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_the_sign_up_and_the_expiry_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let memory = Memory::open(dir.path(), 10, 60).unwrap();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let id = random_id();
        let t = make_token(&memory, &id, now + LINK_VALID);
        assert_eq!(check_token(&memory, &t, now), Token::Valid(id.clone()));
        let later = now + LINK_VALID + SignedDuration::from_secs(1);
        assert_eq!(check_token(&memory, &t, later), Token::Expired);
        // A longer life written into the token breaks the tag.
        let (head, tag) = t.rsplit_once('.').unwrap();
        let (sid, exp) = head.split_once('.').unwrap();
        let moved = format!("{sid}.{}.{tag}", exp.parse::<i64>().unwrap() + 86_400);
        assert_eq!(check_token(&memory, &moved, later), Token::Invalid);
        let other = format!("{}.{exp}.{tag}", random_id());
        assert_eq!(check_token(&memory, &other, now), Token::Invalid);
        for bad in ["", "x", "w-1.2.3", &format!("{t}.x"), "../etc.1.00"] {
            assert_eq!(check_token(&memory, bad, now), Token::Invalid, "{bad}");
        }
        // Another installation's key (another memory.key) does not accept it.
        let dir2 = tempfile::tempdir().unwrap();
        let memory2 = Memory::open(dir2.path(), 10, 60).unwrap();
        assert_eq!(check_token(&memory2, &t, now), Token::Invalid);
    }

    #[test]
    fn a_used_link_stays_used_for_its_whole_life() {
        assert!(LINK_VALID < super::super::store::REMEMBER_ACKED);
        let id = random_id();
        assert_eq!(confirm_id(&id), confirm_id(&id));
        assert_ne!(confirm_id(&id), confirm_id(&random_id()));
        assert!(is_event_id(&confirm_id(&id)));
    }
}
