//! Response framing, over real sockets, with in-process servers running custom apps: every
//! row of the design's compatibility table that concerns responses, and waitress's
//! BadContentLength, NoContentLength, WriteCallback, InternalServerError and SleepyThread tests.

mod support;

use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use support::{
    Conn, InProcess, assert_error, error_body, exchange, latin1, read_response, read_to_close,
};
use waitress_rs::app::{AppError, Request, Response};

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn h(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

/// Lets `/sleepy` wait (bounded) until `/notsleepy` has run.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cond: Condvar,
}

/// The fixture app: one behaviour per path (waitress's fixture apps, ported).
fn fixture(req: &mut Request, res: &mut Response<'_>, gate: &Gate) -> Result<(), AppError> {
    let path = req.environ.get("PATH_INFO").unwrap_or_default().to_owned();
    let body = req.body.read_all()?;
    let text = || vec![h("Content-Type", "text/plain")];
    match path.as_str() {
        // badcl.app
        "/badcl/short_body" | "/badcl/long_body" | "/badcl/equal_body" => {
            let cl = match path.as_str() {
                "/badcl/short_body" => "10",
                "/badcl/long_body" => "8",
                _ => "9",
            };
            res.start("200 OK", vec![h("Content-Length", cl), text().remove(0)])?;
            res.write(b"abcdefghi")?;
        }
        // nocl.app
        "/nocl/generator" => {
            res.start("200 OK", text())?;
            for part in body.chunks(10) {
                res.write(part)?;
            }
        }
        "/nocl/list" => {
            res.start("200 OK", text())?;
            res.send(&body)?;
        }
        "/nocl/list_lentwo" => {
            res.start("200 OK", text())?;
            res.write(&body[..1])?;
            res.write(&body[1..])?;
        }
        "/nocl/empty_list" => {
            res.start("200 OK", text())?;
        }
        // writecb.app
        "/writecb/short_body" | "/writecb/long_body" | "/writecb/equal_body" => {
            res.start("200 OK", vec![h("Content-Length", "9")])?;
            res.write(match path.as_str() {
                "/writecb/short_body" => b"abcdefgh",
                "/writecb/long_body" => b"abcdefghij",
                _ => b"abcdefghi",
            })?;
        }
        "/writecb/no_content_length" => {
            res.start("200 OK", vec![])?;
            res.write(b"abcdefghi")?;
        }
        // error.app
        "/error/before_start_response" => return Err("wrong".into()),
        "/error/after_start_response" => {
            res.start("200 OK", vec![h("Content-Length", "3")])?;
            return Err("wrong after start".into());
        }
        "/error/after_write" => {
            res.start("200 OK", text())?;
            res.write(b"abc")?;
            return Err("wrong after write".into());
        }
        "/error/after_write_cl" => {
            res.start("200 OK", vec![h("Content-Length", "10")])?;
            res.write(b"abc")?;
            return Err("wrong after write".into());
        }
        "/error/never_started" => {}
        // The whole response is out before the app fails.
        "/error/after_whole_body" => {
            res.start("200 OK", vec![h("Content-Length", "3")])?;
            res.write(b"abc")?;
            return Err("wrong after the whole body".into());
        }
        "/error/after_send" => {
            res.start("200 OK", text())?;
            res.send(b"abc")?;
            return Err("wrong after send".into());
        }
        "/error/after_file" => {
            let mut file = tempfile::tempfile()?;
            file.write_all(b"abc")?;
            use std::io::Seek;
            file.seek(std::io::SeekFrom::Start(0))?;
            res.start("200 OK", text())?;
            res.send_file(file, 3)?;
            return Err("wrong after the file".into());
        }
        "/error/after_past_length" => {
            res.start("200 OK", vec![h("Content-Length", "3")])?;
            res.write(b"abcdef")?;
            return Err("wrong after too much".into());
        }
        "/error/after_no_content" => {
            res.start("204 No Content", vec![])?;
            res.send_head()?;
            return Err("wrong after 204".into());
        }
        "/error/panic_after_send" => {
            res.start("200 OK", text())?;
            res.send(b"abc")?;
            panic!("the app panicked after its body")
        }
        "/error/non_ascii" => return Err("Invalid application: \u{20ac}".into()),
        // The app's own connection (to a database, say) was reset: not the client's.
        "/error/own_connection_reset" => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "the database reset the connection",
            )
            .into());
        }
        "/error/app_panics" => panic!("the app panicked"),
        // response splitting and bad headers: the app passes start's error up.
        "/split/status" => res.start("200 OK\r\nX-Injected: 1", vec![])?,
        "/split/value" => res.start("200 OK", vec![h("X-A", "v\r\nX-Injected: 1")])?,
        "/split/value_lf" => res.start("200 OK", vec![h("X-A", "v\nX-Injected: 1")])?,
        "/split/name" => res.start("200 OK", vec![h("X-A\r\nX-Injected", "1")])?,
        "/split/connection" => res.start("200 OK", vec![h("Connection", "close")])?,
        "/split/transfer_encoding" => {
            res.start("200 OK", vec![h("Transfer-Encoding", "chunked")])?
        }
        "/split/non_latin1" => res.start("200 OK", vec![h("X-A", "\u{20ac}")])?,
        "/split/non_latin1_status" => res.start("200 Ok\u{20ac}", vec![])?,
        "/split/two_lengths" => {
            res.start(
                "200 OK",
                vec![h("Content-Length", "3"), h("Content-Length", "5")],
            )?;
            res.send(b"abcde")?;
        }
        "/headers/same_length_twice" => {
            res.start(
                "200 OK",
                vec![h("Content-Length", "3"), h("content-length", "3")],
            )?;
            res.send(b"abc")?;
        }
        "/status/no_reason" => {
            res.start("200", vec![])?;
            res.send(b"x")?;
        }
        // status codes without a body
        p if p.starts_with("/status/") => {
            let status = match &p[8..] {
                "204" => "204 No Content",
                "304" => "304 Not Modified",
                "100" => "100 Continue",
                "101" => "101 Switching Protocols",
                "103" => "103 Early Hints",
                other => panic!("no status {other}"),
            };
            res.start(
                status,
                vec![h("Content-Length", "3"), h("X-Kind", "nobody")],
            )?;
            res.write(b"abc")?;
        }
        // header handling
        "/headers/case" => {
            res.start(
                "200 OK",
                vec![
                    h("x-lower-case", "v"),
                    h("X-UPPER", "v"),
                    h("content-length", "2"),
                    h("X-Latin1", "caf\u{e9}"),
                ],
            )?;
            res.write(b"ok")?;
        }
        "/headers/server_and_date" => {
            res.start(
                "200 OK",
                vec![
                    h("Server", "myserver/1.0"),
                    h("Date", "Thu, 01 Jan 1970 00:00:00 GMT"),
                ],
            )?;
            res.send(b"ok")?;
        }
        "/headers/restart" => {
            res.start("200 OK", vec![h("X-A", "first")])?;
            res.start("500 Oops", vec![h("X-B", "second")])?;
            res.send(b"oops")?;
        }
        // file bodies
        "/file/exact"
        | "/file/prefix"
        | "/file/longcl"
        | "/file/shortcl"
        | "/file/nocl_offset"
        | "/file/shorter_than_said"
        | "/file/shorter_than_said_chunked" => {
            let mut file = tempfile::tempfile()?;
            file.write_all(&file_content())?;
            use std::io::Seek;
            match path.as_str() {
                "/file/exact" => {
                    file.seek(std::io::SeekFrom::Start(0))?;
                    res.start("200 OK", vec![h("Content-Type", "image/jpeg")])?;
                    res.send_file(file, 5000)?;
                }
                "/file/prefix" => {
                    file.seek(std::io::SeekFrom::Start(0))?;
                    res.start("200 OK", vec![])?;
                    res.send_file(file, 10)?;
                }
                "/file/nocl_offset" => {
                    file.seek(std::io::SeekFrom::Start(1000))?;
                    res.start("200 OK", vec![])?;
                    res.send_file(file, 4000)?;
                }
                "/file/shorter_than_said" => {
                    // The file holds 5000 bytes, the app says 6000.
                    file.seek(std::io::SeekFrom::Start(0))?;
                    res.start("200 OK", vec![])?;
                    res.send_file(file, 6000)?;
                }
                "/file/shorter_than_said_chunked" => {
                    file.seek(std::io::SeekFrom::Start(0))?;
                    res.start("200 OK", vec![])?;
                    res.write(b"x")?;
                    res.send_file(file, 6000)?;
                }
                "/file/longcl" => {
                    // The app claims more than it sends: short body, connection closed.
                    file.seek(std::io::SeekFrom::Start(0))?;
                    res.start("200 OK", vec![h("Content-Length", "5010")])?;
                    res.send_file(file, 5000)?;
                }
                _ => {
                    // The app claims less than the file: cut at its Content-Length.
                    file.seek(std::io::SeekFrom::Start(0))?;
                    res.start("200 OK", vec![h("Content-Length", "1")])?;
                    res.send_file(file, 5000)?;
                }
            }
        }
        // sleepy.app, without timing: /sleepy waits until /notsleepy has run.
        "/sleepy" => {
            let open = gate.open.lock().unwrap();
            let (open, timeout) = gate
                .cond
                .wait_timeout_while(open, Duration::from_secs(10), |o| !*o)
                .unwrap();
            assert!(*open && !timeout.timed_out(), "notsleepy never ran");
            res.start("200 OK", text())?;
            res.send(b"sleepy returned")?;
        }
        "/notsleepy" => {
            *gate.open.lock().unwrap() = true;
            gate.cond.notify_all();
            res.start("200 OK", text())?;
            res.send(b"notsleepy returned")?;
        }
        "/big" => {
            res.start("200 OK", vec![])?;
            let part = vec![b'x'; 64 * 1024];
            for _ in 0..32 {
                res.write(&part)?;
            }
        }
        _ => {
            res.start("200 OK", vec![h("Content-Length", "2")])?;
            res.write(b"ok")?;
        }
    }
    Ok(())
}

