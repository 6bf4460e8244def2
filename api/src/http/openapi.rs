//! The OpenAPI 3.1 document, built from the same route registration as the app.
//!
//! After collection, every operation gets the problem+json responses that the
//! shared layers can produce (400/413/415 for bodies, 422 for bad parameters,
//! 401/403 for secured operations, 500/503 everywhere), so a client can rely on
//! the error envelope without reading each handler.

use actix_web::App;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::http::problem::{FieldErrorBody, PROBLEM_JSON, ProblemBody};

const DESCRIPTION: &str = "\
Backend of the Higher Education Self-study Examination's learning-outcome certification \
(自学考试学历成果认证): candidates register a verified prior degree or a national certificate \
and get courses exempted; school staff and the exam authority run and review it.

Conventions: JSON in UTF-8 with snake_case fields; RFC 3339 timestamps; ids are UUIDv7. \
Every error is `application/problem+json` with a stable `code` and per-field `errors[]`; \
messages are in Simplified Chinese unless `Accept-Language` prefers English. \
Lists take `page` and `per_page` (at most 200). Rules are cited as R1–R20 of the seed document.";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "zikao-cert",
        version = env!("CARGO_PKG_VERSION"),
        description = DESCRIPTION,
        license(name = "MIT", identifier = "MIT"),
        contact(name = "zikao-cert maintainers")
    ),
    servers((url = "/", description = "This server")),
    tags(
        (name = "service", description = "Health and readiness."),
        (name = "accounts", description = "Registration, sign-in, tokens and passwords (R1, R2)."),
        (name = "catalogue", description = "Courses, majors, eligibility rules and rounds (R8, R10–R16)."),
        (name = "certification-applications", description = "Certification applications by degree or certificate: create, check, submit, withdraw, return, review, history, and the candidate's progress (R7–R20)."),
        (name = "prior-degrees", description = "Prior degrees (前置学历): pledge, draft, modify, submit and the verification feedback (R3–R7). States: draft → submitted → effective | rejected (→ modify → submitted again); effective is final."),
        (name = "staff", description = "School staff helping and checking their candidates (R19)."),
        (name = "admin", description = "Schools, staff accounts, service accounts, catalogue and rounds."),
        (name = "integration", description = "Service accounts of the exam authority's scripts: the notification outbox, at least once."),
    ),
    components(schemas(ProblemBody, FieldErrorBody)),
    modifiers(&Security)
)]
struct BaseDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from POST /api/v1/auth/login (15 minutes).",
                    ))
                    .build(),
            ),
        );
        let _ = Http::new(HttpAuthScheme::Bearer);
    }
}

/// The shared problem responses: (component name, status, description).
const SHARED: [(&str, &str, &str); 11] = [
    (
        "BadRequest",
        "400",
        "The body is not JSON, or a value has the wrong JSON type.",
    ),
    (
        "Unauthorized",
        "401",
        "`auth.required`: no access token; `auth.invalid_token`: expired or invalid; `auth.revoked`: its session ended (sign-out, password change or reset).",
    ),
    (
        "Forbidden",
        "403",
        "Signed in, but this role may not do this.",
    ),
    ("NotFound", "404", "Unknown, or not visible to the caller."),
    (
        "PreconditionFailed",
        "412",
        "`version.stale`: `If-Match` names an older version; fetch the resource again.",
    ),
    ("PayloadTooLarge", "413", "The body exceeds the size limit."),
    (
        "PreconditionRequired",
        "428",
        "`precondition.required`: a `PATCH` needs `If-Match` with the `ETag` last read.",
    ),
    (
        "UnsupportedMediaType",
        "415",
        "The body is not declared as application/json.",
    ),
    (
        "UnprocessableEntity",
        "422",
        "A value breaks a format or business rule; see errors[].",
    ),
    (
        "InternalError",
        "500",
        "A fault on the server; quote the request id.",
    ),
    (
        "ServiceUnavailable",
        "503",
        "The database is unreachable; retry after Retry-After seconds.",
    ),
];

fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ProblemBody")))
                .build(),
        )
        .build()
}

fn add_shared(operation: &mut Operation, statuses: &[&str]) {
    for (name, status, _) in SHARED.iter().filter(|(_, s, _)| statuses.contains(s)) {
        operation
            .responses
            .responses
            .entry((*status).to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
    }
}

/// Adds the shared responses to every operation (see the module doc), and marks
/// operations without a bearer requirement as public (`security: [{}]`).
fn complete(mut doc: Document) -> Document {
    for (path, item) in doc.paths.paths.iter_mut() {
        let path_has_parameter = path.contains('{');
        let has_path_parameter = path_has_parameter;
        let post_is_idempotent = item.post.is_some();
        if let Some(post) = item.post.as_mut()
            && post_is_idempotent
        {
            let parameters = post.parameters.get_or_insert_with(Vec::new);
            parameters.push(RefOr::Ref(Ref::new(
                "#/components/parameters/IdempotencyKey",
            )));
        }
        let operations = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for operation in operations.into_iter().flatten() {
            let mut statuses = vec!["500", "503"];
            if operation.request_body.is_some() {
                statuses.extend(["400", "413", "415", "422"]);
            }
            if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                statuses.push("422");
            }
            if has_path_parameter {
                statuses.push("404");
            }
            let reads_if_match = operation.parameters.as_ref().is_some_and(|ps| {
                ps.iter()
                    .any(|p| matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case("If-Match")))
            });
            if reads_if_match {
                statuses.push("412");
            }
            let requires_if_match = operation.parameters.as_ref().is_some_and(|ps| {
                ps.iter().any(|p| {
                    matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case("If-Match")
                        && p.required == utoipa::openapi::Required::True)
                })
            });
            if requires_if_match {
                statuses.push("428");
            }
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                statuses.extend(["401", "403"]);
            } else {
                operation.security = Some(vec![SecurityRequirement::default()]);
            }
            add_shared(operation, &statuses);
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.parameters.insert(
        "IdempotencyKey".into(),
        RefOr::T(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(utoipa::openapi::Required::False)
                .description(Some(
                    "Makes a retry safe: the same key with the same request returns the first \
                     successful answer again (header `Idempotent-Replayed: true`) instead of acting \
                     twice; the same key with a different request is 422 `idempotency.mismatch`. \
                     The key is stored with the change it guards, in one transaction: a retry after \
                     a lost answer (timeout, 503, crash) either replays the stored answer or runs \
                     once, and a concurrent duplicate waits for the first and gets its answer. Keys \
                     are per caller, 1–200 visible ASCII characters (a UUID is a good choice), kept \
                     24 hours. Refusals are not remembered (what they record, like a failed \
                     sign-in, still counts), and neither are answers carrying secrets (tokens, \
                     temporary passwords, service-account secrets).",
                ))
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::String)
                        .min_length(Some(1))
                        .max_length(Some(200))
                        .pattern(Some("^[\\x21-\\x7E]+$")),
                ))
                .example(Some(serde_json::json!("8f14e45f-ceea-467a-9b36-1c2d3e4f5a6b")))
                .build(),
        ),
    );
    // Only the shared responses some operation refers to.
    let used = serde_json::to_string(&doc.paths).unwrap_or_default();
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, _, description) in SHARED {
        if used.contains(&format!("#/components/responses/{name}\"")) {
            components
                .responses
                .insert(name.to_owned(), RefOr::T(problem_response(description)));
        }
    }
    doc
}

/// Whether an operation requires a bearer token (public ones carry `[{}]`).
pub fn is_secured(operation: &serde_json::Value) -> bool {
    operation["security"]
        .as_array()
        .is_some_and(|reqs| reqs.iter().any(|r| r.get("bearer").is_some()))
}

