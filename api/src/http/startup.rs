//! Building and running the HTTP server (port 0 in tests).

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_cors::Cors;
use actix_http::{HttpService, KeepAlive, Protocol};
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::dev::AppConfig;
use actix_web::dev::Server;
use actix_web::http::{Method, header};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use std::sync::Arc;

use crate::auth::keys::JwtKeys;
use crate::catalog_cache::{CatalogCache, RECHECK_INTERVAL};
use crate::config::{JwtKeySource, Settings};
use crate::http::extract::BodyLimit;
use crate::http::middleware::{REQUEST_ID, problem_and_request_id};
use crate::http::problem::{ApiError, Msg};
use crate::http::transport::ProblemTransport;
use crate::readiness::Readiness;
use crate::state::AppState;

/// How long a client may take to send a request head (then 408, problem+json).
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A migration failed (not a connection problem).
    #[error("{0}")]
    Migration(String),
    /// The token signing key could not be read or created.
    #[error("token signing key: {0}")]
    Key(String),
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    /// Migrates the database (retrying in the background while it is unreachable)
    /// and binds the listener.
    pub async fn build(settings: &Settings, database_url: &str) -> Result<Self, StartError> {
        let pool = persistence::pool::build_pool(database_url, settings.db_pool_size);
        let keys = match &settings.jwt_key {
            JwtKeySource::Pem(pem) => JwtKeys::from_pem(pem),
            JwtKeySource::File(path) => JwtKeys::load_or_create(path),
            JwtKeySource::Ephemeral => Ok(JwtKeys::generate()),
        }
        .map_err(StartError::Key)?;
        let state = AppState {
            pool,
            keys: Arc::new(crate::auth::keyring::KeyRing::with_access_key(keys)),
            revocations: Arc::default(),
            trusted_proxies: settings.trusted_proxies.clone().into(),
            catalog: CatalogCache::default(),
            readiness: Arc::new(Readiness::new(database_url)),
        };
        crate::auth::revocation::spawn_listener(database_url, &state.revocations, &state.keys);
        start_up_now_or_later(&state, settings.load_sample_catalog).await?;

        let listener =
            TcpListener::bind(settings.bind_addr).map_err(|source| StartError::Bind {
                addr: settings.bind_addr,
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: settings.bind_addr,
                source,
            })?
            .port();

        let doc = crate::http::openapi::document();
        let route_table = web::Data::new(crate::http::openapi::RouteTable::from_document(&doc));
        let data = web::Data::new(state.clone());
        let origins = settings.cors_allowed_origins.clone();
        let body_limit = BodyLimit(settings.body_limit);
        let app = move || {
            App::new()
                .app_data(data.clone())
                .app_data(route_table.clone())
                .app_data(body_limit)
                .wrap(from_fn(crate::http::idempotency::idempotency))
                .wrap(from_fn(crate::http::openapi::method_guard))
                .wrap(cors(&origins))
                .wrap(from_fn(problem_and_request_id))
                .into_utoipa_app()
                .configure(crate::http::route_table::configure)
                .into_app()
                .service(
                    SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", doc.clone()),
                )
                .default_service(web::to(unknown_route))
        };
        let local = SocketAddr::from(([127, 0, 0, 1], port));
        // What actix-web's HttpServer builds, with every connection wrapped so that
        // the refusals actix-http writes itself are problem+json (see `transport`).
        let mut builder = actix_server::Server::build()
            .listen("zikao-cert", listener, move || {
                let app = app()
                    .into_factory()
                    .map_err(|e: actix_web::Error| e.error_response());
                let http = HttpService::build()
                    .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
                    .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
                    .client_disconnect_timeout(Duration::from_secs(1))
                    .local_addr(local)
                    .finish(map_config(app, |_| AppConfig::default()));
                fn_service(|io: tokio::net::TcpStream| async move {
                    let _ = io.set_nodelay(true);
                    let peer = io.peer_addr().ok();
                    Ok((ProblemTransport::new(io), Protocol::Http1, peer))
                })
                .and_then(http)
            })
            .map_err(|source| StartError::Bind {
                addr: settings.bind_addr,
                source,
            })?
            .shutdown_timeout(settings.shutdown_timeout_secs);
        if let Some(workers) = settings.workers {
            builder = builder.workers(workers.max(1));
        }
        if !settings.handle_signals {
            builder = builder.disable_signals();
        }
        let server = builder.run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests reach the database through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

enum Failure {
    Unreachable(String),
    Fatal(String),
}

/// Migrates (once) and loads the catalogue into memory, seeding the sample on a
/// fresh local installation when asked, on a direct connection: a database that
/// refuses connections fails this at once instead of after a pool timeout.
fn start_up(state: &AppState, load_sample: bool) -> Result<(), Failure> {
    let readiness = &state.readiness;
    let mut conn = readiness.connect().map_err(Failure::Unreachable)?;
    if !readiness.started() {
        match persistence::pool::run_migrations(&mut conn) {
            Ok(applied) if applied > 0 => tracing::info!(applied, "migrations applied"),
            Ok(_) => {}
            Err(persistence::DbError::Unavailable(e)) => return Err(Failure::Unreachable(e)),
            Err(e) => return Err(Failure::Fatal(e.to_string())),
        }
        readiness.set_migrated();
    }
    (state.keys.load(&mut conn, chrono::Utc::now()))
        .map_err(|e| Failure::Unreachable(e.to_string()))?;
    if load_sample {
        match crate::use_cases::catalogue::seed_sample_if_empty(&mut conn, chrono::Utc::now()) {
            Ok(Some((report, round))) => tracing::info!(
                %report, round = %round.id,
                "first local run: loaded the SAMPLE catalogue and a demo round with open windows"
            ),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "could not load the sample catalogue"),
        }
    }
    (state.catalog.refresh(&mut conn)).map_err(|e| Failure::Unreachable(e.to_string()))?;
    readiness.set_catalogue_loaded();
    Ok(())
}

