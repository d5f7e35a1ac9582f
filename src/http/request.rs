//! The request head: finding where it ends ([`HeadScanner`]) and parsing it ([`parse_head`]).
//!
//! The request line is parsed by hand, as are the header lines: httparse accepts bare LF line
//! ends and refuses `HTTP/1.2` and non-UTF-8 targets, none of which match the rules here.

use super::authority::valid_authority;
use super::error::HttpError;
use super::{is_field_value_byte, is_ows, is_tchar, latin1, parse_decimal, push_latin1, trim_ows};

/// The per-request limits, from the waitress settings of the same names (the settings table
/// holds their defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `max_request_header_size`: a head of this many bytes or more is 431.
    pub max_header_size: usize,
    /// `max_request_body_size`: a body of this many bytes or more is 413.
    pub max_body_size: u64,
}

/// waitress's defaults, for the parser's tests. http cannot read the settings table (settings
/// feed the server, which feeds http), so a test beside the table checks this copy against it.
#[cfg(test)]
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

/// Where one part of a [`Head`] sits in its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    /// The part of this span at `range`, counted from its start: for a part of a value that is
    /// already in the text (the path within the target), which then needs no copy.
    fn sub(self, range: std::ops::Range<usize>) -> Span {
        Span {
            start: self.start + range.start,
            end: self.start + range.end,
        }
    }
}

/// Text built up span by span: the one buffer behind a [`Head`].
#[derive(Clone, PartialEq, Eq, Default)]
struct Text(String);

impl Text {
    fn get(&self, span: Span) -> &str {
        self.0.get(span.start..span.end).unwrap_or_default()
    }

    /// Appends what `push` writes and returns where it went.
    fn push_with(&mut self, push: impl FnOnce(&mut String)) -> Span {
        let start = self.0.len();
        push(&mut self.0);
        Span {
            start,
            end: self.0.len(),
        }
    }

    fn push_str(&mut self, s: &str) -> Span {
        self.push_with(|t| t.push_str(s))
    }

    fn push_latin1(&mut self, bytes: &[u8]) -> Span {
        self.push_with(|t| push_latin1(t, bytes))
    }

    /// Appends the text at `span` again, then what `more` writes: for a value that grows.
    fn push_copy_with(&mut self, span: Span, more: impl FnOnce(&mut String)) -> Span {
        // Only duplicate headers take this path: a copy is simpler than copying in place.
        let copy = self.get(span).to_owned();
        self.push_with(|t| {
            t.push_str(&copy);
            more(t);
        })
    }
}

/// A parsed request head.
///
/// Every string part lives in one buffer, indexed by spans: a head is made on the event-loop
/// thread and dropped on a worker, and with a `String` per part (about nine for a minimal
/// request, two more per header) the frees on the worker and the fresh allocations on the loop
/// went through glibc's arena lock: 2,000 instructions and 0.27 futex calls per request in
/// the hello-world benchmark (bench/NOTES.md).
#[derive(Clone, PartialEq, Eq)]
pub struct Head {
    text: Text,
    method: Span,
    target: Span,
    path: Span,
    query: Span,
    authority: Option<Span>,
    host: Option<Span>,
    headers: Vec<(Span, Span)>,
    /// Which form the target has.
    pub form: TargetForm,
    /// The request's version.
    pub version: Version,
    /// How the body is delimited.
    pub framing: Framing,
    /// An HTTP/1.1 `Expect: 100-continue` with a body to wait for.
    pub expect_continue: bool,
    /// Whether the connection may stay open after this request, as far as the client is
    /// concerned. Never after a CONNECT (see `parse_fields`).
    pub keep_alive: bool,
}

impl Head {
    fn get(&self, span: Span) -> &str {
        self.text.get(span)
    }

    /// The method, a token of upper-case letters and other tchars.
    pub fn method(&self) -> &str {
        self.get(self.method)
    }

    /// Whether this is a HEAD: its answer, error pages included, carries no body.
    pub fn is_head(&self) -> bool {
        self.method() == "HEAD"
    }

    /// The request-target as sent (ASCII visible characters only).
    pub fn target(&self) -> &str {
        self.get(self.target)
    }

    /// The raw, still %-encoded path: `*` for asterisk-form, empty for authority-form.
    pub fn path(&self) -> &str {
        self.get(self.path)
    }

    /// The raw query, without `?`; any fragment is dropped.
    pub fn query(&self) -> &str {
        self.get(self.query)
    }

    /// The authority of an absolute-form or authority-form target.
    pub fn authority(&self) -> Option<&str> {
        self.authority.map(|a| self.get(a))
    }

    /// The target's authority for an absolute-form target, else the `Host` header.
    pub fn host(&self) -> Option<&str> {
        self.host.map(|h| self.get(h))
    }

    /// Header fields in arrival order, names in waitress's CGI form (`CONTENT_TYPE`), values
    /// latin-1 decoded with SP/HTAB trimmed; duplicates joined with `", "` (`"; "` for
    /// Cookie, see `joining_separator`); names containing
    /// `_` dropped; `Transfer-Encoding` left out (it is described by `framing`).
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|&(name, value)| (self.get(name), self.get(value)))
    }

    /// The header at `index` in [`headers`](Self::headers).
    pub fn header_at(&self, index: usize) -> Option<(&str, &str)> {
        let &(name, value) = self.headers.get(index)?;
        Some((self.get(name), self.get(value)))
    }

    /// The value of a header by its normalised name (`CONTENT_TYPE`).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().find(|&(n, _)| n == name).map(|(_, v)| v)
    }
}

