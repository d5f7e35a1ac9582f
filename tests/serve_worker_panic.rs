//! A panic on a worker outside the app's own guard (here, in a logger: the server logs an
//! app's error on the worker that ran it) is caught by the pool; the request's connection must
//! still end. It used to stay open for good: never idle, so `channel_timeout` passed it over,
//! and not read while its request ran, so the client's close went unnoticed: its descriptor
//! and its place under `connection_limit` were never given back. Nor may the pool lose the
//! worker when the logger panics again on the pool's own line about the first panic.
#![cfg(target_os = "linux")]

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use log::{Log, Metadata, Record};
use support::{InProcess, connect, fd_count, get};
use waitress_rs::app::{AppError, Request, Response};

/// The messages the logger panics on: the server's line for an app's error, and the pool's
/// line for a task that panicked (the first panic's), which it logs outside its guard.
const PANIC_ON: [&str; 2] = [
    "Exception while serving /fail",
    "Exception when servicing a request",
];

/// Workers in the pool: fewer than [`ROUNDS`], so a worker lost to each panic would leave
/// none to answer the last rounds.
const THREADS: &str = "2";

/// The panic the logger raises, which the panic hook keeps quiet.
const LOGGER_PANIC: &str = "the logger panics on purpose";

/// Requests whose log line panics: more than `connection_limit` (so connections never given
/// back would leave none for the check after them).
const ROUNDS: usize = 4;

/// How long the server may take to give a connection back: a closing one lingers up to 2 s.
const SETTLE: Duration = Duration::from_secs(15);

/// A logger that panics on [`PANIC_ON`] and drops everything else.
struct Panicking;

impl Log for Panicking {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        let text = record.args().to_string();
        if PANIC_ON.iter().any(|p| text.starts_with(p)) {
            panic!("{LOGGER_PANIC}");
        }
    }
    fn flush(&self) {}
}

static LOGGER: Panicking = Panicking;

fn app(req: &mut Request, res: &mut Response<'_>) -> Result<(), AppError> {
    match req.environ.get("PATH_INFO").unwrap_or("") {
        "/fail" => Err("the app failed".into()),
        _ => {
            res.start("200 OK", vec![])?;
            res.send(b"ok")
        }
    }
}

#[test]
fn a_panic_outside_the_app_still_ends_its_connection() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info
            .payload_as_str()
            .unwrap_or_default()
            .contains(LOGGER_PANIC)
        {
            default_hook(info);
        }
    }));
    let server = InProcess::serve(
        &[
            "--connection-limit",
            "2",
            "--threads",
            THREADS,
            "--channel-timeout",
            "1",
            "--cleanup-interval",
            "1",
        ],
        app,
    );
    let addr = server.addr();
    assert_eq!(get(addr, "/warmup").status, 200);
    let pid = std::process::id();
    let deadline = Instant::now() + SETTLE;
    let mut base = fd_count(pid);
    // The warm-up's connection may still be closing.
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(600));
        let now = fd_count(pid);
        if now == base {
            break;
        }
        base = now;
    }
    for round in 0..ROUNDS {
        // A keep-alive request: only the server's close ends it.
        let mut stream = connect(addr);
        stream
            .write_all(b"GET /fail HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        let mut got = Vec::new();
        match stream.read_to_end(&mut got) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("round {round}: the connection was not closed ({e})"),
        }
        drop(stream);
    }
    let deadline = Instant::now() + SETTLE;
    while fd_count(pid) != base && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(fd_count(pid), base, "descriptors after the panics");
    // The places under connection_limit are free, and the workers still serve.
    assert_eq!(get(addr, "/after").status, 200);
    assert!(server.stop_within(Duration::from_secs(15)));
}
