//! What the `waitress-rs` binary does, as a library function, so a Rust application can ship
//! its own binary with the same command line and INI handling (see `examples/hello.rs`).

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use crate::app::{App, builtin};
use crate::server::{self, BindFault, ServeError};
use crate::settings::{self, Loaded, cli, doc};

/// The `clap` that [`main_with`] takes commands and matches of.
pub use clap;

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
/// sysexits `EX_NOHOST`: a listen host the name service could not resolve just now. Not 78,
/// which would stop such a unit for good over a DNS hiccup at boot.
const EXIT_NOHOST: u8 = 68;
/// sysexits `EX_SOFTWARE`: the program's own flags clash with the server's.
const EXIT_SOFTWARE: u8 = 70;

/// Every status the command exits with and what it means, for the man page's EXIT STATUS.
const EXIT_STATUSES: [(u8, &str); 8] = [
    (
        0,
        "Served and shut down cleanly, or --check found the configuration valid.",
    ),
    (
        EXIT_FAILURE,
        "A runtime failure while starting or serving (such as a missing directory for the \
         Unix socket), or a second stop signal during a graceful shutdown.",
    ),
    (
        EXIT_USAGE,
        "A usage error: an unknown flag, a missing value, or no application named (or none \
         that is built in).",
    ),
    (
        EXIT_NOHOST,
        "A listen host could not be resolved because the name service failed (EX_NOHOST): \
         not a configuration error, so a unit that stops restarting on 78 tries again.",
    ),
    (
        EXIT_UNAVAILABLE,
        "A listen address is already in use, or a file that is not a socket is at the Unix \
         socket path (EX_UNAVAILABLE).",
    ),
    (
        EXIT_SOFTWARE,
        "A program built on the waitress-rs library declared a flag of its own that the \
         server's flags already use (EX_SOFTWARE): a bug in that program.",
    ),
    (
        EXIT_NOPERM,
        "Permission denied binding a listen address or Unix socket (EX_NOPERM).",
    ),
    (
        EXIT_CONFIG,
        "The configuration is invalid (EX_CONFIG), one line per error on stderr; the \
         application cannot be made (a static directory missing); or the sockets it names \
         (sockets, systemd's LISTEN_FDS) are not usable listening sockets, or not on this \
         platform (Unix and inherited sockets on Windows).",
    ),
];

