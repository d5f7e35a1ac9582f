//! `listen` entries: parsing `HOST:PORT` the way waitress does, and resolving them with
//! `getaddrinfo` into the addresses to bind.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::convert::Sockets;

/// `AI_PASSIVE`: with no host, `getaddrinfo` returns the wildcard addresses (`0.0.0.0`, `::`).
/// It is 0x1 in glibc, musl, the BSDs, macOS and Winsock alike.
const AI_PASSIVE: i32 = 0x1;

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    /// TCP sockets the server binds, one per address.
    Tcp(Vec<ListenEntry>),
    /// A Unix socket the server creates at this path.
    Unix(PathBuf),
    /// Sockets inherited, already listening.
    Inherited(Sockets),
}

impl Bind {
    /// The URL of each listener as waitress logs it (`http://[::]:8080`, `http://unix:/path`).
    pub(crate) fn urls(&self) -> Vec<String> {
        match self {
            Bind::Tcp(entries) => entries
                .iter()
                .flat_map(|e| e.addrs.iter())
                .map(|a| format!("http://{a}"))
                .collect(),
            Bind::Unix(path) => vec![format!("http://unix:{}", path.display())],
            Bind::Inherited(Sockets::Systemd) => vec!["(sockets from systemd)".to_owned()],
            Bind::Inherited(Sockets::Fds(fds)) => fds
                .iter()
                .map(|fd| format!("(inherited fd {fd})"))
                .collect(),
            Bind::Inherited(Sockets::None) => Vec::new(),
        }
    }

    /// Every TCP address to bind, in order.
    pub(crate) fn tcp_addrs(&self) -> Vec<SocketAddr> {
        match self {
            Bind::Tcp(entries) => entries.iter().flat_map(|e| e.addrs.clone()).collect(),
            _ => Vec::new(),
        }
    }
}

/// One `listen` entry and the addresses it resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenEntry {
    /// The entry in canonical form: `HOST:PORT`, `[IPV6]:PORT` or `*:PORT`, port numeric.
    pub canonical: String,
    /// The addresses to bind; duplicates of earlier entries removed, as waitress removes them.
    pub addrs: Vec<SocketAddr>,
}

/// Why a listen entry was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ListenError {
    /// The entry as given.
    pub entry: String,
    /// What is wrong.
    pub reason: String,
    /// The name service failed to answer for the host just now (DNS failing at boot), so a
    /// later try may succeed; a name that does not exist, or a malformed entry, is not this.
    pub unresolved: bool,
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.entry, self.reason)
    }
}

/// Which address families to resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Families {
    /// IPv4 wanted.
    pub ipv4: bool,
    /// IPv6 wanted.
    pub ipv6: bool,
}

/// The host and port of an entry, split as waitress splits them.
#[derive(Debug, PartialEq, Eq)]
struct Parts<'a> {
    /// `None` for `*` (every interface).
    host: Option<&'a str>,
    port: &'a str,
}

/// Splits `HOST:PORT` on the last colon unless that colon is inside brackets, so `[::1]` keeps
/// the default port. An IPv6 address without brackets is refused: `::1` would otherwise mean
/// port 1 on `::`.
fn split<'a>(entry: &'a str, default_port: &'a str) -> Result<Parts<'a>, String> {
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port),
        _ => (entry, default_port),
    };
    let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) => inner,
        None if host.contains(['[', ']']) => return Err("unbalanced brackets".into()),
        None => host,
    };
    if host.is_empty() {
        return Err("no host: use *:PORT to listen on every interface".into());
    }
    if port.is_empty() {
        return Err("no port after the colon".into());
    }
    if host.contains(':') && !entry.starts_with('[') {
        return Err("write IPv6 addresses in brackets, e.g. [::1]:8080".into());
    }
    Ok(Parts {
        host: (host != "*").then_some(host),
        port,
    })
}

/// Checks a port: digits up to 65535 (getaddrinfo would wrap 99999 to 34463), or a service
/// name such as `http`.
fn check_port(port: &str) -> Result<(), String> {
    if port.bytes().all(|b| b.is_ascii_digit()) {
        return match port.parse::<u32>() {
            Ok(n) if n <= 65535 => Ok(()),
            _ => Err("a port must be between 0 and 65535".into()),
        };
    }
    if port.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        if cfg!(windows) {
            return Err("Windows does not support service names instead of port numbers".into());
        }
        return Ok(());
    }
    Err("the port must be a number or a service name".into())
}

