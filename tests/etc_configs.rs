//! Every example configuration shipped in etc/ is valid: `--check` passes on each INI file and
//! on the systemd unit's command line.

mod support;

use std::path::{Path, PathBuf};

fn etc() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("etc")
}

fn ini_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(etc())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ini"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_expected_examples_are_shipped() {
    let names: Vec<String> = ini_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for wanted in [
        "development.ini",
        "production.ini",
        "proxy.ini",
        "unix-socket.ini",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "etc/{wanted} missing: {names:?}"
        );
    }
    for other in [
        "waitress-rs.service",
        "waitress-rs.socket",
        "nginx-site.conf",
        "site/index.html",
    ] {
        assert!(etc().join(other).exists(), "etc/{other} missing");
    }
}

#[test]
fn check_passes_on_every_ini_file() {
    for file in ini_files() {
        let path = file.to_str().unwrap();
        let (status, stdout, stderr) = support::run(&["--check", "--config", path]);
        assert!(status.success(), "{path}: {stderr}");
        assert!(stdout.starts_with("[server:main]\n"), "{path}: {stdout}");
        assert!(stdout.contains("# listen: "), "{path}: {stdout}");
        assert!(!stderr.contains("error"), "{path}: {stderr}");
    }
}

#[test]
fn production_ini_keeps_its_pyramid_shape() {
    let text = std::fs::read_to_string(etc().join("production.ini")).unwrap();
    for section in [
        "[app:main]",
        "[server:main]",
        "[loggers]",
        "[formatter_generic]",
        "[alembic]",
    ] {
        assert!(text.contains(section), "{section}");
    }
    assert!(text.contains("use = egg:waitress#main"));
    let (_, stdout, _) = support::run(&[
        "--check",
        "--config",
        etc().join("production.ini").to_str().unwrap(),
    ]);
    assert!(stdout.contains("listen = *:6543\n"), "{stdout}");
    assert!(
        stdout.contains("# listen: http://0.0.0.0:6543\n"),
        "{stdout}"
    );
    assert!(stdout.contains("channel_timeout = 120\n"), "{stdout}");
}

#[test]
fn the_systemd_service_command_line_checks() {
    let unit = std::fs::read_to_string(etc().join("waitress-rs.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart line");
    let site = etc().join("site");
    let mut args: Vec<String> = exec
        .split_whitespace()
        .skip(1)
        .map(|a| a.replace("/srv/www", site.to_str().unwrap()))
        .collect();
    args.insert(0, "--check".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, stdout, stderr) = support::run(&args);
    assert!(status.success(), "{exec}: {stderr}");
    assert!(stdout.contains("sockets = systemd\n"), "{stdout}");
    assert!(unit.contains("RestartPreventExitStatus=78"));
    let socket = std::fs::read_to_string(etc().join("waitress-rs.socket")).unwrap();
    assert!(socket.contains("ListenStream="));
}

#[test]
fn the_development_config_serves_its_static_site() {
    let config = etc().join("development.ini");
    let server = support::Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let response = support::get(server.addr(), "/");
    assert_eq!(response.status, 200);
    assert!(response.text().contains("It works"));
    assert_eq!(
        response.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
}
