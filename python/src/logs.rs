//! The core's `log` records, forwarded to Python's `logging` under the same logger names
//! (`waitress`, `waitress.queue`), so `logging` configuration (pserve's INI `[loggers]`,
//! Django's `LOGGING`) applies to them.
//!
//! Records go over a channel to one thread that attaches to Python: the event loop never
//! waits for the GIL to log. Each record reaches `logging` in the shape waitress's own calls
//! give: the message as `msg` (no `%s` indirection), an application's exception as
//! `exc_info` rather than folded into the text, and the name of the thread that logged it.
//!
//! The channel holds [`BACKLOG`] records. waitress logs in the thread that failed, so slow
//! handlers (a network or Sentry handler) slow its workers down; here a full channel does the
//! same, waiting up to [`FULL_WAIT`] for room before a record is dropped and counted. An
//! unbounded channel grew without end behind a slow handler, and each queued exception kept
//! its whole request alive through its traceback: the environ, the body, its temp file.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::wsgi::PythonError;

/// How often the forwarding thread reads the loggers' levels again, so `logging`
/// configuration changed after `serve` started (a `dictConfig`, a `setLevel`) takes effect.
const LEVEL_REFRESH: Duration = Duration::from_secs(1);

/// The loggers the core logs to; any other target counts as the first.
const LOGGERS: [&str; 2] = ["waitress", "waitress.queue"];

/// Records waiting for the forwarding thread, at most.
const BACKLOG: usize = 64;

/// How long a record waits for room in a full channel before it is dropped. A thread that holds
/// the GIL while it logs would otherwise wait for good: the forwarding thread needs the GIL to
/// make room.
const FULL_WAIT: Duration = Duration::from_secs(1);

/// How long the interpreter's exit waits for the records sent before it to reach `logging`.
const EXIT_WAIT: Duration = Duration::from_secs(5);

enum Message {
    Record {
        target: String,
        level: u8,
        text: String,
        exception: Option<Arc<PyErr>>,
        thread: Option<String>,
        /// The logging thread's id as Python's `threading.get_ident()` gives it, to find its
        /// Python name when the thread has no Rust one (the thread that called `serve`).
        ident: u64,
        /// Where in the Rust source the record was made (`pathname`, `lineno`).
        file: &'static str,
        line: u32,
    },
    Flush(Sender<()>),
    /// Ends the forwarding thread (acknowledged), at the interpreter's exit.
    Stop(Sender<()>),
}

struct PyLogger {
    tx: SyncSender<Message>,
    /// Records dropped since the last one forwarded, for lack of room.
    dropped: AtomicUsize,
    /// The effective Python level of each of [`LOGGERS`], as last read: a record below its
    /// logger's level is not even formatted.
    levels: [AtomicU8; 2],
}

static LOGGER: OnceLock<&'static PyLogger> = OnceLock::new();

thread_local! {
    /// Set on a worker thread for its life (see [`on_worker_thread`]).
    static WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the calling thread as a worker attached to Python for the rest of its life (until
/// `false`): its records go to `logging` at once, from the thread itself, as waitress's
/// workers log. Through the forwarding thread, an app's exception record reached `logging`
/// after the client had its 500, so a test asserting on the record right after the response
/// (pytest's `caplog`, `assertLogs`) failed 5 times in 100.
pub fn on_worker_thread(worker: bool) {
    WORKER.with(|w| w.set(worker));
}

fn python_level(level: Level) -> u8 {
    match level {
        Level::Error => 40,
        Level::Warn => 30,
        Level::Info => 20,
        Level::Debug => 10,
        Level::Trace => 5,
    }
}

impl PyLogger {
    /// Sends `message`, waiting up to `wait` for room; whether it went.
    fn send(&self, mut message: Message, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            match self.tx.try_send(message) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                    message = back;
                    // Room comes a record at a time; a millisecond is about what one takes to
                    // a stream handler.
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TrySendError::Full(_)) => return false,
            }
        }
    }

    fn level_of(&self, target: &str) -> u8 {
        let i = usize::from(target == LOGGERS[1]);
        self.levels[i].load(Ordering::Relaxed)
    }

    /// Reads the loggers' effective levels from `logging`.
    fn refresh_levels(&self, py: Python<'_>) -> PyResult<()> {
        let logging = py.import("logging")?;
        for (name, level) in LOGGERS.iter().zip(&self.levels) {
            let effective: u32 = logging
                .call_method1("getLogger", (*name,))?
                .call_method0("getEffectiveLevel")?
                .extract()?;
            level.store(
                u8::try_from(effective).unwrap_or(u8::MAX),
                Ordering::Relaxed,
            );
        }
        Ok(())
    }
}

