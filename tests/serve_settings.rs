//! Each setting's observable effect, through the echo app of the real binary or an in-process
//! app, over real loopback sockets.

mod support;

use std::io::{BufReader, Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use support::{Server, connect, echo_value, get, is_closed, read_response, request};
use waitress_rs::app::{AppError, Request, Response};

fn echo(extra: &[&str]) -> Server {
    let mut args = vec!["--listen", "127.0.0.1:0", "--app", "echo"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

#[test]
fn url_prefix_splits_script_name_and_path_info() {
    let server = echo(&["--url-prefix", "/foo/"]);
    let res = get(server.addr(), "/foo/bar/baz?q=1");
    assert_eq!(res.status, 200);
    let body = res.text();
    assert_eq!(echo_value(&body, "SCRIPT_NAME").as_deref(), Some("/foo"));
    assert_eq!(echo_value(&body, "PATH_INFO").as_deref(), Some("/bar/baz"));
    assert_eq!(echo_value(&body, "QUERY_STRING").as_deref(), Some("q=1"));
    // Without the setting nothing is split off.
    let plain = echo(&[]);
    let body = get(plain.addr(), "/foo/bar").text();
    assert_eq!(echo_value(&body, "SCRIPT_NAME").as_deref(), Some(""));
    assert_eq!(echo_value(&body, "PATH_INFO").as_deref(), Some("/foo/bar"));
}

#[test]
fn url_scheme_sets_wsgi_url_scheme() {
    let server = echo(&["--url-scheme", "https"]);
    let body = get(server.addr(), "/").text();
    assert_eq!(
        echo_value(&body, "wsgi.url_scheme").as_deref(),
        Some("https")
    );
    let plain = echo(&[]);
    let body = get(plain.addr(), "/").text();
    assert_eq!(
        echo_value(&body, "wsgi.url_scheme").as_deref(),
        Some("http")
    );
}

#[test]
fn ident_sets_the_server_header_and_empty_removes_it() {
    let default = echo(&[]);
    let res = get(default.addr(), "/");
    assert_eq!(res.header("Server"), Some("waitress"));

    let named = echo(&["--ident", "acme-web"]);
    let res = get(named.addr(), "/");
    assert_eq!(res.header("Server"), Some("acme-web"));
    assert_eq!(res.count("Server"), 1);
    assert_eq!(
        echo_value(&res.text(), "SERVER_SOFTWARE").as_deref(),
        Some("acme-web")
    );
    // Error responses carry the ident too.
    let err = request(
        named.addr(),
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    );
    assert_eq!(err.status, 400);
    assert_eq!(err.header("Server"), Some("acme-web"));

    let empty = echo(&["--ident", ""]);
    let res = get(empty.addr(), "/");
    assert_eq!(res.status, 200);
    assert_eq!(res.header("Server"), None, "headers: {:?}", res.headers);
}

#[test]
fn server_name_sets_server_name() {
    let server = echo(&["--server-name", "app.example.org"]);
    let body = request(
        server.addr(),
        b"GET / HTTP/1.1\r\nHost: other.example:9000\r\nConnection: close\r\n\r\n",
    )
    .text();
    assert_eq!(
        echo_value(&body, "SERVER_NAME").as_deref(),
        Some("app.example.org")
    );
    let plain = echo(&[]);
    let body = get(plain.addr(), "/").text();
    assert_eq!(
        echo_value(&body, "SERVER_NAME").as_deref(),
        Some("waitress.invalid")
    );
}

fn failing(_req: &mut Request, _res: &mut Response<'_>) -> Result<(), AppError> {
    Err("kaboom: the secret detail".into())
}

#[test]
fn expose_tracebacks_puts_the_error_in_the_500_body() {
    let hidden = support::InProcess::serve(&[], failing);
    let res = get(hidden.addr, "/");
    assert_eq!(res.status, 500);
    let text = res.text();
    assert!(text.starts_with("Internal Server Error"), "{text}");
    assert!(!text.contains("secret detail"), "{text}");
    assert!(hidden.stop_within(Duration::from_secs(10)));

    let exposed = support::InProcess::serve(&["--expose-tracebacks"], failing);
    let res = get(exposed.addr, "/");
    assert_eq!(res.status, 500);
    assert!(
        res.text().contains("kaboom: the secret detail"),
        "{}",
        res.text()
    );
    assert!(exposed.stop_within(Duration::from_secs(10)));
}

/// A GET head of exactly `len` bytes (request line, headers, final CRLF CRLF).
fn head_of_len(len: usize) -> Vec<u8> {
    let fixed = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Pad: \r\n\r\n";
    assert!(len > fixed.len());
    let pad = "p".repeat(len - fixed.len());
    let head = format!("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Pad: {pad}\r\n\r\n");
    assert_eq!(head.len(), len);
    head.into_bytes()
}

#[test]
fn max_request_header_size_boundary() {
    let server = echo(&["--max-request-header-size", "1000"]);
    let ok = request(server.addr(), &head_of_len(999));
    assert_eq!(ok.status, 200, "999-byte head");
    let too_big = request(server.addr(), &head_of_len(1000));
    assert_eq!(too_big.status, 431, "1000-byte head");
    assert!(too_big.text().contains("exceeds max_header of 1000"));
    // A head that never ends is refused once the limit is reached, without waiting for more.
    let mut stream = connect(server.addr());
    stream
        .write_all(format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(1200)).as_bytes())
        .unwrap();
    let res = read_response(&mut BufReader::new(stream), false);
    assert_eq!(res.status, 431);
}

#[test]
fn max_request_body_size_content_length_and_chunked() {
    let server = echo(&["--max-request-body-size", "1000"]);
    // Content-Length at the limit: 413 at once, without the body being sent.
    let mut stream = connect(server.addr());
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n")
        .unwrap();
    let res = read_response(&mut BufReader::new(stream.try_clone().unwrap()), false);
    assert_eq!(res.status, 413);
    assert!(res.text().contains("exceeds max_body of 1000"));
    assert!(is_closed(&mut stream));

    // Just under the limit: served.
    let mut req =
        b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 999\r\n\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'x', 999));
    let res = request(server.addr(), &req);
    assert_eq!(res.status, 200);
    assert_eq!(
        echo_value(&res.text(), "CONTENT_LENGTH").as_deref(),
        Some("999")
    );

    // Chunked past the limit: 40 chunks of 32 bytes.
    let mut req = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..40 {
        req.extend_from_slice(b"20\r\n");
        req.extend(std::iter::repeat_n(b'y', 32));
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let res = request(server.addr(), &req);
    assert_eq!(res.status, 413);

    // One chunk that declares more than the limit: 413 without waiting for its data.
    let mut stream = connect(server.addr());
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n")
        .unwrap();
    let res = read_response(&mut BufReader::new(stream), false);
    assert_eq!(res.status, 413);

    // Chunked under the limit: served.
    let res = request(
        server.addr(),
        b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n",
    );
    assert_eq!(res.status, 200);
    assert_eq!(
        echo_value(&res.text(), "body").as_deref(),
        Some("Wikipedia")
    );
}

#[test]
fn connection_limit_makes_extra_clients_wait_not_fail() {
    let server = echo(&["--connection-limit", "1"]);
    let keep_alive = b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n";
    let first = connect(server.addr());
    let mut first_w = first.try_clone().unwrap();
    let mut first_r = BufReader::new(first);
    first_w.write_all(keep_alive).unwrap();
    assert_eq!(read_response(&mut first_r, false).status, 200);

    // The second client's connect succeeds (kernel backlog) but it is not served while the
    // first connection is open.
    let second = connect(server.addr());
    second
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut second_w = second.try_clone().unwrap();
    second_w
        .write_all(b"GET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut byte = [0u8; 1];
    let mut second_r = second.try_clone().unwrap();
    match second_r.read(&mut byte) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) => {}
        other => panic!("second client answered while the limit was reached: {other:?}"),
    }
    assert!(
        server.wait_for_log("connection limit", Duration::from_secs(5)),
        "{}",
        server.log()
    );

    // The first client is still served meanwhile.
    first_w.write_all(keep_alive).unwrap();
    assert_eq!(read_response(&mut first_r, false).status, 200);

    // Once the first closes, the second is served.
    drop(first_w);
    drop(first_r);
    second
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut rest = BufReader::new(second);
    let res = read_response(&mut rest, false);
    assert_eq!(res.status, 200);
    assert_eq!(
        echo_value(&res.text(), "PATH_INFO").as_deref(),
        Some("/second")
    );
    assert!(
        server.wait_for_log("listening again", Duration::from_secs(5)),
        "{}",
        server.log()
    );
    let log = server.log();
    assert!(log.contains("WARNING:waitress:total open connections reached the connection limit, no longer accepting new connections"), "{log}");
    assert!(log.contains("INFO:waitress:total open connections dropped below the connection limit, listening again"), "{log}");
}

