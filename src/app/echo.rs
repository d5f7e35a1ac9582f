//! The `echo` app: answers every request with the environ it produced, as JSON.
//!
//! It is the tool for checking a proxy setup: put waitress-rs behind the proxy with
//! `--app echo --trusted-proxy ...` and the response shows exactly what an application would
//! see (`REMOTE_ADDR`, `wsgi.url_scheme`, `SCRIPT_NAME`, the `HTTP_*` headers that survived).

use std::io::{Read, Seek, SeekFrom};

use super::{App, AppError, Body, Request, Response};

/// How much of the body is read, escaped and handed on at a time. The body may be anything up
/// to `max_request_body_size` (1 GB by default) and escapes to up to 6 times its size, so it is
/// never held whole: each part goes to the server's output buffer, which spills past
/// `outbuf_overflow` like any app's output.
const BODY_PART: usize = 16 * 1024;

/// Escaped output is handed on once it reaches this size: one write for a small request, as
/// before, and a bounded buffer for a large one.
const FLUSH_AT: usize = 64 * 1024;

/// Answers `200 OK` with one JSON object: every environ key and value in environ order, then
/// `"body"`, the request body decoded as latin-1.
///
/// Keys and values are emitted in the order the server set them, so the output reads like the
/// request. A `"body"` key set in the environ (it never is by the server) would appear twice;
/// the last one is the request body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

impl App for Echo {
    fn call(&self, req: &mut Request, res: &mut Response<'_>) -> Result<(), AppError> {
        let mut out = String::with_capacity(64 * req.environ.len() + 16);
        out.push('{');
        for (key, value) in req.environ.iter() {
            push_json_string(&mut out, key);
            out.push(':');
            push_json_string(&mut out, value);
            out.push(',');
        }
        push_json_string(&mut out, "body");
        out.push_str(":\"");
        const CLOSING: &str = "\"}";

        // The length is known before the body is sent, by escaping it once without keeping
        // the result, so the response has a Content-Length however large it is.
        let mut body_length = 0;
        for_each_part(&mut req.body, |part| {
            body_length += part
                .iter()
                .map(|&b| escaped(char::from(b)).len())
                .sum::<usize>();
            Ok(())
        })?;
        req.body.seek(SeekFrom::Start(0))?;
        let length = out.len() + body_length + CLOSING.len();
        // A response that fits one part is sent whole, its length taken from it; a larger one
        // goes in parts, its length announced.
        let streamed = length > FLUSH_AT;
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if streamed {
            headers.push(("Content-Length".to_owned(), length.to_string()));
        }
        res.start("200 OK", headers)?;

        for_each_part(&mut req.body, |part| {
            for &b in part {
                // Latin-1: each byte is the code point of the same value.
                escaped(char::from(b)).push_to(&mut out);
            }
            if streamed && out.len() >= FLUSH_AT {
                res.write(out.as_bytes())?;
                out.clear();
            }
            Ok(())
        })?;
        out.push_str(CLOSING);
        if streamed {
            res.write(out.as_bytes())
        } else {
            res.send(out.as_bytes())
        }
    }
}

/// Calls `each` with the body's bytes, [`BODY_PART`] at a time.
fn for_each_part(
    body: &mut Body,
    mut each: impl FnMut(&[u8]) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let mut buf = [0; BODY_PART];
    loop {
        match body.read(&mut buf)? {
            0 => return Ok(()),
            n => each(&buf[..n])?,
        }
    }
}

/// Appends `s` as a JSON string literal (RFC 8259 §7).
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    // Environ values rarely need escaping: copied whole, not char by char (echo's requests
    // went from 163.5k to 155.1k req/s with every char matched twice).
    if s.chars().all(|c| matches!(escaped(c), Escaped::Plain(_))) {
        out.push_str(s);
    } else {
        for c in s.chars() {
            escaped(c).push_to(out);
        }
    }
    out.push('"');
}

/// How one character appears inside a JSON string.
enum Escaped {
    /// As itself, non-ASCII included (kept as UTF-8, which JSON allows).
    Plain(char),
    /// `\"` or `\\`.
    Backslashed(char),
    /// `\uXXXX`: U+0000..U+001F must be escaped; U+007F is escaped too so a terminal reading
    /// the output never sees a raw DEL. All of them fit in four hex digits.
    Unicode(char),
}

fn escaped(c: char) -> Escaped {
    match c {
        '"' | '\\' => Escaped::Backslashed(c),
        c if c < ' ' || c == '\u{7f}' => Escaped::Unicode(c),
        c => Escaped::Plain(c),
    }
}

impl Escaped {
    /// The escaped form's length in bytes.
    fn len(&self) -> usize {
        match self {
            Escaped::Plain(c) => c.len_utf8(),
            Escaped::Backslashed(_) => 2,
            Escaped::Unicode(_) => 6,
        }
    }

