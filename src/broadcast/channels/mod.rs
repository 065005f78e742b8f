//! Delivery channels: one file per channel (outbox, WhatsApp Cloud API, …).

pub mod deliverer;
pub mod others;
pub mod outbox;
pub mod whatsapp;
