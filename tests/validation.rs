//! Validation through the real binary: conflicts and dependencies between keys, bad values,
//! several errors at once, warnings. Messages name the keys and where they were set.

mod support;

use std::path::Path;

const PREFIX: &str = "waitress-rs: error: ";

/// `--check args...`, expected to fail with exit 78; returns the stderr lines without the prefix.
fn errors(args: &[&str]) -> Vec<String> {
    let mut all = vec!["--check"];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = support::run(&all);
    assert_eq!(
        status.code(),
        Some(78),
        "{args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.is_empty(),
        "nothing printed on a failed check: {stdout}"
    );
    stderr
        .lines()
        .map(|l| {
            l.strip_prefix(PREFIX)
                .unwrap_or_else(|| panic!("error line without {PREFIX:?}: {l}"))
                .to_owned()
        })
        .collect()
}

/// `--check args...`, expected to succeed; returns (stdout, stderr).
fn passes(args: &[&str]) -> (String, String) {
    let mut all = vec!["--check"];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = support::run(&all);
    assert!(status.success(), "{args:?}: {status}\n{stderr}");
    (stdout, stderr)
}

/// The single error for `args`.
fn error(args: &[&str]) -> String {
    let lines = errors(args);
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: expected one error, got {lines:?}"
    );
    lines.into_iter().next().unwrap()
}

fn has_line(out: &str, line: &str) -> bool {
    out.lines().any(|l| l == line)
}

fn ini(dir: &Path, text: &str) -> String {
    let path = dir.join("v.ini");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

// --- exclusive binding keys, in waitress's order, with waitress's messages ---

#[test]
fn listen_vs_host_and_port() {
    assert_eq!(
        error(&["--listen", "127.0.0.1:1", "--host", "127.0.0.1"]),
        "listen (--listen) and host (--host) may not both be set: host or port may not be set if listen is set."
    );
    assert_eq!(
        error(&["--listen", "127.0.0.1:1", "--port", "2"]),
        "listen (--listen) and port (--port) may not both be set: host or port may not be set if listen is set."
    );
    // Sources from a file are file:line; flags keep their names.
    let dir = support::temp_dir();
    let path = ini(
        dir.path(),
        "[server:main]\n# comment\nlisten = 127.0.0.1:1\nport = 2\n",
    );
    assert_eq!(
        error(&["--config", &path]),
        format!(
            "listen ({path}:3) and port ({path}:4) may not both be set: host or port may not be set if listen is set."
        )
    );
    // A flag that says where to listen whole replaces the file's binding (flags win)...
    passes(&["--config", &path, "--listen", "127.0.0.1:5"]);
    // ...but --host and --port say only part of it: with the file's listen, refused.
    assert_eq!(
        error(&["--config", &path, "--port=2", "--host", "127.0.0.1"]),
        format!(
            "listen ({path}:3) and host (--host) may not both be set: host or port may not be set if listen is set."
        )
    );
}

#[test]
fn listen_vs_sockets() {
    assert_eq!(
        error(&["--listen", "127.0.0.1:1", "--sockets", "3"]),
        "listen (--listen) and sockets (--sockets) may not both be set: socket may not be set if listen is set."
    );
}

#[test]
fn sockets_refuses_a_descriptor_given_twice() {
    assert_eq!(
        error(&["--sockets", "3 4 3"]),
        "sockets = \"3 4 3\" (--sockets): file descriptor 3 is given twice"
    );
}

#[test]
fn sockets_vs_host_and_port() {
    let dir = support::temp_dir();
    let path = ini(dir.path(), "[server:main]\nsockets = systemd\nport = 80\n");
    assert_eq!(
        error(&["--config", &path]),
        format!(
            "sockets ({path}:2) and port ({path}:3) may not both be set: host or port may not be set if sockets is set."
        )
    );
}

#[test]
fn sockets_vs_unix_socket() {
    assert_eq!(
        error(&["--sockets", "3", "--unix-socket", "/tmp/x.sock"]),
        "sockets (--sockets) and unix_socket (--unix-socket) may not both be set: unix_socket may not be set if sockets is set"
    );
}

#[test]
fn unix_socket_vs_host_and_port() {
    assert_eq!(
        error(&["--unix-socket", "/tmp/x.sock", "--host", "localhost"]),
        "unix_socket (--unix-socket) and host (--host) may not both be set: unix_socket may not be set if host or port is set"
    );
}

#[test]
fn unix_socket_vs_listen() {
    assert_eq!(
        error(&["--unix-socket", "/tmp/x.sock", "--listen", "127.0.0.1:1"]),
        "unix_socket (--unix-socket) and listen (--listen) may not both be set: unix_socket may not be set if listen is set"
    );
}

#[test]
fn every_conflict_at_once_is_reported() {
    let lines = errors(&[
        "--listen",
        "127.0.0.1:1",
        "--host",
        "127.0.0.1",
        "--sockets",
        "3",
        "--unix-socket",
        "/tmp/x.sock",
    ]);
    assert_eq!(lines.len(), 6, "{lines:?}");
}

// --- proxy dependencies ---

#[test]
fn trusted_proxy_count_needs_trusted_proxy() {
    let dir = support::temp_dir();
    let path = ini(dir.path(), "[server:main]\ntrusted_proxy_count = 2\n");
    assert_eq!(
        error(&["--config", &path]),
        format!(
            "trusted_proxy_count ({path}:2): trusted_proxy_count has no meaning without setting trusted_proxy"
        )
    );
}

#[test]
fn trusted_proxy_headers_needs_trusted_proxy() {
    assert_eq!(
        error(&["--trusted-proxy-headers", "x-forwarded-for"]),
        "trusted_proxy_headers (--trusted-proxy-headers): trusted_proxy_headers has no meaning without setting trusted_proxy"
    );
}

#[test]
fn unknown_proxy_header_is_refused() {
    let line = error(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--trusted-proxy-headers",
        "x-forwarded-for x-real-ip",
    ]);
    assert!(
        line.starts_with(
            "trusted_proxy_headers = \"x-forwarded-for x-real-ip\" (--trusted-proxy-headers): "
        ),
        "{line}"
    );
    assert!(line.contains("x-real-ip"), "{line}");
}

