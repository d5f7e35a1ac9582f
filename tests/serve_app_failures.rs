//! An app that fails at any stage of a request (an error or a panic before its response,
//! partway through one past `outbuf_overflow`, after handing over a file), with its client
//! gone while the app runs or once the response began: the connection's descriptor, its temp
//! files and its worker all come back. So do the spilled bodies of requests read ahead
//! (`channel_request_lookahead`) behind one still running when its client goes.
//!
//! The server runs in this process (the binary has no failing app), so what it holds is
//! counted in this process's /proc entries: the file has this one test, and counts only once
//! every client socket is closed.
#![cfg(target_os = "linux")]

mod support;

use std::io::{Read, Seek, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::{InProcess, connect_small_window, deleted_files, fd_count, get, thread_count};
use waitress_rs::app::{AppError, Request, Response};

/// Clients ended each way for each failure.
const ROUNDS: usize = 3;

/// A response (and a file body) well past `outbuf_overflow` and the client's small window.
const BIG: usize = 1 << 20;

/// A request body past `inbuf_overflow`, so it is in a temp file while the app runs.
const SPILLED_BODY: usize = 64 * 1024;

/// How long the app takes before it answers, for clients that leave while it runs.
const APP_TIME: Duration = Duration::from_millis(100);

/// How long the server may take to give everything back: a closing connection lingers up to
/// 2 s (LINGER_DEADLINE).
const SETTLE: Duration = Duration::from_secs(15);

/// The panic message of the app's own panics, which the panic hook keeps quiet.
const APP_PANIC: &str = "the app panics on purpose";

/// Requests read ahead behind the one running: bodies the server holds in temp files.
const READ_AHEAD: usize = 3;

/// The longest `/hold` waits for the test to let it go: longer than `SETTLE`, so a server
/// that reads nothing ahead while it runs fails the wait for the bodies.
const HOLD_LIMIT: Duration = Duration::from_secs(30);

/// `/hold` requests begun, and let go by the test: each runs until the test lets it go. (With
/// the lookahead full the server reads nothing more, so an app watching for its client to
/// go would not see it until it ended.)
static HOLDS: AtomicUsize = AtomicUsize::new(0);
static RELEASED: AtomicUsize = AtomicUsize::new(0);

/// Fails the way its path says, after `APP_TIME`; `/hold` runs until the test lets it go.
fn failing(req: &mut Request, res: &mut Response<'_>) -> Result<(), AppError> {
    let path = req.environ.get("PATH_INFO").unwrap_or("").to_owned();
    if path == "/hold" {
        let ticket = HOLDS.fetch_add(1, Ordering::SeqCst);
        let until = Instant::now() + HOLD_LIMIT;
        while RELEASED.load(Ordering::SeqCst) <= ticket && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        res.start("200 OK", vec![])?;
        return res.send(b"held");
    }
    std::thread::sleep(APP_TIME);
    let big = vec![b'r'; BIG];
    match path.as_str() {
        "/error" => Err("failed before answering".into()),
        "/panic" => panic!("{APP_PANIC}"),
        "/error-midway" => {
            res.start("200 OK", vec![])?;
            res.write(&big)?;
            Err("failed partway".into())
        }
        "/panic-midway" => {
            res.start("200 OK", vec![])?;
            res.write(&big)?;
            panic!("{APP_PANIC}")
        }
        "/error-after-file" => {
            let mut file = tempfile::tempfile()?;
            file.write_all(&big)?;
            file.rewind()?;
            res.start("200 OK", vec![])?;
            res.send_file(file, BIG as u64)?;
            Err("failed after its file".into())
        }
        _ => {
            res.start("200 OK", vec![])?;
            res.send(b"ok")
        }
    }
}

/// What this process holds: open descriptors, temp files, threads.
fn held() -> (usize, usize, usize) {
    let pid = std::process::id();
    (fd_count(pid), deleted_files(pid), thread_count(pid))
}

/// What this process holds once it has not changed for half a second (within `SETTLE`).
fn stable() -> (usize, usize, usize) {
    let deadline = Instant::now() + SETTLE;
    let mut last = held();
    let mut since = Instant::now();
    while since.elapsed() < Duration::from_millis(500) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let now = held();
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
    last
}

/// Waits (up to `SETTLE`) for this process to hold `want`; returns what it holds then.
fn settled(want: (usize, usize, usize)) -> (usize, usize, usize) {
    let deadline = Instant::now() + SETTLE;
    let mut now = held();
    while now != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        now = held();
    }
    now
}