fn file_content() -> Vec<u8> {
    (0..5000u32).map(|i| (i * 7 % 251) as u8).collect()
}

fn start(flags: &[&str]) -> InProcess {
    let gate = Arc::new(Gate::default());
    InProcess::start(
        flags,
        Arc::new(move |req: &mut Request, res: &mut Response<'_>| fixture(req, res, &gate)),
    )
}

fn get11(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes()
}

fn get10_keepalive(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").into_bytes()
}

fn post11(path: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

fn post10(path: &str, body: &[u8], keep_alive: bool) -> Vec<u8> {
    let conn = if keep_alive {
        "Connection: Keep-Alive\r\n"
    } else {
        ""
    };
    let mut raw = format!(
        "POST {path} HTTP/1.0\r\n{conn}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// Splits raw response bytes into (head, body).
fn split(raw: &[u8]) -> (String, Vec<u8>) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", latin1(raw)));
    (latin1(&raw[..end + 4]), raw[end + 4..].to_vec())
}

/// Asserts a response head carries exactly one Date and the default Server.
fn assert_date_and_server(res: &support::Response) {
    assert_eq!(res.count("Date"), 1, "{res:?}");
    let date = res.header("Date").unwrap();
    assert!(
        date.ends_with(" GMT") && date.len() == 29,
        "not an IMF-fixdate: {date}"
    );
}

#[test]
fn bad_content_length_from_the_app() {
    let server = start(&[]);
    // BadContentLengthTests (HTTP/1.0 keep-alive): a short body closes the connection.
    let raw = exchange(server.addr(), &get10_keepalive("/badcl/short_body"));
    let (head, body) = split(&raw);
    assert!(head.starts_with("HTTP/1.0 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Length: 10\r\n"), "{head}");
    assert_eq!(body, b"abcdefghi", "short body then close");

    // A long body is truncated to the Content-Length and the connection kept.
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(&get10_keepalive("/badcl/long_body"));
    assert_eq!(res.header("Content-Length"), Some("8"));
    assert_eq!(res.body, b"abcdefgh");
    assert_eq!(res.header("Connection"), Some("Keep-Alive"));
    let res = conn.roundtrip(&get10_keepalive("/badcl/equal_body"));
    assert_eq!(res.status, 200, "second request on the same connection");
    assert_eq!(res.body, b"abcdefghi");
    assert_date_and_server(&res);

    // Same on HTTP/1.1.
    let raw = exchange(server.addr(), &get11("/badcl/short_body"));
    let (head, body) = split(&raw);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
    assert_eq!(body, b"abcdefghi");
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(&get11("/badcl/long_body"));
    assert_eq!(res.body, b"abcdefgh");
    assert!(conn.still_open());
    server.stop();
}

#[test]
fn no_content_length() {
    let server = start(&[]);
    // test_http10_generator: no CL, Connection: close, body to EOF.
    let raw = exchange(server.addr(), &post10("/nocl/generator", LETTERS, true));
    let (head, body) = split(&raw);
    assert!(head.starts_with("HTTP/1.0 200 OK\r\n"));
    assert!(
        !head.to_ascii_lowercase().contains("content-length"),
        "{head}"
    );
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding"),
        "{head}"
    );
    assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
    assert_eq!(body, LETTERS);

    // test_http10_list: a known length keeps a 1.0 keep-alive connection.
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(&post10("/nocl/list", LETTERS, true));
    assert_eq!(res.header("Content-Length"), Some("52"));
    assert_eq!(res.header("Connection"), Some("Keep-Alive"));
    assert_eq!(res.body, LETTERS);
    let res = conn.roundtrip(&post10("/nocl/list", LETTERS, true));
    assert_eq!(res.status, 200);

    // test_http10_listlentwo: two parts, no length → close-delimited.
    let raw = exchange(server.addr(), &post10("/nocl/list_lentwo", LETTERS, true));
    let (head, body) = split(&raw);
    assert!(head.contains("\r\nConnection: close\r\n"));
    assert_eq!(body, LETTERS);

    // test_http11_generator: chunked with upper-case hex sizes; waitress-rs keeps the
    // connection (waitress closes).
    let mut conn = Conn::open(server.addr());
    conn.send(&post11("/nocl/generator", LETTERS));
    let mut want = Vec::new();
    for part in LETTERS.chunks(10) {
        want.extend_from_slice(format!("{:X}\r\n", part.len()).as_bytes());
        want.extend_from_slice(part);
        want.extend_from_slice(b"\r\n");
    }
    want.extend_from_slice(b"0\r\n\r\n");
    let head = read_head(&mut conn);
    assert!(
        head.contains("\r\nTransfer-Encoding: chunked\r\n"),
        "{head}"
    );
    assert!(!head.contains("Content-Length"), "{head}");
    assert!(!head.contains("Connection: close"), "{head}");
    let mut body = vec![0; want.len()];
    conn.reader.read_exact(&mut body).unwrap();
    assert_eq!(latin1(&body), latin1(&want));
    assert!(
        conn.still_open(),
        "chunked 1.1 response keeps the connection"
    );

    // test_http11_list: CL 52, kept open.
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(&post11("/nocl/list", LETTERS));
    assert_eq!(res.header("Content-Length"), Some("52"));
    assert!(conn.still_open());

    // test_http11_listlentwo: `1\r\na\r\n33\r\n<51>\r\n0\r\n\r\n`.
    let mut conn = Conn::open(server.addr());
    conn.send(&post11("/nocl/list_lentwo", LETTERS));
    read_head(&mut conn);
    let mut want = b"1\r\na\r\n33\r\n".to_vec();
    want.extend_from_slice(&LETTERS[1..]);
    want.extend_from_slice(b"\r\n0\r\n\r\n");
    let mut body = vec![0; want.len()];
    conn.reader.read_exact(&mut body).unwrap();
    assert_eq!(body, want);
    assert!(conn.still_open());

    // No body at all: Content-Length 0, kept open.
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(&get11("/nocl/empty_list"));
    assert_eq!(res.header("Content-Length"), Some("0"));
    assert!(res.body.is_empty());
    assert!(conn.still_open());
    server.stop();
}

/// Reads a response head (through the empty line) from `conn` as text.
fn read_head(conn: &mut Conn) -> String {
    use std::io::BufRead;
    let mut head = String::new();
    loop {
        let mut line = String::new();
        conn.reader.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "closed in the head: {head}");
        head.push_str(&line);
        if line == "\r\n" {
            return head;
        }
    }
}

#[test]
fn send_head_sends_the_head_before_any_body() {
    // A stream whose first part waits on something: the client sees the response begin.
    let (first, wait_first) = std::sync::mpsc::channel::<()>();
    let wait_first = Mutex::new(wait_first);
    let server = InProcess::serve(&[], move |_: &mut Request, res: &mut Response<'_>| {
        res.start("200 OK", vec![h("Content-Type", "text/event-stream")])?;
        res.send_head()?;
        let signalled = wait_first
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(10));
        res.write(if signalled.is_ok() {
            b"data: 1\n\n"
        } else {
            b"timed out"
        })
    });
    let mut conn = Conn::open(server.addr());
    conn.send(b"GET /events HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = read_head(&mut conn);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("\r\nTransfer-Encoding: chunked\r\n"),
        "{head}"
    );
    first.send(()).unwrap();
    let mut body = Vec::new();
    let mut buf = [0; 64];
    while !body.ends_with(b"0\r\n\r\n") {
        let n = conn.reader.read(&mut buf).unwrap();
        assert!(n > 0, "closed: {body:?}");
        body.extend_from_slice(&buf[..n]);
    }
    assert_eq!(body, b"9\r\ndata: 1\n\n\r\n0\r\n\r\n");
    drop(conn);
    server.stop();
}