#[test]
fn proxy_header_names_are_case_insensitive() {
    let (out, _) = passes(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--trusted-proxy-headers",
        "X-Forwarded-For X-FORWARDED-PROTO",
    ]);
    assert!(
        out.lines()
            .any(|l| l == "trusted_proxy_headers = x-forwarded-for x-forwarded-proto"),
        "{out}"
    );
}

#[test]
fn forwarded_excludes_x_forwarded() {
    let dir = support::temp_dir();
    let path = ini(
        dir.path(),
        "[server:main]\ntrusted_proxy = 127.0.0.1\ntrusted_proxy_headers = forwarded x-forwarded-for\n",
    );
    assert_eq!(
        error(&["--config", &path]),
        format!(
            "trusted_proxy_headers ({path}:3): The Forwarded proxy header and the X-Forwarded-{{By,Host,Proto,Port,For}} headers are mutually exclusive. Can't trust both!"
        )
    );
    // forwarded alone is fine.
    passes(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--trusted-proxy-headers",
        "forwarded",
    ]);
}

#[test]
fn trusted_proxy_alone_implies_x_forwarded_proto_with_a_warning() {
    let (out, stderr) = passes(&["--trusted-proxy", "127.0.0.1"]);
    assert!(
        out.lines()
            .any(|l| l == "trusted_proxy_headers = x-forwarded-proto"),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "trusted_proxy_count = 1"), "{out}");
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].starts_with("waitress-rs: warning: "),
        "{stderr}"
    );
    assert!(warnings[0].contains("X-Forwarded-Proto"), "{stderr}");
}

// --- address families ---

#[test]
fn ipv4_and_ipv6_both_off_is_refused() {
    let line = error(&["--no-ipv4", "--no-ipv6", "--listen", "*:8080"]);
    assert!(line.starts_with("ipv4 (--no-ipv4): "), "{line}");
    assert!(line.contains("both off"), "{line}");
    let dir = support::temp_dir();
    let path = ini(dir.path(), "[server:main]\nipv4 = false\nipv6 = off\n");
    let line = error(&["--config", &path]);
    assert!(line.starts_with(&format!("ipv4 ({path}:2): ")), "{line}");
}

#[test]
fn a_unix_socket_needs_no_ip_family() {
    // Only TCP addresses have a family: with both off, a Unix socket still works (waitress
    // accepts it too).
    let (out, _) = passes(&["--unix-socket", "/tmp/x.sock", "--no-ipv4", "--no-ipv6"]);
    assert!(out.contains("# listen: http://unix:/tmp/x.sock"), "{out}");
}

#[test]
fn a_family_turned_off_is_named_where_nothing_resolves() {
    let line = error(&["--no-ipv4"]);
    assert!(line.starts_with("host = \"0.0.0.0\" (default): "), "{line}");
    assert!(line.ends_with("(ipv4 is off at --no-ipv4)"), "{line}");
}

