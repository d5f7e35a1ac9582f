//! Trusted proxy headers (`Forwarded`, `X-Forwarded-*`), applied to the environ before the app runs.
//!
//! The behaviour follows waitress 3.0.2's `proxy_headers` middleware: the peer is trusted by an
//! exact string match of `REMOTE_ADDR` (or `*`), the trusted headers rewrite `REMOTE_ADDR`,
//! `REMOTE_HOST`, `REMOTE_PORT`, `SERVER_NAME`, `SERVER_PORT`, `HTTP_HOST` and `wsgi.url_scheme`,
//! the trusted list headers are cut down to the trusted hops, and the untrusted ones are removed.
//!
//! Where waitress accepts nonsense it hands on to the application (a port of `abc`, a host of
//! `evil.com/../x`) this layer answers 400 instead; each such place says so in a comment.
//!
//! Header values arrive latin-1 decoded, so every `char` here is one byte from the wire and the
//! parsing below works char by char on ASCII delimiters, never through `trim()` or
//! `to_lowercase()`, whose Unicode rules would change what the proxy sent.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};

use crate::app::environ::Environ;
use crate::http::authority;
use crate::settings::ProxyHeader;

/// The `log` target every waitress message uses, so operators can filter as they did in Python.
const LOG_TARGET: &str = "waitress";

/// `trusted_proxy = *` trusts every peer.
const TRUST_ANY_PEER: &str = "*";

const REMOTE_ADDR: &str = "REMOTE_ADDR";
const REMOTE_HOST: &str = "REMOTE_HOST";
const REMOTE_PORT: &str = "REMOTE_PORT";
const SERVER_NAME: &str = "SERVER_NAME";
const SERVER_PORT: &str = "SERVER_PORT";
const HTTP_HOST: &str = "HTTP_HOST";
const URL_SCHEME: &str = "wsgi.url_scheme";

/// Separates list elements (hops) in `X-Forwarded-*` and `Forwarded`. Like waitress, a comma
/// inside a quoted string is not special-cased: proxies do not put one there.
const LIST_SEPARATOR: char = ',';
/// Separates the forwarded-pairs of one `Forwarded` element.
const PAIR_SEPARATOR: char = ';';
/// Separates a forwarded-pair's token from its value.
const PAIR_EQUALS: char = '=';
/// Separates a host (or a client address) from its port.
const PORT_SEPARATOR: char = ':';

/// Unknown `Forwarded` tokens named in the one warning a header gets (see [`UnknownTokens`]).
const MAX_TOKENS_LOGGED: usize = 8;

/// Optional whitespace around list elements (RFC 9110 §5.6.1: SP / HTAB).
///
/// Waitress uses Python's `str.strip()` here, which also removes `\x85` (NEL), `\xa0` (NBSP),
/// VT, FF and `\x1c`-`\x1f`. Those bytes are not list whitespace in HTTP, and stripping them is
/// the mistake behind CVE-2019-16789 (a value that looks clean to one hop and different to
/// another), so only SP and HTAB are stripped: a hop padded with NBSP stays visibly odd (and
/// fails the host, port and proto checks) instead of being silently cleaned up.
const OWS: [char; 2] = [' ', '\t'];

/// What Python's `str.strip()` removes within latin-1. Used only where waitress *rejects* a
/// forwarded-pair for surrounding whitespace: rejecting at least as much as waitress is safe,
/// whereas stripping as much (see [`OWS`]) is not.
const PYTHON_WHITESPACE: [char; 12] = [
    '\t', '\n', '\x0b', '\x0c', '\r', '\x1c', '\x1d', '\x1e', '\x1f', ' ', '\u{85}', '\u{a0}',
];

const FORWARDED_FOR: &str = "for";
const FORWARDED_HOST: &str = "host";
const FORWARDED_PROTO: &str = "proto";
const FORWARDED_BY: &str = "by";

const SCHEME_HTTP: &str = "http";
const SCHEME_HTTPS: &str = "https";
const DEFAULT_PORT_HTTP: &str = "80";
const DEFAULT_PORT_HTTPS: &str = "443";

/// The header names waitress reports for values that came out of a `Forwarded` header.
const FORWARDED_PROTO_NAME: &str = "Forwarded Proto=";
/// Waitress has no such name because it never checks the host; this one follows its pattern.
const FORWARDED_HOST_NAME: &str = "Forwarded Host=";

// Waitress's reasons (its exception texts), kept word for word because they reach the log.
const REASON_QUOTING: &str = "Invalid quoting in value";
const REASON_MULTIPLE_VALUES: &str = "Unspecified behavior for multiple values found in header";
const REASON_MISSING_EQUALS: &str = "Invalid forwarded-pair missing \"=\"";
const REASON_TOKEN_WHITESPACE: &str = "Token may not be surrounded by whitespace";
const REASON_VALUE_WHITESPACE: &str = "Value may not be surrounded by whitespace";
const REASON_UNSUPPORTED_PROTO: &str = "unsupported proto value";
// Reasons for the checks waitress does not make.
const REASON_NOT_A_SCHEME: &str = "proto value is not a URI scheme";
const REASON_BAD_PORT: &str = "port must be 1*DIGIT within 1-65535";
const REASON_BAD_HOST: &str = "host must be uri-host[:port]";
const REASON_EMPTY_ADDRESS: &str = "empty client address";
const REASON_INVISIBLE_ADDRESS: &str = "client address must be visible ASCII";

/// How the proxy layer is configured (the `trusted_proxy*` and `*_untrusted_proxy_headers`
/// settings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The peer address to trust: compared as a string with `REMOTE_ADDR`, `*` for any peer,
    /// `localhost` for Unix sockets.
    pub trusted_proxy: Option<String>,
    /// How many hops, counted from the end of each list header, to trust; 0 means all of them
    /// (waitress slices with `[-count:]`, and `[-0:]` is the whole list).
    pub trusted_proxy_count: usize,
    /// Which headers the trusted proxy sets.
    pub trusted_proxy_headers: BTreeSet<ProxyHeader>,
    /// Remove the proxy headers that are not trusted before the app sees them.
    pub clear_untrusted_proxy_headers: bool,
    /// Log a warning when untrusted proxy headers were removed.
    pub log_untrusted_proxy_headers: bool,
}

/// A trusted proxy header that cannot be used; the server answers 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Malformed proxy header \"{header}\": {reason} value: {value}")]
pub struct MalformedProxyHeader {
    /// The header as waitress names it: `X-Forwarded-Proto`, `Forwarded`, `Forwarded Proto=`.
    pub header: &'static str,
    /// Why it was rejected.
    pub reason: String,
    /// The offending value.
    pub value: String,
}

impl MalformedProxyHeader {
    fn new(header: &'static str, reason: &str, value: &str) -> Self {
        MalformedProxyHeader {
            header,
            reason: reason.to_owned(),
            value: value.to_owned(),
        }
    }

    /// The 400 detail waitress sends: `Header "X-Forwarded-Proto" malformed.`
    pub fn detail(&self) -> String {
        format!("Header \"{}\" malformed.", self.header)
    }
}

impl ProxyConfig {
    /// Whether the layer does anything at all (waitress installs its middleware when
    /// trusted_proxy or clear_untrusted_proxy_headers).
    pub fn is_active(&self) -> bool {
        self.trusted_proxy.is_some() || self.clear_untrusted_proxy_headers
    }

    /// Applies the proxy headers to the environ (the peer is environ["REMOTE_ADDR"],
    /// "localhost" for Unix sockets).
    ///
    /// On `Err` the environ is left as it was; the request must be answered with 400 and
    /// [`MalformedProxyHeader::detail`], and the warning has already been logged.
    pub fn apply(&self, environ: &mut Environ) -> Result<(), MalformedProxyHeader> {
        self.apply_with(
            environ,
            &mut |message| log::warn!(target: LOG_TARGET, "{message}"),
        )
    }