#[test]
fn write_callback() {
    // WriteCallbackTests, HTTP/1.0 keep-alive.
    let server = start(&[]);
    let raw = exchange(server.addr(), &get10_keepalive("/writecb/short_body"));
    let (head, body) = split(&raw);
    assert!(head.contains("\r\nContent-Length: 9\r\n"));
    assert_eq!(body, b"abcdefgh");

    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(&get10_keepalive("/writecb/long_body"));
    assert_eq!(res.header("Content-Length"), Some("9"));
    assert_eq!(res.body, b"abcdefghi", "excess dropped");
    let res = conn.roundtrip(&get10_keepalive("/writecb/equal_body"));
    assert_eq!(res.header("Content-Length"), Some("9"));
    assert_eq!(res.body, b"abcdefghi");
    let res = conn.roundtrip(&get10_keepalive("/writecb/equal_body"));
    assert_eq!(res.status, 200, "still open");

    let raw = exchange(
        server.addr(),
        &get10_keepalive("/writecb/no_content_length"),
    );
    let (head, body) = split(&raw);
    assert!(!head.contains("Content-Length"), "{head}");
    assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
    assert_eq!(body, b"abcdefghi");
    server.stop();
}

#[test]
fn statuses_without_a_body_keep_the_connection() {
    let server = start(&[]);
    for status in ["204", "304"] {
        let mut conn = Conn::open(server.addr());
        conn.send(&get11(&format!("/status/{status}")));
        let head = read_head(&mut conn);
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
        let lower = head.to_ascii_lowercase();
        assert!(!lower.contains("content-length"), "{status}: {head}");
        assert!(!lower.contains("transfer-encoding"), "{status}: {head}");
        assert!(!lower.contains("connection: close"), "{status}: {head}");
        assert!(head.contains("\r\nDate: "), "{head}");
        assert!(head.contains("\r\nX-Kind: nobody\r\n"), "{head}");
        // No body bytes: the next thing on the wire is the next response.
        assert!(
            conn.still_open(),
            "{status}: body bytes sent or connection closed"
        );
    }
    // On HTTP/1.0 keep-alive too.
    let mut conn = Conn::open(server.addr());
    conn.send(&get10_keepalive("/status/204"));
    let head = read_head(&mut conn);
    assert!(head.contains("\r\nConnection: Keep-Alive\r\n"), "{head}");
    conn.send(&get10_keepalive("/"));
    let res = conn.response(false);
    assert_eq!(res.body, b"ok");
    server.stop();
}

