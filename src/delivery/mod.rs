//! The vocabulary every side of delivery shares, below broadcast, inbox and the providers: the
//! rendered message, what became of one delivery and how to treat a failure, and the journal
//! that records every attempt. Nothing here imports `broadcast`, `inbox` or `providers`
//! (`tests/layers.rs` checks it).

pub mod correlation;
pub mod delivered;
pub mod errors;
pub mod held_back;
pub mod journal;
pub mod message;
pub mod outcome;
