//! The request head: finding where it ends ([`HeadScanner`]) and parsing it ([`parse_head`]).
//!
//! The request line is parsed by hand, as are the header lines: httparse accepts bare LF line
//! ends and refuses `HTTP/1.2` and non-UTF-8 targets, none of which match the rules here.

use super::error::HttpError;
use super::{is_field_value_byte, is_ows, is_tchar, latin1, parse_decimal, trim_ows};

/// The per-request limits, from the waitress settings of the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `max_request_header_size` (default 262144): a head of this many bytes or more is 431.
    pub max_header_size: usize,
    /// `max_request_body_size` (default 1073741824): a body of this many bytes or more is 413.
    pub max_body_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_size: 262_144,
            max_body_size: 1_073_741_824,
        }
    }
}

/// Longest request-target parsed; longer ones get 414 (RFC 9112 §3: "A server that receives a
/// request-target longer than any URI it wishes to parse MUST respond with a 414"). 64 KiB, in
/// line with hyper's 65534.
pub const MAX_TARGET_LEN: usize = 64 * 1024;

/// Longest method accepted; longer ones get 501 (RFC 9112 §3: "A server that receives a method
/// longer than any that it implements SHOULD respond with a 501"). The longest registered
/// method (`UPDATEREDIRECTREF`) has 17 bytes.
pub const MAX_METHOD_LEN: usize = 64;

/// Most header lines accepted in one head; more get 431 (RFC 6585 §5). Bounds the work spent on
/// joining duplicates, as hyper's 100-header default does.
pub const MAX_HEADER_LINES: usize = 256;

/// The request's HTTP version. `HTTP/1.x` with x >= 2 is treated as 1.1 (RFC 9110 §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1 (or a higher 1.x minor)
    Http11,
}

impl Version {
    /// The version as written in a status line: `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// The form of the request-target (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`
    Origin,
    /// `http://host:port/path?query`
    Absolute,
    /// `host:port`, for CONNECT only.
    Authority,
    /// `*`, for OPTIONS only.
    Asterisk,
}

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// `Content-Length: n`, n > 0.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The method, a token of upper-case letters and other tchars.
    pub method: String,
    /// The request-target as sent (ASCII visible characters only).
    pub target: String,
    /// Which form `target` has.
    pub form: TargetForm,
    /// The raw, still %-encoded path: `*` for asterisk-form, empty for authority-form.
    pub path: String,
    /// The raw query, without `?`; any fragment is dropped.
    pub query: String,
    /// The authority of an absolute-form or authority-form target.
    pub authority: Option<String>,
    /// The request's version.
    pub version: Version,
    /// Header fields in arrival order, names in waitress's CGI form (`CONTENT_TYPE`), values
    /// latin-1 decoded with SP/HTAB trimmed; duplicates joined with `", "`; names containing `_`
    /// dropped; `Transfer-Encoding` left out (it is described by `framing`).
    pub headers: Vec<(String, String)>,
    /// The target's authority for an absolute-form target, else the `Host` header.
    pub host: Option<String>,
    /// How the body is delimited.
    pub framing: Framing,
    /// An HTTP/1.1 `Expect: 100-continue` with a body to wait for.
    pub expect_continue: bool,
    /// Whether the connection may stay open after this request, as far as the client is
    /// concerned.
    pub keep_alive: bool,
}

impl Head {
    /// The value of a header by its normalised name (`CONTENT_TYPE`).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What [`HeadScanner::scan`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadStatus {
    /// The head has not ended yet: read more and scan again.
    Partial,
    /// The head is `buf[start..end]`: `start` skips leading empty lines, `end` is just past the
    /// `\r\n\r\n`. The bytes from `end` on belong to the body or the next request.
    Complete {
        /// Where the request line starts.
        start: usize,
        /// One past the final `\r\n\r\n`.
        end: usize,
    },
}