#[test]
fn one_family_filters_star() {
    let (out, _) = passes(&["--listen", "*:8080", "--no-ipv6"]);
    let urls: Vec<&str> = out.lines().filter(|l| l.starts_with("# listen:")).collect();
    assert_eq!(urls, ["# listen: http://0.0.0.0:8080"]);
    let (out, _) = passes(&["--listen", "*:8080", "--no-ipv4"]);
    let urls: Vec<&str> = out.lines().filter(|l| l.starts_with("# listen:")).collect();
    assert_eq!(urls, ["# listen: http://[::]:8080"]);
}

// --- listen entries ---

#[test]
fn listen_entries_that_resolve() {
    let (out, _) = passes(&[
        "--listen",
        "[::1]:8080 127.0.0.1:http 127.0.0.1:80 127.0.0.1",
    ]);
    let urls: Vec<&str> = out.lines().filter(|l| l.starts_with("# listen:")).collect();
    // `http` is port 80; the duplicate is dropped; no port means the port setting (8080).
    assert_eq!(
        urls,
        [
            "# listen: http://[::1]:8080",
            "# listen: http://127.0.0.1:80",
            "# listen: http://127.0.0.1:8080",
        ]
    );
}

#[test]
fn empty_listen_is_refused() {
    assert_eq!(
        error(&["--listen", ""]),
        "listen = \"\" (--listen): no address to listen on (waitress fails at start-up with an AttributeError)"
    );
    let dir = support::temp_dir();
    let path = ini(dir.path(), "[server:main]\nlisten =\n");
    let line = error(&["--config", &path]);
    assert!(
        line.starts_with(&format!("listen = \"\" ({path}:2): ")),
        "{line}"
    );
}

#[test]
fn malformed_listen_entries_are_refused() {
    for (entry, words) in [
        ("[::1", "bracket"),
        ("127.0.0.1:65536", "65535"),
        ("127.0.0.1:99999", "65535"),
        ("127.0.0.1:nosuchservice", "nosuchservice"),
    ] {
        let line = error(&["--listen", entry]);
        assert!(
            line.starts_with(&format!("listen = \"{entry}\" (--listen): ")),
            "{entry}: {line}"
        );
        assert!(line.contains(words), "{entry}: {line}");
    }
}

/// `--listen=:8080` is how several Windows how-tos write "every interface"; what it means is up
/// to the platform's getaddrinfo (Linux refuses it, Windows takes the machine's own addresses).
/// Refused everywhere, with the spelling that means every interface on all of them.
#[test]
fn a_listen_entry_without_a_host_is_refused_with_the_portable_spelling() {
    assert_eq!(
        error(&["--listen=:8080"]),
        "listen = \":8080\" (--listen): no host: use *:PORT to listen on every interface"
    );
    let dir = support::temp_dir();
    let path = ini(dir.path(), "[server:main]\nlisten = 127.0.0.1:9000 :9001\n");
    assert_eq!(
        error(&["--config", &path]),
        format!("listen = \":9001\" ({path}:2): no host: use *:PORT to listen on every interface")
    );
}

#[test]
fn unresolvable_host_is_refused() {
    let line = error(&["--host", "no-such-host.invalid"]);
    assert!(line.starts_with("host = "), "{line}");
    assert!(line.contains("(--host)"), "{line}");
    assert!(line.contains("no-such-host.invalid"), "{line}");
    let line = error(&["--listen", "no-such-host.invalid:80"]);
    assert!(line.contains("(--listen)"), "{line}");
    assert!(line.contains("no-such-host.invalid"), "{line}");
    // The host as given is quoted, not the host:port made from it.
    let line = error(&["--host", "", "--port", "80"]);
    assert!(line.starts_with("host = \"\" (--host): "), "{line}");
    let line = error(&["--host", "a b"]);
    assert!(line.starts_with("host = \"a b\" (--host): "), "{line}");
}

// --- bad values ---

#[test]
fn non_integers_are_refused() {
    for (flag, key, value) in [
        ("--threads", "threads", "1.5"),
        ("--backlog", "backlog", "ten"),
        ("--port", "port", "80a"),
        ("--recv-bytes", "recv_bytes", "8k"),
        ("--max-request-body-size", "max_request_body_size", "1e9"),
    ] {
        let line = error(&[flag, value]);
        assert!(
            line.starts_with(&format!("{key} = \"{value}\" ({flag}): ")),
            "{line}"
        );
    }
}

