//! `aushang.yaml`: the site's settings, read once and validated into a [`Config`] the rest trusts.
//!
//! Unknown keys are errors (a typo like `notice_per_page` must not be silently ignored), and every
//! error names the file, line and column.

use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, SpanRelativeTo};
use serde::Deserialize;

use crate::diagnostics::Problem;

mod editor;
mod editor_auth;
mod security;
pub use editor::{DEFAULT_AUTH_ENDPOINT, EditorBackend, EditorSettings, LoginBackend};
pub use editor_auth::{EditorAuthConfig, repo_parts};
pub use security::GRAPH_API_HOST;
pub use security::is_loopback_host;

pub const CONFIG_FILE: &str = "aushang.yaml";

/// The validated configuration of one site.
#[derive(Debug, Clone)]
pub struct Config {
    /// The site root (the folder holding `aushang.yaml`).
    pub root: PathBuf,
    pub title: String,
    /// Absolute base URL, always ending in `/`.
    pub base_url: String,
    pub language: String,
    pub description: String,
    pub timezone_name: String,
    pub timezone: TimeZone,
    pub contact: Contact,
    pub notices_per_page: usize,
    pub categories: Vec<Category>,
    pub subscribers: SubscribersConfig,
    pub broadcast: BroadcastConfig,
    pub inbox: Option<InboxConfig>,
    /// `editor:` — the web editor at `/redaktion/` (`site::editor`) and its login through the
    /// inbox (`editor.auth`, `inbox::editor_auth`).
    pub editor: Option<EditorSettings>,
    /// Where the subscriber state lives instead of `<root>/subscribers` (`--state`, e.g. the
    /// pipeline's checkout of the `aushang-state` branch). Set at the command's edge only.
    pub state_dir: Option<PathBuf>,
    /// `aushang:` — the aushang versions this site needs, e.g. `>=0.2` (checked by `check`).
    pub requires_aushang: Option<String>,
}

impl Config {
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// The absolute URL of a site path such as `/bekanntmachungen/2026/x/`.
    pub fn absolute_url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path.trim_start_matches('/'))
    }

    /// The path part of `base_url`, ending in `/`: `/` for a site at the root of its host,
    /// `/repo/` for `https://org.github.io/repo/` (GitHub project Pages). Every site path
    /// (`/archiv/`) is served below it.
    pub fn base_path(&self) -> &str {
        let after_scheme = self.base_url.find("://").map_or(0, |i| i + 3);
        self.base_url[after_scheme..]
            .find('/')
            .map_or("/", |i| &self.base_url[after_scheme + i..])
    }

    /// The path a browser requests for site path `path` (`/archiv/` → `/repo/archiv/`).
    pub fn href(&self, path: &str) -> String {
        format!("{}{}", self.base_path(), path.trim_start_matches('/'))
    }

    pub fn content_dir(&self) -> PathBuf {
        self.root.join("content")
    }

    /// The subscriber state: list, recipients, journal and inbox records.
    pub fn subscribers_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| self.root.join("subscribers"))
    }
}

/// Who publishes the site: shown in the footer and the Impressum.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Contact {
    /// e.g. "Stadt Musterbach – Der Bürgermeister"
    pub organisation: String,
    pub street: String,
    pub postcode: String,
    pub city: String,
    pub phone: String,
    pub email: String,
    /// The person responsible for editorial content (§ 18 MStV).
    pub responsible: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Used in front matter and URLs, e.g. `verkehr`.
    pub id: String,
    /// Shown to readers, e.g. "Straßen und Verkehr".
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct SubscribersConfig {
    /// `pending` sign-ups older than this are deleted by `aushang subscribers prune`.
    pub prune_pending_after: SignedDuration,
}

