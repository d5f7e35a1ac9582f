//! The `waitress-rs` console script: the binary's command line (`waitress_rs::command::run`:
//! `--config`, `--check`, every setting as a flag, the same messages and exit statuses) plus
//! waitress-serve's `MODULE:OBJECT` and `--call`. Python does the importing
//! (`waitress_rs.runner`), so its errors read as waitress-serve's.

use std::io::Write;
use std::sync::Arc;

use pyo3::prelude::*;

use waitress_rs::app::{App, builtin};
use waitress_rs::command::{self, Frontend};
use waitress_rs::server::ServeError;
use waitress_rs::settings::{PasteSection, Settings, cli};

use crate::server::Stopped;
use crate::wsgi::WsgiApp;

/// Exit status for usage errors, as the binary's.
const EXIT_USAGE: u8 = 2;

/// The `--help` text (for waitress-serve-style error reports).
#[pyfunction]
pub fn help_text() -> String {
    cli::command().render_help().to_string()
}

/// The Python front end: logging through Python's `logging`, applications imported by
/// `load(kind, value, call, vars)`, serving with the GIL released.
struct PyFrontend<'py> {
    py: Python<'py>,
    load: Bound<'py, PyAny>,
    /// A Python exception to raise once the command is done (it becomes a traceback, exit 1).
    error: Option<PyErr>,
}

impl PyFrontend<'_> {
    fn keep(&mut self, e: PyErr) {
        self.error.get_or_insert(e);
    }

    fn load(
        &mut self,
        kind: &str,
        value: Option<String>,
        inv: &cli::Invocation,
    ) -> Option<Result<Arc<dyn App>, u8>> {
        // The command line's NAME=VALUE variables, as pserve hands them to PasteDeploy.
        let vars: std::collections::HashMap<&str, &str> = inv
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let loaded = self
            .load
            .call1((kind, value, inv.call, vars))
            .and_then(|loaded| {
                let (obj, status): (Bound<'_, PyAny>, Option<u8>) = loaded.extract()?;
                if let Some(status) = status {
                    return Ok(Err(status));
                }
                let app: Arc<dyn App> = Arc::new(WsgiApp::new(self.py, obj)?);
                Ok(Ok(app))
            });
        match loaded {
            Ok(chosen) => Some(chosen),
            Err(e) => {
                self.keep(e);
                Some(Err(1))
            }
        }
    }
}

impl Frontend for PyFrontend<'_> {
    fn init_logging(&mut self, level: Option<&str>) {
        let set = || -> PyResult<()> {
            if let Some(level) = level {
                let level = match level {
                    "trace" => "DEBUG".to_owned(),
                    other => other.to_ascii_uppercase(),
                };
                self.py
                    .import("logging")?
                    .call_method1("getLogger", ("waitress",))?
                    .call_method1("setLevel", (level,))?;
            }
            crate::logs::install(self.py)
        };
        if let Err(e) = set() {
            self.keep(e);
        }
    }

    fn app(
        &mut self,
        inv: &cli::Invocation,
        section: Option<&PasteSection>,
    ) -> Option<Result<Arc<dyn App>, u8>> {
        if inv.app.is_some() {
            return None;
        }
        if let Some(target) = &inv.target {
            return self.load("target", Some(target.clone()), inv);
        }
        match section {
            Some(section) if builtin::is_builtin(section) => None,
            Some(_) => {
                let path = inv.config.as_ref().map(|p| p.display().to_string());
                self.load("config", path, inv)
            }
            None => {
                // Not eprintln!: a closed stderr must not turn the status into a panic's.
                let _ = writeln!(
                    std::io::stderr(),
                    "waitress-rs: error: no application: name one as MODULE:OBJECT (waitress-serve's \
                     form), with --app echo or --app static:DIR, or as the [app:main] section of the \
                     --config file"
                );
                Some(Err(EXIT_USAGE))
            }
        }
    }

    fn serves_targets(&self) -> bool {
        true
    }

    fn serve(&mut self, settings: &Settings, app: Arc<dyn App>) -> Result<(), ServeError> {
        match crate::server::serve(self.py, settings, app) {
            Ok(()) => Ok(()),
            Err(Stopped::Serve(e)) => Err(e),
            Err(Stopped::Python(e)) => {
                self.keep(e);
                Ok(())
            }
        }
    }
}

/// Runs the command line `argv` (program name first). `load(kind, value, call, vars)` imports
/// the Python application: `kind` is `"target"` (`MODULE:OBJECT`) or `"config"` (an INI file's
/// `[app:main]`, through PasteDeploy, with `vars` the command line's `NAME=VALUE` variables as a
/// dict); it returns `(app, None)`, or `(None, status)` after reporting the problem. Returns the
/// exit status.
#[pyfunction]
pub fn cli_main(py: Python<'_>, argv: Vec<String>, load: Bound<'_, PyAny>) -> PyResult<u8> {
    // Python's buffered output first, then ours, in order.
    let sys = py.import("sys")?;
    sys.getattr("stdout")?.call_method0("flush")?;
    sys.getattr("stderr")?.call_method0("flush")?;
    let mut frontend = PyFrontend {
        py,
        load,
        error: None,
    };
    let status = command::run(argv, &mut frontend);
    let _ = std::io::stdout().flush();
    match frontend.error {
        Some(e) => Err(e),
        None => Ok(status),
    }
}
