//! What became of one delivery, in the terms the journal records: every provider answers with
//! an [`Outcome`], the sender journals it and decides about retries from its [`ErrorClass`].

use crate::delivery::errors::ErrorClass;

/// What became of one delivery.
#[derive(Debug)]
pub enum Outcome {
    Sent {
        id: String,
    },
    Failed {
        code: Option<i64>,
        class: ErrorClass,
        detail: String,
    },
    /// The request may have reached the API but no answer came.
    Uncertain {
        detail: String,
    },
}
