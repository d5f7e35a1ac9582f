//! Logging to stderr in the format of Python's `logging.basicConfig()`, which is what waitress
//! users see from waitress-serve: `INFO:waitress:Serving on http://0.0.0.0:8080`.
//!
//! Messages use waitress's logger names as `log` targets (`waitress`, `waitress.queue`). The
//! filter is a level (`info`) or comma-separated `target=level` directives, as in `RUST_LOG`.

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The level when neither a flag nor `RUST_LOG` says otherwise: waitress-serve raises the
/// `waitress` logger to INFO, so `Serving on ...` is shown.
pub const DEFAULT_LEVEL: LevelFilter = LevelFilter::Info;

/// The key under which a record carries the error it reports (`Exception while serving /`,
/// logged with `exception:err = ...`). The message already ends with the error's text (see
/// [`with_error`]), so any logger shows why; the key is for sinks that render the error their
/// own way: the Python bridge hands a Python exception to `logging` as `exc_info`, as
/// waitress's `logger.exception` does, with the message of [`message_without_error`].
pub const ERROR_KEY: &str = "exception";

/// Calls `f` with the error a record carries under [`ERROR_KEY`], if any.
pub fn with_record_error<R>(
    record: &Record<'_>,
    f: impl FnOnce(Option<&(dyn std::error::Error + 'static)>) -> R,
) -> R {
    let value = record.key_values().get(log::kv::Key::from_str(ERROR_KEY));
    f(value.as_ref().and_then(log::kv::Value::to_borrowed_error))
}

/// `message` with the text of `error`: after `: ` on the same line, or on the lines under it
/// when the text has several (a traceback), as waitress's `logger.exception` puts it.
pub fn with_error(message: &str, error: &dyn std::error::Error) -> String {
    let text = error.to_string();
    format!("{message}{}", error_suffix(&text))
}

fn error_suffix(text: &str) -> String {
    let text = text.trim_end();
    let sep = if text.contains('\n') { "\n" } else { ": " };
    format!("{sep}{text}")
}

/// A record's message with the text of its [`ERROR_KEY`] error, unless [`with_error`] already
/// put it at the end (the server's records do; others logged with `exception:err = e` need
/// it added).
pub fn message_with_error(record: &Record<'_>) -> String {
    let message = record.args().to_string();
    with_record_error(record, |error| match error {
        Some(e) => {
            let suffix = error_suffix(&e.to_string());
            if message.ends_with(&suffix) {
                message
            } else {
                message + &suffix
            }
        }
        None => message,
    })
}

/// A record's message without the error text [`with_error`] put at its end, for a sink that
/// renders the record's [`ERROR_KEY`] error itself.
pub fn message_without_error(record: &Record<'_>) -> String {
    let message = record.args().to_string();
    with_record_error(record, |error| {
        let Some(e) = error else {
            return message.clone();
        };
        message
            .strip_suffix(&error_suffix(&e.to_string()))
            .map_or_else(|| message.clone(), str::to_owned)
    })
}

struct StderrLogger {
    /// `(target prefix, level)`, most specific first; the empty prefix is the default.
    directives: Vec<(String, LevelFilter)>,
}

impl StderrLogger {
    fn level_for(&self, target: &str) -> LevelFilter {
        self.directives
            .iter()
            .find(|(prefix, _)| target.starts_with(prefix.as_str()))
            .map_or(DEFAULT_LEVEL, |(_, level)| *level)
    }
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level_for(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARNING",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        // One write per line so lines from different threads do not interleave.
        let line = format!(
            "{level}:{}:{}\n",
            record.target(),
            message_with_error(record)
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

fn parse_level(word: &str) -> Option<LevelFilter> {
    match word.trim().to_ascii_lowercase().as_str() {
        "off" => Some(LevelFilter::Off),
        "error" | "critical" => Some(LevelFilter::Error),
        "warn" | "warning" => Some(LevelFilter::Warn),
        "info" => Some(LevelFilter::Info),
        "debug" => Some(LevelFilter::Debug),
        "trace" => Some(LevelFilter::Trace),
        _ => None,
    }
}

/// Parses a filter: `info`, or `waitress=debug,waitress.queue=error`. Unknown words are skipped.
fn parse_filter(spec: &str) -> Vec<(String, LevelFilter)> {
    let mut directives: Vec<(String, LevelFilter)> = spec
        .split(',')
        .filter_map(|part| match part.split_once('=') {
            Some((target, level)) => Some((target.trim().to_owned(), parse_level(level)?)),
            None => Some((String::new(), parse_level(part)?)),
        })
        .collect();
    // Longest prefix first, so the most specific directive is found first.
    directives.sort_by_key(|d| std::cmp::Reverse(d.0.len()));
    directives
}

/// Installs the logger: `level` (from `--log-level`) wins over `RUST_LOG`.
pub fn init(level: Option<&str>) {
    let spec = level
        .map(str::to_owned)
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_default();
    let directives = parse_filter(&spec);
    let max = directives
        .iter()
        .map(|(_, l)| *l)
        .chain([DEFAULT_LEVEL])
        .max()
        .unwrap_or(DEFAULT_LEVEL);
    if log::set_boxed_logger(Box::new(StderrLogger { directives })).is_ok() {
        log::set_max_level(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_goes_on_the_line_or_under_it_and_comes_off_again() {
        let one_line = std::io::Error::other("boom");
        let traceback = std::io::Error::other("Traceback (most recent call last):\n  x\nE: boom\n");
        let message = "Exception while serving /p";
        let round_trip = |e: &(dyn std::error::Error + 'static)| {
            let text = with_error(message, e);
            let kvs = [(ERROR_KEY, log::kv::Value::from_dyn_error(e))];
            let stripped = message_without_error(
                &Record::builder()
                    .args(format_args!("{text}"))
                    .key_values(&kvs)
                    .build(),
            );
            (text, stripped)
        };
        assert_eq!(
            round_trip(&one_line),
            (format!("{message}: boom"), message.to_owned())
        );
        assert_eq!(
            round_trip(&traceback),
            (
                format!("{message}\nTraceback (most recent call last):\n  x\nE: boom"),
                message.to_owned()
            )
        );
        let plain = Record::builder().args(format_args!("plain")).build();
        assert_eq!(message_without_error(&plain), "plain");
        assert_eq!(message_with_error(&plain), "plain");
        // A record whose message lacks its error's text gets it; one that has it, not twice.
        let e = std::io::Error::other("disk full");
        let kvs = [(ERROR_KEY, log::kv::Value::from_dyn_error(&e))];
        for args in [
            format_args!("Could not save"),
            format_args!("Could not save: disk full"),
        ] {
            let record = Record::builder().args(args).key_values(&kvs).build();
            assert_eq!(message_with_error(&record), "Could not save: disk full");
        }
    }

    #[test]
    fn filters_pick_the_most_specific_target() {
        let logger = StderrLogger {
            directives: parse_filter("warning,waitress.queue=error,waitress=debug"),
        };
        assert_eq!(logger.level_for("waitress.queue"), LevelFilter::Error);
        assert_eq!(logger.level_for("waitress"), LevelFilter::Debug);
        assert_eq!(logger.level_for("other"), LevelFilter::Warn);
        let default = StderrLogger {
            directives: parse_filter("nonsense"),
        };
        assert_eq!(default.level_for("waitress"), DEFAULT_LEVEL);
    }
}
