//! STARTTLS and TLS against aiosmtpd with a test CA: verified, never plain, an untrusted
//! certificate or a server without STARTTLS fatal at once.

use std::path::{Path, PathBuf};
use std::process::Command;

use aushang::delivery::journal::FailureClass;

use crate::support::*;

/// A test CA and a leaf certificate for 127.0.0.1 signed by it (webpki rejects a self-signed
/// certificate used as its own CA), made with the openssl command-line tool.
fn test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("the TLS tests need the openssl command-line tool (apt-get install openssl)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=aushang test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    )
}

fn tls_markers(smtp: &Smtp) -> usize {
    std::fs::read_dir(smtp.maildir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "tls")
        })
        .count()
}

#[test]
fn starttls_and_tls_are_verified_and_never_fall_back_to_plain() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_certificates(certs.path());
    for mode in ["starttls", "tls"] {
        let smtp = Smtp::start_with(&[
            ("SMTP_TLS_CERT", &cert),
            ("SMTP_TLS_KEY", &key),
            ("SMTP_TLS_MODE", Path::new(mode)),
        ]);
        let site = Site::new(&smtp, "");
        let yaml = site.root.join("aushang.yaml");
        let text = std::fs::read_to_string(&yaml).unwrap();
        std::fs::write(
            &yaml,
            text.replace("security: none", &format!("security: {mode}")),
        )
        .unwrap();
        // a certificate from an unknown CA: fatal, nothing sent in plain instead
        let (code, out) = site.broadcast(
            &["--channel", "email"],
            &[("SSL_CERT_FILE", "/nonexistent")],
        );
        assert_ne!(code, 0, "{mode}: {out}");
        assert!(smtp.mails().is_empty(), "{mode}: {out}");
        // a configuration error, not an outage: fatal at once, no waiting and retrying
        let journal = site.journal();
        assert!(!journal.is_empty(), "{out}");
        assert!(
            journal
                .values()
                .all(|l| l.class == Some(FailureClass::Fatal)),
            "{mode}: {journal:?}"
        );
        // the town's CA trusted (as the system's roots would be): every mail over TLS
        let ca = ca.to_str().unwrap();
        let (code, out) = site.broadcast(&["--channel", "email"], &[("SSL_CERT_FILE", ca)]);
        assert_eq!(code, 0, "{mode}: {out}");
        assert_eq!(smtp.mails().len(), 3, "{mode}: {out}");
        assert_eq!(tls_markers(&smtp), 3, "{mode}: every mail went over TLS");
    }
    // a server without STARTTLS: refused, never sent in plain
    let plain = Smtp::start();
    let site = Site::new(&plain, "");
    let yaml = site.root.join("aushang.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, text.replace("security: none", "security: starttls")).unwrap();
    let (code, out) = site.broadcast(&["--channel", "email"], &[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.to_lowercase().contains("starttls"), "{out}");
    assert!(plain.mails().is_empty());
}
