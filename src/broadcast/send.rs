//! Sending: delivers each due message to its recipients with bounded concurrency, a global rate
//! limit and per-error-class handling, recording every step in the journal.
//!
//! Order of writes per delivery: `sending` is in the journal before the request leaves, and the
//! outcome after it returns. A run killed in between leaves `sending`, which the next run reports
//! as uncertain instead of silently resending; at most `concurrency` deliveries can be in flight.
//!
//! Memory stays flat in the number of subscribers: the recipients arrive as a stream (the list is
//! decrypted and parsed while it is read), a blocking reader thread filters them against the
//! journal and feeds a bounded queue of `concurrency` places, and the workers take from it. What
//! is held per subscriber is only the journal's compact state of this message
//! ([`crate::delivery::delivered::DeliveryStates`]) and, with a daily limit, the ids reached in
//! the last 24 hours.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::broadcast::ratelimit::RateLimiter;
use crate::broadcast::report::MessageReport;
use crate::delivery::correlation::correlation;
use crate::delivery::errors::{ErrorClass, Scope};
use crate::delivery::journal::{
    DeliveryLine, DeliveryState, FailureClass, IdSet, IndexEvent, Journal,
};
use crate::delivery::message::Message;
use crate::delivery::outcome::Outcome;
use crate::providers::deliverer::{Deliverer, Rendered};
use crate::subscribers::{StoreError, Subscriber};

/// One message's recipients in list order, read from the list as they are needed.
pub type RecipientStream = Box<dyn Iterator<Item = Result<Subscriber, StoreError>> + Send>;

/// Retryable errors are retried this often within one run before being left for the next run.
const MAX_TRIES_PER_RUN: u32 = 4;
/// The circuit breaker looks at this many attempts before judging the failure share.
const BREAKER_MIN_ATTEMPTS: usize = 20;
/// Share of permanent failures (in percent) that signals a data problem rather than bad luck.
const BREAKER_PERCENT: usize = 30;

/// The run's clock: `--now` plus the real time elapsed, so scheduled tests stay consistent.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    base: Timestamp,
    started: Instant,
}

impl RunClock {
    pub fn new(base: Timestamp) -> RunClock {
        RunClock {
            base,
            started: Instant::now(),
        }
    }

    pub fn now(&self) -> Timestamp {
        let elapsed = jiff::SignedDuration::try_from(self.started.elapsed()).unwrap_or_default();
        self.base.checked_add(elapsed).unwrap_or(self.base)
    }
}

/// Everything one channel needs for a run.
pub struct Sender {
    pub deliverer: Arc<Deliverer>,
    pub journal: Arc<Journal>,
    pub limiter: Arc<RateLimiter>,
    pub concurrency: usize,
    pub daily_limit: Option<u32>,
    pub resend_uncertain: bool,
    /// `--run RUN`: only subscribers this run claimed are sent to.
    pub run: Option<String>,
    pub clock: RunClock,
    /// Subscribers reached on this channel in the last 24 hours; only kept with a daily limit.
    pub recent: Arc<Mutex<IdSet>>,
    /// Set when the run must stop; holds the reason.
    pub stop: Arc<Mutex<Option<String>>>,
    pub progress: indicatif::ProgressBar,
    /// The budget guard of a run without a claim (`--run` sends only what its claim budgeted).
    pub budget: Option<Arc<Mutex<crate::broadcast::budget::Guard>>>,
}

impl Sender {
    pub fn stopped(&self) -> Option<String> {
        self.stop.lock().expect("stop lock").clone()
    }

