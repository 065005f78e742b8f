//! Tools for development and testing: the fake WhatsApp Graph API server, the corpus generator.
pub mod corpus;
pub mod fake_graph;
pub mod io_floor;
