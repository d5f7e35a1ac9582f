//! Response heads: which framing a response gets, whether the connection stays open, and the
//! bytes of the status line and headers.
//!
//! Where this differs from waitress on purpose (design.md): header names go out as the app
//! gave them (not re-cased or sorted); an HTTP/1.1 response of unknown length is chunked and
//! the connection kept; 1xx/204/304 get no body and no framing header but keep the connection;
//! a HEAD response gets GET's headers and never a body.

use super::request::Version;

/// The interim response sent before reading a body the client is holding back
/// (`Expect: 100-continue`), with no headers, as waitress sends it.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The last chunk and the empty trailer section that end a chunked response.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Room for a chunk-size line: up to 16 hex digits (a u64) and CRLF.
pub const CHUNK_HEADER_MAX: usize = 18;

/// What the request tells the response framer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseContext {
    /// The request's version; the response uses the same.
    pub version: Version,
    /// Whether the request method is HEAD: same headers as GET, no body.
    pub head_request: bool,
    /// Whether the client allows the connection to stay open ([`super::request::Head::keep_alive`]).
    pub keep_alive: bool,
    /// Whether the server closes anyway (framing error after the head, shutdown, ...).
    pub force_close: bool,
}

/// How the response body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body is sent (HEAD, 1xx, 204, 304).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding: [`chunk_header`] before each part, [`LAST_CHUNK`] at the end.
    Chunked,
    /// The body ends when the connection closes (HTTP/1.0 with no known length).
    UntilClose,
}

/// The decided response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Status line, headers and the empty line.
    pub head: Vec<u8>,
    /// How the body goes out.
    pub body: BodyFraming,
    /// Whether to close the connection once the response is sent.
    pub close: bool,
}

/// Whether a status never carries a body (RFC 9110 §6.4.1: 1xx, 204, 304). Decided on the
/// status string's first three bytes, as waitress's prefix test does.
pub fn status_has_body(status: &str) -> bool {
    let code = status.as_bytes().get(..3).unwrap_or_default();
    !(code.first() == Some(&b'1') || code == b"204" || code == b"304")
}

/// Plans the response head.
///
/// `status` is the app's status (`"200 OK"`), sent verbatim; `headers` are the app's, already
/// checked by the app layer (no CR/LF, token names, no hop-by-hop headers), sent in order and
/// spelling; values are written latin-1. `length` is the body length if known (it already
/// reflects an app `Content-Length`). `ident` is the `ident` setting; `date` the current
/// IMF-fixdate.
pub fn plan(
    req: &ResponseContext,
    status: &str,
    headers: &[(String, String)],
    length: Option<u64>,
    ident: Option<&str>,
    date: &str,
) -> Plan {
    let ident = ident.filter(|i| !i.is_empty());
    let has_body = status_has_body(status);
    // What a GET would get; HEAD sends the same headers without the body.
    let framing = match (has_body, length, req.version) {
        (false, _, _) => BodyFraming::None,
        (true, Some(n), _) => BodyFraming::Length(n),
        (true, None, Version::Http11) => BodyFraming::Chunked,
        (true, None, Version::Http10) => BodyFraming::UntilClose,
    };
    let close = !req.keep_alive || req.force_close || framing == BodyFraming::UntilClose;

    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(req.version.as_str().as_bytes());
    head.push(b' ');
    push_latin1(&mut head, status);
    head.extend_from_slice(b"\r\n");

    let mut app_date = false;
    let mut app_server = false;
    let mut app_length = false;
    for (name, value) in headers {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("content-length") {
            // Only kept when it describes the body being sent; once.
            if !matches!(framing, BodyFraming::Length(_)) || app_length {
                continue;
            }
            app_length = true;
        } else if is("transfer-encoding") || is("connection") {
            // Framing and connection management are the server's (the app layer refuses
            // these hop-by-hop headers; this keeps the head consistent regardless).
            continue;
        } else if is("date") {
            app_date = true;
        } else if is("server") {
            app_server = true;
        }
        push_header(&mut head, name, value);
    }
    match framing {
        BodyFraming::Length(n) if !app_length => {
            push_header(&mut head, "Content-Length", &n.to_string());
        }
        BodyFraming::Chunked => push_header(&mut head, "Transfer-Encoding", "chunked"),
        _ => {}
    }
    if close {
        push_header(&mut head, "Connection", "close");
    } else if req.version == Version::Http10 {
        push_header(&mut head, "Connection", "Keep-Alive");
    }
    if !app_date {
        push_header(&mut head, "Date", date);
    }
    if let Some(ident) = ident {
        // waitress: the app's own Server header wins, and the server names itself in Via.
        push_header(&mut head, if app_server { "Via" } else { "Server" }, ident);
    }
    head.extend_from_slice(b"\r\n");

    Plan {
        head,
        body: if req.head_request {
            BodyFraming::None
        } else {
            framing
        },
        close,
    }
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    push_latin1(out, name);
    out.extend_from_slice(b": ");
    push_latin1(out, value);
    out.extend_from_slice(b"\r\n");
}

/// Writes a string as latin-1 (the app layer guarantees every char is at most U+00FF; a
/// character beyond that, which cannot be sent, becomes `?`).
fn push_latin1(out: &mut Vec<u8>, s: &str) {
    if s.is_ascii() {
        out.extend_from_slice(s.as_bytes());
    } else {
        out.extend(s.chars().map(|c| u8::try_from(c).unwrap_or(b'?')));
    }
}

/// Writes the chunk-size line `{len:X}\r\n` into `buf` without allocating and returns it.
pub fn chunk_header(len: usize, buf: &mut [u8; CHUNK_HEADER_MAX]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut digits = [0u8; 16];
    let mut n = len as u64;
    let mut count = 0;
    loop {
        digits[count] = HEX[(n & 0xf) as usize];
        count += 1;
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    for (slot, d) in buf.iter_mut().zip(digits[..count].iter().rev()) {
        *slot = *d;
    }
    buf[count] = b'\r';
    buf[count + 1] = b'\n';
    &buf[..count + 2]
}
