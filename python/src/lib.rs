//! `waitress_rs._native`: the waitress-rs server as a CPython extension module.
//!
//! - `wsgi` puts a Python WSGI application behind the core's [`App`](waitress_rs::app::App)
//!   contract (PEP 3333: environ, `wsgi.input`, `start_response`, `write`, iterables,
//!   `wsgi.file_wrapper` with sendfile).
//! - `config` turns `serve(app, **kw)` keyword arguments into the core's settings, so
//!   Python, INI files and flags share one set of rules and messages.
//! - `logs` forwards the core's log records to Python's `logging`.
//! - `cli` is the `waitress-rs` console script: the binary's command line plus
//!   waitress-serve's `MODULE:OBJECT`.
//!
//! Threads: the event loop never touches Python. Each of the `threads` workers attaches to the
//! interpreter once for its whole life and releases the GIL while it waits for work and while
//! it writes; the thread that called `serve` releases it until the server stops.

mod cli;
mod config;
mod logs;
mod wsgi;

use std::sync::Arc;

use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use waitress_rs::server::{self, ServeError};
use waitress_rs::settings::Settings;

/// Why serving stopped early.
enum Stopped {
    /// The server failed (bind, poller).
    Serve(ServeError),
    /// A Python exception is pending.
    Python(PyErr),
}

/// Serves `app` until SIGINT or SIGTERM, with the GIL released; `quiet` leaves out the
/// `Serving on` lines (waitress's `_quiet`).
fn serve_dyn(
    py: Python<'_>,
    settings: &Settings,
    app: Arc<dyn waitress_rs::app::App>,
    quiet: bool,
) -> Result<(), Stopped> {
    logs::install(py).map_err(Stopped::Python)?;
    #[cfg(unix)]
    let result = py.detach(|| {
        let server = server::Server::bind(settings, app)?;
        if !quiet {
            server.announce();
        }
        server.run_until_signalled()
    });
    #[cfg(not(unix))]
    let result = serve_polling_signals(py, settings, app, quiet).map_err(Stopped::Python)?;
    logs::flush(py);
    // Python's own SIGINT handler also saw Ctrl-C: as with waitress's `run`, KeyboardInterrupt
    // is the normal way to stop, not an error.
    match py.check_signals() {
        Err(e) if e.is_instance_of::<PyKeyboardInterrupt>(py) => {}
        Err(e) => return Err(Stopped::Python(e)),
        Ok(()) => {}
    }
    result.map_err(Stopped::Serve)
}

/// Where the server has no signal handling of its own (Windows), Python's does the work: the
/// server runs on its own thread while this one wakes five times a second to let Python see a
/// Ctrl-C, and a `KeyboardInterrupt` starts the graceful shutdown.
#[cfg_attr(unix, allow(dead_code))]
fn serve_polling_signals(
    py: Python<'_>,
    settings: &Settings,
    app: Arc<dyn waitress_rs::app::App>,
    quiet: bool,
) -> PyResult<Result<(), ServeError>> {
    let server = match py.detach(|| server::Server::bind(settings, app)) {
        Ok(server) => server,
        Err(e) => return Ok(Err(e)),
    };
    if !quiet {
        server.announce();
    }
    let handle = server.shutdown_handle();
    let (tx, mut rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("waitress-server".into())
        .spawn(move || {
            let _ = tx.send(server.run());
        })?;
    let mut interrupted = None;
    loop {
        let waiting = &mut rx;
        let waited = py.detach(move || waiting.recv_timeout(std::time::Duration::from_millis(200)));
        match waited {
            Ok(result) => {
                return match interrupted {
                    Some(e) => Err(e),
                    None => Ok(result),
                };
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Ok(Ok(()));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if interrupted.is_none() {
            if let Err(e) = py.check_signals() {
                log::info!(target: "waitress", "Interrupted: finishing requests in progress, then exiting");
                handle.shutdown();
                if !e.is_instance_of::<PyKeyboardInterrupt>(py) {
                    interrupted = Some(e);
                }
            }
        }
    }
}

/// A serving error as Python sees it: bind failures are `OSError`s with the errno.
fn serve_error(e: ServeError) -> PyErr {
    let errno = match &e {
        ServeError::Bind(bind) => bind.source.raw_os_error(),
        ServeError::Io(io) => io.raw_os_error(),
    };
    match errno {
        Some(errno) => PyOSError::new_err((errno, e.to_string())),
        None => PyRuntimeError::new_err(e.to_string()),
    }
}

/// `serve(app, kw, quiet)`: the settings come from keyword arguments (strings, ints, bools,
/// lists); `quiet` is waitress's `_quiet`.
#[pyfunction]
#[pyo3(signature = (app, kw, quiet = false))]
fn serve(
    py: Python<'_>,
    app: Bound<'_, PyAny>,
    kw: Option<Bound<'_, PyDict>>,
    quiet: bool,
) -> PyResult<()> {
    logs::install(py)?;
    let settings = config::settings_from_kwargs(py, kw.as_ref())?;
    let app = Arc::new(wsgi::WsgiApp::new(py, app)?);
    serve_dyn(py, &settings, app, quiet).map_err(|e| match e {
        Stopped::Serve(e) => serve_error(e),
        Stopped::Python(e) => e,
    })
}

/// Checks keyword arguments as `serve` would and returns the settings as INI text (what
/// `waitress-rs --check` prints); raises `ValueError` as `serve` does.
#[pyfunction]
fn check(py: Python<'_>, kw: Option<Bound<'_, PyDict>>) -> PyResult<String> {
    let settings = config::settings_from_kwargs(py, kw.as_ref())?;
    Ok(waitress_rs::settings::check::render(&settings))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(serve, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(cli::cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(cli::help_text, m)?)?;
    m.add_class::<wsgi::Input>()?;
    m.add_class::<wsgi::StartResponse>()?;
    m.add_class::<wsgi::ClientDisconnected>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
