//! The command line: waitress-serve's flags, generated from the table, plus the few flags that
//! are not settings (`--config`, `--check`, `--app`, ...).
//!
//! Like waitress-serve (Python's getopt): every setting is `--kebab-case`, taking `--x=V` or
//! `--x V`; every boolean has a `--no-` twin and the last one given wins; `--listen` adds up;
//! any unique prefix of a long flag works (`--thr 8`); a flag's value is the next argument even
//! when it starts with `-` (`--url-prefix -x`).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Arg, ArgAction, ArgMatches, Command, parser::ValueSource};

use super::raw::Source;
use super::table::{Form, Group, KEYS, Key};

/// Heading for the flags that are not settings.
const GENERAL: &str = "General";

/// The default section name, as PasteDeploy and pserve use it.
const DEFAULT_SECTION: &str = "main";

/// What the hidden `--generate` flag prints: the committed docs are made with it, and tests
/// compare them with its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generate {
    /// `man`: the man page.
    Man,
    /// `settings-table`: the README's table of settings.
    SettingsTable,
}

impl clap::ValueEnum for Generate {
    fn value_variants<'a>() -> &'a [Self] {
        &[Generate::Man, Generate::SettingsTable]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            Generate::Man => "man",
            Generate::SettingsTable => "settings-table",
        }))
    }
}

/// The parsed command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// `--config FILE` (with any `#NAME` removed).
    pub config: Option<PathBuf>,
    /// The `[server:NAME]` section to read: `FILE#NAME`, or `--server-name` with `--config`.
    pub section: String,
    /// Settings given as flags, in the order to apply them (after the file, so they win).
    pub settings: Vec<(&'static Key, String, Source)>,
    /// `--check`: validate and print, don't serve.
    pub check: bool,
    /// `--app NAME`: a built-in application (`echo`, `static:DIR`).
    pub app: Option<String>,
    /// The positional `MODULE:OBJECT` of waitress-serve (a Python application).
    pub target: Option<String>,
    /// Positional `NAME=VALUE` arguments: variables for the `--config` file, as pserve takes
    /// them (`pserve production.ini http_port=8080` fills in `port = %(http_port)s`).
    pub vars: Vec<(String, String)>,
    /// `--call`: `MODULE:OBJECT` is a factory to call for the application.
    pub call: bool,
    /// `--log-level LEVEL`.
    pub log_level: Option<String>,
    /// Hidden `--generate man|settings-table`: print generated documentation.
    pub generate: Option<Generate>,
    /// Everything parsed, for flags a program added to the command (`cmd.arg(...)`).
    pub matches: ArgMatches,
}

/// Whose command line it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Program<'a> {
    /// The `waitress-rs` binary, or the Python package's console script: `--app` or
    /// `MODULE:OBJECT` names the application.
    #[default]
    Server,
    /// A program (named so) serving its own application, through `command::main(Some(app))`:
    /// its help names it and leaves out the flags that choose an application, which are usage
    /// errors there rather than ignored.
    OwnApp(&'a str),
}

/// `--config`'s long help, without where the application comes from (which a program serving
/// its own does not read).
const CONFIG_HELP: &str = "Read settings from the [server:NAME] section (default main) of a \
                           PasteDeploy INI file, as pserve does. [DEFAULT], %(here)s and \
                           interpolation work as in PasteDeploy.";

/// A `--log-level` value as its canonical lower-case name: clap gives the value as typed
/// (`WARNING`, `warn`), and the front ends (the Python package maps names onto `logging`'s)
/// need one spelling.
fn canonical_level(given: &str) -> String {
    match given.to_ascii_lowercase().as_str() {
        "warn" => "warning".to_owned(),
        "critical" => "error".to_owned(),
        other => other.to_owned(),
    }
}

/// The full command, for parsing, `--help` and the man page.
pub fn command() -> Command {
    command_for(Program::Server)
}

/// The command as `program` presents it.
pub fn command_for(program: Program<'_>) -> Command {
    let cmd = server_command();
    let Program::OwnApp(name) = program else {
        return cmd;
    };
    cmd.name(name.to_owned())
        .bin_name(name.to_owned())
        .override_usage(format!(
            "{name} [OPTIONS] [--config FILE[#NAME] [NAME=VALUE]...]"
        ))
        .mut_arg("config", |a| a.long_help(CONFIG_HELP))
        .mut_arg("app", |a| a.hide(true))
        .mut_arg("call", |a| a.hide(true))
        .mut_arg("target", |a| a.hide(true))
}

