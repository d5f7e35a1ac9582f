//! The application contract: WSGI-shaped, so a Python WSGI app fits behind it unchanged.
//!
//! The server calls [`App::call`] on a worker thread with a [`Request`] (an [`Environ`] of
//! CGI-style keys and a [`Body`] to read) and a [`Response`] to answer through. The app sets the
//! status and headers with [`Response::start`] (as often as it likes until the first body
//! byte), then sends the body as parts ([`Response::write`]), as one known-length piece
//! ([`Response::send`]) or as a file ([`Response::send_file`]).

pub mod builtin;
pub mod echo;
pub mod environ;
pub mod static_files;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use environ::Environ;

/// The error an application returns; the server answers 500 and logs it. With
/// `expose_tracebacks` its `Display` text (for Python, the formatted traceback) goes in the body.
pub type AppError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A web application, called once per request on one of the `threads` workers.
pub trait App: Send + Sync + 'static {
    /// Handles one request. Returning `Err` before the first body byte gives a 500; after it,
    /// the response is cut short and the connection closed, unless the whole response already
    /// went out (every byte of its Content-Length, or a response without a body), which
    /// stands, with the connection kept (the error is logged either way).
    fn call(&self, req: &mut Request, res: &mut Response<'_>) -> Result<(), AppError>;

    /// Runs one worker thread's whole life: `work` takes requests until the server is done.
    /// The default just calls it. An app that needs per-thread setup wraps it: the Python
    /// bridge attaches the thread to the interpreter once here (so `threading.local` survives
    /// between requests) and releases the GIL around `work`.
    fn run_worker(&self, work: &mut (dyn FnMut() + Send)) {
        work();
    }
}

impl<F> App for F
where
    F: Fn(&mut Request, &mut Response<'_>) -> Result<(), AppError> + Send + Sync + 'static,
{
    fn call(&self, req: &mut Request, res: &mut Response<'_>) -> Result<(), AppError> {
        self(req, res)
    }
}

/// An app from a closure, with its argument types inferred (a bare closure given to
/// `Arc::new` needs them written out).
pub fn from_fn<F>(f: F) -> Arc<dyn App>
where
    F: Fn(&mut Request, &mut Response<'_>) -> Result<(), AppError> + Send + Sync + 'static,
{
    Arc::new(f)
}

/// One request as the app sees it.
#[derive(Debug)]
pub struct Request {
    /// CGI-style keys: `REQUEST_METHOD`, `PATH_INFO`, `HTTP_*`, `wsgi.url_scheme`, ...
    pub environ: Environ,
    /// The request body, already de-chunked; `CONTENT_LENGTH` is its length.
    pub body: Body,
    /// Whether the client is still there (waitress's `waitress.client_disconnected`).
    pub client: ClientStatus,
}

impl Request {
    /// A request with `environ` and `body` and no client to lose, as for tests.
    pub fn new(environ: Environ, body: Body) -> Self {
        Request {
            environ,
            body,
            client: ClientStatus::default(),
        }
    }
}

/// What the server knows of a request's client while the app runs: an app doing long work
/// can ask and stop early. Cheap to ask and to clone; a clone may outlive the request.
///
/// It turns true, for good, when the connection fails (a reset, a write that fails) or is
/// closed, and when the client ends its side of the connection while the server reads ahead
/// (`channel_request_lookahead` above 0). As in waitress, with no lookahead the socket is not
/// read while a request runs, so a client that closed is noticed only when a write fails.
/// Unlike waitress, a client that ends only its sending side still gets the response if the
/// app gives one.
#[derive(Debug, Clone, Default)]
pub struct ClientStatus(Option<Arc<AtomicBool>>);

impl ClientStatus {
    /// The status the server keeps in `gone`. (`ClientStatus::default()` is never
    /// disconnected: for apps called without a server.)
    pub fn new(gone: Arc<AtomicBool>) -> Self {
        ClientStatus(Some(gone))
    }

    /// Whether the client is gone.
    pub fn disconnected(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|gone| gone.load(Ordering::Relaxed))
    }
}

/// A request body: bytes in memory, or an unnamed temp file once it passed `inbuf_overflow`.
#[derive(Debug)]
pub struct Body {
    source: BodySource,
    len: u64,
}

#[derive(Debug)]
enum BodySource {
    Memory(io::Cursor<Vec<u8>>),
    File(File),
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Body::from_bytes(Vec::new())
    }

    /// A body held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Body {
            len: bytes.len() as u64,
            source: BodySource::Memory(io::Cursor::new(bytes)),
        }
    }

    /// A body spooled to `file`, `len` bytes long; reading starts at the file's beginning.
    pub fn from_file(mut file: File, len: u64) -> io::Result<Self> {
        file.seek(SeekFrom::Start(0))?;
        Ok(Body {
            source: BodySource::File(file),
            len,
        })
    }

    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the body spilled to a temp file.
    pub fn is_spooled(&self) -> bool {
        matches!(self.source, BodySource::File(_))
    }

    /// Reads the rest of the body into memory.
    pub fn read_all(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0).min(1 << 20));
        self.read_to_end(&mut out)?;
        Ok(out)
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.source {
            BodySource::Memory(cursor) => cursor.read(buf),
            BodySource::File(file) => file.read(buf),
        }
    }
}

