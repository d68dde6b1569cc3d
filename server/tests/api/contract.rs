//! The contract check behind `helpers::send`: every answer of a documented
//! route is validated against the OpenAPI document the server publishes
//! (the response schema of its operation and status, by a JSON Schema
//! validator), so the document cannot drift from what the handlers answer.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use utoipa::OpenApi;

struct Contract {
    document: Value,
    /// Validators by operation and status, built on first use.
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

static CONTRACT: LazyLock<Contract> = LazyLock::new(|| Contract {
    document: serde_json::to_value(server::api::openapi::ApiDoc::openapi()).expect("the document serializes"),
    validators: Mutex::default(),
});

/// The documented path template `path` falls under, preferring the one with
/// the most literal segments (`/segments/estimate` over `/segments/{id}`).
fn template_for<'a>(paths: &'a serde_json::Map<String, Value>, method: &str, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    paths
        .iter()
        .filter(|(_, item)| item.get(method).is_some())
        .filter_map(|(template, _)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') {
                    continue;
                }
                if part != segment {
                    return None;
                }
                literal += 1;
            }
            Some((literal, template.as_str()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, template)| template)
}

/// Panics when a documented route answers a status its operation does not
/// list, or a JSON body its schema rejects.
pub fn check(method: &Method, path: &str, status: StatusCode, body: &Value) {
    let contract = &*CONTRACT;
    let method = method.as_str().to_lowercase();
    let Some(paths) = contract.document["paths"].as_object() else {
        panic!("the document has no paths");
    };
    let Some(template) = template_for(paths, &method, path) else {
        return; // not a documented route (the console's server functions, probes of unknown routes)
    };
    let responses = &paths[template][&method]["responses"];
    let code = status.as_u16().to_string();
    let response = match responses.get(&code) {
        Some(response) => response,
        None if !status.is_success() && responses.get("default").is_some() => &responses["default"],
        None => panic!("{method} {template} answered {status}, which the OpenAPI document does not list"),
    };
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        return; // no JSON body documented (204, CSV downloads)
    };
    let key = format!("{method} {template} {code}");
    let validator = contract
        .validators
        .lock()
        .unwrap()
        .entry(key.clone())
        .or_insert_with(|| {
            // The response schema as the root, with the document's components
            // beside it so that its `#/components/schemas/...` references resolve.
            let mut root = json!({"components": contract.document["components"].clone()});
            for (keyword, value) in schema.as_object().expect("a schema object") {
                root[keyword] = value.clone();
            }
            Arc::new(
                jsonschema::draft202012::new(&root)
                    .unwrap_or_else(|error| panic!("the schema of {key} compiles: {error}")),
            )
        })
        .clone();
    let problems: Vec<String> = validator
        .iter_errors(body)
        .map(|error| format!("at {}: {error}", error.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "{key}: the answer does not match the OpenAPI document:\n  {}\nbody: {body}",
        problems.join("\n  ")
    );
}

#[test]
fn routes_are_matched_to_their_most_specific_template() {
    let paths = CONTRACT.document["paths"].as_object().unwrap();
    assert_eq!(
        template_for(paths, "post", "/api/v1/segments/estimate"),
        Some("/api/v1/segments/estimate")
    );
    assert_eq!(
        template_for(paths, "get", "/api/v1/segments/42"),
        Some("/api/v1/segments/{id}")
    );
    assert_eq!(
        template_for(paths, "get", "/api/v1/uploads/template.csv"),
        Some("/api/v1/uploads/template.csv")
    );
    assert_eq!(template_for(paths, "get", "/api/segments"), None);
}

#[test]
fn a_body_the_schema_rejects_fails_the_check() {
    let wrong = std::panic::catch_unwind(|| {
        check(
            &Method::GET,
            "/api/v1/groups",
            StatusCode::OK,
            &json!({"groups": [{"id": "seven"}]}),
        )
    });
    assert!(
        wrong.is_err(),
        "a group with a string ID and no name passed the check"
    );
    check(
        &Method::GET,
        "/api/v1/groups",
        StatusCode::OK,
        &json!({"groups": []}),
    );
    let undocumented = std::panic::catch_unwind(|| {
        check(
            &Method::GET,
            "/api/v1/groups",
            StatusCode::CREATED,
            &json!({"groups": []}),
        )
    });
    assert!(
        undocumented.is_err(),
        "a status the document does not list passed the check"
    );
}