#[test]
fn channel_timeout_closes_idle_and_half_sent_connections() {
    let server = echo(&["--channel-timeout", "1", "--cleanup-interval", "1"]);
    let start = Instant::now();
    let mut idle = connect(server.addr());
    let mut half = connect(server.addr());
    half.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        .unwrap();
    // Both are closed with no response: the read sees EOF (or a reset), not a timeout.
    for stream in [&mut idle, &mut half] {
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let mut buf = Vec::new();
        match stream.read_to_end(&mut buf) {
            Ok(_) => assert!(
                buf.is_empty(),
                "unexpected bytes {:?}",
                String::from_utf8_lossy(&buf)
            ),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    // A keep-alive connection in use is not closed while it keeps sending.
    let stream = connect(server.addr());
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    for _ in 0..4 {
        w.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut r, false).status, 200);
        std::thread::sleep(Duration::from_millis(400));
    }
}

/// The idle time counts from the end of the last response, not from its request's arrival
/// (waitress the same): a response that took longer than `channel_timeout` must not leave
/// its connection looking idle for that long, or the client's next request is lost.
#[test]
fn channel_timeout_counts_from_the_end_of_a_slow_response() {
    let timeout = Duration::from_millis(600);
    let (tx, _started) = std::sync::mpsc::channel();
    let server = support::InProcess::serve(
        &["--channel-timeout", "600ms", "--cleanup-interval", "100ms"],
        support::slow_app(Duration::from_millis(1200), tx),
    );
    let stream = connect(server.addr);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    // Twice: the worker writes each response itself, so the loop hears of its end late.
    for path in ["/first", "/second"] {
        std::thread::sleep(timeout / 2);
        w.write_all(format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
            .unwrap();
        let res = read_response(&mut r, false);
        assert_eq!(res.body, format!("done {path}").as_bytes(), "{res:?}");
    }
    // And the timeout still holds once the connection is idle.
    let idle = Instant::now();
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    assert!(
        idle.elapsed() < Duration::from_secs(5),
        "{:?}",
        idle.elapsed()
    );
    server.stop();
}

#[test]
fn channel_timeout_default_keeps_idle_connections() {
    let server = echo(&["--cleanup-interval", "1"]);
    let stream = connect(server.addr());
    std::thread::sleep(Duration::from_millis(2500));
    let mut w = stream.try_clone().unwrap();
    w.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut BufReader::new(stream), false).status,
        200
    );
}