fn server_command() -> Command {
    let mut cmd = Command::new("waitress-rs")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A production HTTP/1.1 server, configured like waitress")
        .long_about(
            "A production HTTP/1.1 server, configured like waitress: the same settings, \
             defaults and flags as waitress-serve, and the same [server:main] section of a \
             PasteDeploy INI file.",
        )
        .override_usage(
            "waitress-rs [OPTIONS] [--config FILE[#NAME] [NAME=VALUE]...] [--app APP | MODULE:OBJECT]",
        )
        .after_long_help(
            "Every boolean flag has a --no- form (--no-ipv6); the last one given wins. Flags \
             may be shortened to any unique prefix (--thr 8). In an INI file the keys are the \
             flag names with underscores (channel_timeout = 2m). Flags override the file.",
        )
        .infer_long_args(true)
        .args_override_self(true)
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE[#NAME]")
                .help("Read settings from the [server:main] section of a PasteDeploy INI file")
                .long_help(format!(
                    "{CONFIG_HELP} The application may come from [app:main]."
                ))
                .help_heading(GENERAL),
        )
        .arg(
            Arg::new("check")
                .long("check")
                .action(ArgAction::SetTrue)
                .help("Check the settings and print them as an INI section; don't serve")
                .help_heading(GENERAL),
        )
        .arg(
            Arg::new("app")
                .long("app")
                .value_name("APP")
                .help("Built-in application: echo, static:DIR or static:DIR:listing")
                .help_heading(GENERAL),
        )
        .arg(
            Arg::new("call")
                .long("call")
                .action(ArgAction::SetTrue)
                .help("MODULE:OBJECT is a factory to call for the application (Python apps)")
                .conflicts_with("app")
                .help_heading(GENERAL),
        )
        .arg(
            Arg::new("log_level")
                .long("log-level")
                .value_name("LEVEL")
                // Python's level names, in any case, with the `log` crate's `warn` and
                // logging's `critical` (nothing is logged above error) understood.
                .value_parser([
                    PossibleValue::new("error").alias("critical"),
                    PossibleValue::new("warning").alias("warn"),
                    PossibleValue::new("info"),
                    PossibleValue::new("debug"),
                    PossibleValue::new("trace"),
                ])
                .ignore_case(true)
                .help(
                    "Least severe messages logged [default: info, or RUST_LOG, which also takes \
                     per-logger levels]",
                )
                .help_heading(GENERAL),
        )
        .arg(
            Arg::new("generate")
                .long("generate")
                .value_parser(clap::value_parser!(Generate))
                .hide(true),
        )
        .arg(
            // One positional list holds both: a `MODULE:OBJECT` never contains `=`, and a
            // variable always does, so `http_port=8080` is never taken for an application.
            Arg::new("target")
                .value_name("MODULE:OBJECT | NAME=VALUE")
                .num_args(0..)
                .action(ArgAction::Append)
                .help("A Python WSGI application (with the Python package), or a variable")
                .long_help(
                    "A Python WSGI application (with the Python package). An argument NAME=VALUE \
                     is a variable for the --config file instead, as pserve's are: \
                     `port = %(http_port)s` with http_port=8080.",
                ),
        );
    for group in Group::ALL {
        for key in KEYS.iter().filter(|k| k.group == group) {
            for arg in key_args(key) {
                cmd = cmd.arg(arg);
            }
        }
    }
    cmd
}

fn key_args(key: &'static Key) -> Vec<Arg> {
    let long = key.name.replace('_', "-");
    let default = if key.default.is_empty() {
        String::new()
    } else {
        format!(" [default: {}]", key.default)
    };
    let arg = Arg::new(key.name)
        .long(long.clone())
        .help(format!("{}{default}", key.summary()))
        .long_help(format!("{}{default}", key.help_text()))
        .help_heading(key.group.heading());
    match key.form {
        Form::Switch => {
            let negated = format!("no_{}", key.name);
            vec![
                arg.action(ArgAction::SetTrue)
                    .overrides_with(negated.clone()),
                Arg::new(negated)
                    .long(format!("no-{long}"))
                    .action(ArgAction::SetTrue)
                    .overrides_with(key.name)
                    .hide(true),
            ]
        }
        // getopt, which waitress-serve uses, takes the next argument as the value whatever it
        // starts with: `--port -1` reaches validation, `--url-prefix -x` means `/-x`.
        Form::Value => vec![
            arg.value_name(key.value_name)
                .action(ArgAction::Set)
                .allow_hyphen_values(true),
        ],
        Form::Repeated => vec![
            arg.value_name(key.value_name)
                .action(ArgAction::Append)
                .allow_hyphen_values(true),
        ],
    }
}