    /// Sends `message` to every subscriber in `recipients` who has not got it yet. `expected` is
    /// how many recipients the stream will yield (counted before the run), for the progress bar
    /// and for the report should the stream break off.
    pub async fn send_message(
        &self,
        message: &Message,
        rendered: Arc<Rendered>,
        recipients: RecipientStream,
        expected: usize,
        report: &mut MessageReport,
    ) -> std::io::Result<()> {
        let channel = self.deliverer.channel_name();
        let states =
            self.journal
                .delivery_states_for(message.keys(), channel, self.run.as_deref())?;
        if self.journal.started_at(&message.key, channel).is_none() {
            self.journal.record_index(
                &message.key,
                channel,
                IndexEvent::Started,
                self.clock.now(),
            )?;
        }
        self.progress.inc_length(expected as u64);
        let concurrency = self.concurrency.max(1);
        // Backpressure: the reader waits while `concurrency` subscribers are queued.
        let (queue, receiver) = tokio::sync::mpsc::channel(concurrency);
        let reader = Reader {
            states,
            resend_uncertain: self.resend_uncertain,
            claimed_only: self.run.is_some(),
            capacity: self.daily_limit.map(|limit| {
                (limit as usize).saturating_sub(self.recent.lock().expect("recent lock").len())
            }),
            recent: self.recent.clone(),
            stop: self.stop.clone(),
            progress: self.progress.clone(),
            budget: self.budget.clone().map(|g| (g, message.clone())),
        };
        let reading = tokio::task::spawn_blocking(move || reader.run(recipients, queue));
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(receiver),
            tally: Mutex::new(Tally::default()),
            failed_io: AtomicBool::new(false),
        });
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let worker = Worker {
                shared: shared.clone(),
                deliverer: self.deliverer.clone(),
                journal: self.journal.clone(),
                limiter: self.limiter.clone(),
                recent: self.daily_limit.is_some().then(|| self.recent.clone()),
                stop: self.stop.clone(),
                clock: self.clock,
                message: Arc::new(message.clone()),
                rendered: rendered.clone(),
                progress: self.progress.clone(),
            };
            workers.spawn(worker.run());
        }
        while let Some(joined) = workers.join_next().await {
            if let Err(e) = joined {
                tracing::error!("ein Versand-Teilprozess ist abgebrochen: {e}");
                shared.failed_io.store(true, Ordering::SeqCst);
            }
        }
        let read = reading.await.unwrap_or_else(|e| Filtered {
            broken: Some(format!(
                "das Lesen der Abonnentenliste ist fehlgeschlagen: {e}"
            )),
            ..Filtered::default()
        });
        report.skipped += read.skipped;
        report.uncertain += read.uncertain;
        report.deferred_by_limit += read.deferred_by_limit;
        report.deferred_by_budget += read.deferred_by_budget;
        report.budget_reason = report.budget_reason.take().or(read.budget_reason);
        // A run without a claim: who it held back without a journal line, for the reach (a
        // `--run` holds nobody back; its claim counted them).
        if self.run.is_none() {
            crate::delivery::held_back::record(
                self.journal.dir(),
                &crate::delivery::held_back::HeldBack {
                    t: self.clock.now(),
                    run: None,
                    msg: message.key.clone(),
                    ch: channel.into(),
                    by_limit: read.held_by_limit,
                    by_budget: read.held_by_budget,
                },
            )?;
        }
        report.not_attempted += read.not_attempted;
        report.not_claimed += read.not_claimed;
        if let Some(why) = &read.broken {
            // Everyone the stream did not reach is counted, so the report never hides them.
            report.not_attempted += expected.saturating_sub(read.seen);
            self.set_stop(why.clone());
        }
        let tally = std::mem::take(&mut *shared.tally.lock().expect("tally lock"));
        report.sent += tally.sent;
        report.retry_left += tally.retry_left;
        report.uncertain += tally.uncertain;
        report.not_attempted += tally.not_attempted;
        for (code, n) in tally.permanent {
            *report.permanent.entry(code).or_default() += n;
        }
        if shared.failed_io.load(Ordering::SeqCst) {
            return Err(std::io::Error::other(
                "das Schreiben des Journals ist fehlgeschlagen; der Lauf wurde abgebrochen",
            ));
        }
        report.complete = read.broken.is_none()
            && report.retry_left == 0
            && report.uncertain == 0
            && report.not_attempted == 0
            && report.not_claimed == 0
            && report.deferred_by_limit == 0
            && report.deferred_by_budget == 0;
        if report.complete {
            self.journal.record_index(
                &message.key,
                channel,
                IndexEvent::Completed,
                self.clock.now(),
            )?;
        }
        Ok(())
    }

    fn set_stop(&self, why: String) {
        let mut stop = self.stop.lock().expect("stop lock");
        if stop.is_none() {
            *stop = Some(why);
        }
    }
}

