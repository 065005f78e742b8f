//! The WhatsApp error table (§3.3 of the API contract) as code: every answer is classified by
//! `error.code` into retry (with a backoff schedule), permanent for one recipient, or fatal for the run.

use std::fmt;
use std::time::Duration;

mod scrub;
pub use scrub::scrub;

use crate::delivery::errors::{Backoff, ErrorClass, Scope};

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Graph API rate limits (4, 80007): start around a minute, the limits roll over an hour.
const GRAPH_LIMIT: Backoff = Backoff::Exponential {
    base: secs(60),
    cap: secs(900),
};
/// Service unavailable (131016, 2, 133004): 8 s doubling up to 5 min.
const SERVICE_DOWN: Backoff = Backoff::Exponential {
    base: secs(8),
    cap: secs(300),
};
/// 130429: retry after 1 s, 2 s, 4 s…
const THROUGHPUT: Backoff = Backoff::Exponential {
    base: secs(1),
    cap: secs(60),
};
/// 131057 maintenance (e.g. a throughput upgrade): 60–120 s.
const MAINTENANCE: Backoff = Backoff::Exponential {
    base: secs(60),
    cap: secs(120),
};

/// The throughput-limit code: the caller should also lower its send rate.
pub const THROUGHPUT_CODE: i64 = 130429;

/// Classifies one error answer. Rule from the contract: a 429 or 5xx without a parseable code is
/// retryable; everything else goes by `code`. Unknown codes on other statuses are fatal: stopping
/// costs one rerun, guessing wrong could send 100,000 broken requests.
pub fn classify(code: Option<i64>, http_status: u16, details: Option<&str>) -> ErrorClass {
    use ErrorClass::*;
    use Scope::*;
    let Some(code) = code else {
        return match http_status {
            429 => Retry {
                scope: RunWide,
                backoff: THROUGHPUT,
            },
            500..=599 => Retry {
                scope: Recipient,
                backoff: Backoff::Exponential {
                    base: secs(2),
                    cap: secs(120),
                },
            },
            _ => Fatal,
        };
    };
    match code {
        // authentication, permissions, account state, billing, registration
        0 | 190 | 3 | 10 | 200..=299 | 131005 | 368 | 131031 | 131042 | 131045 | 133010 | 33 => {
            Fatal
        }
        4 | 80007 => Retry {
            scope: RunWide,
            backoff: GRAPH_LIMIT,
        },
        THROUGHPUT_CODE => Retry {
            scope: RunWide,
            backoff: THROUGHPUT,
        },
        131056 => Retry {
            scope: Recipient,
            backoff: Backoff::Pow4,
        },
        131057 => Retry {
            scope: RunWide,
            backoff: MAINTENANCE,
        },
        131016 | 2 | 133004 => Retry {
            scope: RunWide,
            backoff: SERVICE_DOWN,
        },
        131000 | 1 => Retry {
            scope: Recipient,
            backoff: Backoff::Limited { max_tries: 3 },
        },
        // spam limit and template enforcement: retrying makes quality worse
        131048 | 131064 | 131063 => Fatal,
        100 | 131008 | 131009 => {
            if details.is_some_and(details_point_at_recipient) {
                Permanent
            } else {
                Fatal
            }
        }
        131051 => Fatal,
        // template problems shared by every recipient of the notice (132018: the parameters are
        // the notice's own, identical for everyone)
        132000 | 132001 | 132005 | 132007 | 132012 | 132015 | 132016 | 132018 => Fatal,
        // a generic request error: investigate rather than repeat it for everyone
        135000 => Fatal,
        131021 | 131026 | 131047 | 131049 | 131050 | 130403 | 130472 | 131030 | 130497 => Permanent,
        _ => match http_status {
            429 => Retry {
                scope: RunWide,
                backoff: THROUGHPUT,
            },
            500..=599 => Retry {
                scope: Recipient,
                backoff: Backoff::Limited { max_tries: 3 },
            },
            _ => Fatal,
        },
    }
}

