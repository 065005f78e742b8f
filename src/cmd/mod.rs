//! One file per subcommand; each parses nothing itself and lets the library do the work.

pub mod build;
pub mod check;
pub mod new;
pub mod subscribers;
