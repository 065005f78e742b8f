//! Broadcasting notices: plan what is due, render messages, send them, record every attempt.

pub mod accept;
pub mod approve;
pub mod audience;
pub mod budget;
pub mod budget_text;
pub mod claim;
pub mod cost;
pub mod due;
pub mod given_up;
pub mod mark_sent;
pub mod plan;
pub mod preview;
pub mod ratelimit;
pub mod report;
pub mod run;
pub mod send;
