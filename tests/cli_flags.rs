//! The command line through the real binary: every setting as a flag, `--no-` twins, `--listen`
//! adding up, prefixes, usage errors, `--help` and `--version`.

mod support;

use waitress_rs::settings::Form;
use waitress_rs::settings::KEYS;

/// A valid value for each value-taking key, the other flags it needs, and the line `--check`
/// prints for it. Panics for a key it does not know, so a new key has to be added here.
fn sample(name: &str) -> (&'static [&'static str], &'static str, &'static str) {
    const PROXY: &[&str] = &["--trusted-proxy", "10.0.0.1"];
    match name {
        "host" => (&[], "127.0.0.1", "listen = 127.0.0.1:8080"),
        "port" => (&[], "9090", "listen = 0.0.0.0:9090"),
        "listen" => (&[], "127.0.0.1:9000", "listen = 127.0.0.1:9000"),
        "threads" => (&[], "8", "threads = 8"),
        "trusted_proxy" => (&[], "10.0.0.1", "trusted_proxy = 10.0.0.1"),
        "trusted_proxy_count" => (PROXY, "2", "trusted_proxy_count = 2"),
        "trusted_proxy_headers" => (
            PROXY,
            "x-forwarded-for",
            "trusted_proxy_headers = x-forwarded-for",
        ),
        "url_scheme" => (&[], "https", "url_scheme = https"),
        "url_prefix" => (&[], "/app", "url_prefix = /app"),
        "backlog" => (&[], "50", "backlog = 50"),
        "recv_bytes" => (&[], "4096", "recv_bytes = 4096"),
        "send_bytes" => (&[], "2", "send_bytes = 2"),
        "outbuf_overflow" => (&[], "1000", "outbuf_overflow = 1000"),
        "outbuf_high_watermark" => (&[], "2000", "outbuf_high_watermark = 2000"),
        "inbuf_overflow" => (&[], "3000", "inbuf_overflow = 3000"),
        "connection_limit" => (&[], "7", "connection_limit = 7"),
        "cleanup_interval" => (&[], "10", "cleanup_interval = 10"),
        "channel_timeout" => (&[], "60", "channel_timeout = 60"),
        "max_request_header_size" => (&[], "1000", "max_request_header_size = 1000"),
        "max_request_body_size" => (&[], "5000", "max_request_body_size = 5000"),
        "ident" => (&[], "myserver", "ident = myserver"),
        "asyncore_loop_timeout" => (&[], "2", "asyncore_loop_timeout = 2"),
        "unix_socket" => (
            &[],
            "/tmp/waitress-rs-test.sock",
            "unix_socket = /tmp/waitress-rs-test.sock",
        ),
        "unix_socket_perms" => (&[], "660", "unix_socket_perms = 660"),
        "sockets" => (&[], "3 4", "sockets = 3 4"),
        "channel_request_lookahead" => (&[], "5", "channel_request_lookahead = 5"),
        "server_name" => (&[], "example.com", "server_name = example.com"),
        other => panic!("no sample value for new key {other}: add one to tests/cli_flags.rs"),
    }
}

fn check(args: &[&str]) -> String {
    let mut all = vec!["--check"];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = support::run(&all);
    assert!(
        status.success(),
        "--check {args:?} failed: {status}\n{stderr}"
    );
    stdout
}

fn has_line(out: &str, line: &str) -> bool {
    out.lines().any(|l| l == line)
}

#[test]
fn every_value_key_is_a_flag_in_both_spellings() {
    let mut seen = 0;
    for key in KEYS.iter().filter(|k| k.form != Form::Switch) {
        let (extra, value, line) = sample(key.name);
        let flag = key.flag();
        assert_eq!(flag, format!("--{}", key.name.replace('_', "-")));

        let mut spaced: Vec<&str> = extra.to_vec();
        spaced.extend([flag.as_str(), value]);
        let out = check(&spaced);
        assert!(
            has_line(&out, line),
            "{spaced:?} did not print {line:?}:\n{out}"
        );

        let joined = format!("{flag}={value}");
        let mut eq: Vec<&str> = extra.to_vec();
        eq.push(&joined);
        let out = check(&eq);
        assert!(
            has_line(&out, line),
            "{eq:?} did not print {line:?}:\n{out}"
        );
        seen += 1;
    }
    assert!(seen >= 25, "only {seen} value keys");
}

