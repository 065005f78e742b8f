//! `aushang serve`: a live preview for editors. Builds the site into a temporary folder, serves it
//! on 127.0.0.1, rebuilds when a source changes and reloads open browser tabs; shows build errors
//! in the browser instead of stopping; shows each notice's broadcast message on a page of its own
//! (`/_vorschau/<notice path>`).
//!
//! Nothing of the preview (reload script, banner) is ever written into the built files: it is
//! added to HTML pages only as the server sends them.

pub mod changes;
pub mod http;
pub mod incremental;
pub mod pages;
pub mod rebuild;
pub mod watch;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use anyhow::Context as _;

use crate::diagnostics::{self, Format};
use changes::OutputIndex;
use http::{Reload, Shared};
use incremental::Partial;
use rebuild::{Clock, Settings, Snapshot, Workspace};
use watch::SourceWatcher;

/// What `aushang serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub root: PathBuf,
    /// 0 lets the system pick a free port (the address is printed).
    pub port: u16,
    pub include_drafts: bool,
    pub clock: Clock,
}

/// Runs the preview until Ctrl+C (or SIGTERM). Fails only when it cannot start: the port is
/// taken, the temporary folder cannot be made, the sources cannot be watched.
pub fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let root = opts.root.canonicalize().with_context(|| {
        format!(
            "der Ordner der Website {} existiert nicht",
            opts.root.display()
        )
    })?;
    // The served site lives in a temporary folder, removed when the preview ends.
    let temp = tempfile::Builder::new()
        .prefix("aushang-serve-")
        .tempdir()
        .context("der Vorschau-Ordner lässt sich nicht anlegen")?;
    let out = temp.path().join("site");
    let mut workspace = Workspace::new(Settings {
        root: root.clone(),
        out_dir: out.clone(),
        include_drafts: opts.include_drafts,
        clock: opts.clock,
    });
    let first = workspace.rebuild(&[]);
    print_outcome(&first, "");
    let shared = Arc::new(Shared::new(out, first));

    let (tx, rx) = std::sync::mpsc::channel();
    let watcher = SourceWatcher::start(&root, tx)
        .context("die Dateien der Website lassen sich nicht beobachten")?;
    let rebuilder = shared.clone();
    std::thread::Builder::new()
        .name("aushang-rebuild".into())
        .spawn(move || rebuild_loop(workspace, watcher, rx, &rebuilder))
        .context("der Neuerstellungs-Thread startet nicht")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("der Webserver startet nicht")?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "127.0.0.1:{} lässt sich nicht öffnen (läuft schon eine Vorschau? --port wählen) (Meldung des Systems: {e})",
                    opts.port
                )
            })?;
        let addr = listener.local_addr()?;
        // Below a sub-path base_url the site is served under that path, as on the real host.
        let base = shared
            .snapshot()
            .config
            .as_deref()
            .map_or_else(|| "/".to_string(), |c| c.base_path().to_string());
        println!(
            "Vorschau: http://{addr}{base}  (Nachrichten: http://{addr}/_vorschau/; beenden mit Strg+C)"
        );
        let _ = std::io::stdout().flush();
        tokio::select! {
            r = axum::serve(listener, http::router(shared)) => r.context("der Webserver wurde beendet"),
            () = shutdown_signal() => Ok(()),
        }
    });
    // Open event streams would keep the runtime busy; the preview folder goes with `temp`.
    runtime.shutdown_background();
    drop(temp);
    result
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// How long a failed rebuild waits for more changes before it shows the errors.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(250);

/// How long the editor must pause after a partial rebuild before the full rebuild checks it.
const IDLE: std::time::Duration = std::time::Duration::from_millis(1500);

