//! HTTP/1.1 on the wire: request heads, body framing, response heads. No I/O happens here.
//!
//! Everything in this module is sans-IO: the server feeds it bytes and gets typed results back.
//! Parsing is byte-level and strict (RFC 9112), because every lenient shortcut (`str::parse`,
//! `trim()`, `to_lowercase()`) has reintroduced a request-smuggling CVE in waitress at some point.
//!
//! - [`request`]: finding the end of a request head ([`request::HeadScanner`]) and parsing it
//!   ([`request::parse_head`]) into a [`request::Head`] with its body [`request::Framing`].
//! - [`body`]: decoding a `Content-Length` or chunked body without copying it.
//! - [`response`]: choosing the response framing and writing the response head.
//! - [`error`]: the errors the parser answers with, and waitress's error response format.
//! - [`date`]: the cached `Date` header value.

pub mod authority;
pub mod body;
pub mod date;
pub mod error;
#[cfg(test)]
mod fragmented;
pub mod request;
pub mod response;

pub use error::HttpError;
pub use request::Version;

/// A class of bytes as a 256-entry table: one load per byte where the chains of comparisons
/// they replace were 1,400 instructions per request with eight browser-like headers
/// (callgrind, bench/NOTES.md).
struct ByteClass([bool; 256]);

/// A [`ByteClass`] of the bytes `b` for which `member` holds, built at compile time.
macro_rules! byte_class {
    (|$b:ident| $member:expr) => {{
        let mut table = [false; 256];
        let mut i = 0;
        while i < 256 {
            let $b = i as u8;
            table[i] = $member;
            i += 1;
        }
        ByteClass(table)
    }};
}

impl ByteClass {
    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b)]
    }
}

const TCHAR: ByteClass = byte_class!(|b| b.is_ascii_alphanumeric()
    || matches!(
        b,
        b'!' | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'\''
            | b'*'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~'
    ));

const FIELD_VALUE: ByteClass =
    byte_class!(|b| b == b'\t' || b == b' ' || (b >= 0x21 && b <= 0x7e) || b >= 0x80);

const REG_NAME: ByteClass = byte_class!(|b| b.is_ascii_alphanumeric()
    || matches!(
        b,
        b'-' | b'.'
            | b'_'
            | b'~'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
    ));

/// RFC 3986 §3.2.2 `reg-name` bytes other than `%` escapes: unreserved and sub-delims.
pub(crate) fn is_reg_name_byte(b: u8) -> bool {
    REG_NAME.contains(b)
}

/// RFC 9110 §5.6.2 `tchar`: the bytes allowed in a token (method, header name, coding name).
pub fn is_tchar(b: u8) -> bool {
    TCHAR.contains(b)
}

/// Bytes allowed in a field value once the surrounding SP/HTAB are removed (RFC 9110 §5.5:
/// `field-vchar = VCHAR / obs-text`, with SP and HTAB between them). Excludes NUL, CR, LF, the
/// other controls and DEL.
pub(crate) fn is_field_value_byte(b: u8) -> bool {
    FIELD_VALUE.contains(b)
}

/// RFC 9110 §5.6.3 OWS: SP and HTAB only (never VT, FF, NEL or NBSP; see CVE-2019-16789).
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Removes leading and trailing SP/HTAB, and nothing else.
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ows(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ows(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// RFC 9110 §8.6 `1*DIGIT` as a u64: no sign, no whitespace, no `_`, no radix prefix, and
/// `None` on overflow rather than wrapping.
pub fn parse_decimal(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// `n` in decimal, without going through `fmt` (ports and lengths, on every request).
pub fn decimal(n: u64) -> String {
    Decimal::new(n).as_str().to_owned()
}

/// `n`'s decimal digits on the stack, for writing a length into a response head without an
/// allocation (`String::from_iter` over the digits cost ~300 instructions per response,
/// callgrind, hello world).
pub struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    /// The digits of `n` (20 is enough for `u64::MAX`).
    pub fn new(mut n: u64) -> Decimal {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Decimal { digits, start }
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        // SAFETY: only ASCII digits are written, from `start` to the end.
        unsafe { std::str::from_utf8_unchecked(&self.digits[self.start..]) }
    }
}

/// Decodes latin-1 bytes: each byte becomes the code point of the same value, so obs-text
/// (0x80-0xFF) survives byte-exact, as waitress's `value.decode("latin-1")` does.
pub fn latin1(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    push_latin1(&mut out, bytes);
    out
}

/// Appends latin-1 `bytes` to `out`, decoded as [`latin1`] does.
pub fn push_latin1(out: &mut String, bytes: &[u8]) {
    if bytes.is_ascii() {
        // Nearly every header is ASCII, which is already UTF-8: one copy, no per-char work.
        // `from_utf8` would check again what `is_ascii` just did, at 3 instructions a byte.
        // SAFETY: every byte is below 0x80, and ASCII is valid UTF-8.
        out.push_str(unsafe { std::str::from_utf8_unchecked(bytes) });
    } else {
        out.extend(bytes.iter().map(|&b| char::from(b)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_matches_display() {
        for n in [0, 7, 10, 99, 100, 65_535, 1 << 40, u64::MAX] {
            assert_eq!(decimal(n), n.to_string());
        }
    }

    #[test]
    fn trim_ows_only_strips_sp_and_htab() {
        assert_eq!(trim_ows(b" \tab c\t "), b"ab c");
        assert_eq!(trim_ows(b"\x0bx\x0c"), b"\x0bx\x0c");
        assert_eq!(trim_ows(b"\x85x\xa0"), b"\x85x\xa0");
        assert_eq!(trim_ows(b"  "), b"");
    }

    #[test]
    fn parse_decimal_is_strict() {
        assert_eq!(parse_decimal(b"003"), Some(3));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b"0x1",
            b"1_0",
            b" 1",
            b"1 ",
            b"18446744073709551616",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn byte_classes_match_the_rfc_grammar() {
        for b in 0..=255u8 {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_tchar(b), tchar, "tchar {b:#04x}");
            let vchar = (0x21..=0x7e).contains(&b) || b >= 0x80;
            let value = vchar || b == b' ' || b == b'\t';
            assert_eq!(is_field_value_byte(b), value, "field value {b:#04x}");
            let reg_name = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b);
            assert_eq!(is_reg_name_byte(b), reg_name, "reg-name {b:#04x}");
        }
    }

    #[test]
    fn latin1_maps_bytes_to_code_points() {
        assert_eq!(latin1(b"a\xe9\xff"), "a\u{e9}\u{ff}");
    }
}
