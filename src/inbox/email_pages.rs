//! The e-mail sign-up's German texts: the confirmation mail (text and HTML, accessible, no
//! remote images) and the inbox's answer pages (after the sign-up, the link's button page, and
//! each refusal). Everything from a request or the configuration is escaped.

use lettre::message::{Mailbox, MultiPart};

use super::email_signup::LINK_VALID;
use super::memory::Refusal;
use super::pages::{page, refused, too_many};
use crate::config::Config;
use crate::providers::email::EmailSettings;
use crate::providers::{escape_html as esc, stable_digest};

/// The town's (or authority's) name as the sender.
fn org(config: &Config) -> &str {
    if config.contact.organisation.is_empty() {
        &config.title
    } else {
        &config.contact.organisation
    }
}

fn valid_days() -> i64 {
    LINK_VALID.as_hours() / 24
}

fn prune_days(config: &Config) -> i64 {
    (config.subscribers.prune_pending_after.as_hours() / 24).max(1)
}

/// The confirmation mail to `address` for the sign-up `signup` (event id) with its `link`.
pub fn confirmation_mail(
    config: &Config,
    settings: &EmailSettings,
    address: &str,
    signup: &str,
    link: &str,
) -> Result<lettre::Message, String> {
    let from: Mailbox = settings
        .config
        .from
        .parse()
        .map_err(|e| format!("from: {e}"))?;
    let to: Mailbox = address
        .parse()
        .map_err(|_| "the address is not valid for the mail library".to_string())?;
    let org = org(config);
    let site = &config.base_url;
    let subject = format!("Bitte bestätigen Sie Ihre Anmeldung – {}", config.title);
    let (days, prune) = (valid_days(), prune_days(config));
    let text = format!(
        "Guten Tag,\n\n\
         mit dieser E-Mail-Adresse wurde auf {site} eine Anmeldung für die Bekanntmachungen von \
         {org} per E-Mail vorgenommen.\n\n\
         Bitte bestätigen Sie die Anmeldung: Öffnen Sie diesen Link und klicken Sie auf der Seite \
         auf „Anmeldung bestätigen“:\n\n{link}\n\n\
         Der Link gilt {days} Tage.\n\n\
         Sie haben sich nicht angemeldet oder möchten doch keine Bekanntmachungen? Dann \
         ignorieren Sie diese E-Mail einfach. Ohne Ihre Bestätigung schicken wir Ihnen nichts, \
         und Ihre Adresse wird nach {prune} Tagen gelöscht.\n\n\
         -- \n{org}\n{site}\n"
    );
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{subject}</title>\n</head>\n\
         <body style=\"margin:0;padding:1rem;font-family:system-ui,sans-serif;font-size:18px;line-height:1.5;color:#111;background:#fff\">\n\
         <main style=\"max-width:40rem\">\n\
         <h1 style=\"font-size:1.4em\">Bitte bestätigen Sie Ihre Anmeldung</h1>\n\
         <p>Guten Tag,</p>\n\
         <p>mit dieser E-Mail-Adresse wurde auf <a href=\"{site_e}\" style=\"color:#0645ad\">{site_e}</a> \
         eine Anmeldung für die Bekanntmachungen von {org_e} per E-Mail vorgenommen.</p>\n\
         <p><a href=\"{link_e}\" style=\"display:inline-block;padding:.6em 1.2em;background:#0645ad;color:#fff;text-decoration:underline\">Anmeldung bestätigen</a></p>\n\
         <p>Der Link öffnet eine Seite mit dem Knopf „Anmeldung bestätigen“. Er gilt {days} Tage. \
         Falls er nicht funktioniert, kopieren Sie diese Adresse in Ihren Browser:<br>\n{link_e}</p>\n\
         <p>Sie haben sich nicht angemeldet oder möchten doch keine Bekanntmachungen? Dann \
         ignorieren Sie diese E-Mail einfach. Ohne Ihre Bestätigung schicken wir Ihnen nichts, \
         und Ihre Adresse wird nach {prune} Tagen gelöscht.</p>\n\
         <p>{org_e}<br>\n<a href=\"{site_e}\" style=\"color:#0645ad\">{site_e}</a></p>\n\
         </main>\n</body>\n</html>\n",
        subject = esc(&subject),
        site_e = esc(site),
        org_e = esc(org),
        link_e = esc(link),
    );
    let message_id = format!(
        "<{}@{}>",
        stable_digest(&["aushang-confirm-v1", signup]),
        from.email.domain()
    );
    let mut builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(message_id));
    if let Some(r) = &settings.config.reply_to {
        builder = builder.reply_to(r.parse().map_err(|e| format!("reply_to: {e}"))?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("cannot build the mail: {e}"))
}

