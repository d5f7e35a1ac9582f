//! The `static` app: serves the files under one root directory.
//!
//! What it does, and the choices made where the RFCs leave room:
//!
//! - `GET` and `HEAD` only; anything else is `405` with `Allow: GET, HEAD`.
//! - `PATH_INFO` (already %-decoded, one latin-1 char per byte) is turned back into bytes and
//!   read as UTF-8; a path that is not UTF-8 is `404`. Segments `..`, NUL and (on Windows) `\`,
//!   `:` and trailing dots or spaces are refused with `404`; empty and `.` segments are skipped.
//! - Hidden names (a segment starting with `.`: `.git/config`, `.env`, `.htpasswd`) are `404`
//!   and left out of listings, except `.well-known` (RFC 8615: ACME challenges,
//!   `security.txt`). A root is often a project's build output or checkout, where such files
//!   sit beside the site, and serving them is a classic leak (nginx serves them unless told
//!   not to).
//!   The joined path is canonicalised and must stay under the canonical root, so a symlink that
//!   leads out of the root is `404` too. The file is then opened without following a final
//!   symlink and without waiting (`O_NOFOLLOW | O_NONBLOCK`), checked to be a regular file
//!   from the open descriptor, and (on Linux) checked again to be under the root by the
//!   descriptor's own path: a name swapped for a symlink or a FIFO between the check and the
//!   open can neither lead out of the root nor block a worker.
//! - A directory asked for without its trailing slash is `301` to the slash form (path only,
//!   `SCRIPT_NAME` kept, query kept), if there is something to show there. With the slash, its
//!   `index.html` is served if there is one, else a listing if listing is on, else `404`; a
//!   directory with neither is `404` with or without the slash (a listing that is off should
//!   not reveal that the directory exists). A file asked for with a trailing slash (or `/.`)
//!   is `404`.
//! - `Content-Type` comes from the extension of the name asked for (`mime_guess`); `text/*`,
//!   JSON and JavaScript get `; charset=utf-8`; unknown is `application/octet-stream`.
//! - Validators: `Last-Modified` (the mtime, to the second) and a **strong** `ETag`
//!   `"<mtime seconds hex>.<mtime nanoseconds hex>-<size hex>"`. Strong like nginx's and
//!   Apache's defaults: the bytes served are the file's bytes, and a rewrite changes the mtime or
//!   the size; being strong lets `If-Range` use it. Preconditions in RFC 9110 §13.2.2's order:
//!   `If-Match` (strong comparison), else `If-Unmodified-Since`, failing gives `412`; then
//!   `If-None-Match` (weak comparison), else `If-Modified-Since` (a date in the future is
//!   ignored), giving `304`.
//! - Ranges: `Accept-Ranges: bytes`; one range (`a-b`, `a-`, `-n`) gives `206` with
//!   `Content-Range`; an unsatisfiable one gives `416` with `Content-Range: bytes */len`. A
//!   position too large to read as a number is past any end (`a-` unsatisfiable, `-b` and
//!   `a-b` reach the end); a suffix of an empty file is satisfiable (RFC 9110 §14.1.1) but has
//!   no bytes to name, so the empty file is sent whole with `200`. Several
//!   ranges are ignored and the whole file is sent with `200`, which RFC 9110 §14.2 allows and
//!   spares us multipart/byteranges (and the many-small-ranges amplification it invites). A
//!   malformed `Range`, one with another unit, a `Range` on `HEAD` (§14.2: range handling is
//!   defined for GET only) and one whose `If-Range` does not match are ignored the same way.
//! - Error responses are short `text/plain` bodies.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{App, AppError, Request, Response};

/// Serves files under a root directory; see the module documentation for the behaviour.
#[derive(Debug, Clone)]
pub struct StaticFiles {
    root: PathBuf,
    listing: bool,
}

impl StaticFiles {
    /// Serves the files under `root`, which must exist and be a directory. The root is
    /// canonicalised here, once, so every request is checked against the real location.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = fs::canonicalize(root.into())?;
        if !fs::metadata(&root)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(StaticFiles {
            root,
            listing: false,
        })
    }

    /// Whether a directory without `index.html` is answered with a listing (off by default).
    pub fn with_listing(mut self, listing: bool) -> Self {
        self.listing = listing;
        self
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Canonicalises `path` and checks it is still under the root. `Err` carries the status
    /// to answer with when it is missing, unreadable, or outside.
    fn resolve(&self, path: &Path) -> Result<(PathBuf, fs::Metadata), Refused> {
        let real = fs::canonicalize(path).map_err(|e| match refusal(e) {
            // A directory on the way that may not be searched: 403 only if it is ours, or a
            // client could learn which directories exist outside the root.
            Refused::Answer(Status::Forbidden) if !self.denied_inside(path) => {
                Refused::Answer(Status::NotFound)
            }
            refused => refused,
        })?;
        if !real.starts_with(&self.root) || reaches_hidden_by_another_name(&real, &self.root) {
            return Err(Refused::Answer(Status::NotFound));
        }
        let meta = fs::metadata(&real).map_err(refusal)?;
        Ok((real, meta))
    }

    /// Whether the deepest part of `path` that can be resolved is under the root.
    fn denied_inside(&self, path: &Path) -> bool {
        path.ancestors()
            .find_map(|a| fs::canonicalize(a).ok())
            .is_some_and(|a| a.starts_with(&self.root))
    }

    /// Whether `dir` (a directory under the root) has something to show: an `index.html`, or a
    /// listing.
    fn shows(&self, dir: &Path) -> Result<bool, io::Error> {
        if self.listing {
            return Ok(true);
        }
        match self.resolve(&dir.join("index.html")) {
            Ok((_, meta)) => Ok(meta.is_file()),
            Err(Refused::Answer(_)) => Ok(false),
            Err(Refused::Failed(e)) => Err(e),
        }
    }
}

impl App for StaticFiles {
    fn call(&self, req: &mut Request, res: &mut Response<'_>) -> Result<(), AppError> {
        let env = &req.environ;
        let method = env.get("REQUEST_METHOD").unwrap_or("");
        if method != "GET" && method != "HEAD" {
            return send_error(res, Status::MethodNotAllowed);
        }
        let path_info = env.get("PATH_INFO").unwrap_or("");
        let Some(segments) = path_segments(path_info) else {
            return send_error(res, Status::NotFound);
        };
        let mut asked = self.root.clone();
        asked.extend(&segments);
        let (real, meta) = match self.resolve(&asked) {
            Ok(found) => found,
            Err(refused) => return refused.answer(res),
        };
        // `/file/.` names the file's `.` entry: as good as a trailing slash.
        let trailing_slash = path_info.ends_with('/') || path_info.ends_with("/.");

        if meta.is_dir() {
            if !trailing_slash {
                if !self.shows(&real)? {
                    return send_error(res, Status::NotFound);
                }
                let location = redirect_location(
                    env.get("SCRIPT_NAME").unwrap_or(""),
                    &segments,
                    env.get("QUERY_STRING").unwrap_or(""),
                );
                return send_redirect(res, &location);
            }
            let index = real.join("index.html");
            match self.resolve(&index) {
                Ok((index_real, index_meta)) if index_meta.is_file() => {
                    let conditions = Conditions::from_request(req, method == "GET");
                    return self.serve_file(res, &index_real, &index, &conditions);
                }
                Err(refused @ (Refused::Answer(Status::Forbidden) | Refused::Failed(_))) => {
                    return refused.answer(res);
                }
                Ok(_) | Err(Refused::Answer(_)) => {}
            }
            if !self.listing {
                return send_error(res, Status::NotFound);
            }
            let shown = format!(
                "{}/{}",
                env.get("SCRIPT_NAME").unwrap_or("").trim_end_matches('/'),
                segments.iter().map(|s| format!("{s}/")).collect::<String>()
            );
            // A listing has no validators, but If-Match and If-None-Match: * still apply
            // (RFC 9110 §13.1.1-2: a tag cannot match it, and it exists).
            let unvalidated = Validators {
                last_modified: None,
                etag: None,
            };
            let conditions = Conditions::from_request(req, method == "GET");
            if unvalidated.precondition_failed(&conditions) {
                return send_error(res, Status::PreconditionFailed);
            }
            if unvalidated.not_modified(&conditions) {
                res.start("304 Not Modified", vec![])?;
                return res.send(b"");
            }
            return match listing_page(&real, &self.root, &shown, !segments.is_empty()) {
                Ok(page) => {
                    res.start(
                        "200 OK",
                        vec![header("Content-Type", "text/html; charset=utf-8")],
                    )?;
                    res.send(page.as_bytes())
                }
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                    send_error(res, Status::Forbidden)
                }
                Err(e) => Err(e.into()),
            };
        }

