//! The `echo` app: answers every request with the environ it produced, as JSON.
//!
//! It is the tool for checking a proxy setup: put waitress-rs behind the proxy with
//! `--app echo --trusted-proxy ...` and the response shows exactly what an application would
//! see (`REMOTE_ADDR`, `wsgi.url_scheme`, `SCRIPT_NAME`, the `HTTP_*` headers that survived).

use super::{App, AppError, Request, Response};
use crate::http::latin1;

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
        let body = latin1(&req.body.read_all()?);
        let mut out = String::with_capacity(64 * req.environ.len() + body.len() + 16);
        out.push('{');
        let mut first = true;
        for (key, value) in req.environ.iter().chain([("body", body.as_str())]) {
            if !first {
                out.push(',');
            }
            first = false;
            push_json_string(&mut out, key);
            out.push(':');
            push_json_string(&mut out, value);
        }
        out.push('}');
        res.start(
            "200 OK",
            vec![("Content-Type".to_owned(), "application/json".to_owned())],
        )?;
        res.send(out.as_bytes())
    }
}

/// Appends `s` as a JSON string literal (RFC 8259 §7): `"` and `\` escaped, control chars as
/// `\uXXXX`, everything else (non-ASCII included) kept as UTF-8, which JSON allows.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // U+0000..U+001F must be escaped; U+007F is escaped too so a terminal reading the
            // output never sees a raw DEL. All of them fit in four hex digits.
            c if c < ' ' || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
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
}