    /// [`ProxyConfig::apply`] with the warnings handed to `warn`, so tests can see them without
    /// installing a global logger.
    fn apply_with(
        &self,
        environ: &mut Environ,
        warn: &mut dyn FnMut(String),
    ) -> Result<(), MalformedProxyHeader> {
        let peer = environ.get(REMOTE_ADDR).unwrap_or_default();
        let trusted_peer = self
            .trusted_proxy
            .as_deref()
            .is_some_and(|trusted| trusted == TRUST_ANY_PEER || trusted == peer);
        if !trusted_peer
            && !environ
                .keys()
                .any(|key| ProxyHeader::ALL.iter().any(|h| h.environ_key() == key))
        {
            // Nothing to read and nothing to remove: the common case without a proxy, which
            // cost 2,300 instructions per request before this check (callgrind, hello world).
            return Ok(());
        }
        let peer = peer.to_owned();
        let mut untrusted: BTreeSet<ProxyHeader> = ProxyHeader::ALL.into_iter().collect();
        if trusted_peer {
            match self.parse(environ, warn) {
                Ok(mut changes) => {
                    untrusted = std::mem::take(&mut changes.untrusted);
                    changes.apply_to(environ);
                }
                Err(err) => {
                    warn(format!(
                        "Malformed proxy header \"{}\" from \"{}\": {} value: {}",
                        err.header, peer, err.reason, err.value
                    ));
                    return Err(err);
                }
            }
        }
        if self.clear_untrusted_proxy_headers {
            // ALL's order, so the log line is the same for the same request (waitress iterates
            // a set, whose order varies between runs).
            let removed: Vec<&str> = ProxyHeader::ALL
                .into_iter()
                .filter(|h| untrusted.contains(h) && environ.remove(h.environ_key()).is_some())
                .map(ProxyHeader::wire_name)
                .collect();
            if self.log_untrusted_proxy_headers && !removed.is_empty() {
                warn(format!(
                    "Removed untrusted headers ({}). Waitress recommends these be removed upstream.",
                    removed.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Reads the trusted headers and works out every change, without touching the environ, so
    /// a malformed header leaves the request as it came. The steps run in this order, which
    /// decides the header an error names when several are wrong.
    fn parse(
        &self,
        environ: &Environ,
        warn: &mut dyn FnMut(String),
    ) -> Result<Changes, MalformedProxyHeader> {
        let mut changes = Changes {
            untrusted: ProxyHeader::ALL.into_iter().collect(),
            ..Changes::default()
        };
        let mut claims = self.read_x_forwarded(environ, &mut changes)?;
        self.read_forwarded(environ, warn, &mut claims, &mut changes)?;
        let scheme = claims.apply_proto(environ, &mut changes)?;
        claims.apply_host(&scheme, &mut changes)?;
        if !claims.port.is_empty() {
            changes.set(SERVER_PORT, claims.port);
        }
        if let Some(client) = claims.client {
            client.apply(&mut changes)?;
        }
        Ok(changes)
    }

    /// Whether the proxy is trusted to set `header`.
    fn trusts(&self, header: ProxyHeader) -> bool {
        self.trusted_proxy_headers.contains(&header)
    }

    /// What the trusted `X-Forwarded-*` headers claim; each of them is kept from the clearing.
    fn read_x_forwarded(
        &self,
        environ: &Environ,
        changes: &mut Changes,
    ) -> Result<Claims, MalformedProxyHeader> {
        let mut claims = Claims::default();

        let xff = ProxyHeader::XForwardedFor;
        if let Some((first, raw)) = self.read_list(environ, xff, changes)? {
            claims.client = Some(ClientClaim {
                addr: bracket_bare_ipv6(first),
                header: xff.wire_name(),
                raw: raw.to_owned(),
            });
        }

        if let Some((first, _)) = self.read_list(environ, ProxyHeader::XForwardedHost, changes)? {
            claims.host = first;
        }

        let xfproto = ProxyHeader::XForwardedProto;
        if self.trusts(xfproto) {
            claims.proto = single_value(environ, xfproto)?;
            changes.untrusted.remove(&xfproto);
        }

        let xfport = ProxyHeader::XForwardedPort;
        if self.trusts(xfport) {
            claims.port = single_value(environ, xfport)?;
            // Stricter than waitress, which hands `abc` on as SERVER_PORT (PX-06).
            if !claims.port.is_empty() && !is_port(&claims.port) {
                let raw = environ.get(xfport.environ_key()).unwrap_or_default();
                return Err(MalformedProxyHeader::new(
                    xfport.wire_name(),
                    REASON_BAD_PORT,
                    raw,
                ));
            }
            changes.untrusted.remove(&xfport);
        }

        let xfby = ProxyHeader::XForwardedBy;
        if self.trusts(xfby) {
            // Not used here, but the app may read it, so it must survive the clearing.
            changes.untrusted.remove(&xfby);
        }
        Ok(claims)
    }

    /// A trusted list header (`X-Forwarded-For`, `X-Forwarded-Host`) when it is present: its
    /// first trusted hop and its raw value. The app is to see only the trusted hops.
    fn read_list<'e>(
        &self,
        environ: &'e Environ,
        header: ProxyHeader,
        changes: &mut Changes,
    ) -> Result<Option<(String, &'e str)>, MalformedProxyHeader> {
        if !self.trusts(header) {
            return Ok(None);
        }
        let Some(raw) = environ.get(header.environ_key()) else {
            return Ok(None);
        };
        let hops = split_list(raw)
            .map_err(|reason| MalformedProxyHeader::new(header.wire_name(), reason, raw))?;
        let count = self.trusted_proxy_count;
        let first = keep_last(&hops, count).first().cloned().unwrap_or_default();
        changes.set(header.environ_key(), rewrite_list(raw, count));
        changes.untrusted.remove(&header);
        Ok(Some((first, raw)))
    }

    /// A trusted `Forwarded` header: it replaces what `X-Forwarded-*` claimed, and once it is
    /// trusted, those are cleared.
    fn read_forwarded(
        &self,
        environ: &Environ,
        warn: &mut dyn FnMut(String),
        claims: &mut Claims,
        changes: &mut Changes,
    ) -> Result<(), MalformedProxyHeader> {
        let fwd = ProxyHeader::Forwarded;
        if !self.trusts(fwd) {
            return Ok(());
        }
        // Once Forwarded is trusted, every X-Forwarded-* is cleared, even the trusted ones
        // (waitress: `PROXY_HEADERS - {"FORWARDED"}`); they still count if Forwarded is
        // absent.
        changes.untrusted = ProxyHeader::ALL.into_iter().filter(|h| *h != fwd).collect();
        let forwarded = environ.get(fwd.environ_key()).unwrap_or_default();
        if forwarded.is_empty() {
            return Ok(());
        }
        let elements = parse_forwarded(forwarded, warn)
            .map_err(|reason| MalformedProxyHeader::new(fwd.wire_name(), reason, forwarded))?;
        // Waitress's parsing loop reuses the X-Forwarded-* variables for each element, so
        // a Forwarded header replaces host, proto and port entirely; only the client address
        // from X-Forwarded-For survives when no trusted element has `for=`.
        claims.host.clear();
        claims.proto.clear();
        claims.port.clear();
        claims.from_forwarded = true;
        // Newest to oldest, each non-empty field overriding: the oldest trusted element
        // wins, because it holds what the client asked for and later proxies may have
        // rewritten host and proto on the way.
        let count = self.trusted_proxy_count;
        for element in keep_last(&elements, count).iter().rev() {
            if !element.for_.is_empty() {
                claims.client = Some(ClientClaim {
                    addr: element.for_.clone(),
                    header: fwd.wire_name(),
                    raw: forwarded.to_owned(),
                });
            }
            if !element.host.is_empty() {
                claims.host.clone_from(&element.host);
            }
            if !element.proto.is_empty() {
                claims.proto.clone_from(&element.proto);
            }
        }
        changes.set(fwd.environ_key(), rewrite_list(forwarded, count));
        Ok(())
    }
}

/// What the trusted headers claim about the client's request, before it is checked: the
/// `X-Forwarded-*` headers' values, or a `Forwarded` header's in their place. Empty is unclaimed.
#[derive(Debug, Default)]
struct Claims {
    /// The client's address.
    client: Option<ClientClaim>,
    /// The host it asked for, with or without a port.
    host: String,
    /// The scheme it used.
    proto: String,
    /// The port it connected to.
    port: String,
    /// Whether host and proto came from a `Forwarded` header, which errors then name.
    from_forwarded: bool,
}

impl Claims {
    /// Checks the proto and makes it the URL scheme, its default port the port when none was
    /// claimed; returns the scheme the request has now.
    fn apply_proto(
        &mut self,
        environ: &Environ,
        changes: &mut Changes,
    ) -> Result<String, MalformedProxyHeader> {
        let scheme = environ.get(URL_SCHEME).unwrap_or_default();
        if self.proto.is_empty() {
            return Ok(scheme.to_owned());
        }
        let proto = &mut self.proto;
        proto.make_ascii_lowercase();
        // Named after whichever header waitress would blame: Forwarded if one was used.
        let name = if self.from_forwarded {
            FORWARDED_PROTO_NAME
        } else {
            ProxyHeader::XForwardedProto.wire_name()
        };
        // The scheme check is ours; only http and https pass either way, but the reason
        // tells an operator whether the proxy sent garbage or just another scheme.
        if !is_uri_scheme(proto) {
            return Err(MalformedProxyHeader::new(name, REASON_NOT_A_SCHEME, proto));
        }
        if proto != SCHEME_HTTP && proto != SCHEME_HTTPS {
            return Err(MalformedProxyHeader::new(
                name,
                REASON_UNSUPPORTED_PROTO,
                proto,
            ));
        }
        changes.set(URL_SCHEME, proto.clone());
        if self.port.is_empty() {
            let default = if proto == SCHEME_HTTP {
                DEFAULT_PORT_HTTP
            } else {
                DEFAULT_PORT_HTTPS
            };
            self.port = default.to_owned();
        }
        Ok(proto.clone())
    }

    /// Checks the host and makes it `SERVER_NAME` and `HTTP_HOST`; a port in it becomes the
    /// port. `scheme` is the request's, which decides whether the port is implied.
    fn apply_host(
        &mut self,
        scheme: &str,
        changes: &mut Changes,
    ) -> Result<(), MalformedProxyHeader> {
        if self.host.is_empty() {
            return Ok(());
        }
        let host = &self.host;
        let name = if self.from_forwarded {
            FORWARDED_HOST_NAME
        } else {
            ProxyHeader::XForwardedHost.wire_name()
        };
        let (name_part, port_part) = split_port(host);
        // Stricter than waitress, which takes any string as the host (PX-12).
        if !authority::valid_uri_host(name_part.as_bytes()) {
            return Err(MalformedProxyHeader::new(name, REASON_BAD_HOST, host));
        }
        match port_part {
            Some(host_port) => {
                if !is_port(host_port) {
                    return Err(MalformedProxyHeader::new(name, REASON_BAD_PORT, host));
                }
                // The port in the host wins over X-Forwarded-Port and the proto's default.
                self.port = host_port.to_owned();
                changes.set(SERVER_NAME, name_part.to_owned());
                changes.set(HTTP_HOST, host.clone());
            }
            None => {
                changes.set(SERVER_NAME, host.clone());
                // The port joins HTTP_HOST unless it is the scheme's own default, so URLs
                // the app builds from HTTP_HOST point where the client connected.
                let port = &self.port;
                let implied = (port == DEFAULT_PORT_HTTP && scheme == SCHEME_HTTP)
                    || (port == DEFAULT_PORT_HTTPS && scheme == SCHEME_HTTPS);
                let http_host = if port.is_empty() || implied {
                    host.clone()
                } else {
                    format!("{host}{PORT_SEPARATOR}{port}")
                };
                changes.set(HTTP_HOST, http_host);
            }
        }
        Ok(())
    }
}

/// The client address a trusted header claims.
#[derive(Debug)]
struct ClientClaim {
    /// `addr` or `addr:port`, as the header had it.
    addr: String,
    /// The header it came from, named in errors about it.
    header: &'static str,
    /// That header's value, quoted in errors.
    raw: String,
}

impl ClientClaim {
    /// Checks the address and makes it `REMOTE_ADDR` and `REMOTE_HOST`, its port (or none)
    /// `REMOTE_PORT`. An empty claim changes nothing.
    fn apply(self, changes: &mut Changes) -> Result<(), MalformedProxyHeader> {
        if self.addr.is_empty() {
            return Ok(());
        }
        let (addr_part, port_part) = split_port(&self.addr);
        let remote = strip_brackets(trim_ows(addr_part));
        if remote.is_empty() {
            // Waitress indexes into the empty string here and answers 500.
            return Err(MalformedProxyHeader::new(
                self.header,
                REASON_EMPTY_ADDRESS,
                &self.raw,
            ));
        }
        let port_part = port_part.map(trim_ows);
        if !is_visible_ascii(remote) || !port_part.is_none_or(is_visible_ascii) {
            // What waitress strips as whitespace (NBSP, NEL, ...) or would pass on
            // (a control byte, Latin-1) does not reach REMOTE_ADDR: the host, port
            // and proto checks refuse the same bytes.
            return Err(MalformedProxyHeader::new(
                self.header,
                REASON_INVISIBLE_ADDRESS,
                &self.raw,
            ));
        }
        changes.set(REMOTE_ADDR, remote.to_owned());
        changes.set(REMOTE_HOST, remote.to_owned());
        match port_part {
            Some(remote_port) if !remote_port.is_empty() => {
                changes.set(REMOTE_PORT, remote_port.to_owned());
            }
            // Waitress keeps the proxy's own TCP port here, pairing the client's
            // address with the proxy's port (PX-03). No port is better than a wrong
            // one: an app logging addr:port would otherwise name a socket that never
            // existed.
            _ => changes.remove(REMOTE_PORT),
        }
        Ok(())
    }
}

/// The environ edits worked out by [`ProxyConfig::parse`], applied only once all checks passed.
#[derive(Debug, Default)]
struct Changes {
    /// `Some(value)` sets the key, `None` removes it; later edits of a key replace earlier ones.
    edits: Vec<(&'static str, Option<String>)>,
    /// The proxy headers to clear (when clearing is on).
    untrusted: BTreeSet<ProxyHeader>,
}

impl Changes {
    fn set(&mut self, key: &'static str, value: String) {
        self.edits.push((key, Some(value)));
    }

    fn remove(&mut self, key: &'static str) {
        self.edits.push((key, None));
    }

    fn apply_to(self, environ: &mut Environ) {
        for (key, value) in self.edits {
            match value {
                Some(value) => environ.set(key, value),
                None => {
                    environ.remove(key);
                }
            }
        }
    }
}

/// One `Forwarded` element's fields (`by=` is checked for quoting but not kept).
#[derive(Debug, Default, Clone)]
struct ForwardedElement {
    for_: String,
    host: String,
    proto: String,
}

/// Parses a `Forwarded` header into its elements, as waitress does: elements split on `,` and
/// stripped, pairs split on `;`, each pair lower-cased whole (values too), empty pairs skipped.
/// Unknown tokens make one warning, also when the header turns out malformed.
fn parse_forwarded(
    value: &str,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<ForwardedElement>, &'static str> {
    let mut unknown = UnknownTokens::default();
    let parsed = parse_forwarded_elements(value, &mut unknown);
    if let Some(line) = unknown.warning() {
        warn(line);
    }
    parsed
}

fn parse_forwarded_elements(
    value: &str,
    unknown: &mut UnknownTokens,
) -> Result<Vec<ForwardedElement>, &'static str> {
    let mut elements = Vec::new();
    for element in value.split(LIST_SEPARATOR) {
        let mut fields = ForwardedElement::default();
        for pair in trim_ows(element).split(PAIR_SEPARATOR) {
            if pair.is_empty() {
                continue;
            }
            // ASCII only: Python's lower() would also fold latin-1 letters in obs-text, but a
            // proxy's bytes should reach the app unchanged, and every token compared is ASCII.
            let pair = pair.to_ascii_lowercase();
            let Some((token, value)) = pair.split_once(PAIR_EQUALS) else {
                return Err(REASON_MISSING_EQUALS);
            };
            if has_surrounding(token, &PYTHON_WHITESPACE) {
                return Err(REASON_TOKEN_WHITESPACE);
            }
            if has_surrounding(value, &PYTHON_WHITESPACE) {
                return Err(REASON_VALUE_WHITESPACE);
            }
            match token {
                FORWARDED_BY => {
                    undquote(value)?;
                }
                FORWARDED_FOR => fields.for_ = undquote(value)?.into_owned(),
                FORWARDED_HOST => fields.host = undquote(value)?.into_owned(),
                FORWARDED_PROTO => fields.proto = undquote(value)?.into_owned(),
                other => unknown.note(other),
            }
        }
        elements.push(fields);
    }
    Ok(elements)
}

/// The distinct unknown tokens of one `Forwarded` header: all counted, the first few named.
/// Waitress logs a line per token, so a 170 KB header made 20,000; and finding the distinct
/// ones by a scan of those seen made 25,000 of them cost 0.5 s of a worker.
#[derive(Default)]
struct UnknownTokens {
    seen: HashSet<String>,
    named: Vec<String>,
}

impl UnknownTokens {
    fn note(&mut self, token: &str) {
        if !self.seen.contains(token) {
            self.seen.insert(token.to_owned());
            if self.named.len() < MAX_TOKENS_LOGGED {
                self.named.push(token.to_owned());
            }
        }
    }

    /// One line for the header, waitress's own for a single token.
    fn warning(&self) -> Option<String> {
        match self.named.as_slice() {
            [] => None,
            [one] => Some(format!("Unknown Forwarded token: {one}")),
            named => {
                let mut line = format!("Unknown Forwarded tokens: {}", named.join(", "));
                let more = self.seen.len() - named.len();
                if more > 0 {
                    line.push_str(&format!(" and {more} more"));
                }
                Some(line)
            }
        }
    }
}

/// Splits a comma list into hops, each stripped of OWS and unquoted.
fn split_list(value: &str) -> Result<Vec<String>, &'static str> {
    value
        .split(LIST_SEPARATOR)
        .map(|hop| undquote(trim_ows(hop)).map(Cow::into_owned))
        .collect()
}

/// A single-valued header (`X-Forwarded-Proto`, `X-Forwarded-Port`), unquoted; absent is empty.
fn single_value(environ: &Environ, header: ProxyHeader) -> Result<String, MalformedProxyHeader> {
    let raw = environ.get(header.environ_key()).unwrap_or_default();
    let error = |reason: &str| MalformedProxyHeader::new(header.wire_name(), reason, raw);
    let value = undquote(raw).map_err(error)?;
    if value.contains(LIST_SEPARATOR) {
        return Err(error(REASON_MULTIPLE_VALUES));
    }
    Ok(value.into_owned())
}

/// The last `count` items (all of them when `count` is 0, like Python's `[-0:]`).
fn keep_last<T>(items: &[T], count: usize) -> &[T] {
    if count == 0 || count >= items.len() {
        items
    } else {
        &items[items.len() - count..]
    }
}

/// The list header as the app should see it: only the trusted trailing elements, raw (inner
/// spacing kept), joined with `,` and stripped, as waitress 3.0.2 rewrites it (issue #451: the
/// app must not read the spoofed hops the server ignored).
fn rewrite_list(value: &str, count: usize) -> String {
    let elements: Vec<&str> = value.split(LIST_SEPARATOR).collect();
    let joined = keep_last(&elements, count).join(",");
    trim_ows(&joined).to_owned()
}

/// Wraps a bare IPv6 hop in brackets, so its last `:` is not taken for a port: waitress's rule
/// (no `.`, a `:`, not already ending in `]`) assumes X-Forwarded-For carries no IPv6 port.
fn bracket_bare_ipv6(hop: String) -> String {
    if !hop.contains('.') && hop.contains(PORT_SEPARATOR) && !hop.ends_with(']') {
        format!("[{hop}]")
    } else {
        hop
    }
}

/// Splits `host:port` at the last `:` unless the value ends in `]` (a bracketed IPv6 address
/// without a port), waitress's rule for hosts and client addresses alike.
fn split_port(value: &str) -> (&str, Option<&str>) {
    if value.ends_with(']') {
        return (value, None);
    }
    match value.rsplit_once(PORT_SEPARATOR) {
        Some((host, port)) => (host, Some(port)),
        None => (value, None),
    }
}

/// `[2001:db8::1]` to `2001:db8::1`; anything else unchanged (and never an index past the end).
fn strip_brackets(addr: &str) -> &str {
    addr.strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(addr)
}

/// Strips SP and HTAB from both ends (see [`OWS`] for why not Python's wider set).
fn trim_ows(value: &str) -> &str {
    value.trim_matches(OWS)
}

/// Whether `value` starts or ends with one of `set`.
fn has_surrounding(value: &str, set: &[char]) -> bool {
    value.starts_with(set) || value.ends_with(set)
}

/// Removes the quotes of an RFC 7230 quoted-string and its backslash escapes; a value with no
/// quote at either end is returned as it is; anything else (one quote only, a bad character, an
/// unescaped quote inside, a trailing backslash) is an error, as in waitress's `undquote`.
fn undquote(value: &str) -> Result<Cow<'_, str>, &'static str> {
    let starts = value.starts_with('"');
    let ends = value.ends_with('"');
    if !starts && !ends {
        return Ok(Cow::Borrowed(value));
    }
    // A lone `"` both starts and ends the value but is no quoted-string.
    if !(starts && ends) || value.len() < 2 {
        return Err(REASON_QUOTING);
    }
    let inner = &value[1..value.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(escaped) if is_quoted_pair_char(escaped) => out.push(escaped),
                _ => return Err(REASON_QUOTING),
            }
        } else if is_qdtext(c) {
            out.push(c);
        } else {
            return Err(REASON_QUOTING);
        }
    }
    Ok(Cow::Owned(out))
}

/// VCHAR (RFC 5234): printable ASCII, no space.
fn is_visible_ascii(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_graphic())
}

