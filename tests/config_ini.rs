//! `--config FILE` with PasteDeploy semantics, through the real binary and real files.

mod support;

use std::path::{Path, PathBuf};

/// Writes `text` to `name` in `dir`; returns the path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `--check --config PATH extra...`: (exit code, stdout, stderr).
fn check(path: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let config = path.to_str().unwrap().to_owned();
    let mut args = vec!["--check", "--config", config.as_str()];
    args.extend_from_slice(extra);
    let (status, stdout, stderr) = support::run(&args);
    (status.code(), stdout, stderr)
}

/// `--check` of `text` written to `dir/name`, which must succeed; returns stdout and stderr.
fn ok(dir: &Path, name: &str, text: &str, extra: &[&str]) -> (String, String) {
    let path = write(dir, name, text);
    let (code, stdout, stderr) = check(&path, extra);
    assert_eq!(code, Some(0), "{text}\nstderr:\n{stderr}");
    (stdout, stderr)
}

/// `--check` of `text`, which must fail with exit 78; returns the stderr lines.
fn fails(dir: &Path, name: &str, text: &str, extra: &[&str]) -> Vec<String> {
    let path = write(dir, name, text);
    let (code, stdout, stderr) = check(&path, extra);
    assert_eq!(
        code,
        Some(78),
        "{text}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.is_empty(),
        "nothing printed on a failed check: {stdout}"
    );
    let lines: Vec<String> = stderr.lines().map(str::to_owned).collect();
    for line in &lines {
        assert!(line.starts_with("waitress-rs: error: "), "{line}");
    }
    lines
}

fn has_line(out: &str, line: &str) -> bool {
    out.lines().any(|l| l == line)
}

const PRODUCTION_INI: &str = include_str!("fixtures/pyramid-production.ini");

#[test]
fn stock_pyramid_production_ini() {
    let dir = support::temp_dir();
    let (out, stderr) = ok(dir.path(), "production.ini", PRODUCTION_INI, &[]);
    assert!(stderr.is_empty(), "no warnings expected: {stderr}");
    assert!(has_line(&out, "listen = *:6543"), "{out}");
    assert!(has_line(&out, "# listen: http://0.0.0.0:6543"), "{out}");
    assert!(has_line(&out, "# listen: http://[::]:6543"), "{out}");
    assert!(has_line(&out, "threads = 4"), "{out}");
}

#[test]
fn stock_pyramid_development_ini() {
    let dev = PRODUCTION_INI
        .replace(
            "pyramid.reload_templates = false",
            "pyramid.reload_templates = true",
        )
        .replace(
            "pyramid.default_locale_name = en\n",
            "pyramid.default_locale_name = en\npyramid.includes =\n    pyramid_debugtoolbar\n",
        )
        .replace("listen = *:6543", "listen = localhost:6543");
    let dir = support::temp_dir();
    let (out, stderr) = ok(dir.path(), "development.ini", &dev, &[]);
    assert!(stderr.is_empty(), "no warnings expected: {stderr}");
    assert!(has_line(&out, "listen = localhost:6543"), "{out}");
    assert!(has_line(&out, "# listen: http://127.0.0.1:6543"), "{out}");
}

#[test]
fn keys_also_in_default_are_dropped_with_a_warning() {
    let dir = support::temp_dir();
    let text = "[DEFAULT]\nthreads = 9\n\n[server:main]\nuse = egg:waitress#main\nthreads = 3\n";
    let (out, stderr) = ok(dir.path(), "d.ini", text, &[]);
    // PasteDeploy passes [DEFAULT] as global_conf, which waitress ignores, and drops the local
    // key: the default applies.
    assert!(has_line(&out, "threads = 4"), "{out}");
    assert!(stderr.contains("warning"), "{stderr}");
    assert!(
        stderr.contains("d.ini:6"),
        "warning names file:line: {stderr}"
    );
    assert!(stderr.contains("threads"), "{stderr}");
    assert!(stderr.contains("[DEFAULT]"), "{stderr}");
}

