//! The subscriber list: age-encrypted CSV, phone numbers, consent, import and export.

pub mod address;
pub mod companions;
pub mod duplicates;
pub mod format;
pub mod import;
pub mod keyset;
pub mod list;
pub mod optout;
pub mod record;
pub mod report;
pub mod review;
pub mod store;
pub mod stream;

pub use address::AddressError;
pub use list::{AddOutcome, Counts, Resubscribe};
pub use record::{Channel, Status, Subscriber, check_name, mask};
pub use store::{Identity, Recipients, StoreError, SubscriberList, demo_identity_path};
