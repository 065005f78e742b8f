//! The global send-rate limiter shared by all concurrent senders of a run: even spacing at the
//! current rate, a hard sliding-window cap at the configured rate, and run-wide pauses.
//!
//! Why not a token bucket: a bucket that starts full with burst = rate lets through twice the rate
//! in the first second, which Meta answers with 130429. Here the `n`-th grant is never earlier
//! than `1/rate` after the previous one, and a log of the grants of the last second refuses any
//! grant that would put more than `messages_per_second` into one (half-open) 1-second window,
//! even when a sleeping task wakes late and catches up.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use crate::delivery::errors::{ErrorClass, Scope};
use crate::providers::whatsapp::errors::ApiError;

const WINDOW: Duration = Duration::from_secs(1);
/// After a throttle, the rate never drops below this.
const MIN_RATE: f64 = 1.0;
/// After a throttle, the rate climbs back to the configured one in about this long.
const RECOVERY: f64 = 10.0;

pub struct RateLimiter {
    cap: u32,
    state: Mutex<State>,
}

struct State {
    /// Current target rate (≤ cap), lowered by throttling, raised by successes.
    rate: f64,
    /// The earliest moment the next grant may be scheduled.
    next_slot: Instant,
    /// No grant before this moment.
    paused_until: Option<Instant>,
    /// When the rate was last cut: the requests already in flight then answer 130429 together,
    /// and that is one signal, not several.
    last_cut: Option<Instant>,
    /// Grant times within the last second, oldest first.
    granted: VecDeque<Instant>,
}

enum Step {
    Granted,
    Wait(Instant),
    /// A pause started while this task slept: queue again behind it, at the current spacing.
    Requeue,
}

impl RateLimiter {
    /// A limiter that never grants more than `messages_per_second` (at least 1) per second.
    pub fn new(messages_per_second: u32) -> Self {
        let cap = messages_per_second.max(1);
        RateLimiter {
            cap,
            state: Mutex::new(State {
                rate: f64::from(cap),
                next_slot: Instant::now(),
                paused_until: None,
                last_cut: None,
                granted: VecDeque::with_capacity(cap as usize),
            }),
        }
    }

    /// The configured maximum.
    pub fn limit(&self) -> u32 {
        self.cap
    }

    /// The current (possibly lowered) rate in messages per second.
    pub fn current_rate(&self) -> f64 {
        self.lock().rate
    }