/// What a Graph error code means, in German for the town's staff (Meta's own text is English and
/// is shown after it, marked as Meta's).
pub fn explanation(code: i64) -> Option<&'static str> {
    Some(match code {
        0 | 190 => "das Zugangs-Token (WHATSAPP_TOKEN) ist ungültig oder abgelaufen",
        3 | 10 | 200..=299 => "dem Zugangs-Token fehlt eine Berechtigung",
        131005 => "Zugriff verweigert",
        368 => "das Konto ist wegen Verstößen gegen Metas Richtlinien vorübergehend gesperrt",
        131031 => "das WhatsApp-Konto ist gesperrt",
        131042 => "Zahlungsproblem im WhatsApp-Konto",
        131045 | 133010 => "die Telefonnummer des Absenders ist nicht registriert",
        4 | 80007 => "Anfragegrenze der Graph-API erreicht; es wird später erneut versucht",
        THROUGHPUT_CODE => "Durchsatzgrenze erreicht; aushang sendet langsamer",
        131056 => "zu viele Nachrichten an diese Nummer in kurzer Zeit",
        131057 => "das Konto wird gerade gewartet",
        131016 | 2 | 133004 => "der Dienst ist vorübergehend nicht erreichbar",
        131000 | 1 => "unbekannter Fehler bei Meta",
        131048 => "Spam-Grenze: Meta bremst das Konto",
        131064 | 131063 => "Meta hält die Vorlage zurück",
        100 | 131008 | 131009 => "ungültiger oder fehlender Parameter",
        131051 => "Nachrichtentyp nicht unterstützt",
        132000 => "die Zahl der Parameter passt nicht zur Vorlage",
        132001 => "die Vorlage gibt es nicht (Name und Sprache prüfen)",
        132005 => "der Text ist für die Vorlage zu lang",
        132007 => "der Text verstößt gegen Metas Richtlinien",
        132012 => "ein Parameter hat das falsche Format",
        132015 => "die Vorlage ist pausiert",
        132016 => "die Vorlage ist deaktiviert",
        132018 => "ein Parameter ist ungültig (z. B. eine Adresse)",
        135000 => "allgemeiner Fehler der Anfrage",
        131026 => "nicht zustellbar (die Nummer nutzt WhatsApp nicht, oder eine zu alte Version)",
        131021 => "Absender und Empfänger sind dieselbe Nummer",
        131047 => "eine freie Nachricht geht nur binnen 24 Stunden nach einer Nachricht der Person",
        131049 => "Meta hält die Nachricht zurück, um die Person nicht zu überlasten",
        131050 => "die Person hat solche Nachrichten abbestellt",
        130403 | 130472 | 131030 | 130497 => "an diese Nummer darf nicht gesendet werden",
        _ => return None,
    })
}

/// Whether an "invalid parameter" detail names the recipient (`to`) rather than the request
/// shape; only then is 100/131008/131009 this recipient's problem and not a bug for everyone.
pub fn details_point_at_recipient(details: &str) -> bool {
    let d = details.to_lowercase();
    if d.contains("recipient") || d.contains("phone number") || d.contains("wa_id") {
        return true;
    }
    [
        "param to",
        "parameter to",
        "parameter: to",
        "`to`",
        "'to'",
        "\"to\"",
        "(to)",
        "field to",
        "to is invalid",
        "to is required",
    ]
    .iter()
    .any(|pat| contains_phrase(&d, pat))
}

