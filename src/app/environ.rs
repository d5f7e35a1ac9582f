//! The WSGI-shaped environ: CGI-style keys with string values, in the order they were set.
//!
//! Values are "native strings" as PEP 3333 defines them: bytes from the wire decoded as latin-1,
//! so every byte maps to one char and the Python bridge can hand them over unchanged.

use std::borrow::Cow;
use std::sync::Arc;

use crate::http::request::{Head, cgi_byte};

/// Turns an environ string back into the bytes it came from (one byte per latin-1 char); a
/// char that cannot be latin-1 (set by an app, not by the server) contributes its UTF-8 bytes
/// instead of failing.
pub fn wire_bytes(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match u8::try_from(u32::from(c)) {
            Ok(b) => out.push(b),
            Err(_) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

/// An ordered map from environ key (`REQUEST_METHOD`, `HTTP_HOST`, `wsgi.url_scheme`, ...) to value.
///
/// A request carries about twenty keys, so a linear scan beats hashing and keeps insertion
/// order, which the echo app and the Python dict both show.
#[derive(Clone, Default)]
pub struct Environ {
    vars: Vec<(Cow<'static, str>, Value)>,
    /// What a request's environ was built from, for the values it shows unchanged.
    source: Option<Source>,
}

/// The request an environ was built from. `REQUEST_URI`, `QUERY_STRING`, most `PATH_INFO`s and
/// the header values are read from its head rather than copied (a copy was an allocation per
/// value per request: 4 for a minimal request, 10 with eight browser-like headers), and the
/// server's and the peer's values from the connection's (a reference count taken per value
/// was 8 atomic increments and as many decrements per request, five of them on counts that
/// every worker shared).
#[derive(Debug, Clone)]
struct Source {
    head: Head,
    connection: Arc<ConnectionVars>,
}

/// An environ value.
#[derive(Debug, Clone)]
enum Value {
    Owned(String),
    Static(&'static str),
    /// A part of the environ's source.
    From(Part),
}

/// A part of an environ's [`Source`] that a value shows as it is.
#[derive(Debug, Clone, Copy)]
enum Part {
    Method,
    Target,
    Path,
    Query,
    /// The value of the head's header at this index.
    Header(usize),
    RemoteAddr,
    RemotePort,
    ServerName,
    ServerPort,
    ServerSoftware,
    ScriptName,
    UrlScheme,
}

impl Part {
    fn of(self, source: &Source) -> &str {
        let (head, peer, server) = (
            &source.head,
            &source.connection.peer,
            &*source.connection.server,
        );
        match self {
            Part::Method => head.method(),
            Part::Target => head.target(),
            Part::Path => head.path(),
            Part::Query => head.query(),
            Part::Header(i) => head.header_at(i).map_or("", |(_, v)| v),
            Part::RemoteAddr => &peer.addr,
            Part::RemotePort => &peer.port,
            Part::ServerName => &server.server_name,
            Part::ServerPort => &server.server_port,
            Part::ServerSoftware => server.ident.as_deref().unwrap_or_default(),
            Part::ScriptName => &server.url_prefix,
            Part::UrlScheme => &server.url_scheme,
        }
    }
}

impl Value {
    fn as_str<'a>(&'a self, source: Option<&'a Source>) -> &'a str {
        match self {
            Value::Owned(s) => s,
            Value::Static(s) => s,
            Value::From(part) => source.map_or("", |source| part.of(source)),
        }
    }
}

impl PartialEq for Environ {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Environ {}

impl std::fmt::Debug for Environ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Environ {
    /// An empty environ.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty environ with room for `n` keys.
    pub fn with_capacity(n: usize) -> Self {
        Environ {
            vars: Vec::with_capacity(n),
            source: None,
        }
    }

    /// The parsed request head this environ was built from, if it was built by the server.
    pub fn head(&self) -> Option<&Head> {
        self.source.as_ref().map(|s| &s.head)
    }

    /// The value of `key`, if set: as PEP 3333 has it, the wire's bytes read as latin-1, so a
    /// UTF-8 path (`/caf%C3%A9`) reads `/cafÃ©`; [`Environ::get_utf8`] reads it as UTF-8.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str(self.source.as_ref()))
    }

    /// The value of `key` read as UTF-8 (`/café`), as Python apps do with
    /// `value.encode("latin-1").decode("utf-8")`; `None` if unset or not UTF-8.
    pub fn get_utf8(&self, key: &str) -> Option<String> {
        String::from_utf8(wire_bytes(self.get(key)?)).ok()
    }

    /// The request header `name` (any case, `"Content-Type"`), as the environ has it:
    /// `CONTENT_TYPE` and `CONTENT_LENGTH`, the others as `HTTP_*` (repeated headers joined
    /// with `", "`, untrusted proxy headers already removed). A name with `_` finds nothing:
    /// such headers never reach an app (waitress drops them, as `X_Under` and `X-Under`
    /// would both be `HTTP_X_UNDER`).
    pub fn header(&self, name: &str) -> Option<&str> {
        if name.contains('_') {
            return None;
        }
        let as_cgi = || name.bytes().map(cgi_byte);
        // CONTENT_TYPE and CONTENT_LENGTH have no HTTP_ prefix (PEP 3333).
        let unprefixed = ["Content-Type", "Content-Length"]
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name));
        self.vars
            .iter()
            .find(|(key, _)| {
                let key = if unprefixed {
                    Some(key.as_ref())
                } else {
                    key.strip_prefix("HTTP_")
                };
                key.is_some_and(|k| k.bytes().eq(as_cgi()))
            })
            .map(|(_, v)| v.as_str(self.source.as_ref()))
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        self.vars.iter().any(|(k, _)| k == key)
    }

    /// Sets `key` to `value`, replacing an earlier value in place or appending a new key.
    pub fn set(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        let key = key.into();
        let value = Value::Owned(value.into());
        match self.vars.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((key, value)),
        }
    }

    /// Appends `key` without looking for an earlier value; the caller knows it is new.
    pub fn push(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        self.vars.push((key.into(), Value::Owned(value.into())));
    }

    fn push_value(&mut self, key: &'static str, value: Value) {
        self.vars.push((Cow::Borrowed(key), value));
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let at = self.vars.iter().position(|(k, _)| k == key)?;
        let (_, value) = self.vars.remove(at);
        Some(match value {
            Value::Owned(s) => s,
            other => other.as_str(self.source.as_ref()).to_owned(),
        })
    }

    /// Every key and value, in the order they were set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let source = self.source.as_ref();
        self.vars
            .iter()
            .map(move |(k, v)| (k.as_ref(), v.as_str(source)))
    }

    /// Every key, in the order they were set.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.vars.iter().map(|(k, _)| k.as_ref())
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_finds_a_request_header_by_its_http_name() {
        let mut env = Environ::new();
        env.push("CONTENT_TYPE", "text/plain");
        env.push("CONTENT_LENGTH", "5");
        env.push("HTTP_X_REQUEST_ID", "abc");
        env.push("HTTP_ACCEPT", "a, b");
        env.push("PATH_INFO", "/");
        assert_eq!(env.header("Content-Type"), Some("text/plain"));
        assert_eq!(env.header("content-length"), Some("5"));
        assert_eq!(env.header("X-Request-Id"), Some("abc"));
        assert_eq!(env.header("ACCEPT"), Some("a, b"));
        assert_eq!(env.header("X_Request_Id"), None);
        assert_eq!(env.header("Path-Info"), None);
        assert_eq!(env.header("Content"), None);
        assert_eq!(env.header("X-Request"), None);
        assert_eq!(env.header(""), None);
    }

    #[test]
    fn set_replaces_in_place_and_keeps_order() {
        let mut env = Environ::new();
        env.set("A", "1");
        env.set("B", "2");
        env.set("A", "3");
        assert_eq!(env.iter().collect::<Vec<_>>(), vec![("A", "3"), ("B", "2")]);
        assert_eq!(env.remove("A").as_deref(), Some("3"));
        assert_eq!(env.get("A"), None);
        assert_eq!(env.len(), 1);
    }

    #[test]
    fn header_keys_known_and_built_agree() {
        assert_eq!(header_key("CONTENT_TYPE"), "CONTENT_TYPE");
        assert_eq!(header_key("HOST"), "HTTP_HOST");
        assert!(matches!(
            header_key("USER_AGENT"),
            Cow::Borrowed("HTTP_USER_AGENT")
        ));
        assert!(matches!(header_key("X_CUSTOM"), Cow::Owned(ref k) if k == "HTTP_X_CUSTOM"));
        for key in COMMON_HEADER_KEYS {
            assert_eq!(header_key(&key[HTTP_PREFIX.len()..]), key);
        }
    }

    #[test]
    fn core_keys_are_the_ones_a_request_gets() {
        let head = crate::http::request::parse_head(
            b"POST /p?q HTTP/1.1\r\nHost: h\r\nContent-Type: t\r\nContent-Length: 1\r\n\r\n",
            &crate::http::request::Limits::default(),
        )
        .unwrap();
        let server = ServerVars {
            server_name: "s".into(),
            server_port: "80".into(),
            url_scheme: "http".into(),
            url_prefix: "".into(),
            ident: Some("waitress".into()),
        };
        let env = for_request(head, 1, ConnectionVars::new(Peer::Unix, Arc::new(server)));
        let keys: Vec<&str> = env.iter().map(|(k, _)| k).collect();
        for key in CORE_KEYS {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
    }
}

/// Who sent the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A TCP client.
    Tcp(std::net::SocketAddr),
    /// A client on a Unix socket, which has no address: waitress reports it as `localhost`.
    Unix,
}