#[test]
fn every_boolean_has_a_no_twin_and_the_last_wins() {
    let switches: Vec<_> = KEYS.iter().filter(|k| k.form == Form::Switch).collect();
    assert!(switches.len() >= 7, "{switches:?}");
    for key in switches {
        let on = key.flag();
        let off = format!("--no-{}", key.name.replace('_', "-"));
        let t = format!("{} = true", key.name);
        let f = format!("{} = false", key.name);
        for (args, want) in [
            (vec![on.as_str()], &t),
            (vec![off.as_str()], &f),
            (vec![on.as_str(), off.as_str()], &f),
            (vec![off.as_str(), on.as_str()], &t),
            (vec![on.as_str(), off.as_str(), on.as_str()], &t),
        ] {
            // `*` resolves with either address family off (0.0.0.0 is IPv4 only).
            let mut args = args;
            args.extend(["--listen", "*:8080"]);
            let out = check(&args);
            assert!(
                has_line(&out, want),
                "{args:?} did not print {want:?}:\n{out}"
            );
        }
        // A switch takes no value: `--ipv4=yes` is a usage error.
        let (status, _, stderr) = support::run(&["--check", &format!("{on}=yes")]);
        assert_eq!(status.code(), Some(2), "{on}=yes: {stderr}");
    }
}

#[test]
fn value_flags_last_wins() {
    let out = check(&["--threads", "8", "--threads=9"]);
    assert!(has_line(&out, "threads = 9"), "{out}");
}

#[test]
fn listen_is_repeatable_and_space_separated() {
    let out = check(&[
        "--listen",
        "127.0.0.1:9001 127.0.0.1:9002",
        "--listen=127.0.0.1:9003",
        "--listen",
        "[::1]:9004",
    ]);
    assert!(
        has_line(
            &out,
            "listen = 127.0.0.1:9001 127.0.0.1:9002 127.0.0.1:9003 [::1]:9004"
        ),
        "{out}"
    );
    for url in [
        "# listen: http://127.0.0.1:9001",
        "# listen: http://127.0.0.1:9002",
        "# listen: http://127.0.0.1:9003",
        "# listen: http://[::1]:9004",
    ] {
        assert!(has_line(&out, url), "missing {url}:\n{out}");
    }
}

#[test]
fn waitress_serve_spellings() {
    let out = check(&[
        "--unix-socket=/tmp/ws.sock",
        "--unix-socket-perms=660",
        "--no-ipv6",
        "--ident=x",
        "--asyncore-use-poll",
    ]);
    for line in [
        "unix_socket = /tmp/ws.sock",
        "unix_socket_perms = 660",
        "ipv6 = false",
        "ident = x",
        "asyncore_use_poll = true",
    ] {
        assert!(has_line(&out, line), "missing {line}:\n{out}");
    }
    // --call belongs to the Python package's MODULE:OBJECT: without one it is a usage error,
    // as in waitress-serve (one_application_and_call_only_with_a_target).
}

#[test]
fn unique_prefixes_are_accepted() {
    let out = check(&["--thr=8"]);
    assert!(has_line(&out, "threads = 8"), "{out}");
    let out = check(&["--thr", "6"]);
    assert!(has_line(&out, "threads = 6"), "{out}");
    let out = check(&["--channel-t", "5"]);
    assert!(has_line(&out, "channel_timeout = 5"), "{out}");
}

#[test]
fn ambiguous_prefix_is_a_usage_error() {
    // --u could be --url-scheme, --url-prefix, --unix-socket, --unix-socket-perms.
    let (status, stdout, stderr) = support::run(&["--check", "--u=1"]);
    assert_eq!(status.code(), Some(2), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("--u"), "{stderr}");
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let (status, stdout, stderr) = support::run(&["--check", "--frobnicate=1"]);
    assert_eq!(status.code(), Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("--frobnicate"), "{stderr}");
    // A value flag given no value is a usage error too.
    let (status, _, _) = support::run(&["--check", "--threads"]);
    assert_eq!(status.code(), Some(2));
}

