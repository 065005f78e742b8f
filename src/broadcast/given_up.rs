//! Messages a run gives up on: older than `max_age` before their sending began (`stale`), or
//! whose notice expired while their sending was under way (`expired`). Each is journaled once,
//! so later runs no longer plan it, and counted — who it leaves out — for the report.

use std::sync::Arc;

use anyhow::Context;
use jiff::Timestamp;

use crate::broadcast::plan::{Decision, PlannedMessage};
use crate::broadcast::run::{SubscriberSource, is_recipient};
use crate::delivery::journal::{IndexEvent, Journal};
use crate::delivery::message::Message;
use crate::providers::deliverer::Deliverer;

/// Records every stale or expired message of `planned` in the journal and returns, per planned
/// message (same order), how many recipients it leaves out: everyone who wants a stale one
/// (`counts`, from the census), and whoever has no final delivery of an expired one.
pub fn give_up(
    journal: &Journal,
    source: &SubscriberSource,
    planned: &[PlannedMessage],
    counts: &[usize],
    deliverer: &Arc<Deliverer>,
    now: Timestamp,
) -> anyhow::Result<Vec<usize>> {
    let channel = deliverer.channel_name();
    let mut out = Vec::with_capacity(planned.len());
    for (p, &count) in planned.iter().zip(counts) {
        let (event, left_out) = match p.decision {
            Decision::Stale => (IndexEvent::Stale, count),
            Decision::Expired => (
                IndexEvent::Expired,
                unreached(journal, source, &p.message, deliverer)?,
            ),
            Decision::Due | Decision::QuietHours => {
                out.push(0);
                continue;
            }
        };
        journal.record_index(&p.message.key, channel, event, now)?;
        out.push(left_out);
    }
    Ok(out)
}

/// Recipients of `message` without a final delivery of it (sent, accepted, failed for good).
fn unreached(
    journal: &Journal,
    source: &SubscriberSource,
    message: &Message,
    deliverer: &Arc<Deliverer>,
) -> anyhow::Result<usize> {
    let states = journal.delivery_states(message.keys(), deliverer.channel_name())?;
    let (d, m) = (deliverer.clone(), message.clone());
    let mut n = 0;
    for row in source.recipients(move |s| is_recipient(&d, s, &m)) {
        let sub = row.context("die Abonnentenliste lässt sich nicht bis zum Ende lesen")?;
        if !states.is_final(&sub.id) {
            n += 1;
        }
    }
    Ok(n)
}