/// One line to stderr, lost if stderr is closed or full, never a panic: `eprintln!` panics
/// when the write fails, and the panic's exit status 101 replaced the one that says what
/// went wrong (a supervisor's `RestartPreventExitStatus=78` no longer saw a bad configuration).
macro_rules! tell {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// What a front end adds to the command line: how it logs, applications of its own (a Rust
/// program's app, or the Python package's `MODULE:OBJECT` and `[app:main]`), and how it serves.
/// The binary's defaults are the trait's.
pub trait Frontend {
    /// Sets up logging at `--log-level` (default: stderr in `logging.basicConfig()`'s format).
    fn init_logging(&mut self, level: Option<&str>) {
        crate::logging::init(level);
    }

    /// The front end's own application for `inv` (called only when serving, not with
    /// `--check`): `None` leaves the choice to `--app` and the built-in apps; `Err(status)` means
    /// the front end reported why it has none and the command exits with `status`.
    fn app(
        &mut self,
        inv: &cli::Invocation,
        app_section: Option<&settings::PasteSection>,
    ) -> Option<Result<Arc<dyn App>, u8>>;

    /// The command line to parse: `cmd` (the server's flags, [`cli::command_for`]) with any
    /// flags of the front end's own added. They appear in `--help` and the man page, a bad one
    /// is a usage error like any other, and [`Frontend::app`] reads them from
    /// [`cli::Invocation::matches`].
    fn command(&mut self, cmd: clap::Command) -> clap::Command {
        cmd
    }

    /// Whether the positional `MODULE:OBJECT` names one of this front end's applications.
    fn serves_targets(&self) -> bool {
        false
    }

    /// Whether the front end serves an application of its own whatever the command line says
    /// (a Rust program's): `--app`, `--call` and `MODULE:OBJECT` are then usage errors, its
    /// help leaves them out and names the program, and `[app:main]` is not its concern.
    fn has_own_app(&self) -> bool {
        false
    }

    /// Serves `app` until SIGINT or SIGTERM.
    fn serve(
        &mut self,
        settings: &settings::Settings,
        app: Arc<dyn App>,
    ) -> Result<(), ServeError> {
        server::serve(settings, app)
    }
}

/// The binary, or a Rust program with its own application.
struct Binary(Option<Arc<dyn App>>);

impl Frontend for Binary {
    fn has_own_app(&self) -> bool {
        self.0.is_some()
    }

    fn app(
        &mut self,
        _inv: &cli::Invocation,
        _app_section: Option<&settings::PasteSection>,
    ) -> Option<Result<Arc<dyn App>, u8>> {
        self.0.clone().map(Ok)
    }
}

/// Runs the command line in `std::env::args`: `--check`, `--generate man`, or serving. `app`
/// is the program's own application; without one, `--app` or `[app:main]` names a built-in one.
pub fn main(app: Option<Arc<dyn App>>) -> ExitCode {
    ExitCode::from(run(std::env::args_os(), &mut Binary(app)))
}

/// [`main`] for a program with flags of its own: `flags` adds them to the server's command line
/// (they appear in `--help` and the man page, and a bad one is a usage error, exit 2), and
/// `app` builds the application from the parsed command line when it is to be served (not for
/// `--check`). An `Err` from `app` is reported as `PROGRAM: error: MESSAGE`, exit status 1.
/// See `examples/greeting.rs`.
///
/// The flags may not reuse an argument id or a flag name of the server's (its settings'
/// names, such as `threads` or `port`, `app`, `config`, `check`, ...: `--help` lists them);
/// a program that does exits 70 naming the clash. `--version` prints waitress-rs's version
/// and `--help` its description unless `flags` sets the program's own
/// (`cmd.version(env!("CARGO_PKG_VERSION")).about(..).long_about(..)`). `clap` is re-exported
/// as [`crate::command::clap`], so a program need not match waitress-rs's version of it. The
/// logger is waitress-rs's (`--log-level`, `RUST_LOG`) unless the program installed one
/// before calling this, which then keeps its own level and `--log-level` does nothing.
pub fn main_with<F, A>(flags: F, app: A) -> ExitCode
where
    F: FnOnce(clap::Command) -> clap::Command,
    A: FnOnce(&clap::ArgMatches) -> Result<Arc<dyn App>, String>,
{
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut frontend = WithFlags {
        name: program_name(&args),
        flags: Some(flags),
        app: Some(app),
    };
    ExitCode::from(run(args, &mut frontend))
}

/// A Rust program with its own application and flags of its own (see [`main_with`]).
struct WithFlags<F, A> {
    name: String,
    flags: Option<F>,
    app: Option<A>,
}

impl<F, A> Frontend for WithFlags<F, A>
where
    F: FnOnce(clap::Command) -> clap::Command,
    A: FnOnce(&clap::ArgMatches) -> Result<Arc<dyn App>, String>,
{
    fn command(&mut self, cmd: clap::Command) -> clap::Command {
        match self.flags.take() {
            Some(flags) => flags(cmd),
            None => cmd,
        }
    }

    fn has_own_app(&self) -> bool {
        true
    }

    fn app(
        &mut self,
        inv: &cli::Invocation,
        _app_section: Option<&settings::PasteSection>,
    ) -> Option<Result<Arc<dyn App>, u8>> {
        let app = self.app.take()?;
        Some(app(&inv.matches).map_err(|e| {
            tell!("{}: error: {e}", self.name);
            EXIT_FAILURE
        }))
    }
}

/// Runs the command line `args` (program name first) for `frontend`; returns the exit status.
pub fn run<I, T>(args: I, frontend: &mut dyn Frontend) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let own_name = program_name(&args);
    let program = if frontend.has_own_app() {
        cli::Program::OwnApp(&own_name)
    } else {
        cli::Program::Server
    };
    let name = match program {
        cli::Program::OwnApp(name) => name,
        cli::Program::Server => "waitress-rs",
    };
    let (cmd, inv) = match parse_args(args, program, name, frontend) {
        Ok(parsed) => parsed,
        Err(status) => return status,
    };
    if let Some(what) = inv.generate {
        return generate(what, cmd, program);
    }
    frontend.init_logging(inv.log_level.as_deref());
    let Loaded {
        resolved,
        app_section,
    } = match load_settings(&inv, name) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    if inv.check {
        return check(
            &inv,
            &resolved.settings,
            app_section.as_ref(),
            name,
            frontend,
        );
    }
    let app = match app_to_serve(&inv, app_section.as_ref(), name, frontend) {
        Ok(app) => app,
        Err(status) => return status,
    };
    match frontend.serve(&resolved.settings, app) {
        Ok(()) => 0,
        Err(e) => {
            tell!("{name}: error: {e}");
            exit_code(&e)
        }
    }
}