/// A body can be read again: waitress hands apps a `BytesIO` or a temp file, and middleware
/// that reads the body and rewinds it for the app (`seek(0)`) relies on that.
impl Seek for Body {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match &mut self.source {
            BodySource::Memory(cursor) => cursor.seek(pos),
            BodySource::File(file) => file.seek(pos),
        }
    }
}

/// Where a response goes: implemented by the server, which frames it for the wire.
///
/// Calls arrive in order: one `head`, then any number of `data` and `file` calls, then
/// `finish`. A `head` is sent only once the app commits to it (first body byte, or the end).
pub trait Sink {
    /// Sends the status line and headers. `length` is the body length when the app made it
    /// known before the first byte (its `Content-Length`, a single-part body, or a file).
    fn head(
        &mut self,
        status: &str,
        headers: &[(String, String)],
        length: Option<u64>,
    ) -> io::Result<()>;
    /// Sends part of the body. May block while the client is slower than the app
    /// (`outbuf_high_watermark`). An error means the client is gone.
    fn data(&mut self, data: &[u8]) -> io::Result<()>;
    /// Sends `len` bytes of `file` from its current position, without copying through the
    /// app where the platform allows.
    fn file(&mut self, file: File, len: u64) -> io::Result<()>;
    /// Sends the head now if it is being held for the first body bytes (the server holds it,
    /// to send both in one write).
    fn flush_head(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Why [`Response::start`] refused a status or header.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResponseError {
    /// The status line is not `NNN reason`, with NNN from 100 to 599.
    #[error("status {0:?} is not a code from 100 to 599 followed by a reason")]
    BadStatus(String),
    /// A 1xx status: an interim response, which a final response must follow (RFC 9110
    /// §15.2). Sent as the answer, the client would take the next response for this
    /// request's, and an HTTP/1.0 client may not get one at all.
    #[error("status {0:?} is an interim (1xx) response; an application gives the final one")]
    InterimStatus(String),
    /// CR or LF in the status, a header name or a header value (response splitting).
    #[error("carriage return/line feed character present in {0}")]
    LineBreak(&'static str),
    /// A header name that is not an HTTP token.
    #[error("header name {0:?} is not a valid HTTP token")]
    BadHeaderName(String),
    /// A header value with control characters, or characters past Latin-1 (header text goes
    /// out as Latin-1, as waitress encodes it).
    #[error(
        "header {name} has a value {value:?} with control characters or characters outside \
             Latin-1"
    )]
    BadHeaderValue {
        /// The header's name.
        name: String,
        /// The value refused.
        value: String,
    },
    /// A hop-by-hop header, which only the server may set (PEP 3333).
    #[error(
        "{0} is a \"hop-by-hop\" header; it cannot be used by a WSGI application (see PEP 3333)"
    )]
    HopByHop(String),
    /// A `Content-Length` that is not a decimal number.
    #[error("Content-Length {0:?} is not a number")]
    BadContentLength(String),
    /// Two different `Content-Length`s: the head would announce one length and the body
    /// follow the other, desynchronising the connection.
    #[error("two different Content-Lengths, {0:?} and {1:?}")]
    ConflictingContentLength(String, String),
    /// `start` after the first body byte went out.
    #[error("response headers were already sent")]
    AlreadySent,
    /// Body before `start`.
    #[error("start was not called before the body was written")]
    NotStarted,
    /// A second [`Response::send`] or [`Response::send_file`]: each gives the whole body.
    #[error("the whole body was already given by send or send_file")]
    BodyComplete,
}

