//! Simulator configuration, from the command line or built by tests.

use std::net::SocketAddr;
use std::time::Duration;

/// Zego server-API credentials the simulator accepts and signs with.
#[derive(Debug, Clone)]
pub struct ZegoCredentials {
    pub app_id: u32,
    /// Signs API calls (md5). Secret.
    pub server_secret: String,
    /// Signs callbacks (sha1). Secret.
    pub callback_secret: String,
}

/// Everything the simulator can be told at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; loopback unless `allow_non_loopback`.
    pub listen: SocketAddr,
    /// DeepCleer accessKeys accepted; any other gets 9101.
    pub access_keys: Vec<String>,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// Requests per (real) second before 1901; `None` = unlimited.
    pub max_qps: Option<u32>,
    /// Concurrent running streams before 1901; `None` = unlimited.
    pub max_streams: Option<usize>,
    /// DeepCleer callback retry interval (simulated time).
    pub callback_backoff: Duration,
    /// How long one callback POST may take (real time).
    pub callback_timeout: Duration,
    /// How long a NORMAL stream fetch may take to answer (real time).
    pub pull_timeout: Duration,
    /// Zego side; `None` refuses every Zego call with a wrong signature.
    pub zego: Option<ZegoCredentials>,
    /// Initial scenario (a JSON file's contents, already parsed).
    pub scenario: crate::Scenario,
    /// Permit listening on, fetching from and calling back to non-loopback hosts.
    pub allow_non_loopback: bool,
}

impl Config {
    /// Defaults for tests: ephemeral loopback port, one accessKey, time × 600.
    pub fn for_tests(access_key: &str) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            access_keys: vec![access_key.to_owned()],
            time_scale: 600.0,
            max_qps: None,
            max_streams: None,
            callback_backoff: Duration::from_secs(1),
            callback_timeout: Duration::from_secs(5),
            pull_timeout: Duration::from_secs(5),
            zego: None,
            scenario: crate::Scenario::default(),
            allow_non_loopback: false,
        }
    }
}
