//! `--accept-uncertain`: takes every uncertain delivery of the messages still open as delivered.
//!
//! An uncertain delivery (`sending` or `uncertain` as its last journal line: the request may
//! have reached WhatsApp, no answer came) keeps each run red until a status webhook resolves it.
//! When none will come, someone decides: `--resend-uncertain` sends again (may duplicate), or
//! this records an `accepted` line for each — final like `sent`, honest about the missing proof —
//! and sends nothing to them. The run then goes on as usual for everyone else.

use jiff::Timestamp;

use crate::broadcast::plan::PlannedMessage;
use crate::delivery::journal::{DeliveryLine, DeliveryLog, DeliveryState, Journal};

/// How many uncertain deliveries one message had taken as delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub key: String,
    pub count: usize,
}

/// Records an `accepted` line for every subscriber whose delivery of a planned message is
/// uncertain on `channel` (over all the message's keys: a moved notice keeps its old lines).
/// Messages without any are left out of the answer.
pub fn accept_uncertain(
    journal: &Journal,
    planned: &[PlannedMessage],
    channel: &str,
    now: Timestamp,
) -> std::io::Result<Vec<Accepted>> {
    let mut out = Vec::new();
    for p in planned {
        let mut log = DeliveryLog::default();
        for key in p.message.keys() {
            log.last.extend(journal.deliveries(key, channel)?.last);
        }
        let mut uncertain: Vec<(String, Option<u32>)> = log
            .last
            .iter()
            .filter(|(sub, _)| log.is_uncertain(sub))
            .map(|(sub, l)| (sub.clone(), l.attempt))
            .collect();
        if uncertain.is_empty() {
            continue;
        }
        uncertain.sort();
        for (sub, attempt) in &uncertain {
            let line = DeliveryLine {
                attempt: *attempt,
                ..DeliveryLine::marker(now, sub, DeliveryState::Accepted)
            };
            journal.record(&p.message.key, channel, &line)?;
        }
        out.push(Accepted {
            key: p.message.key.clone(),
            count: uncertain.len(),
        });
    }
    Ok(out)
}
