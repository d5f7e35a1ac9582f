//! Shared helpers for the black-box tests: start the real binary, talk to it over raw sockets,
//! stop it. Every server a test starts is stopped when its handle drops.
#![allow(dead_code)]

pub mod nginx;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long to wait for the server to say it is listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a read from the server may take before a test gives up.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The binary under test.
pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_waitress-rs"))
}

/// Runs the binary to completion with `args`; returns (status, stdout, stderr).
pub fn run(args: &[&str]) -> (ExitStatus, String, String) {
    let out = binary()
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run waitress-rs");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running server process.
pub struct Server {
    child: Option<Child>,
    /// Every `Serving on` URL, in order.
    pub urls: Vec<String>,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the binary with `args` and waits until it logged one `Serving on` line.
    pub fn start(args: &[&str]) -> Server {
        Self::start_with(binary().args(args), 1)
    }

    /// Starts the binary serving the built-in echo app on an ephemeral 127.0.0.1 port.
    pub fn echo() -> Server {
        Self::echo_with(&[])
    }

    /// Starts the echo app on an ephemeral 127.0.0.1 port with `extra` flags after the app.
    pub fn echo_with(extra: &[&str]) -> Server {
        let mut args = vec!["--listen", "127.0.0.1:0", "--app", "echo"];
        args.extend_from_slice(extra);
        Self::start(&args)
    }

    /// Starts `cmd` and waits for `listeners` `Serving on` lines.
    pub fn start_with(cmd: &mut Command, listeners: usize) -> Server {
        let mut child = cmd
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn waitress-rs");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("INFO:waitress:Serving on ") {
                    let _ = tx.send(url.to_owned());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut urls = Vec::new();
        while urls.len() < listeners {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(url) => urls.push(url),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("server did not start; log:\n{}", log.lock().unwrap());
                }
            }
        }
        Server {
            child: Some(child),
            urls,
            log,
        }
    }

    /// The first listener's TCP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr_of(0)
    }

    /// The `n`th listener's TCP address.
    pub fn addr_of(&self, n: usize) -> SocketAddr {
        let url = &self.urls[n];
        url.strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("not a TCP url: {url}"))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits up to `timeout` for `needle` to appear in the log.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Sends a signal (Unix) and waits up to `timeout` for the process to exit.
    #[cfg(unix)]
    pub fn signal(&mut self, signal: i32, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        // SAFETY: kill(2) on our child, whose pid stays ours until it is reaped.
        let sent = unsafe { libc::kill(child.id() as i32, signal) };
        // A signal that was not sent would make a test pass without testing anything.
        assert_eq!(
            sent,
            0,
            "kill -{signal}: {}",
            std::io::Error::last_os_error()
        );
        self.exit_within(timeout)
    }

    /// Waits up to `timeout` for the process to exit (it is not signalled).
    pub fn exit_within(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Stops the server with SIGTERM and returns its exit status.
    #[cfg(unix)]
    pub fn stop(mut self) -> ExitStatus {
        self.signal(15, Duration::from_secs(40))
            .expect("server exits after SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A child process the test started by hand, killed if the test ends (or fails) while it
/// still runs.
pub struct Spawned(pub std::process::Child);

impl Spawned {
    /// Waits up to `timeout` for the process to exit; `None` if it is still running.
    pub fn exit_within(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A connected client with timeouts set.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    stream
}

/// The receive buffer of a client that leaves responses unread: small, so the server's output
/// waits on the server's side (loopback's buffers, autotuned, hold megabytes).
pub const SMALL_WINDOW: usize = 4096;

/// A connection whose client takes little of a response it does not read ([`SMALL_WINDOW`]).
pub fn connect_small_window(addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .unwrap();
    // Set before connecting, so the window offered in the handshake is the small one.
    socket.set_recv_buffer_size(SMALL_WINDOW).unwrap();
    socket.connect(&addr.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    stream
}

/// Sends `request` on a new connection and reads until the server closes it.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(request).unwrap();
    read_to_close(&mut stream)
}

/// Reads until EOF (or a reset, which also ends the exchange).
pub fn read_to_close(stream: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("read failed after {} bytes: {e}", out.len()),
        }
    }
}

/// Whether the server closed `stream` (EOF or reset) rather than keeping it open.
pub fn is_closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(stream.read(&mut buf), Ok(0) | Err(_))
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    /// `HTTP/1.1 200 OK`
    pub status_line: String,
    /// The status code.
    pub status: u16,
    /// Headers in order, as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked if it was chunked.
    pub body: Vec<u8>,
    /// Whether the body was chunked on the wire.
    pub chunked: bool,
}

impl Response {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many headers are named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// Status line, headers and body as text, for assertion messages.
    pub fn summary(&self) -> String {
        let mut out = self.status_line.clone();
        for (n, v) in &self.headers {
            out.push_str(&format!("\n{n}: {v}"));
        }
        out.push_str(&format!("\n\n{:?}", latin1(&self.body)));
        out
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response from `reader`. `head_request`: the response to HEAD has no body.
pub fn read_response(reader: &mut impl BufRead, head_request: bool) -> Response {
    let mut line = String::new();
    let mut status_line = String::new();
    // Skip interim 100 Continue responses.
    loop {
        status_line.clear();
        reader.read_line(&mut status_line).expect("status line");
        assert!(
            !status_line.is_empty(),
            "connection closed before a response"
        );
        let code = status_line.split(' ').nth(1).unwrap_or("");
        let mut headers_end = String::new();
        if code == "100" {
            reader.read_line(&mut headers_end).unwrap();
            continue;
        }
        break;
    }
    let status_line = status_line.trim_end().to_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("header line");
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').expect("header colon");
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut response = Response {
        status_line,
        status,
        headers,
        body: Vec::new(),
        chunked: false,
    };
    let no_body = head_request || status == 204 || status == 304 || (100..200).contains(&status);
    if no_body {
        return response;
    }
    if response
        .header("Transfer-Encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        response.chunked = true;
        loop {
            line.clear();
            reader.read_line(&mut line).expect("chunk size");
            let size = usize::from_str_radix(line.trim_end(), 16).expect("hex chunk size");
            if size == 0 {
                line.clear();
                reader.read_line(&mut line).unwrap();
                break;
            }
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk).expect("chunk data");
            response.body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(len) = response.header("Content-Length") {
        let len: usize = len.parse().expect("numeric content-length");
        response.body = vec![0u8; len];
        reader.read_exact(&mut response.body).expect("body");
    } else {
        reader
            .read_to_end(&mut response.body)
            .expect("body to close");
    }
    response
}

/// Sends `request` on a new connection and parses one response.
pub fn request(addr: SocketAddr, request: &[u8]) -> Response {
    let mut stream = connect(addr);
    stream.write_all(request).unwrap();
    let head = request.starts_with(b"HEAD ");
    read_response(&mut BufReader::new(stream), head)
}

/// `GET path` over HTTP/1.1 with `Connection: close`.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    request(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// An app for in-process servers that reports each request's path on `started`, then sleeps
/// `delay` before answering `done PATH`: requests that are with a worker for a while.
pub fn slow_app(
    delay: Duration,
    started: std::sync::mpsc::Sender<String>,
) -> impl waitress_rs::app::App {
    use waitress_rs::app::{AppError, Request, Response};
    let started = Mutex::new(started);
    move |req: &mut Request, res: &mut Response<'_>| -> Result<(), AppError> {
        let path = req.environ.get("PATH_INFO").unwrap_or("").to_owned();
        let _ = started.lock().unwrap().send(path.clone());
        std::thread::sleep(delay);
        res.start("200 OK", vec![])?;
        res.send(format!("done {path}").as_bytes())
    }
}

/// CPU time (user + system, in clock ticks) process `pid` has used (Linux).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Open file descriptors of process `pid` (Linux).
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Open temp files of process `pid` (Linux): the server's are unlinked at once, so their link
/// ends in "(deleted)".
pub fn deleted_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|p| p.to_string_lossy().ends_with("(deleted)"))
                .count()
        })
        .unwrap_or(0)
}

