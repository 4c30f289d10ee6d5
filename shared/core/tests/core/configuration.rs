//! The variable table is the configuration: every variable the settings
//! readers read is in it, every one in it is read, and the README's table is
//! generated from it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use streamguard_core::config::{self, Env, VARIABLES, variables};
use streamguard_core::domain::policy::{CallbackPolicy, ClosePolicy, EvidencePolicy, StartPolicy, WatchdogPolicy};
use streamguard_core::functions::Function;
use streamguard_core::init::Secrets;
use streamguard_core::memory::ScriptedTransport;
use streamguard_core::providers;

/// The names the settings readers and the provider registry ask for, each
/// branch taken once (secrets as local values: nothing is read from SSM).
async fn names_read() -> BTreeSet<String> {
    let read = Arc::new(Mutex::new(BTreeSet::new()));
    let sdk = aws_config::SdkConfig::builder().build();
    let secrets = Secrets::new(&sdk);
    for overrides in [false, true] {
        let seen = read.clone();
        let env = Env::from_lookup(move |name| {
            seen.lock().unwrap().insert(name.to_owned());
            match name {
                "DEEPCLEER_BASE_URL" | "DEEPCLEER_VIDEO_BASE_URL" if overrides => Some("http://127.0.0.1:1".into()),
                "DEEPCLEER_ACCESS_KEY" | "ZEGO_SERVER_SECRET" | "ZEGO_CALLBACK_SECRET" if overrides => Some("s".into()),
                "ZEGO_APP_ID" if overrides => Some("1".into()),
                _ => None,
            }
        });
        let transport = Arc::new(ScriptedTransport::default());
        providers::starts(&env, &secrets, transport.clone()).await.unwrap();
        for function in [Function::Close, Function::Watchdog] {
            providers::stops(&env, &secrets, transport.clone(), function)
                .await
                .unwrap();
        }
        providers::readers(&env, &secrets).await.unwrap();
        let _ = config::table_name(&env);
        let _ = config::queue_url(&env);
        let _ = config::callback_key(&env);
        let _ = config::previous_callback_key(&env);
        let _ = config::callback_base_url(&env);
        let _ = StartPolicy::from_env(&env);
        let _ = ClosePolicy::from_env(&env);
        let _ = CallbackPolicy::from_env(&env);
        let _ = WatchdogPolicy::from_env(&env);
        let _ = EvidencePolicy::from_env(&env);
        let _ = config::evidence_bucket(&env);
        let _ = config::evidence_kms_key(&env);
        let _ = config::evidence_link_validity(&env);
    }
    let mut read = read.lock().unwrap().clone();
    // Read by telemetry::init from the process environment.
    read.extend([
        variables::LOG_LEVEL.name.to_owned(),
        variables::RUST_LOG.name.to_owned(),
    ]);
    read
}

#[tokio::test]
async fn the_variable_table_is_what_configuration_reads() {
    let listed: BTreeSet<String> = VARIABLES.iter().map(|variable| variable.name.to_owned()).collect();
    assert_eq!(names_read().await, listed);
}

#[test]
fn the_readme_table_is_generated_from_the_variable_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let table = variables::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md's table of variables differs from the variable table; it should read:\n\n{table}"
    );
}
