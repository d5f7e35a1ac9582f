//! Graceful shutdown: signals to the binary, and the shutdown handle of an in-process server
//! (for slow apps, which the binary cannot host).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{InProcess, Server, connect, get, read_response, read_to_close, slow_app, temp_dir};

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

#[test]
fn in_flight_request_finishes_after_shutdown_starts() {
    let (tx, rx) = mpsc::channel();
    let server = InProcess::serve(&[], slow_app(Duration::from_millis(1500), tx));
    let addr = server.addr;
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "/slow");
    server.begin_shutdown();
    // New connections are refused once shutdown has begun.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut refused = false;
    while Instant::now() < deadline {
        match TcpStream::connect(addr) {
            Err(_) => {
                refused = true;
                break;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    assert!(refused, "still accepting after shutdown");
    // The running request is answered in full, then the connection is closed.
    let mut reader = BufReader::new(stream);
    let res = read_response(&mut reader, false);
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "done /slow");
    assert_eq!(res.header("Connection"), Some("close"), "{:?}", res.headers);
    assert!(read_to_close(&mut reader).is_empty());
    let start = Instant::now();
    assert!(
        server.stop_within(Duration::from_secs(20)),
        "run() did not return Ok"
    );
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn pipelined_request_received_before_shutdown_is_answered() {
    let (tx, rx) = mpsc::channel();
    let server = InProcess::serve(&[], slow_app(Duration::from_millis(800), tx));
    let mut stream = connect(server.addr);
    // Both requests arrive before the signal; the second waits behind the first.
    stream
        .write_all(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "/one");
    std::thread::sleep(Duration::from_millis(100));
    server.begin_shutdown();
    let mut reader = BufReader::new(stream);
    let first = read_response(&mut reader, false);
    assert_eq!(first.text(), "done /one");
    let second = read_response(&mut reader, false);
    assert_eq!(second.status, 200, "{}", second.status_line);
    assert_eq!(second.text(), "done /two");
    assert_eq!(second.header("Connection"), Some("close"));
    assert!(read_to_close(&mut reader).is_empty());
    assert!(server.stop_within(Duration::from_secs(20)));
}

#[test]
fn idle_connections_are_closed_at_shutdown() {
    let (tx, _rx) = mpsc::channel();
    let server = InProcess::serve(&[], slow_app(Duration::ZERO, tx));
    let stream = connect(server.addr);
    let mut w = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    w.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut reader, false).status, 200);
    let never_used = connect(server.addr);
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    assert!(
        server.stop_within(Duration::from_secs(10)),
        "idle connections held the drain"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(read_to_close(&mut reader).is_empty());
    let mut never_used = never_used;
    assert!(read_to_close(&mut never_used).is_empty());
}

fn echo() -> Server {
    Server::start(&["--listen", "127.0.0.1:0", "--app", "echo"])
}

#[test]
fn sigint_and_sigterm_exit_zero() {
    for (signal, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
        let mut server = echo();
        assert_eq!(get(server.addr(), "/").status, 200);
        let status = server
            .signal(signal, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("no exit after {name}"));
        assert_eq!(status.code(), Some(0), "{name}: {status:?}");
        assert!(
            server.log().contains(&format!("{name} received")),
            "{}",
            server.log()
        );
    }
}

#[test]
fn sigterm_closes_idle_keep_alive_connections_and_exits_promptly() {
    let mut server = echo();
    let stream = connect(server.addr());
    let mut w = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    w.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut reader, false).status, 200);
    let mut silent = connect(server.addr());
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    let status = server
        .signal(SIGTERM, Duration::from_secs(10))
        .expect("idle connections kept the server alive");
    assert_eq!(status.code(), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(read_to_close(&mut reader).is_empty());
    assert!(read_to_close(&mut silent).is_empty());
}

/// Starts a static server with a `size`-byte file and a client that asked for it but reads
/// nothing yet, so the response is still in flight.
fn download_in_flight(size: u64) -> (Server, tempfile::TempDir, TcpStream) {
    let dir = temp_dir();
    let file = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    file.set_len(size).unwrap();
    let app = format!("static:{}", dir.path().display());
    let server = Server::start(&["--listen", "127.0.0.1:0", "--app", &app]);
    let mut stream = connect(server.addr());
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    // Let the response start.
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    (server, dir, stream)
}

#[test]
fn sigterm_finishes_a_response_in_flight() {
    const SIZE: u64 = 64 << 20;
    let (mut server, _dir, stream) = download_in_flight(SIZE);
    // Signal while the client has read almost nothing; the server must wait for it.
    assert!(
        server.signal(SIGTERM, Duration::from_millis(500)).is_none(),
        "exited mid-response"
    );
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        assert!(
            reader.read_line(&mut head).unwrap() > 0,
            "EOF in head: {head:?}"
        );
    }
    let mut got = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got += n as u64;
        assert!(got <= SIZE);
    }
    assert_eq!(got, SIZE, "response cut short by the shutdown");
    let status = server
        .signal(0, Duration::from_secs(20))
        .expect("exit after the drain");
    assert_eq!(status.code(), Some(0));
}

/// A client that never reads its response holds the shutdown for the whole drain (30 s), and
/// the log says so when it ends (it used to say only "SIGTERM received").
#[test]
fn a_drain_cut_short_by_a_client_not_reading_says_so() {
    let (mut server, _dir, _stream) = download_in_flight(256 << 20);
    let start = Instant::now();
    let status = server
        .signal(SIGTERM, Duration::from_secs(45))
        .expect("exit after the drain deadline");
    assert_eq!(status.code(), Some(0));
    assert!(
        start.elapsed() >= Duration::from_secs(25),
        "{:?}",
        start.elapsed()
    );
    // The exit does not wait for the test's stderr reader: wait for the line.
    assert!(
        server.wait_for_log(
            "Shutdown: 1 connection(s) still open after 30 s",
            Duration::from_secs(10)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn second_signal_exits_at_once_with_failure() {
    let (mut server, _dir, _stream) = download_in_flight(256 << 20);
    assert!(
        server.signal(SIGTERM, Duration::from_millis(700)).is_none(),
        "exited mid-response"
    );
    let start = Instant::now();
    let status = server
        .signal(SIGINT, Duration::from_secs(5))
        .expect("second signal did not end the process");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!status.success(), "{status:?}");
    assert!(
        server.log().contains("Second stop signal"),
        "{}",
        server.log()
    );
}