#[test]
fn negative_sizes_are_refused() {
    for (flag, key) in [
        ("--backlog", "backlog"),
        ("--outbuf-overflow", "outbuf_overflow"),
        ("--inbuf-overflow", "inbuf_overflow"),
        ("--max-request-body-size", "max_request_body_size"),
        ("--send-bytes", "send_bytes"),
        ("--trusted-proxy-count", "trusted_proxy_count"),
    ] {
        let lines = errors(&[flag, "-1", "--trusted-proxy", "127.0.0.1"]);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{key} = \"-1\" ({flag}): "))),
            "{lines:?}"
        );
    }
}

#[test]
fn huge_numbers_are_too_large_whatever_their_size() {
    // Past 2^127 a number used to be "not a whole number".
    for digits in [20, 45, 80] {
        let huge = "9".repeat(digits);
        assert_eq!(
            error(&["--threads", &huge]),
            format!("threads = \"{huge}\" (--threads): is too large")
        );
        assert_eq!(
            error(&["--port", &huge]),
            format!("port = \"{huge}\" (--port): a port must be between 0 and 65535")
        );
    }
}

#[test]
fn a_read_size_past_16_mib_is_refused() {
    // The loop allocates its read buffer at this size: 2^63 panicked at the first request,
    // 10^14 aborted the process.
    for huge in ["16777217", "100000000000000", "9223372036854775808"] {
        assert_eq!(
            error(&["--recv-bytes", huge]),
            format!(
                "recv_bytes = \"{huge}\" (--recv-bytes): is more than a read can use (at most \
                 16777216)"
            )
        );
    }
    passes(&["--recv-bytes", "16777216"]);
}

#[test]
fn port_out_of_range_is_refused() {
    assert_eq!(
        error(&["--port", "65536"]),
        "port = \"65536\" (--port): a port must be between 0 and 65535"
    );
    let line = error(&["--port", "-1"]);
    assert!(line.starts_with("port = \"-1\" (--port): "), "{line}");
}

#[test]
fn zero_threads_is_refused() {
    let dir = support::temp_dir();
    let path = ini(dir.path(), "[server:main]\n\n\nthreads = 0\n");
    assert_eq!(
        error(&["--config", &path]),
        format!("threads = \"0\" ({path}:4): must be at least 1")
    );
}

#[test]
fn boolean_words() {
    let dir = support::temp_dir();
    for (word, value) in [
        ("t", true),
        ("true", true),
        ("TRUE", true),
        ("y", true),
        ("Yes", true),
        ("on", true),
        ("1", true),
        ("f", false),
        ("false", false),
        ("n", false),
        ("No", false),
        ("off", false),
        ("0", false),
    ] {
        let path = ini(
            dir.path(),
            &format!("[server:main]\nexpose_tracebacks = {word}\n"),
        );
        let (out, _) = passes(&["--config", &path]);
        let want = format!("expose_tracebacks = {value}");
        assert!(out.lines().any(|l| l == want), "{word}: {out}");
    }
    for word in ["maybe", "2", "yess", "enabled"] {
        let path = ini(
            dir.path(),
            &format!("[server:main]\nexpose_tracebacks = {word}\n"),
        );
        let line = error(&["--config", &path]);
        assert!(
            line.starts_with(&format!("expose_tracebacks = \"{word}\" ({path}:2): ")),
            "{line}"
        );
    }
}

#[test]
fn durations() {
    for (value, canonical) in [("2m", "120"), ("90s", "90"), ("45", "45"), ("1h", "3600")] {
        let (out, _) = passes(&["--channel-timeout", value]);
        let want = format!("channel_timeout = {canonical}");
        assert!(out.lines().any(|l| l == want), "{value}: {out}");
    }
    for bad in ["2M", "two", "-5", "0"] {
        let line = error(&["--channel-timeout", bad]);
        assert!(
            line.starts_with(&format!(
                "channel_timeout = \"{bad}\" (--channel-timeout): "
            )),
            "{bad}: {line}"
        );
    }
    // A huge timeout, waitress's way of saying "never", is held as a year; a negative one
    // is refused as negative, however large.
    for huge in [
        "31536001",
        "18446744073709551616",
        "99999999999999999999999999999999999999999",
    ] {
        let (out, _) = passes(&["--channel-timeout", huge, "--cleanup-interval", huge]);
        assert!(
            has_line(&out, "channel_timeout = 31536000"),
            "{huge}: {out}"
        );
        assert!(
            has_line(&out, "cleanup_interval = 31536000"),
            "{huge}: {out}"
        );
    }
    let line = error(&["--channel-timeout=-18446744073709551616"]);
    assert!(line.ends_with("): must not be negative"), "{line}");
    // Fractions are not seconds here, as not in waitress; the message says what is.
    let line = error(&["--channel-timeout", "0.5"]);
    assert!(
        line.ends_with("): expected whole seconds (120) or a duration such as 2m, 90s, 500ms, 1h"),
        "{line}"
    );
    let line = error(&["--cleanup-interval", "2M"]);
    assert!(line.starts_with("cleanup_interval = \"2M\""), "{line}");
    let line = error(&["--asyncore-loop-timeout", "soon"]);
    assert!(
        line.starts_with("asyncore_loop_timeout = \"soon\""),
        "{line}"
    );
}

