//! The core's `log` records, forwarded to Python's `logging` under the same logger names
//! (`waitress`, `waitress.queue`), so `logging` configuration (pserve's INI `[loggers]`,
//! Django's `LOGGING`) applies to them.
//!
//! Records go over a channel to one thread that attaches to Python: the event loop never
//! waits for the GIL to log.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;

enum Message {
    Record {
        target: String,
        level: u8,
        text: String,
    },
    Flush(Sender<()>),
}

struct PyLogger {
    tx: Mutex<Sender<Message>>,
}

static LOGGER: OnceLock<&'static PyLogger> = OnceLock::new();

impl Log for PyLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => 40,
            Level::Warn => 30,
            Level::Info => 20,
            Level::Debug => 10,
            Level::Trace => 5,
        };
        let message = Message::Record {
            target: record.target().to_owned(),
            level,
            text: record.args().to_string(),
        };
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(message);
        }
    }

    fn flush(&self) {}
}

/// The forwarding thread. It attaches per record (`try_attach`, so a record that arrives while
/// the interpreter is starting to exit is dropped rather than crashing the process).
fn forward(rx: Receiver<Message>) {
    for message in rx {
        match message {
            Message::Record {
                target,
                level,
                text,
            } => {
                Python::try_attach(|py| {
                    let sent = py
                        .import("logging")
                        .and_then(|logging| logging.call_method1("getLogger", (target,)))
                        .and_then(|logger| logger.call_method1("log", (level, "%s", text)));
                    if let Err(e) = sent {
                        e.print(py);
                    }
                });
            }
            Message::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Installs the forwarding logger (once) and sets the level from the `waitress` logger's
/// effective level, so records nobody would see are not even formatted.
pub fn install(py: Python<'_>) -> PyResult<()> {
    let logger = LOGGER.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        let _ = std::thread::Builder::new()
            .name("waitress-log".into())
            .spawn(move || forward(rx));
        let logger: &'static PyLogger = Box::leak(Box::new(PyLogger { tx: Mutex::new(tx) }));
        let _ = log::set_logger(logger);
        logger
    });
    let _ = logger;
    let effective: u32 = py
        .import("logging")?
        .call_method1("getLogger", ("waitress",))?
        .call_method0("getEffectiveLevel")?
        .extract()?;
    log::set_max_level(match effective {
        0..=5 => LevelFilter::Trace,
        6..=10 => LevelFilter::Debug,
        11..=20 => LevelFilter::Info,
        21..=30 => LevelFilter::Warn,
        _ => LevelFilter::Error,
    });
    Ok(())
}

/// Waits (with the GIL released) until every record sent so far reached Python.
pub fn flush(py: Python<'_>) {
    let Some(logger) = LOGGER.get() else {
        return;
    };
    let (done_tx, done_rx) = mpsc::channel();
    if let Ok(tx) = logger.tx.lock() {
        if tx.send(Message::Flush(done_tx)).is_err() {
            return;
        }
    }
    py.detach(move || {
        let _ = done_rx.recv_timeout(Duration::from_secs(5));
    });
}