/// Hop-by-hop headers an application may not set (PEP 3333), as waitress's main branch checks
/// them. 3.0.2 lists `trailers` (RFC 2616's spelling), so there `Trailer` gets through; the
/// server never sends trailers, so an app's `Trailer` would announce fields that never come.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The app's side of a response: status and headers, then the body.
pub struct Response<'a> {
    sink: &'a mut dyn Sink,
    status: Option<String>,
    headers: Vec<(String, String)>,
    content_length: Option<u64>,
    committed: bool,
    /// Whether `send` gave the whole body, after which nothing more may follow.
    complete: bool,
}

impl<'a> Response<'a> {
    /// A response that goes to `sink`.
    pub fn new(sink: &'a mut dyn Sink) -> Self {
        Response {
            sink,
            status: None,
            headers: Vec::new(),
            content_length: None,
            committed: false,
            complete: false,
        }
    }

    /// Sets the status (`"200 OK"`) and headers. May be called again, replacing both, until
    /// the first body byte is sent.
    pub fn start(
        &mut self,
        status: impl Into<String>,
        headers: Vec<(String, String)>,
    ) -> Result<(), ResponseError> {
        if self.committed {
            return Err(ResponseError::AlreadySent);
        }
        let status = status.into();
        check_status(&status)?;
        let mut content_length: Option<u64> = None;
        for (name, value) in &headers {
            check_header(name, value)?;
            if name.eq_ignore_ascii_case("content-length") {
                let n = crate::http::parse_decimal(value.as_bytes())
                    .ok_or_else(|| ResponseError::BadContentLength(value.clone()))?;
                // Identical repeats are harmless.
                if let Some(prev) = content_length.filter(|&prev| prev != n) {
                    return Err(ResponseError::ConflictingContentLength(
                        prev.to_string(),
                        value.clone(),
                    ));
                }
                content_length = Some(n);
            }
        }
        self.status = Some(status);
        self.headers = headers;
        self.content_length = content_length;
        Ok(())
    }

    /// Sends the status and headers now, before any body, for a stream whose first part comes
    /// later (server-sent events): the client sees the response begin. The length is then
    /// unknown unless a `Content-Length` header gives it (chunked on HTTP/1.1). Without this
    /// the head goes with the first body bytes.
    pub fn send_head(&mut self) -> Result<(), AppError> {
        self.commit(None)?;
        self.sink.flush_head()?;
        Ok(())
    }

    /// Whether the head has gone to the client (after which `start` is refused).
    pub fn is_committed(&self) -> bool {
        self.committed
    }

