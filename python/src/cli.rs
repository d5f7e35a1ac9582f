//! The `waitress-rs` console script: the binary's command line (`--config`, `--check`, every
//! setting as a flag) plus waitress-serve's `MODULE:OBJECT` and `--call`. Python does the
//! importing (`waitress_rs.runner`), so its errors read as waitress-serve's.

use std::sync::Arc;

use pyo3::prelude::*;

use waitress_rs::app::{App, builtin};
use waitress_rs::command;
use waitress_rs::settings::{self, Loaded, cli, man};

use crate::wsgi::WsgiApp;

/// Exit status for usage errors, as the binary's.
const EXIT_USAGE: u8 = 2;
/// Exit status for configuration errors, as the binary's (sysexits `EX_CONFIG`).
const EXIT_CONFIG: u8 = 78;

fn print_to(py: Python<'_>, stream: &str, text: &str) -> PyResult<()> {
    let stream = py.import("sys")?.getattr(stream)?;
    stream.call_method1("write", (text,))?;
    stream.call_method0("flush")?;
    Ok(())
}

fn eprint(py: Python<'_>, text: &str) -> PyResult<()> {
    print_to(py, "stderr", &format!("{text}\n"))
}

/// The `--help` text (for waitress-serve-style error reports).
#[pyfunction]
pub fn help_text() -> String {
    cli::command().render_help().to_string()
}

/// What to serve: a built-in Rust app or a Python WSGI app.
enum Chosen {
    Rust(Arc<dyn App>),
    Python(Py<PyAny>),
    Exit(u8),
}

/// Runs the command line `argv` (program name first). `load(kind, value, call)` imports the
/// Python application: `kind` is `"target"` (`MODULE:OBJECT`) or `"config"` (an INI file's
/// `[app:main]`, through PasteDeploy); it returns the app, or an int exit status after
/// reporting the problem. Returns the exit status.
#[pyfunction]
pub fn cli_main(py: Python<'_>, argv: Vec<String>, load: Bound<'_, PyAny>) -> PyResult<u8> {
    let inv = match cli::parse(&argv) {
        Ok(inv) => inv,
        Err(e) => {
            let text = e.render().to_string();
            return if e.use_stderr() {
                print_to(py, "stderr", &text)?;
                Ok(EXIT_USAGE)
            } else {
                print_to(py, "stdout", &text)?;
                Ok(0)
            };
        }
    };
    if inv.generate.as_deref() == Some("man") {
        print_to(py, "stdout", &man::to_string())?;
        return Ok(0);
    }
    if let Some(level) = &inv.log_level {
        let level = match level.as_str() {
            "trace" => "DEBUG".to_owned(),
            other => other.to_ascii_uppercase(),
        };
        py.import("logging")?
            .call_method1("getLogger", ("waitress",))?
            .call_method1("setLevel", (level,))?;
    }
    crate::logs::install(py)?;

    let Loaded {
        resolved,
        app_section,
    } = match py.detach(|| settings::load(&inv)) {
        Ok(loaded) => loaded,
        Err(errors) => {
            for e in errors {
                eprint(py, &format!("waitress-rs: error: {e}"))?;
            }
            return Ok(EXIT_CONFIG);
        }
    };
    for warning in &resolved.warnings {
        eprint(py, &format!("waitress-rs: warning: {warning}"))?;
    }
    if inv.check {
        if let Some(spec) = &inv.app {
            if let Err(e) = builtin::from_flag(spec) {
                eprint(py, &format!("waitress-rs: error: {e}"))?;
                return Ok(EXIT_CONFIG);
            }
        }
        print_to(py, "stdout", &settings::check::render(&resolved.settings))?;
        return Ok(0);
    }

    let chosen = if let Some(spec) = &inv.app {
        match builtin::from_flag(spec) {
            Ok(app) => Chosen::Rust(app),
            Err(e) => {
                eprint(py, &format!("waitress-rs: error: {e}"))?;
                Chosen::Exit(EXIT_USAGE)
            }
        }
    } else if let Some(target) = &inv.target {
        from_loader(load.call1(("target", target, inv.call))?)?
    } else if let Some(section) = &app_section {
        if builtin::is_builtin(section) {
            match builtin::from_section(section) {
                Ok(app) => Chosen::Rust(app),
                Err(e) => {
                    eprint(py, &format!("waitress-rs: error: {e}"))?;
                    Chosen::Exit(EXIT_USAGE)
                }
            }
        } else {
            let path = inv.config.as_ref().map(|p| p.display().to_string());
            from_loader(load.call1(("config", path, inv.call))?)?
        }
    } else {
        eprint(
            py,
            "waitress-rs: error: no application: name one as MODULE:OBJECT (waitress-serve's \
             form), with --app echo or --app static:DIR, or as the [app:main] section of the \
             --config file",
        )?;
        Chosen::Exit(EXIT_USAGE)
    };
    let app: Arc<dyn App> = match chosen {
        Chosen::Exit(code) => return Ok(code),
        Chosen::Rust(app) => app,
        Chosen::Python(app) => Arc::new(WsgiApp::new(py, app.into_bound(py))?),
    };
    match crate::serve_dyn(py, &resolved.settings, app) {
        Ok(()) => Ok(0),
        Err(crate::Stopped::Serve(e)) => {
            eprint(py, &format!("waitress-rs: error: {e}"))?;
            Ok(command::exit_code(&e))
        }
        Err(crate::Stopped::Python(e)) => Err(e),
    }
}

fn from_loader(result: Bound<'_, PyAny>) -> PyResult<Chosen> {
    if let Ok(code) = result.extract::<u8>() {
        if !result.is_instance_of::<pyo3::types::PyBool>() {
            return Ok(Chosen::Exit(code));
        }
    }
    Ok(Chosen::Python(result.unbind()))
}
