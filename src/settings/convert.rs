//! Converters from setting strings to typed values, as waitress's `adjustments.py` does them,
//! except where waitress silently accepts nonsense: there the converter says what is wrong.
//!
//! Each converter returns `Err(reason)`; the caller adds the key, the value and its source.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use super::ProxyHeader;

/// Words waitress's `asbool` reads as true.
const TRUE_WORDS: [&str; 6] = ["t", "true", "y", "yes", "on", "1"];
/// Words read as false. Waitress reads *every* other word as false too, so a typo such as
/// `expose_tracebacks = ture` silently turns a setting off; here any other word is an error.
const FALSE_WORDS: [&str; 6] = ["f", "false", "n", "no", "off", "0"];

/// The longest duration a setting holds; longer values are taken as this. Deadlines are
/// `Instant + duration`, which panics on overflow, while waitress compares plain numbers, so a
/// huge timeout (a common way to say "never") must still work: a year is never enough.
const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Duration units accepted after a number. humantime also knows `M` (months), `w` and `y`, which
/// are far more likely to be typos for minutes than intended, so they are refused.
const DURATION_UNITS: [&str; 22] = [
    "ns", "us", "ms", "msec", "millis", "s", "sec", "secs", "second", "seconds", "m", "min",
    "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours", "d", "days",
];

/// Python `str.strip()` whitespace as it matters in config text.
fn strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace())
}

/// A boolean: waitress's true words, the matching false words, anything else refused.
pub(crate) fn boolean(s: &str) -> Result<bool, String> {
    let word = strip(s).to_ascii_lowercase();
    if TRUE_WORDS.contains(&word.as_str()) {
        Ok(true)
    } else if FALSE_WORDS.contains(&word.as_str()) {
        Ok(false)
    } else {
        Err("expected a boolean: true/false, yes/no, on/off or 1/0".into())
    }
}

/// An integer as Python's `int()` reads ASCII text: surrounding whitespace, an optional sign,
/// digits with single underscores between them (`1_000`). Past `i128` the value saturates,
/// so a huge number is "too large" for every caller rather than "not a number".
fn python_int(s: &str) -> Option<i128> {
    let s = strip(s);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let bytes = digits.as_bytes();
    if bytes.is_empty() || bytes[0] == b'_' || bytes[bytes.len() - 1] == b'_' {
        return None;
    }
    let mut value: i128 = 0;
    let mut previous_underscore = false;
    for &b in bytes {
        match b {
            b'_' if previous_underscore => return None,
            b'_' => previous_underscore = true,
            b'0'..=b'9' => {
                previous_underscore = false;
                value = value
                    .saturating_mul(10)
                    .saturating_add(i128::from(b - b'0'));
            }
            _ => return None,
        }
    }
    Some(if negative { -value } else { value })
}

/// A whole number of at least `min`, fitting `T`.
fn int_at_least<T: TryFrom<i128>>(s: &str, min: i128) -> Result<T, String> {
    let n = python_int(s).ok_or_else(|| "expected a whole number".to_string())?;
    if n < min {
        return Err(match min {
            0 => "must not be negative".into(),
            1 => "must be at least 1".into(),
            _ => format!("must be at least {min}"),
        });
    }
    T::try_from(n).map_err(|_| "is too large".to_string())
}

/// A count or size that may be zero.
pub(super) fn non_negative<T: TryFrom<i128>>(s: &str) -> Result<T, String> {
    int_at_least(s, 0)
}

/// A count or size that must be at least one for the server to work at all.
pub(super) fn positive<T: TryFrom<i128>>(s: &str) -> Result<T, String> {
    int_at_least(s, 1)
}

/// Largest `recv_bytes`. The event loop's one read buffer is this long, and no read returns
/// more than a socket's receive buffer holds (6 MiB at most by Linux's default `tcp_rmem`),
/// so more costs only memory; a huge value aborted the process at the first read, which
/// allocated it.
const MAX_RECV_BYTES: usize = 16 << 20;

/// The size of a read: at least 1, at most [`MAX_RECV_BYTES`].
pub(super) fn read_size(s: &str) -> Result<usize, String> {
    let n: usize = positive(s)?;
    if n > MAX_RECV_BYTES {
        return Err(format!(
            "is more than a read can use (at most {MAX_RECV_BYTES})"
        ));
    }
    Ok(n)
}

/// A TCP port: 0 (any free port) to 65535.
pub(super) fn port(s: &str) -> Result<u16, String> {
    let n = python_int(s).ok_or_else(|| "expected a port number".to_string())?;
    u16::try_from(n).map_err(|_| "a port must be between 0 and 65535".to_string())
}

