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

/// `subscribers/inbox/`: the inbox's committed records (applied events, template states,
/// undeliverable numbers) under the subscriber state directory
/// ([`crate::config::Config::subscribers_dir`]). Here, below the inbox that writes them, because
/// the journal (forgetting a subscriber) and the WhatsApp provider (template states) read them too.
pub fn records_dir(state: &std::path::Path) -> std::path::PathBuf {
    state.join("inbox")
}
