//! `--check` prints the effective `[server:main]` section in canonical form; fed back through
//! `--config` it prints the same bytes again.

mod support;

use std::path::Path;

use waitress_rs::settings::KEYS;

/// `--check args...`, which must succeed; stdout.
fn check(args: &[&str]) -> String {
    let mut all = vec!["--check"];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = support::run(&all);
    assert!(status.success(), "--check {args:?}: {status}\n{stderr}");
    stdout
}

/// Writes `text` as an INI file in `dir` and checks it.
fn check_file(dir: &Path, name: &str, text: &str, extra: &[&str]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let path = path.display().to_string();
    let mut args = vec!["--config", path.as_str()];
    args.extend_from_slice(extra);
    check(&args)
}

/// Feeds `printed` back through `--config` twice and asserts it prints byte for byte.
fn assert_round_trips(printed: &str) {
    let dir = support::temp_dir();
    let again = check_file(dir.path(), "printed.ini", printed, &[]);
    assert_eq!(
        again, printed,
        "--check output read back through --config printed differently"
    );
    let third = check_file(dir.path(), "printed2.ini", &again, &[]);
    assert_eq!(third, printed);
}

/// Every key appears once, either as `key = value` or as a `# key: why` comment, in table order.
fn assert_every_key_once(out: &str) {
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("[server:main]"), "{out}");
    assert_eq!(lines.next(), Some("use = egg:waitress-rs#main"), "{out}");
    let body: Vec<&str> = lines.take(KEYS.len()).collect();
    assert_eq!(body.len(), KEYS.len(), "{out}");
    for (line, key) in body.iter().zip(KEYS) {
        let set =
            line == &format!("{} =", key.name) || line.starts_with(&format!("{} = ", key.name));
        let comment = line.starts_with(&format!("# {} ", key.name));
        assert!(set || comment, "expected {} at {line:?}:\n{out}", key.name);
    }
}

/// The `# listen:` lines after the section's keys (the `listen` key itself may be a
/// `# listen is not used with ...` comment inside the section).
fn listen_comments(out: &str) -> Vec<&str> {
    let trailer: Vec<&str> = out.lines().skip(2 + KEYS.len()).collect();
    for line in &trailer {
        assert!(
            line.starts_with("# listen: "),
            "{line:?} after the keys:\n{out}"
        );
    }
    trailer
}

const DEFAULTS: &str = "\
[server:main]
use = egg:waitress-rs#main
# host is folded into listen
# port is folded into listen
ipv4 = true
ipv6 = true
listen = 0.0.0.0:8080
threads = 4
trusted_proxy =
# trusted_proxy_count has no meaning without trusted_proxy
# trusted_proxy_headers has no meaning without trusted_proxy
log_untrusted_proxy_headers = false
clear_untrusted_proxy_headers = true
url_scheme = http
url_prefix =
backlog = 1024
recv_bytes = 8192
send_bytes = 1
outbuf_overflow = 1048576
outbuf_high_watermark = 16777216
inbuf_overflow = 524288
connection_limit = 100
cleanup_interval = 30
channel_timeout = 120
log_socket_errors = true
max_request_header_size = 262144
max_request_body_size = 1073741824
expose_tracebacks = false
ident = waitress
asyncore_loop_timeout = 1
asyncore_use_poll = false
# unix_socket is not set
unix_socket_perms = 600
# sockets is not set
channel_request_lookahead = 0
server_name = waitress.invalid
# listen: http://0.0.0.0:8080
";

#[test]
fn defaults_print_waitress_defaults() {
    let out = check(&[]);
    assert_eq!(out, DEFAULTS);
    assert_every_key_once(&out);
    assert_round_trips(&out);
}

#[test]
fn defaults_match_the_table() {
    // Every key printed as a value shows the table's default.
    let out = check(&[]);
    for key in KEYS {
        let prefix = format!("{} =", key.name);
        if let Some(line) = out.lines().find(|l| l.starts_with(&prefix)) {
            let value = line[prefix.len()..].trim();
            if key.name != "listen" {
                assert_eq!(value, key.default, "{}", key.name);
            }
        }
    }
}

const RICH: &str = "\
[DEFAULT]
base = /srv/app

[server:main]
use = egg:waitress#main
listen =
    127.0.0.1:6543
    [::1]:6543