/// What the environ shows about a connection: the peer, formatted once, and the listener's
/// view of the server. Its requests share it, one reference count each.
#[derive(Debug, PartialEq, Eq)]
pub struct ConnectionVars {
    peer: PeerVars,
    server: Arc<ServerVars>,
}

impl ConnectionVars {
    /// The environ's view of a connection from `peer` to `server`.
    pub fn new(peer: Peer, server: Arc<ServerVars>) -> Arc<ConnectionVars> {
        Arc::new(ConnectionVars {
            peer: PeerVars::new(peer),
            server,
        })
    }
}

/// The peer as the environ shows it.
#[derive(Debug, PartialEq, Eq)]
struct PeerVars {
    /// `REMOTE_ADDR` and `REMOTE_HOST`.
    addr: String,
    /// `REMOTE_PORT`.
    port: String,
}

impl PeerVars {
    fn new(peer: Peer) -> PeerVars {
        match peer {
            Peer::Tcp(addr) => PeerVars {
                addr: ip_string(addr.ip()),
                port: crate::http::decimal(u64::from(addr.port())),
            },
            Peer::Unix => PeerVars {
                addr: "localhost".into(),
                // waitress's str(None): the peer of a Unix socket has no port.
                port: "None".into(),
            },
        }
    }
}

