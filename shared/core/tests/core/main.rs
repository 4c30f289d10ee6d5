//! The library's tests, as one binary: the domain's flows for every
//! provider over in-memory ports, the in-memory store's conformance, and the
//! architecture's rules.

mod architecture;
mod callbacks;
mod close;
mod configuration;
mod events;
mod evidence;
mod lifecycle;
mod security;
mod simulation;
mod start;
mod store;
mod tolerance;
mod watchdog;
mod world;
