//! An application's error reaches any `log` logger with its reason in the message, not only
//! the binary's own: a logger that shows only the text (env_logger without its `kv` feature,
//! the common set-up) used to see `Exception while serving /err` and nothing of why.

mod support;

use std::sync::Mutex;

use log::{Log, Metadata, Record};
use support::InProcess;
use waitress_rs::app::{AppError, Request, Response};

/// Keeps each record's text, and nothing of its key-values.
struct TextOnly(Mutex<Vec<String>>);

impl Log for TextOnly {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        self.0.lock().unwrap().push(record.args().to_string());
    }
    fn flush(&self) {}
}

static LOGGER: TextOnly = TextOnly(Mutex::new(Vec::new()));

fn failing(req: &mut Request, res: &mut Response<'_>) -> Result<(), AppError> {
    match req.environ.get("PATH_INFO").unwrap_or("") {
        "/err" => Err("database unavailable".into()),
        "/panic" => panic!("index out of range in the handler"),
        "/header" => Ok(res.start("200 OK", vec![("X-Bad".into(), "a\u{1}b".into())])?),
        _ => res.send(b"ok"),
    }
}

#[test]
fn the_reason_an_app_failed_is_in_the_message() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let server = InProcess::serve(&[], failing);
    for (path, reason) in [
        ("/err", "database unavailable"),
        ("/panic", "index out of range in the handler"),
        ("/header", "X-Bad"),
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        let response = support::request(server.addr(), request.as_bytes());
        assert_eq!(response.status, 500, "{path}");
        let logged = LOGGER.0.lock().unwrap().clone();
        let line = logged
            .iter()
            .find(|m| m.starts_with(&format!("Exception while serving {path}")))
            .unwrap_or_else(|| panic!("{path} not logged: {logged:?}"));
        assert!(line.contains(reason), "{path}: {line:?}");
    }
    server.stop();
}