#[test]
fn get_takes_a_default_value_and_set_does_not_reach_the_server() {
    let dir = support::temp_dir();
    let text =
        "[DEFAULT]\nworkers = 12\n\n[server:main]\nget threads = workers\nset backlog = 77\n";
    let (out, _) = ok(dir.path(), "g.ini", text, &[]);
    assert!(has_line(&out, "threads = 12"), "{out}");
    // `set` goes to global_conf, which waitress's paste entry point ignores.
    assert!(has_line(&out, "backlog = 1024"), "{out}");
}

#[test]
fn here_and_file_interpolate() {
    let dir = support::temp_dir();
    let text = "[server:main]\nunix_socket = %(here)s/app.sock\nident = %(__file__)s\n";
    let (out, _) = ok(dir.path(), "h.ini", text, &[]);
    let here = dir.path().display().to_string();
    assert!(
        has_line(&out, &format!("unix_socket = {here}/app.sock")),
        "{out}"
    );
    assert!(has_line(&out, &format!("ident = {here}/h.ini")), "{out}");
}

#[test]
fn default_values_interpolate_into_the_server_section() {
    let dir = support::temp_dir();
    let text = "[DEFAULT]\nport_base = 65\n\n[server:main]\nlisten = 127.0.0.1:%(port_base)s43\nident = %(name)s\nname = x\n";
    // `name` is not a setting: that is an error, but interpolation happened first.
    let lines = fails(dir.path(), "i.ini", text, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("unknown setting 'name'"), "{lines:?}");
    let text = "[DEFAULT]\nport_base = 65\n\n[server:main]\nlisten = 127.0.0.1:%(port_base)s43\n";
    let (out, _) = ok(dir.path(), "i.ini", text, &[]);
    assert!(has_line(&out, "listen = 127.0.0.1:6543"), "{out}");
}

#[test]
fn double_percent_is_a_literal_percent() {
    let dir = support::temp_dir();
    let (out, _) = ok(
        dir.path(),
        "p.ini",
        "[server:main]\nident = 100%% waitress\n",
        &[],
    );
    // --check writes it back escaped, as it must be to read back the same.
    assert!(has_line(&out, "ident = 100%% waitress"), "{out}");
}

#[test]
fn bad_interpolation_names_file_and_line() {
    let dir = support::temp_dir();
    let lines = fails(
        dir.path(),
        "bad.ini",
        "[server:main]\nthreads = 2\nident = %(nope)s\n",
        &[],
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("bad.ini:3"), "{lines:?}");
    assert!(lines[0].contains("nope"), "{lines:?}");
}

#[test]
fn interpolation_is_lazy_and_only_in_the_section_used() {
    let dir = support::temp_dir();
    // Broken interpolation in other sections (logging, alembic, another server) is not looked at.
    let text = "[alembic]\nx = %(year)d %(\n\n[formatter_generic]\nformat = %(asctime)s %(nope)s\n\n\
                [server:other]\nident = %(missing)s\n\n[server:main]\nport = 6543\n";
    let (out, stderr) = ok(dir.path(), "lazy.ini", text, &[]);
    assert!(stderr.is_empty(), "{stderr}");
    assert!(has_line(&out, "listen = 0.0.0.0:6543"), "{out}");
}

#[test]
fn multi_line_listen() {
    let dir = support::temp_dir();
    let text = "[server:main]\nlisten =\n    127.0.0.1:9001\n    127.0.0.1:9002 [::1]:9003\n\nthreads = 2\n";
    let (out, _) = ok(dir.path(), "m.ini", text, &[]);
    assert!(
        has_line(&out, "listen = 127.0.0.1:9001 127.0.0.1:9002 [::1]:9003"),
        "{out}"
    );
    assert!(has_line(&out, "threads = 2"), "{out}");
    assert!(has_line(&out, "# listen: http://[::1]:9003"), "{out}");
}

#[test]
fn duplicate_section_names_file_and_line() {
    let dir = support::temp_dir();
    let lines = fails(
        dir.path(),
        "dup.ini",
        "[server:main]\nthreads = 2\n\n[server:main]\nport = 1\n",
        &[],
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("dup.ini:4"), "{lines:?}");
    assert!(lines[0].contains("duplicate section"), "{lines:?}");
}