/// Reads one message's recipients on a blocking thread (decrypting is CPU work) and queues those
/// who still need it; counts the others for the report.
struct Reader {
    states: crate::delivery::journal::DeliveryStates,
    resend_uncertain: bool,
    /// `--run`: send only to subscribers this run claimed.
    claimed_only: bool,
    /// New people the daily limit still allows; `None` without a limit.
    capacity: Option<usize>,
    recent: Arc<Mutex<IdSet>>,
    stop: Arc<Mutex<Option<String>>>,
    progress: indicatif::ProgressBar,
    /// The run's budget guard and the message it charges.
    budget: Option<(Arc<Mutex<crate::broadcast::budget::Guard>>, Message)>,
}

#[derive(Default)]
struct Filtered {
    /// Recipients the stream yielded.
    seen: usize,
    skipped: usize,
    uncertain: usize,
    deferred_by_limit: usize,
    deferred_by_budget: usize,
    budget_reason: Option<String>,
    /// Of the deferred, those without a line in the journal for this message.
    held_by_limit: u64,
    held_by_budget: u64,
    not_attempted: usize,
    /// Not claimed by this `--run` (new since the claim, or left for a later run).
    not_claimed: usize,
    /// Why the stream broke off, if it did.
    broken: Option<String>,
}

impl Reader {
    fn run(
        mut self,
        recipients: RecipientStream,
        queue: tokio::sync::mpsc::Sender<(u32, Subscriber)>,
    ) -> Filtered {
        let mut out = Filtered::default();
        for row in recipients {
            let sub = match row {
                Ok(sub) => sub,
                Err(e) => {
                    out.broken = Some(format!(
                        "die Abonnentenliste ließ sich nicht weiterlesen: {e}; an den Rest der Liste \
                         wurde nichts gesendet"
                    ));
                    break;
                }
            };
            out.seen += 1;
            // Whoever is not queued is not a message to send: the bar's total shrinks.
            if self.stop.lock().expect("stop lock").is_some() {
                out.not_attempted += 1;
            } else if self.states.is_final(&sub.id) {
                out.skipped += 1;
            } else if self.claimed_only && !self.states.is_claimed(&sub.id) {
                // Another run's claim without outcome is uncertain; anyone else waits for a
                // run that claims them first.
                if self.states.is_uncertain(&sub.id) {
                    out.uncertain += 1;
                } else {
                    out.not_claimed += 1;
                }
            } else if self.states.is_uncertain(&sub.id) && !self.resend_uncertain {
                out.uncertain += 1;
            } else if let Some(why) = self.over_budget() {
                out.deferred_by_budget += 1;
                out.budget_reason.get_or_insert(why);
                out.held_by_budget += u64::from(!self.states.knows(&sub.id));
            } else if !self.within_limit(&sub.id) {
                out.deferred_by_limit += 1;
                out.held_by_limit += u64::from(!self.states.knows(&sub.id));
            } else {
                self.charge();
                let attempts = self.states.attempts(&sub.id);
                if queue.blocking_send((attempts, sub)).is_err() {
                    // Every worker is gone (they only end early by failing): stop reading.
                    out.not_attempted += 1;
                    out.broken = Some("die Sende-Aufgaben wurden beendet".into());
                    break;
                }
                continue;
            }
            self.progress.dec_length(1);
        }
        out
    }

    /// Why the budget does not allow one more message, if it does not.
    fn over_budget(&self) -> Option<String> {
        let (guard, message) = self.budget.as_ref()?;
        guard.lock().expect("budget lock").refusal(message)
    }