    /// The status set by the last `start`, if any.
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    /// Writes part of the body. Empty parts are skipped, so headers wait for the first byte.
    pub fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        if data.is_empty() {
            return Ok(());
        }
        self.commit(None)?;
        self.sink.data(data)?;
        Ok(())
    }

    /// Sends `data` as the whole body, so its length is known up front. Parts written before
    /// are kept and this one follows them. A second `send` is an error; bytes written after it
    /// pass the announced length and are dropped with a warning, as waitress drops them.
    pub fn send(&mut self, data: &[u8]) -> Result<(), AppError> {
        if self.complete {
            return Err(ResponseError::BodyComplete.into());
        }
        // Complete only once committed: a send refused for want of a status may be retried.
        self.commit(Some(data.len() as u64))?;
        self.complete = true;
        if !data.is_empty() {
            self.sink.data(data)?;
        }
        Ok(())
    }

    /// Sends `len` bytes of `file` from its current position as the body: the whole body, as
    /// [`Response::send`] gives it.
    pub fn send_file(&mut self, file: File, len: u64) -> Result<(), AppError> {
        if self.complete {
            return Err(ResponseError::BodyComplete.into());
        }
        self.commit(Some(len))?;
        self.complete = true;
        self.sink.file(file, len)?;
        Ok(())
    }

    /// Ends the response: sends the head if nothing was sent yet (an empty body).
    pub fn finish(&mut self) -> Result<(), AppError> {
        if !self.committed {
            self.commit(Some(0))?;
        }
        Ok(())
    }

    fn commit(&mut self, known_length: Option<u64>) -> Result<(), AppError> {
        if self.committed {
            return Ok(());
        }
        let status = self.status.as_deref().ok_or(ResponseError::NotStarted)?;
        // An app-given Content-Length wins over what the server could work out: a mismatch is
        // the app's to answer for (short bodies close the connection, long ones are cut).
        let length = self.content_length.or(known_length);
        self.sink.head(status, &self.headers, length)?;
        self.committed = true;
        Ok(())
    }
}

fn check_status(status: &str) -> Result<(), ResponseError> {
    if status.contains(['\r', '\n']) {
        return Err(ResponseError::LineBreak("status"));
    }
    let bytes = status.as_bytes();
    let well_formed = match bytes {
        // 100-599 (RFC 9110 §15): waitress sends `000` or `999` as given.
        [a, b, c, rest @ ..] => {
            (b'1'..=b'5').contains(a)
                && [b, c].iter().all(|d| d.is_ascii_digit())
                && matches!(rest.first(), None | Some(b' '))
        }
        _ => false,
    };
    // Sent latin-1 encoded, like header values: a character past U+00FF cannot be sent
    // (waitress: UnicodeEncodeError, so a 500).
    if !well_formed
        || status
            .chars()
            .any(|c| (c.is_control() && c != '\t') || u32::from(c) > 0xff)
    {
        return Err(ResponseError::BadStatus(status.to_owned()));
    }
    if bytes[0] == b'1' {
        return Err(ResponseError::InterimStatus(status.to_owned()));
    }
    Ok(())
}

fn check_header(name: &str, value: &str) -> Result<(), ResponseError> {
    // Nearly every header is a token name and a printable-ASCII value: one pass over the bytes
    // each, and the hop-by-hop list, instead of the char-by-char checks below that tell which
    // error it is (they were 600 instructions per response in callgrind).
    let printable = |b: u8| (0x20..0x7f).contains(&b) || b == b'\t';
    if !name.is_empty()
        && name.bytes().all(crate::http::is_tchar)
        && value.bytes().all(printable)
        && !HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
    {
        return Ok(());
    }
    if name.contains(['\r', '\n']) {
        return Err(ResponseError::LineBreak("header name"));
    }
    if value.contains(['\r', '\n']) {
        return Err(ResponseError::LineBreak("header value"));
    }
    if name.is_empty() || !name.bytes().all(crate::http::is_tchar) {
        return Err(ResponseError::BadHeaderName(name.to_owned()));
    }
    // Values go out latin-1 encoded: anything past U+00FF cannot be sent, control chars must not.
    if value
        .chars()
        .any(|c| (c.is_control() && c != '\t') || u32::from(c) > 0xff)
    {
        return Err(ResponseError::BadHeaderValue {
            name: name.to_owned(),
            value: value.to_owned(),
        });
    }
    if HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
        return Err(ResponseError::HopByHop(name.to_owned()));
    }
    Ok(())
}