/// Resolves every entry, dropping addresses an earlier entry already gave (except port 0,
/// where each entry means a new socket).
pub(super) fn resolve(
    entries: &[String],
    default_port: u16,
    families: Families,
) -> Result<Vec<ListenEntry>, ListenError> {
    let default_port = default_port.to_string();
    let mut seen: Vec<SocketAddr> = Vec::new();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let fail = |reason: String| ListenError {
            entry: entry.clone(),
            reason,
            unresolved: false,
        };
        let parts = split(entry, &default_port).map_err(fail)?;
        check_port(parts.port).map_err(fail)?;
        let addrs = lookup(&parts, families).map_err(|(reason, unresolved)| ListenError {
            entry: entry.clone(),
            reason,
            unresolved,
        })?;
        let mut kept = Vec::new();
        for &addr in &addrs {
            let duplicate = addr.port() != 0 && seen.iter().any(|s| same_address(s, &addr));
            if !duplicate {
                seen.push(addr);
                kept.push(addr);
            }
        }
        let port = addrs.first().map_or(0, SocketAddr::port);
        let canonical = match parts.host {
            None => format!("*:{port}"),
            Some(h) if h.contains(':') => format!("[{h}]:{port}"),
            Some(h) => format!("{h}:{port}"),
        };
        out.push(ListenEntry {
            canonical,
            addrs: kept,
        });
    }
    Ok(out)
}

/// Same host (ignoring an IPv6 zone index, as waitress does) and port.
fn same_address(a: &SocketAddr, b: &SocketAddr) -> bool {
    a.ip() == b.ip() && a.port() == b.port()
}

