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
        let line = format!("{level}:{}:{}\n", record.target(), record.args());
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
