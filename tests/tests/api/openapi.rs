use std::path::PathBuf;

use tests::spawn_app;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml")
}

/// `openapi.yaml` is generated from the code; regenerate it with
/// `cargo run -q --bin zikao-cert -- openapi > openapi.yaml`.
#[test]
fn committed_openapi_yaml_matches_the_code() {
    let generated = api::http::openapi::yaml();
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path(), &generated).expect("write openapi.yaml");
        return;
    }
    assert!(
        committed == generated,
        "openapi.yaml differs from the code. Regenerate it with:\n  \
         cargo run -q --bin zikao-cert -- openapi > openapi.yaml"
    );
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let app = spawn_app().await;
    let reply = app.get("/api-docs/openapi.json").await;
    assert_eq!(reply.status, 200);
    let served = reply.json();
    let generated = serde_json::to_value(api::http::openapi::document()).unwrap();
    assert_eq!(served, generated);
    assert_eq!(served["openapi"], "3.1.0");
}

#[tokio::test]
async fn swagger_ui_is_served_without_internet() {
    let app = spawn_app().await;
    let page = app.get("/swagger-ui/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger"), "{}", page.text);
    // The bundle is vendored into the binary, not fetched from a CDN.
    let bundle = app.get("/swagger-ui/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000);
}

#[test]
fn every_operation_documents_problem_responses() {
    let doc = serde_json::to_value(api::http::openapi::document()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for status in ["500", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let text = response.to_string();
                    assert!(
                        text.contains("ProblemBody") || text.contains("#/components/responses/"),
                        "{method} {path} {status} is not a problem"
                    );
                }
            }
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
            assert!(op["tags"].is_array(), "{method} {path} has no tag");
        }
    }
}