#[test]
fn bad_octal_and_sockets_are_refused() {
    let line = error(&["--unix-socket", "/tmp/x.sock", "--unix-socket-perms", "689"]);
    assert!(
        line.starts_with("unix_socket_perms = \"689\" (--unix-socket-perms): "),
        "{line}"
    );
    let line = error(&["--sockets", "three"]);
    assert!(
        line.starts_with("sockets = \"three\" (--sockets): "),
        "{line}"
    );
}

#[test]
fn several_errors_give_several_lines() {
    let dir = support::temp_dir();
    let path = ini(
        dir.path(),
        "[server:main]\nthreads = 0\nbacklog = -1\nchannel_timeout = 2M\n",
    );
    let lines = errors(&[
        "--config",
        &path,
        "--port",
        "65536",
        "--listen",
        "127.0.0.1:1",
    ]);
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("may not both be set")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("port = \"65536\" (--port)")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("threads = \"0\" ({path}:2)"))),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("backlog = \"-1\" ({path}:3)"))),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("channel_timeout = \"2M\" ({path}:4)"))),
        "{lines:?}"
    );
}

// --- warnings ---

#[test]
fn compatibility_keys_warn_but_pass() {
    let (out, stderr) = passes(&["--send-bytes", "9000", "--asyncore-use-poll"]);
    assert!(out.lines().any(|l| l == "send_bytes = 9000"), "{out}");
    assert!(
        out.lines().any(|l| l == "asyncore_use_poll = true"),
        "{out}"
    );
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(
        warnings.iter().any(
            |w| w.starts_with("waitress-rs: warning: send_bytes") && w.contains("--send-bytes")
        ),
        "{stderr}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("waitress-rs: warning: asyncore_use_poll")
                && w.contains("--asyncore-use-poll")),
        "{stderr}"
    );
}

#[test]
fn defaults_give_no_warnings() {
    let (_, stderr) = passes(&[]);
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn rules_between_keys_are_reported_alongside_bad_values() {
    let lines = errors(&["--threads", "0", "--no-ipv4", "--no-ipv6"]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("threads = \"0\""), "{lines:?}");
    assert!(lines[1].starts_with("ipv4 (--no-ipv4): "), "{lines:?}");

    let lines = errors(&["--threads", "0", "--trusted-proxy-count", "2"]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[1].starts_with("trusted_proxy_count (--trusted-proxy-count): "),
        "{lines:?}"
    );

    let lines = errors(&["--threads", "0", "--listen", "[::1"]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[1].starts_with("listen = \"[::1\" (--listen): "),
        "{lines:?}"
    );

    // A value that failed is not blamed again by the rules: a bad header name is one error,
    // not also "forwarded mixed with x-forwarded-*".
    let lines = errors(&[
        "--threads",
        "0",
        "--trusted-proxy",
        "127.0.0.1",
        "--trusted-proxy-headers",
        "forwarded x-forwarded-for bogus",
    ]);
    assert_eq!(lines.len(), 2, "{lines:?}");
}

#[test]
fn a_unix_socket_path_too_long_for_a_socket_address_is_refused_by_check() {
    // It passed --check and failed only at bind ("path must be shorter than SUN_LEN", exit 1).
    let long = format!("/tmp/{}", "s".repeat(200));
    let line = error(&["--unix-socket", &long]);
    assert!(line.starts_with("unix_socket = "), "{line}");
    assert!(line.contains("(--unix-socket)"), "{line}");
    assert!(
        line.contains("205 bytes: a Unix socket path can have at most"),
        "{line}"
    );
    let fits = format!("/tmp/{}", "s".repeat(90));
    passes(&["--unix-socket", &fits]);
}
