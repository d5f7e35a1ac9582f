//! Request smuggling and response desync through a real nginx (the shipped etc/nginx-site.conf,
//! which keeps its connections to waitress-rs open) in front of waitress-rs with
//! etc/proxy.ini's settings. A parsing difference between the two becomes a request nginx
//! never saw reaching the app, or another client's response on a reused connection: each
//! malformed request is followed by victims on other client connections, which must get their
//! own answers, and the app must see exactly the requests nginx logged as forwarded.
//!
//! The server runs in this process, with an app that records what it is given.
#![cfg(target_os = "linux")]

mod support;

use std::io::{BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::nginx::start_nginx_with;
use support::{InProcess, READ_TIMEOUT, connect, json_pairs, latin1, read_response, read_to_close};
use waitress_rs::app::{AppError, Request, Response};

/// One request as the app saw it, or as nginx logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    method: String,
    target: String,
    body: Vec<u8>,
}

/// nginx's record of each request (`escape=json`, so control bytes arrive escaped): what it
/// forwarded, and whether waitress-rs answered it.
const LOG_FORMAT: &str = "log_format desync escape=json '{\"method\":\"$request_method\",\
    \"target\":\"$request_uri\",\"body\":\"$request_body\",\"upstream\":\"$upstream_addr\",\
    \"upstream_status\":\"$upstream_status\"}';";

/// The path whose app sends its whole response, then waits for the test and fails.
const FAIL_AFTER_BODY: &str = "/fail-after-body";

/// How long the failing app waits for the test before it fails anyway.
const GATE_LIMIT: Duration = Duration::from_secs(10);

/// What the app saw, in order, and the gate its failing path waits on.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Seen>>,
    release: AtomicBool,
}

impl Recorder {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Records each request and answers `METHOD TARGET LENGTH`, so a client can tell its own
/// response from another's.
fn recording_app(recorder: Arc<Recorder>) -> impl waitress_rs::app::App {
    move |req: &mut Request, res: &mut Response<'_>| -> Result<(), AppError> {
        let seen = Seen {
            method: req.environ.get("REQUEST_METHOD").unwrap_or("").to_owned(),
            target: req.environ.get("REQUEST_URI").unwrap_or("").to_owned(),
            body: req.body.read_all()?,
        };
        let answer = format!("{} {} {}", seen.method, seen.target, seen.body.len());
        let fail = seen.target == FAIL_AFTER_BODY;
        recorder.seen.lock().unwrap().push(seen);
        res.start(
            "200 OK",
            vec![("Content-Type".to_owned(), "text/plain".to_owned())],
        )?;
        res.send(answer.as_bytes())?;
        if fail {
            let until = Instant::now() + GATE_LIMIT;
            while !recorder.release.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            return Err("failed after its whole response".into());
        }
        Ok(())
    }
}

/// waitress-rs with etc/proxy.ini's settings and the recording app, behind nginx logging to
/// `dir/access.log`.
struct Stack {
    server: InProcess,
    _nginx: support::nginx::Nginx,
    front: SocketAddr,
    log: std::path::PathBuf,
    log_read: usize,
    recorder: Arc<Recorder>,
}

impl Stack {
    fn start(dir: &Path) -> Stack {
        let recorder = Arc::new(Recorder::default());
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/proxy.ini");
        let server = InProcess::serve(
            &["--config", config.to_str().unwrap()],
            recording_app(Arc::clone(&recorder)),
        );
        let log = dir.join("access.log");
        let http = format!("{LOG_FORMAT}\n access_log {} desync;", log.display());
        let (nginx, front) = start_nginx_with(dir, &server.addr().to_string(), &http);
        Stack {
            server,
            _nginx: nginx,
            front,
            log,
            log_read: 0,
            recorder,
        }
    }

