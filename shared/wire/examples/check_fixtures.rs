//! Checks the wire fixtures (`tests/fixtures/`) against the provider
//! documents, when a developer has them: every fixture written from a
//! document example has that example's shape (field paths and JSON types),
//! and the documents still state the quirks the fixtures carry.
//!
//! `cargo run -p streamguard-wire --example check_fixtures -- <reference folder>`
//! (scripts/test runs it when `REFERENCE_DOCS_DIR` is set). The tests never
//! need the documents: the fixtures are the project's own files.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// (fixture, document, the heading its example follows).
const FROM_EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "deepcleer/start-request.json",
        "deepcleer-audio-stream-request.txt",
        "Request Example",
    ),
    (
        "deepcleer/start-response.json",
        "deepcleer-audio-stream-request.txt",
        "Synchronous Response Example",
    ),
    (
        "deepcleer/callback-segment.json",
        "deepcleer-audio-stream-request.txt",
        "Callback Example",
    ),
    (
        "deepcleer/close-request.json",
        "deepcleer-audio-stream-close.txt",
        "Request Example",
    ),
    (
        "deepcleer/close-response.json",
        "deepcleer-audio-stream-close.txt",
        "Response Example",
    ),
    (
        "deepcleer/close-video-request.json",
        "deepcleer-video-stream-close.txt",
        "Request Example",
    ),
    (
        "deepcleer/close-video-response.json",
        "deepcleer-video-stream-close.txt",
        "Response Example",
    ),
    (
        "zego/stop-request.json",
        "zego-stop-censor-audio-v2.txt",
        "Request body",
    ),
    (
        "zego/stop-response.json",
        "zego-stop-censor-audio-v2.txt",
        "Sample Response",
    ),
];

/// (document, text it must still contain): the quirks the fixtures and the parsers rely on.
const QUIRKS: &[(&str, &str)] = &[
    ("deepcleer-audio-stream-request.txt", "audioStartTime"),
    ("deepcleer-audio-stream-request.txt", "audioStarttime"),
    ("deepcleer-audio-stream-request.txt", "errorcode"),
    ("deepcleer-audio-stream-request.txt", "dupRequestId"),
    ("deepcleer-audio-stream-request.txt", "demoSences"),
    ("deepcleer-audio-stream-request.txt", "data.extra.passThrough"),
    ("deepcleer-audio-stream-overview.txt", "dupRequestId"),
    ("deepcleer-audio-stream-close.txt", "dupRequestId"),
    ("zego-censor-audio-notes.md", "BusinessLabe3"),
    ("zego-censor-audio-notes.md", "5bd59fd62953a8059fb7eaba95720f66d19e4517"),
    ("zego-censor-audio-notes.md", "43e5cfcca828314675f91b001390566a"),
];

/// Every (path, JSON type) in `value`; array items share the path `[]`.
fn shape(value: &Value, path: &str, into: &mut BTreeSet<String>) {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    into.insert(format!("{path}: {kind}"));
    match value {
        Value::Array(items) => items.iter().for_each(|item| shape(item, &format!("{path}[]"), into)),
        Value::Object(map) => map
            .iter()
            .for_each(|(key, child)| shape(child, &format!("{path}.{key}"), into)),
        _ => {}
    }
}

fn shape_of(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    shape(value, "$", &mut found);
    found
}

fn main() -> ExitCode {
    let Some(documents) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: check_fixtures <folder holding the provider documents>");
        return ExitCode::from(2);
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let read = |path: &Path| std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()));
    let mut problems = Vec::new();
    for (fixture, document, heading) in FROM_EXAMPLES {
        let outcome = (|| -> Result<(), String> {
            let text = read(&documents.join(document))?;
            let example = streamguard_wire::reference::json_after(&text, heading)
                .ok_or_else(|| format!("{document}: no JSON example after {heading:?}"))?;
            let example: Value = serde_json::from_str(example).map_err(|error| format!("{document}: {error}"))?;
            let ours: Value =
                serde_json::from_str(&read(&fixtures.join(fixture))?).map_err(|error| format!("{fixture}: {error}"))?;
            let (expected, actual) = (shape_of(&example), shape_of(&ours));
            if expected != actual {
                let missing: Vec<_> = expected.difference(&actual).collect();
                let extra: Vec<_> = actual.difference(&expected).collect();
                return Err(format!(
                    "{fixture} differs from {document} ({heading}): missing {missing:?}, not in the example {extra:?}"
                ));
            }
            Ok(())
        })();
        if let Err(problem) = outcome {
            problems.push(problem);
        }
    }
    for (document, quirk) in QUIRKS {
        match read(&documents.join(document)) {
            Ok(text) if text.contains(quirk) => {}
            Ok(_) => problems.push(format!("{document} no longer mentions {quirk:?}")),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        println!(
            "fixtures agree with the documents: {} examples, {} quirks",
            FROM_EXAMPLES.len(),
            QUIRKS.len()
        );
        ExitCode::SUCCESS
    } else {
        problems.iter().for_each(|problem| eprintln!("{problem}"));
        ExitCode::FAILURE
    }
}