/// Threads of process `pid` (Linux).
pub fn thread_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Resident memory of process `pid` in KiB (Linux).
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// The most resident memory process `pid` has had, in KiB (Linux): catches a peak that a
/// sampled [`rss_kib`] misses because large buffers are returned to the system when freed.
pub fn peak_rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A fresh temporary directory for a test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Parses the echo app's body: one flat JSON object of string values, in order.
pub fn echo_environ(body: &[u8]) -> Vec<(String, String)> {
    json_pairs(std::str::from_utf8(body).expect("echo body is UTF-8"))
}

/// The value of `key` in an echo environ.
pub fn env_get<'a>(environ: &'a [(String, String)], key: &str) -> Option<&'a str> {
    environ
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Asserts the server closed `stream`.
pub fn expect_closed(stream: &mut TcpStream) {
    assert!(is_closed(stream), "the server kept the connection open");
}

/// A keep-alive client connection: one buffered reader over the socket, so responses that
/// arrive together are all kept.
pub struct Conn {
    /// The buffered read side.
    pub reader: BufReader<TcpStream>,
    /// The write side (a clone of the same socket).
    pub writer: TcpStream,
}

impl Conn {
    /// Connects to `addr`.
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = connect(addr);
        let writer = stream.try_clone().expect("clone socket");
        Conn {
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send");
    }

