//! The wire contract against the provider reference, as one test binary (one
//! link instead of one per file).

mod callbacks_and_events;
mod common;
mod reference_examples;
mod validation_rules;
mod zego;
