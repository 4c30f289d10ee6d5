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
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `cargo lambda watch` and what it and the functions logged.
struct Runtime {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

/// Kills `cargo lambda watch` and the function processes it started; when
/// the test is failing, prints their log, the only trace of what the
/// functions did (CI shows nothing else).
impl Drop for Runtime {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            eprintln!("--- cargo lambda watch and the functions logged:");
            for line in log.iter() {
                eprintln!("runtime: {line}");
            }
        }
    }
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A port no other test takes before `cargo lambda watch` binds it: one
/// below the kernel's ephemeral range (where binding port 0 and outgoing
/// connections, thousands of them to moto during a test run, pick theirs),
/// and free now.
fn unclaimed_port() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let candidates = 20000.min(ephemeral_low / 2)..ephemeral_low;
    let offset = std::process::id() as usize % candidates.len();
    candidates
        .clone()
        .cycle()
        .skip(offset)
        .take(candidates.len())
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// Keeps each line `output` prints in `log`.
fn keep_lines(output: impl std::io::Read + Send + 'static, log: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if std::env::var_os("E2E_SHOW_RUNTIME_LOG").is_some() {
                eprintln!("runtime: {line}");
            }
            log.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(line);
        }
    });
}

/// Starts `cargo lambda watch` and returns once its runtime server accepts
/// connections.
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
        .stderr(Stdio::piped())
        .process_group(0);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap_or_else(|error| {
        panic!("cannot run cargo-lambda ({error}); scripts/test installs it into .local/venv and puts it on PATH")
    });
    // cargo lambda logs (its own and the functions') to stdout, cargo's build to stderr.
    let log = Arc::new(Mutex::new(Vec::new()));
    keep_lines(child.stdout.take().unwrap(), Arc::clone(&log));
    keep_lines(child.stderr.take().unwrap(), Arc::clone(&log));
    let mut runtime = Runtime { child, log };
    runtime.wait_until_listening(port, Duration::from_secs(120));
    runtime
}

impl Runtime {
    /// cargo lambda logs "starting Runtime server" before it binds the port,
    /// so the log line is no proof: only an accepted connection is. Nothing
    /// announces the bind, so this polls, and stops at once if the process
    /// has exited.
    fn wait_until_listening(&mut self, port: u16, within: Duration) {
        let deadline = std::time::Instant::now() + within;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("cargo lambda watch exited ({status}) before listening on {port}");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "cargo lambda watch did not listen on {port} within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[tokio::test]
async fn the_functions_work_behind_the_lambda_runtime_interface() {
    let direct = sdk_config(&moto_url()).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let provisioned =
        streamguard_core::aws::provision::provision(&direct, &format!("lr-{suffix}"), &format!("lr-{suffix}"))
            .await
            .unwrap();
    let mut sim_config = simulator::Config::for_tests(ACCESS_KEY);
    // Each function's first invocation starts its process through cargo: the
    // provider waits for it as long as it takes, and retries 1 s apart.
    sim_config.callback_timeout = Duration::from_secs(600);
    sim_config.callback_backoff = Duration::from_secs(600);
    sim_config.scenario =
        serde_json::from_value(json!({"segments": [{"btId": "room-lr", "segment": 2, "riskLevel": "REJECT"}]}))
            .unwrap();
    let sim = simulator::Simulator::start(sim_config).await.unwrap();

    let api_listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let api = format!("http://{}", api_listener.local_addr().unwrap());
    let runtime_port = unclaimed_port();
    let runtime = start_runtime(
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
            // The most verbose level the template allows: still no secret may reach the logs.
            ("LOG_LEVEL", "trace".into()),
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
                      "agoraParam": {"appId": "agora-app", "channel": "lr", "token": RTC_TOKEN, "uid": 7}}});
    let response = http.post(format!("{api}/streams")).json(&body).send().await.unwrap();
    let (status, answer) = (response.status(), response.text().await.unwrap());
    assert_eq!(status, 201, "the start answered {answer}");
    let task: serde_json::Value = serde_json::from_str(&answer).unwrap();
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
    let (status, answer) = (response.status(), response.text().await.unwrap());
    assert_eq!(status, 200, "the close answered {answer}");
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

    // What the functions logged at trace, the start's body, the callbacks
    // (with DeepCleer's echo of the accessKey) and the SDK's traffic included.
    let delivered = control
        .wait_items("deliveries", "btId=room-lr&kind=segment", 1, WAIT)
        .await
        .expect("a delivery");
    let target = delivered[0]["target"].as_str().unwrap().to_owned();
    let token = target.rsplit('/').next().unwrap().to_owned();
    assert!(token.starts_with("v2."), "{target}");
    let log = runtime.log.lock().unwrap().clone();
    let functions_log: Vec<&String> = log.iter().filter(|line| line.contains("\"level\"")).collect();
    assert!(!functions_log.is_empty(), "the functions' log was captured");
    for (name, secret) in [
        ("the accessKey", ACCESS_KEY),
        ("the callback-token key", CALLBACK_KEY),
        ("the RTC token", RTC_TOKEN),
        ("a callback token", token.as_str()),
    ] {
        let leaked: Vec<&&String> = functions_log.iter().filter(|line| line.contains(secret)).collect();
        assert!(leaked.is_empty(), "{name} is in the functions' log: {leaked:?}");
    }
}

const RTC_TOKEN: &str = "agora-rtc-token-secret-0042";
