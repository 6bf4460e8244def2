//! The `zikao-cert` binary: serves the API (default), or runs an admin command.

use std::process::ExitCode;

use api::config::Settings;
use api::http::startup::Application;
use persistence::local_pg::LocalCluster;

const USAGE: &str = "\
usage: zikao-cert [serve]                          run the service (default)
       zikao-cert admin create --username NAME     create an admin; the password is read from standard input
       zikao-cert catalog import FILE              check a JSON catalogue and store it as the new current
                                                   version; prints the report, or every problem with its
                                                   JSON path (exit 1)
       zikao-cert keys rotate                      retire the signing keys (access tokens, decision
                                                   documents) and make new ones; what the old ones signed
                                                   keeps verifying; instances sign with the new keys
                                                   after their next start
       zikao-cert openapi                          print the OpenAPI document (YAML), as committed in openapi.yaml

Configuration is read from the environment; see README.md.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["serve"] => serve(),
        ["admin", "create", "--username", name] => admin_create(name),
        ["openapi"] => {
            print!("{}", api::http::openapi::yaml());
            ExitCode::SUCCESS
        }
        ["catalog", "import", file] => catalog_import(std::path::Path::new(file)),
        ["keys", "rotate"] => keys_rotate(),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The settings, or the exit code after saying what is wrong.
fn settings() -> Result<Settings, ExitCode> {
    Settings::from_env().map_err(|e| {
        eprintln!("zikao-cert: {e}");
        ExitCode::from(2)
    })
}

/// `DATABASE_URL`, or the private local cluster (made and started on first use).
fn database(settings: &Settings) -> Result<(String, Option<LocalCluster>), ExitCode> {
    match &settings.database_url {
        Some(url) => Ok((url.clone(), None)),
        None => {
            let cluster = LocalCluster::ensure(&settings.data_dir).map_err(|e| {
                eprintln!("zikao-cert: {e}");
                ExitCode::FAILURE
            })?;
            cluster.create_database("zikao_cert").map_err(|e| {
                eprintln!("zikao-cert: {e}");
                ExitCode::FAILURE
            })?;
            tracing::info!(data_dir = %cluster.data_dir().display(), "using the private local PostgreSQL cluster");
            Ok((cluster.url("zikao_cert"), Some(cluster)))
        }
    }
}

fn admin_create(username: &str) -> ExitCode {
    use diesel::Connection;
    let settings = match settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    api::http::telemetry::init(settings.log_json);
    let mut password = String::new();
    if std::io::stdin().read_line(&mut password).is_err()
        || password.trim_end_matches(['\r', '\n']).is_empty()
    {
        eprintln!(
            "zikao-cert: give the admin password on standard input, e.g. `printf '%s\\n' \"$PW\" | zikao-cert admin create --username admin`"
        );
        return ExitCode::from(2);
    }
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let (url, mut cluster) = match database(&settings) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let result = diesel::PgConnection::establish(&url)
        .map_err(|e| e.to_string())
        .and_then(|mut conn| {
            persistence::pool::run_migrations(&mut conn).map_err(|e| e.to_string())?;
            api::cli::create_admin(&mut conn, username, &password)
        });
    if let Some(cluster) = cluster.as_mut() {
        cluster.stop();
    }
    match result {
        Ok(id) => {
            println!("created admin {username} ({id})");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("zikao-cert: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> ExitCode {
    let settings = match settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    api::http::telemetry::init(settings.log_json);
    let (database_url, mut cluster) = match database(&settings) {
        Ok(found) => found,
        Err(code) => return code,
    };

    let result = actix_web::rt::System::new().block_on(async {
        let app = Application::build(&settings, &database_url).await?;
        let shown = if settings.bind_addr.ip().is_unspecified() {
            format!("127.0.0.1:{}", app.port())
        } else {
            format!("{}:{}", settings.bind_addr.ip(), app.port())
        };
        println!("zikao-cert listening on http://{shown}");
        println!("Swagger UI:       http://{shown}/swagger-ui/");
        println!("OpenAPI document: http://{shown}/api-docs/openapi.json");
        app.run_until_stopped()
            .await
            .map_err(|e| api::http::startup::StartError::Migration(e.to_string()))
    });

    if let Some(cluster) = cluster.as_mut() {
        cluster.stop();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zikao-cert: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `work` on a migrated database connection (the private local cluster when
/// `DATABASE_URL` is unset, stopped afterwards); `Err` says why it could not run.
fn on_migrated_database<T>(
    work: impl FnOnce(&mut diesel::PgConnection) -> T,
) -> Result<Result<T, String>, ExitCode> {
    use diesel::Connection;

    let settings = settings()?;
    api::http::telemetry::init(settings.log_json);
    let (database_url, mut cluster) = database(&settings)?;
    let result = diesel::PgConnection::establish(&database_url)
        .map_err(|e| format!("cannot connect to the database: {e}"))
        .and_then(|mut conn| {
            persistence::pool::run_migrations(&mut conn).map_err(|e| e.to_string())?;
            Ok(work(&mut conn))
        });
    if let Some(cluster) = cluster.as_mut() {
        cluster.stop();
    }
    Ok(result)
}

/// `zikao-cert catalog import FILE`: the same check and atomic import as
/// `PUT /api/v1/admin/catalog`. A running service picks the new version up within
/// its re-check interval.
fn catalog_import(file: &std::path::Path) -> ExitCode {
    let result =
        match on_migrated_database(|conn| api::use_cases::catalogue::import_file(conn, file, None))
        {
            Ok(result) => result,
            Err(code) => return code,
        };
    match result {
        Ok(Ok(report)) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Ok(Err(api::use_cases::catalogue::ImportError::Invalid(problems))) => {
            eprintln!(
                "{}: {} problem(s); nothing was imported",
                file.display(),
                problems.len()
            );
            for (path, violation) in problems {
                let at = if path.is_empty() { "(document)" } else { &path };
                eprintln!(
                    "  {at}: [{}] {} / {}",
                    violation.code, violation.zh, violation.en
                );
            }
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("zikao-cert: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("zikao-cert: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `zikao-cert keys rotate`: retires the current signing keys and stores new
/// ones, in one transaction; running instances hear of it (NOTIFY), keep
/// verifying with every listed key and sign with the new ones after their next
/// start.
fn keys_rotate() -> ExitCode {
    let result = match on_migrated_database(|conn| {
        api::auth::keyring::rotate(conn, chrono::Utc::now()).map_err(|e| e.to_string())
    }) {
        Ok(result) => result.and_then(|r| r),
        Err(code) => return code,
    };
    match result {
        Ok(made) => {
            for (purpose, kid) in made {
                println!("new {} key: {kid}", purpose.as_str());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("zikao-cert: {e}");
            ExitCode::FAILURE
        }
    }
}