#[test]
fn duplicate_key_names_file_and_line() {
    let dir = support::temp_dir();
    let lines = fails(
        dir.path(),
        "dupkey.ini",
        "[server:main]\nthreads = 2\nport = 1\nthreads = 3\n",
        &[],
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("dupkey.ini:4"), "{lines:?}");
    assert!(lines[0].contains("threads"), "{lines:?}");
}

#[test]
fn key_before_any_section_is_an_error() {
    let dir = support::temp_dir();
    let lines = fails(dir.path(), "k.ini", "threads = 2\n[server:main]\n", &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("k.ini:1"), "{lines:?}");
}

#[test]
fn malformed_line_is_an_error() {
    let dir = support::temp_dir();
    let lines = fails(
        dir.path(),
        "mal.ini",
        "[server:main]\nthreads = 2\nthis is not a setting\n",
        &[],
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("mal.ini:3"), "{lines:?}");
}

#[test]
fn missing_server_section_names_the_file() {
    let dir = support::temp_dir();
    let lines = fails(
        dir.path(),
        "nosrv.ini",
        "[app:main]\nuse = egg:myproject\n",
        &[],
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("nosrv.ini"), "{lines:?}");
    assert!(lines[0].contains("main"), "{lines:?}");
}

#[test]
fn missing_file_is_a_config_error() {
    let dir = support::temp_dir();
    let path = dir.path().join("absent.ini");
    let (code, _, stderr) = check(&path, &[]);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("absent.ini"), "{stderr}");
}

#[test]
fn references_that_multiply_are_refused_not_expanded() {
    // "Billion laughs": each key names the last ten times. Ten levels in 737 bytes asked for
    // 100 GB (the process aborted); these six ask for 111 MB, so that a regression fails
    // this test rather than the machine. The load stops at 16 MiB.
    let dir = support::temp_dir();
    let mut text = format!("[DEFAULT]\na0 = {}\n", "x".repeat(100));
    for n in 1..10 {
        text.push_str(&format!(
            "a{n} = {}\n",
            format!("%(a{})s", n - 1).repeat(10)
        ));
    }
    text.push_str("\n[server:main]\nlisten = 127.0.0.1:0\n");
    let lines = fails(dir.path(), "laughs.ini", &text, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("expand to more than 16 MiB"), "{lines:?}");
}

#[test]
fn a_file_past_a_mebibyte_is_refused_unread() {
    // `--config /dev/zero` (or a log file named by mistake) was read until memory ran out.
    for path in ["/dev/zero".as_ref(), Path::new("/dev/urandom")] {
        let (code, _, stderr) = check(path, &[]);
        assert_eq!(code, Some(78), "{stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "waitress-rs: error: {}: cannot read the file: larger than 1 MiB, which no \
                 configuration is",
                path.display()
            )
        );
    }
}

const TWO_SERVERS: &str = "[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:6543\n\n\
                           [server:alt]\nuse = egg:waitress-rs#main\nhost = 127.0.0.1\nport = 7000\n";