    /// Charges one message to the budget (queued: conservative even if it then fails).
    fn charge(&self) {
        if let Some((guard, message)) = &self.budget {
            guard.lock().expect("budget lock").take(message);
        }
    }

    /// Whether the daily limit lets this subscriber be sent to: someone reached in the last 24
    /// hours does not count again.
    fn within_limit(&mut self, id: &str) -> bool {
        let Some(capacity) = &mut self.capacity else {
            return true;
        };
        if self.recent.lock().expect("recent lock").contains(id) {
            true
        } else if *capacity > 0 {
            *capacity -= 1;
            true
        } else {
            false
        }
    }
}

#[derive(Default)]
struct Tally {
    sent: usize,
    attempts: usize,
    permanent: std::collections::BTreeMap<i64, usize>,
    permanent_total: usize,
    retry_left: usize,
    uncertain: usize,
    not_attempted: usize,
}

struct Shared {
    queue: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<(u32, Subscriber)>>,
    tally: Mutex<Tally>,
    failed_io: AtomicBool,
}

struct Worker {
    shared: Arc<Shared>,
    deliverer: Arc<Deliverer>,
    journal: Arc<Journal>,
    limiter: Arc<RateLimiter>,
    /// Set when there is a daily limit to count against.
    recent: Option<Arc<Mutex<IdSet>>>,
    stop: Arc<Mutex<Option<String>>>,
    clock: RunClock,
    message: Arc<Message>,
    rendered: Arc<Rendered>,
    progress: indicatif::ProgressBar,
}

impl Worker {
    async fn run(self) {
        loop {
            let next = self.shared.queue.lock().await.recv().await;
            let Some((previous_attempts, sub)) = next else {
                break;
            };
            if self.stopped() {
                // Not worth a rate-limit slot: the rest of the queue is only counted.
                self.tally().not_attempted += 1;
            } else if let Err(e) = self.deliver(previous_attempts, &sub).await {
                tracing::error!("das Journal lässt sich nicht schreiben: {e}");
                self.shared.failed_io.store(true, Ordering::SeqCst);
                self.set_stop(format!("das Journal lässt sich nicht schreiben: {e}"));
            }
            self.progress.inc(1);
        }
    }

    fn stopped(&self) -> bool {
        self.stop.lock().expect("stop lock").is_some()
    }

    fn set_stop(&self, why: String) {
        let mut stop = self.stop.lock().expect("stop lock");
        if stop.is_none() {
            *stop = Some(why);
        }
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.shared.tally.lock().expect("tally lock")
    }

    /// Stops the run when too large a share of the attempts so far failed permanently. Judged
    /// after every attempt (not only after a failure), so failures bunched at the start of the
    /// list — one bad import batch — trip it as soon as enough attempts are in.
    fn check_breaker(&self, t: std::sync::MutexGuard<'_, Tally>) {
        if t.attempts >= BREAKER_MIN_ATTEMPTS
            && t.permanent_total * 100 > t.attempts * BREAKER_PERCENT
        {
            let why = format!(
                "Notbremse: {} von {} Zustellungen endgültig fehlgeschlagen – das deutet eher auf ein \
                 Datenproblem (z. B. Nummern ohne Ländervorwahl) als auf Pech",
                t.permanent_total, t.attempts
            );
            drop(t);
            self.set_stop(why);
        }
    }