/// The addresses for `parts`, or why there are none and whether the host went unresolved
/// (see [`ListenError::unresolved`]).
fn lookup(parts: &Parts<'_>, families: Families) -> Result<Vec<SocketAddr>, (String, bool)> {
    let family = match (families.ipv4, families.ipv6) {
        (true, false) => i32::from(socket2::Domain::IPV4),
        (false, true) => i32::from(socket2::Domain::IPV6),
        _ => 0, // AF_UNSPEC
    };
    let hints = dns_lookup::AddrInfoHints {
        flags: AI_PASSIVE,
        address: family,
        socktype: i32::from(socket2::Type::STREAM),
        protocol: i32::from(socket2::Protocol::TCP),
    };
    let found =
        dns_lookup::getaddrinfo(parts.host, Some(parts.port), Some(hints)).map_err(|e| {
            (
                lookup_reason(&e, parts, families),
                host_unresolved(&e, parts),
            )
        })?;
    let mut addrs = Vec::new();
    for info in found {
        let info = info.map_err(|e| (e.to_string(), false))?;
        let addr = info.sockaddr;
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    if addrs.is_empty() {
        return Err(("resolves to no address".into(), false));
    }
    Ok(addrs)
}

/// Whether `e` says the name service failed to answer for the host (EAI_AGAIN while the
/// network comes up at boot, EAI_FAIL from a broken DNS server), as opposed to the host or the
/// port being wrong: a later try may succeed, so it is no reason to stop a service for good.
/// A name that does not exist (EAI_NONAME) is a mistake in the configuration.
fn host_unresolved(e: &dns_lookup::LookupError, parts: &Parts<'_>) -> bool {
    use dns_lookup::LookupErrorKind as Kind;
    parts.host.is_some() && matches!(e.kind(), Kind::Again | Kind::Fail | Kind::System)
}

fn lookup_reason(e: &dns_lookup::LookupError, parts: &Parts<'_>, families: Families) -> String {
    let only = match (families.ipv4, families.ipv6) {
        (true, false) => " as IPv4 only",
        (false, true) => " as IPv6 only",
        _ => "",
    };
    match parts.host {
        Some(h) => format!(
            "cannot resolve host {h:?} with port {:?}{only}: {}",
            parts.port, e
        ),
        None => format!("cannot resolve port {:?}{only}: {}", parts.port, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn only_a_failing_name_service_counts_as_unresolved() {
        let host = Parts {
            host: Some("db.example.com"),
            port: "80",
        };
        let no_host = Parts {
            host: None,
            port: "http-alt",
        };
        let error = dns_lookup::LookupError::new;
        assert!(host_unresolved(&error(libc::EAI_AGAIN), &host));
        assert!(host_unresolved(&error(libc::EAI_FAIL), &host));
        assert!(!host_unresolved(&error(libc::EAI_NONAME), &host));
        assert!(!host_unresolved(&error(libc::EAI_SERVICE), &host));
        assert!(!host_unresolved(&error(libc::EAI_AGAIN), &no_host));
    }

    const BOTH: Families = Families {
        ipv4: true,
        ipv6: true,
    };

    fn addrs(entries: &[&str], families: Families) -> Result<Vec<String>, ListenError> {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        Ok(resolve(&entries, 8080, families)?
            .iter()
            .flat_map(|e| e.addrs.iter().map(|a| a.to_string()))
            .collect())
    }

    #[test]
    fn splits_like_waitress() {
        assert_eq!(
            split("127.0.0.1:9090", "8080"),
            Ok(Parts {
                host: Some("127.0.0.1"),
                port: "9090"
            })
        );
        assert_eq!(
            split("[::1]", "8080"),
            Ok(Parts {
                host: Some("::1"),
                port: "8080"
            })
        );
        assert_eq!(
            split("[::1]:9", "8080"),
            Ok(Parts {
                host: Some("::1"),
                port: "9"
            })
        );
        assert_eq!(
            split("*:80", "8080"),
            Ok(Parts {
                host: None,
                port: "80"
            })
        );
        assert_eq!(
            split("localhost", "8080"),
            Ok(Parts {
                host: Some("localhost"),
                port: "8080"
            })
        );
        assert!(split("::1:9000", "8080").is_err());
        assert!(split("::1", "8080").is_err());
        assert!(split(":8080", "8080").is_err());
        assert!(split("127.0.0.1:", "8080").is_err());
        assert!(split("[::1:80", "8080").is_err());
    }

    #[test]
    fn resolves_numeric_and_wildcard_addresses() {
        assert_eq!(addrs(&["127.0.0.1"], BOTH).unwrap(), ["127.0.0.1:8080"]);
        assert_eq!(addrs(&["[::1]"], BOTH).unwrap(), ["[::1]:8080"]);
        let star = addrs(&["*:8080"], BOTH).unwrap();
        assert!(star.contains(&"0.0.0.0:8080".to_owned()), "{star:?}");
        assert!(star.contains(&"[::]:8080".to_owned()), "{star:?}");
        let v4 = Families {
            ipv4: true,
            ipv6: false,
        };
        assert_eq!(addrs(&["*:8080"], v4).unwrap(), ["0.0.0.0:8080"]);
    }

    #[test]
    fn keeps_order_and_drops_duplicates_except_port_zero() {
        assert_eq!(
            addrs(
                &["127.0.0.1:9090", "127.0.0.1:8080", "127.0.0.1:9090"],
                BOTH
            )
            .unwrap(),
            ["127.0.0.1:9090", "127.0.0.1:8080"]
        );
        assert_eq!(
            addrs(&["127.0.0.1:0", "127.0.0.1:0"], BOTH).unwrap(),
            ["127.0.0.1:0", "127.0.0.1:0"]
        );
    }

    #[test]
    fn service_names_resolve_and_big_ports_are_refused() {
        if cfg!(unix) {
            assert_eq!(
                addrs(&["127.0.0.1:http", "127.0.0.1:https"], BOTH).unwrap(),
                ["127.0.0.1:80", "127.0.0.1:443"]
            );
        }
        assert!(addrs(&["127.0.0.1:99999"], BOTH).is_err());
        assert!(addrs(&["127.0.0.1:no-such-service-x"], BOTH).is_err());
        assert!(addrs(&["127.0.0.1:8_0"], BOTH).is_err());
    }

    #[test]
    fn families_filter_what_resolves() {
        let v6 = Families {
            ipv4: false,
            ipv6: true,
        };
        let err = addrs(&["127.0.0.1:8080"], v6).unwrap_err();
        assert!(err.reason.contains("as IPv6 only"), "{err}");
        let v4 = Families {
            ipv4: true,
            ipv6: false,
        };
        assert!(addrs(&["[::]:8080"], v4).is_err());
    }

    #[test]
    fn canonical_entries_have_numeric_ports_and_brackets() {
        let entries: Vec<String> = ["[::1]:9000", "*", "localhost:8081"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let resolved = resolve(&entries, 8080, BOTH).unwrap();
        let canon: Vec<&str> = resolved.iter().map(|e| e.canonical.as_str()).collect();
        assert_eq!(canon, ["[::1]:9000", "*:8080", "localhost:8081"]);
    }
}
