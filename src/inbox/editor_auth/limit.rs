//! The rate limits of the login callback, kept in the inbox's memory with the sign-up limits
//! (`inbox::memory`, keyed hashes, no address on disk): every callback counts against its client
//! address ([`LOGINS_PER_CLIENT_PER_HOUR`]); a callback with a valid state, which would spend a
//! token exchange at GitHub, also against everyone's [`LOGINS_PER_HOUR`]. A forged-state flood
//! from many addresses therefore cannot use up the editors' shared allowance.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::Timestamp;

use super::super::forms::client_ip;
use super::super::memory::{Memory, MemoryWriter, Refusal, client_bucket};
use super::EditorLogin;
use super::page::Outcome;

pub use super::super::memory::{LOGINS_PER_CLIENT_PER_HOUR, LOGINS_PER_HOUR};

/// The inbox's memory, shared with the sign-up limits.
pub struct LoginLimits {
    pub(super) memory: Arc<Memory>,
    pub(super) writer: Arc<MemoryWriter>,
}

impl LoginLimits {
    pub fn new(memory: Arc<Memory>, writer: Arc<MemoryWriter>) -> LoginLimits {
        LoginLimits { memory, writer }
    }

    /// One callback from `peer` (behind the local proxy: its `X-Forwarded-For`).
    pub(super) fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> Result<(), Refusal> {
        let client = client_bucket(client_ip(peer, headers));
        let allowed = self.memory.allow_login(&client, Timestamp::now());
        self.writer.changed();
        allowed
    }

    /// One token exchange at GitHub.
    pub(super) fn exchange(&self) -> Result<(), Refusal> {
        let allowed = self.memory.allow_login_exchange(Timestamp::now());
        self.writer.changed();
        allowed
    }
}

/// The popup's answer to a refused callback: 429 with `Retry-After`, and the CMS is told.
pub(super) fn refused(login: &EditorLogin, limits: &LoginLimits, refusal: Refusal) -> Response {
    tracing::warn!(
        "editor login refused: too many login callbacks {}",
        if refusal == Refusal::Global {
            "in all this hour"
        } else {
            "from one client address this hour"
        }
    );
    let text = if refusal == Refusal::Global {
        "Gerade melden sich ungewöhnlich viele an. Bitte schließen Sie dieses Fenster und versuchen Sie es in einigen Minuten erneut."
    } else {
        "Von Ihrem Anschluss kamen in der letzten Stunde zu viele Anmeldeversuche. Bitte schließen Sie dieses Fenster und versuchen Sie es später erneut."
    };
    let mut response = login.popup(
        StatusCode::TOO_MANY_REQUESTS,
        Outcome {
            title: "Zu viele Anmeldeversuche",
            text,
            result: Err(("TOO_MANY_REQUESTS", text)),
        },
        true,
    );
    let retry = limits.memory.login_retry_after(refusal).as_secs().max(1);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry));
    response
}