threads = 8
url_scheme = https
url_prefix = app/
backlog = 64
recv_bytes = 16384
outbuf_overflow = 2097152
outbuf_high_watermark = 33554432
inbuf_overflow = 1048576
connection_limit = 500
cleanup_interval = 1m
channel_timeout = 2m
asyncore_loop_timeout = 500ms
log_socket_errors = off
max_request_header_size = 65536
max_request_body_size = 10485760
expose_tracebacks = yes
get ident = base
log_untrusted_proxy_headers = on
clear_untrusted_proxy_headers = 0
channel_request_lookahead = 3
server_name = example.com
unix_socket_perms = 0660
";

#[test]
fn rich_config_prints_canonically_and_round_trips() {
    let dir = support::temp_dir();
    let out = check_file(dir.path(), "rich.ini", RICH, &[]);
    for line in [
        "listen = 127.0.0.1:6543 [::1]:6543",
        "threads = 8",
        "url_scheme = https",
        "url_prefix = /app",
        "backlog = 64",
        "cleanup_interval = 60",
        "channel_timeout = 120",
        "asyncore_loop_timeout = 500ms",
        "log_socket_errors = false",
        "expose_tracebacks = true",
        "ident = /srv/app",
        "log_untrusted_proxy_headers = true",
        "clear_untrusted_proxy_headers = false",
        "channel_request_lookahead = 3",
        "server_name = example.com",
        "unix_socket_perms = 660",
    ] {
        assert!(out.lines().any(|l| l == line), "missing {line:?}:\n{out}");
    }
    assert_eq!(
        listen_comments(&out),
        [
            "# listen: http://127.0.0.1:6543",
            "# listen: http://[::1]:6543"
        ]
    );
    assert_every_key_once(&out);
    assert_round_trips(&out);
}

#[test]
fn flags_over_a_file_round_trip() {
    let dir = support::temp_dir();
    let out = check_file(
        dir.path(),
        "rich.ini",
        RICH,
        &["--threads", "2", "--no-expose-tracebacks", "--ident="],
    );
    assert!(out.lines().any(|l| l == "threads = 2"), "{out}");
    assert!(
        out.lines().any(|l| l == "expose_tracebacks = false"),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "ident ="), "{out}");
    assert_round_trips(&out);
}

#[test]
fn unix_socket_config_round_trips() {
    let out = check(&[
        "--unix-socket",
        "/tmp/waitress-rs.sock",
        "--unix-socket-perms",
        "660",
    ]);
    assert!(
        out.lines()
            .any(|l| l == "unix_socket = /tmp/waitress-rs.sock"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l == "# listen is not used with unix_socket"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l == "# host is not used with unix_socket"),
        "{out}"
    );
    assert_eq!(
        listen_comments(&out),
        ["# listen: http://unix:/tmp/waitress-rs.sock"]
    );
    assert_every_key_once(&out);
    assert_round_trips(&out);
}

#[test]
fn sockets_configs_round_trip() {
    for (value, line) in [("3 4", "sockets = 3 4"), ("systemd", "sockets = systemd")] {
        let out = check(&["--sockets", value]);
        assert!(out.lines().any(|l| l == line), "{out}");
        assert!(
            out.lines()
                .any(|l| l == "# listen is not used with sockets"),
            "{out}"
        );
        assert_every_key_once(&out);
        assert_round_trips(&out);
    }
}

#[test]
fn trusted_proxy_configs_round_trip() {
    // Headers implied (with a warning the first time, none on the way back).
    let out = check(&["--trusted-proxy", "10.0.0.1"]);
    assert!(
        out.lines()
            .any(|l| l == "trusted_proxy_headers = x-forwarded-proto"),
        "{out}"
    );
    assert_round_trips(&out);
    let dir = support::temp_dir();
    let path = dir.path().join("p.ini");
    std::fs::write(&path, &out).unwrap();
    let (status, _, stderr) = support::run(&["--check", "--config", path.to_str().unwrap()]);
    assert!(status.success());
    assert!(
        !stderr.contains("X-Forwarded-Proto only"),
        "printed headers should not warn again: {stderr}"
    );

    // Headers given in any order and case print in one canonical order.
    let out = check(&[
        "--trusted-proxy",
        "*",
        "--trusted-proxy-count",
        "2",
        "--trusted-proxy-headers",
        "X-Forwarded-Proto x-forwarded-for\tx-forwarded-host",
        "--log-untrusted-proxy-headers",
    ]);
    assert!(out.lines().any(|l| l == "trusted_proxy = *"), "{out}");
    assert!(out.lines().any(|l| l == "trusted_proxy_count = 2"), "{out}");
    let headers = out
        .lines()
        .find(|l| l.starts_with("trusted_proxy_headers = "))
        .unwrap();
    let mut names: Vec<&str> = headers["trusted_proxy_headers = ".len()..]
        .split(' ')
        .collect();
    let printed = names.clone();
    names.sort();
    assert_eq!(
        names,
        ["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"]
    );
    assert_eq!(printed.len(), 3);
    assert_round_trips(&out);

    let out = check(&[
        "--trusted-proxy",
        "localhost",
        "--trusted-proxy-headers",
        "forwarded",
    ]);
    assert!(
        out.lines()
            .any(|l| l == "trusted_proxy_headers = forwarded"),
        "{out}"
    );
    assert_round_trips(&out);
}