impl Log for PyLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        python_level(metadata.level()) >= self.level_of(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let exception = waitress_rs::logging::with_record_error(record, |error| {
            error
                .and_then(|e| e.downcast_ref::<PythonError>())
                .and_then(|e| e.exception().cloned())
        });
        // A Python exception goes as exc_info, so its text comes off the message; any other
        // error stays in the text.
        let text = match exception {
            Some(_) => waitress_rs::logging::message_without_error(record),
            None => waitress_rs::logging::message_with_error(record),
        };
        if WORKER.with(std::cell::Cell::get) {
            let level = python_level(record.level());
            let emitted = Python::try_attach(|py| {
                // The thread's own Python name (waitress-N) is the record's.
                let from = From {
                    thread: None,
                    ident: None,
                    file: record.file_static().unwrap_or_default(),
                    line: record.line().unwrap_or_default(),
                };
                if let Err(e) = emit(
                    py,
                    record.target(),
                    level,
                    &text,
                    exception.as_deref(),
                    from,
                ) {
                    e.print(py);
                }
            });
            if emitted.is_some() {
                return;
            }
        }
        let message = Message::Record {
            target: record.target().to_owned(),
            level: python_level(record.level()),
            text,
            exception,
            thread: std::thread::current().name().map(str::to_owned),
            ident: python_thread_ident(),
            file: record.file_static().unwrap_or_default(),
            line: record.line().unwrap_or_default(),
        };
        if !self.send(message, FULL_WAIT) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&self) {}
}

/// Where a record comes from, for the `LogRecord`'s `threadName`, `thread`, `pathname` and
/// `lineno` (waitress's come from its Python source; these from the Rust source).
struct From<'a> {
    /// The thread's Rust name (`waitress-0`), if it has one.
    thread: Option<&'a str>,
    /// Its `threading.get_ident()`, when it is not the thread emitting the record.
    ident: Option<u64>,
    file: &'a str,
    line: u32,
}

impl From<'_> {
    /// A record the server makes up itself (a count of dropped records).
    const NOWHERE: From<'static> = From {
        thread: None,
        ident: None,
        file: "",
        line: 0,
    };
}

/// `threading.get_ident()` of the calling thread, which need not hold the GIL.
// c_ulong is u64 here but u32 on Windows.
#[allow(clippy::useless_conversion)]
fn python_thread_ident() -> u64 {
    // SAFETY: PyThread_get_thread_ident only reads the calling thread's id (pthread_self,
    // GetCurrentThreadId); it touches no interpreter state.
    u64::from(unsafe { pyo3::ffi::PyThread_get_thread_ident() })
}

/// Hands one record to its logger, if the logger is enabled for it now.
fn emit(
    py: Python<'_>,
    target: &str,
    level: u8,
    text: &str,
    exception: Option<&PyErr>,
    from: From<'_>,
) -> PyResult<()> {
    let logger = py.import("logging")?.call_method1("getLogger", (target,))?;
    if !logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
        return Ok(());
    }
    let exc_info = match exception {
        Some(e) => (e.get_type(py), e.value(py), e.traceback(py))
            .into_pyobject(py)?
            .into_any(),
        None => py.None().into_bound(py),
    };
    // makeRecord(name, level, fn, lno, msg, args, exc_info): no Python frame made this record,
    // so there is no caller to find.
    let record = logger.call_method1(
        "makeRecord",
        (
            target,
            level,
            from.file,
            from.line,
            text,
            PyTuple::empty(py),
            exc_info,
        ),
    )?;
    if let Some(ident) = from.ident {
        record.setattr("thread", ident)?;
        // A thread Python knows (the one that called `serve`, `MainThread` as a rule) by its
        // Python name, as waitress's loop records have it; else its Rust name.
        let known = py
            .import("threading")?
            .getattr("_active")?
            .call_method1("get", (ident,))?;
        if !known.is_none() {
            record.setattr("threadName", known.getattr("name")?)?;
        } else if let Some(thread) = from.thread {
            record.setattr("threadName", thread)?;
        }
    }
    logger.call_method1("handle", (record,))?;
    Ok(())
}