        // FIFOs, sockets and devices are not served: opening a FIFO would block the worker.
        if !meta.is_file() || trailing_slash {
            return send_error(res, Status::NotFound);
        }
        let conditions = Conditions::from_request(req, method == "GET");
        self.serve_file(res, &real, &asked, &conditions)
    }
}

/// The statuses this app answers with on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Forbidden,
    NotFound,
    MethodNotAllowed,
    PreconditionFailed,
}

impl Status {
    fn line(self) -> &'static str {
        match self {
            Status::Forbidden => "403 Forbidden",
            Status::NotFound => "404 Not Found",
            Status::MethodNotAllowed => "405 Method Not Allowed",
            Status::PreconditionFailed => "412 Precondition Failed",
        }
    }
}

/// Why a path is not served: an answer for the client, or a failure of the server's own.
#[derive(Debug)]
enum Refused {
    Answer(Status),
    /// Out of file descriptors or memory, a disk error: the app's error, so the server logs
    /// it (`Exception while serving /path`) and answers 500, never a 404 a cache would keep.
    Failed(io::Error),
}

impl Refused {
    fn answer(self, res: &mut Response<'_>) -> Result<(), AppError> {
        match self {
            Refused::Answer(status) => send_error(res, status),
            Refused::Failed(e) => Err(e.into()),
        }
    }
}

/// Maps a failed lookup to a refusal. The path came from the client, so the errors it can
/// cause (missing, not a directory, name too long, symlink loop) are a silent `404`: a client
/// could fill the log with them. Permission denied is `403`. Anything else is the server's.
fn refusal(err: io::Error) -> Refused {
    match err.kind() {
        io::ErrorKind::PermissionDenied => Refused::Answer(Status::Forbidden),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => Refused::Answer(Status::NotFound),
        _ if is_clients_doing(&err) => Refused::Answer(Status::NotFound),
        _ => Refused::Failed(err),
    }
}

/// Lookup errors a request's path can cause by itself: a name too long, a symlink loop, a
/// symlink met where `O_NOFOLLOW` forbids one, an invalid name.
fn is_clients_doing(err: &io::Error) -> bool {
    #[cfg(unix)]
    if let Some(code) = err.raw_os_error() {
        return matches!(code, libc::ENAMETOOLONG | libc::ELOOP | libc::EINVAL);
    }
    err.kind() == io::ErrorKind::InvalidInput
}

fn header(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

fn send_error(res: &mut Response<'_>, status: Status) -> Result<(), AppError> {
    let mut headers = vec![header("Content-Type", "text/plain; charset=utf-8")];
    if status == Status::MethodNotAllowed {
        headers.push(header("Allow", "GET, HEAD"));
    }
    res.start(status.line(), headers)?;
    res.send(format!("{}\n", status.line()).as_bytes())
}

fn send_redirect(res: &mut Response<'_>, location: &str) -> Result<(), AppError> {
    res.start(
        "301 Moved Permanently",
        vec![
            header("Location", location),
            header("Content-Type", "text/plain; charset=utf-8"),
        ],
    )?;
    res.send(b"301 Moved Permanently\n")
}

/// Splits `PATH_INFO` into the segments to join under the root, or `None` when the path must
/// be refused. The environ holds one latin-1 char per byte of the decoded path; those bytes
/// are the UTF-8 name on disk.
fn path_segments(path_info: &str) -> Option<Vec<String>> {
    let mut bytes = Vec::with_capacity(path_info.len());
    for c in path_info.chars() {
        // A char past U+00FF cannot have come from a byte; refuse rather than guess.
        bytes.push(u8::try_from(u32::from(c)).ok()?);
    }
    let path = String::from_utf8(bytes).ok()?;
    let mut segments = Vec::new();
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." {
            continue;
        }
        if segment == ".."
            || segment.contains('\0')
            || is_hidden(segment)
            || !segment_is_safe_here(segment)
        {
            return None;
        }
        segments.push(segment.to_owned());
    }
    Some(segments)
}

/// The one hidden name served: RFC 8615's well-known URIs.
const WELL_KNOWN: &str = ".well-known";

/// A name not served or listed (see the module documentation).
fn is_hidden(name: &str) -> bool {
    name.starts_with('.') && name != WELL_KNOWN
}

/// Windows also answers to a name's 8.3 short form (`GIT~1` for `.git`), which the check on
/// the segments asked for cannot see: the canonical path, which has the long names, is
/// checked under the root too. Not elsewhere: there a symlink to a hidden directory is the
/// operator's own choice.
#[cfg(windows)]
fn reaches_hidden_by_another_name(real: &Path, root: &Path) -> bool {
    real.strip_prefix(root).is_ok_and(|inside| {
        inside
            .components()
            .any(|c| c.as_os_str().to_str().is_some_and(is_hidden))
    })
}

#[cfg(not(windows))]
fn reaches_hidden_by_another_name(_real: &Path, _root: &Path) -> bool {
    false
}

/// Windows reads `\` as a separator, `:` as a drive or an alternate data stream
/// (`file.txt::$DATA` would dodge the extension), and drops trailing dots and spaces, so a
/// segment could name something other than what it says. Canonicalisation would catch most of
/// it; refusing up front is plainer.
#[cfg(windows)]
fn segment_is_safe_here(segment: &str) -> bool {
    !segment.contains(['\\', ':']) && !segment.ends_with(['.', ' '])
}

/// On Unix only `/` and NUL are special in a name, and both are handled by the caller.
#[cfg(not(windows))]
fn segment_is_safe_here(_segment: &str) -> bool {
    true
}

/// The path-only `Location` for a directory asked for without its slash. Built from the
/// cleaned segments, not from `PATH_INFO`, so `//host/dir` cannot turn into a
/// protocol-relative redirect to another host.
fn redirect_location(script_name: &str, segments: &[String], query: &str) -> String {
    let mut location = String::new();
    let script = super::environ::wire_bytes(script_name.trim_end_matches('/'));
    let script = percent_encode(&script, true);
    // SCRIPT_NAME comes from the configuration, but a leading `//` would still leave the host.
    location.push('/');
    location.push_str(script.trim_start_matches('/'));
    for segment in segments {
        if !location.ends_with('/') {
            location.push('/');
        }
        location.push_str(&percent_encode(segment.as_bytes(), false));
    }
    if !location.ends_with('/') {
        location.push('/');
    }
    if !query.is_empty() {
        location.push('?');
        // The query is still %-encoded as it came; only bytes a header cannot carry are encoded.
        for b in super::environ::wire_bytes(query) {
            if (0x21..=0x7e).contains(&b) {
                location.push(char::from(b));
            } else {
                location.push_str(&format!("%{b:02X}"));
            }
        }
    }
    location
}

/// %-encodes everything but RFC 3986 unreserved characters (and `/` when `keep_slash`).
/// Encoding more than needed is always safe, and it keeps `\`, `:` and quotes out of
/// `Location` headers and `href`s.
fn percent_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request headers that decide between 200, 206, 304 and 412.
#[derive(Debug, Default)]
struct Conditions {
    if_match: Option<String>,
    if_unmodified_since: Option<String>,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    /// Only kept for GET: range handling is defined for GET alone (RFC 9110 §14.2).
    range: Option<String>,
    if_range: Option<String>,
}

impl Conditions {
    fn from_request(req: &Request, is_get: bool) -> Self {
        let get = |key: &str| req.environ.get(key).map(str::to_owned);
        Conditions {
            if_match: get("HTTP_IF_MATCH"),
            if_unmodified_since: get("HTTP_IF_UNMODIFIED_SINCE"),
            if_none_match: get("HTTP_IF_NONE_MATCH"),
            if_modified_since: get("HTTP_IF_MODIFIED_SINCE"),
            range: if is_get { get("HTTP_RANGE") } else { None },
            if_range: get("HTTP_IF_RANGE"),
        }
    }
}

/// The validators of one file.
struct Validators {
    /// The mtime truncated to whole seconds, when it can be written as an HTTP date.
    last_modified: Option<SystemTime>,
    etag: Option<String>,
}

