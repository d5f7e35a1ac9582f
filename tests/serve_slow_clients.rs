//! Clients that trickle (http-hardening.md §4 S1, slowloris): a request head must arrive whole
//! within `channel_timeout` of its first byte, however steadily it trickles, where waitress
//! only counts from the last byte and keeps such a connection forever. A body keeps the
//! inactivity rule (a slow upload that keeps moving is received), and a head that arrives in
//! time is answered however long the connection was idle before it.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{Conn, Echoed, InProcess, Server, connect, read_response, slow_app};

/// `channel_timeout` of the servers under test, in seconds.
const CHANNEL_TIMEOUT: &str = "2";

/// The gap between the bytes of a trickling client.
const TRICKLE_GAP: Duration = Duration::from_millis(200);

/// How soon a trickled head must be closed after its first byte: `channel_timeout` (2 s), plus
/// a `cleanup_interval` (1 s) for the sweep to come round, plus slack for a loaded machine.
const CLOSED_WITHIN: Duration = Duration::from_secs(6);

/// A client idle for most of `channel_timeout`, but not all of it.
const IDLE: Duration = Duration::from_millis(1200);

fn echo() -> Server {
    echo_with_env(&[])
}

fn echo_with_env(env: &[(&str, &str)]) -> Server {
    let mut cmd = support::binary();
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--app",
        "echo",
        "--channel-timeout",
        CHANNEL_TIMEOUT,
        "--cleanup-interval",
        "1",
    ])
    .envs(env.iter().copied());
    Server::start_with(&mut cmd, 1)
}

/// What the server did while the client waited up to `wait` for it.
#[derive(Debug, PartialEq, Eq)]
enum Heard {
    Nothing,
    Closed,
    Bytes(Vec<u8>),
}

fn listen(stream: &mut TcpStream, wait: Duration) -> Heard {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 4096];
    let heard = match stream.read(&mut buf) {
        Ok(0) => Heard::Closed,
        Ok(n) => Heard::Bytes(buf[..n].to_vec()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Heard::Nothing,
        Err(e) if e.kind() == ErrorKind::ConnectionReset => Heard::Closed,
        Err(e) => panic!("read: {e}"),
    };
    stream
        .set_read_timeout(Some(support::READ_TIMEOUT))
        .unwrap();
    heard
}

/// Sends `bytes` one at a time, `TRICKLE_GAP` apart, listening between them (an answer before
/// the last byte fails the test). Returns how long
/// after the first byte the server closed the connection, or `None` if all were sent first.
fn trickle(stream: &mut TcpStream, bytes: &[u8]) -> Option<Duration> {
    let start = Instant::now();
    for (i, &b) in bytes.iter().enumerate() {
        if stream.write_all(&[b]).is_err() {
            return Some(start.elapsed());
        }
        if i + 1 == bytes.len() {
            break;
        }
        match listen(stream, TRICKLE_GAP) {
            Heard::Nothing => {}
            Heard::Closed => return Some(start.elapsed()),
            Heard::Bytes(got) => panic!(
                "answered after {i} trickled bytes: {:?}",
                support::latin1(&got)
            ),
        }
    }
    None
}

/// Trickles `bytes` and checks the server closed the connection before they were all sent,
/// within `CLOSED_WITHIN` of the first; `what` names the bytes in the failure.
fn closed_while_trickling(stream: &mut TcpStream, bytes: &[u8], what: &str) {
    let closed = trickle(stream, bytes)
        .unwrap_or_else(|| panic!("{what} trickled in without the connection being closed"));
    assert!(closed < CLOSED_WITHIN, "closed only after {closed:?}");
}

/// A head that takes about 15 s to trickle at one byte per `TRICKLE_GAP`.
fn long_head(target: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: a\r\nX-Pad: {}\r\n\r\n",
        "p".repeat(40)
    )
    .into_bytes()
}

#[test]
fn a_trickled_head_is_closed_within_channel_timeout_of_its_first_byte() {
    trickled_head_is_closed(&echo());
}

#[test]
fn with_oneshot_readiness_too() {
    // The path taken where the poller has no edge triggering (Windows).
    trickled_head_is_closed(&echo_with_env(&[("WAITRESS_RS_POLL_ONESHOT", "1")]));
}

fn trickled_head_is_closed(server: &Server) {
    let mut stream = connect(server.addr());
    let head = long_head("/");
    assert!(TRICKLE_GAP * head.len() as u32 > CLOSED_WITHIN * 2);
    closed_while_trickling(&mut stream, &head, "the whole head was");
    // The server is still there for others.
    assert_eq!(support::get(server.addr(), "/").status, 200);
}