/// Where the scanner is in the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanPhase {
    /// Skipping the empty lines (CRLF) a client may send before the request line
    /// (RFC 9112 §2.2: SHOULD ignore at least one).
    Leading,
    /// Looking for the `\r\n\r\n` that ends the head.
    Head,
}

/// Finds the end of a request head in a growing buffer, looking at each byte a bounded number
/// of times, so a client that sends its head one byte per read costs O(n) in total rather than
/// O(n²) (waitress rescans the whole buffer on every read).
///
/// The buffer passed to [`scan`](Self::scan) must start where the request starts and only grow
/// between calls; call [`reset`](Self::reset) before scanning the next request.
#[derive(Debug, Clone, Default)]
pub struct HeadScanner {
    /// Start of the request line: the number of leading CRLF bytes skipped so far.
    start: usize,
    /// Bytes before this index hold no terminator start (apart from the last 3, rescanned).
    scanned: usize,
    /// Whether leading empty lines are still being skipped.
    in_head: bool,
}

impl HeadScanner {
    /// A scanner at the start of a request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the previous request, for the next one on the connection.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    fn phase(&self) -> ScanPhase {
        if self.in_head {
            ScanPhase::Head
        } else {
            ScanPhase::Leading
        }
    }

    /// Looks at the bytes added since the last call.
    ///
    /// 431 `exceeds max_header of N` when the head (leading CRLFs, request line, headers and
    /// the final CRLFCRLF) is `max_header_size` bytes or more, or when that many bytes have
    /// arrived without a terminator (waitress: a 999-byte head passes a limit of 1000, a
    /// 1000-byte one does not).
    pub fn scan(&mut self, buf: &[u8], limits: &Limits) -> Result<HeadStatus, HttpError> {
        let max = limits.max_header_size;
        if self.phase() == ScanPhase::Leading {
            loop {
                match buf.get(self.start..self.start + 2) {
                    Some(b"\r\n") => self.start += 2,
                    Some(_) => {
                        self.in_head = true;
                        self.scanned = self.start;
                        break;
                    }
                    // A lone `\r` may be the start of another empty line: wait for its pair.
                    None if buf.get(self.start).is_none_or(|&b| b == b'\r') => {
                        return self.partial(buf, max);
                    }
                    None => {
                        self.in_head = true;
                        self.scanned = self.start;
                        break;
                    }
                }
            }
        }
        // The terminator may straddle the previous end of the buffer: back up 3 bytes.
        let from = self.scanned.saturating_sub(3).max(self.start);
        let window = buf.get(from..).unwrap_or_default();
        match window.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(pos) => {
                let end = from + pos + 4;
                if end >= max {
                    return Err(HttpError::header_too_large(max));
                }
                Ok(HeadStatus::Complete {
                    start: self.start,
                    end,
                })
            }
            None => {
                self.scanned = buf.len();
                self.partial(buf, max)
            }
        }
    }

    fn partial(&self, buf: &[u8], max: usize) -> Result<HeadStatus, HttpError> {
        if buf.len() >= max {
            Err(HttpError::header_too_large(max))
        } else {
            Ok(HeadStatus::Partial)
        }
    }
}

/// Parses a complete request head: the request line, the header lines and the empty line
/// (`\r\n\r\n`) that ends them, as delimited by [`HeadScanner`]. Leading empty lines are
/// skipped.
pub fn parse_head(head: &[u8], limits: &Limits) -> Result<Head, HttpError> {
    let mut head = head;
    while let Some(rest) = head.strip_prefix(b"\r\n") {
        head = rest;
    }
    // RFC 9112 §2.2: a bare CR MUST be rejected (or replaced); a bare LF MAY be accepted but is
    // how CVE-2019-16785 smuggled a second Content-Length past a front end. CRLF only.
    check_line_ends(head)?;
    let body = head
        .strip_suffix(b"\r\n\r\n")
        .ok_or_else(|| HttpError::bad_request("HTTP message header invalid"))?;
    let mut lines = body.split(|&b| b == b'\n').map(|l| {
        // Every LF is preceded by CR (checked above); the last line lost its CRLF to
        // strip_suffix, so it has no CR to drop.
        l.strip_suffix(b"\r").unwrap_or(l)
    });
    let request_line = lines.next().unwrap_or_default();
    let line = parse_request_line(request_line)?;
    let version = line.version;
    parse_fields(line, lines, limits).map_err(|e| e.with_version(version))
}

