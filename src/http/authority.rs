//! `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2-3.2.3): the one reading of an
//! authority, for the Host header, absolute-form and authority-form targets, and the hosts a
//! trusted proxy names (`X-Forwarded-Host`, `Forwarded: host=`). Two readings had drifted
//! apart: `Host: [v1.x]` was refused where the proxy's accepted it, `[:::::]` the reverse.

use std::net::Ipv6Addr;

use super::{is_reg_name_byte, parse_decimal};

/// Highest TCP port number.
pub const MAX_PORT: u64 = 65_535;

/// Most digits in a port. RFC 3986 allows any number (`000080`); five is what any port takes,
/// and more could only hide a number from a reader that stops at five.
pub const MAX_PORT_DIGITS: usize = 5;

/// `uri-host [ ":" port ]`: a bracketed IP literal or a non-empty reg-name (which covers
/// IPv4), then an optional port (an empty one, which RFC 3986 allows, is refused). With
/// `port_required` the port must be there (authority-form for CONNECT).
pub fn valid_authority(s: &[u8], port_required: bool) -> bool {
    let (host, port) = split(s);
    valid_uri_host(host)
        && match port {
            None => !port_required,
            Some(p) => valid_port(p),
        }
}

/// `host` and `port` of `host[:port]`, where a `:` inside `[...]` is the literal's.
fn split(s: &[u8]) -> (&[u8], Option<&[u8]>) {
    let host_end = if s.starts_with(b"[") {
        s.iter().position(|&b| b == b']').map_or(s.len(), |i| i + 1)
    } else {
        s.iter().position(|&b| b == b':').unwrap_or(s.len())
    };
    let (host, rest) = s.split_at(host_end);
    match rest {
        [] => (host, None),
        [b':', port @ ..] => (host, Some(port)),
        // Something after a literal's `]` that is not a port: an invalid host.
        _ => (s, None),
    }
}

/// `uri-host = IP-literal / IPv4address / reg-name`, not empty. IPv4 addresses are reg-names
/// by syntax, so they need no rule of their own.
pub fn valid_uri_host(host: &[u8]) -> bool {
    match host {
        [b'[', literal @ .., b']'] => valid_ip_literal(literal),
        [] => false,
        _ => valid_reg_name(host),
    }
}

/// `port = 1*DIGIT`, at most [`MAX_PORT_DIGITS`] of them, up to [`MAX_PORT`]. Port 0 passes:
/// it is a port by syntax; where a proxy names the port a client used, the proxy layer
/// refuses it.
pub fn valid_port(port: &[u8]) -> bool {
    port.len() <= MAX_PORT_DIGITS && parse_decimal(port).is_some_and(|n| n <= MAX_PORT)
}

/// The inside of `[...]`: an IPv6 address, or IPvFuture (`v` 1*HEXDIG `.` 1*(unreserved /
/// sub-delims / `:`)).
fn valid_ip_literal(literal: &[u8]) -> bool {
    if let [b'v' | b'V', future @ ..] = literal {
        let Some(dot) = future.iter().position(|&b| b == b'.') else {
            return false;
        };
        let (version, address) = future.split_at(dot);
        let address = address.get(1..).unwrap_or_default();
        return !version.is_empty()
            && version.iter().all(u8::is_ascii_hexdigit)
            && !address.is_empty()
            && address
                .iter()
                .all(|&b| b == b':' || (b != b'%' && is_reg_name_byte(b)));
    }
    std::str::from_utf8(literal).is_ok_and(|s| s.parse::<Ipv6Addr>().is_ok())
}

/// A non-empty `reg-name = *( unreserved / pct-encoded / sub-delims )`.
fn valid_reg_name(host: &[u8]) -> bool {
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
        if !is_reg_name_byte(b) {
            return false;
        }
        i += 1;
    }
    !host.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        for ok in [
            "h",
            "h:80",
            "h:0",
            "h:08080",
            "h:65535",
            "1.2.3.4:8080",
            "xn--bcher-kva.example",
            "a%20b",
            "[::1]",
            "[::1]:8080",
            "[2001:db8::1.2.3.4]",
            "[v1.x]",
            "[V7.a:b]:1",
        ] {
            assert!(valid_authority(ok.as_bytes(), false), "{ok}");
        }
        for bad in [
            "", ":80", "h:", "h:65536", "h:000080", "h:+80", "h:8 0", "h:80:80", "a b", "u@h",
            "a%2", "[]", "[:::::]", "[::1", "[::1]x", "[::1]:", "[::g]", "[v.x]", "[v1.]",
            "[v1.%41]",
        ] {
            assert!(!valid_authority(bad.as_bytes(), false), "{bad}");
        }
        assert!(!valid_authority(b"h", true));
        assert!(valid_authority(b"h:443", true));
    }
}