/// The documented paths and their methods, to tell "no such path" (404) from
/// "path exists, method does not" (405 with `Allow`).
#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<&'static str>)>,
    secured: Vec<(Vec<String>, &'static str)>,
}

impl RouteTable {
    /// Builds the table from the document.
    pub fn from_document(doc: &Document) -> Self {
        let json = serde_json::to_value(&doc.paths).unwrap_or_default();
        let mut secured = Vec::new();
        if let Some(paths) = json.as_object() {
            for (path, item) in paths {
                for method in ["GET", "PUT", "POST", "DELETE", "PATCH"] {
                    if item
                        .get(method.to_ascii_lowercase())
                        .is_some_and(is_secured)
                    {
                        secured.push((path.split('/').map(str::to_owned).collect(), method));
                    }
                }
            }
        }
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path.split('/').map(str::to_owned).collect();
                let mut methods = Vec::new();
                for (method, present) in [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ] {
                    if present {
                        methods.push(method);
                    }
                }
                (segments, methods)
            })
            .collect();
        Self { routes, secured }
    }

    /// Whether `method path` is an operation that requires a bearer token.
    pub fn is_secured(&self, method: &str, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        self.secured
            .iter()
            .any(|(segments, m)| *m == method && matches(segments, &parts))
    }

    /// The methods a request path supports, when it is a documented path.
    pub fn allowed(&self, path: &str) -> Option<String> {
        let parts: Vec<&str> = path.split('/').collect();
        // The most specific templates win: `/staff/candidates/import` is not also
        // `/staff/candidates/{id}`.
        let literal = |segments: &[String]| segments.iter().filter(|s| !s.starts_with('{')).count();
        let best = self
            .routes
            .iter()
            .filter(|(segments, _)| matches(segments, &parts))
            .map(|(segments, _)| literal(segments))
            .max()?;
        let mut allowed: Vec<&str> = Vec::new();
        for (segments, methods) in &self.routes {
            if matches(segments, &parts) && literal(segments) == best {
                allowed.extend(methods);
            }
        }
        (!allowed.is_empty()).then(|| {
            allowed.sort();
            allowed.dedup();
            allowed.join(", ")
        })
    }
}

/// The complete OpenAPI document of the service.
pub fn document() -> Document {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(BaseDoc::openapi())
        .configure(crate::http::route_table::configure)
        .split_for_parts();
    complete(doc)
}

/// The document as YAML, exactly as committed in `openapi.yaml`.
pub fn yaml() -> String {
    document().to_yaml().unwrap_or_default()
}

fn matches(segments: &[String], parts: &[&str]) -> bool {
    segments.len() == parts.len()
        && segments
            .iter()
            .zip(parts)
            .all(|(s, p)| (s.starts_with('{') && !p.is_empty()) || s == p)
}

/// Answers 405 (with `Allow`) when a request names a documented path with a
/// method that path does not support, before routing could hand it to a
/// neighbouring template (`GET /staff/candidates/import` is not
/// `GET /staff/candidates/{id}`).
pub async fn method_guard(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::ResponseError;
    let allowed = req
        .app_data::<actix_web::web::Data<RouteTable>>()
        .and_then(|table| table.allowed(req.path()));
    if let Some(allow) = allowed
        && req.method() != actix_web::http::Method::OPTIONS
        && !allow.split(", ").any(|m| m == req.method().as_str())
    {
        let mut response = crate::http::problem::ApiError::new(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            "method.not_allowed",
            crate::http::problem::Msg::new("不支持的请求方法", "Method not allowed"),
            crate::http::problem::Msg::new(
                format!("{} 只支持 {allow}", req.path()),
                format!("{} supports only {allow}", req.path()),
            ),
        )
        .error_response();
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
            response
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, value);
        }
        return Ok(req.into_response(response));
    }
    next.call(req)
        .await
        .map(actix_web::dev::ServiceResponse::map_into_boxed_body)
}