    async fn deliver(&self, previous_attempts: u32, sub: &Subscriber) -> std::io::Result<()> {
        let channel = self.deliverer.channel_name();
        let key = &self.message.key;
        let mut tries = 0;
        loop {
            self.limiter.acquire().await;
            if self.stopped() {
                self.tally().not_attempted += 1;
                return Ok(());
            }
            tries += 1;
            let attempt = previous_attempts + tries;
            let line = |state, id, code, class| DeliveryLine {
                t: self.clock.now(),
                sub: sub.id.clone(),
                state,
                id,
                code,
                class,
                attempt: Some(attempt),
                run: None,
            };
            self.journal.record(
                key,
                channel,
                &line(DeliveryState::Sending, None, None, None),
            )?;
            let correlation = correlation(key, &sub.id, attempt);
            let outcome = self
                .deliverer
                .deliver(&self.message, &self.rendered, sub, &correlation)
                .await;
            match outcome {
                Outcome::Sent { id } => {
                    self.journal.record(
                        key,
                        channel,
                        &line(DeliveryState::Sent, Some(id), None, None),
                    )?;
                    self.limiter.on_success();
                    if let Some(recent) = &self.recent {
                        recent.lock().expect("recent lock").insert(&sub.id);
                    }
                    let mut t = self.tally();
                    t.sent += 1;
                    t.attempts += 1;
                    self.check_breaker(t);
                    return Ok(());
                }
                Outcome::Uncertain { detail } => {
                    tracing::warn!(
                        "keine Antwort für Abonnent {} ({detail}); wird nicht erneut gesendet",
                        sub.id
                    );
                    self.journal.record(
                        key,
                        channel,
                        &line(DeliveryState::Uncertain, None, None, None),
                    )?;
                    self.tally().uncertain += 1;
                    return Ok(());
                }
                Outcome::Failed {
                    code,
                    class: ErrorClass::Permanent,
                    detail,
                } => {
                    tracing::info!(
                        "Abonnent {}: endgültig fehlgeschlagen {}: {detail}",
                        sub.id,
                        code.map_or("(ohne Code)".into(), |c| c.to_string())
                    );
                    let record = line(
                        DeliveryState::Failed,
                        None,
                        code,
                        Some(FailureClass::Permanent),
                    );
                    self.journal.record(key, channel, &record)?;
                    let mut t = self.tally();
                    *t.permanent.entry(code.unwrap_or(0)).or_default() += 1;
                    t.permanent_total += 1;
                    t.attempts += 1;
                    self.check_breaker(t);
                    return Ok(());
                }
                Outcome::Failed {
                    code,
                    class: ErrorClass::Fatal,
                    detail,
                } => {
                    let record = line(DeliveryState::Failed, None, code, Some(FailureClass::Fatal));
                    self.journal.record(key, channel, &record)?;
                    self.set_stop(format!(
                        "schwerer Fehler {}: {detail}",
                        code.map_or("-".into(), |c| c.to_string())
                    ));
                    self.tally().retry_left += 1;
                    return Ok(());
                }
                Outcome::Failed {
                    code,
                    class: ErrorClass::Retry { scope, backoff },
                    detail,
                } => {
                    let record = line(DeliveryState::Failed, None, code, Some(FailureClass::Retry));
                    self.journal.record(key, channel, &record)?;
                    if code == Some(130429) {
                        self.limiter.on_throttled();
                    }
                    let wait = backoff.delay(tries);
                    let exhausted = tries >= MAX_TRIES_PER_RUN || !backoff.may_retry(tries);
                    tracing::debug!(
                        "subscriber {}: retryable {} ({detail}), try {tries}",
                        sub.id,
                        code.map_or("(ohne Code)".into(), |c| c.to_string())
                    );
                    if exhausted {
                        self.tally().retry_left += 1;
                        return Ok(());
                    }
                    match scope {
                        Scope::RunWide => self.limiter.pause_for(wait),
                        Scope::Recipient => tokio::time::sleep(wait).await,
                    }
                }
            }
        }
    }
}

/// Waits until `url` answers 200, for at most `timeout` (the deploy may still be finishing).
pub async fn wait_for_link(url: &str, timeout: Duration) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    loop {
        let last = match client.get(url).send().await {
            Ok(r) if r.status() == reqwest::StatusCode::OK => return Ok(()),
            Ok(r) => format!("HTTP {}", r.status()),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(format!("{url} antwortete nicht mit 200 ({last})"));
        }
        tokio::time::sleep(Duration::from_secs(5).min(timeout)).await;
    }
}