#[test]
fn usage_errors_are_one_line() {
    for args in [
        &["--check", "--ipv4=false"][..],
        &["--check", "--threads"],
        &["--check", "--frobnicate"],
        &["--check", "--u=1"],
        &["--check", "--log-level", "loud"],
    ] {
        let (status, stdout, stderr) = support::run(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        assert!(lines[0].starts_with("waitress-rs: error: "), "{stderr}");
        assert!(lines[0].ends_with("; see --help"), "{stderr}");
    }
    // clap's tip is kept, in the line.
    let (_, _, stderr) = support::run(&["--check", "--threds", "5"]);
    assert!(
        stderr.contains("(a similar argument exists: '--threads')"),
        "{stderr}"
    );
}

#[test]
fn values_starting_with_a_dash_are_taken_as_getopt_takes_them() {
    // waitress-serve's getopt takes the next argument as the value: `--url-prefix -x` is /-x.
    let out = check(&["--url-prefix", "-x", "--ident", "--not-a-flag"]);
    assert!(has_line(&out, "url_prefix = /-x"), "{out}");
    assert!(has_line(&out, "ident = --not-a-flag"), "{out}");
}

#[test]
fn one_application_and_call_only_with_a_target() {
    for args in [
        &["--check", "--app", "echo", "mod:app"][..],
        &["--check", "--call"],
        &["--check", "--call", "--app", "echo"],
    ] {
        let (status, stdout, stderr) = support::run(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn an_app_flag_naming_no_app_is_a_usage_error_and_a_missing_directory_a_configuration_one() {
    // A missing static directory exited 2, so the shipped unit (RestartPreventExitStatus=78,
    // --app static:/srv/www) restarted forever; as an [app:main] root it was already 78.
    let misspelt = format!("static:{}/etc/site:lsting", env!("CARGO_MANIFEST_DIR"));
    for (app, code, says) in [
        ("bogus", 2, "unknown application"),
        ("static:", 2, "static needs a directory"),
        // Not "cannot serve DIR:lsting: No such file or directory".
        (
            misspelt.as_str(),
            2,
            "unknown option \"lsting\" after the directory",
        ),
        (
            "static:/nonexistent/waitress-rs-www",
            78,
            "cannot serve /nonexistent/waitress-rs-www",
        ),
    ] {
        for check in [true, false] {
            let mut args = vec!["--listen", "127.0.0.1:0", "--app", app];
            if check {
                args.push("--check");
            }
            let (status, stdout, stderr) = support::run(&args);
            assert_eq!(status.code(), Some(code), "{args:?}: {stdout}{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
            assert!(
                stderr.starts_with(&format!("waitress-rs: error: --app {app}: {says}")),
                "{args:?}: {stderr}"
            );
        }
    }
}

#[test]
fn help_lists_groups_and_no_forms() {
    let (status, stdout, stderr) = support::run(&["--help"]);
    assert!(status.success(), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    for heading in [
        "General:",
        "Binding:",
        "Application:",
        "Proxy headers:",
        "Tuning:",
        "Logging:",
    ] {
        assert!(
            stdout.contains(heading),
            "--help lacks {heading}:\n{stdout}"
        );
    }
    for key in KEYS {
        assert!(
            stdout.contains(&key.flag()),
            "--help lacks {}:\n{stdout}",
            key.flag()
        );
    }
    assert!(
        stdout.contains("Every boolean flag has a --no- form"),
        "--help does not mention the --no- forms:\n{stdout}"
    );
    assert!(stdout.contains("--config"), "{stdout}");
    assert!(stdout.contains("--check"), "{stdout}");
}

#[test]
fn version_prints_on_stdout() {
    let (status, stdout, stderr) = support::run(&["--version"]);
    assert!(status.success(), "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("waitress-rs {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn python_target_without_the_package_is_a_usage_error() {
    let (status, stdout, stderr) = support::run(&["--port=0", "myproject.wsgi:application"]);
    assert_eq!(status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("myproject.wsgi:application"),
        "error does not name the target: {stderr}"
    );
    assert!(
        stderr.contains("pip install ./python"),
        "error does not say how to get the Python package: {stderr}"
    );
    // Both are named waitress-rs: the way to the package's that no PATH order hides.
    assert!(stderr.contains("python -m waitress_rs"), "{stderr}");
    assert!(stderr.starts_with("waitress-rs: error: "), "{stderr}");
}

#[test]
fn no_application_is_a_usage_error_that_says_how() {
    let (status, stdout, stderr) = support::run(&["--port=0"]);
    assert_eq!(status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("no application"), "{stderr}");
    assert!(stderr.contains("--app echo"), "{stderr}");
    assert!(stderr.contains("[app:main]"), "{stderr}");
}

#[test]
fn flag_source_is_named_in_errors() {
    let (status, _, stderr) = support::run(&["--check", "--thr=lots"]);
    assert_eq!(status.code(), Some(78));
    assert_eq!(
        stderr.trim_end(),
        "waitress-rs: error: threads = \"lots\" (--threads): expected a whole number"
    );
}

/// A pipe whose reading end is already closed: writes to the other end fail with EPIPE.
#[cfg(unix)]
fn closed_pipe() -> std::process::Stdio {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills the two descriptors; the read end is closed at once and the write
    // end handed to an OwnedFd, which owns it from then on.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        libc::close(fds[0]);
        std::process::Stdio::from(std::os::fd::OwnedFd::from_raw_fd(fds[1]))
    }
}

#[cfg(unix)]
#[test]
fn exit_statuses_survive_a_closed_stderr_or_stdout() {
    // eprintln! panics when stderr is gone, and the panic's 101 replaced the status that says
    // what went wrong (78, which systemd units key RestartPreventExitStatus on; 2; 69).
    let dir = support::temp_dir();
    let bad = dir.path().join("bad.ini");
    std::fs::write(&bad, "[server:main]\nthreads = none\n").unwrap();
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().to_string();
    for (args, status) in [
        (vec!["--config", bad.to_str().unwrap()], 78),
        (vec!["--no-such-flag"], 2),
        (vec!["--listen", &taken, "--app", "echo"], 69),
    ] {
        let out = support::binary()
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(closed_pipe())
            .status()
            .unwrap();
        assert_eq!(out.code(), Some(status), "{args:?}");
    }
    // --check whose report cannot be written has not done its job: 1, not 0 (nor 101).
    let out = support::binary()
        .args(["--check", "--app", "echo"])
        .stdin(std::process::Stdio::null())
        .stdout(closed_pipe())
        .status()
        .unwrap();
    assert_eq!(out.code(), Some(1));
}

/// Whether the server on the Unix socket `path` answers a request.
#[cfg(unix)]
fn answers_on(path: &std::path::Path) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(path) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let mut answer = Vec::new();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").is_ok()
        && stream.read_to_end(&mut answer).is_ok()
        && answer.starts_with(b"HTTP/1.0 200")
}

#[cfg(unix)]
#[test]
fn log_level_takes_pythons_names_in_any_case() {
    for level in ["WARNING", "warn", "Critical", "error", "INFO", "debug"] {
        let (status, _, stderr) = support::run(&["--check", "--app", "echo", "--log-level", level]);
        assert!(status.success(), "{level}: {stderr}");
    }
    // `warn` means warning: the INFO lines (Serving on, the stop) are left out.
    let dir = support::temp_dir();
    let path = dir.path().join("s.sock");
    let log = std::fs::File::create(dir.path().join("stderr")).unwrap();
    let mut server = support::Spawned(
        support::binary()
            .args(["--log-level", "warn", "--app", "echo", "--unix-socket"])
            .arg(&path)
            .env_remove("RUST_LOG")
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // Answered, not only listening: the socket listens before the signal handlers are in
    // place, and a SIGTERM sent then killed the server (signal 15, 1 run in 7).
    while !answers_on(&path) {
        assert!(std::time::Instant::now() < deadline, "never answered");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the child's pid; no memory is involved.
    unsafe { libc::kill(server.0.id() as i32, libc::SIGTERM) };
    let status = server.exit_within(std::time::Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    assert!(stderr.is_empty(), "{stderr}");
}
