//! Every benchmark runs, at a tiny size, in the default test run, so none of
//! them can rot. Behaviour is asserted (statuses, nothing lost or duplicated);
//! figures never are.

use bench::{coldstart, cpu, throughput};
use std::path::PathBuf;

fn moto() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: run through scripts/test, which starts moto server")
}

fn reference_dir() -> PathBuf {
    std::env::var("STREAMGUARD_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/reference")))
}

/// `target/debug`, where scripts/test builds the function binaries.
fn binaries() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).unwrap().to_path_buf()
}

#[test]
fn the_cpu_loops_do_the_work() {
    let reference = cpu::reference_callback(&reference_dir()).unwrap();
    let padded = cpu::padded_callback(&reference, 20_000);
    assert!((19_000..21_000).contains(&padded.len()), "{}", padded.len());
    let (key, token) = cpu::key_and_token();
    let now = time::OffsetDateTime::now_utc();
    for body in [&reference, &padded] {
        assert!(
            cpu::callback_work(&key, &token, body, now) > 500,
            "an event was built and serialised"
        );
        assert!(cpu::floor(body) >= 5);
    }
}

#[tokio::test]
async fn a_cold_start_is_measured_for_each_function() {
    let endpoint = moto();
    let sdk = streamguard::app::aws_config_loader()
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "smoke",
        ))
        .load()
        .await;
    let name = format!("smoke-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let provisioned = streamguard::provision::provision(&sdk, &name, &name).await.unwrap();
    let env: Vec<(String, String)> = [
        ("TABLE_NAME", provisioned.table_name.as_str()),
        ("QUEUE_URL", provisioned.queue_url.as_str()),
        ("DEEPCLEER_ACCESS_KEY", "k"),
        ("CALLBACK_TOKEN_KEY", "bench-callback-token-key-0123456789"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("LOG_LEVEL", "warn,streamguard::app=info"),
    ]
    .iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect();
    let (_, token) = cpu::key_and_token();
    let reject =
        r#"{"requestId": "ffffffffffffffffffffffffffffffff_1", "btId": "x", "audioDetail": {"riskLevel": "REJECT"}}"#;
    for (function, event, status) in [
        ("start", coldstart::http_event("GET", "/streams/missing", None), 404),
        (
            "close",
            coldstart::http_event("POST", "/streams/missing/close", None),
            404,
        ),
        (
            "callback",
            coldstart::http_event("POST", &format!("/callbacks/{token}"), Some(reject)),
            200,
        ),
    ] {
        let binary = binaries().join(function);
        assert!(
            binary.exists(),
            "{} is built by scripts/test before the tests",
            binary.display()
        );
        let measured = coldstart::measure(&binary, &env, event).await.unwrap();
        assert_eq!(measured.status, status, "{function}");
        assert!(measured.peak_rss_kb > 0 && measured.ready_ms > 0.0);
        let warm_up_ms = measured.warm_up_ms.expect("the function logs its connection warm-up");
        assert!(warm_up_ms > 0.0 && warm_up_ms < measured.ready_ms, "{measured:?}");
    }
}

#[tokio::test]
async fn the_throughput_run_loses_and_duplicates_nothing() {
    let report = throughput::run(throughput::Settings {
        streams: 3,
        minutes: 1.0,
        reject_every: 2,
        time_scale: 120.0,
        aws_endpoint: moto(),
    })
    .await
    .unwrap();
    assert!(report.rejects_acknowledged >= 9, "{report:?}");
    assert_eq!((report.lost, report.duplicated), (0, 0), "{report:?}");
    assert_eq!(report.reject_events, report.rejects_acknowledged);
    assert!(report.callbacks >= 3 * 6);
}