/// The command line parsed, with the command it was parsed by (which the man page is made
/// from). `Err` is the status to exit with, having printed `--help` or `--version` (0) or why
/// the command line is refused.
fn parse_args(
    args: Vec<std::ffi::OsString>,
    program: cli::Program<'_>,
    name: &str,
    frontend: &mut dyn Frontend,
) -> Result<(clap::Command, cli::Invocation), u8> {
    let mut cmd = frontend.command(cli::command_for(program));
    if let Some(clash) = clashing_flag(&cmd) {
        // clap panics on this in debug builds and lets the later flag shadow the earlier in
        // release ones (the program's --threads silently went to the server).
        tell!("{name}: error: {clash}");
        return Err(EXIT_SOFTWARE);
    }
    let parsed = cmd
        .try_get_matches_from_mut(args)
        .and_then(|matches| cli::invocation(&mut cmd, &matches, program));
    match parsed {
        Ok(inv) => Ok((cmd, inv)),
        // --help and --version are "errors" to clap that print to stdout and exit 0.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Err(0)
        }
        Err(e) => {
            tell!("{name}: error: {}", usage_error_line(&e));
            Err(EXIT_USAGE)
        }
    }
}

/// `--generate`: prints the man page or the settings table; returns the exit status.
fn generate(what: cli::Generate, cmd: clap::Command, program: cli::Program<'_>) -> u8 {
    let text = match what {
        cli::Generate::Man => doc::man_page(cmd, program, &EXIT_STATUSES),
        cli::Generate::SettingsTable => doc::settings_table(),
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    0
}

/// The settings from the config file and the command line, their warnings told. `Err` is the
/// status to exit with, each error told.
fn load_settings(inv: &cli::Invocation, name: &str) -> Result<Loaded, u8> {
    let loaded = match settings::load(inv) {
        Ok(loaded) => loaded,
        Err(errors) => {
            for e in &errors {
                tell!("{name}: error: {e}");
            }
            return Err(config_status(&errors));
        }
    };
    for warning in &loaded.resolved.warnings {
        tell!("{name}: warning: {warning}");
    }
    Ok(loaded)
}

/// `--check`: prints the settings as resolved; returns the exit status.
fn check(
    inv: &cli::Invocation,
    settings: &settings::Settings,
    app_section: Option<&settings::PasteSection>,
    name: &str,
    frontend: &dyn Frontend,
) -> u8 {
    // --check needs no application, but one that is named must be usable (a program with
    // its own has none named: it serves its own).
    let named = if frontend.has_own_app() {
        None
    } else {
        choose_app(inv, app_section, frontend.serves_targets())
    };
    if let Some(Err((e, code))) = named {
        tell!("{name}: error: {e}");
        return code;
    }
    let mut out = std::io::stdout().lock();
    let printed = out
        .write_all(settings::check::render(settings).as_bytes())
        .and_then(|()| out.flush());
    // The check passed, but nobody got its output (a closed pipe, a full disk).
    if printed.is_ok() { 0 } else { EXIT_FAILURE }
}

/// The application to serve: the front end's own, or the one the invocation names. `Err` is
/// the status to exit with, the reason told.
fn app_to_serve(
    inv: &cli::Invocation,
    app_section: Option<&settings::PasteSection>,
    name: &str,
    frontend: &mut dyn Frontend,
) -> Result<Arc<dyn App>, u8> {
    let app = match frontend.app(inv, app_section) {
        Some(Ok(app)) => Some(Ok(app)),
        Some(Err(code)) => return Err(code),
        None => choose_app(inv, app_section, frontend.serves_targets()),
    };
    match app {
        Some(Ok(app)) => Ok(app),
        Some(Err((e, code))) => {
            tell!("{name}: error: {e}");
            Err(code)
        }
        None => {
            tell!(
                "{name}: error: no application: name one with --app echo, --app static:DIR, \
                 or an [app:main] section (use = egg:waitress-rs#static) in the --config file"
            );
            Err(EXIT_USAGE)
        }
    }
}

/// The exit status for configuration errors: 68 when the only trouble is a name service that
/// failed to answer, 78 otherwise.
fn config_status(errors: &[settings::ConfigError]) -> u8 {
    let only_unresolved = errors
        .iter()
        .all(|e| matches!(e, settings::ConfigError::Unresolved { .. }));
    if only_unresolved && !errors.is_empty() {
        EXIT_NOHOST
    } else {
        EXIT_CONFIG
    }
}

/// The first argument whose id, long or short name another argument already has: a program's
/// flag named like one of the server's (see [`main_with`]), or like clap's own `--help` and
/// `--version`, which are added when the command is built.
fn clashing_flag(cmd: &clap::Command) -> Option<String> {
    let names = |id: &str, long: Option<&str>, short: Option<char>| {
        [
            Some(format!("argument id '{id}'")),
            long.map(|l| format!("flag --{l}")),
            short.map(|c| format!("flag -{c}")),
        ]
        .into_iter()
        .flatten()
    };
    let mut seen = std::collections::HashSet::new();
    if !cmd.is_disable_help_flag_set() {
        seen.extend(names("help", Some("help"), Some('h')));
    }
    if !cmd.is_disable_version_flag_set() && cmd.get_version().is_some() {
        seen.extend(names("version", Some("version"), Some('V')));
    }
    cmd.get_arguments().find_map(|arg| {
        names(arg.get_id().as_str(), arg.get_long(), arg.get_short())
            .find(|name| !seen.insert(name.clone()))
            .map(|name| {
                format!(
                    "{name} is defined twice: the program's flags may not reuse the server's names"
                )
            })
    })
}

/// The name a program's messages start with: its file name, as it was run.
fn program_name(args: &[std::ffi::OsString]) -> String {
    args.first()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "waitress-rs".to_owned())
}