#[test]
fn other_server_section_via_hash() {
    let dir = support::temp_dir();
    let path = write(dir.path(), "two.ini", TWO_SERVERS);
    let arg = format!("{}#alt", path.display());
    let (status, out, stderr) = support::run(&["--check", "--config", &arg]);
    assert!(status.success(), "{stderr}");
    assert!(has_line(&out, "listen = 127.0.0.1:7000"), "{out}");
    // The default is [server:main].
    let (out, _) = ok(dir.path(), "two.ini", TWO_SERVERS, &[]);
    assert!(has_line(&out, "listen = 127.0.0.1:6543"), "{out}");
    // A section that is not there names the file.
    let arg = format!("{}#nope", path.display());
    let (status, _, stderr) = support::run(&["--check", "--config", &arg]);
    assert_eq!(status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("two.ini"), "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
}

#[test]
fn other_server_section_via_server_name() {
    let dir = support::temp_dir();
    let (out, _) = ok(
        dir.path(),
        "two.ini",
        TWO_SERVERS,
        &["--server-name", "alt"],
    );
    assert!(has_line(&out, "listen = 127.0.0.1:7000"), "{out}");
    // It selects the section; it does not set SERVER_NAME.
    assert!(has_line(&out, "server_name = waitress.invalid"), "{out}");
    let (out, _) = ok(dir.path(), "two.ini", TWO_SERVERS, &["--server-name=alt"]);
    assert!(has_line(&out, "listen = 127.0.0.1:7000"), "{out}");
}

#[test]
fn use_lines_accepted_and_refused() {
    let dir = support::temp_dir();
    // Distribution names match as pkg_resources matches them: any case, `_` for `-`.
    for accepted in [
        "egg:waitress#main",
        "egg:waitress-rs#main",
        "egg:waitress",
        "egg:Waitress#main",
        "egg:waitress_rs",
    ] {
        let text = format!("[server:main]\nuse = {accepted}\nthreads = 2\n");
        let (out, _) = ok(dir.path(), "use.ini", &text, &[]);
        assert!(has_line(&out, "threads = 2"), "{accepted}: {out}");
    }
    for refused in [
        "egg:gunicorn#main",
        "egg:pyramid#wsgiref",
        "call:waitress:serve_paste",
    ] {
        let text = format!("[server:main]\nthreads = 2\nuse = {refused}\n");
        let lines = fails(dir.path(), "use.ini", &text, &[]);
        assert_eq!(lines.len(), 1, "{refused}: {lines:?}");
        assert!(lines[0].contains("use.ini:3"), "{lines:?}");
        assert!(lines[0].contains(refused), "{lines:?}");
    }
    // A key indented under `use` continues its value: refused, in one line, the line break
    // shown escaped.
    let text = "[server:main]\nuse = egg:waitress#main\n  threads = 5\n";
    let lines = fails(dir.path(), "use.ini", text, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("use = \"egg:waitress#main\\nthreads = 5\""),
        "{lines:?}"
    );
}

#[test]
fn section_names_split_at_the_first_hash_as_in_pastedeploy() {
    let dir = support::temp_dir();
    let path = write(
        dir.path(),
        "hash.ini",
        "[server:x#y]\nuse = egg:waitress#main\nthreads = 7\n",
    );
    let arg = format!("{}#x#y", path.display());
    let (status, out, stderr) = support::run(&["--check", "--config", &arg]);
    assert!(status.success(), "{stderr}");
    assert!(has_line(&out, "threads = 7"), "{out}");
}

#[test]
fn an_app_section_not_used_is_not_loaded() {
    // With the application named on the command line, [app:main] is not read, so what only
    // its own framework understands cannot fail the run.
    let dir = support::temp_dir();
    let text = "[app:main]\nuse = egg:myproject\nx = %(nosuch)s\n\n[server:main]\nuse = egg:waitress#main\nthreads = 3\n";
    let (out, _) = ok(dir.path(), "app.ini", text, &["--app", "echo"]);
    assert!(has_line(&out, "threads = 3"), "{out}");
    // Without one it is read, and its error is reported.
    let lines = fails(dir.path(), "app.ini", text, &[]);
    assert!(lines.iter().any(|l| l.contains("nosuch")), "{lines:?}");
}

#[test]
fn unknown_key_names_file_line_and_suggests() {
    let dir = support::temp_dir();
    let lines = fails(
        dir.path(),
        "typo.ini",
        "[server:main]\nport = 1\nthread = 3\n",
        &[],
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("typo.ini:3"), "{lines:?}");
    assert!(lines[0].contains("'thread'"), "{lines:?}");
    assert!(lines[0].contains("did you mean 'threads'"), "{lines:?}");
    // A flag spelling in the file gets the INI spelling suggested.
    let lines = fails(
        dir.path(),
        "typo.ini",
        "[server:main]\nchannel-timeout = 3\n",
        &[],
    );
    assert!(
        lines[0].contains("did you mean 'channel_timeout'"),
        "{lines:?}"
    );
}

#[test]
fn other_section_types_are_tolerated() {
    let dir = support::temp_dir();
    let text = "[composite:main]\nuse = egg:Paste#urlmap\n/ = app\n\n[filter:translogger]\nuse = egg:Paste#translogger\n\n\
                [pipeline:wrapped]\npipeline = translogger app\n\n[server:main]\nport = 6543\n";
    let (out, _) = ok(dir.path(), "other.ini", text, &[]);
    assert!(has_line(&out, "listen = 0.0.0.0:6543"), "{out}");
}

#[test]
fn flags_override_the_file() {
    let dir = support::temp_dir();
    let text = "[server:main]\nthreads = 3\nlisten = 127.0.0.1:6543\nchannel_timeout = 2m\n";
    let (out, _) = ok(
        dir.path(),
        "o.ini",
        text,
        &["--threads", "5", "--listen=127.0.0.1:7000"],
    );
    assert!(has_line(&out, "threads = 5"), "{out}");
    assert!(has_line(&out, "listen = 127.0.0.1:7000"), "{out}");
    assert!(has_line(&out, "channel_timeout = 120"), "{out}");
}

#[test]
fn a_bad_flag_over_a_good_file_value_is_blamed_on_the_flag() {
    let dir = support::temp_dir();
    let lines = fails(
        dir.path(),
        "f.ini",
        "[server:main]\nthreads = 3\n",
        &["--threads", "many"],
    );
    assert_eq!(
        lines,
        ["waitress-rs: error: threads = \"many\" (--threads): expected a whole number"]
    );
    // And a bad file value is blamed on file:line.
    let lines = fails(
        dir.path(),
        "f.ini",
        "[server:main]\n\nthreads = many\n",
        &[],
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("f.ini:3"), "{lines:?}");
    assert!(lines[0].contains("threads"), "{lines:?}");
}

#[test]
fn app_section_of_a_python_project_does_not_stop_check() {
    let dir = support::temp_dir();
    let text =
        "[app:main]\nuse = egg:myproject\n\n[server:main]\nuse = egg:waitress#main\nport = 6543\n";
    let (out, _) = ok(dir.path(), "py.ini", text, &[]);
    assert!(has_line(&out, "listen = 0.0.0.0:6543"), "{out}");
}

#[test]
fn keys_are_case_sensitive_as_in_paste_deploy() {
    // PasteDeploy sets optionxform = str, so waitress sees `Threads` and refuses it.
    let dir = support::temp_dir();
    let lines = fails(dir.path(), "case.ini", "[server:main]\nThreads = 3\n", &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("'Threads'"), "{lines:?}");
    assert!(lines[0].contains("case.ini:2"), "{lines:?}");
    assert!(lines[0].contains("did you mean 'threads'"), "{lines:?}");
}

#[test]
fn no_inline_comments_and_flexible_delimiters() {
    let dir = support::temp_dir();
    let text = "[server:main]\n; a comment\n# another\nident = a # b ; c\nthreads: 6\nbacklog=9\n";
    let (out, _) = ok(dir.path(), "c.ini", text, &[]);
    assert!(has_line(&out, "ident = a # b ; c"), "{out}");
    assert!(has_line(&out, "threads = 6"), "{out}");
    assert!(has_line(&out, "backlog = 9"), "{out}");
}

#[test]
fn hash_section_and_server_name_must_agree() {
    let dir = support::temp_dir();
    let path = write(dir.path(), "two.ini", TWO_SERVERS);
    let arg = format!("{}#alt", path.display());
    let (status, stdout, stderr) =
        support::run(&["--check", "--config", &arg, "--server-name", "main"]);
    assert_eq!(status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("[server:alt]"), "{stderr}");
    assert!(stderr.contains("[server:main]"), "{stderr}");
    // Agreeing is fine.
    let (status, stdout, stderr) =
        support::run(&["--check", "--config", &arg, "--server-name", "alt"]);
    assert!(status.success(), "{stderr}");
    assert!(has_line(&stdout, "listen = 127.0.0.1:7000"), "{stdout}");
}

#[cfg(unix)]
#[test]
fn the_file_configures_the_running_server() {
    let dir = support::temp_dir();
    let path = write(
        dir.path(),
        "serve.ini",
        "[app:main]\nuse = egg:waitress-rs#echo\n\n[server:main]\nuse = egg:waitress#main\n\
         listen = 127.0.0.1:0\nident = from-the-file-100%%\nthreads = 2\n",
    );
    let server = support::Server::start(&["--config", path.to_str().unwrap()]);
    let response = support::get(server.addr(), "/");
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(
        response.header("Server"),
        Some("from-the-file-100%"),
        "{response:?}"
    );
    // A flag overrides the file.
    drop(server);
    let server = support::Server::start(&[
        "--config",
        path.to_str().unwrap(),
        "--ident",
        "from-the-flag",
    ]);
    let response = support::get(server.addr(), "/");
    assert_eq!(
        response.header("Server"),
        Some("from-the-flag"),
        "{response:?}"
    );
}

#[cfg(unix)]
#[test]
fn the_app_section_names_a_built_in_app_as_pastedeploy_names_it() {
    let dir = support::temp_dir();
    let server_section = "[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:0\n";
    // Distribution names compare as PasteDeploy compares them (PEP 503), as for the server.
    let path = write(
        dir.path(),
        "echo.ini",
        &format!("[app:main]\nuse = EGG:Waitress_RS#echo\n\n{server_section}"),
    );
    let server = support::Server::start(&["--config", path.to_str().unwrap()]);
    let response = support::get(server.addr(), "/");
    assert_eq!(response.status, 200, "{response:?}");
    assert!(
        String::from_utf8_lossy(&response.body).contains("\"PATH_INFO\""),
        "{response:?}"
    );
    drop(server);

    // What the binary cannot serve exits 78 saying why: a Python project, or a pipeline (as
    // waitress's logging docs wrap an app in paste's translogger), which has no `use` line.
    for (name, app, why) in [
        (
            "python.ini",
            "[app:main]\nuse = egg:myproject\n",
            "which is not a built-in app of this binary",
        ),
        (
            "pipeline.ini",
            "[pipeline:main]\npipeline = translogger myapp\n",
            "[pipeline:main] is a PasteDeploy pipeline of Python filters and apps",
        ),
    ] {
        let path = write(dir.path(), name, &format!("{app}\n{server_section}"));
        let (status, _, stderr) = support::run(&["--config", path.to_str().unwrap()]);
        assert_eq!(status.code(), Some(78), "{name}: {stderr}");
        assert!(stderr.contains(why), "{name}: {stderr}");
        assert!(stderr.contains("Python package"), "{name}: {stderr}");
    }
}

/// An INI value for each key and the line `--check` prints for it; panics for a key it does not
/// know, so a new key has to be added here.
fn ini_sample(name: &str) -> (&'static str, &'static str) {
    match name {
        "host" => ("127.0.0.1", "listen = 127.0.0.1:8080"),
        "port" => ("9090", "listen = 0.0.0.0:9090"),
        "ipv4" => ("yes", "ipv4 = true"),
        "ipv6" => ("off", "ipv6 = false"),
        "listen" => (
            "127.0.0.1:9000\n  127.0.0.1:9001",
            "listen = 127.0.0.1:9000 127.0.0.1:9001",
        ),
        "threads" => ("8", "threads = 8"),
        "trusted_proxy" => ("10.0.0.1", "trusted_proxy = 10.0.0.1"),
        "trusted_proxy_count" => ("2", "trusted_proxy_count = 2"),
        "trusted_proxy_headers" => ("x-forwarded-for", "trusted_proxy_headers = x-forwarded-for"),
        "log_untrusted_proxy_headers" => ("on", "log_untrusted_proxy_headers = true"),
        "clear_untrusted_proxy_headers" => ("no", "clear_untrusted_proxy_headers = false"),
        "url_scheme" => ("https", "url_scheme = https"),
        "url_prefix" => ("//app/", "url_prefix = /app"),
        "backlog" => ("50", "backlog = 50"),
        "recv_bytes" => ("4096", "recv_bytes = 4096"),
        "send_bytes" => ("2", "send_bytes = 2"),
        "outbuf_overflow" => ("1000", "outbuf_overflow = 1000"),
        "outbuf_high_watermark" => ("2000", "outbuf_high_watermark = 2000"),
        "inbuf_overflow" => ("3000", "inbuf_overflow = 3000"),
        "connection_limit" => ("7", "connection_limit = 7"),
        "cleanup_interval" => ("1m", "cleanup_interval = 60"),
        "channel_timeout" => ("90s", "channel_timeout = 90"),
        "log_socket_errors" => ("f", "log_socket_errors = false"),
        "max_request_header_size" => ("1000", "max_request_header_size = 1000"),
        "max_request_body_size" => ("5000", "max_request_body_size = 5000"),
        "expose_tracebacks" => ("t", "expose_tracebacks = true"),
        "ident" => ("myserver", "ident = myserver"),
        "asyncore_loop_timeout" => ("2", "asyncore_loop_timeout = 2"),
        "asyncore_use_poll" => ("1", "asyncore_use_poll = true"),
        "unix_socket" => ("/tmp/w.sock", "unix_socket = /tmp/w.sock"),
        "unix_socket_perms" => ("0660", "unix_socket_perms = 660"),
        "sockets" => ("3 4", "sockets = 3 4"),
        "channel_request_lookahead" => ("5", "channel_request_lookahead = 5"),
        "server_name" => ("example.com", "server_name = example.com"),
        other => panic!("no INI sample for new key {other}: add one to tests/config_ini.rs"),
    }
}

#[test]
fn every_key_is_accepted_in_the_file() {
    let dir = support::temp_dir();
    for key in waitress_rs::settings::KEYS {
        let (value, line) = ini_sample(key.name);
        let mut text = String::from("[server:main]\nuse = egg:waitress#main\n");
        if key.name.starts_with("trusted_proxy_") {
            text.push_str("trusted_proxy = 10.0.0.1\n");
        }
        if key.name == "ipv6" {
            // With IPv6 off, listen on an IPv4 address.
            text.push_str("listen = 127.0.0.1:8080\n");
        }
        text.push_str(&format!("{} = {value}\n", key.name));
        let (out, _) = ok(dir.path(), "every.ini", &text, &[]);
        assert!(
            has_line(&out, line),
            "{text}\ndid not print {line:?}:\n{out}"
        );
    }
}

#[test]
fn a_whole_binding_flag_replaces_the_files_binding_and_a_partial_one_does_not() {
    let dir = support::temp_dir();
    let text = "[server:main]\nhost = 0.0.0.0\nport = 6543\n";
    let (out, _) = ok(
        dir.path(),
        "bind.ini",
        text,
        &["--listen", "127.0.0.1:9001"],
    );
    assert!(has_line(&out, "listen = 127.0.0.1:9001"), "{out}");
    assert!(has_line(&out, "# listen: http://127.0.0.1:9001"), "{out}");
    // A flag that says only part of it: --port with the file's listen would have made
    // `listen = 127.0.0.1:6543` listen on every interface. Refused, as waitress refuses both.
    let errors = fails(
        dir.path(),
        "bind2.ini",
        "[server:main]\nlisten = 127.0.0.1:6543\n",
        &["--port", "9002"],
    );
    assert!(
        errors.iter().any(|e| e.contains(
            "bind2.ini:2) and port (--port) may not both be set: host or port may not \
             be set if listen is set."
        )),
        "{errors:?}"
    );
    // --host and --port replace the file's own host and port.
    let (out, _) = ok(dir.path(), "bind5.ini", text, &["--port", "9003"]);
    assert!(has_line(&out, "listen = 0.0.0.0:9003"), "{out}");
    // Within the flags the rule still holds.
    let errors = fails(
        dir.path(),
        "bind3.ini",
        text,
        &["--listen", "127.0.0.1:9001", "--port", "1"],
    );
    assert!(
        errors.iter().any(|e| e.contains("listen (--listen) and ")),
        "{errors:?}"
    );
    // And within the file.
    let errors = fails(
        dir.path(),
        "bind4.ini",
        "[server:main]\nlisten = *:1\nport = 2\n",
        &[],
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("bind4.ini:2") && e.contains("bind4.ini:3")),
        "{errors:?}"
    );
}