impl Validators {
    fn of(meta: &fs::Metadata) -> Self {
        let since_epoch = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        let Some(since_epoch) = since_epoch else {
            // No usable mtime (or one before 1970): without it nothing would tell versions apart.
            return Validators {
                last_modified: None,
                etag: None,
            };
        };
        let etag = format!(
            "\"{:x}.{:x}-{:x}\"",
            since_epoch.as_secs(),
            since_epoch.subsec_nanos(),
            meta.len()
        );
        // RFC 9110 §8.8.2.1: never later than the response's Date, so a file from the future
        // is said to be modified now (and httpdate, which panics from year 10000 on, never
        // sees such a date).
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last_modified = Some(UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs().min(now)));
        Validators {
            last_modified,
            etag: Some(etag),
        }
    }

    /// RFC 9110 §13.2.2 steps 1 and 2: whether to answer `412`. `If-Match` compares strongly
    /// (§13.1.1; `*` matches any current file); without it, `If-Unmodified-Since` fails when the
    /// file changed after the date (§13.1.4; an unparsable date is ignored).
    fn precondition_failed(&self, cond: &Conditions) -> bool {
        if let Some(im) = &cond.if_match {
            if im.trim_matches([' ', '\t']) == "*" {
                // Any current representation: the file is there.
                return false;
            }
            return !self
                .etag
                .as_deref()
                .is_some_and(|etag| etag_list_matches(im, etag, Comparison::Strong));
        }
        match (&cond.if_unmodified_since, self.last_modified) {
            (Some(ius), Some(modified)) => {
                httpdate::parse_http_date(ius).is_ok_and(|since| modified > since)
            }
            _ => false,
        }
    }

    /// RFC 9110 §13.2.2 steps 3 and 4 for GET/HEAD: whether to answer `304`. A date later than
    /// now is ignored (it cannot be a `Last-Modified` the client saw; nginx ignores it too).
    fn not_modified(&self, cond: &Conditions) -> bool {
        if let Some(inm) = &cond.if_none_match {
            if inm.trim_matches([' ', '\t']) == "*" {
                // Any current representation, with an entity tag or without (a listing).
                return true;
            }
            return self
                .etag
                .as_deref()
                .is_some_and(|etag| etag_list_matches(inm, etag, Comparison::Weak));
        }
        match (&cond.if_modified_since, self.last_modified) {
            (Some(ims), Some(modified)) => httpdate::parse_http_date(ims)
                .is_ok_and(|since| since <= SystemTime::now() && modified <= since),
            _ => false,
        }
    }

    /// Whether `If-Range` lets the range through (RFC 9110 §13.1.5): a strong match of the
    /// entity tag, or a date equal to `Last-Modified`.
    fn if_range_holds(&self, if_range: &str) -> bool {
        let value = if_range.trim_matches([' ', '\t']);
        if value.starts_with('"') || value.starts_with("W/") {
            // Weak tags never match strongly; ours are strong, so plain equality is the test.
            return !value.starts_with("W/") && self.etag.as_deref() == Some(value);
        }
        match (httpdate::parse_http_date(value), self.last_modified) {
            (Ok(date), Some(modified)) => date == modified,
            _ => false,
        }
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut headers = Vec::with_capacity(2);
        if let Some(modified) = self.last_modified {
            headers.push(header("Last-Modified", httpdate::fmt_http_date(modified)));
        }
        if let Some(etag) = &self.etag {
            headers.push(header("ETag", etag.clone()));
        }
        headers
    }
}

/// How two entity tags are compared (RFC 9110 §8.8.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    /// Both strong and equal (`If-Match`, `If-Range`).
    Strong,
    /// Equal once any `W/` is set aside (`If-None-Match`).
    Weak,
}

/// Whether an `If-Match` / `If-None-Match` value lists `etag` (compared as `how` says) or is
/// `*`. A malformed list stops at the fault and counts as no match: for `If-None-Match` the
/// client just gets the full response, for `If-Match` a `412`.
fn etag_list_matches(header: &str, etag: &str, how: Comparison) -> bool {
    let ours = etag.trim_start_matches("W/");
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        if let Some(after) = rest.strip_prefix('*') {
            if after.trim_start_matches([' ', '\t']).is_empty() {
                return true;
            }
            return false;
        }
        let weak = rest.starts_with("W/");
        let tag_start = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(inner) = tag_start.strip_prefix('"') else {
            return false;
        };
        let Some(close) = inner.find('"') else {
            return false;
        };
        let tag = &tag_start[..close + 2];
        let strong_enough = how == Comparison::Weak || (!weak && !etag.starts_with("W/"));
        if tag == ours && strong_enough {
            return true;
        }
        rest = &inner[close + 1..];
    }
}

/// What a `Range` header asks of a file of a given length.
#[derive(Debug, PartialEq, Eq)]
enum RangeAsk {
    /// Serve the whole file: no header, or one we ignore (other unit, malformed, several).
    Whole,
    /// Serve bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// `416`.
    Unsatisfiable,
}

/// Reads `Range: bytes=...` for a file of `len` bytes (RFC 9110 §14.1.2). Only a single range
/// is honoured.
fn parse_range(value: &str, len: u64) -> RangeAsk {
    let value = value.trim_matches([' ', '\t']);
    let Some((unit, set)) = value.split_once('=') else {
        return RangeAsk::Whole;
    };
    if !unit.eq_ignore_ascii_case("bytes") {
        return RangeAsk::Whole;
    }
    // The list syntax allows empty elements (`bytes=,0-1`); they do not count as ranges.
    let mut specs = set
        .split(',')
        .map(|s| s.trim_matches([' ', '\t']))
        .filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return RangeAsk::Whole;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeAsk::Whole;
    };
    let first = (!first.is_empty()).then(|| range_position(first));
    let last = (!last.is_empty()).then(|| range_position(last));
    match (first, last) {
        // `a-b` and `a-`.
        (Some(Some(start)), last) => {
            let end = match last {
                None => None,
                Some(Some(end)) if end >= start => Some(end),
                // Not a number, or last < first: an invalid range, so the header is ignored.
                Some(_) => return RangeAsk::Whole,
            };
            if start >= len {
                return RangeAsk::Unsatisfiable;
            }
            let end = end.map_or(len - 1, |end| end.min(len - 1));
            RangeAsk::Part { start, end }
        }
        // `-n`: the last n bytes; `-0` selects nothing. A suffix of an empty file is
        // satisfiable (§14.1.1) yet has no bytes a Content-Range could name: send it whole.
        (None, Some(Some(suffix))) => {
            if suffix == 0 {
                return RangeAsk::Unsatisfiable;
            }
            if len == 0 {
                return RangeAsk::Whole;
            }
            RangeAsk::Part {
                start: len - suffix.min(len),
                end: len - 1,
            }
        }
        _ => RangeAsk::Whole,
    }
}

/// A range position: digits, read as a number, or `u64::MAX` when there are too many for one
/// (it is past the end of any file either way); `None` when it is not digits.
fn range_position(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(crate::http::parse_decimal(s.as_bytes()).unwrap_or(u64::MAX))
}

/// Extensions whose type in `mime_guess` is out of date, with the registered one (RFC 9239
/// for JavaScript, RFC 8081 for fonts) or the one nginx's `mime.types` sends.
const TYPE_OVERRIDES: [(&str, &str); 9] = [
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("cjs", "text/javascript"),
    ("woff", "font/woff"),
    ("otf", "font/otf"),
    ("ttf", "font/ttf"),
    ("ts", "video/mp2t"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("rpm", "application/x-redhat-package-manager"),
];

/// The `Content-Type` for `name`, from its extension.
fn content_type(name: &Path) -> String {
    let extension = name.extension().and_then(OsStr::to_str).unwrap_or("");
    let overridden = TYPE_OVERRIDES
        .iter()
        .find(|(ext, _)| ext.eq_ignore_ascii_case(extension));
    let guessed;
    let essence = match overridden {
        Some((_, essence)) => *essence,
        None => match mime_guess::from_path(name).first() {
            Some(mime) => {
                guessed = mime;
                guessed.essence_str()
            }
            None => return "application/octet-stream".to_owned(),
        },
    };
    let textual = essence.starts_with("text/")
        || essence == "application/json"
        || essence == "application/javascript";
    if textual {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_owned()
    }
}

impl StaticFiles {
    /// Opens the file at `real` (a path under the root, just resolved) for reading, as the
    /// module documentation says: no final symlink followed, no wait on a FIFO, a regular file
    /// by the descriptor's own metadata, and (Linux) under the root by the descriptor's path.
    fn open_regular(&self, real: &Path) -> Result<(File, fs::Metadata), Refused> {
        let mut options = fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let file = options.open(real).map_err(refusal)?;
        let meta = file.metadata().map_err(refusal)?;
        if !meta.is_file() {
            return Err(Refused::Answer(Status::NotFound));
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // A directory on the way swapped for a symlink between the check and the open is
            // caught here: the kernel's name for what was opened. Without /proc, the checks
            // above stand alone.
            match fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
                Ok(opened) if !opened.starts_with(&self.root) => {
                    return Err(Refused::Answer(Status::NotFound));
                }
                _ => {}
            }
        }
        Ok((file, meta))
    }

    /// Answers with the file at `real` (resolved under the root); `asked` is the name the
    /// client used, whose extension picks the type.
    fn serve_file(
        &self,
        res: &mut Response<'_>,
        real: &Path,
        asked: &Path,
        cond: &Conditions,
    ) -> Result<(), AppError> {
        let (file, meta) = match self.open_regular(real) {
            Ok(opened) => opened,
            Err(refused) => return refused.answer(res),
        };
        serve_open_file(res, file, &meta, asked, cond)
    }
}