/// Rebuilds after each batch of changes (batches that arrived meanwhile are merged) and tells
/// open tabs to reload when the output or the error state changed.
///
/// An edit of notices only renders the files that depend on them (a few milliseconds); once the
/// editor pauses, a full rebuild follows as a safety net (it also shows notices that were
/// scheduled or expired meanwhile) and normally rewrites nothing.
fn rebuild_loop(
    mut workspace: Workspace,
    mut watcher: SourceWatcher,
    changes: Receiver<Vec<PathBuf>>,
    shared: &Shared,
) {
    use std::sync::mpsc::RecvTimeoutError;
    let out = workspace.settings().out_dir.clone();
    let root = workspace.settings().root.clone();
    let mut index = OutputIndex::default();
    index.update(&out);
    let mut check_pending = false;
    loop {
        let mut batch = if check_pending {
            match changes.recv_timeout(IDLE) {
                Ok(batch) => batch,
                Err(RecvTimeoutError::Timeout) => {
                    check_pending = false;
                    let snap = workspace.rebuild(&[]);
                    let changed = index.update(&out);
                    // Normally "0 Dateien neu geschrieben": the partial rebuilds were complete.
                    print_outcome(&snap, "Kontrolle nach der Pause: ");
                    let reload = match &snap.result {
                        Ok(_) => Reload::Paths(changed),
                        Err(_) => Reload::Everything,
                    };
                    shared.publish(snap, reload);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match changes.recv() {
                Ok(batch) => batch,
                Err(_) => break,
            }
        };
        while let Ok(more) = changes.try_recv() {
            batch.extend(more);
        }
        batch.sort();
        batch.dedup();
        watcher.watch_new_dirs();
        let before = shared.snapshot();
        if before.result.is_ok()
            && let Some(done) = workspace.partial(&batch)
        {
            print_partial(&done, &what_changed(&batch, &root));
            index.update_files(&out, &done.changed);
            shared.publish(done.snapshot, Reload::Paths(done.changed));
            check_pending = true;
            continue;
        }
        check_pending = false;
        let snap = loop {
            let snap = workspace.rebuild(&batch);
            if snap.result.is_ok() {
                break snap;
            }
            // Many editors save by truncating and then writing: a file caught half-written is
            // not worth an error page if the rest of the save follows at once.
            match changes.recv_timeout(SETTLE) {
                Ok(more) => batch.extend(more),
                Err(_) => break snap,
            }
        };
        print_outcome(&snap, &what_changed(&batch, &root));
        let changed = index.update(&out);
        let reload = match (&before.result, &snap.result) {
            (Ok(_), Ok(_)) => Reload::Paths(changed),
            (Err(a), Err(b)) if a == b => Reload::Nothing,
            _ => Reload::Everything,
        };
        shared.publish(snap, reload);
    }
}

/// The terminal line of a partial rebuild (benchmarks read the figures from it).
fn print_partial(done: &Partial, what: &str) {
    if !done.snapshot.warnings.is_empty() {
        eprint!(
            "{}",
            diagnostics::render(&done.snapshot.warnings, Format::Human)
        );
    }
    let p = done.phases;
    println!(
        "{what}{} abhängige Dateien neu erstellt, {} geändert, in {} ms (laden {} ms, planen {} ms, schreiben {} ms)",
        done.rendered,
        done.changed.len(),
        done.snapshot.took.as_millis(),
        p.load.as_millis(),
        p.plan.as_millis(),
        p.render.as_millis()
    );
    let _ = std::io::stdout().flush();
}

/// `content/x.md: ` or `3 Dateien geändert: ` to start a terminal line.
fn what_changed(changed: &[PathBuf], root: &Path) -> String {
    match changed {
        [] => String::new(),
        [one] => format!("{}: ", one.strip_prefix(root).unwrap_or(one).display()),
        many => format!("{} Dateien geändert: ", many.len()),
    }
}

/// One line per rebuild in the terminal, or every problem as `aushang build` prints them.
fn print_outcome(snap: &Snapshot, what: &str) {
    if !snap.warnings.is_empty() {
        eprint!("{}", diagnostics::render(&snap.warnings, Format::Human));
    }
    match &snap.result {
        Ok(r) => println!(
            "{what}Website erstellt in {} ms ({} Dateien neu geschrieben, {} Bekanntmachungen veröffentlicht)",
            snap.took.as_millis(),
            r.files_changed,
            r.notices_published
        ),
        Err(problems) => {
            eprint!("{}", diagnostics::render(problems, Format::Human));
            eprintln!(
                "{what}die Website kann nicht erstellt werden ({} Fehler); der Browser zeigt die Fehler, bis sie behoben sind",
                problems.iter().filter(|p| p.is_error()).count()
            );
        }
    }
    let _ = std::io::stdout().flush();
}