    /// Reads one response (`head`: it answers a HEAD request).
    pub fn response(&mut self, head: bool) -> Response {
        read_response(&mut self.reader, head)
    }

    /// Sends `bytes` and reads one response.
    pub fn roundtrip(&mut self, bytes: &[u8]) -> Response {
        self.send(bytes);
        self.response(bytes.starts_with(b"HEAD "))
    }

    /// Whether the server closed the connection with nothing more to read; panics if more
    /// bytes arrive (an unexpected extra response).
    pub fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                assert!(rest.is_empty(), "unexpected bytes: {:?}", latin1(&rest));
                return false;
            }
            Err(e) => panic!("read: {e}"),
        }
        assert!(
            rest.is_empty(),
            "unexpected bytes after the response: {:?}",
            latin1(&rest)
        );
        true
    }

    /// Whether the connection is still open: a simple GET on it is answered (the whole
    /// response is read).
    pub fn still_open(&mut self) -> bool {
        if self
            .writer
            .write_all(b"GET /still-open HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .is_err()
        {
            return false;
        }
        match self.reader.fill_buf() {
            Ok(buf) if buf.starts_with(b"HTTP/1.1 ") => {}
            Ok([]) => return false,
            Ok(buf) => panic!("unexpected bytes: {:?}", latin1(buf)),
            Err(_) => return false,
        }
        // Read the whole response so the connection can be used again.
        read_response(&mut self.reader, false);
        true
    }
}

/// Bytes as latin-1 text (for messages).
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// waitress's error body for `reason` and `detail` (ident `waitress`).
pub fn error_body(reason: &str, detail: &str) -> String {
    format!("{reason}\r\n\r\n{detail}\r\n\r\n(generated by waitress)")
}

/// Asserts `res` is one of waitress's own error responses with `status` and, when given, the
/// exact `detail`: text/plain UTF-8, `Connection: close`, a matching `Content-Length`, Date and
/// Server.
pub fn assert_error(res: &Response, status: u16, detail: Option<&str>, context: &str) {
    assert_eq!(res.status, status, "{context}: {}", res.summary());
    assert_eq!(
        res.header("Content-Type"),
        Some("text/plain; charset=utf-8"),
        "{context}: {}",
        res.summary()
    );
    assert_eq!(
        res.header("Connection"),
        Some("close"),
        "{context}: {}",
        res.summary()
    );
    assert_eq!(
        res.header("Content-Length"),
        Some(res.body.len().to_string().as_str()),
        "{context}"
    );
    assert!(res.header("Date").is_some(), "{context}: no Date");
    // Exactly waitress's header set, each once (waitress's test_broken_chunked_encoding; on a
    // 1.0 keep-alive request waitress also repeats Connection, waitress-rs does not).
    let mut names: Vec<String> = res
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "connection",
            "content-length",
            "content-type",
            "date",
            "server"
        ],
        "{context}: {}",
        res.summary()
    );
    assert_eq!(res.header("Server"), Some("waitress"), "{context}");
    let reason = res
        .status_line
        .splitn(3, ' ')
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    let text = res.text();
    match detail {
        Some(detail) => assert_eq!(text, error_body(&reason, detail), "{context}"),
        None => {
            assert!(
                text.starts_with(&format!("{reason}\r\n\r\n"))
                    && text.ends_with("\r\n\r\n(generated by waitress)"),
                "{context}: body {text:?}"
            );
        }
    }
}

