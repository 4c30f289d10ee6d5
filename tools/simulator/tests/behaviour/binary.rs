//! The `simulator` binary: documented options, loopback by default, and a
//! working server.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_simulator");

#[test]
fn help_documents_the_options() {
    let output = Command::new(BINARY).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for option in [
        "--listen",
        "--access-key",
        "--time-scale",
        "--max-qps",
        "--max-streams",
        "--scenario",
        "--zego-app-id",
        "--callback-backoff-ms",
    ] {
        assert!(help.contains(option), "{option} missing from --help");
    }
}

#[test]
fn it_refuses_a_non_loopback_address() {
    let output = Command::new(BINARY)
        .args(["--listen", "0.0.0.0:0", "--access-key", "k"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a loopback address"));
}

#[tokio::test]
async fn it_serves_the_api_and_prints_its_url() {
    let scenario = std::env::temp_dir().join(format!("sim-scenario-{}.json", std::process::id()));
    std::fs::write(&scenario, r#"{"segments": [{"every": 2, "riskLevel": "REJECT"}]}"#).unwrap();
    let mut child = Command::new(BINARY)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--access-key",
            "k1,k2",
            "--time-scale",
            "600",
            "--scenario",
        ])
        .arg(&scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let url = first_line
        .trim()
        .strip_prefix("SIMULATOR_URL=")
        .expect("the URL line")
        .to_owned();
    let http = reqwest::Client::new();
    let (_, scenario_served) = simulator::ControlClient::new(url.clone(), http.clone())
        .get("scenario")
        .await
        .unwrap();
    assert_eq!(scenario_served["segments"][0]["every"], 2);
    let answer: serde_json::Value = http
        .post(format!("{url}/finish_audiostream/v4"))
        .json(&serde_json::json!({"accessKey": "k2", "requestId": "nope"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["code"], 1902, "k2 is accepted; the task is unknown");
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(scenario).unwrap();
}