/// Starts up now if the database answers (a failed migration stops the start);
/// otherwise keeps trying every second in the background, so that the listener
/// and `/healthz` come up at once and the catalogue loads as soon as the database
/// is reachable. Then re-checks the catalogue every [`RECHECK_INTERVAL`] for
/// imports made by other instances.
async fn start_up_now_or_later(state: &AppState, load_sample: bool) -> Result<(), StartError> {
    let first = {
        let state = state.clone();
        web::block(move || start_up(&state, load_sample))
            .await
            .unwrap_or_else(|e| Err(Failure::Fatal(e.to_string())))
    };
    match first {
        Ok(()) => {}
        Err(Failure::Fatal(message)) => return Err(StartError::Migration(message)),
        Err(Failure::Unreachable(message)) => {
            tracing::warn!(error = %message, "database unreachable at start; retrying every second");
        }
    }
    // The thread ends (and lets go of its pool) once the app is gone.
    let (pool, weak, readiness) = (
        state.pool.clone(),
        state.catalog.downgrade(),
        Arc::downgrade(&state.readiness),
    );
    let (keys, trusted_proxies) = (state.keys.clone(), state.trusted_proxies.clone());
    let revocations = state.revocations.clone();
    let spawned = std::thread::Builder::new()
        .name("start-up-and-recheck".into())
        .spawn(move || {
            loop {
                let (Some(catalog), Some(readiness)) = (weak.upgrade(), readiness.upgrade()) else {
                    break;
                };
                if !readiness.started() {
                    std::thread::sleep(Duration::from_secs(1));
                    let state = AppState {
                        pool: pool.clone(),
                        keys: keys.clone(),
                        revocations: revocations.clone(),
                        trusted_proxies: trusted_proxies.clone(),
                        catalog,
                        readiness,
                    };
                    match start_up(&state, load_sample) {
                        Ok(()) => tracing::info!("database reachable: migrated, catalogue loaded"),
                        Err(Failure::Fatal(e)) => tracing::error!(error = %e, "migration failed"),
                        Err(Failure::Unreachable(_)) => {}
                    }
                    continue;
                }
                drop(readiness);
                std::thread::sleep(RECHECK_INTERVAL);
                let result = pool
                    .get_timeout(Duration::from_secs(5))
                    .map_err(|e| e.to_string())
                    .and_then(|mut conn| catalog.refresh(&mut conn).map_err(|e| e.to_string()));
                if let Err(e) = result {
                    tracing::warn!(error = %e, "catalogue re-check failed");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the background start-up");
    }
    Ok(())
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            REQUEST_ID,
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::CONTENT_LANGUAGE,
            REQUEST_ID,
        ])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// 405 with `Allow` for a documented path called with another method; 404 otherwise.
async fn unknown_route(req: HttpRequest) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    let allowed = req
        .app_data::<web::Data<crate::http::openapi::RouteTable>>()
        .and_then(|table| table.allowed(req.path()));
    match allowed {
        Some(allow) => {
            let mut response = ApiError::new(
                actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
                "method.not_allowed",
                Msg::new("不支持的请求方法", "Method not allowed"),
                Msg::new(
                    format!("{} 只支持 {allow}", req.path()),
                    format!("{} supports only {allow}", req.path()),
                ),
            )
            .error_response();
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        None => ApiError::not_found(Msg::new(
            format!("地址 {} 不存在", req.path()),
            format!("no route for {}", req.path()),
        ))
        .error_response(),
    }
}
