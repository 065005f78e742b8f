//! Notices and standing pages: the model, front matter, loading and validation.

pub mod notice;

pub use notice::{Attachment, Image, Notice, Page, Update};
