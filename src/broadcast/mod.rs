//! Broadcasting notices: plan what is due, render messages, send them, record every attempt.

pub mod channels;
pub mod errors;
pub mod journal;
pub mod ratelimit;