/// When the client goes.
#[derive(Debug, Clone, Copy)]
enum When {
    /// While the app runs.
    AppRunning,
    /// Once the first bytes of the response (or the error) arrived.
    ResponseBegun,
}

#[test]
fn an_app_failing_at_any_stage_leaves_nothing_behind() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or_default();
        if !message.contains(APP_PANIC) {
            default_hook(info);
        }
    }));
    let server = InProcess::serve(
        &[
            "--inbuf-overflow",
            "4096",
            "--outbuf-overflow",
            "4096",
            "--threads",
            "2",
        ],
        failing,
    );
    let (addr, base) = warmed_up(&server);
    let mut body = format!("Content-Length: {SPILLED_BODY}\r\n\r\n").into_bytes();
    body.extend(std::iter::repeat_n(b'b', SPILLED_BODY));
    for path in [
        "/error",
        "/panic",
        "/error-midway",
        "/panic-midway",
        "/error-after-file",
    ] {
        for when in [When::AppRunning, When::ResponseBegun] {
            for reset in [false, true] {
                for _ in 0..ROUNDS {
                    let mut stream = connect_small_window(addr);
                    stream
                        .write_all(format!("POST {path} HTTP/1.1\r\nHost: a\r\n").as_bytes())
                        .unwrap();
                    stream.write_all(&body).unwrap();
                    if let When::ResponseBegun = when {
                        let mut first = [0u8; 1];
                        assert_eq!(stream.read(&mut first).unwrap(), 1, "{path}");
                    }
                    if reset {
                        socket2::SockRef::from(&stream)
                            .set_linger(Some(Duration::ZERO))
                            .unwrap();
                    }
                    drop(stream);
                }
                let what = format!("{path}, client gone {when:?}, reset {reset}");
                assert_eq!(settled(base), base, "after {what}");
                assert_eq!(get(addr, "/after").status, 200, "after {what}");
            }
        }
    }
    assert!(server.stop_within(Duration::from_secs(15)));

    // Requests read ahead behind a running one, with their bodies spilled, when the client
    // goes.
    let server = InProcess::serve(
        &[
            "--inbuf-overflow",
            "4096",
            "--channel-request-lookahead",
            &READ_AHEAD.to_string(),
        ],
        failing,
    );
    let (addr, base) = warmed_up(&server);
    let mut queued = Vec::new();
    for _ in 0..READ_AHEAD {
        queued.extend_from_slice(b"POST /echo HTTP/1.1\r\nHost: a\r\n");
        queued.extend_from_slice(&body);
    }
    for reset in [false, true] {
        for _ in 0..ROUNDS {
            let mut stream = connect_small_window(addr);
            stream
                .write_all(b"GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
                .unwrap();
            stream.write_all(&queued).unwrap();
            let deadline = Instant::now() + SETTLE;
            while held().1 < base.1 + READ_AHEAD {
                assert!(
                    Instant::now() < deadline,
                    "the bodies were never read ahead: {:?}, base {base:?}",
                    held()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            if reset {
                socket2::SockRef::from(&stream)
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
            }
            drop(stream);
            RELEASED.fetch_add(1, Ordering::SeqCst);
            let what = format!("requests read ahead, reset {reset}");
            assert_eq!(settled(base), base, "after {what}");
        }
        assert_eq!(get(addr, "/after").status, 200, "after reset {reset}");
    }
    assert!(server.stop_within(Duration::from_secs(15)));
}

/// The server's address and what this process holds once `server` answered a few requests.
fn warmed_up(server: &InProcess) -> (SocketAddr, (usize, usize, usize)) {
    let addr = server.addr();
    for _ in 0..3 {
        assert_eq!(get(addr, "/warmup").status, 200);
    }
    (addr, stable())
}
