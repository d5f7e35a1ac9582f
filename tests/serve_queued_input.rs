//! Input that arrives while the connection takes none (a request is with a worker) is read
//! once the response is out: the next request, the client's EOF behind it, and a reset. The
//! loop is told of such input once (edge-triggered readiness), so it must remember it rather
//! than wait for a second report that never comes.

mod support;

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{InProcess, connect, get, read_response, read_to_close};
use waitress_rs::app::{AppError, Request, Response};

/// Long enough for the client's next bytes to be queued on the socket before the response.
const APP_DELAY: Duration = Duration::from_millis(300);

/// An app that reports each path on `started`, sleeps on `/slow`, then answers with the path.
fn slow(started: mpsc::Sender<String>) -> impl waitress_rs::app::App {
    let started = std::sync::Mutex::new(started);
    move |req: &mut Request, res: &mut Response<'_>| -> Result<(), AppError> {
        let path = req.environ.get("PATH_INFO").unwrap_or("").to_owned();
        let _ = started.lock().unwrap().send(path.clone());
        if path == "/slow" {
            std::thread::sleep(APP_DELAY);
        }
        res.start("200 OK", vec![])?;
        res.send(format!("done {path}").as_bytes())
    }
}

#[test]
fn request_and_eof_queued_behind_a_running_request_are_answered_then_closed() {
    let (tx, rx) = mpsc::channel();
    let server = InProcess::serve(&[], slow(tx));
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "/slow");
    // The next request and the EOF wait on the socket while /slow runs.
    stream
        .write_all(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let start = Instant::now();
    let all = read_to_close(&mut stream);
    // Closed because the EOF was seen, not because a timeout ran out (the read timeout is 10 s
    // and channel_timeout 120 s).
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let mut reader = std::io::BufReader::new(&all[..]);
    assert_eq!(read_response(&mut reader, false).body, b"done /slow");
    assert_eq!(read_response(&mut reader, false).body, b"done /next");
    server.stop();
}

#[test]
fn a_reset_behind_a_running_request_frees_the_connection() {
    // With one connection allowed, the next client is only served once the reset one is gone.
    let (tx, rx) = mpsc::channel();
    let server = InProcess::serve(&["--connection-limit", "1"], slow(tx));
    let stream = connect(server.addr);
    (&stream)
        .write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "/slow");
    // Half a request, then a reset, both queued while /slow runs.
    (&stream).write_all(b"GET /half HTTP/1.1\r\nHost:").unwrap();
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
    assert_eq!(get(server.addr, "/after").status, 200);
    server.stop();
}