/// Rejects any CR not followed by LF and any LF not preceded by CR.
fn check_line_ends(head: &[u8]) -> Result<(), HttpError> {
    let mut prev = 0u8;
    let mut iter = head.iter().peekable();
    while let Some(&b) = iter.next() {
        let bare = match b {
            b'\r' => iter.peek() != Some(&&b'\n'),
            b'\n' => prev != b'\r',
            _ => false,
        };
        if bare {
            return Err(HttpError::bad_request(
                "Bare CR or LF found in HTTP message",
            ));
        }
        prev = b;
    }
    Ok(())
}

/// The parts of a request line.
struct RequestLine {
    method: String,
    target: String,
    form: TargetForm,
    path: String,
    query: String,
    authority: Option<String>,
    version: Version,
}

fn start_line_invalid() -> HttpError {
    HttpError::bad_request("Start line is invalid")
}

fn bad_uri() -> HttpError {
    HttpError::bad_request("Bad URI")
}

/// `method SP request-target SP HTTP-version`, single spaces, nothing else (RFC 9112 §3).
fn parse_request_line(line: &[u8]) -> Result<RequestLine, HttpError> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().ok_or_else(start_line_invalid)?;
    let version = parts.next().ok_or_else(start_line_invalid)?;
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(start_line_invalid());
    }
    // Checked before the target so that an HTTP/2 preface-like line gets 505, not 400.
    let version = parse_version(version)?;
    let with_version = |e: HttpError| e.with_version(version);
    if method.iter().any(u8::is_ascii_lowercase) {
        // waitress: `method != method.upper()`, answered as HTTP/1.0 like waitress does.
        return Err(HttpError::bad_request(format!(
            "Malformed HTTP method \"{}\"",
            latin1(method)
        )));
    }
    if method.len() > MAX_METHOD_LEN {
        return Err(with_version(HttpError::not_implemented(
            "Method name too long",
        )));
    }
    if target.is_empty() {
        return Err(with_version(start_line_invalid()));
    }
    if target.len() > MAX_TARGET_LEN {
        return Err(with_version(HttpError::uri_too_long(format!(
            "Request-target exceeds {MAX_TARGET_LEN} bytes"
        ))));
    }
    // RFC 3986 allows only ASCII visible characters in a URI; waitress answers `Bad URI`.
    if !target.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(with_version(bad_uri()));
    }
    let method = latin1(method);
    let parsed = parse_target(&method, target).map_err(with_version)?;
    Ok(RequestLine {
        target: latin1(target),
        method,
        form: parsed.form,
        path: parsed.path,
        query: parsed.query,
        authority: parsed.authority,
        version,
    })
}

/// `HTTP/d.d`: 1.0, 1.1 and 1.x (as 1.1) are served; other majors are 505.
fn parse_version(v: &[u8]) -> Result<Version, HttpError> {
    let [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] = v else {
        return Err(start_line_invalid());
    };
    if !major.is_ascii_digit() || !minor.is_ascii_digit() {
        return Err(start_line_invalid());
    }
    match (major, minor) {
        (b'1', b'0') => Ok(Version::Http10),
        (b'1', _) => Ok(Version::Http11),
        _ => Err(HttpError::version_not_supported(format!(
            "HTTP/{}.{} is not supported",
            char::from(*major),
            char::from(*minor)
        ))),
    }
}

struct Target {
    form: TargetForm,
    path: String,
    query: String,
    authority: Option<String>,
}

