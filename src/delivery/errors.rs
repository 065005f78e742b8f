//! How the sender treats a failed delivery, whatever the provider: retry (with a backoff
//! schedule, for one recipient or the whole run), permanent for one recipient, or fatal for the
//! run. Each provider classifies its own answers into these (WhatsApp's table is
//! `providers::whatsapp::errors`).

use std::time::Duration;

use rand::Rng;

/// Who a retryable error concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole run must pause (throttling, maintenance, service down).
    RunWide,
    /// Only this recipient is retried later; the others go on.
    Recipient,
}

/// A retry schedule. `delay(attempt)` takes the 1-based number of the attempt that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// `base · 2^(attempt-1)`, capped.
    Exponential { base: Duration, cap: Duration },
    /// Meta's advice for the pair rate limit (131056): 4^X seconds, X = 0, 1, 2… (1, 4, 16, 64, 256 s).
    Pow4,
    /// Retry only `max_tries` times (5 s, 30 s, 2 min), then the error counts as permanent.
    Limited { max_tries: u32 },
}

const LIMITED_SCHEDULE: [Duration; 3] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
];

impl Backoff {
    /// The delay before the next try, without jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let attempt = attempt.max(1);
        match *self {
            Backoff::Exponential { base, cap } => {
                let factor = 1u32.checked_shl(attempt - 1).unwrap_or(u32::MAX);
                base.checked_mul(factor).unwrap_or(cap).min(cap)
            }
            Backoff::Pow4 => {
                let exp = (attempt - 1).min(4);
                Duration::from_secs(4u64.pow(exp))
            }
            Backoff::Limited { .. } => {
                LIMITED_SCHEDULE[(attempt as usize - 1).min(LIMITED_SCHEDULE.len() - 1)]
            }
        }
    }

    /// The delay before the next try, with up to +25 % random jitter so concurrent senders that
    /// failed together do not all come back in the same millisecond.
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self.base_delay(attempt);
        let jitter = rand::rng().random_range(0.0..=0.25);
        base + base.mul_f64(jitter)
    }

    /// Whether another try is allowed after `attempts` failed ones (only `Limited` ever says no).
    pub fn may_retry(&self, attempts: u32) -> bool {
        match *self {
            Backoff::Limited { max_tries } => attempts <= max_tries,
            Backoff::Pow4 => attempts <= 5,
            Backoff::Exponential { .. } => true,
        }
    }
}

/// What to do about one failed send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later, following `backoff`; a `RunWide` scope pauses every sender.
    Retry { scope: Scope, backoff: Backoff },
    /// This recipient, this notice: record it and go on with the others.
    Permanent,
    /// Stop the run at once. Not a verdict on the recipient: the next run, once the cause is
    /// fixed, sends to them again.
    Fatal,
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn backoff_schedules() {
        let pow4 = Backoff::Pow4;
        let got: Vec<u64> = (1..=6).map(|a| pow4.base_delay(a).as_secs()).collect();
        assert_eq!(got, [1, 4, 16, 64, 256, 256]);
        let exp = Backoff::Exponential {
            base: secs(1),
            cap: secs(10),
        };
        let got: Vec<u64> = (1..=6).map(|a| exp.base_delay(a).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 10, 10]);
        assert_eq!(exp.base_delay(200), secs(10));
        let limited = Backoff::Limited { max_tries: 3 };
        assert_eq!(limited.base_delay(1), secs(5));
        assert_eq!(limited.base_delay(3), secs(120));
        assert!(limited.may_retry(3));
        assert!(!limited.may_retry(4));
        for attempt in 1..8 {
            let d = exp.delay(attempt);
            let b = exp.base_delay(attempt);
            assert!(d >= b && d <= b + b / 4, "{d:?} vs {b:?}");
        }
    }
}
