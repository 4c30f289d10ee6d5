//! The architecture's rules, checked on the sources: the domain names no
//! provider, no AWS service and no HTTP, and its modules (with the ports)
//! import one another without a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `src/<dir>/*.rs` (or `src/<file>.rs`), without their unit-test modules.
fn sources(relative: &str) -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let path = root.join(relative);
    let files: Vec<_> = if path.is_dir() {
        std::fs::read_dir(&path)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|file| file.extension().is_some_and(|extension| extension == "rs"))
            .collect()
    } else {
        vec![path.with_extension("rs")]
    };
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(tests) => text[..tests].to_owned(),
                None => text,
            };
            (file.file_stem().unwrap().to_string_lossy().into_owned(), code)
        })
        .collect()
}

#[test]
fn the_domain_names_no_provider_no_aws_service_and_no_http() {
    let domain = sources("domain");
    assert!(domain.len() >= 10, "{:?}", domain.keys());
    let names = ["deepcleer", "zego", "shumei", "dynamo", "sqs", "s3", "lambda"];
    let paths = [
        "crate::aws",
        "crate::http",
        "crate::https",
        "crate::providers",
        "crate::config",
        "crate::memory",
        "crate::app",
        "crate::metrics",
        "crate::init",
        "aws_",
        "lambda_http",
        "hyper",
        "reqwest",
        "streamguard_wire::deepcleer",
        "streamguard_wire::zego",
        "::http::",
    ];
    for (file, code) in &domain {
        let lower = code.to_lowercase();
        for name in names {
            assert!(!lower.contains(name), "domain/{file}.rs names {name:?}");
        }
        for line in code.lines().filter(|line| !line.trim_start().starts_with("//")) {
            for path in paths {
                assert!(!line.contains(path), "domain/{file}.rs uses {path}: {line}");
            }
        }
    }
}

/// Which of `known` the module `code` imports.
fn imports(name: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    known
        .iter()
        .filter(|other| other.as_str() != name && other.as_str() != "mod")
        .filter(|other| {
            let paths = if other.as_str() == "ports" {
                vec!["crate::ports".to_owned()]
            } else {
                vec![format!("super::{other}"), format!("crate::domain::{other}")]
            };
            paths.iter().any(|path| {
                [":", ";", ",", "}"]
                    .iter()
                    .any(|end| code.contains(&format!("{path}{end}")))
            })
        })
        .cloned()
        .collect()
}

fn visit(node: &str, graph: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) {
    if done.contains(node) {
        return;
    }
    if let Some(start) = path.iter().position(|seen| seen == node) {
        panic!("import cycle: {} -> {node}", path[start..].join(" -> "));
    }
    path.push(node.to_owned());
    for next in &graph[node] {
        visit(next, graph, path, done);
    }
    path.pop();
    done.insert(node.to_owned());
}

#[test]
fn the_domain_and_its_ports_import_one_another_without_a_cycle() {
    let mut modules = sources("domain");
    modules.extend(sources("ports"));
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|(name, code)| {
            let code: String = code
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            (name.clone(), imports(name, &code, &known))
        })
        .collect();
    assert!(
        graph["start"].contains("ports") && graph["ports"].contains("task"),
        "the graph is read: {graph:?}"
    );
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done);
    }
}
