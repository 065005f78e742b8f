//! Tools for development and testing: the fake WhatsApp Graph API server, fake Telegram,
//! Mastodon and GitHub (editors' login) servers, the corpus generator.
pub mod corpus;
pub mod fake_github;
pub mod fake_graph;
pub mod fake_mastodon;
pub mod fake_telegram;
pub mod io_floor;
