//! The vocabulary every side of delivery shares, below broadcast, inbox and the providers: the
//! rendered message, what became of one delivery and how to treat a failure, and the journal
//! that records every attempt.

pub mod delivered;
pub mod errors;
pub mod journal;
pub mod message;