/// The `broadcast:` section.
#[derive(Debug, Clone)]
pub struct BroadcastConfig {
    /// Local wall-clock window in which only urgent notices are sent; `None` = no quiet hours.
    pub quiet_hours: Option<QuietHours>,
    /// A notice published longer ago than this is reported, not sent.
    pub max_age: SignedDuration,
    /// How long the link pre-flight waits for the notice page to go live.
    pub link_check_timeout: SignedDuration,
    pub channels: ChannelsConfig,
    /// `budget:` (monthly, per notice) in the WhatsApp rate card's currency.
    pub budget: Option<crate::broadcast::budget::Budget>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: jiff::civil::Time,
    pub end: jiff::civil::Time,
}

impl QuietHours {
    /// Whether the local time `t` falls inside the window (which may wrap past midnight).
    pub fn contains(&self, t: jiff::civil::Time) -> bool {
        if self.start <= self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ChannelsConfig {
    pub whatsapp: Option<WhatsAppConfig>,
    pub email: Option<crate::providers::email::EmailConfig>,
    pub telegram: Option<crate::providers::telegram::TelegramConfig>,
    pub mastodon: Option<crate::providers::mastodon::MastodonConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppConfig {
    /// The numeric id of the business phone number (not the number itself).
    pub phone_number_id: String,
    /// When set, the template's approval status is checked before sending.
    #[serde(default)]
    pub waba_id: Option<String>,
    /// Graph API base including the version; overridable for tests (loopback) and, with
    /// `allow_custom_api_host`, for a proxy of the town's own.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Allows an `api_url` host other than graph.facebook.com: the token goes there.
    #[serde(default)]
    pub allow_custom_api_host: bool,
    pub template: TemplateConfig,
    #[serde(default = "default_mps")]
    pub messages_per_second: u32,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Unique recipients per rolling 24 h the account may reach (Meta's messaging limit tier).
    #[serde(default)]
    pub daily_limit: Option<u32>,
    /// The rate card: `currency` and a price per category (checked by `broadcast::cost`).
    #[serde(default)]
    pub prices: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// Name of the approved template for new notices.
    pub name: String,
    /// Language code the template was approved in, e.g. `de`.
    #[serde(default = "default_language")]
    pub language: String,
    /// The approved body text with `{{1}}`, `{{2}}`… placeholders, for exact previews.
    pub body: String,
    /// Notice fields that fill the placeholders, in order.
    #[serde(default = "default_params")]
    pub params: Vec<String>,
    /// Whether the template has a URL button whose suffix is the notice path.
    #[serde(default = "yes")]
    pub url_button: bool,
    /// The button's label as approved, shown in previews.
    #[serde(default = "default_button_label")]
    pub button_label: String,
    /// Template for updates to a notice already sent.
    #[serde(default)]
    pub update_name: Option<String>,
    #[serde(default)]
    pub update_body: Option<String>,
    #[serde(default)]
    pub update_params: Option<Vec<String>>,
    /// `template` (production) or `text` (testing inside a service window only).
    #[serde(default)]
    pub mode: MessageMode,
    /// Whether the templates have a further URL button `<inbox.url>abmelden?t={{1}}` (after the
    /// notice button) that gets each subscriber's opt-out token. Needs an `inbox:` section.
    #[serde(default)]
    pub optout_button: bool,
    /// The category the templates were approved in (utility, marketing, authentication):
    /// what they are billed as until Meta reports another one.
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageMode {
    #[default]
    Template,
    Text,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxConfig {
    /// Public URL of the inbox server, e.g. `https://inbox.musterbach.example/`.
    pub url: String,
    /// Version id of the consent text shown on the sign-up form.
    #[serde(default = "default_consent_version")]
    pub consent_version: String,
    /// The consent wording next to the checkbox; change `consent_version` whenever it changes.
    #[serde(default)]
    pub consent_text: Option<String>,
    /// Inbound words that unsubscribe (compared trimmed and case-folded).
    #[serde(default = "default_stop_words")]
    pub stop_words: Vec<String>,
    /// Inbound words that subscribe or confirm a pending sign-up.
    #[serde(default = "default_start_words")]
    pub start_words: Vec<String>,
    /// The answer to any other inbound message (at most once per 24 h per sender).
    #[serde(default)]
    pub service_reply: Option<String>,
    /// Web sign-ups accepted per client address and hour.
    #[serde(default = "default_signups_per_hour")]
    pub signups_per_ip_per_hour: u32,
    /// Web sign-ups accepted per hour in all (each makes the town send a confirmation request).
    #[serde(default = "default_signups_per_hour_total")]
    pub signups_per_hour: u32,
    /// A sign-up form sent sooner than this after the page loaded is treated as a bot.
    #[serde(default = "default_min_fill_seconds")]
    pub min_fill_seconds: u64,
    /// Name of an approved template (no parameters) that `aushang inbox pull` sends to new
    /// web sign-ups, asking them to reply JA; without it they confirm by writing START.
    #[serde(default)]
    pub confirmation_template: Option<String>,
    /// A subscriber whose messages failed as undeliverable (131026) on this many different
    /// notices in a row becomes `unreachable` and gets nothing until their own START.
    #[serde(default = "default_unreachable_after")]
    pub unreachable_after: u32,
}

fn default_api_url() -> String {
    "https://graph.facebook.com/v25.0".into()
}
fn default_mps() -> u32 {
    60
}
fn default_concurrency() -> usize {
    16
}
fn default_language() -> String {
    "de".into()
}
fn default_params() -> Vec<String> {
    vec!["title".into(), "summary".into()]
}
fn default_button_label() -> String {
    "Bekanntmachung lesen".into()
}
fn default_consent_version() -> String {
    "v1".into()
}
fn default_stop_words() -> Vec<String> {
    ["stop", "stopp", "abmelden", "unsubscribe", "abbestellen"]
        .map(String::from)
        .to_vec()
}
fn default_start_words() -> Vec<String> {
    ["start", "anmelden", "ja", "subscribe", "bestätigen"]
        .map(String::from)
        .to_vec()
}
fn default_signups_per_hour() -> u32 {
    10
}
fn default_signups_per_hour_total() -> u32 {
    60
}
fn default_min_fill_seconds() -> u64 {
    3
}
fn default_unreachable_after() -> u32 {
    3
}
fn yes() -> bool {
    true
}

// ---- the file as written --------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    aushang: Option<String>,
    title: String,
    base_url: String,
    #[serde(default = "default_language")]
    language: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    contact: Contact,
    #[serde(default)]
    notices_per_page: Option<usize>,
    #[serde(default)]
    categories: Vec<Category>,
    #[serde(default)]
    subscribers: RawSubscribers,
    #[serde(default)]
    broadcast: RawBroadcast,
    #[serde(default)]
    inbox: Option<InboxConfig>,
    #[serde(default)]
    editor: Option<EditorSettings>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSubscribers {
    #[serde(default)]
    prune_pending_after: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBroadcast {
    /// `"21:00-07:00"`, or `off`.
    #[serde(default)]
    quiet_hours: Option<String>,
    #[serde(default)]
    max_age: Option<String>,
    #[serde(default)]
    link_check_timeout: Option<String>,
    #[serde(default)]
    channels: RawChannels,
    #[serde(default)]
    budget: Option<crate::broadcast::budget::RawBudget>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawChannels {
    #[serde(default)]
    whatsapp: Option<WhatsAppConfig>,
    #[serde(default)]
    email: Option<crate::providers::email::EmailConfig>,
    #[serde(default)]
    telegram: Option<crate::providers::telegram::TelegramConfig>,
    #[serde(default)]
    mastodon: Option<crate::providers::mastodon::MastodonConfig>,
}

/// Reads and validates `aushang.yaml` in `root`. All problems are returned at once.
pub fn load(root: &Path) -> Result<Config, Vec<Problem>> {
    let path = root.join(CONFIG_FILE);
    let display = PathBuf::from(CONFIG_FILE);
    let text = match std::fs::read(&path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                return Err(vec![Problem::error(
                    &display,
                    "die Datei ist kein UTF-8-Text",
                )]);
            }
        },
        Err(e) => {
            return Err(vec![
                Problem::error(
                    &display,
                    format!("die Konfiguration der Website lässt sich nicht lesen: {e}"),
                )
                .with_hint(format!(
                    "aushang im Ordner der Website starten oder --root angeben (gesucht in {})",
                    root.display()
                )),
            ]);
        }
    };
    parse(root, &display, &text)
}

/// Parses configuration text; `display` is the file name used in problems.
pub fn parse(root: &Path, display: &Path, text: &str) -> Result<Config, Vec<Problem>> {
    let raw: RawConfig =
        serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| {
            let mut p = Problem::from_yaml(display, text, &e, 0);
            p.message = format!(
                "ungültiges YAML (Meldung der YAML-Bibliothek: {})",
                p.message
            );
            vec![p]
        })?;
    let mut problems = Vec::new();
    // Points a semantic problem at the line where `key:` is written, when it can be found.
    let at_key = |key: &str, message: String| {
        let p = Problem::error(display, message);
        match find_key_line(text, key) {
            Some((line, col)) => p.at(text, line, col),
            None => p,
        }
    };

    let mut base_url = raw.base_url.trim().to_string();
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        problems.push(
            at_key(
                "base_url",
                format!("base_url `{base_url}` ist keine vollständige Adresse"),
            )
            .with_hint("mit https:// schreiben, z. B. https://www.musterbach.de/"),
        );
    }
    if !base_url.ends_with('/') {
        base_url.push('/');
    }
    if base_url.contains(['?', '#']) {
        problems.push(
            at_key(
                "base_url",
                format!("base_url `{base_url}` enthält ? oder #"),
            )
            .with_hint("die Adresse der Startseite, z. B. https://org.github.io/repo/"),
        );
    }
    let timezone_name = raw.timezone.unwrap_or_else(|| "Europe/Berlin".into());
    let timezone = match TimeZone::get(&timezone_name) {
        Ok(tz) => tz,
        Err(_) => {
            problems.push(
                at_key("timezone", format!("unbekannte Zeitzone `{timezone_name}`"))
                    .with_hint("einen IANA-Namen wie Europe/Berlin verwenden"),
            );
            TimeZone::UTC
        }
    };
    let mut seen = std::collections::HashSet::new();
    for c in &raw.categories {
        if !seen.insert(c.id.as_str()) {
            problems.push(at_key(
                "id",
                format!("Kategorie `{}` steht zweimal in der Liste", c.id),
            ));
        }
        if c.id.is_empty()
            || !c
                .id
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        {
            problems.push(
                at_key(
                    "categories",
                    format!(
                        "die Kennung `{}` einer Kategorie darf nur a-z, 0-9 und - enthalten",
                        c.id
                    ),
                )
                .with_hint("die Kennung steht in Webadressen; Umlaute gehören in `name`"),
            );
        }
    }
    let mut duration = |key: &str, value: Option<String>, default: &str| -> SignedDuration {
        let text_value = value.unwrap_or_else(|| default.to_string());
        match parse_duration(&text_value) {
            Some(d) => d,
            None => {
                problems.push(
                    at_key(key, format!("`{text_value}` ist keine Zeitdauer"))
                        .with_hint("z. B. 3d, 72h oder 30m schreiben"),
                );
                parse_duration(default).expect("defaults are valid")
            }
        }
    };
    let prune_pending_after = duration(
        "prune_pending_after",
        raw.subscribers.prune_pending_after,
        "30d",
    );
    let max_age = duration("max_age", raw.broadcast.max_age, "3d");
    let link_check_timeout = duration("link_check_timeout", raw.broadcast.link_check_timeout, "1m");
    let quiet_hours = match raw.broadcast.quiet_hours.as_deref().map(str::trim) {
        None => Some(QuietHours {
            start: jiff::civil::time(21, 0, 0, 0),
            end: jiff::civil::time(7, 0, 0, 0),
        }),
        Some("off") | Some("none") | Some("") => None,
        Some(s) => match parse_quiet_hours(s) {
            Some(q) => Some(q),
            None => {
                problems.push(
                    at_key("quiet_hours", format!("`{s}` ist kein Zeitfenster"))
                        .with_hint("als \"21:00-07:00\" schreiben, oder off"),
                );
                None
            }
        },
    };
    if let Some(w) = &raw.broadcast.channels.whatsapp {
        let placeholders = count_placeholders(&w.template.body);
        if placeholders != w.template.params.len() {
            problems.push(at_key(
                "params",
                format!(
                    "der Text der WhatsApp-Vorlage hat {placeholders} Platzhalter, unter params stehen aber {} Werte",
                    w.template.params.len()
                ),
            ));
        }
        if let Some(body) = &w.template.update_body {
            let wanted = count_placeholders(body);
            let given = w.template.update_params.as_ref().map_or(2, Vec::len);
            if wanted != given {
                problems.push(at_key(
                    "update_params",
                    format!("der Text der Aktualisierungs-Vorlage hat {wanted} Platzhalter, unter update_params stehen aber {given} Werte"),
                ));
            }
        }
        if w.template.optout_button && raw.inbox.is_none() {
            problems.push(
                at_key(
                    "optout_button",
                    "optout_button braucht einen Abschnitt inbox: mit url (der Knopf öffnet <inbox.url>abmelden?t=…)".into(),
                )
                .with_hint("inbox.url ergänzen (docs/inbox.md) oder optout_button entfernen"),
            );
        }
        if w.messages_per_second == 0 || w.concurrency == 0 {
            problems.push(at_key(
                "messages_per_second",
                "messages_per_second und concurrency müssen mindestens 1 sein".into(),
            ));
        }
    }
    let budget = crate::broadcast::budget::check_config(
        raw.broadcast.channels.whatsapp.as_ref(),
        raw.broadcast.budget.as_ref(),
        &mut |key, message| problems.push(at_key(key, message)),
    );
    // The other channels check themselves (providers/*); each problem names its key.
    let channels = &raw.broadcast.channels;
    let channel_problems = [
        channels.email.as_ref().map(|c| c.problems()),
        channels.telegram.as_ref().map(|c| c.problems()),
        channels.mastodon.as_ref().map(|c| c.problems()),
    ];
    for (key, message) in channel_problems.into_iter().flatten().flatten() {
        problems.push(at_key(key, message));
    }
    if let Some(editor) = &raw.editor {
        let inbox_url = raw.inbox.as_ref().map(|i| i.url.as_str());
        for (key, message) in editor.problems(inbox_url) {
            problems.push(at_key(key, message));
        }
        if editor.auth.is_some() && raw.inbox.is_none() {
            problems.push(
                at_key("auth", "editor.auth braucht einen Abschnitt inbox: mit url (die Anmeldung der Redaktion läuft über den Posteingang)".into())
                    .with_hint("inbox.url ergänzen (docs/inbox.md) oder editor.auth entfernen (docs/editor-login.md)"),
            );
        }
    }
    problems.extend(security::check(
        raw.broadcast.channels.whatsapp.as_ref(),
        raw.inbox.as_ref(),
        &at_key,
    ));
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Config {
        root: root.to_path_buf(),
        title: raw.title,
        base_url,
        language: raw.language,
        description: raw.description,
        timezone_name,
        timezone,
        contact: raw.contact,
        notices_per_page: raw.notices_per_page.unwrap_or(10).max(1),
        categories: raw.categories,
        subscribers: SubscribersConfig {
            prune_pending_after,
        },
        broadcast: BroadcastConfig {
            quiet_hours,
            max_age,
            link_check_timeout,
            channels: ChannelsConfig {
                whatsapp: raw.broadcast.channels.whatsapp,
                email: raw.broadcast.channels.email,
                telegram: raw.broadcast.channels.telegram,
                mastodon: raw.broadcast.channels.mastodon,
            },
            budget,
        },
        inbox: raw.inbox,
        editor: raw.editor,
        state_dir: None,
        requires_aushang: raw.aushang,
    })
}

/// The YAML options used for every file aushang reads: `yes`/`no`/`on` stay strings.
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { strict_booleans: true, }
}

/// Parses "3d", "72h", "30m", "1h 30m" (days count as 24 hours).
pub fn parse_duration(s: &str) -> Option<SignedDuration> {
    let span: Span = s.trim().parse().ok()?;
    span.to_duration(SpanRelativeTo::days_are_24_hours()).ok()
}

fn parse_quiet_hours(s: &str) -> Option<QuietHours> {
    let (a, b) = s.split_once('-')?;
    let start: jiff::civil::Time = a.trim().parse().ok()?;
    let end: jiff::civil::Time = b.trim().parse().ok()?;
    Some(QuietHours { start, end })
}

/// Counts the distinct `{{n}}` placeholders of a template body.
pub fn count_placeholders(body: &str) -> usize {
    let mut max = 0;
    let mut rest = body;
    while let Some(i) = rest.find("{{") {
        rest = &rest[i + 2..];
        if let Some(j) = rest.find("}}") {
            if let Ok(n) = rest[..j].trim().parse::<usize>() {
                max = max.max(n);
            }
            rest = &rest[j + 2..];
        }
    }
    max
}

/// Finds the first line that defines `key:` (1-based line and column).
fn find_key_line(text: &str, key: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(i, line)| {
        let trimmed = line.trim_start().trim_start_matches("- ");
        trimmed
            .strip_prefix(key)
            .filter(|rest| rest.trim_start().starts_with(':'))
            .map(|_| (i + 1, line.len() - trimmed.len() + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "title: Stadt Test\nbase_url: https://www.test.example\n";

    #[test]
    fn a_project_pages_base_url_has_a_base_path() {
        let text = "title: T\nbase_url: https://org.github.io/repo\n";
        let c = parse(Path::new("/site"), Path::new(CONFIG_FILE), text).unwrap();
        assert_eq!(c.base_url, "https://org.github.io/repo/");
        assert_eq!(c.base_path(), "/repo/");
        assert_eq!(c.href("/archiv/"), "/repo/archiv/");
        assert_eq!(c.href("/"), "/repo/");
        let text = "title: T\nbase_url: https://org.github.io/repo/?x=1\n";
        assert!(parse(Path::new("/site"), Path::new(CONFIG_FILE), text).is_err());
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(Path::new("/site"), Path::new(CONFIG_FILE), MINIMAL).unwrap();
        assert_eq!(c.base_url, "https://www.test.example/");
        assert_eq!(c.base_path(), "/");
        assert_eq!(c.href("/archiv/"), "/archiv/");
        assert_eq!(c.timezone_name, "Europe/Berlin");
        assert_eq!(c.notices_per_page, 10);
        assert_eq!(c.broadcast.max_age, SignedDuration::from_hours(72));
        assert_eq!(
            c.broadcast.link_check_timeout,
            SignedDuration::from_mins(1),
            "sized for one Pages deploy, not five minutes"
        );
        let q = c.broadcast.quiet_hours.unwrap();
        assert!(q.contains(jiff::civil::time(23, 0, 0, 0)));
        assert!(q.contains(jiff::civil::time(6, 59, 0, 0)));
        assert!(!q.contains(jiff::civil::time(7, 0, 0, 0)));
        assert!(!q.contains(jiff::civil::time(12, 0, 0, 0)));
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let text = format!("{MINIMAL}notice_per_page: 5\n");
        let err = parse(Path::new("/site"), Path::new(CONFIG_FILE), &text).unwrap_err();
        assert_eq!(err[0].line, Some(3), "{err:?}");
        assert!(err[0].message.contains("notice_per_page"), "{err:?}");
    }

    #[test]
    fn bad_values_are_all_reported_with_lines() {
        let text = "title: T\nbase_url: www.x.example\ntimezone: Mars/Olympus\nbroadcast:\n  max_age: soon\n";
        let err = parse(Path::new("/site"), Path::new(CONFIG_FILE), text).unwrap_err();
        let lines: Vec<_> = err.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![Some(2), Some(3), Some(5)], "{err:?}");
    }

    #[test]
    fn quiet_hours_can_be_turned_off_or_changed() {
        let off = format!("{MINIMAL}broadcast:\n  quiet_hours: \"off\"\n");
        let c = parse(Path::new("/"), Path::new(CONFIG_FILE), &off).unwrap();
        assert!(c.broadcast.quiet_hours.is_none());
        let day = format!("{MINIMAL}broadcast:\n  quiet_hours: \"12:00-13:30\"\n");
        let c = parse(Path::new("/"), Path::new(CONFIG_FILE), &day).unwrap();
        let q = c.broadcast.quiet_hours.unwrap();
        assert!(q.contains(jiff::civil::time(13, 0, 0, 0)));
        assert!(!q.contains(jiff::civil::time(14, 0, 0, 0)));
    }

    #[test]
    fn an_opt_out_button_needs_an_inbox() {
        let wa = "broadcast:\n  channels:\n    whatsapp:\n      phone_number_id: \"1\"\n      template:\n        name: t\n        body: \"{{1}}\"\n        params: [title]\n        optout_button: true\n";
        let text = format!("{MINIMAL}{wa}");
        let err = parse(Path::new("/"), Path::new(CONFIG_FILE), &text).unwrap_err();
        assert_eq!(err[0].line, Some(11), "{err:?}");
        assert!(
            err[0]
                .message
                .contains("optout_button braucht einen Abschnitt inbox:"),
            "{err:?}"
        );
        let with_inbox = format!("{text}inbox:\n  url: https://inbox.t.example/\n");
        let c = parse(Path::new("/"), Path::new(CONFIG_FILE), &with_inbox).unwrap();
        assert!(
            c.broadcast
                .channels
                .whatsapp
                .unwrap()
                .template
                .optout_button
        );
    }

    const WHATSAPP: &str = "broadcast:\n  channels:\n    whatsapp:\n      phone_number_id: \"1\"\n      template:\n        name: t\n        body: \"{{1}}\"\n        params: [title]\n";

    fn errors(extra: &str) -> Vec<Problem> {
        parse(
            Path::new("/"),
            Path::new(CONFIG_FILE),
            &format!("{MINIMAL}{extra}"),
        )
        .err()
        .unwrap_or_default()
    }

    #[test]
    fn api_url_must_be_meta_over_https_unless_loopback_or_explicitly_allowed() {
        let with = |line: &str| format!("{WHATSAPP}      {line}\n");
        let err = errors(&with("api_url: http://evil.example/v25.0"));
        assert_eq!(err.len(), 2, "{err:?}");
        assert_eq!((err[0].line, err[0].column), (Some(11), Some(7)), "{err:?}");
        assert!(err[0].message.contains("verwendet http://"), "{err:?}");
        assert!(
            err[1]
                .message
                .contains("ist nicht graph.facebook.com von Meta")
                && err[1].message.contains("evil.example"),
            "{err:?}"
        );
        assert!(
            err[1]
                .hint
                .as_deref()
                .unwrap()
                .contains("allow_custom_api_host: true")
        );
        let err = errors(&with(
            "api_url: https://graph.facebook.com.evil.example/v25.0",
        ));
        assert_eq!(err.len(), 1, "{err:?}");
        // A proxy of one's own, said out loud; still https only.
        let own =
            "api_url: https://proxy.musterbach.example/v25.0\n      allow_custom_api_host: true";
        assert!(errors(&with(own)).is_empty());
        let own_http = own.replace("https://", "http://");
        assert_eq!(errors(&with(&own_http)).len(), 1);
        for fine in [
            "api_url: https://graph.facebook.com/v26.0",
            "api_url: http://127.0.0.1:8080/v25.0",
            "api_url: http://localhost:8080/v25.0",
            "api_url: http://[::1]:8080/v25.0",
        ] {
            assert!(errors(&with(fine)).is_empty(), "{fine}");
        }
        assert_eq!(errors(&with("api_url: graph.facebook.com")).len(), 1);
    }

    #[test]
    fn the_inbox_url_is_https_and_stop_always_unsubscribes() {
        let err = errors("inbox:\n  url: http://inbox.t.example/\n");
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!((err[0].line, err[0].column), (Some(4), Some(3)), "{err:?}");
        assert!(err[0].message.contains("verwendet http://"), "{err:?}");
        assert!(errors("inbox:\n  url: http://127.0.0.1:9000/\n").is_empty());
        let inbox = "inbox:\n  url: https://inbox.t.example/\n";
        let err = errors(&format!("{inbox}  stop_words: []\n"));
        assert_eq!(err[0].line, Some(5), "{err:?}");
        assert!(err[0].message.contains("stop_words ist leer"), "{err:?}");
        let err = errors(&format!("{inbox}  stop_words: [abmelden]\n"));
        assert!(
            err[0].message.contains("in stop_words fehlt STOP"),
            "{err:?}"
        );
        assert!(errors(&format!("{inbox}  stop_words: [Stop, halt]\n")).is_empty());
    }

    #[test]
    fn other_channels_are_checked_with_their_lines() {
        let text = format!(
            "{MINIMAL}broadcast:\n  channels:\n    email:\n      host: smtp.t.example\n      security: none\n      from: info@t.example\n    telegram:\n      chat_id: \"@teststadt\"\n      api_url: http://api.telegram.org\n    mastodon:\n      instance_url: http://social.t.example\n"
        );
        let err = parse(Path::new("/"), Path::new(CONFIG_FILE), &text).unwrap_err();
        let found: Vec<_> = err.iter().map(|p| (p.line, p.message.clone())).collect();
        assert_eq!(err.len(), 3, "{found:?}");
        assert_eq!(err[0].line, Some(7), "{found:?}");
        assert!(
            err[0]
                .message
                .contains("nur zu einem Relay auf diesem Rechner erlaubt")
        );
        assert_eq!(err[1].line, Some(11), "{found:?}");
        assert_eq!(err[2].line, Some(13), "{found:?}");
        let ok = text
            .replace("security: none", "security: starttls")
            .replace("http://api", "https://api")
            .replace("http://social", "https://social");
        let c = parse(Path::new("/"), Path::new(CONFIG_FILE), &ok).unwrap();
        let email = c.broadcast.channels.email.unwrap();
        assert_eq!(email.port(), 587);
        assert_eq!(c.broadcast.channels.telegram.unwrap().chat_id, "@teststadt");
    }

    #[test]
    fn durations_accept_days_and_hours() {
        assert_eq!(parse_duration("3d"), Some(SignedDuration::from_hours(72)));
        assert_eq!(parse_duration("90m"), Some(SignedDuration::from_mins(90)));
        assert_eq!(parse_duration("later"), None);
    }
}

#[cfg(test)]
mod example_site {
    #[test]
    fn the_example_site_config_is_valid() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let c = super::load(root).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(c.categories.len(), 5);
        let w = c.broadcast.channels.whatsapp.unwrap();
        assert_eq!(w.daily_limit, Some(250));
    }
}