/// obs-text: the bytes 0x80-0xFF, which latin-1 decoding turns into U+0080-U+00FF.
fn is_obs_text(c: char) -> bool {
    ('\u{80}'..='\u{ff}').contains(&c)
}

/// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (no `"`, no `\`).
fn is_qdtext(c: char) -> bool {
    matches!(c, '\t' | ' ' | '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e') || is_obs_text(c)
}

/// What may follow a backslash: HTAB / SP / VCHAR / obs-text.
fn is_quoted_pair_char(c: char) -> bool {
    matches!(c, '\t' | ' ' | '\x21'..='\x7e') || is_obs_text(c)
}

/// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1).
fn is_uri_scheme(value: &str) -> bool {
    let mut bytes = value.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// A port a proxy says the client used: a port by [`authority::valid_port`]'s rule, and not 0,
/// which no client connects to.
fn is_port(value: &str) -> bool {
    authority::valid_port(value.as_bytes()) && value.bytes().any(|b| b != b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waitress's `DummyEnviron`: what the server sets for a direct request from 127.0.0.1.
    fn environ(headers: &[(&'static str, &str)]) -> Environ {
        let mut env = Environ::new();
        env.set(REMOTE_ADDR, "127.0.0.1");
        env.set(REMOTE_PORT, "54321");
        env.set(SERVER_PORT, "8080");
        env.set(SERVER_NAME, "localhost");
        env.set(HTTP_HOST, "192.168.1.1:80");
        env.set(URL_SCHEME, "http");
        for (key, value) in headers {
            env.set(*key, value.to_string());
        }
        env
    }

    fn config(trusted_proxy: Option<&str>, count: usize, headers: &[&str]) -> ProxyConfig {
        ProxyConfig {
            trusted_proxy: trusted_proxy.map(str::to_owned),
            trusted_proxy_count: count,
            trusted_proxy_headers: headers
                .iter()
                .map(|name| ProxyHeader::from_name(name).expect("known header"))
                .collect(),
            clear_untrusted_proxy_headers: true,
            log_untrusted_proxy_headers: false,
        }
    }

    /// Runs the layer, returning the result and the warnings it would log.
    fn run(
        cfg: &ProxyConfig,
        env: &mut Environ,
    ) -> (Result<(), MalformedProxyHeader>, Vec<String>) {
        let mut warnings = Vec::new();
        let result = cfg.apply_with(env, &mut |w| warnings.push(w));
        (result, warnings)
    }

    fn ok(cfg: &ProxyConfig, headers: &[(&'static str, &str)]) -> Environ {
        let mut env = environ(headers);
        let (result, _) = run(cfg, &mut env);
        result.expect("accepted");
        env
    }

    fn malformed(cfg: &ProxyConfig, headers: &[(&'static str, &str)]) -> MalformedProxyHeader {
        let mut env = environ(headers);
        let before = env.clone();
        let (result, warnings) = run(cfg, &mut env);
        let err = result.expect_err("rejected");
        assert_eq!(env, before, "a rejected request keeps its environ");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with(&format!(
                "Malformed proxy header \"{}\" from \"127.0.0.1\": ",
                err.header
            )),
            "{warnings:?}"
        );
        err
    }

    const XFF: &str = "HTTP_X_FORWARDED_FOR";
    const XFH: &str = "HTTP_X_FORWARDED_HOST";
    const XFPROTO: &str = "HTTP_X_FORWARDED_PROTO";
    const XFPORT: &str = "HTTP_X_FORWARDED_PORT";
    const XFBY: &str = "HTTP_X_FORWARDED_BY";
    const FWD: &str = "HTTP_FORWARDED";

    const ALL_HEADERS: [(&str, &str); 6] = [
        (XFF, "198.51.100.2"),
        (XFH, "example.com"),
        (XFPROTO, "https"),
        (XFPORT, "8443"),
        (XFBY, "192.0.2.1"),
        (FWD, "for=198.51.100.2"),
    ];

    // ---- waitress's test_proxy_headers.py ----

    #[test]
    fn scheme_override_from_untrusted_peer_is_ignored() {
        let cfg = config(Some("192.168.1.1"), 1, &["x-forwarded-proto"]);
        let env = ok(&cfg, &[(XFPROTO, "https")]);
        assert_eq!(env.get(URL_SCHEME), Some("http"));
        assert_eq!(env.get(SERVER_PORT), Some("8080"));
        assert_eq!(env.get(XFPROTO), None);
    }

    #[test]
    fn scheme_override_from_trusted_peer() {
        let cfg = config(Some("127.0.0.1"), 1, &["x-forwarded-proto"]);
        let env = ok(&cfg, &[(XFPROTO, "https")]);
        assert_eq!(env.get(URL_SCHEME), Some("https"));
        assert_eq!(env.get(SERVER_PORT), Some("443"));
    }

    #[test]
    fn bogus_scheme_override_is_rejected() {
        let cfg = config(Some("127.0.0.1"), 1, &["x-forwarded-proto"]);
        let err = malformed(&cfg, &[(XFPROTO, "http://p02n3e.com?url=http")]);
        assert_eq!(err.header, "X-Forwarded-Proto");
        assert_eq!(err.detail(), "Header \"X-Forwarded-Proto\" malformed.");
    }

    #[test]
    fn forwarded_trusted_removes_and_logs_x_forwarded_for() {
        let mut cfg = config(Some("127.0.0.1"), 1, &["forwarded"]);
        cfg.log_untrusted_proxy_headers = true;
        let mut env = environ(&[
            (FWD, "For=198.51.100.2;host=example.com:8080;proto=https"),
            (XFF, "172.16.0.1"),
        ]);
        let (result, warnings) = run(&cfg, &mut env);
        result.unwrap();
        assert_eq!(
            warnings,
            vec![
                "Removed untrusted headers (X-Forwarded-For). Waitress recommends these be \
                 removed upstream."
                    .to_owned()
            ]
        );
        assert_eq!(env.get(XFF), None);
        assert_eq!(env.get(REMOTE_ADDR), Some("198.51.100.2"));
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(HTTP_HOST), Some("example.com:8080"));
        assert_eq!(env.get(SERVER_PORT), Some("8080"));
        assert_eq!(env.get(URL_SCHEME), Some("https"));
    }

    #[test]
    fn removal_is_logged_only_when_asked_and_only_when_something_went() {
        // log_untrusted_proxy_headers = false: headers are cleared silently.
        let cfg = config(Some("192.0.2.99"), 1, &[]);
        let mut env = environ(&ALL_HEADERS);
        let (result, warnings) = run(&cfg, &mut env);
        result.unwrap();
        assert_eq!(env.get(XFF), None);
        assert!(warnings.is_empty(), "{warnings:?}");
        // Logging on, but nothing to remove: no line.
        let mut cfg = config(Some("192.0.2.99"), 1, &[]);
        cfg.log_untrusted_proxy_headers = true;
        let (result, warnings) = run(&cfg, &mut environ(&[]));
        result.unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn forwarded_host_syntax_ip_future_and_pct_encoding() {
        let cfg = config(Some("127.0.0.1"), 1, &["x-forwarded-host"]);
        for bad in ["[v.x]", "[vg.x]", "[v1.]", "a%4", "ab%41@"] {
            let err = malformed(&cfg, &[(XFH, bad)]);
            assert_eq!(
                (err.header, err.reason.as_str()),
                ("X-Forwarded-Host", REASON_BAD_HOST),
                "{bad}"
            );
        }
        for good in ["[v1.fe80::a]", "[VF.x:y]", "%41.example", "a%41b"] {
            let env = ok(&cfg, &[(XFH, good)]);
            assert_eq!(env.get(SERVER_NAME), Some(good));
            assert_eq!(env.get(HTTP_HOST), Some(good));
        }
    }

    #[test]
    fn without_clearing_every_header_stays_verbatim() {
        let mut cfg = config(Some("127.0.0.1"), 1, &["x-forwarded-by"]);
        cfg.clear_untrusted_proxy_headers = false;
        let env = ok(&cfg, &ALL_HEADERS);
        for (key, value) in ALL_HEADERS {
            assert_eq!(env.get(key), Some(value), "{key}");
        }
    }

    #[test]
    fn clearing_keeps_only_trusted_headers() {
        let cfg = config(Some("127.0.0.1"), 1, &["x-forwarded-by"]);
        let env = ok(&cfg, &ALL_HEADERS);
        for (key, value) in ALL_HEADERS {
            let expected = (key == XFBY).then_some(value);
            assert_eq!(env.get(key), expected, "{key}");
        }
    }

    #[test]
    fn clearing_removes_everything_from_untrusted_peer() {
        let mut cfg = config(Some("192.0.2.99"), 1, &["x-forwarded-by"]);
        cfg.log_untrusted_proxy_headers = true;
        let mut env = environ(&ALL_HEADERS);
        let (result, warnings) = run(&cfg, &mut env);
        result.unwrap();
        for (key, _) in ALL_HEADERS {
            assert_eq!(env.get(key), None, "{key}");
        }
        assert_eq!(
            warnings,
            vec![
                "Removed untrusted headers (X-Forwarded-For, X-Forwarded-Host, \
                 X-Forwarded-Proto, X-Forwarded-Port, X-Forwarded-By, Forwarded). Waitress \
                 recommends these be removed upstream."
                    .to_owned()
            ]
        );
    }

    #[test]
    fn x_forwarded_for_single_hop() {
        let cfg = config(Some("127.0.0.1"), 1, &["x-forwarded-for"]);
        let env = ok(&cfg, &[(XFF, "192.0.2.1")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("192.0.2.1"));
        assert_eq!(env.get(REMOTE_HOST), Some("192.0.2.1"));
    }

    #[test]
    fn x_forwarded_for_ipv6_without_brackets() {
        let cfg = config(Some("127.0.0.1"), 1, &["x-forwarded-for"]);
        let env = ok(&cfg, &[(XFF, "2001:db8::0")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("2001:db8::0"));
    }

    #[test]
    fn x_forwarded_for_trusts_last_two_and_rewrites() {
        let cfg = config(Some("127.0.0.1"), 2, &["x-forwarded-for"]);
        let env = ok(&cfg, &[(XFF, "192.0.2.1, 198.51.100.2, 203.0.113.1")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("198.51.100.2"));
        assert_eq!(env.get(XFF), Some("198.51.100.2, 203.0.113.1"));
    }

    #[test]
    fn forwarded_trusts_last_two_and_rewrites() {
        let cfg = config(Some("127.0.0.1"), 2, &["forwarded"]);
        let env = ok(
            &cfg,
            &[(
                FWD,
                "for=192.0.2.1;host=\"fake.com\", for=198.51.100.2;host=\"example.com:8080\", \
                 for=203.0.113.1",
            )],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("198.51.100.2"));
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(HTTP_HOST), Some("example.com:8080"));
        assert_eq!(env.get(SERVER_PORT), Some("8080"));
        assert_eq!(
            env.get(FWD),
            Some("for=198.51.100.2;host=\"example.com:8080\", for=203.0.113.1")
        );
    }

    #[test]
    fn forwarded_multiple_proxies_oldest_trusted_wins() {
        let cfg = config(Some("127.0.0.1"), 2, &["forwarded"]);
        let env = ok(
            &cfg,
            &[(
                FWD,
                "for=\"[2001:db8::1]:3821\";host=\"example.com:8443\";proto=\"https\", \
                 for=192.0.2.1;host=\"example.internal:8080\"",
            )],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("2001:db8::1"));
        assert_eq!(env.get(REMOTE_PORT), Some("3821"));
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(HTTP_HOST), Some("example.com:8443"));
        assert_eq!(env.get(SERVER_PORT), Some("8443"));
        assert_eq!(env.get(URL_SCHEME), Some("https"));
    }

    #[test]
    fn forwarded_multiple_proxies_minimal() {
        let cfg = config(Some("127.0.0.1"), 2, &["forwarded"]);
        let env = ok(
            &cfg,
            &[(
                FWD,
                "for=\"[2001:db8::1]\";proto=\"https\", for=192.0.2.1;host=\"example.org\"",
            )],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("2001:db8::1"));
        assert_eq!(env.get(REMOTE_PORT), None);
        assert_eq!(env.get(SERVER_NAME), Some("example.org"));
        assert_eq!(env.get(HTTP_HOST), Some("example.org"));
        assert_eq!(env.get(SERVER_PORT), Some("443"));
        assert_eq!(env.get(URL_SCHEME), Some("https"));
    }

    #[test]
    fn x_forwarded_host_with_port() {
        let cfg = config(
            Some("127.0.0.1"),
            2,
            &["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"],
        );
        let env = ok(
            &cfg,
            &[
                (XFF, "192.0.2.1, 198.51.100.2, 203.0.113.1"),
                (XFPROTO, "http"),
                (XFH, "example.com:8080"),
            ],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("198.51.100.2"));
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(HTTP_HOST), Some("example.com:8080"));
        assert_eq!(env.get(SERVER_PORT), Some("8080"));
        assert_eq!(env.get(URL_SCHEME), Some("http"));
    }

    #[test]
    fn x_forwarded_host_without_port_takes_the_proto_default() {
        let cfg = config(
            Some("127.0.0.1"),
            2,
            &["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"],
        );
        let env = ok(
            &cfg,
            &[
                (XFF, "192.0.2.1, 198.51.100.2, 203.0.113.1"),
                (XFPROTO, "http"),
                (XFH, "example.com"),
            ],
        );
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(HTTP_HOST), Some("example.com"));
        assert_eq!(env.get(SERVER_PORT), Some("80"));
    }

    #[test]
    fn x_forwarded_host_with_x_forwarded_port() {
        let cfg = config(
            Some("127.0.0.1"),
            2,
            &[
                "x-forwarded-for",
                "x-forwarded-proto",
                "x-forwarded-host",
                "x-forwarded-port",
            ],
        );
        let env = ok(
            &cfg,
            &[
                (XFF, "192.0.2.1, 198.51.100.2, 203.0.113.1"),
                (XFPROTO, "http"),
                (XFH, "example.com"),
                (XFPORT, "8080"),
            ],
        );
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(HTTP_HOST), Some("example.com:8080"));
        assert_eq!(env.get(SERVER_PORT), Some("8080"));
    }

    #[test]
    fn x_forwarded_host_multiple_with_port() {
        let cfg = config(
            Some("127.0.0.1"),
            2,
            &[
                "x-forwarded-for",
                "x-forwarded-proto",
                "x-forwarded-host",
                "x-forwarded-port",
            ],
        );
        let env = ok(
            &cfg,
            &[
                (XFF, "192.0.2.1, 198.51.100.2, 203.0.113.1"),
                (XFPROTO, "http"),
                (XFH, "example.com, example.org"),
                (XFPORT, "8080"),
            ],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("198.51.100.2"));
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(HTTP_HOST), Some("example.com:8080"));
        assert_eq!(env.get(SERVER_PORT), Some("8080"));
        assert_eq!(env.get(XFH), Some("example.com, example.org"));
    }

    #[test]
    fn x_forwarded_host_multiple_with_port_one_trusted() {
        let cfg = config(
            Some("127.0.0.1"),
            1,
            &[
                "x-forwarded-for",
                "x-forwarded-proto",
                "x-forwarded-host",
                "x-forwarded-port",
            ],
        );
        let env = ok(
            &cfg,
            &[
                (XFF, "192.0.2.1, 198.51.100.2, 203.0.113.1"),
                (XFPROTO, "http"),
                (XFH, "example.com, example.org"),
                (XFPORT, "8080"),
            ],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("203.0.113.1"));
        assert_eq!(env.get(SERVER_NAME), Some("example.org"));
        assert_eq!(env.get(HTTP_HOST), Some("example.org:8080"));
        assert_eq!(env.get(SERVER_PORT), Some("8080"));
        assert_eq!(env.get(XFH), Some("example.org"));
        assert_eq!(env.get(XFF), Some("203.0.113.1"));
    }

    #[test]
    fn forwarded_with_client_port() {
        let cfg = config(Some("127.0.0.1"), 1, &["forwarded"]);
        let env = ok(
            &cfg,
            &[(
                FWD,
                "For=198.51.100.2:5858;host=example.com:8080;proto=https",
            )],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("198.51.100.2"));
        assert_eq!(env.get(REMOTE_PORT), Some("5858"));
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(HTTP_HOST), Some("example.com:8080"));
        assert_eq!(env.get(SERVER_PORT), Some("8080"));
        assert_eq!(env.get(URL_SCHEME), Some("https"));
    }

    #[test]
    fn forwarded_empty_pair_is_skipped() {
        let cfg = config(Some("127.0.0.1"), 1, &["forwarded"]);
        let env = ok(&cfg, &[(FWD, "For=198.51.100.2;;proto=https;by=_unused")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("198.51.100.2"));
        assert_eq!(env.get(SERVER_PORT), Some("443"));
        assert_eq!(env.get(URL_SCHEME), Some("https"));
    }

    #[test]
    fn forwarded_token_whitespace_is_rejected() {
        let cfg = config(Some("127.0.0.1"), 1, &["forwarded"]);
        let err = malformed(&cfg, &[(FWD, "For=198.51.100.2;proto =https")]);
        assert_eq!(err.header, "Forwarded");
        assert_eq!(err.reason, REASON_TOKEN_WHITESPACE);
        assert_eq!(err.detail(), "Header \"Forwarded\" malformed.");
    }

    #[test]
    fn forwarded_value_whitespace_is_rejected() {
        let cfg = config(Some("127.0.0.1"), 1, &["forwarded"]);
        let err = malformed(&cfg, &[(FWD, "For= \"198.51.100.2\"; proto =https")]);
        assert_eq!(err.header, "Forwarded");
        assert_eq!(err.reason, REASON_VALUE_WHITESPACE);
    }

    #[test]
    fn forwarded_pair_without_equals_is_rejected() {
        let cfg = config(Some("127.0.0.1"), 1, &["forwarded"]);
        let err = malformed(&cfg, &[(FWD, "For")]);
        assert_eq!(err.header, "Forwarded");
        assert_eq!(err.reason, REASON_MISSING_EQUALS);
        assert_eq!(err.value, "For");
    }

    #[test]
    fn forwarded_unknown_token_is_logged() {
        let cfg = config(Some("127.0.0.1"), 1, &["forwarded"]);
        let mut env = environ(&[(
            FWD,
            "For=198.51.100.2;host=example.com:8080;proto=https;unknown=\"yolo\"",
        )]);
        let (result, warnings) = run(&cfg, &mut env);
        result.unwrap();
        assert_eq!(
            warnings,
            vec!["Unknown Forwarded token: unknown".to_owned()]
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("198.51.100.2"));
        assert_eq!(env.get(HTTP_HOST), Some("example.com:8080"));
        assert_eq!(env.get(URL_SCHEME), Some("https"));
    }

    #[test]
    fn unknown_forwarded_tokens_make_one_line_per_header() {
        let cfg = config(Some("127.0.0.1"), 0, &["forwarded"]);
        let header: Vec<String> = (0..2000)
            .map(|i| format!("for=a;t{}=x;t0=y", i % 20))
            .collect();
        let mut env = environ(&[(FWD, &header.join(", "))]);
        let (result, warnings) = run(&cfg, &mut env);
        result.unwrap();
        assert_eq!(
            warnings,
            vec!["Unknown Forwarded tokens: t0, t1, t2, t3, t4, t5, t6, t7 and 12 more".to_owned()]
        );
        // Many distinct ones are counted in linear time (a scan of those seen made 25,000
        // cost half a second).
        let header: Vec<String> = (0..25_000).map(|i| format!("u{i}=x")).collect();
        let mut env = environ(&[(FWD, &format!("for=a;{}", header.join(";")))]);
        let (result, warnings) = run(&cfg, &mut env);
        result.unwrap();
        assert!(warnings[0].ends_with("and 24992 more"), "{warnings:?}");
        // Told also when the header is then refused.
        let mut env = environ(&[(FWD, "a=1;b=2, for")]);
        let (result, warnings) = run(&cfg, &mut env);
        assert!(result.is_err());
        assert_eq!(warnings[0], "Unknown Forwarded tokens: a, b");
    }

    #[test]
    fn trusted_peer_without_trusted_headers_changes_nothing() {
        let mut cfg = config(Some("127.0.0.1"), 1, &[]);
        cfg.clear_untrusted_proxy_headers = false;
        let headers = [(XFF, "198.51.100.2"), (FWD, "for=198.51.100.2")];
        let env = ok(&cfg, &headers);
        assert_eq!(env, environ(&headers));
    }

    #[test]
    fn multiple_x_forwarded_proto_is_rejected() {
        let cfg = config(Some("127.0.0.1"), 1, &["x-forwarded-proto"]);
        let err = malformed(&cfg, &[(XFPROTO, "http, https")]);
        assert_eq!(err.header, "X-Forwarded-Proto");
        assert_eq!(err.reason, REASON_MULTIPLE_VALUES);
    }

    #[test]
    fn multiple_x_forwarded_port_is_rejected() {
        let cfg = config(Some("127.0.0.1"), 1, &["x-forwarded-port"]);
        let err = malformed(&cfg, &[(XFPORT, "443, 80")]);
        assert_eq!(err.header, "X-Forwarded-Port");
        assert_eq!(err.reason, REASON_MULTIPLE_VALUES);
    }

    #[test]
    fn port_80_with_https_stays_in_http_host() {
        let cfg = config(
            Some("127.0.0.1"),
            1,
            &["x-forwarded-port", "x-forwarded-host", "x-forwarded-proto"],
        );
        let env = ok(
            &cfg,
            &[(XFPORT, "80"), (XFPROTO, "https"), (XFH, "example.com")],
        );
        assert_eq!(env.get(HTTP_HOST), Some("example.com:80"));
        assert_eq!(env.get(SERVER_PORT), Some("80"));
        assert_eq!(env.get(URL_SCHEME), Some("https"));
    }

    #[test]
    fn port_443_with_http_stays_in_http_host() {
        let cfg = config(
            Some("127.0.0.1"),
            1,
            &["x-forwarded-port", "x-forwarded-host", "x-forwarded-proto"],
        );
        let env = ok(
            &cfg,
            &[(XFPORT, "443"), (XFPROTO, "http"), (XFH, "example.com")],
        );
        assert_eq!(env.get(HTTP_HOST), Some("example.com:443"));
        assert_eq!(env.get(SERVER_PORT), Some("443"));
        assert_eq!(env.get(URL_SCHEME), Some("http"));
    }

    #[test]
    fn bad_quote_in_x_forwarded_for_is_rejected() {
        let cfg = config(Some("127.0.0.1"), 1, &["x-forwarded-for"]);
        let err = malformed(&cfg, &[(XFF, "\"foo")]);
        assert_eq!(err.header, "X-Forwarded-For");
        assert_eq!(err.reason, REASON_QUOTING);
        assert_eq!(err.value, "\"foo");
    }

    #[test]
    fn bad_quote_in_x_forwarded_host_is_rejected() {
        let cfg = config(Some("127.0.0.1"), 1, &["x-forwarded-host"]);
        let err = malformed(&cfg, &[(XFH, "\"foo")]);
        assert_eq!(err.header, "X-Forwarded-Host");
        assert_eq!(err.reason, REASON_QUOTING);
    }

    // ---- http-hardening.md G: PX-01..PX-12 ----

    const XFF_INSTANCE: [&str; 4] = [
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-port",
    ];

    fn xff_instance() -> ProxyConfig {
        config(Some("127.0.0.1"), 1, &XFF_INSTANCE)
    }

    fn fwd_instance() -> ProxyConfig {
        config(Some("127.0.0.1"), 1, &["forwarded"])
    }

    #[test]
    fn px01_no_trusted_proxy_removes_all_proxy_headers() {
        let cfg = config(None, 1, &[]);
        let env = ok(
            &cfg,
            &[(XFF, "6.6.6.6"), (XFPROTO, "https"), (FWD, "for=6.6.6.6")],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("127.0.0.1"));
        assert_eq!(env.get(URL_SCHEME), Some("http"));
        for key in [XFF, XFPROTO, FWD] {
            assert_eq!(env.get(key), None, "{key}");
        }
    }

    #[test]
    fn px02_only_the_trusted_hop_reaches_the_app() {
        let env = ok(&xff_instance(), &[(XFF, "6.6.6.6, 1.2.3.4")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("1.2.3.4"));
        assert_eq!(env.get(XFF), Some("1.2.3.4"));
    }

    #[test]
    fn px03_ipv6_client_and_host_with_port_drop_the_proxy_port() {
        let env = ok(
            &xff_instance(),
            &[
                (XFF, "2001:db8::1"),
                (XFH, "example.com:8443"),
                (XFPROTO, "https"),
            ],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("2001:db8::1"));
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(SERVER_PORT), Some("8443"));
        assert_eq!(env.get(URL_SCHEME), Some("https"));
        // Waitress leaves the proxy's 54321 here.
        assert_eq!(env.get(REMOTE_PORT), None);
    }

    #[test]
    fn px04_unsupported_proto() {
        let err = malformed(&xff_instance(), &[(XFPROTO, "javascript")]);
        assert_eq!(err.header, "X-Forwarded-Proto");
        assert_eq!(err.reason, REASON_UNSUPPORTED_PROTO);
        assert_eq!(err.value, "javascript");
    }

    #[test]
    fn px05_multiple_protos() {
        let err = malformed(&xff_instance(), &[(XFPROTO, "https, http")]);
        assert_eq!(err.header, "X-Forwarded-Proto");
    }

    #[test]
    fn px06_non_numeric_port() {
        let err = malformed(&xff_instance(), &[(XFPORT, "abc"), (XFH, "example.com")]);
        assert_eq!(err.header, "X-Forwarded-Port");
        assert_eq!(err.reason, REASON_BAD_PORT);
        assert_eq!(err.value, "abc");
    }

    #[test]
    fn px07_forwarded_for_proto_host() {
        let env = ok(
            &fwd_instance(),
            &[(FWD, "for=1.2.3.4;proto=https;host=example.com")],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("1.2.3.4"));
        assert_eq!(env.get(URL_SCHEME), Some("https"));
        assert_eq!(env.get(HTTP_HOST), Some("example.com"));
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(SERVER_PORT), Some("443"));
    }

    #[test]
    fn px08_only_the_trusted_forwarded_element_is_used_and_kept() {
        let env = ok(
            &fwd_instance(),
            &[(
                FWD,
                "for=6.6.6.6;host=evil.com, for=1.2.3.4;host=example.com;proto=https",
            )],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("1.2.3.4"));
        assert_eq!(env.get(HTTP_HOST), Some("example.com"));
        assert_eq!(
            env.get(FWD),
            Some("for=1.2.3.4;host=example.com;proto=https")
        );
    }

    #[test]
    fn px09_unterminated_quote() {
        let err = malformed(&fwd_instance(), &[(FWD, "for=\"1.2.3.4")]);
        assert_eq!(err.header, "Forwarded");
        assert_eq!(err.reason, REASON_QUOTING);
    }

    #[test]
    fn px10_space_before_equals() {
        let err = malformed(&fwd_instance(), &[(FWD, "for =1.2.3.4")]);
        assert_eq!(err.header, "Forwarded");
        assert_eq!(err.reason, REASON_TOKEN_WHITESPACE);
    }

    #[test]
    fn px11_forwarded_wins_and_x_forwarded_for_is_removed() {
        let env = ok(&fwd_instance(), &[(FWD, "for=1.2.3.4"), (XFF, "6.6.6.6")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("1.2.3.4"));
        assert_eq!(env.get(XFF), None);
        assert_eq!(env.get(FWD), Some("for=1.2.3.4"));
    }

    #[test]
    fn px12_host_must_be_a_uri_host() {
        let err = malformed(&xff_instance(), &[(XFH, "evil.com/../x")]);
        assert_eq!(err.header, "X-Forwarded-Host");
        assert_eq!(err.reason, REASON_BAD_HOST);
        assert_eq!(err.value, "evil.com/../x");
    }

    // ---- the checks waitress does not make ----

    #[test]
    fn x_forwarded_port_must_be_digits_within_range() {
        for bad in [
            "0",
            "65536",
            "99999999999999999999",
            "+80",
            "-1",
            " 80",
            "8o",
            "0x50",
        ] {
            let err = malformed(&xff_instance(), &[(XFPORT, bad)]);
            assert_eq!(err.header, "X-Forwarded-Port", "{bad:?}");
            assert_eq!(err.reason, REASON_BAD_PORT, "{bad:?}");
        }
        for good in ["1", "65535", "0080", "\"8080\""] {
            let env = ok(&xff_instance(), &[(XFPORT, good)]);
            assert_eq!(
                env.get(SERVER_PORT),
                Some(good.trim_matches('"')),
                "{good:?}"
            );
        }
    }

    #[test]
    fn host_port_must_be_digits_within_range() {
        for bad in [
            "example.com:",
            "example.com:abc",
            "example.com:0",
            "example.com:70000",
            "[2001:db8::1]:x",
        ] {
            let err = malformed(&xff_instance(), &[(XFH, bad)]);
            assert_eq!(err.header, "X-Forwarded-Host", "{bad:?}");
            assert_eq!(err.reason, REASON_BAD_PORT, "{bad:?}");
        }
    }

    #[test]
    fn host_must_be_reg_name_ipv4_or_ip_literal() {
        for bad in [
            "evil.com/x",
            "exa mple.com",
            "example.com?x",
            "user@example.com",
            "%zz.example",
            "%4",
            "2001:db8::1",
            "[not-ipv6]",
            "[2001:db8::1",
            "[]",
            ":80",
            "ex\u{e4}mple.com",
            "\u{a0}example.com",
        ] {
            let err = malformed(&xff_instance(), &[(XFH, bad)]);
            assert_eq!(err.header, "X-Forwarded-Host", "{bad:?}");
        }
        let cases = [
            ("example.com", "example.com", "8080"),
            ("192.0.2.1", "192.0.2.1", "8080"),
            ("Example.COM", "Example.COM", "8080"),
            ("ex%2dample.com", "ex%2dample.com", "8080"),
            ("[2001:db8::1]", "[2001:db8::1]", "8080"),
            ("[2001:db8::1]:8443", "[2001:db8::1]", "8443"),
            ("[v1.fe80::a+en1]", "[v1.fe80::a+en1]", "8080"),
        ];
        for (host, server_name, server_port) in cases {
            let env = ok(&xff_instance(), &[(XFH, host)]);
            assert_eq!(env.get(SERVER_NAME), Some(server_name), "{host:?}");
            assert_eq!(env.get(SERVER_PORT), Some(server_port), "{host:?}");
            assert_eq!(env.get(HTTP_HOST), Some(host), "{host:?}");
        }
    }

    #[test]
    fn forwarded_host_and_proto_are_checked_under_forwarded_names() {
        let err = malformed(&fwd_instance(), &[(FWD, "for=1.2.3.4;host=evil.com/x")]);
        assert_eq!(err.header, "Forwarded Host=");
        assert_eq!(err.detail(), "Header \"Forwarded Host=\" malformed.");
        let err = malformed(&fwd_instance(), &[(FWD, "host=example.com:99999")]);
        assert_eq!(err.header, "Forwarded Host=");
        assert_eq!(err.reason, REASON_BAD_PORT);
        let err = malformed(&fwd_instance(), &[(FWD, "proto=JavaScript")]);
        assert_eq!(err.header, "Forwarded Proto=");
        assert_eq!(err.reason, REASON_UNSUPPORTED_PROTO);
        // Waitress reports the lower-cased value.
        assert_eq!(err.value, "javascript");
    }

    #[test]
    fn proto_must_be_a_uri_scheme() {
        for bad in ["1http", "ht tp", "http:", "\u{e9}http", "-http"] {
            let err = malformed(&xff_instance(), &[(XFPROTO, bad)]);
            assert_eq!(err.header, "X-Forwarded-Proto", "{bad:?}");
            assert_eq!(err.reason, REASON_NOT_A_SCHEME, "{bad:?}");
        }
        let env = ok(&xff_instance(), &[(XFPROTO, "\"HTTPS\"")]);
        assert_eq!(env.get(URL_SCHEME), Some("https"));
        assert_eq!(env.get(SERVER_PORT), Some("443"));
    }

    #[test]
    fn remote_port_comes_from_the_header_or_goes() {
        let env = ok(&xff_instance(), &[(XFF, "192.0.2.1:5555")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("192.0.2.1"));
        assert_eq!(env.get(REMOTE_PORT), Some("5555"));
        let env = ok(&xff_instance(), &[(XFF, "192.0.2.1")]);
        assert_eq!(env.get(REMOTE_PORT), None);
        // An empty port is no port: waitress would set REMOTE_PORT to "".
        let env = ok(&xff_instance(), &[(XFF, "192.0.2.1:")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("192.0.2.1"));
        assert_eq!(env.get(REMOTE_PORT), None);
        // No client address in the headers: the peer's own port is right and stays.
        let env = ok(&xff_instance(), &[(XFPROTO, "https")]);
        assert_eq!(env.get(REMOTE_PORT), Some("54321"));
        // An empty header changes nothing.
        let env = ok(&xff_instance(), &[(XFF, "")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("127.0.0.1"));
        assert_eq!(env.get(REMOTE_PORT), Some("54321"));
    }

    #[test]
    fn obfuscated_identifiers_pass_through() {
        let env = ok(&fwd_instance(), &[(FWD, "for=_hidden")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("_hidden"));
        assert_eq!(env.get(REMOTE_HOST), Some("_hidden"));
        let env = ok(&fwd_instance(), &[(FWD, "for=unknown")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("unknown"));
        let env = ok(&fwd_instance(), &[(FWD, "for=\"_gazonk:_port\"")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("_gazonk"));
        assert_eq!(env.get(REMOTE_PORT), Some("_port"));
    }

    #[test]
    fn empty_client_address_is_malformed_not_a_crash() {
        let err = malformed(&fwd_instance(), &[(FWD, "for=\":80\"")]);
        assert_eq!(err.header, "Forwarded");
        assert_eq!(err.reason, REASON_EMPTY_ADDRESS);
        let err = malformed(&xff_instance(), &[(XFF, ":.")]);
        assert_eq!(err.header, "X-Forwarded-For");
        assert_eq!(err.reason, REASON_EMPTY_ADDRESS);
    }

    #[test]
    fn client_address_with_invisible_bytes_is_malformed() {
        // Waitress strips NBSP and NEL as whitespace (CVE-2019-16789's mistake); passing them
        // on to REMOTE_ADDR, as only SP and HTAB are list whitespace, was no better.
        for value in [
            "1.2.3.4\u{a0}",
            "\u{85}1.2.3.4",
            "1.2.3.4:80\u{a0}",
            "\"a\\\u{a0}b\"",
            "\u{c0}b",
        ] {
            let err = malformed(&xff_instance(), &[(XFF, value)]);
            assert_eq!(err.header, "X-Forwarded-For", "{value:?}");
            assert_eq!(err.reason, REASON_INVISIBLE_ADDRESS, "{value:?}");
        }
        let err = malformed(&fwd_instance(), &[(FWD, "for=\"\\\u{a0}\"")]);
        assert_eq!(err.header, "Forwarded");
        assert_eq!(err.reason, REASON_INVISIBLE_ADDRESS);
        let env = ok(&xff_instance(), &[(XFF, " 1.2.3.4:80\t")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("1.2.3.4"));
        assert_eq!(env.get(REMOTE_PORT), Some("80"));
    }

    #[test]
    fn count_zero_trusts_every_hop() {
        let cfg = config(Some("127.0.0.1"), 0, &["x-forwarded-for", "forwarded"]);
        let env = ok(
            &cfg,
            &[(
                FWD,
                "for=192.0.2.1;host=a.example, for=198.51.100.2;host=b.example",
            )],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("192.0.2.1"));
        assert_eq!(env.get(HTTP_HOST), Some("a.example"));
        assert_eq!(
            env.get(FWD),
            Some("for=192.0.2.1;host=a.example, for=198.51.100.2;host=b.example")
        );
        let cfg = config(Some("127.0.0.1"), 0, &["x-forwarded-for"]);
        let env = ok(&cfg, &[(XFF, " 192.0.2.1, 198.51.100.2 ")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("192.0.2.1"));
        assert_eq!(env.get(XFF), Some("192.0.2.1, 198.51.100.2"));
    }

    #[test]
    fn count_larger_than_the_list_trusts_every_hop() {
        let cfg = config(Some("127.0.0.1"), 5, &["x-forwarded-for"]);
        let env = ok(&cfg, &[(XFF, "192.0.2.1, 198.51.100.2")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("192.0.2.1"));
    }

    #[test]
    fn peer_matching() {
        let mut any = config(Some("*"), 1, &["x-forwarded-for"]);
        any.clear_untrusted_proxy_headers = false;
        let mut env = environ(&[(XFF, "192.0.2.1")]);
        env.set(REMOTE_ADDR, "203.0.113.9");
        run(&any, &mut env).0.unwrap();
        assert_eq!(env.get(REMOTE_ADDR), Some("192.0.2.1"));

        // Unix sockets: the server reports the peer as "localhost".
        let unix = config(Some("localhost"), 1, &["x-forwarded-for"]);
        let mut env = environ(&[(XFF, "192.0.2.1")]);
        env.set(REMOTE_ADDR, "localhost");
        run(&unix, &mut env).0.unwrap();
        assert_eq!(env.get(REMOTE_ADDR), Some("192.0.2.1"));

        // An exact string match: no normalisation of the peer address.
        let exact = config(Some("127.000.0.1"), 1, &["x-forwarded-for"]);
        let env = ok(&exact, &[(XFF, "192.0.2.1")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("127.0.0.1"));
        assert_eq!(env.get(XFF), None);
    }

    #[test]
    fn is_active_follows_waitress() {
        let mut cfg = config(None, 1, &[]);
        assert!(cfg.is_active());
        cfg.clear_untrusted_proxy_headers = false;
        assert!(!cfg.is_active());
        cfg.trusted_proxy = Some("127.0.0.1".to_owned());
        assert!(cfg.is_active());
    }

    #[test]
    fn forwarded_replaces_x_forwarded_host_proto_and_port() {
        // With Forwarded present, waitress's parse loop discards the X-Forwarded-* host, proto
        // and port; only the client address from X-Forwarded-For survives a missing `for=`.
        let cfg = config(
            Some("127.0.0.1"),
            1,
            &[
                "forwarded",
                "x-forwarded-for",
                "x-forwarded-host",
                "x-forwarded-proto",
                "x-forwarded-port",
            ],
        );
        let env = ok(
            &cfg,
            &[
                (FWD, "by=_proxy"),
                (XFF, "192.0.2.1"),
                (XFH, "example.com"),
                (XFPROTO, "https"),
                (XFPORT, "8443"),
            ],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("192.0.2.1"));
        assert_eq!(env.get(SERVER_NAME), Some("localhost"));
        assert_eq!(env.get(SERVER_PORT), Some("8080"));
        assert_eq!(env.get(URL_SCHEME), Some("http"));
        for key in [XFF, XFH, XFPROTO, XFPORT] {
            assert_eq!(env.get(key), None, "{key}");
        }
        // Trusted but absent Forwarded: the X-Forwarded-* still count, then get cleared.
        let env = ok(&cfg, &[(XFH, "example.com"), (XFPROTO, "https")]);
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(URL_SCHEME), Some("https"));
        assert_eq!(env.get(XFH), None);
    }

    #[test]
    fn forwarded_from_several_headers_and_quoted_values() {
        // Two Forwarded headers arrive joined with ", ", like one list.
        let cfg = config(Some("127.0.0.1"), 2, &["forwarded"]);
        let env = ok(
            &cfg,
            &[(
                FWD,
                "for=192.0.2.1, FOR=\"[2001:DB8::2]\";Host=\"Example.com\";proto=\"HTTPS\", \
                 for=198.51.100.7",
            )],
        );
        assert_eq!(env.get(REMOTE_ADDR), Some("2001:db8::2"));
        assert_eq!(env.get(SERVER_NAME), Some("example.com"));
        assert_eq!(env.get(URL_SCHEME), Some("https"));
        let env = ok(&fwd_instance(), &[(FWD, "for=\"a\\\"b\"")]);
        assert_eq!(env.get(REMOTE_ADDR), Some("a\"b"));
    }

    #[test]
    fn only_sp_and_htab_are_stripped() {
        // Waitress's strip() would turn this hop into 1.2.3.4; here the NBSP is not stripped,
        // so the address is refused, not cleaned up.
        let err = malformed(&xff_instance(), &[(XFF, "6.6.6.6,\t\u{a0}1.2.3.4 ")]);
        assert_eq!(err.reason, REASON_INVISIBLE_ADDRESS);
        // Where waitress rejects surrounding whitespace it keeps rejecting NEL and NBSP.
        let err = malformed(&fwd_instance(), &[(FWD, "for=\u{85}1.2.3.4")]);
        assert_eq!(err.reason, REASON_VALUE_WHITESPACE);
        let err = malformed(&fwd_instance(), &[(FWD, "\u{a0}for=1.2.3.4")]);
        assert_eq!(err.reason, REASON_TOKEN_WHITESPACE);
    }

    #[test]
    fn undquote_follows_the_quoted_string_grammar() {
        assert_eq!(undquote("plain").unwrap(), "plain");
        assert_eq!(undquote("").unwrap(), "");
        assert_eq!(undquote("\"\"").unwrap(), "");
        assert_eq!(undquote("\"a b\"").unwrap(), "a b");
        assert_eq!(undquote("\"a\\\"b\\\\c\"").unwrap(), "a\"b\\c");
        assert_eq!(undquote("\"\u{e9}\\\u{e9}\"").unwrap(), "\u{e9}\u{e9}");
        for bad in [
            "\"",
            "\"abc",
            "abc\"",
            "\"a\"b\"",
            "\"abc\\\"",
            "\"a\x01\"",
            "\"a\\\x7f\"",
            "\"\u{100}\"",
        ] {
            assert_eq!(undquote(bad), Err(REASON_QUOTING), "{bad:?}");
        }
    }

    #[test]
    fn no_header_content_panics() {
        let nasty = [
            "",
            " ",
            ",",
            ",,",
            ";",
            "=",
            "\"",
            "\"\"",
            "[",
            "]",
            "[]",
            ":",
            "::",
            ":.",
            ".:",
            "[:",
            ":]",
            "\\",
            "\"\\",
            "%",
            "%%",
            "for=",
            "for=\"\"",
            "for=[",
            "host=:",
            "host=[",
            "proto=",
            "a=b=c",
            "\u{ff}",
            "\u{85}",
            "\u{a0}:\u{a0}",
            "9999999999",
            "for=\"[::1]\":",
            "host=\"[::1]:\"",
        ];
        let all_headers: Vec<&str> = ProxyHeader::ALL.iter().map(|h| h.name()).collect();
        for count in [0, 1, 2] {
            for (key, _) in ALL_HEADERS {
                for value in nasty {
                    let cfg = config(Some("*"), count, &all_headers);
                    let mut env = environ(&[(key, value)]);
                    let _ = run(&cfg, &mut env);
                    let cfg = config(Some("*"), count, &XFF_INSTANCE);
                    let mut env = environ(&[(key, value)]);
                    let _ = run(&cfg, &mut env);
                }
            }
        }
    }
}