/// Any string, kept as given (configparser already stripped it).
pub(super) fn string(s: &str) -> Result<String, String> {
    Ok(s.to_owned())
}

/// Waitress's `str_iftruthy`: an empty value means "not set".
pub(super) fn optional_string(s: &str) -> Result<Option<String>, String> {
    Ok(if s.is_empty() {
        None
    } else {
        Some(s.to_owned())
    })
}

/// `ident`: goes out in the `Server` header, so it must be printable header text.
pub(super) fn ident(s: &str) -> Result<Option<String>, String> {
    if s.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err("must be printable ASCII: it is sent in the Server header".into());
    }
    optional_string(s)
}

/// `url_scheme`: an RFC 3986 scheme, since it becomes `wsgi.url_scheme` and apps build URLs
/// from it (waitress does not check it).
pub(super) fn scheme(s: &str) -> Result<String, String> {
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return Err("expected a URL scheme such as http or https".into());
    }
    Ok(s.to_owned())
}

/// Waitress's `slash_fixed_str`: one leading slash, no trailing slash, empty stays empty
/// (`///foo/` -> `/foo`, and a lone `/` survives).
pub(super) fn url_prefix(s: &str) -> Result<String, String> {
    let s = strip(s);
    if s.is_empty() {
        return Ok(String::new());
    }
    Ok(format!(
        "/{}",
        s.trim_start_matches('/').trim_end_matches('/')
    ))
}

/// Waitress's `aslist`: lines, then whitespace-separated words.
pub(super) fn list(s: &str) -> Result<Vec<String>, String> {
    Ok(s.split_whitespace().map(str::to_owned).collect())
}

/// `trusted_proxy_headers`: a list of known header names, case-insensitive.
pub(super) fn proxy_headers(s: &str) -> Result<BTreeSet<ProxyHeader>, String> {
    let words = list(s)?;
    let unknown: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| ProxyHeader::from_name(w).is_none())
        .collect();
    if !unknown.is_empty() {
        let hint = if words.iter().any(|w| w.contains('"')) {
            " (quotes are kept literally in INI files: write the names without them)"
        } else {
            ""
        };
        let expected: Vec<&str> = ProxyHeader::ALL.iter().map(|h| h.name()).collect();
        return Err(format!(
            "unknown trusted_proxy_headers value ({}) expected one of {}{hint}",
            unknown.join(", "),
            expected.join(", ")
        ));
    }
    Ok(words
        .iter()
        .filter_map(|w| ProxyHeader::from_name(w))
        .collect())
}

/// Unix permission bits written in octal, as waitress's `asoctal` (`int(s, 8)`) reads them:
/// `660`, `0660` or `0o660`.
pub(super) fn octal_perms(s: &str) -> Result<Perms, String> {
    let s = strip(s);
    let digits = s
        .strip_prefix("0o")
        .or_else(|| s.strip_prefix("0O"))
        .unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err("expected octal permission bits such as 600 or 660".into());
    }
    let value = digits
        .bytes()
        .try_fold(0u32, |acc, b| {
            acc.checked_mul(8)?.checked_add(u32::from(b - b'0'))
        })
        .filter(|v| *v <= 0o7777)
        .ok_or_else(|| "permission bits go up to 7777".to_string())?;
    Ok(Perms(value))
}

/// A duration: a bare integer is seconds (waitress), or humantime forms such as `2m`, `500ms`,
/// `1h 30m`.
pub(super) fn duration(s: &str) -> Result<Duration, String> {
    let s = strip(s);
    const EXPECTED: &str = "expected whole seconds (120) or a duration such as 2m, 90s, 500ms, 1h";
    let d = if let Some(n) = python_int(s) {
        if n < 0 {
            return Err("must not be negative".into());
        }
        Duration::from_secs(u64::try_from(n).unwrap_or(u64::MAX))
    } else {
        let units_ok = s
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|unit| !unit.is_empty())
            .all(|unit| DURATION_UNITS.contains(&unit));
        if !units_ok {
            return Err(EXPECTED.into());
        }
        // humantime's own messages suggest forms this converter refuses (`0.5` gets "time unit
        // needed, for example 0sec"), so they are not passed on; one past its range is huge.
        match humantime::parse_duration(s) {
            Ok(d) => d,
            Err(humantime::DurationError::NumberOverflow) => Duration::MAX,
            Err(_) => return Err(EXPECTED.into()),
        }
    };
    Ok(d.min(MAX_DURATION))
}

/// A duration that must be more than zero (a zero timeout would spin the event loop).
pub(super) fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

