//! Connection persistence over real sockets against the binary running the echo app: which
//! requests keep the connection open, which end it (`Connection: close`, HTTP/1.0, CONNECT), a
//! client's half-close, idle timeouts and the connection limit (waitress's EchoTests, plus
//! waitress-rs's documented differences).

mod support;

use std::io::{Read, Write};

use support::{Conn, Echoed, Server, connect, read_response};

#[test]
fn http10_closes_unless_keep_alive_is_asked_for() {
    let server = Server::echo();
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
    let server = Server::echo();
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
fn close_on_http11_drops_what_follows() {
    let server = Server::echo();
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
    let server = Server::echo();
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
    let server = Server::echo_with(&["--connection-limit", "1"]);
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
    let server = Server::echo();
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
fn idle_channels_time_out_and_the_connection_limit_holds() {
    // channel_timeout closes an idle keep-alive connection and a half-sent request (within the
    // 10 s read timeout, an upper bound); a client beyond connection_limit is served once a
    // slot frees.
    let server = Server::echo_with(&[
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
