//! The `zikao-cert` binary's command line, run as a user would.

use std::process::{Command, Stdio};

fn zikao() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zikao-cert"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("JWT_PRIVATE_KEY")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null());
    command
}

#[test]
fn missing_postgres_binaries_give_one_line_with_the_three_ways_out() {
    let data = std::env::temp_dir().join(format!("zikao-cli-{}", std::process::id()));
    let output = zikao()
        .env("PG_BIN_DIR", "/nonexistent/postgresql/bin")
        .env("ZIKAO_DATA_DIR", &data)
        .env("BIND_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&data);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    for way in [
        "apt-get install postgresql",
        "DATABASE_URL",
        "docker compose up",
    ] {
        assert!(lines[0].contains(way), "{way} missing from: {}", lines[0]);
    }
}

#[test]
fn admin_create_without_a_password_on_stdin_says_how() {
    let output = zikao()
        .args(["admin", "create", "--username", "admin"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("standard input"));
}

#[test]
fn an_unknown_command_prints_the_usage() {
    let output = zikao().arg("frobnicate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("admin create") && stderr.contains("catalog import"));
}

#[test]
fn the_openapi_command_prints_the_committed_document() {
    let output = zikao().arg("openapi").output().unwrap();
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).unwrap();
    assert!(String::from_utf8(output.stdout).unwrap() == committed);
}