/// `pat` occurs in `text` and is not glued to letters on either side.
fn contains_phrase(text: &str, pat: &str) -> bool {
    text.match_indices(pat).any(|(i, m)| {
        let before = text[..i].chars().next_back();
        let after = text[i + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// An error answer from the Graph API. The text fields are scrubbed of phone numbers when the
/// error is built, so logging any field (or the Display form) never leaks a recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub http_status: u16,
    pub code: Option<i64>,
    pub message: String,
    pub details: Option<String>,
    pub fbtrace_id: Option<String>,
}

impl ApiError {
    /// Parses a Graph error body (§3.1). A body that is not a Graph error still gives an
    /// `ApiError` (code `None`) so that the HTTP status can decide. `to` is masked wherever it
    /// appears.
    pub fn from_body(http_status: u16, body: &[u8], to: Option<&str>) -> ApiError {
        #[derive(serde::Deserialize)]
        struct Envelope {
            error: Body,
        }
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default)]
            message: Option<String>,
            #[serde(default)]
            code: Option<i64>,
            #[serde(default)]
            error_data: Option<ErrorData>,
            #[serde(default)]
            fbtrace_id: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct ErrorData {
            #[serde(default)]
            details: Option<String>,
        }
        match serde_json::from_slice::<Envelope>(body) {
            Ok(env) => ApiError {
                http_status,
                code: env.error.code,
                message: scrub(env.error.message.as_deref().unwrap_or(""), to),
                details: env
                    .error
                    .error_data
                    .and_then(|d| d.details)
                    .map(|d| scrub(&d, to)),
                fbtrace_id: env.error.fbtrace_id.map(|f| scrub(&f, to)),
            },
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let snippet: String = text.chars().take(200).collect();
                ApiError {
                    http_status,
                    code: None,
                    message: format!("unerwartete Antwort: {}", scrub(snippet.trim(), to)),
                    details: None,
                    fbtrace_id: None,
                }
            }
        }
    }

    pub fn class(&self) -> ErrorClass {
        classify(self.code, self.http_status, self.details.as_deref())
    }

    /// Meta says the send rate is too high: the caller should call `RateLimiter::on_throttled`.
    pub fn is_throughput_limit(&self) -> bool {
        self.code == Some(THROUGHPUT_CODE) || (self.code.is_none() && self.http_status == 429)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // aushang's words first, Meta's (English) text last and marked as Meta's.
        match self.code {
            Some(code) => write!(f, "WhatsApp-Fehler {code} (HTTP {})", self.http_status)?,
            None => write!(f, "WhatsApp antwortete mit HTTP {}", self.http_status)?,
        }
        if let Some(why) = self.code.and_then(explanation) {
            write!(f, ": {why}")?;
        }
        if let Some(t) = &self.fbtrace_id {
            write!(f, " [fbtrace_id {t}]")?;
        }
        if !self.message.is_empty() || self.details.is_some() {
            write!(f, " (Meldung der Graph-API: {}", scrub(&self.message, None))?;
            if let Some(d) = &self.details {
                write!(f, " ({})", scrub(d, None))?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_map_to_their_class() {
        assert_eq!(classify(Some(190), 401, None), ErrorClass::Fatal);
        assert_eq!(classify(Some(132001), 404, None), ErrorClass::Fatal);
        assert_eq!(classify(Some(132018), 400, None), ErrorClass::Fatal);
        assert_eq!(classify(Some(131048), 400, None), ErrorClass::Fatal);
        assert_eq!(classify(Some(131026), 400, None), ErrorClass::Permanent);
        assert_eq!(classify(Some(131021), 400, None), ErrorClass::Permanent);
        assert!(matches!(
            classify(Some(130429), 400, None),
            ErrorClass::Retry {
                scope: Scope::RunWide,
                ..
            }
        ));
        assert!(matches!(
            classify(Some(131056), 400, None),
            ErrorClass::Retry {
                scope: Scope::Recipient,
                backoff: Backoff::Pow4
            }
        ));
        for code in [4, 80007, 131057, 131016, 2, 133004] {
            assert!(
                matches!(
                    classify(Some(code), 503, None),
                    ErrorClass::Retry {
                        scope: Scope::RunWide,
                        ..
                    }
                ),
                "{code}"
            );
        }
        for code in [131000, 1] {
            assert_eq!(
                classify(Some(code), 500, None),
                ErrorClass::Retry {
                    scope: Scope::Recipient,
                    backoff: Backoff::Limited { max_tries: 3 }
                }
            );
        }
    }

    #[test]
    fn status_decides_only_without_a_code() {
        assert!(matches!(
            classify(None, 503, None),
            ErrorClass::Retry { .. }
        ));
        assert!(matches!(
            classify(None, 429, None),
            ErrorClass::Retry {
                scope: Scope::RunWide,
                ..
            }
        ));
        assert_eq!(classify(None, 404, None), ErrorClass::Fatal);
        // a code wins over the status: 131026 is permanent even if sent with a 500
        assert_eq!(classify(Some(131026), 500, None), ErrorClass::Permanent);
        // unknown code: the status decides between retry and fatal
        assert!(matches!(
            classify(Some(999_999), 502, None),
            ErrorClass::Retry { .. }
        ));
        assert_eq!(classify(Some(999_999), 400, None), ErrorClass::Fatal);
    }

    #[test]
    fn invalid_parameter_is_permanent_only_when_it_names_the_recipient() {
        assert_eq!(
            classify(Some(100), 400, Some("The parameter to is invalid.")),
            ErrorClass::Permanent
        );
        assert_eq!(
            classify(Some(131009), 400, Some("Recipient phone number not valid")),
            ErrorClass::Permanent
        );
        assert_eq!(
            classify(Some(100), 400, Some("Failed to parse template.components")),
            ErrorClass::Fatal
        );
        assert_eq!(
            classify(
                Some(131008),
                400,
                Some("The parameter messaging_product is required.")
            ),
            ErrorClass::Fatal
        );
        assert_eq!(classify(Some(100), 400, None), ErrorClass::Fatal);
    }

    #[test]
    fn parsed_errors_never_show_the_number() {
        let body = br#"{"error":{"message":"(#131026) Message undeliverable to +4915123456789",
            "type":"OAuthException","code":131026,
            "error_data":{"messaging_product":"whatsapp","details":"Recipient 4915123456789 (tel +49 151 2345 6789) is not on WhatsApp"},
            "fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}"#;
        let err = ApiError::from_body(400, body, Some("+4915123456789"));
        assert_eq!(err.code, Some(131026));
        assert_eq!(err.fbtrace_id.as_deref(), Some("Az8or2yhqkZfEZ-_4Qn_Bam"));
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("23456789"), "{shown}");
        assert!(!shown.contains("2345 6789"), "{shown}");
        assert!(shown.contains("+49151*****789"), "{shown}");
        assert!(shown.contains("(#131026)"), "{shown}");
        assert_eq!(err.class(), ErrorClass::Permanent);
        // German first, Meta's English text after it and marked as Meta's
        let text = err.to_string();
        assert!(
            text.starts_with("WhatsApp-Fehler 131026 (HTTP 400): nicht zustellbar"),
            "{text}"
        );
        assert!(
            text.contains(
                "[fbtrace_id Az8or2yhqkZfEZ-_4Qn_Bam] (Meldung der Graph-API: (#131026) Message"
            ),
            "{text}"
        );
    }

    #[test]
    fn non_graph_bodies_fall_back_to_the_status() {
        let err = ApiError::from_body(502, b"<html>Bad gateway</html>", None);
        assert_eq!(err.code, None);
        assert!(matches!(err.class(), ErrorClass::Retry { .. }));
        let err = ApiError::from_body(429, b"", None);
        assert!(err.is_throughput_limit());
    }
}
