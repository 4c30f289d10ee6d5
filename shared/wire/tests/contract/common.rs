//! Reads the provider reference that sits beside the repository, so tests use
//! the documents' own examples without copying them into the repo.

use std::path::PathBuf;

/// `STREAMGUARD_REFERENCE_DIR`, else `../shared/reference` beside the repository.
pub fn reference_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("STREAMGUARD_REFERENCE_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference")
}

/// The text of one reference file; panics with a clear message when it is missing.
pub fn reference(name: &str) -> String {
    let path = reference_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read the provider reference {} ({error}); it lives beside the repository in \
             ../shared/reference, or set STREAMGUARD_REFERENCE_DIR",
            path.display()
        )
    })
}

/// The first JSON object after `heading` in `text`, verbatim.
pub fn json_after(text: &str, heading: &str) -> String {
    wire::reference::json_after(text, heading)
        .unwrap_or_else(|| panic!("no balanced JSON object after {heading:?}"))
        .to_owned()
}
