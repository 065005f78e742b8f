//! The site lock, for the broadcast's existing users; it lives in [`crate::lock`] because the
//! subscriber list and the inbox take it as well.

pub use crate::lock::*;