    fn push_to(&self, out: &mut String) {
        match *self {
            Escaped::Plain(c) => out.push(c),
            Escaped::Backslashed(c) => {
                out.push('\\');
                out.push(c);
            }
            Escaped::Unicode(c) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let n = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[n >> 4]));
                out.push(char::from(HEX[n & 0xf]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Body, ClientStatus, Environ};

    use crate::app::testing::Capture;

    fn run(environ: Environ, body: Body) -> Capture {
        let mut sink = Capture::default();
        let mut req = Request {
            environ,
            body,
            client: ClientStatus::default(),
        };
        let mut res = Response::new(&mut sink);
        Echo.call(&mut req, &mut res).unwrap();
        res.finish().unwrap();
        sink
    }

    #[test]
    fn the_environ_comes_back_in_order_with_the_body_last() {
        let mut env = Environ::new();
        env.push("REQUEST_METHOD", "POST");
        env.push("PATH_INFO", "/a b");
        env.push("HTTP_HOST", "example.com");
        env.push("REMOTE_ADDR", "10.0.0.1");
        env.push("wsgi.url_scheme", "https");
        let sink = run(env, Body::from_bytes(b"x=1".to_vec()));
        let want = r#"{"REQUEST_METHOD":"POST","PATH_INFO":"/a b","HTTP_HOST":"example.com","REMOTE_ADDR":"10.0.0.1","wsgi.url_scheme":"https","body":"x=1"}"#;
        assert_eq!(String::from_utf8(sink.body).unwrap(), want);
        let (status, headers, length) = sink.head.unwrap();
        assert_eq!(status, "200 OK");
        assert_eq!(
            headers,
            vec![("Content-Type".to_owned(), "application/json".to_owned())]
        );
        assert_eq!(length, Some(want.len() as u64));
    }

    #[test]
    fn an_empty_request_still_has_a_body_key() {
        let sink = run(Environ::new(), Body::empty());
        assert_eq!(sink.body, br#"{"body":""}"#);
    }

    #[test]
    fn quotes_backslashes_and_control_chars_are_escaped() {
        let mut env = Environ::new();
        env.push("HTTP_X", "a\"b\\c\td\ne\rf\u{0}g\u{1f}h\u{7f}");
        let sink = run(env, Body::empty());
        assert_eq!(
            String::from_utf8(sink.body).unwrap(),
            r#"{"HTTP_X":"a\"b\\c\u0009d\u000ae\u000df\u0000g\u001fh\u007f","body":""}"#
        );
    }

    #[test]
    fn the_body_is_latin1_and_non_ascii_stays_utf8() {
        let mut env = Environ::new();
        // The server decodes header bytes as latin-1 too: "é" arrives as U+00E9.
        env.push("HTTP_X", "caf\u{e9}");
        let sink = run(env, Body::from_bytes(b"\xc3\xa4\xff\x00".to_vec()));
        assert_eq!(
            String::from_utf8(sink.body).unwrap(),
            "{\"HTTP_X\":\"caf\u{e9}\",\"body\":\"\u{c3}\u{a4}\u{ff}\\u0000\"}"
        );
    }

    #[test]
    fn a_spooled_body_is_read_from_its_file() {
        use std::io::Write;
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"spooled").unwrap();
        let sink = run(Environ::new(), Body::from_file(file, 7).unwrap());
        assert_eq!(sink.body, br#"{"body":"spooled"}"#);
    }

    /// Records the largest part the app handed on, to show the body is never held whole.
    #[derive(Default)]
    struct Parts {
        capture: Capture,
        count: usize,
        largest: usize,
    }

    impl crate::app::Sink for Parts {
        fn head(
            &mut self,
            status: &str,
            headers: &[(String, String)],
            length: Option<u64>,
        ) -> std::io::Result<()> {
            self.capture.head(status, headers, length)
        }
        fn data(&mut self, data: &[u8]) -> std::io::Result<()> {
            self.count += 1;
            self.largest = self.largest.max(data.len());
            self.capture.data(data)
        }
        fn file(&mut self, file: std::fs::File, len: u64) -> std::io::Result<()> {
            self.capture.file(file, len)
        }
    }

    #[test]
    fn a_large_spooled_body_goes_out_in_bounded_parts_with_its_length_known() {
        use std::io::Write;
        // Each piece escapes differently: plain, backslashed, \u-escaped, two-byte UTF-8.
        let piece = b"a\"\\\x01\xe9";
        let escaped = "a\\\"\\\\\\u0001\u{e9}";
        let repeats = 200_000;
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&piece.repeat(repeats)).unwrap();
        let len = (piece.len() * repeats) as u64;
        let mut sink = Parts::default();
        let mut req = Request {
            environ: Environ::new(),
            body: Body::from_file(file, len).unwrap(),
            client: ClientStatus::default(),
        };
        let mut res = Response::new(&mut sink);
        Echo.call(&mut req, &mut res).unwrap();
        res.finish().unwrap();

        let want = format!("{{\"body\":\"{}\"}}", escaped.repeat(repeats));
        assert_eq!(sink.capture.body.len(), want.len());
        assert!(
            sink.capture.body == want.as_bytes(),
            "the echoed body differs"
        );
        let (_, _, length) = sink.capture.head.unwrap();
        assert_eq!(length, Some(want.len() as u64));
        // 2.6 MB of output in parts no larger than the flush size plus one escaped read.
        assert!(sink.count > 10, "{} parts", sink.count);
        assert!(
            sink.largest <= FLUSH_AT + 6 * BODY_PART,
            "a part of {} bytes",
            sink.largest
        );
    }
}
