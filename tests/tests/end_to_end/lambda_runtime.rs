//! The real function binaries behind the Lambda runtime interface
//! (`cargo lambda watch`), driven over HTTP through the dev server's proxy:
//! start → segments with a REJECT → one event on SQS → close → stream end.
//!
//! Needs `cargo-lambda` on PATH (scripts/test installs it) and, to keep the
//! first invocation quick, the function binaries built beforehand with the
//! workspace's feature set (`cargo build --workspace --bins`, which
//! `scripts/local` runs and so `scripts/test` too).

use e2e::{ACCESS_KEY, CALLBACK_KEY, WAIT, moto_url, sdk_config};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills `cargo lambda watch` and the function processes it started.
struct Runtime(Child);

impl Drop for Runtime {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `cargo lambda watch` and returns once its runtime server is listening.
fn start_runtime(port: u16, env: &[(&str, String)]) -> Runtime {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new("cargo-lambda");
    command
        .args([
            "lambda",
            "watch",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
            "--ignore-changes",
        ])
        .current_dir(workspace_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap_or_else(|error| {
        panic!("cannot run cargo-lambda ({error}); scripts/test installs it into .local/venv and puts it on PATH")
    });
    // cargo lambda logs (its own and the functions') to stdout.
    let stdout = child.stdout.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut ready = Some(ready_tx);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("starting Runtime server")
                && let Some(ready) = ready.take()
            {
                let _ = ready.send(());
            }
            if std::env::var_os("E2E_SHOW_RUNTIME_LOG").is_some() {
                eprintln!("runtime: {line}");
            }
        }
    });
    let runtime = Runtime(child);
    ready_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("cargo lambda watch announced its runtime server");
    runtime
}

#[tokio::test]
async fn the_functions_work_behind_the_lambda_runtime_interface() {
    let direct = sdk_config(&moto_url()).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let provisioned = streamguard::provision::provision(&direct, &format!("lr-{suffix}"), &format!("lr-{suffix}"))
        .await
        .unwrap();
    let mut sim_config = simulator::Config::for_tests(ACCESS_KEY);
    sim_config.scenario =
        serde_json::from_value(json!({"segments": [{"btId": "room-lr", "segment": 2, "riskLevel": "REJECT"}]}))
            .unwrap();
    let sim = simulator::Simulator::start(sim_config).await.unwrap();

    let api_listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let api = format!("http://{}", api_listener.local_addr().unwrap());
    let runtime_port = free_port();
    let _runtime = start_runtime(
        runtime_port,
        &[
            ("TABLE_NAME", provisioned.table_name.clone()),
            ("QUEUE_URL", provisioned.queue_url.clone()),
            ("DEEPCLEER_BASE_URL", sim.url()),
            ("DEEPCLEER_ACCESS_KEY", ACCESS_KEY.into()),
            ("CALLBACK_TOKEN_KEY", CALLBACK_KEY.into()),
            ("CALLBACK_BASE_URL", api.clone()),
            ("DEFAULT_APP_ID", "default".into()),
            ("DEFAULT_EVENT_ID", "liveAudio".into()),
        ],
    );
    let router = devserver::lambda_runtime(format!("http://127.0.0.1:{runtime_port}"));
    tokio::spawn(async move { devserver::serve(api_listener, router).await });
    // The first call of each function may build its binary: allow minutes.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();

    let body = json!({"type": "POLITY", "data": {"tokenId": "u1", "btId": "room-lr", "streamType": "AGORA",
                      "agoraParam": {"appId": "agora-app", "channel": "lr"}}});
    let response = http.post(format!("{api}/streams")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let task: serde_json::Value = response.json().await.unwrap();
    let request_id = task["requestId"].as_str().unwrap().to_owned();

    // The callback function runs in its own process behind the runtime: wait for the REJECT to be acknowledged.
    let control = simulator::ControlClient::new(sim.url(), http.clone());
    let acknowledged = format!("callbackId={request_id}_2&acknowledged=true");
    control
        .wait_items("deliveries", &acknowledged, 1, Duration::from_secs(590))
        .await
        .expect("the REJECT was acknowledged");
    let received = aws_sdk_sqs::Client::new(&direct)
        .receive_message()
        .queue_url(&provisioned.queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = received.messages();
    assert_eq!(messages.len(), 1);
    e2e::assert_schema_valid(messages[0].body().unwrap());
    assert!(
        messages[0]
            .body()
            .unwrap()
            .contains(&format!("deepcleer:{request_id}_2"))
    );

    let response = http.post(format!("{api}/streams/room-lr/close")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    control
        .wait_items("deliveries", "btId=room-lr&kind=streamEnd&acknowledged=true", 1, WAIT)
        .await
        .expect("the stream end was acknowledged");
    let stored: serde_json::Value = http
        .get(format!("{api}/streams/room-lr"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["status"], "ENDED");
    assert_eq!(stored["rejectCount"], 1);
}