/// Testing an app without a server: [`testing::respond`] calls it as a worker would and returns what it
/// sent.
///
/// ```
/// use waitress_rs::app::testing::respond;
/// use waitress_rs::app::{Body, Environ, Request, from_fn};
///
/// let app = from_fn(|req, res| {
///     let name = req.environ.get("PATH_INFO").unwrap_or("/").to_owned();
///     res.start("200 OK", vec![("Content-Type".into(), "text/plain".into())])?;
///     res.send(format!("hello {name}").as_bytes())
/// });
/// let mut environ = Environ::new();
/// environ.push("REQUEST_METHOD", "GET");
/// environ.push("PATH_INFO", "/you");
/// let sent = respond(&*app, &mut Request::new(environ, Body::empty())).unwrap();
/// assert_eq!(sent.status(), Some("200 OK"));
/// assert_eq!(sent.body, b"hello /you");
/// ```
pub mod testing {
    use super::*;

    /// Status, headers and the length the response made known.
    pub type Head = (String, Vec<(String, String)>, Option<u64>);

    /// Everything an app sent: a [`Sink`] that records what it is given.
    #[derive(Debug, Default)]
    pub struct Capture {
        /// The status, headers and known length, once the head was sent.
        pub head: Option<Head>,
        /// The body bytes, files included.
        pub body: Vec<u8>,
    }

    impl Capture {
        /// The status sent, if the head was.
        pub fn status(&self) -> Option<&str> {
            self.head.as_ref().map(|(status, _, _)| status.as_str())
        }

