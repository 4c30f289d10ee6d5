//! Each function reads exactly the variables the variable table gives it:
//! its service is built against a recording environment (the real builders,
//! against moto), and what it asked for is compared with the table.

use e2e::{ACCESS_KEY, CALLBACK_KEY, moto_url, sdk_config};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use streamguard_core::app;
use streamguard_core::aws::provision::provision;
use streamguard_core::config::{Env, VARIABLES, variables};
use streamguard_core::functions::Function;

/// An environment that answers from `values` and records every name asked for.
fn recording(values: Vec<(&'static str, String)>) -> (Env, Arc<Mutex<BTreeSet<String>>>) {
    let asked = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = asked.clone();
    let env = Env::from_lookup(move |name| {
        seen.lock().unwrap().insert(name.to_owned());
        values
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
    });
    (env, asked)
}

#[tokio::test]
async fn each_function_reads_exactly_its_variables() {
    let sdk = sdk_config(&moto_url()).await;
    let name = format!("vars-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let provisioned = provision(&sdk, &name, &name).await.unwrap();
    let values = vec![
        ("TABLE_NAME", provisioned.table_name.clone()),
        ("QUEUE_URL", provisioned.queue_url.clone()),
        ("EVIDENCE_BUCKET", provisioned.evidence_bucket.clone()),
        ("CALLBACK_TOKEN_KEY", CALLBACK_KEY.to_owned()),
        ("DEEPCLEER_ACCESS_KEY", ACCESS_KEY.to_owned()),
        ("ZEGO_APP_ID", "1".to_owned()),
        ("ZEGO_SERVER_SECRET", "s".to_owned()),
        ("ZEGO_CALLBACK_SECRET", "c".to_owned()),
    ];
    let local_only: BTreeSet<&str> = VARIABLES
        .iter()
        .filter(|variable| variable.functions.is_empty())
        .map(|variable| variable.name)
        .collect();
    for function in Function::ALL {
        let (env, asked) = recording(values.clone());
        match function {
            Function::Start => drop(app::start_service(&env, &sdk).await.unwrap()),
            Function::Close => drop(app::close_service(&env, &sdk).await.unwrap()),
            Function::Callback => drop(app::callback_service(&env, &sdk).await.unwrap()),
            Function::Archiver => drop(app::archiver_service(&env, &sdk).await.unwrap()),
            Function::History => drop(app::history_service(&env, &sdk).await.unwrap()),
            Function::Watchdog => drop(
                app::watchdog_service(&env, &sdk, streamguard_core::ports::SystemClock)
                    .await
                    .unwrap(),
            ),
        }
        let asked: BTreeSet<String> = asked
            .lock()
            .unwrap()
            .iter()
            .filter(|name| !local_only.contains(name.as_str()))
            .cloned()
            .collect();
        // The log level is read by telemetry::init, before the service is built.
        let expected: BTreeSet<String> = variables::of(*function)
            .map(|variable| variable.name.to_owned())
            .filter(|name| name != variables::LOG_LEVEL.name)
            .collect();
        assert_eq!(asked, expected, "{function}");
    }
}