    /// nginx's log entries since the last call: (request, upstream address, upstream status).
    fn logged(&mut self) -> Vec<(Seen, String, String)> {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        let whole = bytes[self.log_read..]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let new = &bytes[self.log_read..self.log_read + whole];
        self.log_read += whole;
        // Bytes past ASCII are logged raw: read as latin-1, each char is one byte again.
        latin1(new)
            .lines()
            .map(|line| {
                let pairs = json_pairs(line);
                let get = |k: &str| {
                    pairs
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let seen = Seen {
                    method: get("method"),
                    target: get("target"),
                    body: get("body").chars().map(|c| c as u8).collect(),
                };
                (seen, get("upstream"), get("upstream_status"))
            })
            .collect()
    }

    /// nginx's log entries since the last call, once every request in `ran` is among those
    /// it forwarded (nginx logs a request when it is done with it, which for the last on a
    /// connection may be after the client saw it close), or after `READ_TIMEOUT`.
    fn logged_once_forwarded(&mut self, ran: &[Seen]) -> Vec<(Seen, String, String)> {
        let deadline = Instant::now() + READ_TIMEOUT;
        let mut logged = Vec::new();
        loop {
            logged.extend(self.logged());
            if pair(ran, &forwarded(&logged)).is_ok() || Instant::now() >= deadline {
                return logged;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The requests nginx logged as sent to waitress-rs.
fn forwarded(logged: &[(Seen, String, String)]) -> Vec<Seen> {
    logged
        .iter()
        .filter(|(_, upstream, _)| !upstream.is_empty())
        .map(|(seen, _, _)| seen.clone())
        .collect()
}

/// Pairs each request in `ran` with one in `forwarded`: what is left of `forwarded`, or the
/// first request in `ran` that has no pair.
fn pair(ran: &[Seen], forwarded: &[Seen]) -> Result<Vec<Seen>, Seen> {
    let mut left = forwarded.to_vec();
    for seen in ran {
        let i = left.iter().position(|f| f == seen).ok_or(seen.clone())?;
        left.remove(i);
    }
    Ok(left)
}

/// A victim: `GET target` on a connection of its own, which must be answered with its own
/// response and nothing else.
fn victim(front: SocketAddr, target: &str, context: &str) {
    let raw = support::exchange(
        front,
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let mut rest = &raw[..];
    let res = read_response(&mut rest, false);
    assert_eq!(res.status, 200, "{context}: victim got {}", latin1(&raw));
    assert_eq!(
        res.text(),
        format!("GET {target} 0"),
        "{context}: victim got another's response"
    );
    assert!(
        rest.is_empty(),
        "{context}: bytes after the victim's response: {:?}",
        latin1(rest)
    );
}

/// The malformed and ambiguous requests most likely to be framed one way by nginx and
/// another by waitress-rs (each sent alone on a connection, then a last request that closes
/// it). A request hidden in a body is `GET /smuggled`.
fn attacks() -> Vec<(&'static str, Vec<u8>)> {
    const H: &str = "Host: localhost\r\n";
    const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let chunked_then_smuggled = format!("0\r\n\r\n{SMUGGLED}");
    let cl = |body: &str| format!("Content-Length: {}\r\n", body.len());
    let post = |headers: &str, body: &str| format!("POST /a HTTP/1.1\r\n{H}{headers}\r\n{body}");
    let te_cl = |te: &str| {
        post(
            &format!("{te}\r\n{}", cl(&chunked_then_smuggled)),
            &chunked_then_smuggled,
        )
    };
    let chunked = |body: &str| post("Transfer-Encoding: chunked\r\n", body);
    let cases: Vec<(&str, String)> = vec![
        ("CL.TE", te_cl("Transfer-Encoding: chunked")),
        (
            "TE.CL",
            post(
                "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
                &format!("2c\r\n{SMUGGLED}\r\n0\r\n\r\n"),
            ),
        ),
        (
            "TE chunked, identity",
            te_cl("Transfer-Encoding: chunked, identity"),
        ),
        ("TE folded", te_cl("Transfer-Encoding:\r\n chunked")),
        ("TE after VT", te_cl("Transfer-Encoding:\x0bchunked")),
        (
            "TE space before colon",
            te_cl("Transfer-Encoding : chunked"),
        ),
        (
            "TE twice",
            te_cl("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity"),
        ),
        (
            "two Content-Lengths",
            post(&format!("Content-Length: 0\r\n{}", cl(SMUGGLED)), SMUGGLED),
        ),
        (
            "Content-Length +",
            post("Content-Length: +43\r\n", SMUGGLED),
        ),
        (
            "bare LF hides a Content-Length",
            post(
                &format!("{}X: y\nContent-Length: 0\r\n", cl(SMUGGLED)),
                SMUGGLED,
            ),
        ),
        (
            "bare CR in a value",
            post("X: a\rContent-Length: 43\r\n", SMUGGLED),
        ),
        (
            "control byte in a value",
            post(&format!("X: a\x01b\r\n{}", cl(SMUGGLED)), SMUGGLED),
        ),
        ("chunk size 0x", chunked("0x5\r\nhello\r\n0\r\n\r\n")),
        (
            "chunk size past 2^64",
            chunked("10000000000000005\r\nhello\r\n0\r\n\r\n"),
        ),
        (
            "chunk size with a space",
            chunked("5 \r\nhello\r\n0\r\n\r\n"),
        ),
        (
            "last chunk with bare LF",
            chunked(&format!("5\r\nhello\r\n0\n\r\n{SMUGGLED}")),
        ),
        (
            "trailer with Content-Length",
            chunked(&format!(
                "5\r\nhello\r\n0\r\nContent-Length: 43\r\n\r\n{SMUGGLED}"
            )),
        ),
        (
            "GET with a request as body",
            format!("GET /a HTTP/1.1\r\n{H}{}\r\n{SMUGGLED}", cl(SMUGGLED)),
        ),
        (
            "HEAD with a request as body",
            format!("HEAD /a HTTP/1.1\r\n{H}{}\r\n{SMUGGLED}", cl(SMUGGLED)),
        ),
        (
            "HTTP/1.0 chunked",
            format!(
                "POST /a HTTP/1.0\r\n{H}Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n{chunked_then_smuggled}"
            ),
        ),
        (
            "Expect: 100-continue",
            post(&format!("Expect: 100-continue\r\n{}", cl("hello")), "hello"),
        ),
        ("OPTIONS *", format!("OPTIONS * HTTP/1.1\r\n{H}\r\n")),
        (
            "absolute form",
            format!("GET http://evil.example/abs HTTP/1.1\r\n{H}\r\n"),
        ),
        (
            "valid, invalid, valid",
            format!(
                "GET /one HTTP/1.1\r\n{H}\r\n{}GET /three HTTP/1.1\r\n{H}\r\n",
                te_cl("Transfer-Encoding: chunked")
            ),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, request)| (name, request.into_bytes()))
        .collect()
}

#[test]
fn malformed_requests_through_nginx_reach_the_app_only_as_nginx_forwarded_them() {
    let dir = support::temp_dir();
    let mut stack = Stack::start(dir.path());
    for (n, (name, attack)) in attacks().into_iter().enumerate() {
        let mut stream = connect(stack.front);
        stream.write_all(&attack).unwrap();
        // Ends the connection whatever nginx made of the attack (it is answered, or taken as
        // part of a request nginx refuses and closes on).
        let last = format!("/last-{n}");
        stream
            .write_all(
                format!("GET {last} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .unwrap();
        let answered = read_to_close(&mut stream);
        drop(stream);
        let victims = [format!("/victim-{n}-a"), format!("/victim-{n}-b")];
        for target in &victims {
            victim(stack.front, target, name);
        }
        let ran = stack.recorder.take();
        let logged = stack.logged_once_forwarded(&ran);
        let context = || {
            format!(
                "{name}: answered {:?}\nlogged {logged:?}\nran {ran:?}",
                latin1(&answered)
            )
        };
        // Every request the app ran is one nginx forwarded, with the same body.
        let left = pair(&ran, &forwarded(&logged)).unwrap_or_else(|seen| {
            panic!(
                "{}\nthe app ran a request nginx never sent: {seen:?}",
                context()
            )
        });
        // And every request waitress-rs answered 200 was run by the app.
        for (seen, _, status) in &logged {
            assert!(
                status != "200" || !left.contains(seen),
                "{}\nanswered 200 but never run: {seen:?}",
                context()
            );
        }
    }
    stack.server.stop();
}

/// Bytes waiting unread in the server's side of its connections on `port` (Linux: the receive
/// queue column of /proc/net/tcp).
fn unread_by_server(port: u16) -> u64 {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let local = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (queues, established) = (fields.get(4)?, fields.get(3)? == &"01");
            (fields.get(1)?.ends_with(&local) && established)
                .then(|| u64::from_str_radix(queues.split(':').nth(1)?, 16).ok())
                .flatten()
        })
        .sum()
}

#[test]
fn an_app_failing_after_its_whole_response_does_not_drop_the_next_request_on_the_connection() {
    // The app's response is whole (its Content-Length sent), so nginx keeps the connection
    // and sends the next client's request on it while the app still runs. The app then fails:
    // closing the connection would drop that request, which nginx answers 502 (a POST is not
    // retried).
    let dir = support::temp_dir();
    let stack = Stack::start(dir.path());
    let port = stack.server.addr().port();
    let mut first = BufReader::new(connect(stack.front));
    first
        .get_mut()
        .write_all(format!("GET {FAIL_AFTER_BODY} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .unwrap();
    let res = read_response(&mut first, false);
    assert_eq!(res.text(), format!("GET {FAIL_AFTER_BODY} 0"));

    let mut second = connect(stack.front);
    second
        .write_all(b"POST /next HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
        .unwrap();
    // The request waits in the connection whose app still runs (the server reads nothing
    // there meanwhile).
    let deadline = Instant::now() + READ_TIMEOUT;
    while unread_by_server(port) == 0 {
        assert!(
            Instant::now() < deadline,
            "nginx did not send the next request on the connection it kept"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    stack.recorder.release.store(true, Ordering::SeqCst);
    let raw = read_to_close(&mut second);
    drop(second);
    let res = read_response(&mut &raw[..], false);
    assert_eq!(res.status, 200, "{}", latin1(&raw));
    assert_eq!(res.text(), "POST /next 3");
    let seen = stack.recorder.take();
    assert_eq!(seen.len(), 2, "{seen:?}");
    stack.server.stop();
}