/// The forwarding thread. It attaches per record (`try_attach`, so a record that arrives while
/// the interpreter is starting to exit is dropped rather than crashing the process), and once
/// every [`LEVEL_REFRESH`] to read the levels again.
fn forward(logger: &'static PyLogger, rx: Receiver<Message>) {
    let mut refreshed = Instant::now();
    loop {
        match rx.recv_timeout(LEVEL_REFRESH) {
            Ok(Message::Record {
                target,
                level,
                text,
                exception,
                thread,
                ident,
                file,
                line,
            }) => {
                let dropped = logger.dropped.swap(0, Ordering::Relaxed);
                Python::try_attach(|py| {
                    if dropped > 0 {
                        let text = format!(
                            "{dropped} log record(s) dropped: the logging handlers did not keep up"
                        );
                        if let Err(e) = emit(py, LOGGERS[0], 30, &text, None, From::NOWHERE) {
                            e.print(py);
                        }
                    }
                    let exception = exception.as_deref();
                    let from = From {
                        thread: thread.as_deref(),
                        ident: Some(ident),
                        file,
                        line,
                    };
                    if let Err(e) = emit(py, &target, level, &text, exception, from) {
                        e.print(py);
                    }
                    // makeRecord made this thread a "Dummy-N" in threading.enumerate() for
                    // good; a program's thread-leak check saw it appear with the first record.
                    crate::wsgi::forget_python_thread(py);
                });
            }
            Ok(Message::Flush(done)) => {
                let _ = done.send(());
            }
            Ok(Message::Stop(done)) => {
                let _ = done.send(());
                return;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if refreshed.elapsed() >= LEVEL_REFRESH {
            refreshed = Instant::now();
            Python::try_attach(|py| logger.refresh_levels(py));
        }
    }
}

/// Installs the forwarding logger (once) and reads the loggers' levels now (the forwarding
/// thread keeps them current after that).
pub fn install(py: Python<'_>) -> PyResult<()> {
    let mut first = false;
    let logger = *LOGGER.get_or_init(|| {
        first = true;
        let (tx, rx) = mpsc::sync_channel(BACKLOG);
        let logger: &'static PyLogger = Box::leak(Box::new(PyLogger {
            tx,
            dropped: AtomicUsize::new(0),
            levels: [AtomicU8::new(30), AtomicU8::new(30)],
        }));
        let _ = std::thread::Builder::new()
            .name("waitress-log".into())
            .spawn(move || forward(logger, rx));
        let _ = log::set_logger(logger);
        logger
    });
    if first {
        py.import("atexit")?
            .call_method1("register", (wrap_pyfunction!(stop_forwarding, py)?,))?;
    }
    // The core logs at info at most; which of it is wanted is the loggers' levels' to say.
    log::set_max_level(LevelFilter::Info);
    logger.refresh_levels(py)
}

/// Sends `message` (with the GIL released) and waits for its acknowledgement, all within `wait`.
fn round_trip(py: Python<'_>, message: impl FnOnce(Sender<()>) -> Message, wait: Duration) {
    let Some(logger) = LOGGER.get() else {
        return;
    };
    let (done_tx, done_rx) = mpsc::channel();
    let message = message(done_tx);
    py.detach(move || {
        let deadline = Instant::now() + wait;
        if logger.send(message, wait) {
            let _ = done_rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        }
    });
}

/// Waits (with the GIL released) until every record sent so far reached Python.
pub fn flush(py: Python<'_>) {
    round_trip(py, Message::Flush, Duration::from_secs(5));
}

/// Registered with `atexit`: forwards what is queued, then ends the forwarding thread, so it
/// is not inside a logging handler when the interpreter finalizes (a thread that touches
/// Python then is ended by CPython with `pthread_exit`, which aborts the process when the
/// thread is Rust's: seen as exit -6 after SIGTERM with records queued).
#[pyfunction]
fn stop_forwarding(py: Python<'_>) {
    round_trip(py, Message::Stop, EXIT_WAIT);
}
