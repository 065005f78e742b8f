//! `scripts/install-aushang` against a local HTTP server (python3 -m http.server on 127.0.0.1)
//! serving a real release archive: the pinned checksum admits it, a tampered archive is refused
//! with nothing installed, and the cargo fallback is used only where it is allowed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use sha2::{Digest, Sha256};

const TARGET: &str = "x86_64-unknown-linux-musl";
const VERSION: &str = env!("CARGO_PKG_VERSION");

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `python3 -m http.server` on a free port of 127.0.0.1, serving `dir`.
fn serve(dir: &Path) -> Server {
    let mut child = Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "Serving HTTP on 127.0.0.1 port 43127 (http://127.0.0.1:43127/) ..."
    let port = line
        .split("port ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// A release archive as the release workflow packs it, holding `binary` as `aushang`.
fn archive(dir: &Path, binary: &Path) -> PathBuf {
    let name = format!("aushang-{VERSION}-{TARGET}");
    let staging = dir.join("staging");
    std::fs::create_dir_all(staging.join(&name)).unwrap();
    let inside = staging.join(&name).join("aushang");
    std::fs::copy(binary, &inside).unwrap();
    // Release binaries carry no debug info; stripping the test build keeps the archive small.
    let _ = Command::new("strip").arg(&inside).status();
    std::fs::copy("CHANGELOG.md", staging.join(&name).join("CHANGELOG.md")).unwrap();
    let out_dir = dir.join("releases").join(format!("v{VERSION}"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let file = out_dir.join(format!("{name}.tar.gz"));
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&file)
        .arg("-C")
        .arg(&staging)
        .arg(&name)
        .status()
        .unwrap();
    assert!(status.success());
    file
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn pin(dir: &Path, url: &str, sum: &str) -> PathBuf {
    let path = dir.join(".aushang-version");
    std::fs::write(
        &path,
        format!(
            "# test pin\nversion={VERSION}\nrelease_url={url}/v{{version}}\n\
             sha256-{TARGET}={sum}\nsha256-aarch64-apple-darwin={}\n",
            "f".repeat(64)
        ),
    )
    .unwrap();
    path
}

/// Runs the install script; `path_prefix` goes in front of PATH (for a fake cargo).
fn install(pin: &Path, dir: &Path, extra: &[&str], path_prefix: Option<&Path>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg("scripts/install-aushang")
        .arg("--pin")
        .arg(pin)
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .env_remove("AUSHANG_RELEASE_URL")
        .env("AUSHANG_TARGET", TARGET)
        .env_remove("AUSHANG_INSTALL_FALLBACK")
        .env_remove("AUSHANG_CARGO")
        .env_remove("GITHUB_ACTIONS");
    if let Some(prefix) = path_prefix {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", prefix.display()));
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_pinned_archive_is_installed_and_a_tampered_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let release = archive(tmp.path(), Path::new(env!("CARGO_BIN_EXE_aushang")));
    let server = serve(&tmp.path().join("releases"));
    let sum = sha256(&release);
    let pin = pin(tmp.path(), &server.url, &sum);

    let bin_dir = tmp.path().join("bin");
    let out = install(&pin, &bin_dir, &[], None);
    assert!(out.status.success(), "{}", text(&out));
    let version = Command::new(bin_dir.join("aushang"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("aushang {VERSION}")
    );

    // Someone swaps the archive on the server for one whose `aushang` does something else.
    let marker = tmp.path().join("ran");
    let evil = tmp.path().join("evil");
    std::fs::write(
        &evil,
        format!(
            "#!/bin/sh\ntouch '{}'\necho aushang {VERSION}\n",
            marker.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    archive(tmp.path(), &evil);
    assert_ne!(sha256(&release), sum);
    let fresh = tmp.path().join("fresh");
    let out = install(&pin, &fresh, &[], None);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ABGELEHNT"), "{}", text(&out));
    assert!(
        !fresh.join("aushang").exists(),
        "a tampered binary was installed"
    );
    // Over an existing installation: the old binary stays as it was.
    let before = std::fs::read(bin_dir.join("aushang")).unwrap();
    let out = install(&pin, &bin_dir, &[], None);
    assert!(!out.status.success());
    assert_eq!(std::fs::read(bin_dir.join("aushang")).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(&bin_dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    // The fallback is no way around a mismatch: cargo is never asked.
    let fake = fake_cargo(tmp.path());
    let out = install(&pin, &fresh, &["--cargo-fallback"], Some(&fake));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!tmp.path().join("cargo-called").exists());
}

/// A `cargo` that records its arguments and "installs" a script printing a version.
fn fake_cargo(dir: &Path) -> PathBuf {
    let bin = dir.join("fake-cargo");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\necho \"$@\" > '{}'\nwhile [ \"$1\" != --root ]; do shift; done\n\
         mkdir -p \"$2/bin\"\nprintf '#!/bin/sh\\necho aushang built\\n' > \"$2/bin/aushang\"\n\
         chmod +x \"$2/bin/aushang\"\n",
        dir.join("cargo-called").display()
    );
    let path = bin.join("cargo");
    std::fs::write(&path, script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn without_a_pinned_sum_nothing_is_downloaded_unless_the_cargo_fallback_is_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let server = serve(&empty);
    let pin = pin(tmp.path(), &server.url, "[[AUSFÜLLEN: SHA-256]]");
    let dir = tmp.path().join("bin");
    let out = install(&pin, &dir, &[], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&format!("für diesen Rechner ({TARGET}) keine SHA-256 fest")),
        "{}",
        text(&out)
    );
    assert!(!dir.join("aushang").exists());

    // aushang is not on crates.io: without a repository to build from, the fallback says so.
    let fake = fake_cargo(tmp.path());
    let out = install(&pin, &dir, &["--cargo-fallback"], Some(&fake));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("cargo_git="), "{}", text(&out));
    assert!(!tmp.path().join("cargo-called").exists());
    let mut with_repo = std::fs::read_to_string(&pin).unwrap();
    with_repo.push_str("cargo_git=https://example.org/stadt/aushang\n");
    std::fs::write(&pin, with_repo).unwrap();
    let out = install(&pin, &dir, &["--cargo-fallback"], Some(&fake));
    assert!(out.status.success(), "{}", text(&out));
    let args = std::fs::read_to_string(tmp.path().join("cargo-called")).unwrap();
    assert!(
        args.contains("install --locked")
            && args.contains(&format!(
                "--git https://example.org/stadt/aushang --tag v{VERSION}"
            ))
            && args.contains("--bin aushang"),
        "{args}"
    );
    assert!(dir.join("aushang").exists());

    // A pinned sum but a failed download (404): only with the fallback.
    let pin = self::pin(tmp.path(), &server.url, &"a".repeat(64));
    let other = tmp.path().join("other");
    let out = install(&pin, &other, &[], None);
    assert!(
        !out.status.success() && text(&out).contains("fehlgeschlagen"),
        "{}",
        text(&out)
    );
    assert!(!other.join("aushang").exists());
}

/// The town's CI step: the release has no archive for the runner (404 on the pinned address),
/// so `--cargo-fallback` builds the pinned tag with the `cargo` that `AUSHANG_CARGO` names, from
/// the repository the release address belongs to, and says so in a German notice.
#[test]
fn a_missing_release_asset_falls_back_to_cargo_install_from_the_release_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let server = serve(&empty);
    let pin = tmp.path().join(".aushang-version");
    std::fs::write(
        &pin,
        format!(
            "version={VERSION}\nrelease_url={}/stadt/aushang/releases/download/v{{version}}\n\
             sha256-{TARGET}={}\n",
            server.url,
            "a".repeat(64)
        ),
    )
    .unwrap();
    let fake = fake_cargo(tmp.path()).join("cargo");
    let dir = tmp.path().join("bin");
    // CI's own action runs exactly this command line.
    let action = include_str!("../src/town/templates/action.yml");
    assert!(
        action.contains("scripts/install-aushang --dir .aushang-bin --cargo-fallback"),
        "{action}"
    );
    let out = Command::new("bash")
        .arg("scripts/install-aushang")
        .arg("--pin")
        .arg(&pin)
        .args(["--dir"])
        .arg(&dir)
        .arg("--cargo-fallback")
        .env_remove("AUSHANG_RELEASE_URL")
        .env("AUSHANG_TARGET", TARGET)
        .env("AUSHANG_CARGO", &fake)
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    let args = std::fs::read_to_string(tmp.path().join("cargo-called")).unwrap();
    assert_eq!(
        args.split_whitespace()
            .filter(|a| !a.starts_with('/'))
            .collect::<Vec<_>>()
            .join(" "),
        format!(
            "install --locked --root --git {}/stadt/aushang --tag v{VERSION} --bin aushang aushang",
            server.url
        ),
        "{shown}"
    );
    assert!(
        shown.contains("::notice title=aushang wird aus dem Quelltext gebaut::")
            && shown.contains("Download von")
            && shown.contains("Rückfall"),
        "{shown}"
    );
    assert!(dir.join("aushang").exists());
    // Without the fallback flag the same pin installs nothing and fails with an error annotation.
    let other = tmp.path().join("other");
    let out = install(&pin, &other, &[], None);
    assert!(!out.status.success() && !other.join("aushang").exists());
}