/// Splits a request-target into its form, path, query and authority (RFC 9112 §3.2).
fn parse_target(method: &str, target: &[u8]) -> Result<Target, HttpError> {
    if method == "CONNECT" {
        // RFC 9110 §9.3.6: CONNECT takes `uri-host ":" port` and nothing else.
        if !valid_authority(target, true) {
            return Err(bad_uri());
        }
        return Ok(Target {
            form: TargetForm::Authority,
            path: String::new(),
            query: String::new(),
            authority: Some(latin1(target)),
        });
    }
    if target == b"*" {
        if method != "OPTIONS" {
            return Err(bad_uri());
        }
        return Ok(Target {
            form: TargetForm::Asterisk,
            path: "*".to_owned(),
            query: String::new(),
            authority: None,
        });
    }
    if target.first() == Some(&b'/') {
        let (path, query) = split_path_query(target);
        return Ok(Target {
            form: TargetForm::Origin,
            path: latin1(path),
            query: latin1(query),
            authority: None,
        });
    }
    // absolute-form: `scheme "://" authority path-abempty [ "?" query ]`. Only http and https
    // name something this server can be the origin for.
    let rest = strip_prefix_ignore_case(target, b"http://")
        .or_else(|| strip_prefix_ignore_case(target, b"https://"))
        .ok_or_else(bad_uri)?;
    let auth_end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    // userinfo (`user@host`) fails here: RFC 9110 §4.2.4 says to treat it as an error.
    if !valid_authority(authority, false) {
        return Err(bad_uri());
    }
    let (path, query) = split_path_query(tail);
    Ok(Target {
        form: TargetForm::Absolute,
        // RFC 9112 §3.2.1: an empty path is sent as `/`.
        path: if path.is_empty() {
            "/".to_owned()
        } else {
            latin1(path)
        },
        query: latin1(query),
        authority: Some(latin1(authority)),
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// Splits `path?query#fragment` into path and query, dropping the fragment.
fn split_path_query(s: &[u8]) -> (&[u8], &[u8]) {
    let s = match s.iter().position(|&b| b == b'#') {
        Some(i) => s.get(..i).unwrap_or_default(),
        None => s,
    };
    match s.iter().position(|&b| b == b'?') {
        Some(i) => (
            s.get(..i).unwrap_or_default(),
            s.get(i + 1..).unwrap_or_default(),
        ),
        None => (s, b""),
    }
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2): a bracketed IPv6 literal, or a
/// non-empty reg-name (which covers IPv4), then an optional port of 1 to 5 digits. With
/// `port_required` the port must be there (authority-form for CONNECT).
pub fn valid_authority(s: &[u8], port_required: bool) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix(b"[") {
        let Some(close) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let (literal, after) = rest.split_at(close);
        let after = after.get(1..).unwrap_or_default();
        if literal.is_empty()
            || !literal
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        match after {
            [] => (literal, None),
            [b':', port @ ..] => (literal, Some(port)),
            _ => return false,
        }
    } else {
        match s.iter().position(|&b| b == b':') {
            Some(i) => (
                s.get(..i).unwrap_or_default(),
                Some(s.get(i + 1..).unwrap_or_default()),
            ),
            None => (s, None),
        }
    };
    if host.is_empty() || !valid_reg_name_or_literal(host, s.first() == Some(&b'[')) {
        return false;
    }
    match port {
        None => !port_required,
        Some(p) => !p.is_empty() && p.len() <= 5 && parse_decimal(p).is_some_and(|n| n <= 65_535),
    }
}

fn valid_reg_name_or_literal(host: &[u8], bracketed: bool) -> bool {
    if bracketed {
        return true; // checked by the caller
    }
    // reg-name = *( unreserved / pct-encoded / sub-delims )
    let mut i = 0;
    while let Some(&b) = host.get(i) {
        if b == b'%' {
            let ok = host.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && host.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return false;
            }
            i += 3;
            continue;
        }
        let ok = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b);
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// The header fields with special meaning, collected while the lines are read.
#[derive(Default)]
struct Special<'a> {
    hosts: Vec<&'a [u8]>,
    content_lengths: Vec<&'a [u8]>,
    transfer_encodings: Vec<&'a [u8]>,
    connection: Vec<&'a [u8]>,
    expect: Vec<&'a [u8]>,
}

fn parse_fields<'a>(
    line: RequestLine,
    lines: impl Iterator<Item = &'a [u8]>,
    limits: &Limits,
) -> Result<Head, HttpError> {
    let version = line.version;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut special = Special::default();
    for (count, raw) in lines.enumerate() {
        if count >= MAX_HEADER_LINES {
            return Err(HttpError::header_fields_too_large(format!(
                "more than {MAX_HEADER_LINES} header lines"
            )));
        }
        let (name, value) = split_field_line(raw)?;
        if name.eq_ignore_ascii_case(b"host") {
            special.hosts.push(value);
        } else if name.eq_ignore_ascii_case(b"content-length") {
            special.content_lengths.push(value);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            special.transfer_encodings.push(value);
            continue; // described by `framing`, never shown to the app
        } else if name.eq_ignore_ascii_case(b"connection") {
            special.connection.push(value);
        } else if name.eq_ignore_ascii_case(b"expect") {
            special.expect.push(value);
        }
        // waitress (1.0.0, PR #80): `X_Foo` and `X-Foo` would both become HTTP_X_FOO, so
        // names containing `_` are dropped to stop one spoofing the other.
        if name.contains(&b'_') {
            continue;
        }
        let key: String = name
            .iter()
            .map(|&b| match b {
                b'-' => '_',
                _ => char::from(b.to_ascii_uppercase()),
            })
            .collect();
        let value = latin1(value);
        match headers.iter_mut().find(|(n, _)| *n == key) {
            Some((_, existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            None => headers.push((key, value)),
        }
    }

    let host = resolve_host(&line, &special, &mut headers)?;
    let framing = resolve_framing(version, &special, limits, &mut headers)?;
    let keep_alive = {
        let has = |token: &[u8]| {
            special
                .connection
                .iter()
                .flat_map(|v| list_elements(v))
                .any(|e| e.eq_ignore_ascii_case(token))
        };
        match version {
            Version::Http11 => !has(b"close"),
            Version::Http10 => has(b"keep-alive") && !has(b"close"),
        }
    };
    // RFC 9110 §10.1.1: ignore 100-continue from HTTP/1.0; and with no body there is nothing
    // to wait for (waitress sends the 100 and then hangs).
    let expect_continue = version == Version::Http11
        && framing != Framing::None
        && special
            .expect
            .iter()
            .any(|v| v.eq_ignore_ascii_case(b"100-continue"));

    Ok(Head {
        method: line.method,
        target: line.target,
        form: line.form,
        path: line.path,
        query: line.query,
        authority: line.authority,
        version,
        headers,
        host,
        framing,
        expect_continue,
        keep_alive,
    })
}

fn invalid_header() -> HttpError {
    HttpError::bad_request("Invalid header")
}

/// `field-name ":" OWS field-value OWS` (RFC 9112 §5): the name a token with nothing before the
/// colon, the value SP/HTAB-trimmed and free of NUL, CTLs and DEL.
fn split_field_line(raw: &[u8]) -> Result<(&[u8], &[u8]), HttpError> {
    if raw.first().is_some_and(|&b| is_ows(b)) {
        // RFC 9112 §5.2: obs-fold in a request is rejected (or replaced; we reject).
        return Err(HttpError::bad_request(
            "Obsolete line folding is not allowed",
        ));
    }
    let colon = raw
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(invalid_header)?;
    let (name, rest) = raw.split_at(colon);
    let value = trim_ows(rest.get(1..).unwrap_or_default());
    // RFC 9112 §5.1: whitespace between the name and the colon MUST get 400.
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(invalid_header());
    }
    if !value.iter().all(|&b| is_field_value_byte(b)) {
        return Err(invalid_header());
    }
    Ok((name, value))
}

/// The elements of a comma-separated list (RFC 9110 §5.6.1): SP/HTAB trimmed, empty ones
/// skipped.
fn list_elements(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// RFC 9112 §3.2: exactly one valid Host on HTTP/1.1; §3.2.2: an absolute-form target's
/// authority replaces it.
fn resolve_host(
    line: &RequestLine,
    special: &Special<'_>,
    headers: &mut [(String, String)],
) -> Result<Option<String>, HttpError> {
    let header_host = match special.hosts.as_slice() {
        [] if line.version == Version::Http11 => {
            return Err(HttpError::bad_request("Missing Host header"));
        }
        [] => None,
        [value] => {
            if value.is_empty() && line.version == Version::Http10 {
                None
            } else if valid_authority(value, false) {
                Some(latin1(value))
            } else {
                return Err(HttpError::bad_request("Invalid Host header"));
            }
        }
        _ => return Err(HttpError::bad_request("Duplicate header: Host")),
    };
    if line.form == TargetForm::Absolute {
        if let Some(authority) = &line.authority {
            // The app must see the same host the server routes by.
            if let Some((_, v)) = headers.iter_mut().find(|(n, _)| n == "HOST") {
                v.clone_from(authority);
            }
            return Ok(Some(authority.clone()));
        }
    }
    Ok(header_host)
}

fn resolve_framing(
    version: Version,
    special: &Special<'_>,
    limits: &Limits,
    headers: &mut [(String, String)],
) -> Result<Framing, HttpError> {
    let cl_invalid = || HttpError::bad_request("Content-Length is invalid");
    if !special.transfer_encodings.is_empty() {
        // RFC 9112 §6.1: TE on HTTP/1.0 means faulty framing.
        if version == Version::Http10 {
            return Err(HttpError::bad_request(
                "Transfer-Encoding is not allowed in HTTP/1.0",
            ));
        }
        // RFC 9112 §6.3(3): TE with CL is a smuggling attempt or a broken proxy.
        if !special.content_lengths.is_empty() {
            return Err(HttpError::bad_request(
                "Content-Length with Transfer-Encoding",
            ));
        }
        let codings: Vec<&[u8]> = special
            .transfer_encodings
            .iter()
            .flat_map(|v| list_elements(v))
            .collect();
        let Some((last, before)) = codings.split_last() else {
            return Err(HttpError::bad_request("Transfer-Encoding is empty"));
        };
        let is_chunked = |c: &&[u8]| c.eq_ignore_ascii_case(b"chunked");
        // RFC 9112 §6.1: chunked MUST NOT be applied more than once; §6.3(3): it must be last.
        if before.iter().any(is_chunked) {
            return Err(HttpError::bad_request(if is_chunked(last) {
                "Transfer-Encoding: chunked applied twice"
            } else {
                "Transfer-Encoding: chunked is not the final coding"
            }));
        }
        if !before.is_empty() || !is_chunked(last) {
            return Err(HttpError::not_implemented(
                "Transfer-Encoding requested is not supported.",
            ));
        }
        return Ok(Framing::Chunked);
    }
    if special.content_lengths.is_empty() {
        return Ok(Framing::None);
    }
    // RFC 9112 §6.3(5): every element must be 1*DIGIT and all must agree.
    let mut length: Option<u64> = None;
    for value in &special.content_lengths {
        for element in value.split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(element)).ok_or_else(cl_invalid)?;
            match length {
                Some(prev) if prev != n => return Err(cl_invalid()),
                _ => length = Some(n),
            }
        }
    }
    let length = length.ok_or_else(cl_invalid)?;
    if special.content_lengths.len() > 1
        || special.content_lengths.iter().any(|v| v.contains(&b','))
    {
        // The app sees one value, not "3, 3".
        if let Some((_, v)) = headers.iter_mut().find(|(n, _)| n == "CONTENT_LENGTH") {
            *v = length.to_string();
        }
    }
    if length > 0 && length >= limits.max_body_size {
        return Err(HttpError::entity_too_large(limits.max_body_size));
    }
    Ok(if length == 0 {
        Framing::None
    } else {
        Framing::Length(length)
    })
}
