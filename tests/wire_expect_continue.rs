//! `Expect: 100-continue` over real sockets against the binary running the echo app: when the
//! interim response is sent, when it is not, and what happens to the body (waitress's
//! ExpectContinueTests, plus RFC 9110 §10.1.1's edge cases).

mod support;

use std::io::{BufRead, Read, Write};

use support::{Conn, Echoed, Server, connect, read_response};

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
    let server = Server::echo();
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
fn expect_continue_edge_cases() {
    let server = Server::echo_with(&["--max-request-body-size", "1000"]);
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