/// After the sign-up: the mail is on its way (`masked` address).
pub fn received(config: &Config, masked: &str) -> String {
    let body = format!(
        "<p>Vielen Dank! Wir haben Ihnen eine E-Mail an <strong>{}</strong> geschickt.</p>\n\
         <p><strong>So geht es weiter:</strong> Öffnen Sie die E-Mail und klicken Sie auf den Link \
         darin. Auf der Seite, die sich dann öffnet, bestätigen Sie Ihre Anmeldung mit einem Knopf. \
         Erst danach erhalten Sie Bekanntmachungen.</p>\n\
         <p>Der Link gilt {} Tage. Keine E-Mail bekommen? Bitte sehen Sie auch im Spam-Ordner nach.</p>\n\
         <p>Wenn Sie nicht bestätigen, schicken wir Ihnen nichts und löschen Ihre Angaben nach {} Tagen.</p>",
        esc(masked),
        valid_days(),
        prune_days(config)
    );
    page(config, "Bitte bestätigen Sie Ihre E-Mail-Adresse", &body)
}

/// The link's page: one button that confirms (a `GET` never does).
pub fn confirm_page(config: &Config, token: &str) -> String {
    let body = format!(
        "<p>Möchten Sie die Bekanntmachungen von {} per E-Mail erhalten?</p>\n\
         <form method=\"post\" action=\"bestaetigen\">\n<input type=\"hidden\" name=\"t\" value=\"{}\">\n\
         <button type=\"submit\">Anmeldung bestätigen</button>\n</form>\n\
         <p>Wenn Sie das nicht möchten, schließen Sie diese Seite einfach.</p>",
        esc(org(config)),
        esc(token)
    );
    page(config, "Anmeldung bestätigen", &body)
}

pub fn confirmed(config: &Config) -> String {
    page(
        config,
        "Anmeldung bestätigt",
        "<p>Vielen Dank! Ihre Anmeldung ist bestätigt. Sie erhalten neue Bekanntmachungen ab der \
         nächsten Bearbeitung per E-Mail.</p>\n\
         <p>Abmelden können Sie sich jederzeit über den Link „Abmelden“ am Ende jeder E-Mail.</p>",
    )
}

pub fn used(config: &Config) -> String {
    refused(
        config,
        "Link schon verwendet",
        "Mit diesem Link wurde die Anmeldung bereits bestätigt. Sie müssen nichts weiter tun.",
    )
}

pub fn expired(config: &Config) -> String {
    refused(
        config,
        "Link abgelaufen",
        &format!(
            "Dieser Bestätigungslink ist abgelaufen (er gilt {} Tage). Bitte melden Sie sich auf \
             {} noch einmal an.",
            valid_days(),
            config.absolute_url("/anmelden/")
        ),
    )
}

pub fn invalid_link(config: &Config) -> String {
    refused(
        config,
        "Link ungültig",
        "Dieser Bestätigungslink ist ungültig oder unvollständig. Bitte kopieren Sie den ganzen \
         Link aus der E-Mail in Ihren Browser.",
    )
}

pub fn unavailable(config: &Config) -> String {
    refused(
        config,
        "Anmeldung per E-Mail gerade nicht möglich",
        "Die Anmeldung per E-Mail ist gerade nicht möglich. Bitte versuchen Sie es später noch \
         einmal oder melden Sie sich im Bürgerbüro an.",
    )
}

pub fn not_sent(config: &Config) -> String {
    refused(
        config,
        "E-Mail nicht verschickt",
        "Wir konnten Ihnen die Bestätigungs-E-Mail gerade nicht schicken. Bitte versuchen Sie es \
         in einigen Minuten noch einmal. Kommt doch eine E-Mail an, genügt der Link darin.",
    )
}

/// A refused e-mail sign-up (the limits), saying what to do instead.
pub fn limit(config: &Config, refusal: Refusal) -> String {
    let text = match refusal {
        Refusal::Client => return too_many(config),
        Refusal::Number => {
            "Für diese E-Mail-Adresse kamen heute schon mehrere Anmeldungen. Bitte klicken Sie auf \
             den Link in unserer E-Mail (sehen Sie auch im Spam-Ordner nach). Eine neue Anmeldung \
             ist morgen wieder möglich."
        }
        Refusal::Global => {
            "Gerade kommen sehr viele Anmeldungen an. Bitte versuchen Sie es in einer Stunde noch \
             einmal oder melden Sie sich im Bürgerbüro an."
        }
    };
    refused(config, "Zu viele Anmeldungen", text)
}
