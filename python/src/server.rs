//! A bound server as Python holds it: what `create_server` returns and what `serve` runs.
//!
//! waitress's `create_server` binds at once and serves when `run()` is called; test fixtures
//! and programs that serve from a thread use it for the port of `port=0` and to stop the
//! server with `close()`. Here `run()` releases the GIL for the whole run; in the main thread
//! it also takes SIGINT and SIGTERM as `serve` does (the first stops gracefully), elsewhere the
//! process's signals are left alone and `close()` is the way to stop.

use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use waitress_rs::server::{self, ServeError, ShutdownHandle};
use waitress_rs::settings::Settings;

use crate::{config, logs, wsgi};

/// Where a bound server is in its life.
enum State {
    /// Listening, not yet run: connections wait in the backlog.
    Bound(Box<server::Server>),
    /// `run()` is serving.
    Running,
    /// Run to the end, or closed: the listeners are shut.
    Done,
}

/// A server bound to its listeners: `run()` serves, `close()` stops.
#[pyclass(frozen, module = "waitress_rs._native")]
pub struct BoundServer {
    state: Mutex<State>,
    handle: ShutdownHandle,
    urls: Vec<String>,
}

/// Why a run stopped early.
pub(crate) enum Stopped {
    /// The server failed (bind, poller).
    Serve(ServeError),
    /// A Python exception is pending.
    Python(PyErr),
}

impl BoundServer {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl BoundServer {
    /// The listeners' URLs (`http://127.0.0.1:8080`, `http://[::1]:8080`,
    /// `http://unix:/path`), with the real port where port 0 was asked for.
    #[getter]
    fn urls(&self) -> Vec<String> {
        self.urls.clone()
    }

    /// Serves until `close()` or, with `signals`, SIGINT or SIGTERM; then finishes the
    /// requests in progress and returns. `ready` is called once the signals are handled, just
    /// before serving (`serve` logs `Serving on` there, so a stop sent on seeing that line
    /// drains). A closed server returns at once, as waitress's does.
    #[pyo3(signature = (signals, ready = None))]
    fn run(&self, py: Python<'_>, signals: bool, ready: Option<Py<PyAny>>) -> PyResult<()> {
        let server = {
            let mut state = self.lock();
            match std::mem::replace(&mut *state, State::Running) {
                State::Bound(server) => *server,
                State::Running => {
                    return Err(PyRuntimeError::new_err("the server is already running"));
                }
                State::Done => {
                    *state = State::Done;
                    return Ok(());
                }
            }
        };
        let ready = move |_: &server::Server| {
            if let Some(ready) = ready {
                Python::attach(|py| {
                    if let Err(e) = ready.call0(py) {
                        e.write_unraisable(py, None);
                    }
                });
            }
        };
        let result = run(py, server, signals, ready);
        *self.lock() = State::Done;
        logs::flush(py);
        result.map_err(|e| match e {
            Stopped::Serve(e) => serve_error(e),
            Stopped::Python(e) => e,
        })
    }

    /// Stops the server: a running one stops accepting, finishes what it received and its
    /// `run()` returns; one not yet run closes its listeners now.
    fn close(&self, py: Python<'_>) {
        let mut state = self.lock();
        match &*state {
            State::Running => self.handle.shutdown(),
            State::Done => {}
            State::Bound(_) => {
                let State::Bound(server) = std::mem::replace(&mut *state, State::Done) else {
                    unreachable!("matched as bound under the same lock");
                };
                drop(state);
                // Dropped without the GIL: the workers may be waiting for it to finish.
                py.detach(move || drop(server));
            }
        }
    }
}

/// Binds `app` with the settings of the keyword arguments `kw`.
#[pyfunction]
pub fn bind(
    py: Python<'_>,
    app: Bound<'_, PyAny>,
    kw: Option<Bound<'_, PyDict>>,
) -> PyResult<BoundServer> {
    logs::install(py)?;
    let settings = config::settings_from_kwargs(py, kw.as_ref())?;
    let app: Arc<dyn waitress_rs::app::App> = Arc::new(wsgi::WsgiApp::new(py, app)?);
    let server = py
        .detach(|| server::Server::bind(&settings, app))
        .map_err(serve_error)?;
    // Records from binding (a temp directory fallback) come before the caller's own.
    logs::flush(py);
    Ok(BoundServer {
        handle: server.shutdown_handle(),
        urls: server.urls().to_vec(),
        state: Mutex::new(State::Bound(Box::new(server))),
    })
}

/// The console script's serving: binds, logs `Serving on`, runs until SIGINT or SIGTERM.
pub(crate) fn serve(
    py: Python<'_>,
    settings: &Settings,
    app: Arc<dyn waitress_rs::app::App>,
) -> Result<(), Stopped> {
    logs::install(py).map_err(Stopped::Python)?;
    let server = py
        .detach(|| server::Server::bind(settings, app))
        .map_err(Stopped::Serve)?;
    let result = run(py, server, true, server::Server::announce);
    logs::flush(py);
    result
}

/// Runs `server`, with the GIL released; `ready` is called just before it serves, after the
/// stop signals are handled when `signals` asks for them.
fn run(
    py: Python<'_>,
    server: server::Server,
    signals: bool,
    ready: impl FnOnce(&server::Server) + Send,
) -> Result<(), Stopped> {
    if !signals {
        return py
            .detach(|| {
                ready(&server);
                server.run()
            })
            .map_err(Stopped::Serve);
    }
    #[cfg(unix)]
    let result = py.detach(|| server.run_until_signalled(ready));
    #[cfg(not(unix))]
    let result = {
        ready(&server);
        run_polling_signals(py, server).map_err(Stopped::Python)?
    };
    // Python's own SIGINT handler also saw Ctrl-C: as with waitress's `run`, KeyboardInterrupt
    // is the normal way to stop, not an error.
    match py.check_signals() {
        Err(e) if e.is_instance_of::<PyKeyboardInterrupt>(py) => {}
        Err(e) => return Err(Stopped::Python(e)),
        Ok(()) => {}
    }
    result.map_err(Stopped::Serve)
}

/// On Windows, Ctrl-C is left to Python rather than the core's console handler, so a program
/// sees the `KeyboardInterrupt` it expects: the server runs on its own thread while this one
/// wakes five times a second to let Python see a Ctrl-C, and a `KeyboardInterrupt` starts the
/// graceful shutdown.
#[cfg_attr(unix, allow(dead_code))]
fn run_polling_signals(py: Python<'_>, server: server::Server) -> PyResult<Result<(), ServeError>> {
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

/// A serving error as Python sees it: bind failures are `OSError`s with the errno, which for
/// the server's own refusals is the one waitress gets from the call it makes
/// ([`server::BindError::os_code`]).
fn serve_error(e: ServeError) -> PyErr {
    let errno = match &e {
        ServeError::Bind(bind) => bind.os_code(),
        ServeError::Io(io) => io.raw_os_error(),
    };
    match errno {
        Some(errno) => PyOSError::new_err((errno, e.to_string())),
        None => PyRuntimeError::new_err(e.to_string()),
    }
}