/// What the server tells every request about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVars {
    /// `SERVER_NAME` (the `server_name` setting).
    pub server_name: String,
    /// `SERVER_PORT`: the bound port, or the socket path for a Unix socket.
    pub server_port: String,
    /// `wsgi.url_scheme` (the `url_scheme` setting).
    pub url_scheme: String,
    /// `SCRIPT_NAME` (the `url_prefix` setting, slash-fixed).
    pub url_prefix: String,
    /// `SERVER_SOFTWARE` (the `ident` setting).
    pub ident: Option<String>,
}

/// The environ for a request, as waitress's `get_environment` builds it. The environ keeps
/// `head` and `connection` and reads the values it shows unchanged from them.
pub fn for_request(head: Head, body_len: u64, connection: Arc<ConnectionVars>) -> Environ {
    use crate::http::request::{Framing, TargetForm};

    let mut env = Environ::with_capacity(16 + head.headers().len());
    env.push_value("REMOTE_ADDR", Value::From(Part::RemoteAddr));
    env.push_value("REMOTE_HOST", Value::From(Part::RemoteAddr));
    env.push_value("REMOTE_PORT", Value::From(Part::RemotePort));
    env.push_value("REQUEST_METHOD", Value::From(Part::Method));
    env.push_value("SERVER_PORT", Value::From(Part::ServerPort));
    env.push_value("SERVER_NAME", Value::From(Part::ServerName));
    let server = &connection.server;
    if server.ident.is_some() {
        env.push_value("SERVER_SOFTWARE", Value::From(Part::ServerSoftware));
    }
    env.push_value("SERVER_PROTOCOL", Value::Static(head.version.as_str()));
    env.push_value("SCRIPT_NAME", Value::From(Part::ScriptName));
    let path = match path_info(head.path(), &server.url_prefix) {
        Cow::Borrowed(_) => Value::From(Part::Path),
        Cow::Owned(decoded) => Value::Owned(decoded),
    };
    env.push_value("PATH_INFO", path);
    env.push_value("REQUEST_URI", Value::From(Part::Target));
    env.push_value("QUERY_STRING", Value::From(Part::Query));
    env.push_value("wsgi.url_scheme", Value::From(Part::UrlScheme));
    for (i, (name, _)) in head.headers().enumerate() {
        let key = header_key(name);
        if !env.contains(&key) {
            env.vars.push((key, Value::From(Part::Header(i))));
        }
    }
    if head.form == TargetForm::Absolute {
        // RFC 9112 §3.2.2: the target's authority is the host; the Host header is ignored.
        if let Some(host) = head.host() {
            env.set("HTTP_HOST", host.to_owned());
        }
    }
    if head.framing == Framing::Chunked {
        env.set("CONTENT_LENGTH", crate::http::decimal(body_len));
    }
    env.source = Some(Source { head, connection });
    env
}

