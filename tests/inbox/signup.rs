//! The sign-up form: rendered on the Anmelden page only with an inbox, and every bad input
//! refused by the server with nothing stored.

use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_sign_up_is_refused_and_nothing_is_stored() {
    let site = Site::new(None);
    let server = site.serve_in_process().await;
    let good = |number: &str| -> Vec<(&'static str, String)> {
        vec![
            ("name", "Erika Beispiel".into()),
            ("nummer", number.into()),
            ("thema", "abfall".into()),
            ("einwilligung", "ja".into()),
            ("fassung", "v1".into()),
            ("website", String::new()),
        ]
    };
    let without = |mut f: Vec<(&'static str, String)>, key: &str| {
        f.retain(|(k, _)| *k != key);
        f
    };
    type Form = Vec<(&'static str, String)>;
    let cases: Vec<(&str, Form, u16, &str)> = vec![
        (
            "no consent",
            without(good(NUMBER_LOCAL), "einwilligung"),
            400,
            "Einwilligung",
        ),
        ("invalid number", good("0151 23"), 400, "ungültig"),
        ("landline", good("030 23125 000"), 400, "Festnetz"),
        (
            "unknown topic",
            [good(NUMBER_LOCAL), vec![("thema", "lotto".into())]].concat(),
            400,
            "Thema",
        ),
        (
            "honeypot",
            [
                without(good(NUMBER_LOCAL), "website"),
                vec![("website", "http://spam.example".into())],
            ]
            .concat(),
            200,
            "Vielen Dank",
        ),
        ("no script", good(NUMBER_LOCAL), 200, "stempel"),
        (
            "a client-written page-load time",
            [
                good(NUMBER_LOCAL),
                vec![("geladen", ((now_unix() - 60) * 1000).to_string())],
            ]
            .concat(),
            200,
            "stempel",
        ),
    ];
    for (i, (what, form, status, needle)) in cases.iter().enumerate() {
        let (code, body) = post_form(&server.url(), &format!("203.0.113.{i}"), form).await;
        assert_eq!(code, *status, "{what}: {body}");
        assert!(body.contains(needle), "{what}: {body}");
        assert!(
            body.contains("<html lang=\"de\">") && body.contains("<h1>"),
            "{what}: accessible page"
        );
        assert!(
            !body.contains("23456789") || *status == 200,
            "{what} echoed the number"
        );
    }
    // Too fast: sent right after the page fetched its stamp.
    let too_fast = [
        good(NUMBER_LOCAL),
        vec![("stempel", form_stamp(&server.url()).await)],
    ]
    .concat();
    let (code, body) = post_form(&server.url(), "203.0.113.40", &too_fast).await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("name=\"stempel\"") && body.contains("Anmeldung absenden"),
        "{body}"
    );
    assert!(
        event_files(&site.data_dir()).is_empty(),
        "a refused sign-up was stored"
    );

    // The review page's stamp is accepted once a second has passed.
    let (_, review) = post_form(&server.url(), "203.0.113.50", &good(NUMBER_LOCAL)).await;
    let stamp = hidden_value(&review, "stempel");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let form = [good(NUMBER_LOCAL), vec![("stempel", stamp)]].concat();
    let (code, body) = post_form(&server.url(), "203.0.113.50", &form).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("WhatsApp"), "says what happens next: {body}");
    assert_eq!(site.decrypt_all().len(), 1);

    // Rate limit: 5 per hour and client address (test config), others unaffected.
    for i in 0..5 {
        let (code, _) = post_form(&server.url(), "198.51.100.7", &good(NUMBER_LOCAL)).await;
        assert_eq!(code, 200, "attempt {i}");
    }
    let (code, body) = post_form(&server.url(), "198.51.100.7", &good(NUMBER_LOCAL)).await;
    assert_eq!(code, 429, "{body}");
    let (code, _) = post_form(&server.url(), "198.51.100.8", &good(NUMBER_LOCAL)).await;
    assert_eq!(code, 200);
}

#[test]
fn the_anmelden_page_has_the_form_only_when_the_inbox_is_configured() {
    let site = Site::new(None);
    let with = site.signup_page(&site.tmp.path().join("with"));
    assert!(
        with.contains("action=\"https://inbox.musterbach.example/signup\""),
        "{with}"
    );
    assert!(with.contains("name=\"fassung\" value=\"v1\""));
    assert!(with.contains("name=\"einwilligung\" value=\"ja\" required"));
    assert!(
        with.contains("<label for=\"f-nummer\">"),
        "every field has a label"
    );
    assert!(
        with.contains("value=\"abfall\""),
        "topics come from the categories"
    );
    let config = std::fs::read_to_string(site.root.join("aushang.yaml")).unwrap();
    let without_inbox = config.split("\ninbox:").next().unwrap().to_string();
    std::fs::write(site.root.join("aushang.yaml"), without_inbox).unwrap();
    let without = site.signup_page(&site.tmp.path().join("without"));
    assert!(!without.contains("<form"), "{without}");
    assert!(without.contains("START"), "the manual steps stay");
}
