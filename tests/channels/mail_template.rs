//! The town's own `templates/mail.html`: its markup is what the SMTP server receives as the
//! HTML part, and `check` names an override that breaks, at file and line.

use std::process::Command;

use super::support::*;

/// `aushang check` on the site: (exit code, stdout and stderr).
fn check(site: &Site) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aushang"))
        .arg("--root")
        .arg(&site.root)
        .arg("check")
        .env("NO_COLOR", "1")
        .env("AUSHANG_LOG", "off")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn a_towns_mail_template_is_sent_and_a_broken_one_is_named_by_check() {
    let smtp = Smtp::start();
    let site = Site::new(&smtp, "");
    let templates = site.root.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let marker = aushang::site::theme_versions::marker_line("mail.html").unwrap();
    std::fs::write(
        templates.join("mail.html"),
        format!(
            "{marker}\n<!DOCTYPE html>\n<html lang=\"de\"><body>\n\
             <p class=\"rathaus-teststadt\">Amtsblatt {{{{ site_title }}}}: {{{{ title }}}}</p>\n\
             {{% for p in paragraphs %}}<p>{{{{ p }}}}</p>{{% endfor %}}\n\
             <p><a href=\"{{{{ url }}}}\">Zur Bekanntmachung</a></p>\n\
             {{% if unsubscribe %}}<p><a href=\"{{{{ unsubscribe }}}}\">Abmelden</a></p>{{% endif %}}\n\
             </body></html>\n"
        ),
    )
    .unwrap();
    let (_, out) = check(&site);
    assert!(
        !out.contains("templates/mail.html"),
        "a working copy of today's theme passes: {out}"
    );
    let (code, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_eq!(code, 0, "{out}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 3, "{out}");
    for m in &mails {
        let parts = m["parts"].as_array().unwrap();
        assert_eq!(parts[1]["type"], "text/html");
        let html = parts[1]["text"].as_str().unwrap();
        assert!(
            html.contains(
                "<p class=\"rathaus-teststadt\">Amtsblatt Teststadt: Sperrung der Hauptstraße"
            ),
            "{html}"
        );
        assert!(
            html.contains(
                "<p>Die Hauptstraße ist ab Montag zwischen Markt und Kirche gesperrt.</p>"
            ),
            "{html}"
        );
        assert!(
            html.contains(&format!("<a href=\"{INBOX}abmelden?t=")),
            "the personal unsubscribe link is filled in: {html}"
        );
        // the text part stays aushang's own
        let plain = parts[0]["text"].as_str().unwrap();
        assert!(plain.contains("Bekanntmachung lesen:"), "{plain}");
    }

    // A Tera syntax error on line 4 of the override: check names file and line.
    let text = std::fs::read_to_string(templates.join("mail.html")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "<p>{% if %}</p>";
    std::fs::write(templates.join("mail.html"), lines.join("\n")).unwrap();
    let (code, out) = check(&site);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("templates/mail.html:4"), "{out}");
    assert!(
        out.contains("die Vorlage der E-Mail ist fehlerhaft"),
        "{out}"
    );
    assert_eq!(
        out.matches("templates/mail.html:4").count(),
        1,
        "reported once, not also as a page template: {out}"
    );
    // A broadcast with the broken template sends nothing and says where the error is.
    let other_smtp = Smtp::start();
    let other = Site::new(&other_smtp, "");
    std::fs::create_dir_all(other.root.join("templates")).unwrap();
    std::fs::copy(
        templates.join("mail.html"),
        other.root.join("templates/mail.html"),
    )
    .unwrap();
    let (code, out) = other.broadcast(&["--channel", "email"], &[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("templates/mail.html:4"), "{out}");
    assert!(other_smtp.mails().is_empty(), "{out}");

    // A copy of an older theme: check says so, naming the template.
    let stale = text.replacen(&marker, "{# aushang-theme: mail.html 000000000000 -#}", 1);
    std::fs::write(templates.join("mail.html"), stale).unwrap();
    let (_, out) = check(&site);
    assert!(out.contains("theme/mail.html hat sich geändert"), "{out}");
}