/// RFC 9110 §15.2: a 1xx is interim; sent as the answer, the client would take the next
/// response for this request's (and an HTTP/1.0 client may get none). An app cannot send an
/// interim response, so its 1xx is an error (waitress sends it and closes).
#[test]
fn an_app_status_of_1xx_is_a_500() {
    let server = start(&[]);
    for status in ["100", "101", "103"] {
        let mut raw = get11(&format!("/status/{status}"));
        raw.extend_from_slice(&get11("/"));
        let got = exchange(server.addr(), &raw);
        let res = read_response(&mut &got[..], false);
        assert_error(&res, 500, Some(INTERNAL), status);
        assert!(
            !latin1(&got).contains("HTTP/1.1 200"),
            "{status}: the pipelined request was answered: {:?}",
            latin1(&got)
        );
    }
    server.stop();
}

#[test]
fn status_line_without_a_reason_keeps_its_space() {
    // RFC 9112 §4: `status-line = HTTP-version SP status-code SP [ reason-phrase ]`.
    let server = start(&[]);
    let raw = exchange(
        server.addr(),
        b"GET /status/no_reason HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(raw.starts_with(b"HTTP/1.1 200 \r\n"), "{:?}", latin1(&raw));
    server.stop();
}

#[test]
fn date_and_server_headers() {
    let server = start(&[]);
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(&get11("/"));
    assert_date_and_server(&res);
    assert_eq!(res.header("Server"), Some("waitress"));
    assert_eq!(res.count("Server"), 1);
    assert_eq!(res.count("Via"), 0);

    // The app's Server and Date are kept; waitress names itself in Via.
    let res = conn.roundtrip(&get11("/headers/server_and_date"));
    assert_eq!(res.header("Server"), Some("myserver/1.0"));
    assert_eq!(res.count("Server"), 1);
    assert_eq!(res.header("Via"), Some("waitress"));
    assert_eq!(res.header("Date"), Some("Thu, 01 Jan 1970 00:00:00 GMT"));
    assert_eq!(res.count("Date"), 1);
    server.stop();

    let server = start(&["--ident", "myident"]);
    let res = Conn::open(server.addr()).roundtrip(&get11("/"));
    assert_eq!(res.header("Server"), Some("myident"));
    let res = Conn::open(server.addr()).roundtrip(&get11("/headers/server_and_date"));
    assert_eq!(res.header("Via"), Some("myident"));
    // Error bodies name the ident too.
    let res = Conn::open(server.addr()).roundtrip(b"GARBAGE\r\n\r\n");
    assert!(
        res.text().ends_with("(generated by myident)"),
        "{}",
        res.text()
    );
    assert_eq!(res.header("Server"), Some("myident"));
    server.stop();

    let server = start(&["--ident", ""]);
    let res = Conn::open(server.addr()).roundtrip(&get11("/"));
    assert_eq!(res.count("Server"), 0, "empty ident: no Server header");
    assert_eq!(res.count("Date"), 1);
    let res = Conn::open(server.addr()).roundtrip(&get11("/headers/server_and_date"));
    assert_eq!(res.count("Via"), 0);
    let res = Conn::open(server.addr()).roundtrip(b"GARBAGE\r\n\r\n");
    assert!(res.text().ends_with("(generated by server)"));
    assert_eq!(res.count("Server"), 0);
    server.stop();
}

#[test]
fn header_names_are_sent_as_given() {
    let server = start(&[]);
    let raw = exchange(
        server.addr(),
        b"GET /headers/case HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let (head, body) = split(&raw);
    assert_eq!(body, b"ok");
    // In the app's order and spelling; the app's Content-Length is not duplicated.
    let lines: Vec<&str> = head.split("\r\n").collect();
    let pos = |l: &str| {
        lines
            .iter()
            .position(|x| *x == l)
            .unwrap_or_else(|| panic!("{l:?} not in {head}"))
    };
    assert!(pos("x-lower-case: v") < pos("X-UPPER: v"));
    assert!(pos("X-UPPER: v") < pos("content-length: 2"));
    assert!(!head.contains("Content-Length"), "{head}");
    assert!(!head.contains("X-Lower-Case"), "{head}");
    // Latin-1 values go out as single bytes.
    assert!(raw.windows(13).any(|w| w == b"X-Latin1: caf"));
    assert!(raw.windows(4).any(|w| w == b"caf\xe9"), "{head}");

    // The same length twice is sent once.
    let res = Conn::open(server.addr()).roundtrip(&get11("/headers/same_length_twice"));
    assert_eq!(res.count("Content-Length"), 1);
    assert_eq!(res.body, b"abc");
    // A second start before the first byte replaces status and headers.
    let res = Conn::open(server.addr()).roundtrip(&get11("/headers/restart"));
    assert_eq!(res.status_line, "HTTP/1.1 500 Oops");
    assert_eq!(res.header("X-A"), None);
    assert_eq!(res.header("X-B"), Some("second"));
    server.stop();
}

const INTERNAL: &str = "The server encountered an unexpected internal server error";

#[test]
fn app_errors() {
    let server = start(&[]);
    for path in [
        "/error/before_start_response",
        "/error/after_start_response",
        "/error/never_started",
        "/error/non_ascii",
        // An I/O error of the app's own is its failure, not the client's disconnect (which
        // answered nothing, so nginx in front answered 502, and logged it at INFO).
        "/error/own_connection_reset",
    ] {
        let mut conn = Conn::open(server.addr());
        // A request pipelined behind it is never answered.
        let mut raw = get11(path);
        raw.extend_from_slice(&get11("/"));
        conn.send(&raw);
        let res = conn.response(false);
        assert_eq!(
            res.status_line, "HTTP/1.1 500 Internal Server Error",
            "{path}"
        );
        assert_error(&res, 500, Some(INTERNAL), path);
        assert!(conn.closed(), "{path}: not closed");
    }
    // HTTP/1.0 keep-alive: one Connection header, `close` (waitress sends two).
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(&get10_keepalive("/error/before_start_response"));
    assert_eq!(res.status_line, "HTTP/1.0 500 Internal Server Error");
    assert_eq!(res.count("Connection"), 1);
    assert_error(&res, 500, Some(INTERNAL), "1.0 keep-alive");
    assert!(conn.closed());

    // After the first byte: the response is cut and the connection closed.
    let raw = exchange(server.addr(), &get11("/error/after_write"));
    let (head, body) = split(&raw);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    assert_eq!(body, b"3\r\nabc\r\n", "no last chunk after an app error");
    let raw = exchange(server.addr(), &get11("/error/after_write_cl"));
    let (head, body) = split(&raw);
    assert!(head.contains("\r\nContent-Length: 10\r\n"), "{head}");
    assert_eq!(body, b"abc");

    // A panicking app gets a 500 like an app error (it used to leave the client waiting), and
    // the server keeps serving.
    let raw = exchange(server.addr(), &get11("/error/app_panics"));
    let res = read_response(&mut &raw[..], false);
    assert_error(&res, 500, Some(INTERNAL), "panic");
    let res = Conn::open(server.addr()).roundtrip(&get11("/"));
    assert_eq!(res.body, b"ok", "server still serves after an app panic");
    server.stop();

    // expose_tracebacks puts the app's error in the body.
    let server = start(&["--expose-tracebacks"]);
    let res = Conn::open(server.addr()).roundtrip(&get11("/error/before_start_response"));
    assert_error(&res, 500, Some("wrong"), "expose");
    let res = Conn::open(server.addr()).roundtrip(&get11("/error/non_ascii"));
    assert_eq!(
        res.body,
        error_body("Internal Server Error", "Invalid application: \u{20ac}").as_bytes(),
        "UTF-8 body"
    );
    server.stop();
}

#[test]
fn an_app_failing_after_its_whole_response_keeps_the_connection() {
    // Nothing of a whole, framed response can be taken back, so the connection stays: a proxy
    // that keeps its connections open (nginx `keepalive`) may already have sent the next
    // request, which closing would drop unanswered. waitress closes.
    let server = start(&[]);
    for (request, status) in [
        (get11("/error/after_whole_body"), 200),
        (get11("/error/after_send"), 200),
        (get11("/error/after_file"), 200),
        (get11("/error/after_past_length"), 200),
        (get11("/error/after_no_content"), 204),
        (get11("/error/panic_after_send"), 200),
    ] {
        let context = latin1(&request);
        let mut conn = Conn::open(server.addr());
        let mut raw = request.clone();
        raw.extend_from_slice(&get11("/next"));
        conn.send(&raw);
        let res = conn.response(false);
        assert_eq!(res.status, status, "{context}");
        if status == 200 {
            assert_eq!(res.body, b"abc", "{context}");
        }
        assert_eq!(res.header("Connection"), None, "{context}");
        let next = conn.response(false);
        assert_eq!(
            next.body, b"ok",
            "{context}: the next request was not answered"
        );
    }
    // Cut short, the response still ends the connection (`app_errors`): chunked without its
    // last chunk, or short of its Content-Length.
    for path in ["/error/after_write", "/error/after_write_cl"] {
        let mut conn = Conn::open(server.addr());
        let mut raw = get11(path);
        raw.extend_from_slice(&get11("/next"));
        conn.send(&raw);
        let rest = read_to_close(&mut conn.reader);
        assert!(
            !latin1(&rest).contains("\r\n\r\nok"),
            "{path}: answered after a cut response: {}",
            latin1(&rest)
        );
    }
    server.stop();
}

#[test]
fn response_splitting_is_refused() {
    let server = start(&[]);
    for path in [
        "/split/status",
        "/split/value",
        "/split/value_lf",
        "/split/name",
        "/split/connection",
        "/split/transfer_encoding",
        "/split/non_latin1",
        "/split/non_latin1_status",
        // The head would say 3 and the body run to 5: a desynchronised connection.
        "/split/two_lengths",
    ] {
        let raw = exchange(
            server.addr(),
            format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes(),
        );
        assert!(
            !raw.windows(10).any(|w| w == b"X-Injected"),
            "{path}: injected header on the wire: {:?}",
            latin1(&raw)
        );
        let res = read_response(&mut &raw[..], false);
        assert_error(&res, 500, Some(INTERNAL), path);
    }
    server.stop();
}

#[test]
fn file_bodies() {
    let server = start(&[]);
    let content = file_content();
    let mut conn = Conn::open(server.addr());
    let res = conn.roundtrip(&get11("/file/exact"));
    assert_eq!(res.header("Content-Length"), Some("5000"));
    assert_eq!(res.header("Content-Type"), Some("image/jpeg"));
    assert!(res.body == content);
    let res = conn.roundtrip(&get11("/file/prefix"));
    assert_eq!(res.header("Content-Length"), Some("10"));
    assert_eq!(res.body, &content[..10]);
    let res = conn.roundtrip(&get11("/file/nocl_offset"));
    assert_eq!(res.header("Content-Length"), Some("4000"));
    assert!(res.body == content[1000..]);
    // The app's Content-Length is shorter than the file: cut, connection kept.
    let res = conn.roundtrip(&get11("/file/shortcl"));
    assert_eq!(res.header("Content-Length"), Some("1"));
    assert_eq!(res.body, &content[..1]);
    assert!(conn.still_open());
    // HEAD of a file: headers only.
    conn.send(b"HEAD /file/exact HTTP/1.1\r\nHost: a\r\n\r\n");
    let res = conn.response(true);
    assert_eq!(res.header("Content-Length"), Some("5000"));
    assert!(conn.still_open(), "HEAD sent file bytes");
    // A file shorter than the length given: the response is cut and the connection closed
    // (never a last chunk that would make the short body look complete).
    let raw = exchange(server.addr(), &get11("/file/shorter_than_said"));
    let (head, body) = split(&raw);
    assert!(head.contains("\r\nContent-Length: 6000\r\n"), "{head}");
    assert!(body == content);
    let raw = exchange(server.addr(), &get11("/file/shorter_than_said_chunked"));
    let (head, body) = split(&raw);
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    assert!(
        !body.ends_with(b"0\r\n\r\n"),
        "cut chunked body ended cleanly"
    );
    // Longer than the file: the body falls short, so the connection closes after it.
    let raw = exchange(server.addr(), &get11("/file/longcl"));
    let (head, body) = split(&raw);
    assert!(head.contains("\r\nContent-Length: 5010\r\n"), "{head}");
    assert!(body == content);
    server.stop();
}

#[test]
fn head_gets_get_headers_without_a_body() {
    let server = start(&[]);
    let mut conn = Conn::open(server.addr());
    // Unknown length on 1.1: GET would be chunked, so HEAD says so, and sends nothing.
    conn.send(b"HEAD /writecb/no_content_length HTTP/1.1\r\nHost: a\r\n\r\n");
    let res = conn.response(true);
    assert_eq!(res.header("Transfer-Encoding"), Some("chunked"));
    assert!(conn.still_open(), "HEAD sent body bytes");
    conn.send(b"HEAD /badcl/short_body HTTP/1.1\r\nHost: a\r\n\r\n");
    let res = conn.response(true);
    assert_eq!(res.header("Content-Length"), Some("10"));
    assert!(conn.still_open(), "a HEAD of a short body is not an error");
    server.stop();
}

#[test]
fn a_head_answered_with_no_body_announces_no_length() {
    // As a Werkzeug app does: an empty body for HEAD, no Content-Length. The GET's length is
    // unknown, so HEAD announces none rather than 0; a GET of an empty body still says 0.
    let server = InProcess::serve(&[], |req: &mut Request, res: &mut Response<'_>| {
        res.start("200 OK", vec![h("Content-Type", "text/plain")])?;
        if req.environ.get("REQUEST_METHOD") == Some("HEAD")
            || req.environ.get("PATH_INFO") == Some("/empty")
        {
            return Ok(());
        }
        res.write(b"a body of unknown length")
    });
    let mut conn = Conn::open(server.addr());
    conn.send(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    let res = conn.response(true);
    assert_eq!(res.status, 200);
    assert_eq!(res.header("Content-Length"), None, "{}", res.summary());
    assert_eq!(res.header("Transfer-Encoding"), Some("chunked"));
    assert!(conn.still_open(), "HEAD sent body bytes");
    let res = conn.roundtrip(b"GET /empty HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(res.header("Content-Length"), Some("0"));
    drop(conn);
    server.stop();
}

#[test]
fn a_slow_request_does_not_block_another_connection() {
    // SleepyThreadTests without timing: /sleepy cannot finish until /notsleepy has run on
    // another worker; both must be answered.
    let server = start(&["--threads", "2"]);
    let mut sleepy = Conn::open(server.addr());
    sleepy.send(&get11("/sleepy"));
    let mut other = Conn::open(server.addr());
    let res = other.roundtrip(&get11("/notsleepy"));
    assert_eq!(res.body, b"notsleepy returned");
    let res = sleepy.response(false);
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.body, b"sleepy returned");
    server.stop();
}

#[test]
fn large_streamed_response_to_a_reader_that_stops_halfway() {
    // A client that reads part of a 2 MiB streamed response and disconnects: the server
    // carries on serving.
    let server = start(&[]);
    {
        let mut conn = Conn::open(server.addr());
        conn.send(&get11("/big"));
        let mut part = vec![0u8; 100_000];
        conn.reader.read_exact(&mut part).unwrap();
    }
    let res = Conn::open(server.addr()).roundtrip(&get11("/big"));
    assert!(res.chunked);
    assert_eq!(res.body.len(), 2 * 1024 * 1024);
    server.stop();
}

/// A gate the test opens, and a flag the app raises when it is inside `/wait`.
#[derive(Default)]
struct Barrier2 {
    open: Mutex<bool>,
    open_cv: Condvar,
    entered: Mutex<bool>,
    entered_cv: Condvar,
}

impl Barrier2 {
    fn wait(&self, which: &Mutex<bool>, cv: &Condvar) {
        let flag = which.lock().unwrap();
        let (flag, _) = cv
            .wait_timeout_while(flag, Duration::from_secs(10), |f| !*f)
            .unwrap();
        assert!(*flag, "gave up waiting");
    }
    fn raise(which: &Mutex<bool>, cv: &Condvar) {
        *which.lock().unwrap() = true;
        cv.notify_all();
    }
}

/// `/wait` blocks until the test opens the gate; every path answers `path:body`.
fn gated(gate: Arc<Barrier2>) -> Arc<dyn waitress_rs::app::App> {
    Arc::new(
        move |req: &mut Request, res: &mut Response<'_>| -> Result<(), AppError> {
            let path = req.environ.get("PATH_INFO").unwrap_or_default().to_owned();
            let body = req.body.read_all()?;
            if path == "/wait" {
                Barrier2::raise(&gate.entered, &gate.entered_cv);
                gate.wait(&gate.open, &gate.open_cv);
            }
            let mut out = path.into_bytes();
            out.push(b':');
            out.extend_from_slice(&body);
            res.start("200 OK", vec![])?;
            res.send(&out)
        },
    )
}

#[test]
fn continue_is_never_sent_ahead_of_an_earlier_response() {
    use std::io::BufRead;
    for lookahead in ["0", "5"] {
        let gate = Arc::new(Barrier2::default());
        let server = InProcess::start(
            &["--channel-request-lookahead", lookahead],
            gated(Arc::clone(&gate)),
        );
        let mut conn = Conn::open(server.addr());
        conn.send(b"GET /wait HTTP/1.1\r\nHost: a\r\n\r\nPOST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
        gate.wait(&gate.entered, &gate.entered_cv);
        // Give a wrongly early 100 the chance to go out before the first response.
        std::thread::sleep(Duration::from_millis(100));
        Barrier2::raise(&gate.open, &gate.open_cv);
        let mut line = String::new();
        conn.reader.read_line(&mut line).unwrap();
        assert_eq!(line, "HTTP/1.1 200 OK\r\n", "lookahead {lookahead}");
        let head = read_head_rest(&mut conn);
        assert!(head.contains("Content-Length: 6\r\n"), "{head}");
        let mut body = [0u8; 6];
        conn.reader.read_exact(&mut body).unwrap();
        assert_eq!(&body, b"/wait:");
        let mut interim = String::new();
        conn.reader.read_line(&mut interim).unwrap();
        conn.reader.read_line(&mut interim).unwrap();
        assert_eq!(interim, "HTTP/1.1 100 Continue\r\n\r\n");
        conn.send(b"abc");
        assert_eq!(conn.response(false).body, b"/two:abc");
        drop(conn);
        server.stop();
    }
}

/// Reads header lines through the empty line.
fn read_head_rest(conn: &mut Conn) -> String {
    use std::io::BufRead;
    let mut head = String::new();
    loop {
        let mut line = String::new();
        conn.reader.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "closed in the head");
        head.push_str(&line);
        if line == "\r\n" {
            return head;
        }
    }
}

#[test]
fn shutdown_finishes_what_was_received() {
    let gate = Arc::new(Barrier2::default());
    let server = InProcess::start(&[], gated(Arc::clone(&gate)));
    let addr = server.addr();
    let mut conn = Conn::open(addr);
    conn.send(b"GET /wait HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    gate.wait(&gate.entered, &gate.entered_cv);
    let stopper = std::thread::spawn(move || server.stop());
    // Shutdown has begun once the listener is gone: only then let the app finish.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_ok() {
        assert!(std::time::Instant::now() < deadline, "shutdown never began");
        std::thread::sleep(Duration::from_millis(5));
    }
    Barrier2::raise(&gate.open, &gate.open_cv);
    let first = conn.response(false);
    assert_eq!(first.body, b"/wait:");
    let last = conn.response(false);
    assert_eq!(last.body, b"/next:");
    assert_eq!(last.header("Connection"), Some("close"));
    assert!(conn.closed());
    stopper.join().expect("server stopped cleanly");
    // Nothing listens any more.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn responses_larger_than_the_output_buffers() {
    // Output past outbuf_overflow spills to a temp file and past outbuf_high_watermark blocks
    // the app until the client reads: the client still gets every byte, in order.
    let server = start(&[
        "--outbuf-overflow",
        "65536",
        "--outbuf-high-watermark",
        "131072",
    ]);
    let mut conn = Conn::open(server.addr());
    for _ in 0..2 {
        let res = conn.roundtrip(&get11("/big"));
        assert!(res.chunked);
        assert_eq!(res.body.len(), 2 * 1024 * 1024);
        assert!(res.body.iter().all(|&b| b == b'x'));
        let res = conn.roundtrip(&get11("/file/exact"));
        assert!(res.body == file_content());
    }
    // HTTP/1.0: close-delimited.
    let raw = exchange(server.addr(), b"GET /big HTTP/1.0\r\n\r\n");
    let (head, body) = split(&raw);
    assert!(head.contains("Connection: close"), "{head}");
    assert_eq!(body.len(), 2 * 1024 * 1024);
    server.stop();
}
