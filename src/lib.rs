//! aushang: public notices for small towns. One repository holds the notices (Markdown), the
//! encrypted subscriber list and the journal of what was sent; this crate builds the notice website
//! and broadcasts each new notice to subscribers, exactly once.
//!
//! Data flows one way: load → validate → render/plan → write/send → record.

pub mod broadcast;
pub mod config;
pub mod content;
pub mod delivery;
pub mod devtools;
pub mod diagnostics;
pub mod fsutil;
pub mod inbox;
pub mod lock;
pub mod log_format;
pub mod providers;
pub mod report;
pub mod serve;
pub mod site;
pub mod subscribers;
pub mod text;
pub mod town;