/// Heroku-style and generated files (Kinto's, a multi-instance Zope's) leave the port to the
/// command line: `port = %(http_port)s`, filled in by `pserve production.ini http_port=$PORT`.
/// The same `NAME=VALUE` arguments fill it in here, for the server and the app sections alike.
#[test]
fn name_value_arguments_are_the_files_variables_as_with_pserve() {
    let dir = support::temp_dir();
    let text = "[server:main]\nuse = egg:waitress-rs#main\nhost = 127.0.0.1\n\
                port = %(http_port)s\n\n[app:main]\nuse = egg:shop\ndb = %(db_url)s\n";
    let path = write(dir.path(), "heroku.ini", text);

    let (code, out, stderr) = check(&path, &["http_port=5123", "db_url=postgres://u@h:1/db"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(has_line(&out, "listen = 127.0.0.1:5123"), "{out}");

    // The app section is not loaded when --app replaces it, so its variable may be left out.
    let (code, out, stderr) = check(&path, &["--app", "echo", "http_port=5124"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(has_line(&out, "listen = 127.0.0.1:5124"), "{out}");

    // Without the variable the file cannot be read, and the message names what is missing.
    let lines = fails(dir.path(), "heroku.ini", text, &["db_url=x"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("heroku.ini:4") && lines[0].contains("'http_port'"),
        "{lines:?}"
    );

    // [DEFAULT] wins over a variable for %(name)s, as in PasteDeploy (update_defaults with
    // overwrite=False): the variable only fills in what the file leaves out.
    let with_default = format!("[DEFAULT]\nhttp_port = 7000\n\n{text}");
    let (out, _) = ok(
        dir.path(),
        "default.ini",
        &with_default,
        &["http_port=5125", "db_url=x"],
    );
    assert!(has_line(&out, "listen = 127.0.0.1:7000"), "{out}");
}

#[test]
fn a_variable_needs_a_config_file_and_does_not_name_an_application() {
    let (status, _, stderr) = support::run(&["--check", "http_port=8080"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("http_port=8080") && stderr.contains("--config"),
        "{stderr}"
    );

    let dir = support::temp_dir();
    let path = write(dir.path(), "a.ini", "[server:main]\nport = %(p)s\n");
    let (code, _, stderr) = check(&path, &["--app", "echo", "shop:app", "p=1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--app echo and shop:app"), "{stderr}");
    let (code, _, stderr) = check(&path, &["p=1", "shop:app", "other:app"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("other:app: one application only"),
        "{stderr}"
    );
}

/// A variable named like a server key drops that key, as PasteDeploy drops it (pserve's
/// `port=9000` leaves waitress's default port, not 9000): the warning says so and names the
/// variable, not [DEFAULT], which the file does not have.
#[test]
fn a_variable_named_like_a_key_shadows_it_and_the_warning_names_the_variable() {
    let dir = support::temp_dir();
    let text = "[server:main]\nuse = egg:waitress#main\nport = 7000\n";
    let (out, stderr) = ok(dir.path(), "shadow.ini", text, &["port=9000"]);
    assert!(has_line(&out, "listen = 0.0.0.0:8080"), "{out}");
    assert!(
        stderr.contains(
            "shadow.ini:3: port in [server:main] is ignored because the variable port=9000 is given"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("[DEFAULT] also defines"), "{stderr}");
}

/// Deployment notes write `url_scheme = https # HTTP or https` and `listen = 127.0.0.1:6543  #
/// nginx proxies to it`; the comment is part of the value, as in PasteDeploy. The refusal says
/// so: for listen the value blamed is one entry (`"#"`), which alone would not explain it.
#[test]
fn a_value_refused_because_of_an_inline_comment_says_so() {
    let dir = support::temp_dir();
    let text = "[server:main]\nurl_scheme = https # HTTP or https\n\
                listen = 127.0.0.1:6543   ; nginx in front\nthreads = 4\n";
    let lines = fails(dir.path(), "notes.ini", text, &[]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let hint = |comment: &str| {
        format!("(INI files have no inline comments: \"{comment}\" is part of the value)")
    };
    assert!(
        lines[0].starts_with("waitress-rs: error: url_scheme = \"https # HTTP or https\" (")
            && lines[0].ends_with(&hint("# HTTP or https")),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("listen = \";\" (") && lines[1].ends_with(&hint("; nginx in front")),
        "{lines:?}"
    );

    // A value that is fine with a '#' in it is left alone, and so is one without a comment.
    let (out, _) = ok(dir.path(), "ok.ini", "[server:main]\nident = a # b\n", &[]);
    assert!(has_line(&out, "ident = a # b"), "{out}");
    let lines = fails(
        dir.path(),
        "plain.ini",
        "[server:main]\nthreads = four\n",
        &[],
    );
    assert!(!lines[0].contains("inline"), "{lines:?}");
}
