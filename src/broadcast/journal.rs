//! The journal: an append-only record of every delivery attempt, committed back by CI.
//! (Being written; this is the interface other modules call.)

use std::path::Path;

/// Removes every journal row that references `subscriber_id` (the DSGVO Art. 17 path).
/// Returns how many rows were removed.
pub fn forget_subscriber(_root: &Path, _subscriber_id: &str) -> std::io::Result<usize> {
    Ok(0)
}
