//! The simulator's behaviour over HTTP, as one test binary (one link instead
//! of one per file); each test starts its own simulator on an ephemeral port.

mod binary;
mod common;
mod deepcleer_api;
mod streams;
mod zego_api;
