//! Which aushang a site needs: the `aushang:` key of `aushang.yaml` (a version requirement such as
//! `">=0.2"`) and the release pinned in `.aushang-version`. `check` compares both with the running
//! binary — offline, without asking any server whether a newer release exists.

use std::path::Path;

use semver::{Version, VersionReq};

use crate::config::CONFIG_FILE;
use crate::diagnostics::Problem;

/// The version of this binary.
pub const RUNNING: &str = env!("CARGO_PKG_VERSION");

/// The requirement `init` writes for a site made by `version`: that minor release or newer.
pub fn requirement_for(version: &str) -> String {
    match Version::parse(version) {
        Ok(v) if v.major == 0 => format!(">={}.{}", v.major, v.minor),
        Ok(v) => format!(">={}", v.major),
        Err(_) => format!(">={version}"),
    }
}

/// Problems with the site's requirement and pin compared with the running binary.
pub fn check(root: &Path, requirement: Option<&str>) -> Vec<Problem> {
    check_against(
        root,
        requirement,
        &Version::parse(RUNNING).expect("Cargo's version"),
    )
}

fn check_against(root: &Path, requirement: Option<&str>, running: &Version) -> Vec<Problem> {
    let mut problems = Vec::new();
    let config_text = std::fs::read_to_string(root.join(CONFIG_FILE)).unwrap_or_default();
    let at = |p: Problem, text: &str, key: &str| match line_of(text, key) {
        Some(line) => p.at(text, line, 1),
        None => p,
    };
    let req = match requirement.map(|r| (r, VersionReq::parse(r))) {
        None => None,
        Some((r, Err(e))) => {
            problems.push(at(
                Problem::error(
                    CONFIG_FILE,
                    format!("`aushang: {r}` ist keine Versionsangabe: {e}"),
                )
                .with_hint("z. B. aushang: \">=0.2\""),
                &config_text,
                "aushang",
            ));
            None
        }
        Some((r, Ok(req))) => {
            if !req.matches(running) {
                problems.push(at(
                    Problem::error(
                        CONFIG_FILE,
                        format!("diese Website braucht aushang {r}, dieses Programm ist {running}"),
                    )
                    .with_hint(
                        "installieren Sie die Version aus .aushang-version (scripts/install-aushang)",
                    ),
                    &config_text,
                    "aushang",
                ));
            }
            Some((r, req))
        }
    };
    let pin_file = super::PIN_FILE;
    let Ok(pin_text) = std::fs::read_to_string(root.join(pin_file)) else {
        return problems;
    };
    let Some(raw) = pin_text
        .lines()
        .find_map(|l| l.trim().strip_prefix("version="))
        .map(str::trim)
    else {
        problems.push(Problem::error(pin_file, "die Zeile version=… fehlt"));
        return problems;
    };
    let pinned = match Version::parse(raw) {
        Ok(v) => v,
        Err(e) => {
            problems.push(at(
                Problem::error(pin_file, format!("`{raw}` ist keine Version: {e}")),
                &pin_text,
                "version",
            ));
            return problems;
        }
    };
    if let Some((r, req)) = &req
        && !req.matches(&pinned)
    {
        problems.push(at(
            Problem::error(
                pin_file,
                format!("festgelegt ist aushang {pinned}, aber aushang.yaml verlangt {r}"),
            )
            .with_hint("setzen Sie version= und die Prüfsummen auf eine passende Version"),
            &pin_text,
            "version",
        ));
    }
    if pinned > *running {
        problems.push(at(
            Problem::warning(
                pin_file,
                format!(
                    "festgelegt ist aushang {pinned}, dieses Programm ist älter ({running}); die \
                     Prüfung kann von der in CI abweichen"
                ),
            )
            .with_hint("installieren Sie die festgelegte Version: scripts/install-aushang"),
            &pin_text,
            "version",
        ));
    }
    problems
}

/// The 1-based line where `key` starts a line (`key:` or `key=`).
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':') || rest.starts_with('='))
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(config: &str, pin: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), config).unwrap();
        if let Some(pin) = pin {
            std::fs::write(dir.path().join(super::super::PIN_FILE), pin).unwrap();
        }
        dir
    }

    #[test]
    fn requirement_is_the_minor_release_for_zero_versions() {
        assert_eq!(requirement_for("0.2.0"), ">=0.2");
        assert_eq!(requirement_for("1.4.2"), ">=1");
    }

    #[test]
    fn an_older_binary_is_an_error_naming_the_line() {
        let dir = site("title: x\naushang: \">=0.3\"\n", None);
        let p = check_against(dir.path(), Some(">=0.3"), &Version::new(0, 2, 0));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].is_error() && p[0].line == Some(2), "{p:?}");
        assert!(p[0].message.contains(">=0.3") && p[0].message.contains("0.2.0"));
        assert!(check_against(dir.path(), Some(">=0.3"), &Version::new(0, 3, 1)).is_empty());
    }

    #[test]
    fn a_bad_requirement_is_an_error() {
        let dir = site("aushang: banana\n", None);
        let p = check_against(dir.path(), Some("banana"), &Version::new(0, 2, 0));
        assert!(p[0].is_error() && p[0].line == Some(1), "{p:?}");
    }

    #[test]
    fn a_newer_pin_warns_and_a_pin_below_the_requirement_is_an_error() {
        let dir = site("aushang: \">=0.2\"\n", Some("# c\nversion=0.4.1\n"));
        let p = check_against(dir.path(), Some(">=0.2"), &Version::new(0, 2, 0));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(!p[0].is_error() && p[0].line == Some(2), "{p:?}");
        let dir = site("aushang: \">=0.3\"\n", Some("version=0.2.0\n"));
        let p = check_against(dir.path(), Some(">=0.3"), &Version::new(0, 3, 0));
        assert!(
            p.iter()
                .any(|p| p.is_error() && p.file.ends_with(".aushang-version")),
            "{p:?}"
        );
    }
}