/// The keys [`for_request`] sets apart from `HTTP_*` headers: every request gets them,
/// except `SERVER_SOFTWARE` (only with `ident` set) and `CONTENT_TYPE` and `CONTENT_LENGTH`
/// (only when the request carries them).
pub const CORE_KEYS: [&str; 15] = [
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "REMOTE_PORT",
    "REQUEST_METHOD",
    "SERVER_PORT",
    "SERVER_NAME",
    "SERVER_SOFTWARE",
    "SERVER_PROTOCOL",
    "SCRIPT_NAME",
    "PATH_INFO",
    "REQUEST_URI",
    "QUERY_STRING",
    "wsgi.url_scheme",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
];

/// Environ keys of the headers browsers, proxies and API clients commonly send, most common
/// first. The environ takes them from here rather than building them (a key built per header
/// was an allocation made and freed per request), and the Python bridge interns them once.
pub const COMMON_HEADER_KEYS: [&str; 34] = [
    "HTTP_HOST",
    "HTTP_USER_AGENT",
    "HTTP_ACCEPT",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_CONNECTION",
    "HTTP_COOKIE",
    "HTTP_REFERER",
    "HTTP_ORIGIN",
    "HTTP_CACHE_CONTROL",
    "HTTP_PRAGMA",
    "HTTP_AUTHORIZATION",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_UPGRADE_INSECURE_REQUESTS",
    "HTTP_DNT",
    "HTTP_SEC_FETCH_DEST",
    "HTTP_SEC_FETCH_MODE",
    "HTTP_SEC_FETCH_SITE",
    "HTTP_SEC_FETCH_USER",
    "HTTP_SEC_CH_UA",
    "HTTP_SEC_CH_UA_MOBILE",
    "HTTP_SEC_CH_UA_PLATFORM",
    "HTTP_X_REQUESTED_WITH",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_BY",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_VIA",
    "HTTP_EXPECT",
    "HTTP_RANGE",
];

/// What CGI puts before a header's name (RFC 3875 §4.1.18), but for the two headers it names
/// without it.
const HTTP_PREFIX: &str = "HTTP_";

/// The environ key of a header whose name is already in CGI form (`USER_AGENT`):
/// `CONTENT_TYPE` and `CONTENT_LENGTH` as they are, every other name behind `HTTP_`.
fn header_key(name: &str) -> Cow<'static, str> {
    match name {
        "CONTENT_TYPE" => Cow::Borrowed("CONTENT_TYPE"),
        "CONTENT_LENGTH" => Cow::Borrowed("CONTENT_LENGTH"),
        _ => match COMMON_HEADER_KEYS
            .iter()
            .find(|key| key.strip_prefix(HTTP_PREFIX) == Some(name))
        {
            Some(key) => Cow::Borrowed(key),
            None => {
                let mut key = String::with_capacity(HTTP_PREFIX.len() + name.len());
                key.push_str(HTTP_PREFIX);
                key.push_str(name);
                Cow::Owned(key)
            }
        },
    }
}

