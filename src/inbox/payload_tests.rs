//! Tests of `inbox::payload`: which webhook changes become which events.

use super::*;

fn keywords() -> Keywords {
    Keywords {
        stop: vec!["stop".into(), "stopp".into()],
        start: vec!["start".into(), "ja".into()],
    }
}

#[test]
fn statuses_and_keywords_become_events_other_numbers_are_ignored() {
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
      {"field":"messages","value":{"metadata":{"phone_number_id":"42"},
        "messages":[{"from":"4915123456789","id":"wamid.A","timestamp":"1764325000","type":"text","text":{"body":"STOP"}},
                    {"from":"4915123456789","id":"wamid.B","timestamp":"1764325001","type":"button","button":{"text":"Ja","payload":""}},
                    {"from":"4915123456789","id":"wamid.C","timestamp":"1764325002","type":"text","text":{"body":"Wann ist Sperrm\u00fcll?"}}],
        "statuses":[{"id":"wamid.S","status":"failed","timestamp":"1764325003","recipient_id":"4915123456789",
                     "biz_opaque_callback_data":"m=/x/;s=s_1;a=1","errors":[{"code":131026}]}]}},
      {"field":"messages","value":{"metadata":{"phone_number_id":"99"},"statuses":[{"id":"wamid.T","status":"sent"}]}}]}]}"#;
    let now = Timestamp::now();
    let p = parse(body, "42", &keywords(), now).unwrap();
    assert_eq!(p.ignored, 1);
    let kinds: Vec<_> = p.events.iter().map(|e| e.event.kind()).collect();
    assert_eq!(kinds, vec!["stop", "start", "status"]);
    assert_eq!(
        p.events[0].event.at(),
        Timestamp::from_second(1764325000).unwrap()
    );
    match &p.events[2].event {
        Event::Status {
            error_codes,
            correlation,
            ..
        } => {
            assert_eq!(error_codes, &vec![131026]);
            assert_eq!(correlation.as_deref(), Some("m=/x/;s=s_1;a=1"));
        }
        other => panic!("{other:?}"),
    }
    let replies: Vec<_> = p.replies.iter().map(|r| r.kind.clone()).collect();
    assert_eq!(
        replies,
        vec![ReplyKind::Stopped, ReplyKind::Started, ReplyKind::Service]
    );
    assert_eq!(p.replies[0].to, "+4915123456789");
    assert!(parse(b"{\"object\":1}", "42", &keywords(), now).is_err());
    assert!(parse(b"not json", "42", &keywords(), now).is_err());
}

#[test]
fn bsuid_preferences_and_template_changes_become_events() {
    let body = br#"{"object":"whatsapp_business_account","entry":[
      {"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"42"},
        "contacts":[{"user_id":"DE.abc","profile":{"name":"x"}}],
        "messages":[{"id":"wamid.U","timestamp":"1764325000","type":"text","text":{"body":"STOP"}}],
        "statuses":[{"id":"wamid.S","status":"delivered","timestamp":"1764325003","recipient_id":"4915123456789","recipient_user_id":"DE.xyz"}]}},
      {"field":"user_preferences","value":{"metadata":{"phone_number_id":"42"},
        "contacts":[{"wa_id":"4915123456789","user_id":"DE.def"}],
        "user_preferences":[{"wa_id":"4915123456789","detail":"User requested to stop marketing messages","category":"marketing_messages","value":"stop","timestamp":1764325010}]}}]},
      {"id":"2","time":1764325020,"changes":[
        {"field":"message_template_status_update","value":{"event":"PAUSED","message_template_id":7,"message_template_name":"neue_bekanntmachung","message_template_language":"de","reason":"NONE"}},
        {"field":"template_category_update","value":{"message_template_id":7,"message_template_name":"neue_bekanntmachung","message_template_language":"de","previous_category":"UTILITY","new_category":"MARKETING"}}]}]}"#;
    let now = Timestamp::now();
    let p = parse(body, "42", &keywords(), now).unwrap();
    let kinds: Vec<_> = p.events.iter().map(|e| e.event.kind()).collect();
    assert_eq!(
        kinds,
        vec!["stop", "status", "marketing_stop", "template", "template"]
    );
    assert!(p.replies.is_empty(), "no number, no free-form answer");
    match &p.events[0].event {
        Event::Keyword { address, bsuid, .. } => {
            assert_eq!((address, bsuid.as_deref()), (&None, Some("DE.abc")));
        }
        other => panic!("{other:?}"),
    }
    match &p.events[1].event {
        Event::Status { bsuid, .. } => assert_eq!(bsuid.as_deref(), Some("DE.xyz")),
        other => panic!("{other:?}"),
    }
    match &p.events[2].event {
        Event::Preference {
            address,
            bsuid,
            value,
            at,
            ..
        } => {
            assert_eq!(address.as_deref(), Some("+4915123456789"));
            assert_eq!(bsuid.as_deref(), Some("DE.def"));
            assert_eq!(value, "stop");
            assert_eq!(*at, Timestamp::from_second(1764325010).unwrap());
        }
        other => panic!("{other:?}"),
    }
    match &p.events[3].event {
        Event::Template {
            name,
            status,
            reason,
            at,
            ..
        } => {
            assert_eq!(name, "neue_bekanntmachung");
            assert_eq!(status.as_deref(), Some("PAUSED"));
            assert_eq!(reason, &None);
            assert_eq!(*at, Timestamp::from_second(1764325020).unwrap());
        }
        other => panic!("{other:?}"),
    }
    match &p.events[4].event {
        Event::Template {
            category, status, ..
        } => {
            assert_eq!((category.as_deref(), status), (Some("MARKETING"), &None));
        }
        other => panic!("{other:?}"),
    }
    // a retry maps to the same ids; the debug form shows no number
    let again = parse(body, "42", &keywords(), now).unwrap();
    let ids: Vec<_> = p.events.iter().map(|e| e.id.clone()).collect();
    let ids_again: Vec<_> = again.events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, ids_again);
    assert!(ids.iter().all(|i| super::super::events::is_event_id(i)));
    assert!(!format!("{:?}", p.events).contains("23456789"));
}
