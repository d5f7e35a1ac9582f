//! The `waitress-rs` binary: waitress-serve's command line and pserve's INI handling in front
//! of the waitress-rs server.

use std::io::Write;
use std::process::ExitCode;

use waitress_rs::settings::{self, cli, man};

/// `EX_USAGE` is 64 in sysexits, but clap and pserve both exit 2 on usage errors, and scripts
/// expect that.
const EXIT_USAGE: u8 = 2;
/// sysexits `EX_CONFIG`: lets systemd units say `RestartPreventExitStatus=78`.
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
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
    waitress_rs::logging::init(inv.log_level.as_deref());

    let resolved = match settings::load(&inv) {
        Ok(resolved) => resolved,
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
    if inv.check {
        print!("{}", settings::check::render(&resolved.settings));
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "waitress-rs: no application: name one with --app echo, --app static:DIR, or an \
         [app:main] section in the --config file"
    );
    ExitCode::from(EXIT_USAGE)
}