/// Parses a command line (the first item is the program name).
pub fn parse<I, T>(args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    parse_for(args, Program::Server)
}

/// Parses a command line of `program`.
fn parse_for<I, T>(args: I, program: Program<'_>) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cmd = command_for(program);
    let matches = cmd.try_get_matches_from_mut(args)?;
    invocation(&mut cmd, &matches, program)
}

/// The invocation `matches` hold, parsed by `cmd`: [`command_for`]`(program)`, to which a
/// program may have added flags of its own (`--database-url`), read from the same matches.
/// Errors are `cmd`'s.
pub(crate) fn invocation(
    cmd: &mut Command,
    matches: &ArgMatches,
    program: Program<'_>,
) -> Result<Invocation, clap::Error> {
    let (targets, vars) = split_positionals(matches);
    if let Program::OwnApp(_) = program {
        let given = |id: &str| {
            matches.value_source(id) == Some(ValueSource::CommandLine)
                && (id != "target" || !targets.is_empty())
        };
        if let Some(id) = ["app", "call", "target"].into_iter().find(|&id| given(id)) {
            let what = if id == "target" {
                "MODULE:OBJECT".to_owned()
            } else {
                format!("--{id}")
            };
            return Err(cmd.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("{what}: this program serves its own application"),
            ));
        }
    }
    let mut inv = Invocation {
        check: matches.get_flag("check"),
        call: matches.get_flag("call"),
        app: matches.get_one::<String>("app").cloned(),
        target: targets.first().cloned(),
        vars,
        log_level: matches
            .get_one::<String>("log_level")
            .map(|level| canonical_level(level)),
        generate: matches.get_one::<Generate>("generate").copied(),
        matches: matches.clone(),
        section: DEFAULT_SECTION.to_owned(),
        ..Invocation::default()
    };
    let mut section_from_file = None;
    if let Some(config) = matches.get_one::<String>("config") {
        // PasteDeploy splits `config:FILE#NAME` at the first `#`: `a.ini#x#y` is [server:x#y].
        match config.split_once('#') {
            Some((file, name)) if !name.is_empty() => {
                inv.config = Some(PathBuf::from(file));
                section_from_file = Some(name.to_owned());
            }
            _ => inv.config = Some(PathBuf::from(config)),
        }
    }
    for key in KEYS {
        let Some((value, flag)) = flag_value(matches, key) else {
            continue;
        };
        // pserve's --server-name picks the section; waitress-serve's sets SERVER_NAME. With a
        // config file the flag means the former, so `pserve`-style command lines keep working.
        if key.name == "server_name" && inv.config.is_some() {
            if section_from_file.as_ref().is_some_and(|s| *s != value) {
                return Err(cmd.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!(
                        "--config names section [server:{}] but --server-name names [server:{value}]",
                        section_from_file.unwrap_or_default()
                    ),
                ));
            }
            section_from_file = Some(value);
            continue;
        }
        inv.settings.push((key, value, Source::Flag(flag)));
    }
    if let Some(section) = section_from_file {
        inv.section = section;
    }
    if let [_, extra, ..] = targets.as_slice() {
        return Err(cmd.error(
            clap::error::ErrorKind::TooManyValues,
            format!("{extra}: one application only (NAME=VALUE, with =, sets a variable of --config's file)"),
        ));
    }
    if let (Some(app), Some(target)) = (&inv.app, &inv.target) {
        return Err(cmd.error(
            clap::error::ErrorKind::ArgumentConflict,
            format!("--app {app} and {target} both name the application; give one"),
        ));
    }
    if let Some((name, value)) = inv.vars.first() {
        if inv.config.is_none() {
            return Err(cmd.error(
                clap::error::ErrorKind::MissingRequiredArgument,
                format!(
                    "{name}={value}: NAME=VALUE sets a variable of the --config file (as pserve's \
                     do), and there is no --config"
                ),
            ));
        }
    }
    if inv.call && inv.target.is_none() && inv.config.is_none() {
        // Something must name the factory: MODULE:OBJECT, or the file's [app:main] (the
        // Python package calls that too). clap's own `requires` lists nothing for an optional
        // positional, hence this check.
        return Err(cmd.error(
            clap::error::ErrorKind::MissingRequiredArgument,
            "--call needs a factory to call: MODULE:OBJECT, or the [app:main] of --config",
        ));
    }
    Ok(inv)
}