/// Answers with an open regular file. Its own metadata, not the path's: the file may have
/// changed since the lookup, and the length sent must be the length of what is read.
fn serve_open_file(
    res: &mut Response<'_>,
    mut file: File,
    meta: &fs::Metadata,
    asked: &Path,
    cond: &Conditions,
) -> Result<(), AppError> {
    let len = meta.len();
    let validators = Validators::of(meta);
    if validators.precondition_failed(cond) {
        return send_error(res, Status::PreconditionFailed);
    }

    let mut headers = validators.headers();
    if validators.not_modified(cond) {
        res.start("304 Not Modified", headers)?;
        return res.send(b"");
    }
    headers.push(header("Content-Type", content_type(asked)));
    headers.push(header("Accept-Ranges", "bytes"));

    let ask = match &cond.range {
        Some(range)
            if cond
                .if_range
                .as_deref()
                .is_none_or(|v| validators.if_range_holds(v)) =>
        {
            parse_range(range, len)
        }
        _ => RangeAsk::Whole,
    };
    match ask {
        RangeAsk::Whole => {
            // Said outright: a HEAD of an empty file would otherwise go out with no length
            // (the server reads an empty HEAD answer as a length unknown, for apps that drop
            // their HEAD bodies), where the GET says 0.
            headers.push(header("Content-Length", len.to_string()));
            res.start("200 OK", headers)?;
            res.send_file(file, len)
        }
        RangeAsk::Part { start, end } => {
            file.seek(SeekFrom::Start(start))?;
            headers.push(header(
                "Content-Range",
                format!("bytes {start}-{end}/{len}"),
            ));
            headers.push(header("Content-Length", (end - start + 1).to_string()));
            res.start("206 Partial Content", headers)?;
            res.send_file(file, end - start + 1)
        }
        RangeAsk::Unsatisfiable => {
            res.start(
                "416 Range Not Satisfiable",
                vec![
                    header("Content-Range", format!("bytes */{len}")),
                    header("Content-Type", "text/plain; charset=utf-8"),
                ],
            )?;
            res.send(b"416 Range Not Satisfiable\n")
        }
    }
}

