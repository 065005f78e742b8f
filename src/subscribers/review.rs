//! What `aushang check` (and so the pull request check) says about who can read the list:
//!
//! * every key added to or removed from `subscribers/recipients.txt` since the base branch is an
//!   error on its line — the reviewer sees which key would get to read every number once someone
//!   runs `rekey` (saves refuse a changed file until then, see [`super::keyset`]);
//! * a changed encrypted list in a pull request is a warning: nobody without a key can see what
//!   it holds;
//! * `recipients.txt` naming the demo key while the demo key cannot open the list is an error,
//!   with or without git.
//!
//! The base is compared with `git` (the merge base of `HEAD` and the base branch, so only this
//! branch's own changes count). Outside a git repository, or without git, nothing is said.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::store::{
    self, DEMO_RECIPIENT, Identity, LIST_FILE, RECIPIENTS_FILE, Recipients, demo_identity_path,
};
use crate::diagnostics::Problem;

/// The environment variable GitHub sets to the target branch in pull request workflows.
pub const BASE_ENV: &str = "GITHUB_BASE_REF";

fn recipients_display() -> PathBuf {
    Path::new("subscribers").join(RECIPIENTS_FILE)
}

/// The base to compare with: `explicit` (`check --base`), else `GITHUB_BASE_REF` when set.
pub fn base_ref(explicit: Option<&str>) -> Option<String> {
    explicit
        .map(str::to_string)
        .or_else(|| std::env::var(BASE_ENV).ok())
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
}

fn git(root: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

/// The commit to compare with: the merge base of `HEAD` and `base` (`origin/<base>` first, as a
/// pull request checkout has it), or `base` itself when the history is too shallow for one.
fn base_commit(root: &Path, base: &str) -> Option<String> {
    let commit = [format!("refs/remotes/origin/{base}"), base.to_string()]
        .iter()
        .find_map(|r| {
            git(
                root,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{r}^{{commit}}"),
                ],
            )
        })?;
    let commit = String::from_utf8_lossy(&commit).trim().to_string();
    let merge_base = git(root, &["merge-base", "HEAD", &commit])
        .map(|b| String::from_utf8_lossy(&b).trim().to_string());
    Some(merge_base.filter(|b| !b.is_empty()).unwrap_or(commit))
}

/// Each key line of a recipients file: (line, key, holder from the comment above).
fn keys(text: &str) -> Vec<(usize, String, Option<String>)> {
    super::store::key_lines(text)
        .into_iter()
        .map(|(line, key, holder)| (line, key.to_string(), holder))
        .collect()
}

/// Changes of `recipients.txt` and of the encrypted list since `base` (see the module docs).
pub fn changes_since(root: &Path, base: &str) -> Vec<Problem> {
    if git(root, &["rev-parse", "--is-inside-work-tree"]).is_none() {
        return Vec::new();
    }
    let file = recipients_display();
    let Some(commit) = base_commit(root, base) else {
        return vec![
            Problem::warning(
                &file,
                format!(
                    "{RECIPIENTS_FILE} lässt sich nicht mit dem Basis-Branch `{base}` vergleichen: er fehlt in diesem Klon, hinzugefügte Schlüssel werden also nicht angezeigt"
                ),
            )
            .with_hint(format!(
                "ihn holen (`git fetch origin {base}`); in GitHub Actions mit `fetch-depth: 0` auschecken"
            )),
        ];
    };
    let git_path = format!("{commit}:./subscribers/{RECIPIENTS_FILE}");
    let before = git(root, &["show", &git_path])
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let now = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
    let (old, new) = (keys(&before), keys(&now));
    let mut problems = Vec::new();
    let hint = "nur eine Administratorin oder ein Administrator, die die Liste lesen können, ändert mit \
                `aushang subscribers rekey`, wer sie lesen kann (docs/subscribers.md); eine Änderung \
                dieser Datei, die nicht von ihnen stammt, nicht übernehmen";
    for (line, key, holder) in &new {
        if !old.iter().any(|(_, k, _)| k == key) {
            let holder = holder
                .as_deref()
                .unwrap_or("ohne Namen der Inhaberin oder des Inhabers");
            problems.push(
                Problem::error(
                    &file,
                    format!(
                        "dieser Pull Request fügt den Schlüssel {key} ({holder}) hinzu: wer ihn besitzt, könnte jede Nummer der Abonnenten lesen"
                    ),
                )
                .at(&now, *line, 1)
                .with_hint(hint),
            );
        }
    }
    for (_, key, holder) in &old {
        if !new.iter().any(|(_, k, _)| k == key) {
            let holder = holder
                .as_deref()
                .unwrap_or("ohne Namen der Inhaberin oder des Inhabers");
            problems.push(
                Problem::error(
                    &file,
                    format!(
                        "dieser Pull Request entfernt den Schlüssel {key} ({holder}) aus {RECIPIENTS_FILE}"
                    ),
                )
                .with_hint(hint),
            );
        }
    }
    let list = format!("subscribers/{LIST_FILE}");
    if git(root, &["diff", "--quiet", &commit, "--", &list]).is_none() && root.join(&list).exists()
    {
        problems.push(
            Problem::warning(
                Path::new(&list),
                "dieser Pull Request ändert die verschlüsselte Abonnentenliste: ohne Schlüssel kann niemand sehen, was sie enthält",
            )
            .with_hint(
                "nur übernehmen, wenn eine Administratorin oder ein Administrator die Liste mit `aushang subscribers …` geändert hat",
            ),
        );
    }
    problems
}

/// An error when `recipients.txt` names the demo key (whose secret is public) but the demo key
/// cannot open the list: the list is a real one, and the next `rekey` must not let it in.
pub fn demo_key_problems(subscribers_dir: &Path) -> Vec<Problem> {
    let Ok(recipients) = Recipients::load(subscribers_dir) else {
        return Vec::new();
    };
    if !recipients.includes_demo_key() || !store::list_path(subscribers_dir).exists() {
        return Vec::new();
    }
    let demo = Identity::from_file(&demo_identity_path(subscribers_dir)).ok();
    if demo
        .as_ref()
        .is_some_and(|d| store::can_open(subscribers_dir, d))
    {
        return Vec::new(); // the example's own demo list
    }
    let mut demo_keys = vec![DEMO_RECIPIENT.to_string()];
    demo_keys.extend(demo.map(|d| d.public_keys()).unwrap_or_default());
    let text = std::fs::read_to_string(&recipients.path).unwrap_or_default();
    recipients
        .entries
        .iter()
        .filter(|r| demo_keys.contains(&r.key.to_string()))
        .map(|r| {
            Problem::error(
                recipients_display(),
                format!(
                    "{RECIPIENTS_FILE} nennt den Demo-Schlüssel {}, dessen geheimer Schlüssel öffentlich ist, aber der Demo-Schlüssel kann diese Abonnentenliste nicht öffnen",
                    r.key
                ),
            )
            .at(&text, r.line, 1)
            .with_hint("den Demo-Schlüssel entfernen; im Repository einer echten Gemeinde auch subscribers/demo-identity.txt löschen")
        })
        .collect()
}
