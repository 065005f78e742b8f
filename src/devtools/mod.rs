//! Tools for development and testing: the fake WhatsApp Graph API server, the corpus generator.
pub mod fake_graph;