/// The built-in application the invocation names: `--app`, or the config file's `[app:main]`.
/// A positional `MODULE:OBJECT` is an error unless the front end serves such targets; an
/// `[app:main]` that is not built in is left to the front end (a Pyramid file's Python app).
/// One named on the command line that is not a built-in app is a usage error (exit 2); one that
/// cannot be made (`static:DIR` with DIR missing), or a bad one in the file, is a configuration
/// error (exit 78: a unit that stops restarting on 78 must not loop over a missing directory),
/// with or without `--check`.
fn choose_app(
    inv: &cli::Invocation,
    app_section: Option<&settings::PasteSection>,
    serves_targets: bool,
) -> Option<Result<Arc<dyn App>, (String, u8)>> {
    if let Some(spec) = &inv.app {
        return Some(builtin::from_flag(spec).map_err(|e| {
            let status = match e {
                builtin::AppSpecError::Unknown(_) => EXIT_USAGE,
                builtin::AppSpecError::Unusable(_) => EXIT_CONFIG,
            };
            (e.to_string(), status)
        }));
    }
    if let Some(target) = &inv.target {
        if serves_targets {
            return None;
        }
        return Some(Err((
            format!(
                "{target}: this binary serves Rust apps (--app echo, --app static:DIR); a \
                 Python WSGI application runs with the Python package (pip install ./python in \
                 the waitress-rs sources), as python -m waitress_rs or its own waitress-rs script"
            ),
            EXIT_USAGE,
        )));
    }
    let section = app_section?;
    if (inv.check || serves_targets) && !builtin::is_builtin(section) {
        // A Pyramid file's [app:main] is a Python app: --check is about the server settings.
        return None;
    }
    Some(builtin::from_section(section).map_err(|e| (e.to_string(), EXIT_CONFIG)))
}

/// A usage error in one line, as every other error is (a log or a supervisor shows one line per
/// failure): clap's message, what it lists under it and its tips, without the usage block.
fn usage_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut line = String::new();
    for part in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if part.starts_with("Usage:") || part.starts_with("For more information") {
            continue;
        }
        match part.strip_prefix("tip: ") {
            // "to pass '--x' as a value, use '-- --x'" would make it the MODULE:OBJECT.
            Some(tip) if tip.starts_with("to pass ") => {}
            Some(tip) => line.push_str(&format!(" ({tip})")),
            None if line.is_empty() => line.push_str(part.strip_prefix("error: ").unwrap_or(part)),
            None => {
                line.push(' ');
                line.push_str(part);
            }
        }
    }
    line.push_str("; see --help");
    line
}

