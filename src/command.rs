//! What the `waitress-rs` binary does, as a library function, so a Rust application can ship
//! its own binary with the same command line and INI handling (see `examples/hello.rs`).

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use crate::app::{App, builtin};
use crate::server::{self, ServeError};
use crate::settings::{self, Loaded, cli, man};

/// `EX_USAGE` is 64 in sysexits, but clap and pserve both exit 2 on usage errors, and scripts
/// expect that.
const EXIT_USAGE: u8 = 2;
/// A runtime failure.
const EXIT_FAILURE: u8 = 1;
/// sysexits `EX_UNAVAILABLE`: the address is in use.
const EXIT_UNAVAILABLE: u8 = 69;
/// sysexits `EX_NOPERM`: no permission to bind.
const EXIT_NOPERM: u8 = 77;
/// sysexits `EX_CONFIG`: lets systemd units say `RestartPreventExitStatus=78`.
const EXIT_CONFIG: u8 = 78;

/// Runs the command line in `std::env::args`: `--check`, `--generate man`, or serving. `app`
/// is the program's own application; without one, `--app` or `[app:main]` names a built-in one.
pub fn main(app: Option<Arc<dyn App>>) -> ExitCode {
    let inv = match cli::parse(std::env::args_os()) {
        Ok(inv) => inv,
        Err(e) => {
            // --help and --version are "errors" to clap that print to stdout and exit 0.
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if inv.generate.as_deref() == Some("man") {
        let _ = std::io::stdout().write_all(man::to_string().as_bytes());
        return ExitCode::SUCCESS;
    }
    crate::logging::init(inv.log_level.as_deref());

    let Loaded {
        resolved,
        app_section,
    } = match settings::load(&inv) {
        Ok(loaded) => loaded,
        Err(errors) => {
            for e in errors {
                eprintln!("waitress-rs: error: {e}");
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    for warning in &resolved.warnings {
        eprintln!("waitress-rs: warning: {warning}");
    }

    let app = match app {
        Some(app) => Some(Ok(app)),
        None => choose_app(&inv, app_section.as_ref()),
    };
    if inv.check {
        // --check needs no application, but one that is named must be usable.
        if let Some(Err(e)) = &app {
            eprintln!("waitress-rs: error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
        print!("{}", settings::check::render(&resolved.settings));
        return ExitCode::SUCCESS;
    }
    let app = match app {
        Some(Ok(app)) => app,
        Some(Err(e)) => {
            eprintln!("waitress-rs: error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
        None => {
            eprintln!(
                "waitress-rs: error: no application: name one with --app echo, --app static:DIR, \
                 or an [app:main] section (use = egg:waitress-rs#static) in the --config file"
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match server::serve(&resolved.settings, app) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("waitress-rs: error: {e}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The application the invocation names: `--app`, a positional `MODULE:OBJECT`, or the config
/// file's `[app:main]`, in that order.
fn choose_app(
    inv: &cli::Invocation,
    app_section: Option<&settings::paste::PasteSection>,
) -> Option<Result<Arc<dyn App>, String>> {
    if let Some(spec) = &inv.app {
        return Some(builtin::from_flag(spec).map_err(|e| e.to_string()));
    }
    if let Some(target) = &inv.target {
        return Some(Err(format!(
            "{target}: this binary serves Rust apps (--app echo, --app static:DIR); for a Python \
             WSGI application install the Python package: pip install waitress-rs"
        )));
    }
    let section = app_section?;
    if inv.check && !builtin::is_builtin(section) {
        // A Pyramid file's [app:main] is a Python app: --check is about the server settings.
        return None;
    }
    Some(builtin::from_section(section).map_err(|e| e.to_string()))
}

/// The exit status for a serving error, as the binary uses it (69 address in use, 77 no
/// permission, 1 otherwise), so other front ends (the Python package's CLI) exit alike.
pub fn exit_code(e: &ServeError) -> u8 {
    match e {
        ServeError::Bind(bind) => match bind.source.kind() {
            std::io::ErrorKind::AddrInUse => EXIT_UNAVAILABLE,
            std::io::ErrorKind::PermissionDenied => EXIT_NOPERM,
            _ => EXIT_FAILURE,
        },
        ServeError::Io(_) => EXIT_FAILURE,
    }
}