/// The longest Unix socket path `bind(2)` takes: the address's `sun_path`, less its NUL.
#[cfg(unix)]
const UNIX_PATH_MAX: usize = {
    // SAFETY: sockaddr_un is plain data; all zeroes is a valid value of it.
    let addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_path.len() - 1
};
/// Windows' AF_UNIX has the same 108-byte `sun_path`.
#[cfg(not(unix))]
const UNIX_PATH_MAX: usize = 107;

/// `unix_socket`: a filesystem path; empty means none. A path too long for a socket address is
/// refused here, so `--check` finds it rather than the bind.
pub(super) fn unix_socket_path(s: &str) -> Result<Option<PathBuf>, String> {
    if s.len() > UNIX_PATH_MAX {
        return Err(format!(
            "{} bytes: a Unix socket path can have at most {UNIX_PATH_MAX} here",
            s.len()
        ));
    }
    Ok(if s.is_empty() {
        None
    } else {
        Some(PathBuf::from(s))
    })
}

/// `sockets`: inherited listening sockets. Waitress takes socket objects from Python code; from
/// a file or flag the only meaningful thing is file descriptors: explicit numbers, or `systemd`
/// for the ones systemd passes with `LISTEN_FDS`.
pub(super) fn sockets(s: &str) -> Result<Sockets, String> {
    let words = list(s)?;
    if words.is_empty() {
        return Ok(Sockets::None);
    }
    if words.len() == 1 && words[0].eq_ignore_ascii_case("systemd") {
        return Ok(Sockets::Systemd);
    }
    let mut fds = Vec::with_capacity(words.len());
    for w in &words {
        match python_int(w).and_then(|n| i32::try_from(n).ok()) {
            // The same socket twice would be served by two listeners racing for accepts.
            Some(fd) if fd >= 0 && fds.contains(&fd) => {
                return Err(format!("file descriptor {fd} is given twice"));
            }
            Some(fd) if fd >= 0 => fds.push(fd),
            _ => {
                return Err(
                    "expected file descriptor numbers (3 4) or 'systemd' (LISTEN_FDS)".into(),
                );
            }
        }
    }
    Ok(Sockets::Fds(fds))
}

/// Unix permission bits (`unix_socket_perms`), printed back in octal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perms(pub u32);

