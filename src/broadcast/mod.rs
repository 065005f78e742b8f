//! Broadcasting notices: plan what is due, render messages, send them, record every attempt.

pub mod audience;
pub mod channels;
pub mod claim;
pub mod delivered;
pub mod errors;
pub mod journal;
pub mod lock;
pub mod message;
pub mod plan;
pub mod ratelimit;
pub mod report;
pub mod run;
pub mod send;
