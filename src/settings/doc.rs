//! Generated documentation: the man page and the README's settings table, both from the same
//! command and table as `--help`, with tests that fail when the committed copies are stale.

use std::io::{self, Write};

use clap::Command;

use super::cli::Program;
use super::table::{Form, Group, KEYS};

/// Escapes text for roff: backslashes, hyphens (so they are not hyphenation points), and a
/// leading dot or quote (which would start a request).
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Writes the man page of `program`, whose command line `cmd` parses (the binary's, or
/// [`command_for`](super::cli::command_for) with a program's own flags added): a program serving its own application
/// gets its own name, synopsis and examples, and no `--app` (which it refuses) or waitress-rs's
/// shipped files. `exit_statuses` are the EXIT STATUS section: each status and its meaning.
fn render(
    w: &mut dyn Write,
    cmd: Command,
    program: Program<'_>,
    exit_statuses: &[(u8, &str)],
) -> io::Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    let source = match program {
        Program::Server => format!("waitress-rs {version}"),
        Program::OwnApp(name) => format!("{name} (waitress-rs {version})"),
    };
    let man = clap_mangen::Man::new(cmd)
        .source(source)
        .manual("User Commands");
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;

    writeln!(w, ".SH CONFIGURATION")?;
    writeln!(
        w,
        "Settings come from the [server:main] section of a PasteDeploy INI file given with \
         \\fB\\-\\-config\\fR, then from flags, which win. The INI key is the flag name with \
         underscores. A section may start with \\fBuse = egg:waitress#main\\fR or \
         \\fBuse = egg:waitress\\-rs#main\\fR; [DEFAULT], %(here)s and %(name)s interpolation \
         work as in PasteDeploy, which also means a key that [DEFAULT] defines is ignored in \
         the server section unless brought in with \\fBget key = name\\fR. Every boolean \
         flag has a \\fB\\-\\-no\\-\\fR form (\\fB\\-\\-no\\-ipv6\\fR); the last one given wins."
    )?;
    for group in Group::ALL {
        writeln!(w, ".SS {}", roff(group.heading()))?;
        for key in KEYS.iter().filter(|k| k.group == group) {
            writeln!(w, ".TP")?;
            let default = if key.default.is_empty() {
                "(empty)".to_owned()
            } else {
                roff(key.default)
            };
            writeln!(w, "\\fB{}\\fR = {}", roff(key.name), default)?;
            let flags = match key.form {
                // Every boolean has a `--no-` twin; the last one given wins.
                Form::Switch => format!(
                    "\\fB{}\\fR, \\fB{}\\fR",
                    roff(&key.flag()),
                    roff(&format!("--no-{}", key.name.replace('_', "-")))
                ),
                _ => format!("\\fB{}\\fR", roff(&key.flag())),
            };
            writeln!(w, "{} ({flags})", roff(&key.help_text()))?;
        }
    }

    writeln!(w, ".SH EXIT STATUS")?;
    for (code, meaning) in exit_statuses {
        writeln!(w, ".TP\n\\fB{code}\\fR\n{}", roff(meaning))?;
    }

    writeln!(w, ".SH ENVIRONMENT")?;
    for (name, meaning) in [
        (
            "RUST_LOG",
            "Log filter when --log-level is not given, e.g. info or waitress=debug.",
        ),
        (
            "LISTEN_FDS, LISTEN_PID",
            "Sockets passed by systemd socket activation, used with sockets = systemd.",
        ),
        (
            "NOTIFY_SOCKET",
            "Set by systemd for Type=notify services; readiness is reported there.",
        ),
        (
            "TMPDIR",
            "Where request bodies and responses past the overflow sizes are spooled.",
        ),
    ] {
        writeln!(w, ".TP\n\\fB{}\\fR\n{}", roff(name), roff(meaning))?;
    }

    let examples = match program {
        Program::Server => {
            writeln!(w, ".SH FILES")?;
            writeln!(
                w,
                ".TP\n\\fIetc/*.ini\\fR\nExample configurations shipped with the source: production, \
                 development, behind a reverse proxy, and on a Unix socket."
            )?;
            server_examples()
        }
        Program::OwnApp(name) => own_app_examples(name),
    };
    writeln!(w, ".SH EXAMPLES")?;
    for (what, example) in examples {
        writeln!(
            w,
            ".PP\n{}\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE",
            roff(&what),
            roff(&example)
        )?;
    }
    man.render_version_section(w)?;
    Ok(())
}