/// Parses a flat JSON object of string values (what the echo app writes) into its pairs, in
/// order. Panics on anything else.
pub fn json_pairs(text: &str) -> Vec<(String, String)> {
    let mut chars = text.trim().chars().peekable();
    let mut out = Vec::new();
    assert_eq!(chars.next(), Some('{'), "not an object: {text}");
    if chars.peek() == Some(&'}') {
        return out;
    }
    loop {
        let key = json_string(&mut chars);
        assert_eq!(chars.next(), Some(':'), "{text}");
        let value = json_string(&mut chars);
        out.push((key, value));
        match chars.next() {
            Some(',') => continue,
            Some('}') => break,
            other => panic!("unexpected {other:?} in {text}"),
        }
    }
    assert!(chars.next().is_none(), "trailing data in {text}");
    out
}

fn json_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    assert_eq!(chars.next(), Some('"'), "expected a string");
    let mut s = String::new();
    loop {
        match chars.next().expect("unterminated string") {
            '"' => return s,
            '\\' => match chars.next().expect("escape") {
                '"' => s.push('"'),
                '\\' => s.push('\\'),
                '/' => s.push('/'),
                'n' => s.push('\n'),
                'r' => s.push('\r'),
                't' => s.push('\t'),
                'b' => s.push('\u{8}'),
                'f' => s.push('\u{c}'),
                'u' => {
                    let hex: String = (0..4).map(|_| chars.next().expect("hex")).collect();
                    let code = u32::from_str_radix(&hex, 16).expect("hex escape");
                    s.push(char::from_u32(code).expect("scalar"));
                }
                c => panic!("bad escape \\{c}"),
            },
            c => s.push(c),
        }
    }
}

/// The echo app's JSON as a lookup table (first value of each key).
pub struct Echoed(pub Vec<(String, String)>);

impl Echoed {
    /// Parses the echo app's response body.
    pub fn parse(res: &Response) -> Echoed {
        Echoed(json_pairs(&res.text()))
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The request body as the app read it.
    pub fn body(&self) -> &str {
        self.get("body").expect("body key")
    }
}

/// A server run in this process on a thread, for apps the binary cannot host (slow apps,
/// failing apps, apps that count what they wrote). Shut down and joined when dropped.
pub struct InProcess {
    /// The first listener's address.
    pub addr: SocketAddr,
    handle: waitress_rs::server::ShutdownHandle,
    thread: Option<std::thread::JoinHandle<Result<(), waitress_rs::server::ServeError>>>,
}

impl InProcess {
    /// Binds `127.0.0.1:0` with the extra settings flags and serves `app`.
    pub fn start(flags: &[&str], app: Arc<dyn waitress_rs::app::App>) -> InProcess {
        let mut args = vec!["waitress-rs", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        let inv = waitress_rs::settings::cli::parse(args).expect("flags parse");
        let loaded = waitress_rs::settings::load(&inv).expect("settings load");
        let server = waitress_rs::server::Server::bind(&loaded.resolved.settings, app)
            .expect("bind in-process server");
        let addr = server.local_addrs()[0];
        let handle = server.shutdown_handle();
        let thread = std::thread::spawn(move || server.run());
        InProcess {
            addr,
            handle,
            thread: Some(thread),
        }
    }

    /// [`InProcess::start`] for an app not yet behind an `Arc`.
    pub fn serve(flags: &[&str], app: impl waitress_rs::app::App) -> InProcess {
        Self::start(flags, Arc::new(app))
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts a graceful shutdown without waiting for it.
    pub fn begin_shutdown(&self) {
        self.handle.shutdown();
    }

    /// Shuts down and waits for `run` to return `Ok`; panics otherwise.
    pub fn stop(self) {
        assert!(
            self.stop_within(Duration::from_secs(40)),
            "the server did not stop cleanly"
        );
    }

    /// Shuts down and waits up to `timeout` for `run` to return; true if it returned `Ok`.
    pub fn stop_within(mut self, timeout: Duration) -> bool {
        self.handle.shutdown();
        let thread = self.thread.take().expect("running");
        let deadline = Instant::now() + timeout;
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        matches!(thread.join(), Ok(Ok(())))
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.handle.shutdown();
            let _ = thread.join();
        }
    }
}

/// The echo app's JSON value for `key`.
pub fn echo_value(body: &str, key: &str) -> Option<String> {
    env_get(&json_pairs(body), key).map(str::to_owned)
}