/// Listening sockets handed to the server instead of bound by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sockets {
    /// None: the server binds its own (`listen`, `host`/`port` or `unix_socket`).
    None,
    /// These file descriptors, already bound and listening.
    Fds(Vec<i32>),
    /// The descriptors systemd passes through `LISTEN_FDS`/`LISTEN_PID`.
    Systemd,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_take_waitress_words_and_refuse_typos() {
        for t in ["t", "true", "True", " yes ", "on", "1", "Y"] {
            assert_eq!(boolean(t), Ok(true), "{t}");
        }
        for f in ["f", "false", "FALSE", "no", "n", "off", "0"] {
            assert_eq!(boolean(f), Ok(false), "{f}");
        }
        for bad in ["", "ture", "2", "enabled", "yes please"] {
            assert!(boolean(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ints_follow_python_int() {
        assert_eq!(python_int(" 12 "), Some(12));
        assert_eq!(python_int("+5"), Some(5));
        assert_eq!(python_int("-1"), Some(-1));
        assert_eq!(python_int("1_000"), Some(1000));
        for bad in ["", "abc", "1__0", "_1", "1_", "1.5", "0x10", "1e3", "- 1"] {
            assert_eq!(python_int(bad), None, "{bad}");
        }
        assert_eq!(positive::<usize>("0"), Err("must be at least 1".into()));
        assert_eq!(
            non_negative::<usize>("-1"),
            Err("must not be negative".into())
        );
        assert_eq!(non_negative::<usize>("0"), Ok(0));
        assert!(non_negative::<u32>("99999999999").is_err());
    }

    #[test]
    fn ports_are_refused_past_65535() {
        assert_eq!(port("8080"), Ok(8080));
        assert_eq!(port("0"), Ok(0));
        assert!(port("65536").is_err());
        assert!(port("99999").is_err());
        assert!(port("-1").is_err());
        assert!(port("http").is_err());
    }

    #[test]
    fn url_prefix_is_slash_fixed() {
        for (given, want) in [
            ("", ""),
            ("foo", "/foo"),
            ("///foo/", "/foo"),
            (" /a/b/ ", "/a/b"),
            ("/", "/"),
            ("//", "/"),
        ] {
            assert_eq!(url_prefix(given).unwrap(), want, "{given:?}");
        }
    }

    #[test]
    fn lists_split_on_lines_and_whitespace() {
        assert_eq!(list("a b\n c\td").unwrap(), ["a", "b", "c", "d"]);
        assert!(list("  \n ").unwrap().is_empty());
    }

    #[test]
    fn proxy_headers_are_known_names() {
        let set = proxy_headers("X-Forwarded-For\n x-forwarded-proto").unwrap();
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            [ProxyHeader::XForwardedFor, ProxyHeader::XForwardedProto]
        );
        let err = proxy_headers("x-forwarded-unknown").unwrap_err();
        assert!(err.contains("unknown trusted_proxy_headers value (x-forwarded-unknown)"));
        let quoted = proxy_headers("\"x-forwarded-for x-forwarded-proto\"").unwrap_err();
        assert!(quoted.contains("quotes"), "{quoted}");
        assert!(proxy_headers("x_forwarded_for").is_err());
    }

    #[test]
    fn perms_are_octal() {
        assert_eq!(octal_perms("777"), Ok(Perms(0o777)));
        assert_eq!(octal_perms("0o660"), Ok(Perms(0o660)));
        assert_eq!(octal_perms("0600"), Ok(Perms(0o600)));
        for bad in ["", "8", "rw-", "77777", "0x600"] {
            assert!(octal_perms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_take_seconds_or_units() {
        assert_eq!(duration("120"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        for bad in [
            "-1",
            "2M",
            "1y",
            "abc",
            "1w",
            "1.5",
            "-99999999999999999999999",
        ] {
            assert!(duration(bad).is_err(), "{bad}");
        }
        assert!(positive_duration("0").is_err());
    }

    #[test]
    fn huge_durations_mean_never_and_are_held_as_the_cap() {
        for huge in [
            "31536001",
            "400d",
            "99999999999999999999999999999999",
            "9999999999999999999h",
        ] {
            assert_eq!(duration(huge), Ok(MAX_DURATION), "{huge}");
        }
        let reason = duration("0.5").unwrap_err();
        assert!(reason.starts_with("expected whole seconds"), "{reason}");
    }

    #[test]
    fn a_year_is_kept_exactly_and_is_the_cap() {
        assert_eq!(duration("31536000"), Ok(Duration::from_secs(31_536_000)));
        assert_eq!(duration("365d"), Ok(Duration::from_secs(31_536_000)));
        assert_eq!(duration("400d"), Ok(Duration::from_secs(365 * 86_400)));
        assert_eq!(MAX_DURATION, Duration::from_secs(365 * 86_400));
    }

    #[test]
    fn read_sizes_are_between_one_byte_and_16_mib() {
        assert_eq!(read_size("8192"), Ok(8192));
        assert_eq!(read_size("1"), Ok(1));
        assert_eq!(read_size("16777216"), Ok(16 << 20));
        let err = read_size("16777217").unwrap_err();
        assert!(err.contains("at most 16777216"), "{err}");
        assert_eq!(read_size("0"), Err("must be at least 1".into()));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn unix_socket_paths_must_fit_sun_path() {
        assert_eq!(unix_socket_path(""), Ok(None));
        let sock = "/run/waitress.sock";
        assert_eq!(unix_socket_path(sock), Ok(Some(PathBuf::from(sock))));
        // Linux's sun_path is 108 bytes, one of them the NUL.
        let longest = format!("/{}", "a".repeat(106));
        assert_eq!(
            unix_socket_path(&longest),
            Ok(Some(PathBuf::from(&longest)))
        );
        let err = unix_socket_path(&format!("{longest}a")).unwrap_err();
        assert!(
            err.starts_with("108 bytes: a Unix socket path can have at most 107"),
            "{err}"
        );
    }

    #[test]
    fn huge_integers_are_too_large_not_malformed() {
        let huge = "9".repeat(60);
        assert_eq!(positive::<usize>(&huge), Err("is too large".into()));
        assert!(port(&huge).unwrap_err().contains("between 0 and 65535"));
        assert_eq!(
            non_negative::<usize>(&format!("-{huge}")),
            Err("must not be negative".into())
        );
    }

    #[test]
    fn sockets_are_fds_or_systemd() {
        assert_eq!(sockets(""), Ok(Sockets::None));
        assert_eq!(sockets("3 4"), Ok(Sockets::Fds(vec![3, 4])));
        assert_eq!(sockets("systemd"), Ok(Sockets::Systemd));
        assert!(sockets("-1").is_err());
        assert_eq!(
            sockets("3 4 3"),
            Err("file descriptor 3 is given twice".to_owned())
        );
        assert!(sockets("sock").is_err());
    }

    #[test]
    fn ident_and_scheme_are_checked() {
        assert_eq!(ident(""), Ok(None));
        assert_eq!(ident("waitress"), Ok(Some("waitress".into())));
        assert!(ident("a\r\nX-Evil: 1").is_err());
        assert!(scheme("https").is_ok());
        assert!(scheme("").is_err());
        assert!(scheme("1http").is_err());
        assert!(scheme("ht tp").is_err());
    }
}