/// An IP address as text: IPv4 written digit by digit, since `Ipv4Addr`'s `Display` (which
/// supports padding) cost 1,360 instructions per request, the most of any environ key
/// (callgrind, hello world). IPv6 is rarer and keeps the standard formatting.
fn ip_string(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut out = String::with_capacity(15);
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if octet >= 100 {
                    out.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    out.push(char::from(b'0' + octet / 10 % 10));
                }
                out.push(char::from(b'0' + octet % 10));
            }
            out
        }
        std::net::IpAddr::V6(_) => ip.to_string(),
    }
}

/// `PATH_INFO`: the path %-decoded to bytes and read as latin-1 (PEP 3333), leading slashes
/// collapsed to one, and the `url_prefix` removed from the front.
fn path_info<'a>(raw: &'a str, prefix: &str) -> Cow<'a, str> {
    if prefix.is_empty() && !raw.contains('%') && !raw.starts_with("//") {
        // Nothing to decode, collapse or strip: the common case, and the path of an
        // asterisk-form target (`*`).
        return Cow::Borrowed(raw);
    }
    let decoded = crate::http::latin1(&percent_decode(raw.as_bytes()));
    let path = if decoded.starts_with('/') {
        format!("/{}", decoded.trim_start_matches('/'))
    } else {
        decoded
    };
    if prefix.is_empty() {
        return Cow::Owned(path);
    }
    if path == prefix {
        return Cow::Owned(String::new());
    }
    Cow::Owned(match path.strip_prefix(prefix) {
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        _ => path,
    })
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is, as Python's
/// `unquote_to_bytes` leaves it.
pub fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod request_tests {
    use super::*;
    use crate::http::request::{Limits, parse_head};

    fn server(prefix: &str) -> ServerVars {
        ServerVars {
            server_name: "waitress.invalid".into(),
            server_port: "8080".into(),
            url_scheme: "http".into(),
            url_prefix: prefix.into(),
            ident: Some("waitress".into()),
        }
    }

    fn environ(request: &str, prefix: &str) -> Environ {
        let limits = Limits {
            max_header_size: 1 << 20,
            max_body_size: 1 << 30,
        };
        let head = parse_head(request.as_bytes(), &limits).unwrap();
        for_request(
            head,
            0,
            ConnectionVars::new(
                Peer::Tcp("127.0.0.1:5000".parse().unwrap()),
                Arc::new(server(prefix)),
            ),
        )
    }

    #[test]
    fn ip_string_matches_display() {
        for ip in [
            "0.0.0.0",
            "9.10.99.100",
            "127.0.0.1",
            "255.255.255.255",
            "::1",
            "fe80::1:2",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(super::ip_string(ip), ip.to_string());
        }
    }

    #[test]
    fn header_reads_a_parsed_request_by_its_header_names() {
        let env = environ(
            "POST /p HTTP/1.1\r\nHost: h\r\nContent-Type: text/csv\r\nContent-Length: 0\r\nX-Multi: a\r\nx-multi: b\r\nX_Under: no\r\n\r\n",
            "",
        );
        assert_eq!(env.header("content-type"), Some("text/csv"));
        assert_eq!(env.header("Content-Length"), Some("0"));
        assert_eq!(env.header("Host"), Some("h"));
        assert_eq!(env.header("X-Multi"), Some("a, b"));
        assert_eq!(env.header("X_Under"), None);
    }

    #[test]
    fn builds_the_cgi_keys_as_waitress_does() {
        let env = environ(
            "GET /foo/bar%20baz/?q=1&r=%41#frag HTTP/1.1\r\nHost: example.com:9000\r\nX-Multi: a\r\nx-multi: b\r\nX_Under: no\r\n\r\n",
            "/foo",
        );
        assert_eq!(env.get("PATH_INFO"), Some("/bar baz/"));
        assert_eq!(env.get("SCRIPT_NAME"), Some("/foo"));
        assert_eq!(env.get("QUERY_STRING"), Some("q=1&r=%41"));
        assert_eq!(
            env.get("REQUEST_URI"),
            Some("/foo/bar%20baz/?q=1&r=%41#frag")
        );
        assert_eq!(env.get("SERVER_NAME"), Some("waitress.invalid"));
        assert_eq!(env.get("HTTP_HOST"), Some("example.com:9000"));
        assert_eq!(env.get("HTTP_X_MULTI"), Some("a, b"));
        assert_eq!(env.get("HTTP_X_UNDER"), None);
        assert_eq!(env.get("REMOTE_ADDR"), Some("127.0.0.1"));
        assert_eq!(env.get("REMOTE_PORT"), Some("5000"));
        assert_eq!(env.get("SERVER_PROTOCOL"), Some("HTTP/1.1"));
        assert_eq!(env.get("wsgi.url_scheme"), Some("http"));
    }

    #[test]
    fn path_info_is_latin1_and_slash_collapsed() {
        assert_eq!(
            environ("GET //double//slash HTTP/1.0\r\n\r\n", "").get("PATH_INFO"),
            Some("/double//slash")
        );
        assert_eq!(
            environ("GET /%C3%A4 HTTP/1.0\r\n\r\n", "").get("PATH_INFO"),
            Some("/\u{c3}\u{a4}")
        );
        assert_eq!(
            environ("GET /foo HTTP/1.0\r\n\r\n", "/foo").get("PATH_INFO"),
            Some("")
        );
        assert_eq!(
            environ("GET /foobar HTTP/1.0\r\n\r\n", "/foo").get("PATH_INFO"),
            Some("/foobar")
        );
        assert_eq!(
            environ("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "").get("PATH_INFO"),
            Some("*")
        );
    }

    #[test]
    fn utf8_values_read_back_as_utf8() {
        let env = environ("GET /caf%C3%A9?q=%E2%82%AC HTTP/1.0\r\n\r\n", "");
        assert_eq!(env.get("PATH_INFO"), Some("/caf\u{c3}\u{a9}"));
        assert_eq!(env.get_utf8("PATH_INFO").as_deref(), Some("/café"));
        assert_eq!(env.get_utf8("QUERY_STRING").as_deref(), Some("q=%E2%82%AC"));
        assert_eq!(env.get_utf8("HTTP_NONE"), None);
        // A byte that is not UTF-8.
        let env = environ("GET /%FF HTTP/1.0\r\n\r\n", "");
        assert_eq!(env.get_utf8("PATH_INFO"), None);
        assert_eq!(wire_bytes("a\u{ff}\u{20ac}"), b"a\xff\xe2\x82\xac");
    }

    #[test]
    fn values_read_from_the_head_behave_like_copies() {
        let mut env = environ(
            "GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nX-One: 2\r\n\r\n",
            "",
        );
        assert_eq!(env.get("REQUEST_URI"), Some("/a%20b?x=1"));
        assert_eq!(env.get("PATH_INFO"), Some("/a b"));
        assert_eq!(env.get("QUERY_STRING"), Some("x=1"));
        assert_eq!(env.get("HTTP_X_ONE"), Some("1, 2"));
        let copy = env.clone();
        assert_eq!(copy, env);
        assert_eq!(env.remove("QUERY_STRING").as_deref(), Some("x=1"));
        env.set("HTTP_HOST", "other");
        assert_eq!(env.get("HTTP_HOST"), Some("other"));
        assert_ne!(copy, env);
        assert_eq!(copy.get("HTTP_HOST"), Some("h"));
        assert_eq!(env.head().map(Head::path), Some("/a%20b"));
    }

    #[test]
    fn absolute_form_takes_the_host_from_the_target() {
        let env = environ(
            "GET http://target.example:81/p?x HTTP/1.1\r\nHost: header.example\r\n\r\n",
            "",
        );
        assert_eq!(env.get("HTTP_HOST"), Some("target.example:81"));
        assert_eq!(env.get("PATH_INFO"), Some("/p"));
        assert_eq!(env.get("QUERY_STRING"), Some("x"));
    }

    #[test]
    fn content_headers_have_no_http_prefix() {
        let env = environ(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n",
            "",
        );
        assert_eq!(env.get("CONTENT_TYPE"), Some("text/plain"));
        assert_eq!(env.get("CONTENT_LENGTH"), Some("0"));
        assert_eq!(env.get("HTTP_CONTENT_TYPE"), None);
    }

    #[test]
    fn percent_decoding_leaves_bad_escapes() {
        assert_eq!(percent_decode(b"%41%2f%zz%4"), b"A/%zz%4");
    }
}
