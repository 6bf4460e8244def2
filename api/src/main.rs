//! The `zikao-cert` binary: serves the API (default), or runs an admin command.

use std::process::ExitCode;

use api::config::Settings;
use api::startup::Application;
use persistence::local_pg::LocalCluster;

const USAGE: &str = "\
usage: zikao-cert [serve]          run the service (default)
       zikao-cert openapi          print the OpenAPI document (YAML), as committed in openapi.yaml
       zikao-cert catalog import FILE
                                   check a JSON catalogue and store it as the new current version;
                                   prints the report, or every problem with its JSON path (exit 1)

Configuration is read from the environment; see README.md.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["serve"] => serve(),
        ["openapi"] => {
            print!("{}", api::openapi::yaml());
            ExitCode::SUCCESS
        }
        ["catalog", "import", file] => catalog_import(std::path::Path::new(file)),
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

fn serve() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("zikao-cert: {e}");
            return ExitCode::from(2);
        }
    };
    api::telemetry::init(settings.log_json);

    let Some((database_url, mut cluster)) = database(&settings) else {
        return ExitCode::FAILURE;
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
            .map_err(|e| api::startup::StartError::Migration(e.to_string()))
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

/// The database to use: `DATABASE_URL`, or the private local cluster (started if
/// needed). Prints the reason and gives `None` when neither is available.
fn database(settings: &Settings) -> Option<(String, Option<LocalCluster>)> {
    match &settings.database_url {
        Some(url) => Some((url.clone(), None)),
        None => match LocalCluster::ensure(&settings.data_dir) {
            Ok(cluster) => {
                if let Err(e) = cluster.create_database("zikao_cert") {
                    eprintln!("zikao-cert: {e}");
                    return None;
                }
                tracing::info!(data_dir = %cluster.data_dir().display(), "using the private local PostgreSQL cluster");
                Some((cluster.url("zikao_cert"), Some(cluster)))
            }
            Err(e) => {
                eprintln!("zikao-cert: {e}");
                None
            }
        },
    }
}

/// `zikao-cert catalog import FILE`: the same check and atomic import as
/// `PUT /api/v1/admin/catalog`. A running service picks the new version up within
/// its re-check interval.
fn catalog_import(file: &std::path::Path) -> ExitCode {
    use diesel::Connection;

    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("zikao-cert: {e}");
            return ExitCode::from(2);
        }
    };
    api::telemetry::init(settings.log_json);
    let Some((database_url, mut cluster)) = database(&settings) else {
        return ExitCode::FAILURE;
    };
    let result = diesel::PgConnection::establish(&database_url)
        .map_err(|e| format!("cannot connect to the database: {e}"))
        .and_then(|mut conn| {
            persistence::pool::run_migrations(&mut conn).map_err(|e| e.to_string())?;
            Ok(api::catalog_import::import_file(&mut conn, file, None))
        });
    if let Some(cluster) = cluster.as_mut() {
        cluster.stop();
    }
    match result {
        Ok(Ok(report)) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Ok(Err(api::catalog_import::ImportError::Invalid(problems))) => {
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
