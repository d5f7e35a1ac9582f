//! Well-formed requests reach the app as sent, over real sockets against the binary running the
//! echo app: bodies, HEAD, chunked request bodies, absolute-form targets, IPv6 hosts and many
//! clients at once (waitress's EchoTests).

mod support;

use support::{Conn, Echoed, Server};

#[test]
fn echo_tests_bodies() {
    let server = Server::echo();
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
    let server = Server::echo();
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
fn head_has_get_headers_and_no_body() {
    let server = Server::echo();
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

#[test]
fn chunked_request_bodies_are_decoded() {
    let server = Server::echo();
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
    let server = Server::echo();
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
fn ipv6_literal_host() {
    let server = Server::echo();
    let res = Conn::open(server.addr()).roundtrip(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    assert_eq!(Echoed::parse(&res).get("HTTP_HOST"), Some("[::1]:8080"));
}