#[test]
fn empty_lines_trickled_before_a_head_count_as_its_start() {
    // The empty lines a server skips before a request line (RFC 9112 §2.2) would otherwise be
    // a slowloris of their own, bounded only by max_request_header_size.
    let server = echo();
    let mut stream = connect(server.addr());
    closed_while_trickling(&mut stream, &b"\r\n".repeat(40), "40 empty lines were");
}

#[test]
fn a_head_that_starts_in_the_read_ending_the_previous_request_is_timed_from_there() {
    let server = echo();
    let mut conn = Conn::open(server.addr());
    // One write: the next head's first bytes arrive with the end of the first request.
    conn.send(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHo");
    assert_eq!(conn.response(false).status, 200);
    assert!(conn.reader.buffer().is_empty());
    let mut stream = conn.writer;
    let rest = &long_head("/rest")[b"GET /rest HTTP/1.1\r\nHo".len()..];
    closed_while_trickling(&mut stream, rest, "the rest of the head was");
}

#[test]
fn a_head_arriving_in_time_is_answered_however_long_the_connection_idled_before() {
    let server = echo();
    let mut conn = Conn::open(server.addr());
    // Idle from the connect, then the head whole.
    assert_eq!(listen(conn.reader.get_mut(), IDLE), Heard::Nothing);
    assert_eq!(
        conn.roundtrip(b"GET /whole HTTP/1.1\r\nHost: a\r\n\r\n")
            .status,
        200
    );
    // Idle after a response, then a head in pieces: idle time and head together take longer
    // than channel_timeout, the head alone does not.
    assert_eq!(listen(conn.reader.get_mut(), IDLE), Heard::Nothing);
    for piece in [
        &b"GET /pie"[..],
        b"ces HTTP/1.1\r\n",
        b"Host: a\r\n",
        b"X-A: b\r\n",
    ] {
        conn.send(piece);
        assert_eq!(listen(conn.reader.get_mut(), TRICKLE_GAP), Heard::Nothing);
    }
    conn.send(b"\r\n");
    let res = conn.response(false);
    assert_eq!(res.status, 200);
    assert_eq!(Echoed::parse(&res).get("PATH_INFO"), Some("/pieces"));
}

#[test]
fn a_body_trickled_for_longer_than_channel_timeout_is_received() {
    let server = echo();
    let body = b"abcdefghijklmno";
    // 15 bytes 200 ms apart: 3 s, past the 2 s channel_timeout.
    assert!(TRICKLE_GAP * body.len() as u32 > Duration::from_secs(2));
    let mut conn = Conn::open(server.addr());
    conn.send(
        format!(
            "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    let mut stream = conn.writer.try_clone().unwrap();
    assert_eq!(trickle(&mut stream, body), None);
    let res = conn.response(false);
    assert_eq!(res.status, 200);
    assert_eq!(Echoed::parse(&res).body(), "abcdefghijklmno");
}

#[test]
fn a_chunked_body_trickled_for_longer_than_channel_timeout_is_received() {
    let server = echo();
    let mut conn = Conn::open(server.addr());
    conn.send(b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    let mut stream = conn.writer.try_clone().unwrap();
    assert_eq!(trickle(&mut stream, b"5\r\nhello\r\n0\r\n\r\n"), None);
    let res = conn.response(false);
    assert_eq!(res.status, 200);
    assert_eq!(Echoed::parse(&res).body(), "hello");
}

#[test]
fn a_head_read_in_behind_a_slow_request_is_timed_from_that_response() {
    // The server reads no more while a request is with a worker (channel_request_lookahead
    // 0), but the next head's first bytes may come in the same read as the request: the
    // server was not taking the head meanwhile, so its clock starts when the response ends.
    let (tx, rx) = mpsc::channel();
    let server = InProcess::serve(
        &[
            "--channel-timeout",
            CHANNEL_TIMEOUT,
            "--cleanup-interval",
            "1",
        ],
        // Longer than channel_timeout.
        slow_app(Duration::from_millis(2500), tx),
    );
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\n")
        .unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "/slow");
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    assert_eq!(read_response(&mut reader, false).body, b"done /slow");
    assert_eq!(listen(&mut stream, IDLE), Heard::Nothing);
    stream.write_all(b"Host: a\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut reader, false).body, b"done /next");
    server.stop();
}
