//! The wire contract against the project's fixtures (written from the
//! provider documents), as one test binary (one link instead of one per file).

mod callbacks;
mod common;
mod fixtures;
mod validation_rules;
mod zego;
