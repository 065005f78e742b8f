//! Delivery channels: one file per channel (outbox, WhatsApp Cloud API, …).
pub mod whatsapp;
