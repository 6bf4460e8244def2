//! The `zikao-cert` binary: serves the API (default), or runs an admin command.

use std::process::ExitCode;

use api::config::Settings;
use api::startup::Application;
use persistence::local_pg::LocalCluster;

const USAGE: &str = "\
usage: zikao-cert [serve]          run the service (default)
       zikao-cert openapi          print the OpenAPI document (YAML), as committed in openapi.yaml

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

    let (database_url, mut cluster) = match &settings.database_url {
        Some(url) => (url.clone(), None),
        None => match LocalCluster::ensure(&settings.data_dir) {
            Ok(cluster) => {
                if let Err(e) = cluster.create_database("zikao_cert") {
                    eprintln!("zikao-cert: {e}");
                    return ExitCode::FAILURE;
                }
                tracing::info!(data_dir = %cluster.data_dir().display(), "using the private local PostgreSQL cluster");
                (cluster.url("zikao_cert"), Some(cluster))
            }
            Err(e) => {
                eprintln!("zikao-cert: {e}");
                return ExitCode::FAILURE;
            }
        },
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
