//! Every benchmark runs, at a tiny size, in the default test run, so none of
//! them can rot. Behaviour is asserted (statuses, nothing lost or duplicated);
//! figures never are.

use bench::{coldstart, cpu, throughput};
use std::path::PathBuf;

fn moto() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: run through scripts/test, which starts moto server")
}

/// `target/debug`, where scripts/test builds the function binaries.
fn binaries() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).unwrap().to_path_buf()
}

#[test]
fn the_cpu_loops_do_the_work() {
    let reference = cpu::REFERENCE_CALLBACK.to_owned();
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
    let env = coldstart::environment(&moto()).await.unwrap();
    let (_, token) = cpu::key_and_token();
    for case in coldstart::cases(&token) {
        let function = case.function;
        let binary = binaries().join(function);
        assert!(
            binary.exists(),
            "{} is built by scripts/test before the tests",
            binary.display()
        );
        let measured = coldstart::measure(&binary, &env, case.event(0)).await.unwrap();
        assert_eq!(measured.status, case.status, "{function}");
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