/// The binary's examples: what to do, and the command line.
fn server_examples() -> Vec<(String, String)> {
    [
        (
            "Serve files from a directory on every interface:",
            "waitress-rs --listen \"*:8080\" --app static:/srv/www",
        ),
        (
            "Serve a built-in app with the server section of a Pyramid production.ini (its \
             [app:main] is served by the Python package's waitress-rs):",
            "waitress-rs --config production.ini --app echo",
        ),
        (
            "Check a configuration without serving, printing the effective settings:",
            "waitress-rs --check --config production.ini",
        ),
        (
            "Show what an application behind a proxy would see:",
            "waitress-rs --app echo --trusted-proxy 127.0.0.1 --trusted-proxy-headers \"x-forwarded-for x-forwarded-proto\"",
        ),
    ]
    .into_iter()
    .map(|(what, example)| (what.to_owned(), example.to_owned()))
    .collect()
}

/// The examples of a program serving its own application, in its name.
fn own_app_examples(name: &str) -> Vec<(String, String)> {
    vec![
        (
            "Serve on every interface, port 8080:".to_owned(),
            format!("{name} --listen \"*:8080\""),
        ),
        (
            "Serve with the server section of an INI file:".to_owned(),
            format!("{name} --config production.ini"),
        ),
        (
            "Check a configuration without serving, printing the effective settings:".to_owned(),
            format!("{name} --check --config production.ini"),
        ),
    ]
}

/// The README's table of settings: INI key, flag, default, meaning.
pub(crate) fn settings_table() -> String {
    let mut out = String::from("| INI key | flag | default | meaning |\n|---|---|---|---|\n");
    for key in KEYS {
        let flag = match key.form {
            super::table::Form::Switch => format!("`{}` / `--no-{}`", key.flag(), &key.flag()[2..]),
            _ => format!("`{} {}`", key.flag(), key.value_name),
        };
        let default = if key.default.is_empty() {
            "(empty)".to_owned()
        } else {
            format!("`{}`", key.default)
        };
        out.push_str(&format!(
            "| `{}` | {flag} | {default} | {} |\n",
            key.name,
            key.help_text().replace('|', "\\|")
        ));
    }
    out
}

/// The man page of `program` as a string (see [`render`]).
pub(crate) fn man_page(cmd: Command, program: Program<'_>, exit_statuses: &[(u8, &str)]) -> String {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = render(&mut buf, cmd, program, exit_statuses);
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::cli::command_for;

    #[test]
    fn a_program_serving_its_own_app_gets_a_page_in_its_name_without_choosing_an_app() {
        let own = Program::OwnApp("hello");
        let page = man_page(command_for(own), own, &[]);
        assert!(page.contains(".TH hello 1"), "{page}");
        assert!(
            page.contains("hello \\- A production HTTP/1.1 server"),
            "{page}"
        );
        assert!(
            page.contains("hello \\-\\-check \\-\\-config production.ini"),
            "{page}"
        );
        // Not the binary's: no --app, no MODULE:OBJECT, no application from [app:main], no
        // examples or shipped files of waitress-rs.
        for absent in [
            "\\-\\-app",
            "MODULE:OBJECT",
            "[app:main].",
            "waitress\\-rs \\-\\-",
            "etc/",
        ] {
            assert!(!page.contains(absent), "{absent} in {page}");
        }
        let binary = man_page(command_for(Program::Server), Program::Server, &[]);
        for present in [
            "\\-\\-app",
            "MODULE:OBJECT",
            "[app:main].",
            "waitress\\-rs \\-\\-",
            "etc/",
        ] {
            assert!(
                binary.contains(present),
                "{present} not in the binary's page"
            );
        }
    }
}
