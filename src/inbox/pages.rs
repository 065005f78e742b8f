//! The inbox's own HTML answers (German, accessible, no scripts): after a sign-up, for errors,
//! the review step, and the opt-out confirmation. Everything from a request is escaped.

use crate::config::Config;

fn esc(s: &str) -> String {
    ammonia::clean_text(s)
}

/// A complete page in the site's look-alike minimal style.
pub fn page(config: &Config, title: &str, body: &str) -> String {
    let site = esc(&config.title);
    let home = esc(&config.base_url);
    format!(
        "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{t} – {site}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;font-size:1.15rem;line-height:1.5;max-width:40rem;margin:0 auto;padding:1rem;color:#111;background:#fff}}\
         a{{color:#0645ad}}button{{font-size:1.15rem;padding:.6rem 1.2rem}}.fehler{{border-left:.3rem solid #b00020;padding-left:1rem}}</style>\n\
         </head>\n<body>\n<header><p><a href=\"{home}\">{site}</a></p></header>\n<main>\n<h1>{t}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        t = esc(title),
    )
}

pub fn signup_received(config: &Config) -> String {
    let body = "<p>Vielen Dank! Wir haben Ihre Anmeldung erhalten.</p>\n\
        <p><strong>So geht es weiter:</strong> In den nächsten Stunden bekommen Sie von uns eine \
        WhatsApp-Nachricht. Bitte antworten Sie darauf mit <strong>JA</strong> – oder schicken Sie \
        uns jetzt selbst <strong>START</strong> per WhatsApp. Erst nach dieser Bestätigung erhalten \
        Sie Bekanntmachungen.</p>\n\
        <p>Wenn Sie nicht antworten, löschen wir Ihre Angaben nach 30 Tagen.</p>\n\
        <p>Abmelden können Sie sich jederzeit, indem Sie <strong>STOP</strong> schreiben.</p>";
    page(config, "Anmeldung erhalten", body)
}

pub fn invalid(config: &Config, problems: &[String]) -> String {
    let items: String = problems
        .iter()
        .map(|p| format!("<li>{}</li>", esc(p)))
        .collect();
    let back = esc(&config.absolute_url("/anmelden/"));
    let body = format!(
        "<div class=\"fehler\" role=\"alert\"><p>Die Anmeldung hat nicht geklappt:</p><ul>{items}</ul></div>\n\
         <p><a href=\"{back}\">Zurück zum Anmeldeformular</a></p>"
    );
    page(config, "Bitte prüfen Sie Ihre Angaben", &body)
}

pub fn too_many(config: &Config) -> String {
    page(
        config,
        "Zu viele Anmeldungen",
        "<p role=\"alert\">Von Ihrem Anschluss kamen in kurzer Zeit zu viele Anmeldungen. Bitte \
         versuchen Sie es in einer Stunde noch einmal oder melden Sie sich im Bürgerbüro an.</p>",
    )
}

/// A refusal with what to do next (`text` is plain text, escaped here).
pub fn refused(config: &Config, title: &str, text: &str) -> String {
    page(
        config,
        title,
        &format!("<p role=\"alert\">{}</p>", esc(text)),
    )
}

/// A sign-up sent from another site (`Origin`/`Referer`), with a link to the real form.
pub fn wrong_origin(config: &Config) -> String {
    let form = esc(&config.absolute_url("/anmelden/"));
    page(
        config,
        "Anmeldung nicht möglich",
        &format!(
            "<p role=\"alert\">Dieses Formular wurde nicht von unserer Internetseite gesendet.</p>\n\
             <p>Bitte melden Sie sich direkt auf unserer Seite an: <a href=\"{form}\">{form}</a></p>"
        ),
    )
}

/// The answer when the sign-up limit for one number or for the whole inbox is reached.
pub fn signup_limit(config: &Config, refusal: super::memory::Refusal) -> String {
    use super::memory::Refusal;
    let text = match refusal {
        Refusal::Client => return too_many(config),
        Refusal::Number => {
            "Für diese Handynummer kamen heute schon mehrere Anmeldungen. Bitte antworten Sie auf \
             unsere WhatsApp-Nachricht mit JA oder schreiben Sie uns START per WhatsApp. Eine neue \
             Anmeldung über dieses Formular ist morgen wieder möglich."
        }
        Refusal::Global => {
            "Gerade kommen sehr viele Anmeldungen an. Bitte versuchen Sie es in einer Stunde noch \
             einmal, schreiben Sie uns START per WhatsApp oder melden Sie sich im Bürgerbüro an."
        }
    };
    refused(config, "Zu viele Anmeldungen", text)
}

/// The review step: the form once more, with a signed stamp, for people without JavaScript
/// (and anyone who was quicker than a person can be). It posts to `signup` relative to itself,
/// so it reaches this very server whatever public URL the proxy gives it.
pub fn review(
    config: &Config,
    form: &super::signup::SignupForm,
    stamp: &str,
    masked: &str,
) -> String {
    let mut hidden = String::new();
    let mut field = |k: &str, v: &str| {
        hidden.push_str(&format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">\n",
            esc(v)
        ))
    };
    field("name", &form.name);
    field("nummer", &form.number);
    field("kanal", &form.channel);
    field("email", &form.email);
    for t in &form.topics {
        field("thema", t);
    }
    field("einwilligung", if form.consent { "ja" } else { "" });
    field("fassung", &form.consent_version);
    field("stempel", stamp);
    let what = if form.wants_email() {
        "die E-Mail-Adresse"
    } else {
        "die Handynummer"
    };
    let body = format!(
        "<p>Bitte bestätigen Sie Ihre Anmeldung für {what} <strong>{}</strong>.</p>\n\
         <form method=\"post\" action=\"signup\">\n{hidden}<button type=\"submit\">Anmeldung absenden</button>\n</form>",
        esc(masked)
    );
    page(config, "Anmeldung bestätigen", &body)
}

pub fn optout_confirm(config: &Config, token: &str) -> String {
    let body = format!(
        "<p>Möchten Sie keine Bekanntmachungen mehr per WhatsApp erhalten?</p>\n\
         <form method=\"post\" action=\"abmelden\">\n<input type=\"hidden\" name=\"t\" value=\"{}\">\n\
         <button type=\"submit\">Ja, abmelden</button>\n</form>",
        esc(token)
    );
    page(config, "Abmelden", &body)
}

pub fn optout_done(config: &Config) -> String {
    page(
        config,
        "Sie sind abgemeldet",
        "<p>Wir schicken Ihnen keine Bekanntmachungen mehr. Ihre Angaben werden bei der nächsten \
         Bearbeitung gelöscht; nur ein Nachweis der Abmeldung bleibt.</p>\n\
         <p>Wieder anmelden: Schicken Sie <strong>START</strong> per WhatsApp.</p>",
    )
}

pub fn optout_too_many(config: &Config) -> String {
    refused(
        config,
        "Zu viele Anfragen",
        "Von Ihrem Anschluss kamen in kurzer Zeit zu viele Abmeldungen. Bitte versuchen Sie es in \
         einigen Minuten noch einmal oder schreiben Sie uns STOP per WhatsApp.",
    )
}

pub fn optout_invalid(config: &Config) -> String {
    page(
        config,
        "Link ungültig",
        "<p role=\"alert\">Dieser Abmelde-Link ist ungültig oder unvollständig. Schreiben Sie uns \
         <strong>STOP</strong> per WhatsApp, um sich abzumelden.</p>",
    )
}