/// The exit status for a serving error: 69 address in use (or a file at the Unix socket path),
/// 77 no permission, 78 when the sockets `sockets` names are not usable listening sockets (a
/// restart would not help, and `Restart=on-failure` looped on them as 1), 1 otherwise. Only
/// the server's own finding is 78: whatever the system answers is not the settings found
/// invalid.
fn exit_code(e: &ServeError) -> u8 {
    match e {
        ServeError::Bind(bind) => match bind.fault {
            BindFault::System => match bind.source.kind() {
                std::io::ErrorKind::AddrInUse => EXIT_UNAVAILABLE,
                std::io::ErrorKind::PermissionDenied => EXIT_NOPERM,
                _ => EXIT_FAILURE,
            },
            BindFault::PathTaken => EXIT_UNAVAILABLE,
            // Both are the settings asking for what cannot be: a restart changes neither.
            BindFault::Unusable | BindFault::Unsupported => EXIT_CONFIG,
        },
        ServeError::Io(_) => EXIT_FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{AppError, Request, Response};

    fn own() -> Binary {
        let hello = |_: &mut Request, res: &mut Response<'_>| -> Result<(), AppError> {
            res.start("200 OK", vec![])?;
            res.send(b"hi")
        };
        Binary(Some(Arc::new(hello)))
    }

    #[test]
    fn a_program_with_its_own_app_refuses_what_would_name_another() {
        // With --check, so that a program which took them would return rather than serve.
        for args in [
            &["hello", "--check", "--app", "echo"][..],
            &["hello", "--check", "mod:app"],
            &["hello", "--check", "--call", "mod:factory"],
        ] {
            assert_eq!(run(args, &mut own()), EXIT_USAGE, "{args:?}");
        }
    }

    #[test]
    fn a_name_service_failure_alone_is_not_a_configuration_error() {
        use settings::{ConfigError, Source};
        let unresolved = ConfigError::Unresolved {
            key: "listen",
            value: "db.example.com:80".into(),
            at: Source::Default,
            reason: "Temporary failure in name resolution".into(),
        };
        let invalid = ConfigError::File("bad".into());
        assert_eq!(
            config_status(std::slice::from_ref(&unresolved)),
            EXIT_NOHOST
        );
        assert_eq!(config_status(&[unresolved, invalid.clone()]), EXIT_CONFIG);
        assert_eq!(config_status(&[invalid]), EXIT_CONFIG);
    }

    #[test]
    fn a_bind_failure_exits_by_who_refused_not_by_the_errors_kind() {
        use std::io::{Error, ErrorKind};
        let status = |fault: BindFault, kind: ErrorKind| {
            exit_code(&ServeError::Bind(server::BindError {
                what: "http://[fe80::1]:8080".into(),
                fault,
                source: Error::from(kind),
            }))
        };
        // EINVAL from bind(2) is the system's refusal, not an invalid configuration.
        assert_eq!(
            status(BindFault::System, ErrorKind::InvalidInput),
            EXIT_FAILURE
        );
        assert_eq!(
            status(BindFault::System, ErrorKind::AddrInUse),
            EXIT_UNAVAILABLE
        );
        assert_eq!(
            status(BindFault::System, ErrorKind::PermissionDenied),
            EXIT_NOPERM
        );
        assert_eq!(
            status(BindFault::System, ErrorKind::AddrNotAvailable),
            EXIT_FAILURE
        );
        // The server's own findings, whatever kind their error has.
        for kind in [
            ErrorKind::Other,
            ErrorKind::InvalidInput,
            ErrorKind::NotFound,
        ] {
            assert_eq!(status(BindFault::Unusable, kind), EXIT_CONFIG, "{kind:?}");
            assert_eq!(
                status(BindFault::PathTaken, kind),
                EXIT_UNAVAILABLE,
                "{kind:?}"
            );
            assert_eq!(
                status(BindFault::Unsupported, kind),
                EXIT_CONFIG,
                "{kind:?}"
            );
        }
        let io = ServeError::Io(Error::from(ErrorKind::InvalidInput));
        assert_eq!(exit_code(&io), EXIT_FAILURE);
    }

    #[test]
    fn the_man_page_says_what_each_exit_status_means() {
        let server = cli::Program::Server;
        let page = doc::man_page(cli::command_for(server), server, &EXIT_STATUSES);
        for code in [
            0,
            EXIT_FAILURE,
            EXIT_USAGE,
            EXIT_NOHOST,
            EXIT_UNAVAILABLE,
            EXIT_SOFTWARE,
            EXIT_NOPERM,
            EXIT_CONFIG,
        ] {
            assert!(page.contains(&format!(".TP\n\\fB{code}\\fR\n")), "{code}");
        }
        // The table's meaning of 1 includes the second stop signal's exit, set in server.
        assert_eq!(i32::from(EXIT_FAILURE), crate::server::EXIT_INTERRUPTED);
    }

    fn greeting_flag(cmd: clap::Command) -> clap::Command {
        cmd.arg(clap::Arg::new("greeting").long("greeting"))
    }

    #[test]
    fn a_program_with_flags_of_its_own_reads_them_beside_the_servers() {
        let unbuilt = |_: &clap::ArgMatches| -> Result<Arc<dyn App>, String> {
            panic!("the app is built only to be served")
        };
        let with = |args: &[&str]| {
            let mut frontend = WithFlags {
                name: "greet".to_owned(),
                flags: Some(greeting_flag),
                app: Some(unbuilt),
            };
            run(args, &mut frontend)
        };
        assert_eq!(
            with(&["greet", "--check", "--greeting", "hi", "--threads", "2"]),
            0
        );
        assert_eq!(with(&["greet", "--check", "--greeting"]), EXIT_USAGE);
        assert_eq!(
            with(&["greet", "--check", "--salutation", "hi"]),
            EXIT_USAGE
        );
        assert_eq!(with(&["greet", "--check", "--app", "echo"]), EXIT_USAGE);

        // Serving, the app is built from the same matches; its error stops the program before
        // anything is bound.
        let seen = std::rc::Rc::new(std::cell::RefCell::new(None));
        let saw = std::rc::Rc::clone(&seen);
        let mut frontend = WithFlags {
            name: "greet".to_owned(),
            flags: Some(greeting_flag),
            app: Some(
                move |m: &clap::ArgMatches| -> Result<Arc<dyn App>, String> {
                    *saw.borrow_mut() = m.get_one::<String>("greeting").cloned();
                    Err("no greeting today".to_owned())
                },
            ),
        };
        let args = ["greet", "--greeting", "hi", "--listen", "127.0.0.1:0"];
        assert_eq!(run(args, &mut frontend), EXIT_FAILURE);
        assert_eq!(seen.borrow().as_deref(), Some("hi"));

        let own = cli::Program::OwnApp("greet");
        let page = doc::man_page(greeting_flag(cli::command_for(own)), own, &EXIT_STATUSES);
        assert!(page.contains("\\fB\\-\\-greeting\\fR"), "{page}");
    }

    #[test]
    fn a_program_flag_named_like_the_servers_is_refused() {
        let unbuilt =
            |_: &clap::ArgMatches| -> Result<Arc<dyn App>, String> { panic!("never built") };
        for flag in [
            clap::Arg::new("workers").long("threads"),
            clap::Arg::new("port").long("listen-port"),
            clap::Arg::new("host-header").short('h'),
            clap::Arg::new("verbose").short('V'),
            clap::Arg::new("assist").long("help"),
        ] {
            let shown = format!("{flag:?}");
            let mut frontend = WithFlags {
                name: "greet".to_owned(),
                flags: Some(|cmd: clap::Command| cmd.arg(flag)),
                app: Some(unbuilt),
            };
            assert_eq!(
                run(["greet", "--check"], &mut frontend),
                EXIT_SOFTWARE,
                "{shown}"
            );
        }
        assert_eq!(
            clashing_flag(&greeting_flag(cli::command_for(cli::Program::OwnApp("g")))),
            None
        );
        let clash = clashing_flag(
            &cli::command_for(cli::Program::OwnApp("g")).arg(clap::Arg::new("x").long("threads")),
        );
        assert_eq!(
            clash.as_deref(),
            Some(
                "flag --threads is defined twice: the program's flags may not reuse the server's names"
            )
        );
    }

    #[test]
    fn a_program_with_its_own_app_checks_a_file_whose_app_it_does_not_serve() {
        let dir = tempfile::tempdir().unwrap();
        let ini = dir.path().join("site.ini");
        std::fs::write(
            &ini,
            "[server:main]\nlisten = 127.0.0.1:0\n\n[app:main]\nuse = egg:waitress-rs#static\n\
             root = /nonexistent/waitress-rs-test\n",
        )
        .unwrap();
        let ini = ini.to_str().unwrap();
        assert_eq!(run(["hello", "--check", "--config", ini], &mut own()), 0);
        // The binary, which would serve that [app:main], refuses it.
        let binary = &mut Binary(None);
        assert_eq!(
            run(["waitress-rs", "--check", "--config", ini], binary),
            EXIT_CONFIG
        );
    }
}
