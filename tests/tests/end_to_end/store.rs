//! The DynamoDB store passes the store conformance suite against moto: the
//! same cases the in-memory store of the domain tests passes, so the fake
//! cannot drift from the real store.

use streamguard_core::aws::dynamo::DynamoStore;
use streamguard_core::aws::provision::provision;
use streamguard_core::conformance;
use streamguard_core::providers::REGISTERED;

#[tokio::test]
async fn the_dynamodb_store_conforms() {
    let sdk = e2e::sdk_config(&e2e::moto_url()).await;
    let name = format!("conf-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let provisioned = provision(&sdk, &name, &name).await.expect("moto provisions the table");
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), provisioned.table_name);
    for provider in REGISTERED {
        conformance::check_task_store(&store, *provider).await;
    }
}
