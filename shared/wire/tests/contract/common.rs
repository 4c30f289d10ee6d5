//! The project's own wire fixtures (`tests/fixtures/`, written from the
//! provider documents; their README maps each one).

use std::path::Path;

/// The text of one fixture.
pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("fixture {}: {error}", path.display()))
}