impl std::fmt::Debug for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Head")
            .field("method", &self.method())
            .field("target", &self.target())
            .field("form", &self.form)
            .field("path", &self.path())
            .field("query", &self.query())
            .field("authority", &self.authority())
            .field("version", &self.version)
            .field("headers", &self.headers().collect::<Vec<_>>())
            .field("host", &self.host())
            .field("framing", &self.framing)
            .field("expect_continue", &self.expect_continue)
            .field("keep_alive", &self.keep_alive)
            .finish()
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ScanPhase {
    /// Skipping the empty lines (CRLF) a client may send before the request line
    /// (RFC 9112 §2.2: SHOULD ignore at least one).
    #[default]
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
    phase: ScanPhase,
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

    /// Looks at the bytes added since the last call.
    ///
    /// 431 `exceeds max_header of N` when the head (leading CRLFs, request line, headers and
    /// the final CRLFCRLF) is `max_header_size` bytes or more, or when that many bytes have
    /// arrived without a terminator (waitress: a 999-byte head passes a limit of 1000, a
    /// 1000-byte one does not).
    ///
    /// The answer is the one the bytes would get if they came one per read, whatever the
    /// reads were: so only the first `max_header_size` bytes are looked at. Past them a
    /// client sending in small reads has already had its 431, and a bare CR or LF (400) or a
    /// terminator (431) further on must not change the answer when the same bytes come in
    /// one read.
    pub fn scan(&mut self, buf: &[u8], limits: &Limits) -> Result<HeadStatus, HttpError> {
        let max = limits.max_header_size;
        let buf = buf.get(..max).unwrap_or(buf);
        if self.phase == ScanPhase::Leading {
            loop {
                match buf.get(self.start..self.start + 2) {
                    Some(b"\r\n") => self.start += 2,
                    Some(_) => {
                        self.phase = ScanPhase::Head;
                        self.scanned = self.start;
                        break;
                    }
                    // A lone `\r` may be the start of another empty line: wait for its pair.
                    None if buf.get(self.start).is_none_or(|&b| b == b'\r') => {
                        return self.partial(buf, max);
                    }
                    None => {
                        self.phase = ScanPhase::Head;
                        self.scanned = self.start;
                        break;
                    }
                }
            }
        }
        // The terminator may straddle the previous end of the buffer: back up 3 bytes.
        let from = self.scanned.saturating_sub(3).max(self.start);
        let window = buf.get(from..).unwrap_or_default();
        match find_head_end(window) {
            Some(pos) => {
                let end = from + pos + 4;
                if end >= max {
                    // In smaller reads a bare line end before the terminator was refused
                    // before the limit was reached. (Under the limit, parse_head refuses it.)
                    if has_bare_line_end(buf.get(..end).unwrap_or(buf), from, self.start) {
                        return Err(bare_line_end());
                    }
                    return Err(HttpError::header_too_large(max));
                }
                Ok(HeadStatus::Complete {
                    start: self.start,
                    end,
                })
            }
            None => {
                // A bare CR or LF can never become part of a valid head: refuse it now rather
                // than wait (until channel_timeout) for a CRLFCRLF an LF-only client never sends.
                if has_bare_line_end(buf, from, self.start) {
                    return Err(bare_line_end());
                }
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

fn bare_line_end() -> HttpError {
    HttpError::bad_request("Bare CR or LF found in HTTP message")
}

/// Whether `buf[from..]` holds an LF not preceded by CR, or a CR followed by anything but LF
/// (a CR at the very end may still get its LF). `start` is where the request line begins.
fn has_bare_line_end(buf: &[u8], from: usize, start: usize) -> bool {
    (from..buf.len()).any(|i| match buf.get(i) {
        Some(b'\n') => i == start || buf.get(i.wrapping_sub(1)) != Some(&b'\r'),
        Some(b'\r') => buf.get(i + 1).is_some_and(|&b| b != b'\n'),
        _ => false,
    })
}

/// Parses a complete request head: the request line, the header lines and the empty line
/// (`\r\n\r\n`) that ends them, as delimited by [`HeadScanner`]. Leading empty lines are
/// skipped.
pub fn parse_head(head: &[u8], limits: &Limits) -> Result<Head, HttpError> {
    // The scanner already enforces this; repeated so parse_head is safe on its own.
    if head.len() >= limits.max_header_size {
        return Err(HttpError::header_too_large(limits.max_header_size));
    }
    let mut head = head;
    while let Some(rest) = head.strip_prefix(b"\r\n") {
        head = rest;
    }
    // RFC 9112 §2.2: a bare CR MUST be rejected (or replaced); a bare LF MAY be accepted but is
    // how CVE-2019-16785 smuggled a second Content-Length past a front end. CRLF only.
    let line_ends = check_line_ends(head)?;
    let body = head
        .strip_suffix(b"\r\n\r\n")
        .ok_or_else(|| HttpError::bad_request("HTTP message header invalid"))?;
    let mut lines = split_lf(body).map(|l| {
        // Every LF is preceded by CR (checked above); the last line lost its CRLF to
        // strip_suffix, so it has no CR to drop.
        l.strip_suffix(b"\r").unwrap_or(l)
    });
    let request_line = lines.next().unwrap_or_default();
    // Sized for the parts as sent, each written once, with room for the few that grow (a
    // joined duplicate, a non-ASCII value decoded): growing it was a `realloc` per request
    // for a minimal head.
    let mut text = Text(String::with_capacity(body.len() + 64));
    let line = parse_request_line(request_line, &mut text)?;
    let version = line.version;
    let head_request = request_line.starts_with(b"HEAD ");
    // Every line ends in one, and the request line and the empty line are not fields.
    let fields = line_ends.saturating_sub(2);
    parse_fields(line, lines, fields, text, limits).map_err(|e| e.answering(version, head_request))
}

/// Where `\r\n\r\n` starts in `buf`. By LF, of which a head has one per line: `memmem`
/// builds a searcher per call, 240 instructions per request for a minimal head (callgrind).
fn find_head_end(buf: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'\n', buf)
        .filter(|&i| i >= 3)
        .find(|&i| buf.get(i - 3..=i) == Some(b"\r\n\r\n"))
        .map(|i| i - 3)
}

/// `s` split at each LF, as `s.split(|&b| b == b'\n')` but found with `memchr`.
fn split_lf(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(b'\n', r) {
            Some(i) => {
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => rest.take(),
        }
    })
}

/// Rejects any CR not followed by LF and any LF not preceded by CR, and counts the lines.
/// Only the line ends are visited (`memchr2` skips the bytes between): a loop over every byte
/// was 2,000 instructions per request with eight browser-like headers.
fn check_line_ends(head: &[u8]) -> Result<usize, HttpError> {
    let mut lines = 0;
    for i in memchr::memchr2_iter(b'\r', b'\n', head) {
        let bare = match head.get(i) {
            Some(b'\r') => head.get(i + 1) != Some(&b'\n'),
            _ => {
                lines += 1;
                i == 0 || head.get(i - 1) != Some(&b'\r')
            }
        };
        if bare {
            return Err(bare_line_end());
        }
    }
    Ok(lines)
}

/// The parts of a request line, as spans of the head's text.
struct RequestLine {
    method: Span,
    target: Span,
    form: TargetForm,
    path: Span,
    query: Span,
    authority: Option<Span>,
    version: Version,
}

fn start_line_invalid() -> HttpError {
    HttpError::bad_request("Start line is invalid")
}

fn bad_uri() -> HttpError {
    HttpError::bad_request("Bad URI")
}

/// `method SP request-target SP HTTP-version`, single spaces, nothing else (RFC 9112 §3).
fn parse_request_line(line: &[u8], text: &mut Text) -> Result<RequestLine, HttpError> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().ok_or_else(start_line_invalid)?;
    let version = parts.next().ok_or_else(start_line_invalid)?;
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(start_line_invalid());
    }
    // Checked before the target so that an HTTP/2 preface-like line gets 505, not 400.
    let version = parse_version(version)?;
    let answering = |e: HttpError| e.answering(version, method == b"HEAD");
    if method.iter().any(u8::is_ascii_lowercase) {
        // waitress: `method != method.upper()`, answered as HTTP/1.0 like waitress does.
        return Err(HttpError::bad_request(format!(
            "Malformed HTTP method \"{}\"",
            latin1(method)
        )));
    }
    if method.len() > MAX_METHOD_LEN {
        return Err(answering(HttpError::not_implemented(
            "Method name too long",
        )));
    }
    if target.is_empty() {
        return Err(answering(start_line_invalid()));
    }
    if target.len() > MAX_TARGET_LEN {
        return Err(answering(HttpError::uri_too_long(format!(
            "Request-target exceeds {MAX_TARGET_LEN} bytes"
        ))));
    }
    // RFC 3986 allows only ASCII visible characters in a URI; waitress answers `Bad URI`.
    if !target.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(answering(bad_uri()));
    }
    let method_span = text.push_latin1(method);
    let target_span = text.push_latin1(target);
    let parsed = parse_target(method, target, target_span, text).map_err(answering)?;
    Ok(RequestLine {
        method: method_span,
        target: target_span,
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
    path: Span,
    query: Span,
    authority: Option<Span>,
}

/// Splits a request-target into its form, path, query and authority (RFC 9112 §3.2). `at` is
/// where `target` already sits in `text` (ASCII, so byte for byte): the parts are spans within
/// it, copied again only for a path the target lacks.
fn parse_target(
    method: &[u8],
    target: &[u8],
    at: Span,
    text: &mut Text,
) -> Result<Target, HttpError> {
    if method == b"CONNECT" {
        // RFC 9110 §9.3.6: CONNECT takes `uri-host ":" port` and nothing else.
        if !valid_authority(target, true) {
            return Err(bad_uri());
        }
        return Ok(Target {
            form: TargetForm::Authority,
            path: Span::default(),
            query: Span::default(),
            authority: Some(at),
        });
    }
    if target == b"*" {
        if method != b"OPTIONS" {
            return Err(bad_uri());
        }
        return Ok(Target {
            form: TargetForm::Asterisk,
            path: at,
            query: Span::default(),
            authority: None,
        });
    }
    if target.first() == Some(&b'/') {
        let (path, query) = split_path_query(target);
        return Ok(Target {
            form: TargetForm::Origin,
            path: at.sub(path),
            query: at.sub(query),
            authority: None,
        });
    }
    // absolute-form: `scheme "://" authority path-abempty [ "?" query ]`. Only http and https
    // name something this server can be the origin for.
    let scheme_len = [&b"http://"[..], b"https://"]
        .into_iter()
        .find(|scheme| starts_with_ignore_case(target, scheme))
        .map(<[u8]>::len)
        .ok_or_else(bad_uri)?;
    let rest = target.get(scheme_len..).unwrap_or_default();
    let auth_end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    // userinfo (`user@host`) fails here: RFC 9110 §4.2.4 says to treat it as an error.
    if !valid_authority(authority, false) {
        return Err(bad_uri());
    }
    let tail_at = at.sub(scheme_len + auth_end..target.len());
    let (path, query) = split_path_query(tail);
    Ok(Target {
        form: TargetForm::Absolute,
        // RFC 9112 §3.2.1: an empty path is sent as `/`.
        path: if path.is_empty() {
            text.push_str("/")
        } else {
            tail_at.sub(path)
        },
        query: tail_at.sub(query),
        authority: Some(at.sub(scheme_len..scheme_len + auth_end)),
    })
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Where the path and the query of `path?query#fragment` are in it; the fragment is dropped.
fn split_path_query(s: &[u8]) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let end = s.iter().position(|&b| b == b'#').unwrap_or(s.len());
    let before_fragment = s.get(..end).unwrap_or_default();
    match before_fragment.iter().position(|&b| b == b'?') {
        Some(i) => (0..i, i + 1..end),
        None => (0..end, end..end),
    }
}

/// The values of one special header field, in arrival order. Nearly every request sends each
/// at most once, so the first is held inline: a `Vec` per field was an allocation per request
/// for `Host` alone.
#[derive(Default)]
struct Values<'a> {
    first: Option<&'a [u8]>,
    more: Vec<&'a [u8]>,
}

