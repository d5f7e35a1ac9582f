//! Pipelined requests over real sockets against the binary running the echo app: many requests in
//! one write, chunked bodies between them, requests split into single bytes, thousands in flight
//! while the client reads, and a flood from a client that does not read (waitress's
//! PipeliningTests).

mod support;

use std::io::Write;

use support::{Conn, Echoed, Server, connect};

#[test]
fn pipelining_25_requests_in_one_write() {
    // PipeliningTests: HTTP/1.0 keep-alive, the last one `close`, all in one send.
    let server = Server::echo();
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
    let server = Server::echo();
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
    let server = Server::echo();
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
fn pipelining_3000_requests_while_reading() {
    // A writer thread pushes 3000 requests while this thread reads: backpressure on either
    // side must not deadlock, and responses stay in order.
    let server = Server::echo();
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
fn pipelining_flood_without_reading_is_held_back() {
    // S5: a client pipelines requests and never reads. The server must stop reading once its
    // responses are unread (the client's writes block) with its memory flat, and go on
    // serving others.
    let server = Server::echo();
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
