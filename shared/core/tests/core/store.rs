//! The in-memory store passes the store conformance suite (the DynamoDB
//! store runs the same suite against moto in the end-to-end tests).

use streamguard_core::conformance;
use streamguard_core::memory::MemoryStore;
use streamguard_core::providers::REGISTERED;

#[tokio::test]
async fn the_memory_store_conforms() {
    for provider in REGISTERED {
        conformance::check_task_store(&MemoryStore::default(), *provider).await;
    }
}