/// A small HTML listing of `dir`, shown as `shown` (the request path, ending in `/`). Names
/// that are not UTF-8 are left out: they could not be asked for (see [`path_segments`]).
fn listing_page(dir: &Path, root: &Path, shown: &str, with_parent: bool) -> io::Result<String> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = OsStr::to_str(&name).filter(|name| !is_hidden(name)) else {
            continue;
        };
        // A symlink that leads out of the root is 404 when followed: not listed either.
        if !fs::canonicalize(entry.path()).is_ok_and(|p| p.starts_with(root)) {
            continue;
        }
        // Follows symlinks, so a link to a directory gets its slash like the directory. FIFOs,
        // sockets and devices are 404 when asked for: not listed either.
        let Ok(meta) = fs::metadata(entry.path()) else {
            continue;
        };
        if meta.is_dir() || meta.is_file() {
            entries.push((name.to_owned(), meta.is_dir()));
        }
    }
    entries.sort();
    let title = html_escape(shown);
    let mut page = format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n<body>\n<h1>Index of {title}</h1>\n<ul>\n"
    );
    if with_parent {
        page.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for (name, is_dir) in entries {
        let slash = if is_dir { "/" } else { "" };
        // Every non-unreserved byte is %-encoded, so `a:b` cannot read as a URL scheme.
        page.push_str(&format!(
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>\n",
            percent_encode(name.as_bytes(), false),
            html_escape(&name)
        ));
    }
    page.push_str("</ul>\n</body>\n</html>\n");
    Ok(page)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Body, ClientStatus, Environ};
    use std::io::Write;
    use tempfile::TempDir;

    use crate::app::testing::Capture;

    /// What a test looks at: status, headers, length and body.
    struct Answer {
        status: String,
        headers: Vec<(String, String)>,
        length: Option<u64>,
        body: Vec<u8>,
    }

    impl Answer {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
        fn code(&self) -> &str {
            &self.status[..3]
        }
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }
    }

    /// 2023-11-14 22:13:20 UTC, so `Last-Modified` is known in advance.
    const MTIME: u64 = 1_700_000_000;
    const MTIME_HTTP: &str = "Tue, 14 Nov 2023 22:13:20 GMT";

    fn write_file(path: &Path, contents: &[u8]) {
        let mut file = File::create(path).unwrap();
        file.write_all(contents).unwrap();
        file.set_modified(UNIX_EPOCH + Duration::from_secs(MTIME))
            .unwrap();
    }

    /// A root with `hello.txt` ("hello world"), `sub/` holding `index.html`, and `bare/`
    /// holding `a.txt` and `inner/`.
    fn site() -> TempDir {
        let dir = TempDir::new().unwrap();
        write_file(&dir.path().join("hello.txt"), b"hello world");
        fs::create_dir(dir.path().join("sub")).unwrap();
        write_file(&dir.path().join("sub/index.html"), b"<p>index</p>");
        fs::create_dir(dir.path().join("bare")).unwrap();
        write_file(&dir.path().join("bare/a.txt"), b"a");
        fs::create_dir(dir.path().join("bare/inner")).unwrap();
        dir
    }

    fn call_with(
        app: &StaticFiles,
        method: &str,
        script_name: &str,
        path: &str,
        query: &str,
        headers: &[(&'static str, &str)],
    ) -> Answer {
        let mut environ = Environ::new();
        environ.push("REQUEST_METHOD", method);
        environ.push("SCRIPT_NAME", script_name);
        environ.push("PATH_INFO", path);
        environ.push("QUERY_STRING", query);
        for &(key, value) in headers {
            environ.push(key, value);
        }
        let mut req = Request {
            environ,
            body: Body::empty(),
            client: ClientStatus::default(),
        };
        let mut sink = Capture::default();
        let mut res = Response::new(&mut sink);
        app.call(&mut req, &mut res).unwrap();
        res.finish().unwrap();
        let (status, headers, length) = sink.head.unwrap();
        Answer {
            status,
            headers,
            length,
            body: sink.body,
        }
    }

    fn get(app: &StaticFiles, path: &str, headers: &[(&'static str, &str)]) -> Answer {
        call_with(app, "GET", "", path, "", headers)
    }

    fn head(app: &StaticFiles, path: &str, headers: &[(&'static str, &str)]) -> Answer {
        call_with(app, "HEAD", "", path, "", headers)
    }

    fn etag_of(app: &StaticFiles, path: &str) -> String {
        get(app, path, &[]).header("ETag").unwrap().to_owned()
    }

    #[test]
    fn a_file_is_served_with_its_type_length_and_validators() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let a = get(&app, "/hello.txt", &[]);
        assert_eq!(a.status, "200 OK");
        assert_eq!(a.body, b"hello world");
        assert_eq!(a.length, Some(11));
        assert_eq!(a.header("Content-Type"), Some("text/plain; charset=utf-8"));
        assert_eq!(a.header("Last-Modified"), Some(MTIME_HTTP));
        assert_eq!(a.header("Accept-Ranges"), Some("bytes"));
        let etag = a.header("ETag").unwrap();
        assert_eq!(etag, format!("\"{MTIME:x}.0-b\""));
    }

    #[test]
    fn head_gets_the_same_head_as_get() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let g = get(&app, "/hello.txt", &[]);
        let h = head(&app, "/hello.txt", &[]);
        assert_eq!(
            (h.status, h.headers, h.length),
            (g.status, g.headers, g.length)
        );
    }

    #[test]
    fn content_types_come_from_the_extension() {
        let dir = TempDir::new().unwrap();
        let cases = [
            ("a.txt", "text/plain; charset=utf-8"),
            ("a.html", "text/html; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.json", "application/json; charset=utf-8"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.mjs", "text/javascript; charset=utf-8"),
            ("a.CJS", "text/javascript; charset=utf-8"),
            ("a.woff", "font/woff"),
            ("a.woff2", "font/woff2"),
            ("a.otf", "font/otf"),
            ("a.ts", "video/mp2t"),
            ("a.m3u8", "application/vnd.apple.mpegurl"),
            ("a.png", "image/png"),
            ("a.PNG", "image/png"),
            ("a.nosuchext", "application/octet-stream"),
            ("noext", "application/octet-stream"),
        ];
        for (name, _) in cases {
            write_file(&dir.path().join(name), b"x");
        }
        let app = StaticFiles::new(dir.path()).unwrap();
        for (name, want) in cases {
            let a = get(&app, &format!("/{name}"), &[]);
            assert_eq!(a.header("Content-Type"), Some(want), "{name}");
        }
    }

    #[test]
    fn the_root_must_be_an_existing_directory() {
        let dir = site();
        assert!(StaticFiles::new(dir.path().join("missing")).is_err());
        let err = StaticFiles::new(dir.path().join("hello.txt")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let app = StaticFiles::new(dir.path().join("sub/..")).unwrap();
        assert_eq!(app.root(), fs::canonicalize(dir.path()).unwrap());
    }

    #[test]
    fn missing_is_404_and_other_methods_are_405() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let a = get(&app, "/nope.txt", &[]);
        assert_eq!(a.status, "404 Not Found");
        assert_eq!(a.header("Content-Type"), Some("text/plain; charset=utf-8"));
        assert_eq!(a.body, b"404 Not Found\n");
        assert_eq!(get(&app, "/hello.txt/x", &[]).code(), "404");
        // A file is not a directory: its slash form does not exist.
        assert_eq!(get(&app, "/hello.txt/", &[]).code(), "404");
        for method in ["POST", "PUT", "DELETE", "OPTIONS", "get", ""] {
            let a = call_with(&app, method, "", "/hello.txt", "", &[]);
            assert_eq!(a.status, "405 Method Not Allowed", "{method}");
            assert_eq!(a.header("Allow"), Some("GET, HEAD"));
        }
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_is_403() {
        use std::os::unix::fs::PermissionsExt;
        let dir = site();
        let secret = dir.path().join("secret.txt");
        write_file(&secret, b"s");
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
        if File::open(&secret).is_ok() {
            // Running as root (or with CAP_DAC_OVERRIDE): permissions cannot be tested here.
            return;
        }
        let app = StaticFiles::new(dir.path()).unwrap();
        assert_eq!(get(&app, "/secret.txt", &[]).status, "403 Forbidden");
        fs::set_permissions(dir.path().join("bare"), fs::Permissions::from_mode(0o000)).unwrap();
        assert_eq!(get(&app, "/bare/a.txt", &[]).code(), "403");
        let listing = StaticFiles::new(dir.path()).unwrap().with_listing(true);
        assert_eq!(get(&listing, "/bare/", &[]).code(), "403");
        fs::set_permissions(dir.path().join("bare"), fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn a_directory_without_its_slash_is_redirected() {
        let dir = site();
        // Without a listing, only a directory with an index.html has something to redirect
        // to; the others are 404 with or without the slash, so they are not revealed.
        let plain = StaticFiles::new(dir.path()).unwrap();
        let a = call_with(&plain, "GET", "", "/sub", "", &[]);
        assert_eq!(a.header("Location"), Some("/sub/"));
        assert_eq!(call_with(&plain, "GET", "", "/bare", "", &[]).code(), "404");
        assert_eq!(call_with(&plain, "GET", "", "", "", &[]).code(), "404");
        let app = StaticFiles::new(dir.path()).unwrap().with_listing(true);
        let a = call_with(&app, "GET", "/static", "/bare/inner", "a=1&b=%20", &[]);
        assert_eq!(a.status, "301 Moved Permanently");
        assert_eq!(a.header("Location"), Some("/static/bare/inner/?a=1&b=%20"));
        let a = call_with(&app, "GET", "", "/bare", "", &[]);
        assert_eq!(a.header("Location"), Some("/bare/"));
        // The root itself, asked for without any path below SCRIPT_NAME.
        let a = call_with(&app, "GET", "/static", "", "", &[]);
        assert_eq!(a.header("Location"), Some("/static/"));
        let a = call_with(&app, "GET", "", "", "", &[]);
        assert_eq!(a.header("Location"), Some("/"));
    }

    #[test]
    fn a_redirect_never_leaves_the_host() {
        let dir = site();
        fs::create_dir(dir.path().join("evil.com")).unwrap();
        let app = StaticFiles::new(dir.path()).unwrap().with_listing(true);
        let a = get(&app, "//evil.com", &[]);
        assert_eq!(a.header("Location"), Some("/evil.com/"));
        let a = get(&app, "/./evil.com", &[]);
        assert_eq!(a.header("Location"), Some("/evil.com/"));
        #[cfg(unix)]
        {
            // `/\evil.com/` is `//evil.com/` to a browser; the backslash is a plain name here.
            // Built by concatenation: clippy takes a leading backslash for a separator, as on Windows.
            fs::create_dir(dir.path().join(["\\", "evil.com"].concat())).unwrap();
            let a = get(&app, "/\\evil.com", &[]);
            assert_eq!(a.header("Location"), Some("/%5Cevil.com/"));
        }
    }

    #[test]
    fn traversal_is_refused() {
        let dir = site();
        let root = dir.path().join("sub");
        let app = StaticFiles::new(&root).unwrap();
        for path in [
            "/../etc/passwd",
            // `/%2e%2e/` arrives already decoded.
            "/../hello.txt",
            "/%2e%2e/hello.txt",
            "/./../hello.txt",
            "/index.html/../../hello.txt",
            "..",
            "/a\0b",
            "/index.html\0.txt",
        ] {
            assert_eq!(get(&app, path, &[]).code(), "404", "{path:?}");
        }
        #[cfg(windows)]
        for path in [
            "/..\\hello.txt",
            "/index.html::$DATA",
            "/C:/Windows/win.ini",
            "/index.html.",
        ] {
            assert_eq!(get(&app, path, &[]).code(), "404", "{path:?}");
        }
    }

    #[test]
    fn names_are_utf8_carried_as_latin1() {
        let dir = site();
        write_file(&dir.path().join("caf\u{e9}.txt"), b"coffee");
        let app = StaticFiles::new(dir.path()).unwrap();
        // "é" is C3 A9 in UTF-8; the environ holds those two bytes as two latin-1 chars.
        assert_eq!(get(&app, "/caf\u{c3}\u{a9}.txt", &[]).body, b"coffee");
        // The name as UTF-8 chars is not what the server hands over.
        assert_eq!(get(&app, "/caf\u{e9}.txt", &[]).code(), "404");
        // Past latin-1, which no decoded byte can be.
        assert_eq!(get(&app, "/caf\u{1f600}.txt", &[]).code(), "404");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_may_not_lead_out_of_the_root() {
        use std::os::unix::fs::symlink;
        let outside = TempDir::new().unwrap();
        write_file(&outside.path().join("secret.txt"), b"secret");
        let dir = site();
        symlink(
            outside.path().join("secret.txt"),
            dir.path().join("out.txt"),
        )
        .unwrap();
        symlink(outside.path(), dir.path().join("outdir")).unwrap();
        symlink(dir.path().join("hello.txt"), dir.path().join("in.txt")).unwrap();
        fs::create_dir(dir.path().join("linked")).unwrap();
        symlink(
            outside.path().join("secret.txt"),
            dir.path().join("linked/index.html"),
        )
        .unwrap();
        symlink("loop", dir.path().join("loop")).unwrap();
        let app = StaticFiles::new(dir.path()).unwrap();
        assert_eq!(get(&app, "/out.txt", &[]).code(), "404");
        assert_eq!(get(&app, "/outdir/secret.txt", &[]).code(), "404");
        assert_eq!(get(&app, "/outdir/", &[]).code(), "404");
        assert_eq!(get(&app, "/linked/", &[]).code(), "404");
        assert_eq!(get(&app, "/loop", &[]).code(), "404");
        assert_eq!(get(&app, "/in.txt", &[]).body, b"hello world");
    }

    #[test]
    fn a_directory_serves_its_index_html() {
        let dir = site();
        write_file(&dir.path().join("index.html"), b"<p>root</p>");
        let app = StaticFiles::new(dir.path()).unwrap();
        let a = get(&app, "/sub/", &[]);
        assert_eq!(a.status, "200 OK");
        assert_eq!(a.body, b"<p>index</p>");
        assert_eq!(a.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(a.header("Last-Modified"), Some(MTIME_HTTP));
        assert_eq!(get(&app, "/", &[]).body, b"<p>root</p>");
        // The index takes part in conditional requests like any file.
        let etag = etag_of(&app, "/sub/");
        assert_eq!(
            get(&app, "/sub/", &[("HTTP_IF_NONE_MATCH", &etag)]).code(),
            "304"
        );
    }

    #[test]
    fn listing_is_off_by_default() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        assert_eq!(get(&app, "/bare/", &[]).code(), "404");
        assert_eq!(get(&app, "/", &[]).code(), "404");
    }

    #[test]
    fn listing_shows_escaped_names() {
        let dir = site();
        // Names Windows cannot hold (there `a:b` would be a stream of `a`).
        #[cfg(unix)]
        {
            write_file(&dir.path().join("bare/<b>&\"x'.txt"), b"");
            write_file(&dir.path().join("bare/a:b"), b"");
        }
        write_file(&dir.path().join("bare/sp ace"), b"");
        let app = StaticFiles::new(dir.path()).unwrap().with_listing(true);
        let a = call_with(&app, "GET", "/st<", "/bare/", "", &[]);
        assert_eq!(a.status, "200 OK");
        assert_eq!(a.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(a.length, Some(a.body.len() as u64));
        let page = a.text();
        assert!(
            page.contains("<title>Index of /st&lt;/bare/</title>"),
            "{page}"
        );
        assert!(page.contains(r#"<li><a href="../">../</a></li>"#), "{page}");
        assert!(
            page.contains(r#"<li><a href="a.txt">a.txt</a></li>"#),
            "{page}"
        );
        assert!(
            page.contains(r#"<li><a href="inner/">inner/</a></li>"#),
            "{page}"
        );
        #[cfg(unix)]
        assert!(
            page.contains(r#"<li><a href="a%3Ab">a:b</a></li>"#),
            "{page}"
        );
        assert!(
            page.contains(r#"<li><a href="sp%20ace">sp ace</a></li>"#),
            "{page}"
        );
        #[cfg(unix)]
        assert!(
            page.contains(
                r#"<li><a href="%3Cb%3E%26%22x%27.txt">&lt;b&gt;&amp;&quot;x&#39;.txt</a></li>"#
            ),
            "{page}"
        );
        // Entries are sorted, and the root has no parent link.
        assert!(page.find("a.txt").unwrap() < page.find("inner/").unwrap());
        let root = get(&app, "/", &[]).text();
        assert!(!root.contains("../"), "{root}");
        assert!(root.contains(r#"<a href="bare/">"#), "{root}");
        // An index.html still wins over the listing.
        assert_eq!(get(&app, "/sub/", &[]).body, b"<p>index</p>");
    }

    #[test]
    fn a_file_from_the_future_is_said_to_be_modified_now() {
        // RFC 9110 §8.8.2.1: Last-Modified is never later than Date.
        let dir = site();
        let path = dir.path().join("future.txt");
        write_file(&path, b"later");
        let in_2100 = UNIX_EPOCH + Duration::from_secs(4_102_444_800);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(in_2100)
            .unwrap();
        let app = StaticFiles::new(dir.path()).unwrap();
        let before = SystemTime::now() - Duration::from_secs(1);
        let said = get(&app, "/future.txt", &[]);
        let said = httpdate::parse_http_date(said.header("Last-Modified").unwrap()).unwrap();
        assert!(said >= before && said <= SystemTime::now(), "{said:?}");
    }

    #[test]
    fn a_listing_answers_if_match_and_if_none_match_star() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap().with_listing(true);
        let page =
            |headers: &[(&'static str, &str)]| get(&app, "/bare/", headers).code().to_owned();
        // No entity tag can match a listing (§13.1.1); `*` matches it, as it exists.
        assert_eq!(page(&[("HTTP_IF_MATCH", "\"x\"")]), "412");
        assert_eq!(page(&[("HTTP_IF_MATCH", "*")]), "200");
        assert_eq!(page(&[("HTTP_IF_NONE_MATCH", "*")]), "304");
        assert_eq!(page(&[("HTTP_IF_NONE_MATCH", "\"x\"")]), "200");
        assert_eq!(page(&[]), "200");
    }

    #[cfg(unix)]
    #[test]
    fn a_listing_leaves_out_what_would_be_404() {
        let dir = site();
        let fifo = dir.path().join("bare/pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let app = StaticFiles::new(dir.path()).unwrap().with_listing(true);
        assert_eq!(get(&app, "/bare/pipe", &[]).code(), "404");
        let page = get(&app, "/bare/", &[]).text();
        assert!(!page.contains("pipe"), "{page}");
        assert!(page.contains("a.txt"), "{page}");
    }

    #[test]
    fn if_modified_since_gives_304() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let a = get(
            &app,
            "/hello.txt",
            &[("HTTP_IF_MODIFIED_SINCE", MTIME_HTTP)],
        );
        assert_eq!(a.status, "304 Not Modified");
        assert!(a.body.is_empty());
        assert_eq!(a.header("Last-Modified"), Some(MTIME_HTTP));
        assert!(a.header("ETag").is_some());
        assert_eq!(a.header("Content-Range"), None);
        let later = "Wed, 15 Nov 2023 00:00:00 GMT";
        assert_eq!(
            get(&app, "/hello.txt", &[("HTTP_IF_MODIFIED_SINCE", later)]).code(),
            "304"
        );
        let earlier = "Tue, 14 Nov 2023 22:13:19 GMT";
        assert_eq!(
            get(&app, "/hello.txt", &[("HTTP_IF_MODIFIED_SINCE", earlier)]).code(),
            "200"
        );
        for junk in ["yesterday", "", "Tue, 14 Nov 2023 22:13:20"] {
            assert_eq!(
                get(&app, "/hello.txt", &[("HTTP_IF_MODIFIED_SINCE", junk)]).code(),
                "200"
            );
        }
    }

    #[test]
    fn if_none_match_gives_304_and_beats_if_modified_since() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let etag = etag_of(&app, "/hello.txt");
        let weak = format!("W/{etag}");
        let listed = format!("\"other\", {etag}");
        for inm in [etag.as_str(), weak.as_str(), listed.as_str(), "*"] {
            let a = get(&app, "/hello.txt", &[("HTTP_IF_NONE_MATCH", inm)]);
            assert_eq!(a.status, "304 Not Modified", "{inm}");
            assert_eq!(a.header("ETag"), Some(etag.as_str()));
        }
        // A non-matching If-None-Match wins over an If-Modified-Since that would give 304.
        let a = get(
            &app,
            "/hello.txt",
            &[
                ("HTTP_IF_NONE_MATCH", "\"other\""),
                ("HTTP_IF_MODIFIED_SINCE", MTIME_HTTP),
            ],
        );
        assert_eq!(a.status, "200 OK");
        // A change of size or mtime changes the tag.
        write_file(&dir.path().join("hello.txt"), b"hello world!");
        assert_ne!(etag_of(&app, "/hello.txt"), etag);
        assert_eq!(
            get(&app, "/hello.txt", &[("HTTP_IF_NONE_MATCH", &etag)]).code(),
            "200"
        );
    }

    fn ranged(app: &StaticFiles, range: &str) -> Answer {
        get(app, "/hello.txt", &[("HTTP_RANGE", range)])
    }

    #[test]
    fn each_single_range_form_gives_206() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let cases = [
            ("bytes=0-4", "0-4", &b"hello"[..]),
            ("bytes=6-", "6-10", b"world"),
            ("bytes=-5", "6-10", b"world"),
            ("bytes=3-100", "3-10", b"lo world"),
            ("bytes=-100", "0-10", b"hello world"),
            ("bytes=10-10", "10-10", b"d"),
            ("BYTES = 0-0", "0-0", b"h"),
            ("bytes=,  1-2 ,", "1-2", b"el"),
            // Positions too large for a number are past any end.
            ("bytes=0-99999999999999999999999", "0-10", b"hello world"),
            ("bytes=-99999999999999999999999", "0-10", b"hello world"),
        ];
        for (range, span, body) in cases {
            let a = ranged(&app, range);
            // `BYTES = 0-0` has spaces around `=`, which the grammar does not allow.
            if range.contains(" =") {
                assert_eq!(a.code(), "200", "{range}");
                continue;
            }
            assert_eq!(a.status, "206 Partial Content", "{range}");
            assert_eq!(
                a.header("Content-Range"),
                Some(format!("bytes {span}/11").as_str())
            );
            assert_eq!(a.body, body, "{range}");
            assert_eq!(a.length, Some(body.len() as u64), "{range}");
            assert_eq!(a.header("Content-Type"), Some("text/plain; charset=utf-8"));
        }
        assert_eq!(ranged(&app, "Bytes=0-0").body, b"h");
    }

    #[test]
    fn an_unsatisfiable_range_gives_416() {
        let dir = site();
        write_file(&dir.path().join("empty.txt"), b"");
        let app = StaticFiles::new(dir.path()).unwrap();
        for range in ["bytes=11-", "bytes=11-20", "bytes=-0"] {
            let a = ranged(&app, range);
            assert_eq!(a.status, "416 Range Not Satisfiable", "{range}");
            assert_eq!(a.header("Content-Range"), Some("bytes */11"));
        }
        let a = get(&app, "/empty.txt", &[("HTTP_RANGE", "bytes=0-")]);
        assert_eq!(a.header("Content-Range"), Some("bytes */0"));
        // A suffix of an empty file is satisfiable but names no bytes: the empty whole.
        let a = get(&app, "/empty.txt", &[("HTTP_RANGE", "bytes=-1")]);
        assert_eq!((a.code(), a.length), ("200", Some(0)));
        // A first position too large for a number is past the end.
        let a = ranged(&app, "bytes=99999999999999999999-");
        assert_eq!(a.code(), "416");
    }

    #[test]
    fn several_or_bad_ranges_are_ignored() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        for range in [
            "bytes=0-1,3-4",
            "bytes=0-1, 20-30",
            "bytes=5-1",
            "bytes=abc",
            "bytes=-",
            "bytes=+1-2",
            "items=0-1",
            "bytes",
            "",
        ] {
            let a = ranged(&app, range);
            assert_eq!(a.status, "200 OK", "{range}");
            assert_eq!(a.body, b"hello world", "{range}");
            assert_eq!(a.header("Content-Range"), None);
        }
        // HEAD has no range handling (RFC 9110 §14.2).
        let a = head(&app, "/hello.txt", &[("HTTP_RANGE", "bytes=0-1")]);
        assert_eq!((a.code(), a.length), ("200", Some(11)));
    }

    #[test]
    fn if_range_lets_the_range_through_only_when_it_matches() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let etag = etag_of(&app, "/hello.txt");
        let with = |if_range: &str| {
            get(
                &app,
                "/hello.txt",
                &[("HTTP_RANGE", "bytes=0-4"), ("HTTP_IF_RANGE", if_range)],
            )
        };
        assert_eq!(with(&etag).code(), "206");
        assert_eq!(with(MTIME_HTTP).code(), "206");
        for stale in [
            "\"other\"",
            &format!("W/{etag}"),
            "Tue, 14 Nov 2023 22:13:19 GMT",
            "Wed, 15 Nov 2023 00:00:00 GMT",
            "garbage",
        ] {
            let a = with(stale);
            assert_eq!(a.status, "200 OK", "{stale}");
            assert_eq!(a.body, b"hello world");
        }
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_served() {
        // A socket stands in for FIFOs and devices: opening a FIFO would block the worker.
        let dir = site();
        let _listener = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
        let app = StaticFiles::new(dir.path()).unwrap();
        assert_eq!(get(&app, "/sock", &[]).code(), "404");
    }

    #[test]
    fn redirect_locations_are_path_only_and_encoded() {
        let segs = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(redirect_location("", &segs(&[]), ""), "/");
        assert_eq!(redirect_location("/app/", &segs(&["a"]), ""), "/app/a/");
        assert_eq!(
            redirect_location("//evil.com", &segs(&["a"]), ""),
            "/evil.com/a/"
        );
        assert_eq!(
            redirect_location("/\u{e9}", &segs(&["caf\u{e9} x", "?#"]), "q=\u{e9}\u{1}"),
            "/%E9/caf%C3%A9%20x/%3F%23/?q=%E9%01"
        );
    }

    #[test]
    fn if_match_and_if_unmodified_since_give_412() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let etag = etag_of(&app, "/hello.txt");
        let weak = format!("W/{etag}");
        let code =
            |headers: &[(&'static str, &str)]| get(&app, "/hello.txt", headers).code().to_owned();
        // RFC 9110 §13.1.1: strong comparison, `*` for any current file.
        assert_eq!(code(&[("HTTP_IF_MATCH", &etag)]), "200");
        assert_eq!(code(&[("HTTP_IF_MATCH", &format!("\"x\", {etag}"))]), "200");
        assert_eq!(code(&[("HTTP_IF_MATCH", "*")]), "200");
        assert_eq!(code(&[("HTTP_IF_MATCH", "\"other\"")]), "412");
        assert_eq!(code(&[("HTTP_IF_MATCH", &weak)]), "412");
        // §13.1.4: changed after the date fails; an unreadable date is ignored.
        assert_eq!(code(&[("HTTP_IF_UNMODIFIED_SINCE", MTIME_HTTP)]), "200");
        let before = "Mon, 01 Jan 1990 00:00:00 GMT";
        assert_eq!(code(&[("HTTP_IF_UNMODIFIED_SINCE", before)]), "412");
        assert_eq!(code(&[("HTTP_IF_UNMODIFIED_SINCE", "yesterday")]), "200");
        // §13.2.2: If-Match is evaluated instead of If-Unmodified-Since, and before a range.
        let both = [
            ("HTTP_IF_MATCH", etag.as_str()),
            ("HTTP_IF_UNMODIFIED_SINCE", before),
        ];
        assert_eq!(code(&both), "200");
        let ranged_412 = [("HTTP_IF_MATCH", "\"other\""), ("HTTP_RANGE", "bytes=0-1")];
        assert_eq!(code(&ranged_412), "412");
        let h = head(&app, "/hello.txt", &[("HTTP_IF_MATCH", "\"no\"")]);
        assert_eq!(h.code(), "412");
    }

    #[test]
    fn an_if_modified_since_in_the_future_is_ignored() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let future = "Thu, 01 Jan 2099 00:00:00 GMT";
        let a = get(&app, "/hello.txt", &[("HTTP_IF_MODIFIED_SINCE", future)]);
        assert_eq!(a.code(), "200");
    }

    #[test]
    fn hidden_names_are_404_and_unlisted_but_well_known_is_served() {
        let dir = site();
        fs::create_dir_all(dir.path().join(".git")).unwrap();
        fs::create_dir_all(dir.path().join(".well-known/acme-challenge")).unwrap();
        write_file(&dir.path().join(".env"), b"SECRET=1");
        write_file(&dir.path().join(".git/config"), b"[core]");
        write_file(&dir.path().join("bare/.htpasswd"), b"admin:x");
        write_file(
            &dir.path().join(".well-known/acme-challenge/tok"),
            b"tok.key",
        );
        let app = StaticFiles::new(dir.path()).unwrap().with_listing(true);
        for path in [
            "/.env",
            "/.git/config",
            "/.git/",
            "/.git",
            "/bare/.htpasswd",
        ] {
            assert_eq!(get(&app, path, &[]).code(), "404", "{path}");
        }
        let a = get(&app, "/.well-known/acme-challenge/tok", &[]);
        assert_eq!((a.code(), a.text()), ("200", "tok.key".to_owned()));
        let root = get(&app, "/", &[]).text();
        assert!(!root.contains(".env") && !root.contains(".git"), "{root}");
        assert!(root.contains(r#"<a href=".well-known/">"#), "{root}");
        let bare = get(&app, "/bare/", &[]).text();
        assert!(!bare.contains("htpasswd"), "{bare}");
    }

    #[test]
    fn a_file_named_with_a_trailing_dot_segment_is_404() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        assert_eq!(get(&app, "/hello.txt/.", &[]).code(), "404");
        assert_eq!(get(&app, "/hello.txt/./", &[]).code(), "404");
        assert_eq!(get(&app, "/./hello.txt", &[]).code(), "200");
    }

    /// The defences against a name swapped between the lookup and the open: each is called
    /// on what a swap would leave behind.
    /// The status a refused open answers with (`None` when it was not refused for the client).
    fn answer<T>(opened: Result<T, Refused>) -> Option<Status> {
        match opened {
            Err(Refused::Answer(status)) => Some(status),
            Ok(_) | Err(Refused::Failed(_)) => None,
        }
    }

    #[cfg(unix)]
    #[test]
    fn lookup_errors_of_the_servers_own_are_failures_not_404s() {
        for (code, refused_as) in [
            (libc::ENOENT, Some(Status::NotFound)),
            (libc::ENOTDIR, Some(Status::NotFound)),
            (libc::ENAMETOOLONG, Some(Status::NotFound)),
            (libc::ELOOP, Some(Status::NotFound)),
            (libc::EACCES, Some(Status::Forbidden)),
            (libc::EMFILE, None),
            (libc::ENFILE, None),
            (libc::EIO, None),
            (libc::ENOMEM, None),
        ] {
            let refused = refusal(io::Error::from_raw_os_error(code));
            assert_eq!(answer::<()>(Err(refused)), refused_as, "os error {code}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_open_follows_no_final_symlink_waits_on_no_fifo_and_stays_inside() {
        let outside = site();
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let secret = outside.path().join("hello.txt");
        // A final symlink (to a file outside).
        std::os::unix::fs::symlink(&secret, dir.path().join("link.txt")).unwrap();
        assert_eq!(
            answer(app.open_regular(&app.root().join("link.txt"))),
            Some(Status::NotFound)
        );
        // A FIFO: the open must not wait for a writer (it used to block the worker for good).
        let fifo = app.root().join("fifo");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        let opener = app.clone();
        std::thread::spawn(move || {
            let _ = tx.send(answer(opener.open_regular(&fifo)));
        });
        let got = rx.recv_timeout(Duration::from_secs(5));
        assert_eq!(
            got,
            Ok(Some(Status::NotFound)),
            "the open waited on the FIFO"
        );
        // A directory on the way that is a symlink out of the root.
        #[cfg(target_os = "linux")]
        {
            std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
            assert_eq!(
                answer(app.open_regular(&app.root().join("out/hello.txt"))),
                Some(Status::NotFound)
            );
        }
        assert!(app.open_regular(&app.root().join("hello.txt")).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn permission_errors_outside_the_root_are_404() {
        use std::os::unix::fs::PermissionsExt;
        let outside = site();
        let dir = site();
        let locked = outside.path().join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::read_dir(&locked).is_ok() {
            // Running as root: permissions cannot be tested here.
            return;
        }
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        let app = StaticFiles::new(dir.path()).unwrap();
        // Through a symlink out of the root, a locked directory is as absent as a missing one.
        assert_eq!(get(&app, "/out/locked/z", &[]).code(), "404");
        assert_eq!(get(&app, "/out/nothere/z", &[]).code(), "404");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_listing_leaves_out_links_that_lead_out() {
        let outside = site();
        let dir = site();
        std::os::unix::fs::symlink(
            outside.path().join("hello.txt"),
            dir.path().join("bare/out.txt"),
        )
        .unwrap();
        std::os::unix::fs::symlink(dir.path().join("hello.txt"), dir.path().join("bare/in.txt"))
            .unwrap();
        let app = StaticFiles::new(dir.path()).unwrap().with_listing(true);
        let page = get(&app, "/bare/", &[]).text();
        assert!(page.contains("in.txt"), "{page}");
        assert!(!page.contains("out.txt"), "{page}");
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_reached_by_a_symlink_out_of_the_root_is_neither_listed_nor_redirected() {
        let outside = site();
        let dir = site();
        std::os::unix::fs::symlink(outside.path().join("bare"), dir.path().join("out")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("sub"), dir.path().join("outsub")).unwrap();
        let listing = StaticFiles::new(dir.path()).unwrap().with_listing(true);
        for path in ["/out/", "/out", "/out/inner/"] {
            let a = get(&listing, path, &[]);
            assert_eq!(a.code(), "404", "{path}");
            assert!(!a.text().contains("a.txt"), "{path}: {}", a.text());
        }
        // Without a listing, an index.html outside does not earn a redirect either.
        let plain = StaticFiles::new(dir.path()).unwrap();
        assert_eq!(get(&plain, "/outsub", &[]).code(), "404");
    }

    #[test]
    fn a_directory_named_index_html_is_not_an_index() {
        let dir = site();
        fs::create_dir(dir.path().join("bare/index.html")).unwrap();
        let app = StaticFiles::new(dir.path()).unwrap().with_listing(true);
        let a = get(&app, "/bare/", &[]);
        assert_eq!(a.status, "200 OK");
        let page = a.text();
        assert!(
            page.contains(r#"<li><a href="index.html/">index.html/</a></li>"#),
            "{page}"
        );
    }

    #[test]
    fn a_range_applies_to_a_directory_index_on_get_only() {
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let a = get(&app, "/sub/", &[("HTTP_RANGE", "bytes=0-2")]);
        assert_eq!(a.status, "206 Partial Content");
        assert_eq!(a.body, b"<p>");
        assert_eq!(a.header("Content-Range"), Some("bytes 0-2/12"));
        let h = head(&app, "/sub/", &[("HTTP_RANGE", "bytes=0-2")]);
        assert_eq!((h.code(), h.length), ("200", Some(12)));
        assert_eq!(h.header("Content-Range"), None);
    }

    #[test]
    fn if_match_with_the_weak_tag_after_another_tag_is_412() {
        // The parser must resume right after each closing quote: `"x", W/"tag"` read as
        // `"x"`, `", W/"`, `"tag"` would lose the `W/` and match strongly.
        let dir = site();
        let app = StaticFiles::new(dir.path()).unwrap();
        let etag = etag_of(&app, "/hello.txt");
        let a = get(
            &app,
            "/hello.txt",
            &[("HTTP_IF_MATCH", &format!("\"x\", W/{etag}"))],
        );
        assert_eq!(a.code(), "412");
        let strong = |h: &str| etag_list_matches(h, "\"abc\"", Comparison::Strong);
        assert!(!strong("\"x\", W/\"abc\""));
        assert!(strong("\"x\", \"abc\""));
    }

    #[test]
    fn lookup_errors_without_an_os_code_are_404_only_for_invalid_input() {
        // A name the OS cannot take (interior NUL) fails before any system call, with no errno.
        let nul = io::Error::new(io::ErrorKind::InvalidInput, "file name contained a NUL");
        assert_eq!(answer::<()>(Err(refusal(nul))), Some(Status::NotFound));
        let other = io::Error::other("disk on fire");
        assert_eq!(answer::<()>(Err(refusal(other))), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_that_may_be_searched_but_not_read_is_403_when_listed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = site();
        let locked = dir.path().join("bare/inner");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o311)).unwrap();
        if fs::read_dir(&locked).is_ok() {
            // Running as root: permissions cannot be tested here.
            return;
        }
        let app = StaticFiles::new(dir.path()).unwrap().with_listing(true);
        assert_eq!(get(&app, "/bare/inner/", &[]).status, "403 Forbidden");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn range_parsing() {
        use RangeAsk::*;
        assert_eq!(parse_range("bytes=0-0", 1), Part { start: 0, end: 0 });
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(
            parse_range("bytes=-1", u64::MAX),
            Part {
                start: u64::MAX - 1,
                end: u64::MAX - 1
            }
        );
        assert_eq!(
            parse_range("bytes=18446744073709551615-", 10),
            Unsatisfiable
        );
        assert_eq!(parse_range("bytes=0-1-2", 10), Whole);
        assert_eq!(parse_range("bytes= 1 - 2", 10), Whole);
    }

    #[test]
    fn entity_tag_lists() {
        let ours = "\"abc\"";
        let weak = |h: &str| etag_list_matches(h, ours, Comparison::Weak);
        assert!(weak("\"abc\""));
        assert!(weak(" W/\"abc\" "));
        assert!(weak("\"a,b\", \"abc\""));
        assert!(weak("*"));
        assert!(!weak("\"abcd\""));
        assert!(!weak("abc"));
        assert!(!weak("\"abc"));
        assert!(!weak("*, \"x\""));
        assert!(!weak(""));
        // If-Match's strong comparison: a weak tag never matches.
        let strong = |h: &str| etag_list_matches(h, ours, Comparison::Strong);
        assert!(strong("\"x\", \"abc\""));
        assert!(!strong("W/\"abc\""));
        assert!(!etag_list_matches(
            "\"abc\"",
            "W/\"abc\"",
            Comparison::Strong
        ));
    }
}
