//! The subscriber list: age-encrypted CSV, phone numbers, consent, import and export.

pub mod record;

pub use record::{Channel, Status, Subscriber, mask};
