//! Benchmarks of what a user pays for. `scripts/bench` runs them at full size
//! and prints a table; a smoke test runs each at a tiny size in the default
//! test run so they cannot rot. Figures are never asserted in tests.
//!
//! - [`coldstart`]: a release function binary behind a minimal Lambda Runtime
//!   API emulator: time to ready (first `GET …/invocation/next`), first
//!   response, peak RSS.
//! - [`cpu`]: the callback's own work (verify the token, parse, decide,
//!   build and serialise the queue event) and the floor (parse into a
//!   `serde_json::Value`), as loops whose instructions callgrind counts.
//! - [`throughput`]: the local stack (functions in-process, moto, the
//!   simulator) under many concurrent simulated streams.

pub mod coldstart;
pub mod cpu;
pub mod throughput;

/// The SDK configuration for moto at `endpoint`, with its dummy credentials:
/// for provisioning and for reading the queue directly.
pub async fn moto_sdk(endpoint: &str) -> aws_config::SdkConfig {
    streamguard_core::app::aws_config_loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .load()
        .await
}

/// Quantile `q` (0–1) of `values` (sorted in place); 0 when empty.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values[index]
}

#[cfg(test)]
mod tests {
    #[test]
    fn quantiles() {
        let mut values = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(super::quantile(&mut values, 0.5), 3.0);
        assert_eq!(super::quantile(&mut values, 1.0), 5.0);
        assert_eq!(super::quantile(&mut values, 0.0), 1.0);
        assert_eq!(super::quantile(&mut [], 0.5), 0.0);
    }
}
