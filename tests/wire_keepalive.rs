//! Connection persistence (CONNECT included), pipelining, HEAD, `Expect: 100-continue`, chunked
//! request bodies and absolute-form targets, over real sockets against the binary running the echo app
//! (waitress's EchoTests, PipeliningTests and ExpectContinueTests, plus waitress-rs's
//! documented differences).

mod support;

use std::io::{BufRead, Read, Write};

use support::{Conn, Echoed, Server, connect, read_response};

fn echo() -> Server {
    Server::start(&["--listen", "127.0.0.1:0", "--app", "echo"])
}

#[test]
fn http10_closes_unless_keep_alive_is_asked_for() {
    let server = echo();
    // test_keepalive_http_10 / test_send_with_body
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(b"GET / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(res.status_line, "HTTP/1.0 200 OK");
    assert_eq!(res.header("Connection"), Some("close"));
    let seen = Echoed::parse(&res);
    assert_eq!(seen.body(), "hello");
    assert_eq!(seen.get("CONTENT_LENGTH"), Some("5"));
    assert_eq!(seen.get("SERVER_PROTOCOL"), Some("HTTP/1.0"));
    assert!(conn.closed(), "HTTP/1.0 without keep-alive must close");

    // test_keepalive_http10_explicit: kept open, several requests in a row.
    let mut conn = Conn::open(server.addr());
    for i in 0..3 {
        let body = format!("req {i}");
        let raw = format!(
            "GET /{i} HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let res = conn.roundtrip(raw.as_bytes());
        assert_eq!(res.status_line, "HTTP/1.0 200 OK");
        assert_eq!(res.header("Connection"), Some("Keep-Alive"), "{res:?}");
        assert_eq!(Echoed::parse(&res).body(), body);
    }
    // The last one without keep-alive closes.
    let res = conn.roundtrip(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(res.header("Connection"), Some("close"));
    assert!(conn.closed());

    // keep-alive and close together: close wins.
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
    assert_eq!(res.header("Connection"), Some("close"));
    assert!(conn.closed());
}

#[test]
fn http11_stays_open_unless_close_is_asked_for() {
    let server = echo();
    // test_keepalive_http_11 and _explicit
    let mut conn = Conn::open(server.addr());
    for raw in [
        &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, keep-alive\r\n\r\n",
    ] {
        let res = conn.roundtrip(raw);
        assert_eq!(res.status_line, "HTTP/1.1 200 OK");
        assert_ne!(res.header("Connection"), Some("close"), "{res:?}");
        assert!(res.header("Content-Length").is_some());
        assert!(!res.chunked);
    }
    assert!(conn.still_open());

    // test_keepalive_http11_connclose, also as one element of a list and in any case.
    for value in ["close", "CLOSE", "foo, close"] {
        let mut conn = Conn::open(server.addr());
        let raw = format!("GET / HTTP/1.1\r\nHost: a\r\nConnection: {value}\r\n\r\n");
        let res = conn.roundtrip(raw.as_bytes());
        assert_eq!(res.status, 200);
        assert_eq!(res.header("Connection"), Some("close"), "{value}");
        assert!(conn.closed(), "Connection: {value} must close");
    }
}

#[test]
fn echo_tests_bodies() {
    let server = echo();
    // test_send_empty_body, test_multiple_requests_with(out)_body on fresh sockets.
    for _ in 0..3 {
        let mut conn = Conn::open(server.addr());
        let res = conn.roundtrip(b"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
        let seen = Echoed::parse(&res);
        assert_eq!(seen.get("CONTENT_LENGTH"), Some("0"));
        assert_eq!(seen.body(), "");
        assert!(res.header("Date").is_some());
        assert_eq!(res.header("Server"), Some("waitress"));
    }
    // test_without_crlf: CRLFs inside the body are just bytes.
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(
        b"GET / HTTP/1.0\r\nConnection: close\r\nContent-Length: 18\r\n\r\nEcho\r\nthis\r\nplease",
    );
    assert_eq!(Echoed::parse(&res).body(), "Echo\r\nthis\r\nplease");
    // test_large_body, and a body that spills to a temp file (past inbuf_overflow).
    for size in [1024usize, 600 * 1024] {
        let body: String = (0..size)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let mut conn = Conn::open(server.addr());
        conn.send(format!("POST / HTTP/1.0\r\nContent-Length: {size}\r\n\r\n{body}").as_bytes());
        let res = conn.response(false);
        let seen = Echoed::parse(&res);
        assert_eq!(seen.get("CONTENT_LENGTH"), Some(size.to_string().as_str()));
        assert!(seen.body() == body, "body of {size} bytes differs");
    }
    // A latin-1 body round-trips through the echo app.
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(b"POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n\xe9\x00\xff");
    assert_eq!(Echoed::parse(&res).body(), "\u{e9}\u{0}\u{ff}");
}

#[test]
fn many_clients() {
    // test_many_clients: 50 connections send first, then all responses are read.
    let server = echo();
    let mut conns: Vec<Conn> = (0..50).map(|_| Conn::open(server.addr())).collect();
    for (i, conn) in conns.iter_mut().enumerate() {
        conn.send(format!("GET /{i} HTTP/1.1\r\nHost: a\r\nAccept: text/plain\r\n\r\n").as_bytes());
    }
    for (i, conn) in conns.iter_mut().enumerate() {
        let res = conn.response(false);
        assert_eq!(res.status, 200);
        assert_eq!(
            Echoed::parse(&res).get("PATH_INFO"),
            Some(format!("/{i}").as_str())
        );
    }
}

#[test]
fn pipelining_25_requests_in_one_write() {
    // PipeliningTests: HTTP/1.0 keep-alive, the last one `close`, all in one send.
    let server = echo();
    let mut raw = Vec::new();
    for n in 0..25 {
        let body = format!("Response #{n}\r\n");
        let conn = if n == 24 { "close" } else { "keep-alive" };
        raw.extend_from_slice(
            format!(
                "GET / HTTP/1.0\r\nConnection: {conn}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }
    let mut conn = Conn::open(server.addr());
    conn.send(&raw);
    for n in 0..25 {
        let res = conn.response(false);
        assert_eq!(res.status_line, "HTTP/1.0 200 OK", "response {n}");
        assert_eq!(
            res.header("Content-Length"),
            Some(res.body.len().to_string().as_str())
        );
        assert_eq!(Echoed::parse(&res).body(), format!("Response #{n}\r\n"));
    }
    assert!(conn.closed());
}

#[test]
fn pipelining_http11_with_chunked_bodies() {
    let server = echo();
    let mut raw = Vec::new();
    for n in 0..10 {
        let part = format!("part{n}");
        raw.extend_from_slice(
            format!(
                "POST /{n} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{part}\r\n3\r\n!!!\r\n0\r\n\r\n",
                part.len()
            )
            .as_bytes(),
        );
        // Interleave plain GETs and Content-Length bodies.
        raw.extend_from_slice(format!("GET /get{n} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        raw.extend_from_slice(
            format!("POST /cl{n} HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{n:02}")
                .as_bytes(),
        );
    }
    raw.extend_from_slice(b"GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let mut conn = Conn::open(server.addr());
    conn.send(&raw);
    for n in 0..10 {
        let seen = Echoed::parse(&conn.response(false));
        assert_eq!(seen.get("PATH_INFO"), Some(format!("/{n}").as_str()));
        assert_eq!(seen.body(), format!("part{n}!!!"));
        let seen = Echoed::parse(&conn.response(false));
        assert_eq!(seen.get("PATH_INFO"), Some(format!("/get{n}").as_str()));
        assert_eq!(seen.body(), "");
        let seen = Echoed::parse(&conn.response(false));
        assert_eq!(seen.get("PATH_INFO"), Some(format!("/cl{n}").as_str()));
        assert_eq!(seen.body(), format!("{n:02}"));
    }
    let last = conn.response(false);
    assert_eq!(Echoed::parse(&last).get("PATH_INFO"), Some("/last"));
    assert!(conn.closed());
}

#[test]
fn requests_split_into_single_bytes() {
    // The same pipelined stream, one byte per write: framing must not depend on packets.
    let server = echo();
    let raw = b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc";
    let mut conn = Conn::open(server.addr());
    conn.writer.set_nodelay(true).unwrap();
    for b in raw {
        conn.send(&[*b]);
    }
    let a = Echoed::parse(&conn.response(false));
    assert_eq!(a.body(), "Wikipedia");
    let b = Echoed::parse(&conn.response(false));
    assert_eq!(b.body(), "abc");
    assert!(conn.closed());
}

#[test]
fn head_has_get_headers_and_no_body() {
    let server = echo();
    let mut conn = Conn::open(server.addr());
    // HEAD then GET on one connection: if any HEAD body byte were sent, the GET's status line
    // would not parse.
    conn.send(b"HEAD /x HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    let head = conn.response(true);
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    let get = conn.response(false);
    assert_eq!(get.status_line, "HTTP/1.1 200 OK", "stray bytes after HEAD");
    // The echo body differs by the method name only: "HEAD" is one byte longer than "GET".
    let head_len: usize = head.header("Content-Length").unwrap().parse().unwrap();
    assert_eq!(
        head_len,
        get.body.len() + 1,
        "HEAD must announce GET's length"
    );
    assert_eq!(head.header("Content-Type"), get.header("Content-Type"));
    assert_ne!(head.header("Connection"), Some("close"));
    assert!(conn.still_open());

    // HEAD on HTTP/1.0 with keep-alive: kept open, no body.
    let mut conn = Conn::open(server.addr());
    conn.send(b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let head = conn.response(true);
    assert_eq!(head.header("Connection"), Some("Keep-Alive"));
    assert!(head.header("Content-Length").is_some());
    conn.send(b"GET / HTTP/1.0\r\n\r\n");
    let get = conn.response(false);
    assert_eq!(get.status_line, "HTTP/1.0 200 OK");
    assert!(conn.closed());
}

/// Reads exactly the bytes of `HTTP/1.1 100 Continue\r\n\r\n` and returns them.
fn read_interim(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut blank = String::new();
    reader.read_line(&mut blank).unwrap();
    line + &blank
}

#[test]
fn expect_continue() {
    let server = echo();
    // ExpectContinueTests: body in the same packet → 100, then the 200.
    let mut conn = Conn::open(server.addr());
    conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 19\r\nExpect: 100-continue\r\n\r\nI have expectations");
    assert_eq!(
        read_interim(&mut conn.reader),
        "HTTP/1.1 100 Continue\r\n\r\n"
    );
    let res = conn.response(false);
    assert_eq!(res.status, 200);
    assert_eq!(Echoed::parse(&res).body(), "I have expectations");
    assert!(conn.closed());

    // A client that waits for the 100 before sending the body.
    let mut conn = Conn::open(server.addr());
    conn.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(
        read_interim(&mut conn.reader),
        "HTTP/1.1 100 Continue\r\n\r\n"
    );
    conn.send(b"hello");
    let res = conn.response(false);
    assert_eq!(Echoed::parse(&res).body(), "hello");
    // Chunked body with expectations.
    conn.send(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(
        read_interim(&mut conn.reader),
        "HTTP/1.1 100 Continue\r\n\r\n"
    );
    conn.send(b"2\r\nhi\r\n0\r\n\r\n");
    assert_eq!(Echoed::parse(&conn.response(false)).body(), "hi");

    // HTTP/1.0: no 100 (RFC 9110 §10.1.1); the header is passed to the app.
    let mut raw_conn = connect(server.addr());
    raw_conn
        .write_all(b"POST / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok")
        .unwrap();
    let mut all = Vec::new();
    raw_conn.read_to_end(&mut all).unwrap();
    assert!(all.starts_with(b"HTTP/1.0 200 OK\r\n"), "{all:?}");
    let res = read_response(&mut std::io::BufReader::new(&all[..]), false);
    let seen = Echoed::parse(&res);
    assert_eq!(seen.get("HTTP_EXPECT"), Some("100-continue"));
    assert_eq!(seen.body(), "ok");

    // No body: no 100, and the request is answered (waitress sends 100 then hangs).
    let mut conn = Conn::open(server.addr());
    conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    let mut first = String::new();
    conn.reader.read_line(&mut first).unwrap();
    assert_eq!(first, "HTTP/1.1 200 OK\r\n");
}

#[test]
fn chunked_request_bodies_are_decoded() {
    let server = echo();
    // test_chunking_request_without_content
    let mut conn = Conn::open(server.addr());
    conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    conn.send(b"0\r\n\r\n");
    let res = conn.response(false);
    assert_eq!(res.status_line, "HTTP/1.1 200 OK");
    let seen = Echoed::parse(&res);
    assert_eq!(seen.body(), "");
    assert_eq!(seen.get("CONTENT_LENGTH"), Some("0"));
    assert_eq!(seen.get("HTTP_TRANSFER_ENCODING"), None);
    assert!(conn.still_open());

    // test_chunking_request_with_content: 12 × 32 bytes.
    let part = "This string has 32 characters.\r\n";
    let mut conn = Conn::open(server.addr());
    conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..12 {
        conn.send(format!("20\r\n{part}\r\n").as_bytes());
    }
    conn.send(b"0\r\n\r\n");
    let seen = Echoed::parse(&conn.response(false));
    assert_eq!(seen.body(), part.repeat(12));
    assert_eq!(seen.get("CONTENT_LENGTH"), Some("384"));
    assert_eq!(seen.get("HTTP_TRANSFER_ENCODING"), None);

    // A chunked body past inbuf_overflow (spooled to a temp file) decodes the same.
    let big = "z".repeat(100_000);
    let mut raw =
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    for _ in 0..8 {
        raw.extend_from_slice(format!("{:X}\r\n{big}\r\n", big.len()).as_bytes());
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let mut conn = Conn::open(server.addr());
    conn.send(&raw);
    let seen = Echoed::parse(&conn.response(false));
    assert_eq!(seen.get("CONTENT_LENGTH"), Some("800000"));
    assert!(seen.body() == big.repeat(8));
}

#[test]
fn absolute_form_takes_the_host_from_the_target() {
    let server = echo();
    let mut conn = Conn::open(server.addr());
    let res = conn
        .roundtrip(b"GET http://example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: other.invalid\r\n\r\n");
    assert_eq!(res.status, 200);
    let seen = Echoed::parse(&res);
    assert_eq!(seen.get("HTTP_HOST"), Some("example.com:8080"));
    assert_eq!(seen.get("PATH_INFO"), Some("/p/q"));
    assert_eq!(seen.get("QUERY_STRING"), Some("x=1"));
    // An empty path is `/`; the scheme is case-insensitive; HTTP/1.0 needs no Host.
    let res = conn.roundtrip(b"GET HTTP://example.org HTTP/1.0\r\n\r\n");
    let seen = Echoed::parse(&res);
    assert_eq!(seen.get("HTTP_HOST"), Some("example.org"));
    assert_eq!(seen.get("PATH_INFO"), Some("/"));
}

#[test]
fn close_on_http11_drops_what_follows() {
    let server = echo();
    let mut conn = Conn::open(server.addr());
    conn.send(b"GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    let res = conn.response(false);
    assert_eq!(Echoed::parse(&res).get("PATH_INFO"), Some("/1"));
    assert!(
        conn.closed(),
        "the request after `Connection: close` was answered"
    );
}

/// RFC 9110 §9.3.6: after a 2xx to CONNECT the client (and any proxy on the way) treats the
/// connection as a tunnel, so what follows must not be read as HTTP: a proxy tunnelling
/// `GET /admin` would have it answered as a request from the proxy's own address. The answer
/// carries no Content-Length or Transfer-Encoding, its body ends with the connection, and
/// nothing after the CONNECT is answered (waitress answers both).
#[test]
fn nothing_after_a_connect_is_read_as_http() {
    let server = echo();
    let mut conn = Conn::open(server.addr());
    conn.send(
        b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\nGET /admin HTTP/1.1\r\nHost: internal\r\n\r\n",
    );
    let res = conn.response(false);
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.header("Content-Length"), None, "{res:?}");
    assert_eq!(res.header("Transfer-Encoding"), None, "{res:?}");
    assert_eq!(res.header("Connection"), Some("close"), "{res:?}");
    let seen = Echoed::parse(&res);
    assert_eq!(seen.get("REQUEST_METHOD"), Some("CONNECT"));
    assert!(conn.closed(), "the request after CONNECT was answered");
}

/// A client that said its request was its last may send nothing more (RFC 9112 §9.6), so once
/// it has its answer the server closes at once rather than draining for up to two seconds
/// (lingering is for closes the server chose, errors, and input still arriving). The client
/// here keeps its end open; with one connection allowed, the next client is served meanwhile.
#[test]
fn a_client_that_asked_to_close_does_not_hold_the_connection() {
    let server = Server::start(&[
        "--listen",
        "127.0.0.1:0",
        "--app",
        "echo",
        "--connection-limit",
        "1",
    ]);
    for round in 0..3 {
        let mut first = connect(server.addr());
        first
            .write_all(b"GET /first HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .unwrap();
        let answer = support::read_to_close(&mut first);
        assert!(answer.starts_with(b"HTTP/1.1 200 "), "round {round}");
        // Well under the two seconds a lingering connection would hold the only slot.
        let next = connect(server.addr());
        next.set_read_timeout(Some(std::time::Duration::from_secs(1)))
            .unwrap();
        (&next)
            .write_all(b"GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .unwrap();
        let res = read_response(&mut std::io::BufReader::new(&next), false);
        assert_eq!(
            Echoed::parse(&res).get("PATH_INFO"),
            Some("/next"),
            "round {round}"
        );
        drop(first);
    }
}

#[test]
fn client_half_close_still_gets_every_answer() {
    // The client sends its requests and shuts down its side: each pipelined request is still
    // answered, then the server closes.
    let server = echo();
    let mut stream = connect(server.addr());
    stream
        .write_all(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nPOST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let all = support::read_to_close(&mut stream);
    let mut reader = std::io::BufReader::new(&all[..]);
    for (path, body) in [("/1", ""), ("/2", ""), ("/3", "abc")] {
        let seen = Echoed::parse(&read_response(&mut reader, false));
        assert_eq!(seen.get("PATH_INFO"), Some(path));
        assert_eq!(seen.body(), body);
    }
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{}", support::latin1(&rest));
}

#[test]
fn pipelining_3000_requests_while_reading() {
    // A writer thread pushes 3000 requests while this thread reads: backpressure on either
    // side must not deadlock, and responses stay in order.
    let server = echo();
    let mut conn = Conn::open(server.addr());
    let mut writer = conn.writer.try_clone().unwrap();
    let n = 3000;
    let sender = std::thread::spawn(move || {
        let mut raw = Vec::new();
        for i in 0..n {
            raw.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        }
        writer.write_all(&raw).unwrap();
    });
    for i in 0..n {
        let res = conn.response(false);
        assert_eq!(
            Echoed::parse(&res).get("PATH_INFO"),
            Some(format!("/{i}").as_str())
        );
    }
    sender.join().unwrap();
    assert!(conn.still_open());
}

#[test]
fn expect_continue_edge_cases() {
    let server = Server::start(&[
        "--listen",
        "127.0.0.1:0",
        "--app",
        "echo",
        "--max-request-body-size",
        "1000",
    ]);
    // A body over the limit: 413 at once, never a 100 inviting the body.
    let all = support::exchange(
        server.addr(),
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\nExpect: 100-continue\r\n\r\n",
    );
    assert!(
        all.starts_with(b"HTTP/1.1 413 Request Entity Too Large\r\n"),
        "{}",
        support::latin1(&all)
    );
    // Content-Length: 0 is no body: no 100.
    let mut conn = Conn::open(server.addr());
    conn.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n");
    let mut first = String::new();
    conn.reader.read_line(&mut first).unwrap();
    assert_eq!(first, "HTTP/1.1 200 OK\r\n");
    // Another expectation: no 100, the request is served with the header passed on.
    let mut conn = Conn::open(server.addr());
    conn.send(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: something-else\r\n\r\nx",
    );
    let mut first = String::new();
    conn.reader.read_line(&mut first).unwrap();
    assert_eq!(first, "HTTP/1.1 200 OK\r\n");
}

#[test]
fn ipv6_literal_host() {
    let server = echo();
    let res = Conn::open(server.addr()).roundtrip(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    assert_eq!(Echoed::parse(&res).get("HTTP_HOST"), Some("[::1]:8080"));
}

#[test]
fn pipelining_flood_without_reading_is_held_back() {
    // S5: a client pipelines requests and never reads. The server must stop reading once its
    // responses are unread (the client's writes block) with its memory flat, and go on
    // serving others.
    let server = echo();
    let before = support::rss_kib(server.pid());
    let mut flood = connect(server.addr());
    flood
        .set_write_timeout(Some(std::time::Duration::from_secs(2)))
        .unwrap();
    let one = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let block: Vec<u8> = one.iter().cycle().take(one.len() * 1000).copied().collect();
    let mut blocked = false;
    for _ in 0..2000 {
        // 2000 × 28 kB = 56 MB: far more than socket buffers hold.
        if flood.write_all(&block).is_err() {
            blocked = true;
            break;
        }
    }
    assert!(
        blocked,
        "the server read 56 MB of requests it could not answer"
    );
    let after = support::rss_kib(server.pid());
    assert!(
        after < before + 32 * 1024,
        "server memory grew from {before} to {after} KiB"
    );
    let res = Conn::open(server.addr()).roundtrip(b"GET /other HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(res.status, 200);
}

#[test]
fn idle_channels_time_out_and_the_connection_limit_holds() {
    // channel_timeout closes an idle keep-alive connection and a half-sent request (within the
    // 10 s read timeout, an upper bound); a client beyond connection_limit is served once a
    // slot frees.
    let server = Server::start(&[
        "--listen",
        "127.0.0.1:0",
        "--app",
        "echo",
        "--channel-timeout",
        "1",
        "--cleanup-interval",
        "1",
        "--connection-limit",
        "2",
    ]);
    let mut idle = Conn::open(server.addr());
    assert_eq!(
        idle.roundtrip(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").status,
        200
    );
    let mut half = Conn::open(server.addr());
    half.send(b"GET / HTTP/1.1\r\nHost: a\r\n");
    let mut third = Conn::open(server.addr());
    third.send(b"GET /third HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(idle.closed(), "idle keep-alive connection not timed out");
    assert!(half.closed(), "half-sent request not timed out");
    let res = third.response(false);
    assert_eq!(Echoed::parse(&res).get("PATH_INFO"), Some("/third"));
    assert!(server.wait_for_log(
        "total open connections reached the connection limit",
        std::time::Duration::from_secs(5)
    ));
}