#[test]
fn pipelined_requests_answered_in_order_with_lookahead_0() {
    for lookahead in ["0", "3"] {
        let server = echo(&["--channel-request-lookahead", lookahead]);
        let mut stream = connect(server.addr());
        let mut all = Vec::new();
        for i in 0..10 {
            let close = if i == 9 { "Connection: close\r\n" } else { "" };
            all.extend_from_slice(
                format!("GET /r{i} HTTP/1.1\r\nHost: a\r\n{close}\r\n").as_bytes(),
            );
        }
        stream.write_all(&all).unwrap();
        let mut r = BufReader::new(stream);
        for i in 0..10 {
            let res = read_response(&mut r, false);
            assert_eq!(res.status, 200);
            assert_eq!(
                echo_value(&res.text(), "PATH_INFO"),
                Some(format!("/r{i}")),
                "lookahead {lookahead}"
            );
        }
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }
}

#[test]
fn tiny_recv_bytes_still_serves() {
    let server = echo(&["--recv-bytes", "1"]);
    let body = "z".repeat(3000);
    let req = format!(
        "POST /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let res = request(server.addr(), req.as_bytes());
    assert_eq!(res.status, 200);
    assert_eq!(echo_value(&res.text(), "body"), Some(body));
    assert_eq!(
        echo_value(&res.text(), "PATH_INFO").as_deref(),
        Some("/small")
    );
}

/// An app whose requests wait (up to 3 s) until `want` of them are running at once, then
/// answer `together`; if the wait times out they answer `alone`.
fn rendezvous(want: usize) -> impl waitress_rs::app::App {
    let state = Arc::new((Mutex::new(0usize), Condvar::new()));
    move |_req: &mut Request, res: &mut Response<'_>| -> Result<(), AppError> {
        let (count, cv) = &*state;
        let mut n = count.lock().unwrap();
        *n += 1;
        cv.notify_all();
        let (n, timeout) = cv
            .wait_timeout_while(n, Duration::from_secs(3), |n| *n < want)
            .unwrap();
        drop(n);
        res.start("200 OK", vec![])?;
        res.send(if timeout.timed_out() {
            b"alone"
        } else {
            b"together"
        })
    }
}

fn concurrent_answers(threads: &str) -> Vec<String> {
    let server = support::InProcess::serve(&["--threads", threads], rendezvous(2));
    let addr = server.addr;
    let clients: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(move || get(addr, "/").text()))
        .collect();
    let answers = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(server.stop_within(Duration::from_secs(15)));
    answers
}

#[test]
fn threads_run_requests_concurrently() {
    assert_eq!(concurrent_answers("2"), ["together", "together"]);
    // With one worker the second request waits for the first: the app can tell.
    let one = concurrent_answers("1");
    assert!(one.contains(&"alone".to_owned()), "{one:?}");
}
