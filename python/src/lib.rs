//! `waitress_rs._native`: the waitress-rs server as a CPython extension module.
//!
//! - `wsgi` puts a Python WSGI application behind the core's [`App`](waitress_rs::app::App)
//!   contract (PEP 3333: environ, `wsgi.input`, `start_response`, `write`, iterables,
//!   `wsgi.file_wrapper` sent by the server without passing through Python).
//! - `config` turns `serve(app, **kw)` keyword arguments into the core's settings, so
//!   Python, INI files and flags share one set of rules and messages.
//! - `server` is a bound server as `create_server` returns it and `serve` runs it.
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
mod server;
mod wsgi;

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Checks keyword arguments as `serve` would and returns the settings as INI text (what
/// `waitress-rs --check` prints); raises `ValueError` as `serve` does.
#[pyfunction]
fn check(py: Python<'_>, kw: Option<Bound<'_, PyDict>>) -> PyResult<String> {
    let settings = config::settings_from_kwargs(py, kw.as_ref())?;
    Ok(waitress_rs::settings::check::render(&settings))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(server::bind, m)?)?;
    m.add_class::<server::BoundServer>()?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(cli::cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(cli::help_text, m)?)?;
    m.add_class::<wsgi::Input>()?;
    m.add_class::<wsgi::StartResponse>()?;
    m.add_class::<wsgi::ClientDisconnected>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