/// The positional arguments, sorted: `MODULE:OBJECT`s (at most one is valid) and `NAME=VALUE`
/// variables. A variable's value may hold `=` and `:` (`db=postgresql://h/x`): it is split at the
/// first `=`, as pserve splits it.
fn split_positionals(matches: &ArgMatches) -> (Vec<String>, Vec<(String, String)>) {
    let mut targets = Vec::new();
    let mut vars = Vec::new();
    for arg in matches.get_many::<String>("target").into_iter().flatten() {
        match arg.split_once('=') {
            Some((name, value)) => vars.push((name.to_owned(), value.to_owned())),
            None => targets.push(arg.clone()),
        }
    }
    (targets, vars)
}

/// The value the command line gives `key`, and the flag that gave it.
fn flag_value(matches: &ArgMatches, key: &'static Key) -> Option<(String, String)> {
    let from_cli = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let long = key.name.replace('_', "-");
    match key.form {
        Form::Switch => {
            let negated = format!("no_{}", key.name);
            if from_cli(key.name) && matches.get_flag(key.name) {
                Some(("true".to_owned(), format!("--{long}")))
            } else if from_cli(&negated) && matches.get_flag(&negated) {
                Some(("false".to_owned(), format!("--no-{long}")))
            } else {
                None
            }
        }
        Form::Value => from_cli(key.name)
            .then(|| matches.get_one::<String>(key.name).cloned())
            .flatten()
            .map(|v| (v, format!("--{long}"))),
        Form::Repeated => from_cli(key.name).then(|| {
            let values: Vec<&String> = matches
                .get_many::<String>(key.name)
                .into_iter()
                .flatten()
                .collect();
            let joined = values
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            (joined, format!("--{long}"))
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_level_comes_out_in_one_spelling() {
        use super::*;
        for (given, canonical) in [
            ("WARN", "warning"),
            ("Warning", "warning"),
            ("critical", "error"),
            ("TRACE", "trace"),
            ("info", "info"),
        ] {
            let inv = parse_for(["waitress-rs", "--log-level", given], Program::Server).unwrap();
            assert_eq!(inv.log_level.as_deref(), Some(canonical), "{given}");
        }
    }

    #[test]
    fn a_program_reads_flags_of_its_own_from_the_same_command_line() {
        use super::*;
        let program = Program::OwnApp("svc");
        let mut cmd = command_for(program).arg(Arg::new("database_url").long("database-url"));
        let args = ["svc", "--database-url", "postgres://db", "--threads", "2"];
        let matches = cmd.try_get_matches_from_mut(args).unwrap();
        let inv = invocation(&mut cmd, &matches, program).unwrap();
        let db = matches.get_one::<String>("database_url");
        assert_eq!(db.map(String::as_str), Some("postgres://db"));
        let given: Vec<_> = inv
            .settings
            .iter()
            .map(|(k, v, _)| (k.name, v.as_str()))
            .collect();
        assert_eq!(given, [("threads", "2")]);
    }

    #[test]
    fn a_program_with_its_own_app_is_named_and_offers_no_other() {
        let help = command_for(Program::OwnApp("hello"))
            .render_help()
            .to_string();
        assert!(
            help.contains("Usage: hello [OPTIONS] [--config FILE[#NAME] [NAME=VALUE]...]"),
            "{help}"
        );
        for absent in ["--app", "--call", "MODULE:OBJECT"] {
            assert!(!help.contains(absent), "{absent} in {help}");
        }
        let help = command().render_help().to_string();
        assert!(
            help.contains("--app") && help.contains("MODULE:OBJECT"),
            "{help}"
        );

        let err = parse_for(["hello", "--app", "echo"], Program::OwnApp("hello")).unwrap_err();
        assert!(
            err.to_string()
                .contains("--app: this program serves its own application"),
            "{err}"
        );
        let err = parse_for(["hello", "m:a"], Program::OwnApp("hello")).unwrap_err();
        assert!(
            err.to_string().contains("MODULE:OBJECT: this program"),
            "{err}"
        );
        assert!(parse_for(["hello", "--threads", "2"], Program::OwnApp("hello")).is_ok());
    }

    use super::*;

    fn values(args: &[&str]) -> Vec<(String, String, String)> {
        let mut all = vec!["waitress-rs"];
        all.extend_from_slice(args);
        parse(all)
            .unwrap()
            .settings
            .into_iter()
            .map(|(k, v, s)| (k.name.to_owned(), v, s.to_string()))
            .collect()
    }

    fn one(name: &str, value: &str, flag: &str) -> (String, String, String) {
        (name.to_owned(), value.to_owned(), flag.to_owned())
    }

    #[test]
    fn values_take_both_spellings_and_the_last_wins() {
        assert_eq!(
            values(&["--threads", "8"]),
            [one("threads", "8", "--threads")]
        );
        assert_eq!(
            values(&["--threads=8", "--threads=9"]),
            [one("threads", "9", "--threads")]
        );
    }

    #[test]
    fn switches_have_negations_and_the_last_wins() {
        assert_eq!(
            values(&["--ipv6", "--no-ipv6"]),
            [one("ipv6", "false", "--no-ipv6")]
        );
        assert_eq!(
            values(&["--no-ipv6", "--ipv6"]),
            [one("ipv6", "true", "--ipv6")]
        );
        assert!(parse(["waitress-rs", "--ipv4=yes"]).is_err());
    }

    #[test]
    fn listen_adds_up() {
        assert_eq!(
            values(&["--listen", "a:1 b:2", "--listen=c:3"]),
            [one("listen", "a:1 b:2 c:3", "--listen")]
        );
    }

    #[test]
    fn unique_prefixes_work_and_ambiguous_ones_do_not() {
        assert_eq!(values(&["--thr=8"]), [one("threads", "8", "--threads")]);
        assert!(parse(["waitress-rs", "--u=1"]).is_err());
        assert!(parse(["waitress-rs", "--no-host"]).is_err());
    }

    #[test]
    fn values_starting_with_a_dash_are_values_as_with_getopt() {
        assert_eq!(values(&["--port", "-1"]), [one("port", "-1", "--port")]);
        assert_eq!(
            values(&["--url-prefix", "-x", "--ident", "--y"]),
            [
                one("url_prefix", "-x", "--url-prefix"),
                one("ident", "--y", "--ident")
            ]
        );
    }

    #[test]
    fn one_application_at_most_and_call_needs_a_target() {
        assert!(parse(["waitress-rs", "--app", "echo", "mod:app"]).is_err());
        assert!(parse(["waitress-rs", "--call"]).is_err());
        assert!(parse(["waitress-rs", "--call", "--app", "echo"]).is_err());
        assert!(
            parse(["waitress-rs", "--call", "--config", "a.ini"])
                .unwrap()
                .call
        );
        assert!(
            parse(["waitress-rs", "--call", "mod:factory"])
                .unwrap()
                .call
        );
    }

    #[test]
    fn positionals_with_an_equals_sign_are_variables_split_at_the_first() {
        let inv = parse([
            "waitress-rs",
            "--config",
            "a.ini",
            "db=postgresql://u@h:5432/x?sslmode=require",
            "mod:app",
            "http_port=8080",
        ])
        .unwrap();
        assert_eq!(inv.target.as_deref(), Some("mod:app"));
        assert_eq!(
            inv.vars,
            [
                (
                    "db".to_owned(),
                    "postgresql://u@h:5432/x?sslmode=require".to_owned()
                ),
                ("http_port".to_owned(), "8080".to_owned())
            ]
        );
        // A program with its own application takes variables, which name no application.
        let inv = parse_for(
            ["svc", "--config", "a.ini", "http_port=1"],
            Program::OwnApp("svc"),
        )
        .unwrap();
        assert_eq!(inv.vars, [("http_port".to_owned(), "1".to_owned())]);
        assert!(parse_for(["svc", "mod:app"], Program::OwnApp("svc")).is_err());
    }

    #[test]
    fn server_name_selects_the_section_only_with_a_config() {
        assert_eq!(
            values(&["--server-name", "example.com"]),
            [one("server_name", "example.com", "--server-name")]
        );
        let inv = parse(["waitress-rs", "--config", "a.ini", "--server-name", "alt"]).unwrap();
        assert_eq!(inv.section, "alt");
        assert!(inv.settings.is_empty());
        let inv = parse(["waitress-rs", "--config", "a.ini#other"]).unwrap();
        assert_eq!(inv.section, "other");
        assert_eq!(inv.config, Some(PathBuf::from("a.ini")));
        let inv = parse(["waitress-rs", "--config", "a.ini#x#y"]).unwrap();
        assert_eq!(inv.section, "x#y");
        assert_eq!(inv.config, Some(PathBuf::from("a.ini")));
        assert!(parse(["waitress-rs", "--config", "a.ini#x", "--server-name", "y"]).is_err());
    }

    #[test]
    fn waitress_serve_spellings_are_accepted() {
        let inv = parse([
            "waitress-rs",
            "--unix-socket-perms=660",
            "--no-ipv6",
            "--ident=x",
            "--asyncore-use-poll",
            "--call",
            "app:main",
        ])
        .unwrap();
        assert!(inv.call);
        assert_eq!(inv.target.as_deref(), Some("app:main"));
        assert_eq!(inv.settings.len(), 4);
    }
}
