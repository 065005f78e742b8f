//! The page the login popup ends on. Its one script speaks the Decap/Netlify CMS handshake that
//! Decap and Sveltia CMS both understand: it tells the opener `authorizing:github`, waits for the
//! opener to answer the same, and then posts `authorization:github:success:{"token":…}` (or
//! `…:error:{…}`). Both messages go **only** to the site's origin (never `*`), and the answer is
//! sent only to a message that came from that origin, so no other page that opens the popup can
//! receive a token. The script runs under a per-response CSP nonce; nothing else may run.

use super::super::pages;
use crate::config::Config;

/// What the popup tells the editor.
pub struct Outcome<'a> {
    pub title: &'a str,
    /// Plain text, escaped here.
    pub text: &'a str,
    /// The message for the opener: `Ok(token)` or `Err((error code, German message))`.
    pub result: Result<&'a str, (&'a str, &'a str)>,
}

/// A string as a JavaScript string literal that cannot end the `<script>` element.
fn js_string(s: &str) -> String {
    serde_json::to_string(s)
        .expect("a string serialises")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The message for the opener, as the CMS parses it.
pub fn message(result: &Result<&str, (&str, &str)>) -> String {
    match result {
        Ok(token) => format!(
            "authorization:github:success:{}",
            serde_json::json!({ "token": token, "provider": "github" })
        ),
        // Sveltia shows `error` (or its own text for a known `errorCode`), Decap `message`.
        Err((code, text)) => format!(
            "authorization:github:error:{}",
            serde_json::json!({ "provider": "github", "error": text, "errorCode": code, "message": text })
        ),
    }
}

/// The whole page and the nonce its script runs under.
pub fn render(config: &Config, site_origin: &str, outcome: &Outcome) -> (String, String) {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let editor = config.absolute_url(
        &config
            .editor
            .as_ref()
            .map_or_else(|| "/redaktion/".to_string(), |e| e.site_path()),
    );
    let script = format!(
        "<script nonce=\"{nonce}\">\n\
         (function () {{\n\
         \"use strict\";\n\
         var siteOrigin = {origin};\n\
         var message = {message};\n\
         if (!window.opener) {{ return; }}\n\
         function answer(event) {{\n\
         if (event.origin !== siteOrigin || event.data !== \"authorizing:github\") {{ return; }}\n\
         window.removeEventListener(\"message\", answer);\n\
         window.opener.postMessage(message, siteOrigin);\n\
         }}\n\
         window.addEventListener(\"message\", answer);\n\
         window.opener.postMessage(\"authorizing:github\", siteOrigin);\n\
         }}());\n\
         </script>",
        origin = js_string(site_origin),
        message = js_string(&message(&outcome.result)),
    );
    let role = if outcome.result.is_ok() {
        "status"
    } else {
        "alert"
    };
    let body = format!(
        "<p role=\"{role}\">{text}</p>\n\
         <p>Dieses Fenster gehört zur Anmeldung in der <a href=\"{editor}\">Redaktion</a>. \
         Wenn es sich nicht von selbst schließt, können Sie es schließen.</p>\n{script}",
        text = ammonia::clean_text(outcome.text),
        editor = ammonia::clean_text(&editor),
    );
    (pages::page(config, outcome.title, &body), nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_in_a_message_can_end_the_script() {
        let s = js_string("</script><script>alert(1)</script>\u{2028}");
        assert!(!s.contains('<') && !s.contains('>'), "{s}");
        let m = message(&Err(("X", "</script>")));
        assert!(m.starts_with("authorization:github:error:{"), "{m}");
        let m = message(&Ok("gho_abc"));
        let json = m.strip_prefix("authorization:github:success:").unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"token": "gho_abc", "provider": "github"})
        );
    }
}
