//! Response heads: which framing a response gets, whether the connection stays open, and the
//! bytes of the status line and headers.
//!
//! Where this differs from waitress on purpose (design.md): header names go out as the app
//! gave them (not re-cased or sorted); an HTTP/1.1 response of unknown length is chunked and
//! the connection kept; 204/304 get no body and no framing header but keep the connection (an
//! app's 1xx is refused before it gets here: it is not a final response);
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
    /// Whether the request is a CONNECT: a 2xx answer makes the connection a tunnel for the
    /// client (RFC 9110 §9.3.6), so it goes out with no Content-Length or Transfer-Encoding
    /// (which the client must ignore) and its body ends with the connection.
    pub connect_request: bool,
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
    let tunnel = req.connect_request && status.starts_with('2');
    let framing = match (has_body, length, req.version) {
        (false, _, _) => BodyFraming::None,
        (true, _, _) if tunnel => BodyFraming::UntilClose,
        (true, Some(n), _) => BodyFraming::Length(n),
        (true, None, Version::Http11) => BodyFraming::Chunked,
        (true, None, Version::Http10) => BodyFraming::UntilClose,
    };
    let close = !req.keep_alive || req.force_close || framing == BodyFraming::UntilClose;

    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(req.version.as_str().as_bytes());
    head.push(b' ');
    push_latin1(&mut head, status);
    if status.len() == 3 {
        // RFC 9112 §4: the SP before the (empty) reason phrase is not optional.
        head.push(b' ');
    }
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
            push_header(&mut head, "Content-Length", super::Decimal::new(n).as_str());
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

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "Sun, 22 Nov 2026 03:46:27 GMT";

    fn ctx(version: Version) -> ResponseContext {
        ResponseContext {
            version,
            head_request: false,
            connect_request: false,
            keep_alive: true,
            force_close: false,
        }
    }

    fn hdrs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn text(plan: &Plan) -> String {
        String::from_utf8(plan.head.clone()).unwrap()
    }

    #[test]
    fn known_length_http11() {
        let p = plan(
            &ctx(Version::Http11),
            "200 OK",
            &hdrs(&[("content-type", "text/plain"), ("Content-Length", "14")]),
            Some(14),
            Some("waitress"),
            DATE,
        );
        assert_eq!(
            text(&p),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 14\r\nDate: Sun, 22 Nov 2026 03:46:27 GMT\r\nServer: waitress\r\n\r\n"
        );
        assert_eq!((p.body, p.close), (BodyFraming::Length(14), false));
    }

    #[test]
    fn content_length_added_when_the_app_gave_none() {
        let p = plan(&ctx(Version::Http11), "200 OK", &[], Some(3), None, DATE);
        assert_eq!(
            text(&p),
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nDate: Sun, 22 Nov 2026 03:46:27 GMT\r\n\r\n"
        );
    }

    #[test]
    fn unknown_length_http11_is_chunked_and_kept_open() {
        let p = plan(&ctx(Version::Http11), "200 OK", &[], None, Some("w"), DATE);
        assert!(text(&p).contains("\r\nTransfer-Encoding: chunked\r\n"));
        assert!(!text(&p).contains("Connection"));
        assert_eq!((p.body, p.close), (BodyFraming::Chunked, false));
    }

    #[test]
    fn unknown_length_http10_is_close_delimited() {
        let mut c = ctx(Version::Http10);
        c.keep_alive = true;
        let p = plan(&c, "200 OK", &[], None, Some("w"), DATE);
        let t = text(&p);
        assert!(t.starts_with("HTTP/1.0 200 OK\r\n"));
        assert!(t.contains("\r\nConnection: close\r\n"));
        assert!(!t.contains("Transfer-Encoding"));
        assert!(!t.contains("Keep-Alive"));
        assert_eq!((p.body, p.close), (BodyFraming::UntilClose, true));
    }

    #[test]
    fn a_2xx_to_connect_has_no_framing_headers_and_ends_with_the_connection() {
        let mut c = ctx(Version::Http11);
        c.connect_request = true;
        c.keep_alive = false; // as the parser gives it for CONNECT
        let app = hdrs(&[("Content-Length", "2")]);
        let p = plan(&c, "200 OK", &app, Some(2), None, DATE);
        let t = text(&p);
        assert!(
            !t.contains("Content-Length") && !t.contains("Transfer-Encoding"),
            "{t}"
        );
        assert_eq!((p.body, p.close), (BodyFraming::UntilClose, true));
        // Any other answer is framed as usual, and closes.
        let p = plan(&c, "405 Method Not Allowed", &app, Some(2), None, DATE);
        assert!(text(&p).contains("Content-Length: 2\r\n"));
        assert_eq!((p.body, p.close), (BodyFraming::Length(2), true));
    }

    #[test]
    fn http10_keep_alive_with_known_length() {
        let p = plan(&ctx(Version::Http10), "200 OK", &[], Some(2), None, DATE);
        assert!(text(&p).contains("\r\nConnection: Keep-Alive\r\n"));
        assert_eq!((p.body, p.close), (BodyFraming::Length(2), false));

        let mut c = ctx(Version::Http10);
        c.keep_alive = false;
        let p = plan(&c, "200 OK", &[], Some(2), None, DATE);
        assert!(text(&p).contains("\r\nConnection: close\r\n"));
        assert_eq!((p.body, p.close), (BodyFraming::Length(2), true));
    }

    #[test]
    fn close_requested_or_forced() {
        let mut c = ctx(Version::Http11);
        c.keep_alive = false;
        let p = plan(&c, "200 OK", &[], Some(1), None, DATE);
        assert!(text(&p).contains("\r\nConnection: close\r\n"));
        assert!(p.close);

        let mut c = ctx(Version::Http11);
        c.force_close = true;
        let p = plan(&c, "200 OK", &[], None, None, DATE);
        assert!(text(&p).contains("\r\nConnection: close\r\n"));
        assert_eq!((p.body, p.close), (BodyFraming::Chunked, true));
    }

    #[test]
    fn no_body_statuses() {
        for status in [
            "204 No Content",
            "304 Not Modified",
            "100 Continue",
            "101 Switching",
        ] {
            let p = plan(
                &ctx(Version::Http11),
                status,
                &hdrs(&[("Content-Length", "5"), ("ETag", "\"x\"")]),
                Some(5),
                Some("w"),
                DATE,
            );
            let t = text(&p);
            assert!(!t.contains("Content-Length"), "{status}: {t}");
            assert!(!t.contains("Transfer-Encoding"), "{status}");
            assert!(!t.contains("Connection"), "{status}");
            assert!(t.contains("\r\nETag: \"x\"\r\n"));
            assert_eq!((p.body, p.close), (BodyFraming::None, false), "{status}");

            let p = plan(&ctx(Version::Http11), status, &[], None, None, DATE);
            assert!(!text(&p).contains("Transfer-Encoding"), "{status}");
            assert_eq!((p.body, p.close), (BodyFraming::None, false), "{status}");
        }
        // Only 1xx, 204 and 304 are body-less.
        for status in ["200 OK", "205 Reset Content", "404 Not Found", "500 Oops"] {
            assert!(status_has_body(status), "{status}");
        }
    }

    #[test]
    fn head_gets_get_headers_without_body() {
        for (version, length, want_header, close) in [
            (Version::Http11, Some(14), "Content-Length: 14", false),
            (Version::Http11, None, "Transfer-Encoding: chunked", false),
            (Version::Http10, None, "Connection: close", true),
        ] {
            let mut c = ctx(version);
            let get = plan(&c, "200 OK", &[], length, Some("w"), DATE);
            c.head_request = true;
            let head = plan(&c, "200 OK", &[], length, Some("w"), DATE);
            assert_eq!(head.head, get.head);
            assert!(text(&head).contains(want_header));
            assert_eq!((head.body, head.close), (BodyFraming::None, close));
        }
    }

    #[test]
    fn app_date_and_server_are_kept() {
        let p = plan(
            &ctx(Version::Http11),
            "200 OK",
            &hdrs(&[
                ("Server", "myserver/1.0"),
                ("date", "Thu, 01 Jan 1970 00:00:00 GMT"),
                ("x-lower-case", "v"),
                ("X-UPPER", "v"),
            ]),
            Some(0),
            Some("waitress"),
            DATE,
        );
        assert_eq!(
            text(&p),
            "HTTP/1.1 200 OK\r\nServer: myserver/1.0\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\nx-lower-case: v\r\nX-UPPER: v\r\nContent-Length: 0\r\nVia: waitress\r\n\r\n"
        );
        // No ident: neither Server nor Via.
        let p = plan(
            &ctx(Version::Http11),
            "200 OK",
            &hdrs(&[("Server", "mine")]),
            Some(0),
            Some(""),
            DATE,
        );
        assert!(!text(&p).contains("Via"));
        assert!(text(&p).contains("Server: mine\r\n"));
    }

    #[test]
    fn app_framing_headers_are_the_servers() {
        let p = plan(
            &ctx(Version::Http11),
            "200 OK",
            &hdrs(&[
                ("Transfer-Encoding", "gzip"),
                ("Connection", "upgrade"),
                ("Content-Length", "9"),
            ]),
            None,
            None,
            DATE,
        );
        let t = text(&p);
        assert!(
            !t.contains("gzip") && !t.contains("upgrade") && !t.contains(": 9"),
            "{t}"
        );
        assert!(t.contains("Transfer-Encoding: chunked\r\n"));
    }

    #[test]
    fn latin1_values_go_out_as_single_bytes() {
        let p = plan(
            &ctx(Version::Http11),
            "200 OK",
            &hdrs(&[("X-Name", "caf\u{e9}")]),
            Some(0),
            None,
            DATE,
        );
        assert!(p.head.windows(9).any(|w| w == b"X-Name: c"));
        assert!(p.head.windows(5).any(|w| w == b"caf\xe9\r"));
    }

    #[test]
    fn chunk_headers() {
        let mut buf = [0u8; CHUNK_HEADER_MAX];
        for (len, want) in [
            (0usize, &b"0\r\n"[..]),
            (1, b"1\r\n"),
            (10, b"A\r\n"),
            (255, b"FF\r\n"),
            (8192, b"2000\r\n"),
            (usize::MAX, b"FFFFFFFFFFFFFFFF\r\n"),
        ] {
            assert_eq!(chunk_header(len, &mut buf), want, "{len}");
        }
        assert_eq!(LAST_CHUNK, b"0\r\n\r\n");
        assert_eq!(CONTINUE, b"HTTP/1.1 100 Continue\r\n\r\n");
    }
}
