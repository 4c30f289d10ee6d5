//! `template.yaml` against the code: every route the code serves and no
//! other; each function's environment exactly the variables it reads; each
//! role exactly the actions its function makes, on named resources.

use std::collections::BTreeSet;
use streamguard_core::config::{VARIABLES, variables};
use streamguard_core::functions::Function;
use yaml_rust2::{Yaml, YamlLoader};

fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml");
    YamlLoader::load_from_str(&text).expect("YAML").remove(0)
}

fn resources(template: &Yaml) -> Vec<(String, &Yaml)> {
    template["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .map(|(name, resource)| (name.as_str().unwrap().to_owned(), resource))
        .collect()
}

/// (resource, binary) of every function.
fn functions(template: &Yaml) -> Vec<(String, String, &Yaml)> {
    resources(template)
        .into_iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(name, resource)| {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap()
                .to_owned();
            (name, binary, resource)
        })
        .collect()
}

fn keys(yaml: &Yaml) -> BTreeSet<String> {
    yaml.as_hash()
        .map(|hash| hash.keys().filter_map(|key| key.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn strings(yaml: &Yaml) -> Vec<String> {
    match yaml {
        Yaml::String(text) => vec![text.clone()],
        Yaml::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn the_template_serves_exactly_the_routes_of_the_code() {
    let template = template();
    let mut routed = BTreeSet::new();
    for (_, binary, function) in functions(&template) {
        for (_, event) in function["Properties"]["Events"].as_hash().into_iter().flatten() {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let properties = &event["Properties"];
            let route = (
                properties["Method"].as_str().unwrap().to_owned(),
                properties["Path"].as_str().unwrap().to_owned(),
            );
            // yaml-rust2 reads `!Ref Api` as the plain string.
            let api = properties["ApiId"].as_str().unwrap_or_default();
            let callback = route.1.starts_with("/callbacks/");
            assert_eq!(
                api,
                if callback { "CallbackApi" } else { "Api" },
                "the public callback route has an API of its own, with its own limits: {route:?}"
            );
            assert!(
                !callback || properties["Auth"]["Authorizer"].as_str() == Some("NONE"),
                "the callback is public: {route:?}"
            );
            routed.insert((route.0, route.1, binary.clone()));
        }
    }
    let served: BTreeSet<(String, String, String)> = streamguard_core::http::routes::ROUTES
        .iter()
        .map(|route| {
            (
                route.method.to_owned(),
                route.path.to_owned(),
                route.function.name().to_owned(),
            )
        })
        .collect();
    assert_eq!(routed, served);
    let auth = &template["Resources"]["Api"]["Properties"]["Auth"];
    assert_eq!(
        auth["DefaultAuthorizer"].as_str(),
        Some("AWS_IAM"),
        "backend routes need SigV4"
    );
    let callback_api = &template["Resources"]["CallbackApi"]["Properties"];
    assert!(
        callback_api["Auth"].is_badvalue(),
        "no authorizer on the providers' API"
    );
    let limits = &callback_api["DefaultRouteSettings"];
    assert_eq!(limits["ThrottlingRateLimit"].as_str(), Some("CallbackRateLimit"));
    assert_eq!(limits["ThrottlingBurstLimit"].as_str(), Some("CallbackBurstLimit"));
}

/// Upgrading from a version whose callback URLs named the backend API: the
/// same callback route can be kept there, off by default, so that tasks
/// started before the upgrade are still heard.
#[test]
fn the_backend_api_keeps_the_callback_route_only_when_asked() {
    let template = template();
    assert_eq!(
        template["Parameters"]["BackendApiCallbacks"]["Default"].as_str(),
        Some("disabled")
    );
    let resources = &template["Resources"];
    for name in [
        "BackendCallbackIntegration",
        "BackendCallbackRoute",
        "BackendCallbackPermission",
    ] {
        assert_eq!(
            resources[name]["Condition"].as_str(),
            Some("HasBackendApiCallbacks"),
            "{name} exists only while enabled"
        );
    }
    let callback = streamguard_core::http::routes::ROUTES
        .iter()
        .find(|route| route.function == streamguard_core::functions::Function::Callback)
        .unwrap();
    let route = &resources["BackendCallbackRoute"]["Properties"];
    assert_eq!(
        route["RouteKey"].as_str(),
        Some(format!("{} {}", callback.method, callback.path).as_str())
    );
    assert_eq!(
        route["AuthorizationType"].as_str(),
        Some("NONE"),
        "public, as on CallbackApi"
    );
    assert_eq!(route["ApiId"].as_str(), Some("Api"));
    let integration = &resources["BackendCallbackIntegration"]["Properties"];
    assert_eq!(integration["IntegrationUri"].as_str(), Some("CallbackFunction.Arn"));
    assert_eq!(integration["PayloadFormatVersion"].as_str(), Some("2.0"));
    let permission = &resources["BackendCallbackPermission"]["Properties"];
    assert_eq!(permission["FunctionName"].as_str(), Some("CallbackFunction"));
    assert!(
        permission["SourceArn"]
            .as_str()
            .is_some_and(|arn| arn.ends_with("/*/POST/callbacks/*")),
        "only the callback route may invoke it"
    );
}

/// Every `streamguard` metric the alarms and the dashboard read is one the code emits.
#[test]
fn alarms_and_the_dashboard_read_metrics_the_code_emits() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let template = template();
    let mut read = BTreeSet::new();
    for (_, resource) in resources(&template) {
        match resource["Type"].as_str() {
            Some("AWS::CloudWatch::Alarm") => {
                let properties = &resource["Properties"];
                if properties["Namespace"].as_str() == Some("streamguard") {
                    read.insert(properties["MetricName"].as_str().unwrap().to_owned());
                }
                for metric in properties["Metrics"].as_vec().into_iter().flatten() {
                    let stat = &metric["MetricStat"]["Metric"];
                    if stat["Namespace"].as_str() == Some("streamguard") {
                        read.insert(stat["MetricName"].as_str().unwrap().to_owned());
                    }
                }
            }
            Some("AWS::CloudWatch::Dashboard") => {
                let body = resource["Properties"]["DashboardBody"].as_str().unwrap();
                let body: serde_json::Value = serde_json::from_str(body).expect("the dashboard is JSON");
                for widget in body["widgets"].as_array().unwrap() {
                    for metric in widget["properties"]["metrics"].as_array().unwrap() {
                        if metric[0] == "streamguard" {
                            read.insert(metric[1].as_str().unwrap().to_owned());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    assert!(read.len() >= 10, "{read:?}");
    let code = ["http/mod.rs", "scheduled.rs", "archiving.rs", "providers/mod.rs"]
        .map(|file| {
            std::fs::read_to_string(format!("{}/../shared/core/src/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
        })
        .join("\n");
    for name in &read {
        assert!(
            code.contains(&format!("\"{name}\"")),
            "{name} is read by the template but never emitted"
        );
    }
    assert!(
        text.contains("DeduplicationScope: messageGroup"),
        "FIFO high-throughput mode"
    );
}

/// A template parameter's default, when `name` names a parameter.
fn parameter_default<'a>(template: &'a Yaml, name: &str) -> Option<&'a Yaml> {
    let parameter = &template["Parameters"][name];
    (!parameter.is_badvalue()).then(|| &parameter["Default"])
}

#[test]
fn each_function_gets_only_the_variables_it_reads_and_every_one_without_a_default() {
    let template = template();
    let global = &template["Globals"]["Function"]["Environment"]["Variables"];
    for (name, binary, function) in functions(&template) {
        let environment = &function["Properties"]["Environment"]["Variables"];
        let set: BTreeSet<String> = keys(global).union(&keys(environment)).cloned().collect();
        let reads: BTreeSet<String> = match Function::from_name(&binary) {
            Some(function) => variables::of(function)
                .map(|variable| variable.name.to_owned())
                .collect(),
            // The example consumer reads only the log level.
            None => BTreeSet::from([variables::LOG_LEVEL.name.to_owned()]),
        };
        let unread: Vec<_> = set.difference(&reads).collect();
        assert!(
            unread.is_empty(),
            "{name} is given variables it does not read: {unread:?}"
        );
        for variable in VARIABLES.iter().filter(|variable| reads.contains(variable.name)) {
            let value = if environment[variable.name].is_badvalue() {
                &global[variable.name]
            } else {
                &environment[variable.name]
            };
            match variable.default {
                None => assert!(
                    !value.is_badvalue(),
                    "{name}: {} has no default and must be set",
                    variable.name
                ),
                // A default lives in the variable table: the template only passes parameters on.
                Some(default) if !value.is_badvalue() => {
                    let text = value.as_str().unwrap_or_default();
                    match parameter_default(&template, text) {
                        Some(parameter) => assert_eq!(
                            parameter.as_str(),
                            Some(default),
                            "{name}: the parameter behind {} defaults to the table's default",
                            variable.name
                        ),
                        None => panic!(
                            "{name}: {} is set to the literal {text:?}; its default is in the table",
                            variable.name
                        ),
                    }
                }
                Some(_) => {}
            }
        }
    }
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    for variable in VARIABLES.iter().filter(|variable| variable.functions.is_empty()) {
        assert!(
            !text.contains(&format!("{}:", variable.name)),
            "{} is local-only: a deployment never sets it",
            variable.name
        );
    }
}

#[test]
fn the_provider_parameter_allows_exactly_the_registered_providers() {
    let template = template();
    let allowed: Vec<&str> = template["Parameters"]["Provider"]["AllowedValues"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap())
        .collect();
    let registered: Vec<&str> = streamguard_core::providers::REGISTERED
        .iter()
        .map(|id| id.as_str())
        .collect();
    assert_eq!(allowed, registered);
}

#[test]
fn each_role_allows_exactly_what_its_function_does() {
    let template = template();
    let expected = |binary: &str| -> &[&str] {
        match (Function::from_name(binary), binary) {
            (Some(function), _) => streamguard_core::app::actions(function),
            (None, "consumer") => consumer::ACTIONS,
            (None, other) => panic!("no action list for {other}"),
        }
    };
    for (name, binary, function) in functions(&template) {
        let mut allowed = BTreeSet::new();
        for policy in function["Properties"]["Policies"].as_vec().unwrap() {
            assert!(
                policy.as_hash().is_some(),
                "{name}: only inline statements, no broad managed or SAM policies"
            );
            for statement in policy["Statement"].as_vec().unwrap() {
                assert_eq!(statement["Effect"].as_str(), Some("Allow"));
                let resources = strings(&statement["Resource"]);
                // The one wildcard: the evidence archive's objects, under its prefix.
                assert!(
                    !resources
                        .iter()
                        .any(|resource| resource.contains('*') && !resource.ends_with("}/evidence/*")),
                    "{name}: no wildcard resources but the evidence prefix: {resources:?}"
                );
                if statement["Resource"].is_badvalue() || statement["Resource"].is_null() {
                    panic!("{name}: a statement without a resource");
                }
                allowed.extend(strings(&statement["Action"]));
            }
        }
        let wanted: BTreeSet<String> = expected(&binary).iter().map(|action| action.to_string()).collect();
        assert_eq!(allowed, wanted, "{name}");
    }
}

#[test]
fn the_callback_role_cannot_read_the_access_key() {
    let template = template();
    let callback = &template["Resources"]["CallbackFunction"];
    let text = format!("{callback:?}");
    assert!(
        !text.contains("AccessKeyParameterName"),
        "the callback never calls the provider"
    );
}

/// Zego starts without Zego's callback secret are refused at deploy; the
/// cold-start check is `providers::zego`'s unit test.
#[test]
fn zego_starts_without_the_callback_secret_are_refused_at_deploy() {
    let template = template();
    let rule = &template["Rules"]["ZegoStartsNeedTheCallbackSecret"];
    assert!(!rule.is_badvalue(), "the rule exists");
    let text = format!("{rule:?}");
    assert!(
        text.contains("ZegoApiSecretParameterName"),
        "when Zego starts are enabled: {text}"
    );
    assert!(
        text.contains("ZegoCallbackSecretParameterName"),
        "the callback secret is required: {text}"
    );
    // The start function only learns whether it is configured: no read of it.
    let start = format!("{:?}", template["Resources"]["StartFunction"]["Properties"]["Policies"]);
    assert!(!start.contains("ZegoCallbackSecretParameterName"), "{start}");
}
