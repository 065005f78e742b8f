//! The settings that decide where the access token and every number go, and whether STOP still
//! works: checked strictly, because a pull request can change `aushang.yaml`.
//!
//! * `api_url` and `inbox.url` use `https://`; only a loopback address (`127.0.0.1`, `localhost`,
//!   `[::1]`: a fake on the same machine, in tests) may use `http://`.
//! * `api_url` points at Meta's `graph.facebook.com` (or loopback) unless the channel says
//!   `allow_custom_api_host: true`, which a reviewer cannot overlook.
//! * `inbox.stop_words` is never empty and always holds STOP (what WhatsApp users are told to
//!   write): an error names the missing word rather than aushang adding it behind the admin's back.

use reqwest::Url;

use super::{InboxConfig, WhatsAppConfig};
use crate::diagnostics::Problem;

/// Meta's Graph API host, the only one `api_url` may name without `allow_custom_api_host`.
pub const GRAPH_API_HOST: &str = "graph.facebook.com";
/// The word that always unsubscribes.
const STOP: &str = "stop";

/// Every problem of the security-relevant settings; `at_key` points a message at its key.
pub(super) fn check(
    whatsapp: Option<&WhatsAppConfig>,
    inbox: Option<&InboxConfig>,
    at_key: &dyn Fn(&str, String) -> Problem,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(w) = whatsapp {
        let what = "das Zugangs-Token und jede Nummer der Abonnenten";
        match parse(&w.api_url) {
            None => problems.push(
                at_key(
                    "api_url",
                    format!("api_url `{}` ist keine vollständige Adresse", w.api_url),
                )
                .with_hint(format!(
                    "die Voreinstellung ist https://{GRAPH_API_HOST}/v25.0"
                )),
            ),
            Some(url) => {
                problems.extend(https_only("api_url", &url, what, at_key));
                if !is_loopback(&url)
                    && url.host_str() != Some(GRAPH_API_HOST)
                    && !w.allow_custom_api_host
                {
                    problems.push(
                        at_key(
                            "api_url",
                            format!(
                                "api_url `{url}` ist nicht {GRAPH_API_HOST} von Meta: {what} gingen an {}",
                                url.host_str().unwrap_or("einen anderen Rechner")
                            ),
                        )
                        .with_hint(format!(
                            "api_url entfernen, dann gilt https://{GRAPH_API_HOST}/v25.0; ein selbst betriebener Proxy braucht daneben `allow_custom_api_host: true`"
                        )),
                    );
                }
            }
        }
    }
    if let Some(inbox) = inbox {
        match parse(&inbox.url) {
            None => problems.push(
                at_key(
                    "url",
                    format!("inbox.url `{}` ist keine vollständige Adresse", inbox.url),
                )
                .with_hint("mit https:// schreiben, z. B. https://inbox.musterbach.de/"),
            ),
            Some(url) => problems.extend(https_only(
                "url",
                &url,
                "das Abruf-Token, das Anmeldeformular und die Abmelde-Links",
                at_key,
            )),
        }
        let words: Vec<String> = inbox
            .stop_words
            .iter()
            .map(|w| w.trim().to_lowercase())
            .collect();
        if words.is_empty() {
            problems.push(
                at_key(
                    "stop_words",
                    "stop_words ist leer: niemand könnte sich mit STOP abmelden".into(),
                )
                .with_hint("stop_words entfernen (dann gelten die Voreinstellungen) oder mindestens STOP aufführen"),
            );
        } else if !words.iter().any(|w| w == STOP) {
            problems.push(
                at_key(
                    "stop_words",
                    "in stop_words fehlt STOP: den Leuten wird gesagt, dass STOP sie abmeldet, also muss es immer wirken".into(),
                )
                .with_hint("stop ergänzen, z. B. stop_words: [stop, stopp, abmelden]"),
            );
        }
    }
    problems
}

fn parse(text: &str) -> Option<Url> {
    Url::parse(text.trim())
        .ok()
        .filter(|u| u.host_str().is_some())
}

/// Loopback: the same machine (a test fake), so plain `http://` cannot leak anything.
fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(is_loopback_host)
}

/// `localhost`, `127.x.x.x` or `::1` (brackets allowed): the one rule every http exception uses.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn https_only(
    key: &str,
    url: &Url,
    what: &str,
    at_key: &dyn Fn(&str, String) -> Problem,
) -> Option<Problem> {
    match url.scheme() {
        "https" => None,
        "http" if is_loopback(url) => None,
        scheme => Some(
            at_key(
                key,
                format!("{key} `{url}` verwendet {scheme}://: {what} würden unverschlüsselt übertragen"),
            )
            .with_hint(
                "https:// verwenden (nur 127.0.0.1, localhost oder [::1] dürfen http:// verwenden, für Tests)",
            ),
        ),
    }
}