#[test]
fn star_listens_on_both_families() {
    let out = check(&["--listen", "*:8080"]);
    assert!(out.lines().any(|l| l == "listen = *:8080"), "{out}");
    assert_eq!(
        listen_comments(&out),
        [
            "# listen: http://0.0.0.0:8080",
            "# listen: http://[::]:8080"
        ]
    );
    assert_round_trips(&out);
}

#[test]
fn host_and_port_fold_into_listen() {
    let out = check(&["--host", "127.0.0.1", "--port", "6543"]);
    assert!(out.lines().any(|l| l == "listen = 127.0.0.1:6543"), "{out}");
    assert!(
        out.lines().any(|l| l == "# host is folded into listen"),
        "{out}"
    );
    assert_eq!(listen_comments(&out), ["# listen: http://127.0.0.1:6543"]);
    assert_round_trips(&out);
    // An IPv6 host gets brackets.
    let out = check(&["--host", "::1", "--port", "6543"]);
    assert!(out.lines().any(|l| l == "listen = [::1]:6543"), "{out}");
    assert_round_trips(&out);
}

#[test]
fn durations_print_as_seconds() {
    let out = check(&[
        "--channel-timeout",
        "2m",
        "--cleanup-interval",
        "1h",
        "--asyncore-loop-timeout",
        "1500ms",
    ]);
    assert!(out.lines().any(|l| l == "channel_timeout = 120"), "{out}");
    assert!(out.lines().any(|l| l == "cleanup_interval = 3600"), "{out}");
    assert!(
        out.lines().any(|l| l == "asyncore_loop_timeout = 1500ms"),
        "{out}"
    );
    assert_round_trips(&out);
}

#[test]
fn service_name_ports_print_and_round_trip() {
    let out = check(&["--listen", "127.0.0.1:http"]);
    assert_eq!(listen_comments(&out), ["# listen: http://127.0.0.1:80"]);
    assert_round_trips(&out);
}

#[test]
fn odd_values_round_trip() {
    // Values with characters INI treats specially must still read back the same.
    let dir = support::temp_dir();
    let out = check_file(
        dir.path(),
        "odd.ini",
        "[server:main]\nident = 100%% ok ; not a comment\nserver_name = a#b\nurl_prefix = /a b\n",
        &[],
    );
    assert_round_trips(&out);
    let out = check(&["--ident", "50% off", "--server-name", "x%(y)s"]);
    assert_round_trips(&out);
}

#[test]
fn flag_values_with_surrounding_spaces_round_trip() {
    // An INI value loses surrounding whitespace, so a flag value must too or --check's output
    // would read back as different settings.
    let out = check(&["--ident", " x ", "--trusted-proxy", " 10.0.0.1 "]);
    assert!(out.lines().any(|l| l == "ident = x"), "{out}");
    assert!(
        out.lines().any(|l| l == "trusted_proxy = 10.0.0.1"),
        "{out}"
    );
    assert_round_trips(&out);
}

#[test]
fn flag_values_with_line_breaks_round_trip() {
    let out = check(&["--server-name", "a\nb", "--url-prefix", "/a\nb"]);
    assert_round_trips(&out);
}

#[test]
fn inherited_sockets_are_listed() {
    let out = check(&["--sockets", "3 4"]);
    assert_eq!(
        listen_comments(&out),
        ["# listen: (inherited fd 3)", "# listen: (inherited fd 4)"]
    );
}