impl<'a> Values<'a> {
    fn push(&mut self, value: &'a [u8]) {
        if self.first.is_none() {
            self.first = Some(value);
        } else {
            self.more.push(value);
        }
    }

    fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.first.into_iter().chain(self.more.iter().copied())
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn is_repeated(&self) -> bool {
        !self.more.is_empty()
    }
}

/// The header fields with special meaning, collected while the lines are read.
#[derive(Default)]
struct Special<'a> {
    hosts: Values<'a>,
    /// Where the (first) `Host` value went in the text, for [`Head::host`] to share.
    host_at: Option<Span>,
    content_lengths: Values<'a>,
    transfer_encodings: Values<'a>,
    connection: Values<'a>,
    expect: Values<'a>,
}

/// What goes between the values of a repeated header once they are one environ value.
///
/// RFC 9110 §5.3 joins field lines with commas, as waitress does for every name. Cookie is the
/// exception: its pairs are separated by `"; "` (RFC 6265 §4.2.1), cookie parsers (Django's,
/// Werkzeug's, `http.cookies`) split on `;` alone: given `"a=1, b=2"`, Django reads one cookie
/// `a` with the value `1, b=2`, and Werkzeug (Flask) none at all. Two Cookie lines arrive when a proxy splits them (RFC 9113 §8.2.3
/// joins HTTP/2's cookie fields with `"; "` for HTTP/1.1 for this reason; Node.js does the same).
fn joining_separator(cgi_name: &str) -> &'static str {
    if cgi_name == "COOKIE" { "; " } else { ", " }
}

