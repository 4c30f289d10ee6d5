//! The end-to-end suite, as one test binary: every module links the whole
//! stack (SDK, simulator, dev server), so separate binaries would each cost a
//! full link and hundreds of megabytes of disk for no isolation gained — every
//! test already provisions its own table, queue and simulator.

mod aws_calls;
mod callbacks;
mod configuration;
mod evidence;
mod lambda_runtime;
mod lifecycle;
mod openapi;
mod store;
mod streams;
mod template;
mod zego;