    /// Waits until one more message may be sent.
    pub async fn acquire(&self) {
        'queue: loop {
            let slot = self.reserve();
            sleep_until(slot).await;
            loop {
                match self.try_grant() {
                    Step::Granted => return,
                    Step::Wait(until) => sleep_until(until).await,
                    Step::Requeue => continue 'queue,
                }
            }
        }
    }

    /// Meta answered 130429: halve the rate (at most once a second) and pause everyone for a
    /// second.
    pub fn on_throttled(&self) {
        let mut s = self.lock();
        let now = Instant::now();
        if s.last_cut.is_none_or(|t| now >= t + WINDOW) {
            s.rate = (s.rate * 0.5).max(MIN_RATE);
            s.last_cut = Some(now);
        }
        let until = now + WINDOW;
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
        tracing::debug!(rate = s.rate, "throttled by WhatsApp; send rate lowered");
    }

    /// Pauses every sender for `d` (run-wide retry codes such as 4, 131057, 131016).
    pub fn pause_for(&self, d: Duration) {
        let mut s = self.lock();
        let until = Instant::now() + d;
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
    }

    /// One message went through: move the rate back up, reaching the configured rate about
    /// `RECOVERY` seconds after a halving.
    pub fn on_success(&self) {
        let mut s = self.lock();
        let cap = f64::from(self.cap);
        if s.rate < cap {
            // successes arrive `rate` times a second, so this adds about cap/RECOVERY per second
            s.rate = (s.rate + cap / (RECOVERY * s.rate)).min(cap);
        }
    }

    /// Applies what an error answer means for everyone: 130429 (or a bare 429) lowers the rate,
    /// other run-wide retry codes pause all senders for the backoff of `attempt` (1-based).
    /// Returns the error's class for the caller's own handling of this recipient.
    pub fn on_api_error(&self, error: &ApiError, attempt: u32) -> ErrorClass {
        let class = error.class();
        if error.is_throughput_limit() {
            self.on_throttled();
        } else if let ErrorClass::Retry {
            scope: Scope::RunWide,
            backoff,
        } = class
        {
            self.pause_for(backoff.delay(attempt));
        }
        class
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // a panic while holding this lock cannot leave the state inconsistent
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reserve(&self) -> Instant {
        let mut s = self.lock();
        let now = Instant::now();
        let mut slot = s.next_slot.max(now);
        if let Some(p) = s.paused_until {
            slot = slot.max(p);
        }
        s.next_slot = slot + Duration::from_secs_f64(1.0 / s.rate);
        slot
    }

    fn try_grant(&self) -> Step {
        let mut s = self.lock();
        let now = Instant::now();
        if s.paused_until.is_some_and(|p| p > now) {
            return Step::Requeue;
        }
        while s.granted.front().is_some_and(|&t| t + WINDOW <= now) {
            s.granted.pop_front();
        }
        if s.granted.len() < self.cap as usize {
            s.granted.push_back(now);
            Step::Granted
        } else {
            // the oldest grant leaves the window at exactly this moment
            Step::Wait(s.granted[0] + WINDOW)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Counts the most grants in any half-open window [t, t + 1 s); checking windows that start
    /// at a grant is enough, since sliding a window's start forward to the next grant never
    /// loses one.
    fn max_in_any_window(times: &[Instant]) -> usize {
        let mut times = times.to_vec();
        times.sort();
        let mut best = 0;
        let mut end = 0;
        for start in 0..times.len() {
            while end < times.len() && times[end] < times[start] + WINDOW {
                end += 1;
            }
            best = best.max(end - start);
        }
        best
    }

    /// Runs `workers` tasks that together make `total` acquisitions on a paused clock, with
    /// throttles and pauses thrown in at given grant counts. Returns the grant times.
    fn run(
        rate: u32,
        workers: usize,
        total: usize,
        throttle_at: &[usize],
    ) -> (Vec<Instant>, Instant) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let limiter = Arc::new(RateLimiter::new(rate));
            let times = Arc::new(Mutex::new(Vec::new()));
            let started = Instant::now();
            let mut tasks = Vec::new();
            let per_worker = total / workers;
            for w in 0..workers {
                let limiter = limiter.clone();
                let times = times.clone();
                let throttle_at = throttle_at.to_vec();
                tasks.push(tokio::spawn(async move {
                    for i in 0..per_worker {
                        limiter.acquire().await;
                        let n = {
                            let mut t = times.lock().unwrap();
                            t.push(Instant::now());
                            t.len()
                        };
                        if throttle_at.contains(&n) {
                            if n % 2 == 0 {
                                limiter.on_throttled();
                            } else {
                                limiter.pause_for(Duration::from_millis(700));
                            }
                        } else {
                            limiter.on_success();
                        }
                        // uneven work between grants, like real requests
                        if (i + w) % 3 == 0 {
                            tokio::time::sleep(Duration::from_millis(((i * 7 + w) % 40) as u64))
                                .await;
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let times = times.lock().unwrap().clone();
            (times, started)
        })
    }

    #[test]
    fn first_second_is_not_a_double_burst() {
        let (times, started) = run(50, 100, 500, &[]);
        let first = times.iter().filter(|&&t| t < started + WINDOW).count();
        assert!(first <= 50, "{first} grants in the first second");
        assert_eq!(max_in_any_window(&times), 50);
        // and it is not slower than the rate: 500 grants at 50/s end just before t = 10 s
        let last = *times.iter().max().unwrap();
        assert!(
            last - started < Duration::from_secs(10),
            "{:?}",
            last - started
        );
    }

    #[test]
    fn pause_holds_back_every_sender() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let limiter = Arc::new(RateLimiter::new(10));
            limiter.acquire().await;
            let t0 = Instant::now();
            limiter.pause_for(Duration::from_secs(5));
            let mut tasks = Vec::new();
            for _ in 0..4 {
                let l = limiter.clone();
                tasks.push(tokio::spawn(async move {
                    l.acquire().await;
                    Instant::now()
                }));
            }
            for t in tasks {
                let at = t.await.unwrap();
                assert!(
                    at >= t0 + Duration::from_secs(5),
                    "granted during the pause"
                );
            }
        });
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_once_per_second_and_success_recovers() {
        let limiter = RateLimiter::new(80);
        limiter.on_throttled();
        assert_eq!(limiter.current_rate(), 40.0);
        // the other requests that were in flight answer 130429 too: still one cut
        limiter.on_throttled();
        limiter.on_throttled();
        assert_eq!(limiter.current_rate(), 40.0);
        for _ in 0..7 {
            tokio::time::advance(WINDOW).await;
            limiter.on_throttled();
        }
        assert_eq!(limiter.current_rate(), MIN_RATE);
        // recovery: about RECOVERY seconds' worth of successes at the climbing rate
        let mut successes = 0;
        while limiter.current_rate() < 80.0 {
            limiter.on_success();
            successes += 1;
            assert!(successes < 100_000, "never recovers");
        }
        assert!(successes > 80, "recovered after only {successes} successes");
    }

    #[tokio::test(start_paused = true)]
    async fn api_errors_slow_down_or_pause_everyone() {
        let error = |code: i64, http_status: u16| ApiError {
            http_status,
            code: Some(code),
            message: String::new(),
            details: None,
            fbtrace_id: None,
        };
        let limiter = RateLimiter::new(60);
        limiter.on_api_error(&error(130429, 400), 1);
        assert_eq!(limiter.current_rate(), 30.0);
        // maintenance: a pause of 60 s (+ jitter) for everyone, the rate stays
        tokio::time::advance(Duration::from_secs(2)).await;
        let t0 = Instant::now();
        limiter.on_api_error(&error(131057, 500), 1);
        assert_eq!(limiter.current_rate(), 30.0);
        limiter.acquire().await;
        assert!(Instant::now() >= t0 + Duration::from_secs(60));
        // a recipient-only error changes nothing for the others
        let t1 = Instant::now();
        assert_eq!(
            limiter.on_api_error(&error(131026, 400), 1),
            ErrorClass::Permanent
        );
        limiter.acquire().await;
        assert!(Instant::now() < t1 + Duration::from_secs(1));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn no_window_ever_exceeds_the_rate(
            rate in 1u32..120,
            workers in 1usize..40,
            rounds in 2usize..6,
            throttle_at in proptest::collection::vec(1usize..400, 0..4),
        ) {
            let total = workers * ((rate as usize * rounds) / workers + 1);
            let (times, _) = run(rate, workers, total, &throttle_at);
            proptest::prop_assert_eq!(times.len(), total);
            let worst = max_in_any_window(&times);
            proptest::prop_assert!(worst <= rate as usize, "{} grants in one second at rate {}", worst, rate);
        }
    }
}