fn parse_fields<'a>(
    line: RequestLine,
    lines: impl Iterator<Item = &'a [u8]>,
    fields: usize,
    mut text: Text,
    limits: &Limits,
) -> Result<Head, HttpError> {
    let version = line.version;
    // Sized once: growing from empty was 350 instructions per request for one header.
    let mut headers: Vec<(Span, Span)> = Vec::with_capacity(fields.min(MAX_HEADER_LINES));
    let mut special = Special::default();
    // Later values of a repeated name: (index in `headers`, value).
    let mut repeats: Vec<(usize, &[u8])> = Vec::new();
    for (count, raw) in lines.enumerate() {
        if count >= MAX_HEADER_LINES {
            return Err(HttpError::header_fields_too_large(format!(
                "more than {MAX_HEADER_LINES} header lines"
            )));
        }
        let (name, value) = split_field_line(raw)?;
        let is_host = name.eq_ignore_ascii_case(b"host");
        if is_host {
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
        let key = text.push_with(|t| push_cgi_name(t, name));
        let seen = headers
            .iter()
            .position(|&(n, _)| text.get(n) == text.get(key));
        match seen {
            Some(i) => {
                // The repeated name is not kept; its value is joined once all are read.
                text.0.truncate(key.start);
                repeats.push((i, value));
            }
            None => {
                let value = text.push_latin1(value);
                if is_host {
                    special.host_at = Some(value);
                }
                headers.push((key, value));
            }
        }
    }

    // Each joined value is written once: joined as each repeat came, the value so far was
    // copied every time and never freed (255 repeats of a 1 KB value held 128 times the
    // head, 36 MB per request; 100 such clients, 2.1 GB).
    if !repeats.is_empty() {
        for (i, header) in headers.iter_mut().enumerate() {
            let mut more = repeats.iter().filter(|r| r.0 == i).map(|r| r.1).peekable();
            if more.peek().is_some() {
                let separator = joining_separator(text.get(header.0));
                header.1 = text.push_copy_with(header.1, |t| {
                    for value in more {
                        t.push_str(separator);
                        push_latin1(t, value);
                    }
                });
            }
        }
    }

    let host = resolve_host(&line, &special, &mut text, &mut headers)?;
    let framing = resolve_framing(version, &special, limits, &mut text, &mut headers)?;
    let keep_alive = {
        let has = |token: &[u8]| {
            special
                .connection
                .iter()
                .flat_map(list_elements)
                .any(|e| e.eq_ignore_ascii_case(token))
        };
        // RFC 9110 §9.3.6: after a 2xx to CONNECT the client and any proxy on the way treat
        // the connection as a tunnel, so nothing after the request may be read as HTTP: a
        // request sent through such a tunnel would reach the app as if from the proxy, past
        // its rules (waitress answers it). An app cannot tunnel, so the connection ends.
        line.form != TargetForm::Authority
            && match version {
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
        text,
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

/// Appends a header name (a token, so ASCII) in waitress's CGI form: upper case, `-` as `_`.
/// By segment rather than by char, which was 3,200 instructions per request with eight
/// browser-like headers.
fn push_cgi_name(out: &mut String, name: &[u8]) {
    for (i, part) in name.split(|&b| b == b'-').enumerate() {
        if i > 0 {
            out.push('_');
        }
        let start = out.len();
        push_latin1(out, part);
        if let Some(pushed) = out.get_mut(start..) {
            pushed.make_ascii_uppercase();
        }
    }
}

/// A header name's byte as it is in its CGI key (`content-type` -> `CONTENT_TYPE`): the mapping
/// `push_cgi_name` makes by segment, for code that compares a name with a key byte by byte.
pub fn cgi_byte(b: u8) -> u8 {
    if b == b'-' {
        b'_'
    } else {
        b.to_ascii_uppercase()
    }
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
    text: &mut Text,
    headers: &mut [(Span, Span)],
) -> Result<Option<Span>, HttpError> {
    let header_host = match special.hosts.first {
        _ if special.hosts.is_repeated() => {
            return Err(HttpError::bad_request("Duplicate header: Host"));
        }
        None if line.version == Version::Http11 => {
            return Err(HttpError::bad_request("Missing Host header"));
        }
        None => None,
        Some(value) => {
            // RFC 9112 §3.2: an empty Host is what a client sends for a target URI without an
            // authority; waitress accepts it too. (`:80` is refused: an http URI's host may not
            // be empty, RFC 9110 §4.2.1.)
            if value.is_empty() {
                None
            } else if valid_authority(value, false) {
                Some(value)
            } else {
                return Err(HttpError::bad_request("Invalid Host header"));
            }
        }
    };
    if line.form == TargetForm::Absolute {
        if let Some(authority) = line.authority {
            // The app must see the same host the server routes by.
            if let Some((_, v)) = headers.iter_mut().find(|(n, _)| text.get(*n) == "HOST") {
                *v = authority;
            }
            return Ok(Some(authority));
        }
    }
    // Shared with the HOST header's value, which is already in the text.
    Ok(header_host.map(|value| special.host_at.unwrap_or_else(|| text.push_latin1(value))))
}

fn resolve_framing(
    version: Version,
    special: &Special<'_>,
    limits: &Limits,
    text: &mut Text,
    headers: &mut [(Span, Span)],
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
        let mut codings = special.transfer_encodings.iter().flat_map(list_elements);
        let Some(mut last) = codings.next() else {
            return Err(HttpError::bad_request("Transfer-Encoding is empty"));
        };
        let is_chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
        let (mut chunked_before, mut any_before) = (false, false);
        for coding in codings {
            chunked_before |= is_chunked(last);
            any_before = true;
            last = coding;
        }
        // RFC 9112 §6.1: chunked MUST NOT be applied more than once; §6.3(4): with any other
        // coding last the body's length cannot be known, which MUST be a 400 and a close
        // (waitress answers `gzip` or `identity` alone with a 501, RFC 9112 §6.1's SHOULD
        // for a coding it does not know, which §6.3's MUST overrides).
        if chunked_before && is_chunked(last) {
            return Err(HttpError::bad_request(
                "Transfer-Encoding: chunked applied twice",
            ));
        }
        if !is_chunked(last) {
            return Err(HttpError::bad_request(
                "Transfer-Encoding: the final coding is not chunked",
            ));
        }
        // chunked last, after a coding this server does not decode (`gzip, chunked`).
        if any_before {
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
    for value in special.content_lengths.iter() {
        for element in value.split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(element)).ok_or_else(cl_invalid)?;
            match length {
                Some(prev) if prev != n => return Err(cl_invalid()),
                _ => length = Some(n),
            }
        }
    }
    let length = length.ok_or_else(cl_invalid)?;
    if special.content_lengths.is_repeated()
        || special.content_lengths.iter().any(|v| v.contains(&b','))
    {
        // The app sees one value, not "3, 3".
        if let Some((_, v)) = headers
            .iter_mut()
            .find(|(n, _)| text.get(*n) == "CONTENT_LENGTH")
        {
            *v = text.push_str(&super::decimal(length));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_header_size: usize, max_body_size: u64) -> Limits {
        Limits {
            max_header_size,
            max_body_size,
        }
    }

    /// Scans `raw` whole and parses the head it finds.
    fn parse_with(raw: &[u8], limits: &Limits) -> Result<Head, HttpError> {
        let mut scanner = HeadScanner::new();
        match scanner.scan(raw, limits)? {
            HeadStatus::Complete { start, end } => parse_head(&raw[start..end], limits),
            HeadStatus::Partial => panic!("head incomplete: {raw:?}"),
        }
    }

    fn parse(raw: &[u8]) -> Result<Head, HttpError> {
        parse_with(raw, &Limits::default())
    }

    /// `(status, detail)` of a refused request.
    fn refused(raw: &[u8]) -> (u16, String) {
        match parse(raw) {
            Ok(head) => panic!("accepted {raw:?}: {head:?}"),
            Err(e) => (e.status, e.detail.into_owned()),
        }
    }

    fn post(extra: &str) -> Vec<u8> {
        format!("POST / HTTP/1.1\r\nHost: a\r\n{extra}\r\n").into_bytes()
    }

    #[test]
    fn find_head_end_finds_the_first_empty_line() {
        for s in [
            &b""[..],
            b"\r\n\r\n",
            b"a\r\n\r\n",
            b"a\r\nb\r\n\r\n\r\n",
            b"\n\r\n\r\n",
            b"a\r\n\r",
            b"\r\r\n\r\n",
            b"a\n\n\r\n",
        ] {
            let windows = s.windows(4).position(|w| w == b"\r\n\r\n");
            assert_eq!(find_head_end(s), windows, "{s:?}");
        }
    }

    #[test]
    fn split_lf_splits_like_slice_split() {
        for s in [&b""[..], b"\n", b"a", b"a\n", b"\na", b"a\nb\n\nc", b"\n\n"] {
            let ours: Vec<&[u8]> = split_lf(s).collect();
            let std: Vec<&[u8]> = s.split(|&b| b == b'\n').collect();
            assert_eq!(ours, std, "{s:?}");
        }
    }

    #[test]
    fn simple_get() {
        let h = parse(b"GET /a%20b/?q=1&r=%41#frag HTTP/1.1\r\nHost: example.com:9000\r\nX-Multi: a\r\nx-multi: b\r\n\r\n").unwrap();
        assert_eq!(h.method(), "GET");
        assert_eq!(h.target(), "/a%20b/?q=1&r=%41#frag");
        assert_eq!(h.form, TargetForm::Origin);
        assert_eq!(h.path(), "/a%20b/");
        assert_eq!(h.query(), "q=1&r=%41");
        assert_eq!(h.authority(), None);
        assert_eq!(h.version, Version::Http11);
        assert_eq!(h.host(), Some("example.com:9000"));
        assert_eq!(h.header("HOST"), Some("example.com:9000"));
        assert_eq!(h.header("X_MULTI"), Some("a, b"));
        assert_eq!(h.framing, Framing::None);
        assert!(h.keep_alive);
        assert!(!h.expect_continue);
    }

    // ---- Content-Length (http-hardening.md §2, "strict" column) ----

    #[test]
    fn content_length_table() {
        let cases: &[(&str, &[u8], Result<u64, u16>)] = &[
            (
                "CL-01",
                b"Content-Length: 1\r\nContent-Length: 2\r\n",
                Err(400),
            ),
            ("CL-02", b"Content-Length: 1, 2\r\n", Err(400)),
            (
                "CL-03",
                b"Content-Length: 3\r\nContent-Length: 3\r\n",
                Ok(3),
            ),
            ("CL-03b", b"Content-Length: 3, 3\r\n", Ok(3)),
            ("CL-04", b"Content-Length: +3\r\n", Err(400)),
            ("CL-05", b"Content-Length: -1\r\n", Err(400)),
            ("CL-06", b"Content-Length: 0x3\r\n", Err(400)),
            ("CL-07", b"Content-Length: 1Z\r\n", Err(400)),
            ("CL-08", b"Content-Length: 1_0\r\n", Err(400)),
            ("CL-09", b"Content-Length: \r\n", Err(400)),
            ("CL-10", b"Content-Length: 4 2\r\n", Err(400)),
            (
                "CL-11",
                b"Content-Length: 1000000000000000000000\r\n",
                Err(400),
            ),
            ("CL-12", b"Content-Length: 3e0\r\n", Err(400)),
            ("CL-12b", b"Content-Length: 3.0\r\n", Err(400)),
            ("CL-13", b"Content-Length: 003\r\n", Ok(3)),
            ("CL-14", b"Content-Length : 3\r\n", Err(400)),
            ("CL-15", b"Content-Length:\x0b3\r\n", Err(400)),
            ("CL-16", b"Content-Length: 1073741824\r\n", Err(413)),
            ("empty element", b"Content-Length: 3,\r\n", Err(400)),
            ("trailing VT", b"Content-Length: 3\x0b\r\n", Err(400)),
            ("NBSP", b"Content-Length: \xa03\r\n", Err(400)),
            ("tab trimmed", b"Content-Length:\t3\t\r\n", Ok(3)),
            ("zero", b"Content-Length: 0\r\n", Ok(0)),
            (
                "just under",
                b"Content-Length: 1073741823\r\n",
                Ok(1_073_741_823),
            ),
        ];
        for (id, line, want) in cases {
            let mut raw = b"POST / HTTP/1.1\r\nHost: a\r\n".to_vec();
            raw.extend_from_slice(line);
            raw.extend_from_slice(b"\r\n");
            match (parse(&raw), want) {
                (Ok(h), Ok(n)) => {
                    let want_framing = if *n == 0 {
                        Framing::None
                    } else {
                        Framing::Length(*n)
                    };
                    assert_eq!(h.framing, want_framing, "{id}");
                }
                (Err(e), Err(status)) => {
                    assert_eq!(e.status, *status, "{id}: {e}");
                    assert_eq!(e.version, Some(Version::Http11), "{id}");
                    // CL-14/15 and the control-character cases fail as field syntax, before CL.
                    if *status == 400 && !matches!(*id, "CL-14" | "CL-15" | "trailing VT") {
                        assert_eq!(e.detail, "Content-Length is invalid", "{id}");
                    }
                }
                (got, _) => panic!("{id}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn repeated_cookie_headers_are_joined_as_one_cookie_list() {
        let req = b"GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nX-C: 1\r\ncookie: b=2\r\nCOOKIE: c=3\r\nX-C: 2\r\n\r\n";
        let h = parse_head(req, &Limits::default()).unwrap();
        assert_eq!(h.header("COOKIE"), Some("a=1; b=2; c=3"));
        assert_eq!(h.header("X_C"), Some("1, 2"));
    }

    #[test]
    fn repeated_headers_are_joined_in_order_in_linear_space() {
        let value = "v".repeat(1000);
        let mut req = String::from("GET / HTTP/1.1\r\nHost: h\r\nX-A: first\r\nX-B: b\r\n");
        for i in 0..250 {
            req.push_str(&format!("x-a: {i}{value}\r\n"));
        }
        req.push_str("X-B: b2\r\n\r\n");
        let limits = Limits {
            max_header_size: 1 << 20,
            ..Limits::default()
        };
        let h = parse_head(req.as_bytes(), &limits).unwrap();
        let joined = h.header("X_A").unwrap();
        assert!(joined.starts_with("first, 0vvv"));
        assert!(joined.ends_with(&format!(", 249{value}")));
        assert_eq!(joined.matches(", ").count(), 250);
        assert_eq!(h.header("X_B"), Some("b, b2"));
        // The value written once more, joined, beside the first values: not once per repeat.
        assert!(
            h.text.0.len() < 3 * req.len(),
            "{} for {}",
            h.text.0.len(),
            req.len()
        );
    }

    #[test]
    fn duplicate_content_length_is_shown_once() {
        let h = parse(&post("Content-Length: 3\r\nContent-Length: 3\r\n")).unwrap();
        assert_eq!(h.header("CONTENT_LENGTH"), Some("3"));
        let h = parse(&post("Content-Length: 003\r\n")).unwrap();
        assert_eq!(h.header("CONTENT_LENGTH"), Some("003"));
    }

    #[test]
    fn body_limit_413_boundary() {
        let l = limits(262_144, 1000);
        let err = parse_with(&post("Content-Length: 1000\r\n"), &l).unwrap_err();
        assert_eq!(err.status, 413);
        assert_eq!(err.detail, "exceeds max_body of 1000");
        assert_eq!(err.version, Some(Version::Http11));
        let h = parse_with(&post("Content-Length: 999\r\n"), &l).unwrap();
        assert_eq!(h.framing, Framing::Length(999));
        // CL 0 never hits the limit, even a limit of 0.
        let h = parse_with(&post("Content-Length: 0\r\n"), &limits(1000, 0)).unwrap();
        assert_eq!(h.framing, Framing::None);
    }

    // ---- Transfer-Encoding ----

    #[test]
    fn transfer_encoding_table() {
        let cases: &[(&[u8], Result<(), u16>)] = &[
            (b"Transfer-Encoding: chunked\r\n", Ok(())),
            (b"Transfer-Encoding: CHUNKED\r\n", Ok(())),
            (b"Transfer-Encoding: ,chunked\r\n", Ok(())),
            (b"Transfer-Encoding: chunked,\r\n", Ok(())),
            (b"Transfer-Encoding: \t chunked \t\r\n", Ok(())),
            (b"Transfer-Encoding: chunked, ,\r\n", Ok(())),
            (
                b"Transfer-Encoding:\r\nTransfer-Encoding: chunked\r\n",
                Ok(()),
            ),
            (b"Transfer-Encoding: gzip, chunked\r\n", Err(501)),
            (
                b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
                Err(501),
            ),
            (b"Transfer-Encoding: identity\r\n", Err(400)),
            (b"Transfer-Encoding: gzip\r\n", Err(400)),
            (b"Transfer-Encoding: \x85chunked\r\n", Err(400)),
            (b"Transfer-Encoding: chunked\xa0\r\n", Err(400)),
            (b"Transfer-Encoding: chun\xe2\x84\xaaed\r\n", Err(400)),
            (b"Transfer-Encoding: chunked;q=1\r\n", Err(400)),
            (b"Transfer-Encoding: xchunked\r\n", Err(400)),
            (b"Transfer-Encoding: chunked, chunked\r\n", Err(400)),
            (
                b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                Err(400),
            ),
            (b"Transfer-Encoding: chunked, gzip\r\n", Err(400)),
            (b"Transfer-Encoding: \r\n", Err(400)),
            (b"Transfer-Encoding: , ,\r\n", Err(400)),
            (b"Transfer-Encoding:\x0bchunked\r\n", Err(400)),
            (b"Transfer-Encoding : chunked\r\n", Err(400)),
            (
                b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                Err(400),
            ),
            (
                b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                Err(400),
            ),
            (
                b"Transfer-Encoding: gzip\r\nContent-Length: 3\r\n",
                Err(400),
            ),
            (b"Transfer-Encoding: chunked\r\n folded\r\n", Err(400)),
        ];
        for (line, want) in cases {
            let mut raw = b"POST / HTTP/1.1\r\nHost: a\r\n".to_vec();
            raw.extend_from_slice(line);
            raw.extend_from_slice(b"\r\n");
            match (parse(&raw), want) {
                (Ok(h), Ok(())) => {
                    assert_eq!(h.framing, Framing::Chunked, "{line:?}");
                    assert_eq!(h.header("TRANSFER_ENCODING"), None);
                }
                (Err(e), Err(status)) => {
                    assert_eq!(e.status, *status, "{line:?}: {e}");
                    if *status == 501 {
                        assert_eq!(e.detail, "Transfer-Encoding requested is not supported.");
                    }
                }
                (got, _) => panic!("{line:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn transfer_encoding_on_http10_is_refused() {
        let (status, _) =
            refused(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n");
        assert_eq!(status, 400);
        let (status, _) = refused(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(status, 400);
    }

    // ---- Request line ----

    #[test]
    fn request_line_table() {
        let cases: &[(&[u8], u16, &str)] = &[
            (b"GARBAGE", 400, "Start line is invalid"),
            (b"GET  / HTTP/1.1", 400, "Start line is invalid"),
            (b"GET /  HTTP/1.1", 400, "Start line is invalid"),
            (b"GET / HTTP/1.1 ", 400, "Start line is invalid"),
            (b" GET / HTTP/1.1", 400, "Start line is invalid"),
            (b"\x0bGET / HTTP/1.1", 400, "Start line is invalid"),
            (b"GET\t/ HTTP/1.1", 400, "Start line is invalid"),
            (b"GET /", 400, "Start line is invalid"),
            (b"GET / HTTP/1.10", 400, "Start line is invalid"),
            (b"GET / http/1.1", 400, "Start line is invalid"),
            (b"GET / HTTP/1", 400, "Start line is invalid"),
            (b"GET / HTTP/a.1", 400, "Start line is invalid"),
            (b"GET / HTTP/1.1x", 400, "Start line is invalid"),
            (b"G@T / HTTP/1.1", 400, "Start line is invalid"),
            (b"\x00 / HTTP/1.1", 400, "Start line is invalid"),
            (
                b"GET / HTTP/............0596.7407.",
                400,
                "Start line is invalid",
            ),
            (b"get / HTTP/1.1", 400, "Malformed HTTP method \"get\""),
            (b"Get / HTTP/1.1", 400, "Malformed HTTP method \"Get\""),
            (b"GET /a b HTTP/1.1", 400, "Start line is invalid"),
            (b"GET /caf\xc3\xa9 HTTP/1.1", 400, "Bad URI"),
            (b"GET /\x7f HTTP/1.1", 400, "Bad URI"),
            (b"GET /\x01 HTTP/1.1", 400, "Bad URI"),
            (b"GET * HTTP/1.1", 400, "Bad URI"),
            (b"GET a.com:80 HTTP/1.1", 400, "Bad URI"),
            (b"GET a HTTP/1.1", 400, "Bad URI"),
            (b"GET ftp://a/ HTTP/1.1", 400, "Bad URI"),
            (b"GET http://u@a/ HTTP/1.1", 400, "Bad URI"),
            (b"GET http:///p HTTP/1.1", 400, "Bad URI"),
            (b"GET http://[::1/ HTTP/1.1", 400, "Bad URI"),
            (b"GET http://a:99999/ HTTP/1.1", 400, "Bad URI"),
            (b"CONNECT / HTTP/1.1", 400, "Bad URI"),
            (b"CONNECT a.com HTTP/1.1", 400, "Bad URI"),
            (b"GET / HTTP/2.0", 505, ""),
            (b"GET / HTTP/3.0", 505, ""),
            (b"GET / HTTP/0.9", 505, ""),
            (b"GET / HTTP/9.9", 505, ""),
        ];
        for (line, status, detail) in cases {
            let mut raw = line.to_vec();
            raw.extend_from_slice(b"\r\nHost: a\r\n\r\n");
            let err = parse(&raw).unwrap_err();
            assert_eq!(err.status, *status, "{line:?}: {err}");
            if !detail.is_empty() {
                assert_eq!(err.detail, *detail, "{line:?}");
            }
        }
    }

    #[test]
    fn error_version_follows_the_request_line() {
        // Not understood: answered as HTTP/1.0 (None).
        assert_eq!(parse(b"GARBAGE\r\n\r\n").unwrap_err().version, None);
        assert_eq!(
            parse(b"get / HTTP/1.1\r\nHost: a\r\n\r\n")
                .unwrap_err()
                .version,
            None
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\rX: y\r\n\r\n").unwrap_err().version,
            None
        );
        // Understood: the request's version.
        let err = parse(b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n").unwrap_err();
        assert_eq!(err.version, Some(Version::Http11));
        let err = parse(b"GET / HTTP/1.0\r\nX-Ctl: a\x01b\r\n\r\n").unwrap_err();
        assert_eq!(err.version, Some(Version::Http10));
    }

    #[test]
    fn versions() {
        let v = |line: &[u8]| {
            let mut raw = line.to_vec();
            raw.extend_from_slice(b"\r\nHost: a\r\n\r\n");
            parse(&raw).unwrap().version
        };
        assert_eq!(v(b"GET / HTTP/1.0"), Version::Http10);
        assert_eq!(v(b"GET / HTTP/1.1"), Version::Http11);
        assert_eq!(v(b"GET / HTTP/1.2"), Version::Http11);
        assert_eq!(v(b"GET / HTTP/1.9"), Version::Http11);
    }

    #[test]
    fn target_forms() {
        let h = parse(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!((h.form, h.path()), (TargetForm::Asterisk, "*"));

        let h =
            parse(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").unwrap();
        assert_eq!(h.form, TargetForm::Authority);
        assert_eq!(h.path(), "");
        assert_eq!(h.authority(), Some("example.com:443"));
        assert!(!h.keep_alive, "nothing after a CONNECT is read as HTTP");

        let h = parse(b"GET //double//slash HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(h.path(), "//double//slash");

        let h = parse(b"GET /p?a?b HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!((h.path(), h.query()), ("/p", "a?b"));

        // The parts are spans within the target: the fragment must fall outside both.
        let h = parse(b"GET /p?q#f HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!((h.target(), h.path(), h.query()), ("/p?q#f", "/p", "q"));
        let h = parse(b"GET /p#f?x HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!((h.path(), h.query()), ("/p", ""));
        let h = parse(b"GET http://h?x#f HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!((h.path(), h.query(), h.authority()), ("/", "x", Some("h")));
    }

    #[test]
    fn absolute_form_takes_the_host_from_the_target() {
        let h = parse(b"GET http://h:81/p?q#f HTTP/1.1\r\nHost: other\r\n\r\n").unwrap();
        assert_eq!(h.form, TargetForm::Absolute);
        assert_eq!(h.authority(), Some("h:81"));
        assert_eq!(h.host(), Some("h:81"));
        assert_eq!(h.header("HOST"), Some("h:81"));
        assert_eq!((h.path(), h.query()), ("/p", "q"));

        let h = parse(b"GET HTTPS://[::1]:8443 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(h.host(), Some("[::1]:8443"));
        assert_eq!(h.path(), "/");

        let h = parse(b"GET http://h/?x HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(h.host(), Some("h"));

        // The Host header is still required on HTTP/1.1 (RFC 9112 §3.2).
        let (status, detail) = refused(b"GET http://h/ HTTP/1.1\r\n\r\n");
        assert_eq!((status, detail.as_str()), (400, "Missing Host header"));
    }

    #[test]
    fn target_length_cap_is_414() {
        let mut raw = b"GET /".to_vec();
        raw.extend(std::iter::repeat_n(b'a', MAX_TARGET_LEN));
        raw.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
        let err = parse(&raw).unwrap_err();
        assert_eq!((err.status, err.version), (414, Some(Version::Http11)));

        let mut raw = b"GET /".to_vec();
        raw.extend(std::iter::repeat_n(b'a', MAX_TARGET_LEN - 1));
        raw.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(parse(&raw).is_ok());
    }

    #[test]
    fn limits_have_the_documented_sizes_and_are_inclusive() {
        // README: targets up to 64 KiB are parsed (414 past that).
        let mut raw = b"GET /".to_vec();
        raw.extend(std::iter::repeat_n(b'a', 60 * 1024));
        raw.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(parse(&raw).is_ok());
        // A method of exactly MAX_METHOD_LEN bytes is still parsed.
        let mut raw = vec![b'X'; MAX_METHOD_LEN];
        raw.extend_from_slice(b" / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(parse(&raw).unwrap().method().len(), MAX_METHOD_LEN);
    }

    #[test]
    fn request_line_errors_know_whether_they_answer_a_head() {
        // An error page for HEAD must go out without a body (RFC 9110 §9.3.2).
        for target in [&b"/caf\xc3\xa9"[..], b"*"] {
            for (method, head) in [(&b"HEAD"[..], true), (b"GET", false)] {
                let mut raw = method.to_vec();
                raw.push(b' ');
                raw.extend_from_slice(target);
                raw.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
                let err = parse(&raw).unwrap_err();
                assert_eq!((err.status, err.head_request), (400, head), "{raw:?}");
            }
        }
        let h = parse(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert!(h.is_head());
        let h = parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert!(!h.is_head());
    }

    #[test]
    fn overlong_method_is_501() {
        let mut raw = vec![b'X'; MAX_METHOD_LEN + 1];
        raw.extend_from_slice(b" / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(parse(&raw).unwrap_err().status, 501);
    }

    // ---- Header fields ----

    #[test]
    fn header_field_table() {
        let bad: &[(&[u8], &str)] = &[
            (b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", "Bare CR or LF found in HTTP message"),
            (b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", "Bare CR or LF found in HTTP message"),
            (b"GET / HTTP/1.1\rX: y\r\nHost: a\r\n\r\n", "Bare CR or LF found in HTTP message"),
            (b"GET / HTTP/1.1\nHost: a\r\n\r\n", "Bare CR or LF found in HTTP message"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\rb\r\n\r\n", "Bare CR or LF found in HTTP message"),
            // CVE-2019-16785: a bare LF hiding a second Content-Length.
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\nX-Header: x\nContent-Length: 0\r\n\r\n", "Bare CR or LF found in HTTP message"),
            (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", "Obsolete line folding is not allowed"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", "Obsolete line folding is not allowed"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", "Obsolete line folding is not allowed"),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", "Invalid header"),
            (b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", "Invalid header"),
            (b"GET / HTTP/1.1\r\nHost: a\r\n: novalue\r\n\r\n", "Invalid header"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", "Invalid header"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX@Bad: a\r\n\r\n", "Invalid header"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX-Ctl: a\x01b\r\n\r\n", "Invalid header"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX-Del: a\x7fb\r\n\r\n", "Invalid header"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX-Nul: a\x00b\r\n\r\n", "Invalid header"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nfoo:\x0bbar\r\n\r\n", "Invalid header"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nfoo: \x0cbaz\r\n\r\n", "Invalid header"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nfoo: \t\x0bbaz\r\n\r\n", "Invalid header"),
            // CVE-2020-5236: must be a fast 400, not backtracking.
            (b"GET / HTTP/1.1\r\nHost: a\r\nBad-header: xxxxxxxxxxxxxxx\x10\r\n\r\n", "Invalid header"),
            // Header names with `_` are still validated before being dropped.
            (b"GET / HTTP/1.1\r\nHost: a\r\nX_Y: a\x00\r\n\r\n", "Invalid header"),
        ];
        for (raw, detail) in bad {
            let (status, got) = refused(raw);
            assert_eq!((status, got.as_str()), (400, *detail), "{raw:?}");
        }
    }

    #[test]
    fn header_values_and_names() {
        let h = parse(
            b"GET / HTTP/1.1\r\nHost: a\r\nUser: \x85admin\xa0\r\nX-Hi: \xe9\xff\r\nX.Dot: 1\r\nX!Bang: 2\r\nX-Tab: \t a \t b \t\r\nX-Empty:\r\nX_Under: dropped\r\nContent_Length: 5\r\nx-multi: a\r\nX-MULTI: b\r\n\r\n",
        )
        .unwrap();
        assert_eq!(h.header("USER"), Some("\u{85}admin\u{a0}"));
        assert_eq!(h.header("X_HI"), Some("\u{e9}\u{ff}"));
        assert_eq!(h.header("X.DOT"), Some("1"));
        assert_eq!(h.header("X!BANG"), Some("2"));
        assert_eq!(h.header("X_TAB"), Some("a \t b"));
        assert_eq!(h.header("X_EMPTY"), Some(""));
        assert_eq!(h.header("X_UNDER"), None);
        assert_eq!(h.header("CONTENT_LENGTH"), None);
        assert_eq!(h.framing, Framing::None, "Content_Length must not frame");
        assert_eq!(h.header("X_MULTI"), Some("a, b"));
        let names: Vec<&str> = h.headers().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "HOST", "USER", "X_HI", "X.DOT", "X!BANG", "X_TAB", "X_EMPTY", "X_MULTI"
            ]
        );
    }

    #[test]
    fn header_line_cap_is_431() {
        let mut raw = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..MAX_HEADER_LINES {
            raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        let err = parse(&raw).unwrap_err();
        assert_eq!((err.status, err.version), (431, Some(Version::Http11)));

        let mut raw = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..MAX_HEADER_LINES - 1 {
            raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        assert!(parse(&raw).is_ok());
    }

    // ---- Host ----

    /// The host a request resolves to, or the detail of its 400.
    type HostOutcome = Result<Option<&'static str>, &'static str>;

    #[test]
    fn host_table() {
        let cases: &[(&[u8], HostOutcome)] = &[
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Ok(Some("a"))),
            (
                b"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
                Ok(Some("example.com:8080")),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                Ok(Some("127.0.0.1")),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n",
                Ok(Some("[2001:db8::1]:80")),
            ),
            (b"GET / HTTP/1.1\r\nHost: a%41b\r\n\r\n", Ok(Some("a%41b"))),
            (b"GET / HTTP/1.1\r\nhOsT: a\r\n\r\n", Ok(Some("a"))),
            (b"GET / HTTP/1.0\r\n\r\n", Ok(None)),
            (b"GET / HTTP/1.0\r\nHost:\r\n\r\n", Ok(None)),
            (b"GET / HTTP/1.0\r\nHost: b\r\n\r\n", Ok(Some("b"))),
            (b"GET / HTTP/1.1\r\n\r\n", Err("Missing Host header")),
            (
                b"GET / HTTP/1.1\r\nHost_: a\r\n\r\n",
                Err("Missing Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                Err("Duplicate header: Host"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
                Err("Duplicate header: Host"),
            ),
            (
                b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
                Err("Duplicate header: Host"),
            ),
            (b"GET / HTTP/1.1\r\nHost:\r\n\r\n", Ok(None)),
            (b"GET / HTTP/1.1\r\nHost:  \r\n\r\n", Ok(None)),
            (
                b"GET / HTTP/1.1\r\nHost: :80\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: evil.com/../x\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a:\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: []\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a%4\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: \xe9\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n",
                Err("Invalid Host header"),
            ),
            (
                b"GET / HTTP/1.0\r\nHost: a b\r\n\r\n",
                Err("Invalid Host header"),
            ),
        ];
        for (raw, want) in cases {
            match (parse(raw), want) {
                (Ok(h), Ok(host)) => assert_eq!(h.host(), *host, "{raw:?}"),
                (Err(e), Err(detail)) => {
                    assert_eq!((e.status, &*e.detail), (400, *detail), "{raw:?}");
                }
                (got, _) => panic!("{raw:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    // ---- Connection and Expect ----

    #[test]
    fn host_ip_literals_and_pct_encoding() {
        for host in ["[g::1]", "[::1/x]", "ab%41@", "ab%41%zz"] {
            let raw = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
            let (status, detail) = refused(raw.as_bytes());
            assert_eq!(
                (status, detail.as_str()),
                (400, "Invalid Host header"),
                "{host}"
            );
        }
        for host in ["[::1]", "[::ffff:192.0.2.1]:8080", "ab%41", "%41b"] {
            let raw = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
            let h = parse(raw.as_bytes()).unwrap_or_else(|e| panic!("{host}: {e}"));
            assert_eq!(h.host(), Some(host));
        }
    }

    #[test]
    fn keep_alive_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("1.1", "", true),
            ("1.1", "Connection: close\r\n", false),
            ("1.1", "Connection: CLOSE\r\n", false),
            ("1.1", "Connection: keep-alive, close\r\n", false),
            ("1.1", "Connection: foo,\t close \r\n", false),
            ("1.1", "Connection: foo\r\nConnection: close\r\n", false),
            ("1.1", "Connection: closed\r\n", true),
            ("1.1", "Connection: keep-alive\r\n", true),
            ("1.0", "", false),
            ("1.0", "Connection: keep-alive\r\n", true),
            ("1.0", "Connection: Keep-Alive\r\n", true),
            ("1.0", "Connection: upgrade, keep-alive\r\n", true),
            ("1.0", "Connection: keep-alive, close\r\n", false),
            ("1.0", "Connection: keep-alives\r\n", false),
        ];
        for (v, extra, want) in cases {
            let raw = format!("GET / HTTP/{v}\r\nHost: a\r\n{extra}\r\n");
            let h = parse(raw.as_bytes()).unwrap();
            assert_eq!(h.keep_alive, *want, "{raw:?}");
        }
    }

    #[test]
    fn expect_continue_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("1.1", "Expect: 100-continue\r\nContent-Length: 5\r\n", true),
            (
                "1.1",
                "Expect: 100-Continue\r\nTransfer-Encoding: chunked\r\n",
                true,
            ),
            ("1.1", "Expect: 100-continue\r\n", false),
            (
                "1.1",
                "Expect: 100-continue\r\nContent-Length: 0\r\n",
                false,
            ),
            (
                "1.0",
                "Expect: 100-continue\r\nContent-Length: 5\r\n",
                false,
            ),
            ("1.1", "Expect: 200-ok\r\nContent-Length: 5\r\n", false),
        ];
        for (v, extra, want) in cases {
            let raw = format!("POST / HTTP/{v}\r\nHost: a\r\n{extra}\r\n");
            let h = parse(raw.as_bytes()).unwrap();
            assert_eq!(h.expect_continue, *want, "{raw:?}");
        }
    }

    // ---- The head scanner and the 431 boundary ----

    /// A head of exactly `len` bytes.
    fn head_of_len(len: usize) -> Vec<u8> {
        let base = b"GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n".len();
        let mut raw = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        raw.extend(std::iter::repeat_n(b'v', len - base));
        raw.extend_from_slice(b"\r\n\r\n");
        assert_eq!(raw.len(), len);
        raw
    }

    #[test]
    fn header_limit_boundary_999_vs_1000() {
        let l = limits(1000, 1000);
        let raw = head_of_len(999);
        assert_eq!(
            HeadScanner::new().scan(&raw, &l),
            Ok(HeadStatus::Complete { start: 0, end: 999 })
        );
        assert!(parse_head(&head_of_len(999), &l).is_ok());
        assert_eq!(parse_head(&head_of_len(1000), &l).unwrap_err().status, 431);
        let err = HeadScanner::new().scan(&head_of_len(1000), &l).unwrap_err();
        assert_eq!((err.status, err.version), (431, None));
        assert_eq!(err.detail, "exceeds max_header of 1000");

        // Without a terminator: 431 as soon as 1000 bytes are buffered.
        let mut s = HeadScanner::new();
        assert_eq!(s.scan(&[b'a'; 999], &l), Ok(HeadStatus::Partial));
        assert_eq!(s.scan(&[b'a'; 1000], &l).unwrap_err().status, 431);

        // Leading CRLFs count toward the limit.
        let mut raw = b"\r\n\r\n".to_vec();
        raw.extend_from_slice(&head_of_len(996));
        assert_eq!(HeadScanner::new().scan(&raw, &l).unwrap_err().status, 431);
    }

    #[test]
    fn pipelined_bytes_after_the_head_do_not_count() {
        let l = limits(1000, 1000);
        let mut raw = head_of_len(500);
        raw.extend_from_slice(&[b'x'; 2000]);
        assert_eq!(
            HeadScanner::new().scan(&raw, &l),
            Ok(HeadStatus::Complete { start: 0, end: 500 })
        );
    }

    #[test]
    fn scanner_skips_leading_empty_lines_and_works_byte_by_byte() {
        let raw = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT";
        let l = Limits::default();
        let mut s = HeadScanner::new();
        let mut found = None;
        for n in 0..=raw.len() {
            if let HeadStatus::Complete { start, end } = s.scan(&raw[..n], &l).unwrap() {
                found = Some((n, start, end));
                break;
            }
        }
        let (n, start, end) = found.unwrap();
        assert_eq!((n, start, end), (raw.len() - 4, 4, raw.len() - 4));
        let h = parse_head(&raw[start..end], &l).unwrap();
        assert_eq!(h.method(), "GET");

        s.reset();
        assert_eq!(
            s.scan(b"GET / HTTP/1.1\r\n\r\n", &l),
            Ok(HeadStatus::Complete { start: 0, end: 18 })
        );
    }

    #[test]
    fn scanner_is_incremental() {
        // Each scan only looks at the new bytes (plus 3): feeding a 200 KB head in 1-byte
        // steps stays fast. A quadratic scanner would do ~2·10^10 byte compares here.
        let l = Limits::default();
        let mut raw = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        raw.extend(std::iter::repeat_n(b'v', 200_000));
        raw.extend_from_slice(b"\r\n\r\n");
        let mut s = HeadScanner::new();
        let start = std::time::Instant::now();
        for n in 1..raw.len() {
            assert_eq!(s.scan(&raw[..n], &l), Ok(HeadStatus::Partial));
        }
        assert!(matches!(s.scan(&raw, &l), Ok(HeadStatus::Complete { .. })));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn lone_cr_at_start_waits_then_goes_to_parser() {
        let l = Limits::default();
        let mut s = HeadScanner::new();
        assert_eq!(s.scan(b"\r", &l), Ok(HeadStatus::Partial));
        // `\rX` is not an empty line: it is the head, which the parser rejects as bare CR.
        let raw = b"\rXGET / HTTP/1.1\r\n\r\n";
        let Ok(HeadStatus::Complete { start, end }) = s.scan(raw, &l) else {
            panic!()
        };
        assert_eq!(parse_head(&raw[start..end], &l).unwrap_err().status, 400);
    }

    #[test]
    fn all_lf_request_is_refused_not_hung() {
        // waitress waits for the timeout; here the scanner waits for CRLFCRLF too, but a head
        // containing bare LFs is refused as soon as it is complete.
        let err = parse(b"GET / HTTP/1.1\nHost: x\n\r\n\r\n").unwrap_err();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn scanner_refuses_bare_line_ends_before_the_terminator() {
        // No CRLFCRLF yet, but a bare LF or CR can never become a valid head: 400 at once,
        // not a wait for a terminator an LF-only client never sends.
        let l = Limits::default();
        for raw in [
            &b"\n"[..],
            b"GET / HTTP/1.1\nHost: a\n",
            b"GET / HTTP/1.1\r\nHost: a\n",
            b"GET / HTTP/1.1\rHost: a",
            b"\r\n\nGET",
        ] {
            let err = HeadScanner::new()
                .scan(raw, &l)
                .expect_err(&format!("{raw:?}"));
            assert_eq!(
                (err.status, &*err.detail),
                (400, "Bare CR or LF found in HTTP message"),
                "{raw:?}"
            );
        }
        // A CR at the very end may still get its LF.
        for raw in [&b"GET / HTTP/1.1\r"[..], b"GET / HTTP/1.1\r\nHost: a\r\n\r"] {
            assert_eq!(
                HeadScanner::new().scan(raw, &l),
                Ok(HeadStatus::Partial),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn scanner_answers_as_if_the_bytes_came_one_by_one() {
        // Past max_header_size a client sending small reads already has its 431, so what lies
        // beyond must not change the answer when the same bytes arrive in one read. Before,
        // one read of a head with a bare LF early and its terminator past the limit got 431
        // (byte by byte: 400), and one read of a bare LF past the limit with no terminator
        // got 400 (byte by byte: 431).
        let l = limits(64, 1000);
        let long = "v".repeat(100);
        let cases: [(String, u16); 5] = [
            (format!("GET / HTTP/1.1\nHost: a\r\nX: {long}\r\n\r\n"), 400),
            (format!("GET / HTTP/1.1\r\nHost: a\r\nX: {long}\n"), 431),
            (
                format!("GET / HTTP/1.1\r\nHost: a\r\nX: {long}\r\n\r\n"),
                431,
            ),
            (
                format!("{}\nGET / HTTP/1.1\r\n\r\n", "\r\n".repeat(40)),
                431,
            ),
            // The terminator ends exactly at the limit, after a bare CR.
            (
                format!("GET / HTTP/1.1\r\nHost: a\rb\r\nX: {}\r\n\r\n", &long[..30]),
                400,
            ),
        ];
        for (raw, want) in cases {
            let raw = raw.as_bytes();
            let whole = HeadScanner::new().scan(raw, &l);
            let mut scanner = HeadScanner::new();
            let bytewise = (1..=raw.len())
                .map(|n| scanner.scan(&raw[..n], &l))
                .find(|r| r != &Ok(HeadStatus::Partial));
            assert_eq!(
                whole.clone().map_err(|e| e.status),
                Err(want),
                "{}",
                raw.escape_ascii()
            );
            assert_eq!(Some(whole), bytewise, "{}", raw.escape_ascii());
        }
    }

    #[test]
    fn head_without_terminator_is_refused_by_parse_head() {
        let err = parse_head(b"GET / HTTP/1.1\r\nHost: a\r\n", &Limits::default()).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(parse_head(b"", &Limits::default()).unwrap_err().status, 400);
    }

    #[test]
    fn no_input_panics() {
        // A cheap sweep over short byte strings: parse_head must answer, never panic.
        let alphabet = b"\r\n :/?#[]@%GET1H.Tx\x00\x80";
        let mut buf = Vec::new();
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    buf.clear();
                    buf.extend_from_slice(b"GET ");
                    buf.extend_from_slice(&[*a, *b, *c]);
                    buf.extend_from_slice(b" HTTP/1.1\r\nHost: ");
                    buf.extend_from_slice(&[*c, *b, *a]);
                    buf.extend_from_slice(b"\r\n\r\n");
                    let _ = parse_head(&buf, &Limits::default());
                    let _ = HeadScanner::new().scan(&buf, &Limits::default());
                }
            }
        }
    }

    /// Heads assembled from pieces of valid and hostile syntax, fed to the scanner whole and
    /// in random pieces as a client's writes would arrive: nothing panics, the outcome (the
    /// request, or the status of the error) does not depend on how the bytes were split, and
    /// whatever is accepted is clean (a token method, header values free of line breaks and
    /// other control characters, a body framed only one way, HTTP/1.1 with exactly one host).
    /// Deterministic and bounded (20,000 heads, a fraction of a second), so every `cargo test`
    /// runs it.
    #[test]
    fn assembled_heads_scan_the_same_in_pieces_and_accepted_ones_are_clean() {
        const METHODS: [&[u8]; 6] = [b"GET", b"POST", b"get", b"G@T", b"CONNECT", b""];
        const TARGETS: [&[u8]; 9] = [
            b"/",
            b"/a%2Fb?q=1#f",
            b"http://h:8/p",
            b"*",
            b"h:443",
            b"/a b",
            b"/\x00",
            b"//x",
            b"",
        ];
        const VERSIONS: [&[u8]; 6] = [
            b"HTTP/1.1",
            b"HTTP/1.0",
            b"HTTP/2.0",
            b"HTTP/1.10",
            b"http/1.1",
            b"",
        ];
        const FIELDS: [&[u8]; 22] = [
            b"Host: a",
            b"Host: b:80",
            b"Host:",
            b"Content-Length: 5",
            b"Content-Length: 5, 5",
            b"Content-Length: +5",
            b"Content-Length: 99999999999999999999999",
            b"Transfer-Encoding: chunked",
            b"Transfer-Encoding: gzip, chunked",
            b"Transfer-Encoding: chunked, gzip",
            b"Transfer-Encoding: chunked ",
            b"Connection: close",
            b"Connection: keep-alive",
            b"Expect: 100-continue",
            b" folded",
            b"X_Under: a",
            b"X-Ctl: a\x01b",
            b"X-Del: \x7f",
            b"Bad Name: a",
            b": empty",
            b"X-Bare: a\rb",
            b"X-Latin: caf\xe9",
        ];
        const ENDS: [&[u8]; 5] = [b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r"];

        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let limits = limits(1000, 1 << 20);
        let mut accepted = 0;
        for _ in 0..20_000 {
            // Mostly valid pieces (the first `valid` of each list), so that enough heads are
            // accepted for the checks on them to mean something.
            let mut pick = |list: &[&'static [u8]], valid: usize| {
                if next(8) < 7 {
                    list[next(valid)]
                } else {
                    list[next(list.len())]
                }
            };
            let mut raw = Vec::new();
            for _ in 0..pick(&[b"", b"", b"\r\n"], 2).len() {
                raw.extend_from_slice(b"\r\n");
            }
            raw.extend_from_slice(pick(&METHODS, 2));
            raw.push(b' ');
            raw.extend_from_slice(pick(&TARGETS, 3));
            raw.extend_from_slice(pick(&[b" ", b"  "], 1));
            raw.extend_from_slice(pick(&VERSIONS, 2));
            raw.extend_from_slice(pick(&ENDS, 1));
            raw.extend_from_slice(pick(&[b"Host: a\r\n", b""], 1));
            for _ in 0..pick(&[b"", b"1", b"22", b"333", b"4444"], 5).len() {
                raw.extend_from_slice(pick(&FIELDS, 14));
                raw.extend_from_slice(pick(&ENDS, 1));
            }
            raw.extend_from_slice(pick(&ENDS, 1));
            raw.extend_from_slice(b"body");

            // The head as one read delivers it, and as reads of a few bytes each deliver it (the
            // scanner sees each longer prefix): the same request, or the same error (a bare
            // LF is reported by the scanner while the head is incomplete, by the parser once it
            // is complete, in the same words).
            let outcome = |scan: Result<HeadStatus, HttpError>| -> Option<Result<Head, HttpError>> {
                match scan {
                    Ok(HeadStatus::Complete { start, end }) => {
                        Some(parse_head(&raw[start..end], &limits))
                    }
                    Ok(HeadStatus::Partial) => None,
                    Err(e) => Some(Err(e)),
                }
            };
            let once = outcome(HeadScanner::new().scan(&raw, &limits));
            let mut pieces = HeadScanner::new();
            let mut upto = 0;
            let in_pieces = loop {
                upto = (upto + 1 + next(7)).min(raw.len());
                match pieces.scan(&raw[..upto], &limits) {
                    Ok(HeadStatus::Partial) if upto < raw.len() => continue,
                    scan => break outcome(scan),
                }
            };
            let head = match (once, in_pieces) {
                (None, None) => continue,
                (Some(Ok(a)), Some(Ok(b))) if a == b => a,
                (Some(Err(a)), Some(Err(b))) if a == b => continue,
                (once, in_pieces) => panic!(
                    "{}: whole {once:?}, in pieces {in_pieces:?}",
                    raw.escape_ascii()
                ),
            };
            accepted += 1;
            let context = format!("{} -> {head:?}", raw.escape_ascii());
            assert!(!head.method().is_empty(), "{context}");
            assert!(
                head.method().bytes().all(|b| b.is_ascii_graphic()),
                "{context}"
            );
            for (name, value) in head.headers() {
                assert!(
                    !name.is_empty()
                        && name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()),
                    "{context}"
                );
                assert!(
                    !value
                        .chars()
                        .any(|c| (c.is_control() && c != '\t') || c == '\u{7f}'),
                    "{context}"
                );
            }
            if head.framing == Framing::Chunked {
                assert_eq!(head.version, Version::Http11, "{context}");
                assert!(head.header("CONTENT_LENGTH").is_none(), "{context}");
            }
            if head.version == Version::Http11 {
                // Exactly one Host: a value (never a joined list), or empty (no authority).
                let hosts = head.headers().filter(|(n, _)| *n == "HOST").count();
                assert_eq!(hosts, 1, "{context}");
                assert!(head.host().is_none_or(|h| !h.contains(',')), "{context}");
            }
        }
        // The sweep is worth something only if a fair share gets through.
        assert!(accepted > 1_000, "only {accepted} heads accepted");
    }
}