        /// The first header named `name` (case-insensitive) the app sent.
        pub fn header(&self, name: &str) -> Option<&str> {
            let (_, headers, _) = self.head.as_ref()?;
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// Calls `app` with `req` and ends the response, as a worker does: what it sent, or the
    /// error the server would log and answer with a 500 (a panic is not caught here).
    pub fn respond(app: &dyn App, req: &mut Request) -> Result<Capture, AppError> {
        let mut sink = Capture::default();
        let mut res = Response::new(&mut sink);
        app.call(req, &mut res)?;
        res.finish()?;
        Ok(sink)
    }

    impl Sink for Capture {
        fn head(
            &mut self,
            status: &str,
            headers: &[(String, String)],
            length: Option<u64>,
        ) -> io::Result<()> {
            self.head = Some((status.to_owned(), headers.to_vec(), length));
            Ok(())
        }
        fn data(&mut self, data: &[u8]) -> io::Result<()> {
            self.body.extend_from_slice(data);
            Ok(())
        }
        fn file(&mut self, mut file: File, len: u64) -> io::Result<()> {
            (&mut file).take(len).read_to_end(&mut self.body)?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Capture;
    use super::*;

    fn h(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn start_may_repeat_until_the_first_byte() {
        let mut sink = Capture::default();
        let mut res = Response::new(&mut sink);
        res.start("200 OK", vec![h("X-A", "1")]).unwrap();
        res.start("500 Oops", vec![h("X-B", "2")]).unwrap();
        res.write(b"").unwrap();
        res.write(b"abc").unwrap();
        assert_eq!(res.start("200 OK", vec![]), Err(ResponseError::AlreadySent));
        res.finish().unwrap();
        let (status, headers, length) = sink.head.unwrap();
        assert_eq!(status, "500 Oops");
        assert_eq!(headers, vec![h("X-B", "2")]);
        assert_eq!(length, None);
        assert_eq!(sink.body, b"abc");
    }

    #[test]
    fn send_makes_the_length_known() {
        let mut sink = Capture::default();
        let mut res = Response::new(&mut sink);
        res.start("200 OK", vec![]).unwrap();
        res.send(b"hello").unwrap();
        assert_eq!(sink.head.unwrap().2, Some(5));
    }

    #[test]
    fn a_body_refused_before_start_can_be_given_after_it() {
        let not_started =
            |e: AppError| e.downcast_ref::<ResponseError>() == Some(&ResponseError::NotStarted);
        let mut sink = Capture::default();
        let mut res = Response::new(&mut sink);
        assert!(not_started(res.send(b"early").unwrap_err()));
        let file = tempfile::tempfile().unwrap();
        assert!(not_started(res.send_file(file, 0).unwrap_err()));
        res.start("200 OK", vec![]).unwrap();
        res.send(b"body").unwrap();
        res.finish().unwrap();
        assert_eq!(sink.body, b"body");
        assert_eq!(sink.head.map(|(_, _, length)| length), Some(Some(4)));
    }

    #[test]
    fn nothing_follows_a_whole_body() {
        let complete =
            |e: AppError| e.downcast_ref::<ResponseError>() == Some(&ResponseError::BodyComplete);
        let mut sink = Capture::default();
        let mut res = Response::new(&mut sink);
        res.start("200 OK", vec![]).unwrap();
        res.write(b"a").unwrap();
        res.send(b"bc").unwrap();
        assert!(complete(res.send(b"d").unwrap_err()));
        let file = tempfile::tempfile().unwrap();
        assert!(complete(res.send_file(file, 0).unwrap_err()));
        res.finish().unwrap();
        assert_eq!(sink.body, b"abc");

        let mut sink = Capture::default();
        let mut res = Response::new(&mut sink);
        res.start("200 OK", vec![]).unwrap();
        res.send_file(tempfile::tempfile().unwrap(), 0).unwrap();
        assert!(complete(res.send(b"x").unwrap_err()));
    }

    #[test]
    fn an_unanswered_response_has_an_empty_body() {
        let mut sink = Capture::default();
        let mut res = Response::new(&mut sink);
        res.start("204 No Content", vec![]).unwrap();
        res.finish().unwrap();
        assert_eq!(sink.head.unwrap().2, Some(0));
    }

    #[test]
    fn the_app_content_length_wins() {
        let mut sink = Capture::default();
        let mut res = Response::new(&mut sink);
        res.start("200 OK", vec![h("content-length", "10")])
            .unwrap();
        res.send(b"abc").unwrap();
        assert_eq!(sink.head.unwrap().2, Some(10));
    }

    #[test]
    fn response_splitting_and_bad_headers_are_refused() {
        let mut sink = Capture::default();
        let mut res = Response::new(&mut sink);
        let cases = [
            ("200 OK\r\nX: y", vec![], ResponseError::LineBreak("status")),
            ("OK", vec![], ResponseError::BadStatus("OK".into())),
            ("20 OK", vec![], ResponseError::BadStatus("20 OK".into())),
            (
                "000 Zero",
                vec![],
                ResponseError::BadStatus("000 Zero".into()),
            ),
            ("600 X", vec![], ResponseError::BadStatus("600 X".into())),
            ("999", vec![], ResponseError::BadStatus("999".into())),
            (
                "100 Continue",
                vec![],
                ResponseError::InterimStatus("100 Continue".into()),
            ),
            (
                "101 Switching Protocols",
                vec![],
                ResponseError::InterimStatus("101 Switching Protocols".into()),
            ),
            (
                "200 Ok\u{20ac}",
                vec![],
                ResponseError::BadStatus("200 Ok\u{20ac}".into()),
            ),
            (
                "200 OK",
                vec![h("X\r\nY", "v")],
                ResponseError::LineBreak("header name"),
            ),
            (
                "200 OK",
                vec![h("X", "v\nY: z")],
                ResponseError::LineBreak("header value"),
            ),
            (
                "200 OK",
                vec![h("X Y", "v")],
                ResponseError::BadHeaderName("X Y".into()),
            ),
            (
                "200 OK",
                vec![h("X", "a\0b")],
                ResponseError::BadHeaderValue {
                    name: "X".into(),
                    value: "a\0b".into(),
                },
            ),
            (
                "200 OK",
                vec![h("Connection", "close")],
                ResponseError::HopByHop("Connection".into()),
            ),
            (
                "200 OK",
                vec![h("Content-Length", "+1")],
                ResponseError::BadContentLength("+1".into()),
            ),
            (
                "200 OK",
                vec![h("Content-Length", "3"), h("content-length", "5")],
                ResponseError::ConflictingContentLength("3".into(), "5".into()),
            ),
        ];
        for (status, headers, want) in cases {
            assert_eq!(res.start(status, headers), Err(want));
        }
        assert!(matches!(
            res.write(b"x").unwrap_err().downcast_ref::<ResponseError>(),
            Some(ResponseError::NotStarted)
        ));
    }
}
