//! Configuration of the fake Graph API: accounts, templates, limits, latency and injected faults.
//! Usable as a Rust struct (in-process tests) and as JSON (`aushang-dev fake-graph-api --config`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FakeConfig {
    /// 0 picks a free port.
    pub port: u16,
    /// The only bearer token accepted.
    pub token: String,
    /// The business phone number id the messages endpoint answers for.
    pub phone_number_id: String,
    /// The WABA id the template list answers for.
    pub waba_id: String,
    pub templates: Vec<FakeTemplate>,
    /// More accepted requests than this in any 1-second window get 130429.
    pub messages_per_second: Option<u32>,
    /// HTTP status sent with throttling codes (4, 80007, 130429, 131048, 131056); Meta's copies
    /// disagree between 400 and 429.
    pub throttle_http_status: u16,
    /// Added to every answer (tokio sleep, so it costs no thread).
    pub latency_ms: u64,
    pub inject: Vec<Injection>,
    /// Numbers (any format) with an open 24 h service window, `"*"` for everyone. Text messages
    /// to others get 131047 synchronously (Meta reports it in a webhook; the fake has none, so it
    /// answers at once to make the case testable).
    pub service_window: Vec<String>,
    /// Append every accepted message as one JSON line here (numbers masked and hashed).
    pub record_file: Option<PathBuf>,
}

impl Default for FakeConfig {
    /// Mirrors the example site's `aushang.yaml` so the fake works with it out of the box.
    fn default() -> Self {
        FakeConfig {
            port: 0,
            token: "fake-token".into(),
            phone_number_id: "100000000000001".into(),
            waba_id: "200000000000002".into(),
            templates: vec![
                FakeTemplate::new("neue_bekanntmachung", "de", 2, true),
                FakeTemplate::new("bekanntmachung_aktualisiert", "de", 2, true),
            ],
            messages_per_second: None,
            throttle_http_status: 400,
            latency_ms: 0,
            inject: Vec::new(),
            service_window: Vec::new(),
            record_file: None,
        }
    }
}

impl FakeConfig {
    /// The default fake that also has the example's sign-up confirmation template
    /// (`anmeldung_bestaetigen`, de, approved, no parameters) for the inbox's double opt-in.
    pub fn with_confirmation_template() -> Self {
        let mut config = FakeConfig::default();
        config
            .templates
            .push(FakeTemplate::new("anmeldung_bestaetigen", "de", 0, false));
        config
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeTemplate {
    pub name: String,
    pub language: String,
    #[serde(default = "approved")]
    pub status: String,
    #[serde(default = "utility")]
    pub category: String,
    /// Number of `{{n}}` placeholders in the body.
    pub body_params: usize,
    /// Whether button 0 is a URL button with a variable suffix.
    #[serde(default)]
    pub url_button: bool,
    /// Whether a further URL button (index 1 after the notice button, else 0) takes the
    /// subscriber's opt-out token as its suffix.
    #[serde(default)]
    pub optout_button: bool,
}

fn approved() -> String {
    "APPROVED".into()
}
fn utility() -> String {
    "UTILITY".into()
}

impl FakeTemplate {
    pub fn new(name: &str, language: &str, body_params: usize, url_button: bool) -> Self {
        FakeTemplate {
            name: name.into(),
            language: language.into(),
            status: approved(),
            category: utility(),
            body_params,
            url_button,
            optout_button: false,
        }
    }

    /// The same template with an opt-out URL button after the others.
    pub fn with_optout_button(mut self) -> Self {
        self.optout_button = true;
        self
    }
}

/// One injected fault. Exactly one trigger should be set; with several, all must match.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Injection {
    /// Requests to this number (any format; compared by digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Only the n-th request to the messages endpoint (1-based, counting every request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<u64>,
    /// Every request from the n-th on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_call: Option<u64>,
    /// Fire only this many times (e.g. 131000 once, then success on the retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    pub fault: Fault,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Answer with this Graph error; `http_status` defaults to the status Meta's older table
    /// lists for the code.
    Error {
        code: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        http_status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        details: Option<String>,
    },
    /// Close the connection without an answer and without sending the message.
    DropBeforeAccept,
    /// Send (record) the message, then close the connection without an answer: the case that
    /// makes a blind retry a duplicate.
    DropAfterAccept,
}

impl Injection {
    fn with(fault: Fault) -> Self {
        Injection {
            to: None,
            call: None,
            from_call: None,
            times: None,
            fault,
        }
    }
    fn error(code: i64) -> Fault {
        Fault::Error {
            code,
            http_status: None,
            details: None,
        }
    }
    /// Every request to `to` gets `code`.
    pub fn code_for_number(to: &str, code: i64) -> Self {
        Injection {
            to: Some(to.into()),
            ..Self::with(Self::error(code))
        }
    }
    /// The n-th request gets `code`.
    pub fn code_at_call(n: u64, code: i64) -> Self {
        Injection {
            call: Some(n),
            ..Self::with(Self::error(code))
        }
    }
    /// Every request from the n-th on gets `code`.
    pub fn code_from_call(n: u64, code: i64) -> Self {
        Injection {
            from_call: Some(n),
            ..Self::with(Self::error(code))
        }
    }
    /// The n-th request's connection is closed without an answer, after (or before) the
    /// message was accepted.
    pub fn drop_at_call(n: u64, after_accept: bool) -> Self {
        Injection {
            call: Some(n),
            ..Self::with(if after_accept {
                Fault::DropAfterAccept
            } else {
                Fault::DropBeforeAccept
            })
        }
    }
    /// Limits how often this injection fires.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }
}

/// The HTTP status Meta's older error table lists for a code (§3.2).
pub fn default_http_status(code: i64, throttle_status: u16) -> u16 {
    match code {
        0 | 190 => 401,
        10 | 200..=299 | 131005 | 368 | 131031 => 403,
        1 | 3 | 131000 | 131045 | 131057 | 133000 => 500,
        2 | 133004 | 131016 => 503,
        132001 => 404,
        4 | 80007 | 130429 | 131048 | 131056 => throttle_status,
        _ => 400,
    }
}

/// Meta-like titles for the codes tests use; `message` is `(#code) title`.
pub fn title(code: i64) -> &'static str {
    match code {
        0 => "AuthException",
        190 => "Error validating access token: Session has expired",
        4 => "Application request limit reached",
        100 => "Invalid parameter",
        130429 => "Rate limit hit",
        131000 => "Something went wrong",
        131008 => "Required parameter is missing",
        131009 => "Parameter value is not valid",
        131016 => "Service unavailable",
        131021 => "Recipient cannot be sender",
        131026 => "Message undeliverable",
        131047 => "Re-engagement message",
        131048 => "Spam rate limit hit",
        131051 => "Unsupported message type",
        131056 => "(Business Account, Consumer Account) pair rate limit hit",
        131057 => "Account in maintenance mode",
        132000 => "Number of parameters does not match the expected number of params",
        132001 => "Template name does not exist in the translation",
        132012 => "Parameter format does not match format in the created template",
        132015 => "Template is Paused",
        132016 => "Template is Disabled",
        132018 => "There's an issue with the parameters in your template",
        133010 => "Account not registered",
        _ => "Error",
    }
}
