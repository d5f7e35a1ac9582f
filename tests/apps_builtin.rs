//! The built-in apps over the real binary: `--app echo` (the environ as JSON) and
//! `--app static:DIR` (files, validators, ranges, traversal).

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use support::{Conn, Echoed, Server, assert_error, connect, read_response, temp_dir};

fn serve(extra: &[&str]) -> Server {
    let mut args = vec!["--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

#[test]
fn echo_shows_every_string_environ_key() {
    let server = serve(&["--app", "echo"]);
    let mut conn = Conn::open(server.addr());
    let local = conn.writer.local_addr().unwrap();
    conn.send(
        b"POST /foo/bar%20baz/?q=1&r=%41#frag HTTP/1.1\r\nHost: example.com:9000\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nX-Multi: a\r\nx-multi: b\r\nX_Under: no\r\nX.Dot: d\r\nX-Real-IP: 1.2.3.4\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\n\r\n\xe9t\xe9!",
    );
    let res = conn.response(false);
    assert_eq!(res.status, 200);
    assert_eq!(res.header("Content-Type"), Some("application/json"));
    let seen = Echoed::parse(&res);
    let port = server.addr().port().to_string();
    let remote_port = local.port().to_string();
    let expect = [
        ("REQUEST_METHOD", "POST"),
        ("PATH_INFO", "/foo/bar baz/"),
        ("SCRIPT_NAME", ""),
        ("QUERY_STRING", "q=1&r=%41"),
        ("REQUEST_URI", "/foo/bar%20baz/?q=1&r=%41#frag"),
        ("SERVER_NAME", "waitress.invalid"),
        ("SERVER_PORT", port.as_str()),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("SERVER_SOFTWARE", "waitress"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_HOST", "127.0.0.1"),
        ("REMOTE_PORT", remote_port.as_str()),
        ("wsgi.url_scheme", "http"),
        ("HTTP_HOST", "example.com:9000"),
        ("CONTENT_TYPE", "text/plain"),
        ("CONTENT_LENGTH", "4"),
        ("HTTP_X_MULTI", "a, b"),
        ("HTTP_X.DOT", "d"),
        ("HTTP_X_REAL_IP", "1.2.3.4"),
        ("body", "\u{e9}t\u{e9}!"),
    ];
    for (key, value) in expect {
        assert_eq!(seen.get(key), Some(value), "{key} in {:?}", seen.0);
    }
    // Dropped: `_` names; untrusted proxy headers (cleared by default since waitress 3.0).
    for key in [
        "HTTP_X_UNDER",
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_FORWARDED",
        "HTTP_CONTENT_TYPE",
        "HTTP_CONTENT_LENGTH",
    ] {
        assert_eq!(seen.get(key), None, "{key} in {:?}", seen.0);
    }
    // `body` comes last, once; every key appears once.
    assert_eq!(seen.0.last().map(|(k, _)| k.as_str()), Some("body"));
    let mut keys: Vec<&str> = seen.0.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    let before = keys.len();
    keys.dedup();
    assert_eq!(before, keys.len(), "duplicate keys in {:?}", seen.0);

    // A GET without a body has no CONTENT_LENGTH / CONTENT_TYPE (waitress sets no default).
    let res = conn.roundtrip(b"GET //double//slash/%2F/a%C5%9B HTTP/1.1\r\nHost: h\r\n\r\n");
    let seen = Echoed::parse(&res);
    assert_eq!(seen.get("CONTENT_LENGTH"), None);
    assert_eq!(seen.get("CONTENT_TYPE"), None);
    assert_eq!(
        seen.get("PATH_INFO"),
        Some("/double//slash///a\u{c5}\u{9b}")
    );
    assert_eq!(seen.get("REQUEST_URI"), Some("//double//slash/%2F/a%C5%9B"));
    assert_eq!(seen.get("HTTP_CONNECTION"), None);
    assert_eq!(seen.body(), "");
    let res = conn.roundtrip(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        Echoed::parse(&res).get("HTTP_CONNECTION"),
        Some("keep-alive")
    );
}

/// A body up to `max_request_body_size` (1 GB by default) comes back escaped to up to 6 times
/// its size: echo streams it, so the server's peak RSS stays far below the body's size.
#[test]
fn echo_streams_a_large_body_with_its_length_known() {
    const MIB: usize = 1 << 20;
    let size = 32 * MIB;
    let server = serve(&["--app", "echo"]);
    let warm = Conn::open(server.addr()).roundtrip(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(warm.status, 200);
    let base = support::peak_rss_kib(server.pid());

    let body: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let mut conn = Conn::open(server.addr());
    let writer = {
        let mut stream = conn.writer.try_clone().unwrap();
        let body = body.clone();
        std::thread::spawn(move || {
            write!(
                stream,
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .unwrap();
            stream.write_all(&body).unwrap();
        })
    };
    let res = conn.response(false);
    writer.join().unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("Content-Length"),
        Some(res.body.len().to_string().as_str())
    );
    let seen = Echoed::parse(&res);
    assert!(
        seen.body() == support::latin1(&body),
        "the body came back changed"
    );
    let peak = support::peak_rss_kib(server.pid());
    // Reading the body whole and escaping it in memory peaked ~120 MiB over the base.
    assert!(
        peak < base + 24 * 1024,
        "peak RSS grew from {base} KiB to {peak} KiB echoing {} MiB",
        size / MIB
    );
    // The connection is still usable.
    assert_eq!(
        conn.roundtrip(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").status,
        200
    );
}

#[test]
fn echo_with_settings() {
    let server = serve(&[
        "--app",
        "echo",
        "--url-prefix",
        "/foo/",
        "--url-scheme",
        "https",
        "--server-name",
        "example.org",
        "--ident",
        "myident",
    ]);
    let res = Conn::open(server.addr()).roundtrip(b"GET /foo/bar HTTP/1.1\r\nHost: h\r\n\r\n");
    let seen = Echoed::parse(&res);
    assert_eq!(seen.get("SCRIPT_NAME"), Some("/foo"));
    assert_eq!(seen.get("PATH_INFO"), Some("/bar"));
    assert_eq!(seen.get("wsgi.url_scheme"), Some("https"));
    assert_eq!(seen.get("SERVER_NAME"), Some("example.org"));
    assert_eq!(seen.get("SERVER_SOFTWARE"), Some("myident"));
    assert_eq!(res.header("Server"), Some("myident"));
    for (target, path) in [("/foo", ""), ("/foobar", "/foobar"), ("/other", "/other")] {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
        let res = Conn::open(server.addr()).roundtrip(raw.as_bytes());
        assert_eq!(Echoed::parse(&res).get("PATH_INFO"), Some(path), "{target}");
    }
}

#[test]
fn echo_behind_a_trusted_proxy() {
    // waitress's EchoTests setup.
    let server = serve(&[
        "--app",
        "echo",
        "--trusted-proxy",
        "*",
        "--trusted-proxy-count",
        "1",
        "--trusted-proxy-headers",
        "x-forwarded-for x-forwarded-proto",
        "--clear-untrusted-proxy-headers",
    ]);
    // test_proxy_headers
    let res = Conn::open(server.addr()).roundtrip(
        b"GET / HTTP/1.0\r\nContent-Length: 0\r\nHost: www.google.com:8080\r\nX-Forwarded-For: 192.168.1.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 5000\r\n\r\n",
    );
    assert_eq!(res.status, 200);
    let seen = Echoed::parse(&res);
    assert_eq!(seen.get("HTTP_X_FORWARDED_PORT"), None);
    assert_eq!(seen.get("HTTP_HOST"), Some("www.google.com:8080"));
    assert_eq!(seen.get("wsgi.url_scheme"), Some("https"));
    assert_eq!(seen.get("REMOTE_ADDR"), Some("192.168.1.1"));
    assert_eq!(seen.get("REMOTE_HOST"), Some("192.168.1.1"));

    // PX-02: only the trusted hop is kept.
    let res = Conn::open(server.addr())
        .roundtrip(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6, 1.2.3.4\r\n\r\n");
    let seen = Echoed::parse(&res);
    assert_eq!(seen.get("REMOTE_ADDR"), Some("1.2.3.4"));
    assert_eq!(seen.get("HTTP_X_FORWARDED_FOR"), Some("1.2.3.4"));

    // PX-04 / PX-05: a malformed trusted header is a 400 with waitress's message.
    for value in ["javascript", "https, http"] {
        let raw = format!("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: {value}\r\n\r\n");
        let mut conn = Conn::open(server.addr());
        let res = conn.roundtrip(raw.as_bytes());
        assert_error(
            &res,
            400,
            Some("Header \"X-Forwarded-Proto\" malformed."),
            value,
        );
        assert!(conn.closed());
    }
}

/// A site: files of several types, a directory without an index, one with, and a secret file
/// next to (outside) the root.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = temp_dir();
        let root = dir.path().join("root");
        let write = |rel: &str, contents: &[u8]| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::File::create(path)
                .unwrap()
                .write_all(contents)
                .unwrap();
        };
        write("index.html", b"<h1>home</h1>");
        write("style.css", b"body{}");
        write("data.json", b"{\"a\":1}");
        write("app.js", b"let a=1;");
        write("image.png", b"\x89PNG\r\n\x1a\n");
        write("noext", b"raw");
        write("digits.txt", b"0123456789");
        write("empty.txt", b"");
        write("sub/file.txt", b"in sub");
        write("docs/index.html", b"<h1>docs</h1>");
        write(".git/config", b"TOP SECRET");
        write(".env", b"TOP SECRET");
        std::fs::write(dir.path().join("secret.txt"), b"TOP SECRET").unwrap();
        Site { dir }
    }

    fn root(&self) -> String {
        self.dir.path().join("root").to_str().unwrap().to_owned()
    }

    fn start(&self, listing: bool) -> Server {
        let spec = if listing {
            format!("static:{}:listing", self.root())
        } else {
            format!("static:{}", self.root())
        };
        serve(&["--app", &spec])
    }
}

fn get(conn: &mut Conn, path: &str, extra: &str) -> support::Response {
    conn.roundtrip(format!("GET {path} HTTP/1.1\r\nHost: h\r\n{extra}\r\n").as_bytes())
}

#[test]
fn static_content_types_and_index() {
    let site = Site::new();
    let server = site.start(false);
    let mut conn = Conn::open(server.addr());
    for (path, ctype, body) in [
        ("/", "text/html; charset=utf-8", &b"<h1>home</h1>"[..]),
        ("/index.html", "text/html; charset=utf-8", b"<h1>home</h1>"),
        ("/docs/", "text/html; charset=utf-8", b"<h1>docs</h1>"),
        ("/style.css", "text/css; charset=utf-8", b"body{}"),
        (
            "/data.json",
            "application/json; charset=utf-8",
            b"{\"a\":1}",
        ),
        ("/image.png", "image/png", b"\x89PNG\r\n\x1a\n"),
        ("/noext", "application/octet-stream", b"raw"),
        ("/sub/file.txt", "text/plain; charset=utf-8", b"in sub"),
    ] {
        let res = get(&mut conn, path, "");
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.header("Content-Type"), Some(ctype), "{path}");
        assert_eq!(res.body, body, "{path}");
        assert_eq!(
            res.header("Content-Length"),
            Some(body.len().to_string().as_str()),
            "{path}"
        );
        assert!(res.header("Last-Modified").is_some(), "{path}");
        assert!(res.header("ETag").is_some(), "{path}");
        assert_eq!(res.header("Accept-Ranges"), Some("bytes"), "{path}");
    }
    let js = get(&mut conn, "/app.js", "");
    assert!(
        js.header("Content-Type").unwrap().contains("javascript"),
        "{js:?}"
    );

    // A directory without its slash is redirected; without an index it is 404 (listing off).
    let res = get(&mut conn, "/docs?x=1", "");
    assert_eq!(res.status, 301);
    assert_eq!(res.header("Location"), Some("/docs/?x=1"));
    let res = get(&mut conn, "/sub/", "");
    assert_eq!(res.status, 404, "listing must be off by default");
    assert!(!res.text().contains("file.txt"));
    let res = get(&mut conn, "/missing", "");
    assert_eq!(res.status, 404);
    let res = get(&mut conn, "/sub/file.txt/", "");
    assert_eq!(res.status, 404);
    let res = conn.roundtrip(b"POST /index.html HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(res.status, 405);
    assert_eq!(res.header("Allow"), Some("GET, HEAD"));
    assert!(conn.still_open());
    drop(server);

    let server = site.start(true);
    let mut conn = Conn::open(server.addr());
    let res = get(&mut conn, "/sub/", "");
    assert_eq!(res.status, 200);
    assert!(res.text().contains("file.txt"), "{}", res.text());
}

#[test]
fn static_validators() {
    let site = Site::new();
    let server = site.start(false);
    let mut conn = Conn::open(server.addr());
    let full = get(&mut conn, "/digits.txt", "");
    let last_modified = full.header("Last-Modified").unwrap().to_owned();
    let etag = full.header("ETag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    for extra in [
        format!("If-Modified-Since: {last_modified}\r\n"),
        format!("If-None-Match: {etag}\r\n"),
        format!("If-None-Match: \"other\", W/{etag}\r\n"),
        "If-None-Match: *\r\n".to_owned(),
        // If-None-Match wins over If-Modified-Since.
        format!("If-None-Match: {etag}\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
    ] {
        let res = get(&mut conn, "/digits.txt", &extra);
        assert_eq!(res.status, 304, "{extra}");
        assert!(res.body.is_empty());
        assert_eq!(res.header("Content-Length"), None, "{extra}");
        assert_eq!(res.header("Transfer-Encoding"), None, "{extra}");
        assert_eq!(res.header("ETag"), Some(etag.as_str()));
    }
    assert!(conn.still_open(), "304 keeps the connection");
    for extra in [
        "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n".to_owned(),
        "If-None-Match: \"other\"\r\n".to_owned(),
        format!("If-None-Match: \"x\"\r\nIf-Modified-Since: {last_modified}\r\n"),
        // A date in the future cannot be a Last-Modified the client saw: ignored, as by nginx.
        "If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT\r\n".to_owned(),
        format!("If-Match: {etag}\r\n"),
        format!("If-Unmodified-Since: {last_modified}\r\n"),
    ] {
        let res = get(&mut conn, "/digits.txt", &extra);
        assert_eq!(res.status, 200, "{extra}");
        assert_eq!(res.body, b"0123456789");
    }
    // RFC 9110 §13.1.1, §13.1.4: a failed If-Match or If-Unmodified-Since is 412, range or not.
    for extra in [
        "If-Match: \"other\"\r\n".to_owned(),
        "If-Match: \"other\"\r\nRange: bytes=0-1\r\n".to_owned(),
        "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n".to_owned(),
    ] {
        let res = get(&mut conn, "/digits.txt", &extra);
        assert_eq!(res.status, 412, "{extra}");
    }
}

#[test]
fn static_ranges() {
    let site = Site::new();
    let server = site.start(false);
    let mut conn = Conn::open(server.addr());
    for (range, body, content_range) in [
        ("bytes=0-4", &b"01234"[..], "bytes 0-4/10"),
        ("bytes=5-", b"56789", "bytes 5-9/10"),
        ("bytes=-3", b"789", "bytes 7-9/10"),
        ("bytes=8-100", b"89", "bytes 8-9/10"),
    ] {
        let res = get(&mut conn, "/digits.txt", &format!("Range: {range}\r\n"));
        assert_eq!(res.status, 206, "{range}");
        assert_eq!(res.body, body, "{range}");
        assert_eq!(res.header("Content-Range"), Some(content_range), "{range}");
        assert_eq!(
            res.header("Content-Length"),
            Some(body.len().to_string().as_str())
        );
    }
    for range in ["bytes=10-", "bytes=20-30"] {
        let res = get(&mut conn, "/digits.txt", &format!("Range: {range}\r\n"));
        assert_eq!(res.status, 416, "{range}");
        assert_eq!(res.header("Content-Range"), Some("bytes */10"), "{range}");
    }
    // Several ranges, another unit, garbage: the whole file.
    for range in ["bytes=0-1,3-4", "items=0-1", "bytes=x"] {
        let res = get(&mut conn, "/digits.txt", &format!("Range: {range}\r\n"));
        assert_eq!(res.status, 200, "{range}");
        assert_eq!(res.body, b"0123456789");
    }
    // If-Range with the current ETag honours the range; a stale one does not.
    let etag = get(&mut conn, "/digits.txt", "")
        .header("ETag")
        .unwrap()
        .to_owned();
    let res = get(
        &mut conn,
        "/digits.txt",
        &format!("Range: bytes=0-0\r\nIf-Range: {etag}\r\n"),
    );
    assert_eq!(res.status, 206);
    let res = get(
        &mut conn,
        "/digits.txt",
        "Range: bytes=0-0\r\nIf-Range: \"stale\"\r\n",
    );
    assert_eq!(res.status, 200);
    assert!(conn.still_open());
}

#[test]
fn static_head_matches_get() {
    let site = Site::new();
    let server = site.start(false);
    let mut conn = Conn::open(server.addr());
    // An empty file too: its HEAD went out chunked, with no Content-Length, where the GET
    // says 0.
    for path in ["/style.css", "/empty.txt"] {
        let got = get(&mut conn, path, "");
        conn.send(format!("HEAD {path} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
        let head = conn.response(true);
        assert_eq!(head.status, 200);
        let strip = |r: &support::Response| -> Vec<(String, String)> {
            r.headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("Date"))
                .cloned()
                .collect()
        };
        assert_eq!(strip(&head), strip(&got), "{path}");
        // No body was sent: the next response parses.
        assert!(conn.still_open());
    }
}

#[test]
fn static_traversal_is_refused() {
    let site = Site::new();
    let server = site.start(false);
    for target in [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "/sub/..%2f..%2fsecret.txt",
        "/.%2e/secret.txt",
        "/%2e%2e%5csecret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/index.html%00.txt",
        // Hidden names: a checkout's or a build's dotfiles are not the site.
        "/.git/config",
        "/%2egit/config",
        "/sub/../.env",
        "/.env",
    ] {
        let mut stream = connect(server.addr());
        stream
            .write_all(
                format!("GET {target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .unwrap();
        let res = read_response(&mut std::io::BufReader::new(stream), false);
        assert!(
            res.status == 404 || res.status == 400,
            "{target}: {}",
            res.status_line
        );
        assert!(
            !res.text().contains("TOP SECRET"),
            "{target} leaked the file"
        );
    }
}

/// A name the client makes up (too long, a symlink loop) is a 404 and nothing in the log: the
/// path used to be logged as a WARNING, raw, per request, so any client could flood the log and
/// forge lines in it (`%0a`, terminal escapes).
#[cfg(unix)]
#[test]
fn static_client_made_errors_stay_out_of_the_log() {
    let site = Site::new();
    std::os::unix::fs::symlink("loop", format!("{}/loop", site.root())).unwrap();
    let server = site.start(false);
    let mut conn = Conn::open(server.addr());
    let long = format!("/{}%0aCRITICAL:waitress:forged%1b%5b31m", "a".repeat(300));
    for path in [long.as_str(), "/loop", "/loop/x"] {
        assert_eq!(get(&mut conn, path, "").status, 404, "{path}");
    }
    assert_eq!(get(&mut conn, "/digits.txt", "").status, 200);
    let log = server.log();
    assert!(!log.contains("forged"), "{log}");
    // Nothing about these requests (a busy machine may make one wait for a worker, which
    // waitress.queue reports).
    let about_them = |l: &&str| {
        (l.starts_with("WARNING:") || l.starts_with("ERROR:"))
            && !l.starts_with("WARNING:waitress.queue:Task queue depth")
    };
    assert!(!log.lines().any(|l| about_them(&l)), "{log}");
}

#[test]
fn static_out_of_file_descriptors_is_a_500_not_a_404() {
    // A failure of the server's own must not be a 404 (a cache would keep it): the app's
    // error, logged, a 500. The server runs with a small descriptor table, filled by idle
    // connections until the one asking for the file took the last descriptor.
    const LIMIT: usize = 40;
    let site = Site::new();
    let app = format!("static:{}", site.root());
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        &format!("ulimit -n {LIMIT} && exec \"$0\" \"$@\""),
        env!("CARGO_BIN_EXE_waitress-rs"),
        "--listen",
        "127.0.0.1:0",
        "--app",
        &app,
    ]);
    let server = Server::start_with(&mut cmd, 1);
    let pid = server.pid();
    // Descriptors in the table the limit applies to (the test harness may pass one down
    // numbered above it).
    let used = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<usize>().ok())
            .filter(|&fd| fd < LIMIT)
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let accepted = |want: usize| {
        while used() < want {
            assert!(Instant::now() < deadline, "{} fds", used());
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let mut held = Vec::new();
    while used() < LIMIT - 1 {
        let before = used();
        held.push(connect(server.addr()));
        accepted(before + 1);
    }
    let mut conn = Conn::open(server.addr());
    accepted(LIMIT);
    let res = get(&mut conn, "/style.css", "");
    assert_eq!(res.status, 500, "{}", res.summary());
    assert!(
        server.wait_for_log(
            "ERROR:waitress:Exception while serving /style.css: Too many open files",
            Duration::from_secs(10)
        ),
        "{}",
        server.log()
    );
    // With descriptors back, the file is served.
    drop(held);
    drop(conn);
    loop {
        let res = get(&mut Conn::open(server.addr()), "/style.css", "");
        if res.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "{}", res.summary());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn static_file_cut_short_while_sent_is_logged_as_the_servers_not_the_clients() {
    // A file truncated while a client reads it: the head promised its old length, so the
    // response ends short and the connection closes. A read failure of the server's own: logged
    // even with socket errors off, and not blamed on the socket.
    const LEN: u64 = 64 << 20;
    let site = Site::new();
    let path = format!("{}/big.bin", site.root());
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(LEN).unwrap(); // sparse: no disk used
    let app = format!("static:{}", site.root());
    let server = serve(&["--app", &app, "--no-log-socket-errors"]);
    let mut stream = connect(server.addr());
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    let mut reader = std::io::BufReader::new(stream);
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        let before = head.len();
        std::io::BufRead::read_line(&mut reader, &mut head).unwrap();
        assert!(head.len() > before && head.len() < 4096, "{head:?}");
    }
    assert!(head.contains(&format!("Content-Length: {LEN}")), "{head}");
    // Loopback buffers hold a few MiB of the 64: the rest is read after the cut.
    file.set_len(1 << 20).unwrap();
    let mut got = 0u64;
    let mut buf = vec![0; 1 << 20];
    loop {
        match std::io::Read::read(&mut reader, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n as u64,
        }
    }
    assert!(got < LEN, "the whole length arrived");
    assert!(
        server.wait_for_log(
            "ERROR:waitress:Response cut short: its file could not be read: the file ended \
             before the length sent",
            Duration::from_secs(10)
        ),
        "{}",
        server.log()
    );
    assert!(!server.log().contains("Socket error"), "{}", server.log());
}

#[test]
fn static_names_prefix_and_head_range() {
    let site = Site::new();
    let root = site.root();
    std::fs::write(format!("{root}/a b.txt"), b"spaced").unwrap();
    std::fs::write(format!("{root}/caf\u{e9}.txt"), b"utf8 name").unwrap();
    let server = serve(&[
        "--app",
        &format!("static:{root}"),
        "--url-prefix",
        "/static",
    ]);
    let mut conn = Conn::open(server.addr());
    let res = get(&mut conn, "/static/a%20b.txt", "");
    assert_eq!(res.body, b"spaced");
    let res = get(&mut conn, "/static/caf%C3%A9.txt", "");
    assert_eq!(res.body, b"utf8 name");
    // Not under the prefix: PATH_INFO is the whole path, which does not exist.
    let res = get(&mut conn, "/other/a%20b.txt", "");
    assert_eq!(res.status, 404);
    // The redirect keeps SCRIPT_NAME.
    let res = get(&mut conn, "/static/docs", "");
    assert_eq!(res.status, 301);
    assert_eq!(res.header("Location"), Some("/static/docs/"));
    // The prefix itself is a directory asked for without its slash.
    let res = get(&mut conn, "/static", "");
    assert_eq!(res.status, 301);
    assert_eq!(res.header("Location"), Some("/static/"));
    let res = get(&mut conn, "/static/", "");
    assert_eq!(res.body, b"<h1>home</h1>");
    // Range on HEAD is ignored: GET's full headers, no body.
    conn.send(b"HEAD /static/digits.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n\r\n");
    let res = conn.response(true);
    assert_eq!(res.status, 200);
    assert_eq!(res.header("Content-Length"), Some("10"));
    assert!(conn.still_open());
}

#[test]
fn echo_request_target_forms() {
    let server = serve(&["--app", "echo"]);
    let mut conn = Conn::open(server.addr());
    let mut ask = |raw: &[u8]| Echoed::parse(&conn.roundtrip(raw));
    // Absolute-form https: the host comes from the target, the scheme stays the setting's
    // (waitress: url_scheme is never taken from the target).
    let seen = ask(b"GET https://example.com/x HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(seen.get("HTTP_HOST"), Some("example.com"));
    assert_eq!(seen.get("wsgi.url_scheme"), Some("http"));
    assert_eq!(seen.get("PATH_INFO"), Some("/x"));
    assert_eq!(seen.get("REQUEST_URI"), Some("https://example.com/x"));
    // The fragment stays in REQUEST_URI only; a broken %-escape is kept as it is.
    let seen = ask(b"GET /a?b#c HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(seen.get("PATH_INFO"), Some("/a"));
    assert_eq!(seen.get("QUERY_STRING"), Some("b"));
    assert_eq!(seen.get("REQUEST_URI"), Some("/a?b#c"));
    let seen = ask(b"GET /%zz%2 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(seen.get("PATH_INFO"), Some("/%zz%2"));
    // Authority-form is for CONNECT only; last, as the connection ends after a CONNECT.
    let seen = ask(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    assert_eq!(seen.get("REQUEST_METHOD"), Some("CONNECT"));
    assert_eq!(seen.get("PATH_INFO"), Some(""));
    assert_eq!(seen.get("REQUEST_URI"), Some("example.com:443"));
}

/// The PX table of http-hardening.md §G over the wire.
#[test]
fn echo_proxy_header_table() {
    let none = serve(&["--app", "echo"]);
    let xff = serve(&[
        "--app",
        "echo",
        "--trusted-proxy",
        "127.0.0.1",
        "--trusted-proxy-count",
        "1",
        "--trusted-proxy-headers",
        "x-forwarded-for x-forwarded-host x-forwarded-proto x-forwarded-port",
    ]);
    let fwd = serve(&[
        "--app",
        "echo",
        "--trusted-proxy",
        "127.0.0.1",
        "--trusted-proxy-count",
        "1",
        "--trusted-proxy-headers",
        "forwarded",
    ]);
    let ask = |server: &Server, extra: &str| {
        let raw = format!(
            "GET / HTTP/1.1\r\nHost: app.internal:8080\r\n{extra}Connection: close\r\n\r\n"
        );
        Conn::open(server.addr()).roundtrip(raw.as_bytes())
    };
    // PX-01: untrusted peer, every proxy header removed, REMOTE_ADDR is the peer.
    let seen = Echoed::parse(&ask(
        &none,
        "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Port: 1\r\nX-Forwarded-By: x\r\n",
    ));
    assert_eq!(seen.get("REMOTE_ADDR"), Some("127.0.0.1"));
    assert_eq!(seen.get("wsgi.url_scheme"), Some("http"));
    assert!(
        !seen
            .0
            .iter()
            .any(|(k, _)| k.starts_with("HTTP_X_FORWARDED") || k == "HTTP_FORWARDED"),
        "{:?}",
        seen.0
    );
    // PX-03
    let seen = Echoed::parse(&ask(
        &xff,
        "X-Forwarded-For: 2001:db8::1\r\nX-Forwarded-Host: example.com:8443\r\nX-Forwarded-Proto: https\r\n",
    ));
    for (k, v) in [
        ("REMOTE_ADDR", "2001:db8::1"),
        ("SERVER_NAME", "example.com"),
        ("SERVER_PORT", "8443"),
        ("HTTP_HOST", "example.com:8443"),
        ("wsgi.url_scheme", "https"),
    ] {
        assert_eq!(seen.get(k), Some(v), "PX-03 {k}");
    }
    // PX-07, PX-08, PX-11
    for (id, extra) in [
        (
            "PX-07",
            "Forwarded: for=1.2.3.4;proto=https;host=example.com\r\n",
        ),
        (
            "PX-08",
            "Forwarded: for=6.6.6.6;host=evil.com, for=1.2.3.4;host=example.com;proto=https\r\n",
        ),
    ] {
        let seen = Echoed::parse(&ask(&fwd, extra));
        assert_eq!(seen.get("REMOTE_ADDR"), Some("1.2.3.4"), "{id}");
        assert_eq!(seen.get("wsgi.url_scheme"), Some("https"), "{id}");
        assert_eq!(seen.get("HTTP_HOST"), Some("example.com"), "{id}");
        assert_eq!(seen.get("SERVER_PORT"), Some("443"), "{id}");
    }
    let seen = Echoed::parse(&ask(
        &fwd,
        "Forwarded: for=6.6.6.6;host=evil.com, for=1.2.3.4;host=example.com;proto=https\r\n",
    ));
    assert_eq!(
        seen.get("HTTP_FORWARDED"),
        Some("for=1.2.3.4;host=example.com;proto=https"),
        "PX-08 rewritten to the trusted element"
    );
    let seen = Echoed::parse(&ask(
        &fwd,
        "Forwarded: for=1.2.3.4\r\nX-Forwarded-For: 6.6.6.6\r\n",
    ));
    assert_eq!(seen.get("REMOTE_ADDR"), Some("1.2.3.4"), "PX-11");
    assert_eq!(seen.get("HTTP_X_FORWARDED_FOR"), None, "PX-11");
    // Malformed trusted headers: 400 with waitress's message, connection closed.
    for (id, server, extra, name) in [
        (
            "PX-04",
            &xff,
            "X-Forwarded-Proto: javascript\r\n",
            "X-Forwarded-Proto",
        ),
        (
            "PX-05",
            &xff,
            "X-Forwarded-Proto: https, http\r\n",
            "X-Forwarded-Proto",
        ),
        (
            "PX-06",
            &xff,
            "X-Forwarded-Port: abc\r\nX-Forwarded-Host: example.com\r\n",
            "X-Forwarded-Port",
        ),
        ("PX-09", &fwd, "Forwarded: for=\"1.2.3.4\r\n", "Forwarded"),
        ("PX-10", &fwd, "Forwarded: for =1.2.3.4\r\n", "Forwarded"),
        (
            "PX-12",
            &xff,
            "X-Forwarded-Host: evil.com/../x\r\n",
            "X-Forwarded-Host",
        ),
    ] {
        let res = ask(server, extra);
        assert_error(
            &res,
            400,
            Some(&format!("Header \"{name}\" malformed.")),
            id,
        );
    }
}
