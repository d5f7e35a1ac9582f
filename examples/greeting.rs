//! A Rust application with a flag of its own beside the server's: `--greeting TEXT` is in
//! `--help` and the man page, a missing value is a usage error like a server flag's, and
//! `--check` and the INI handling work as in the binary.
//!
//! ```text
//! cargo run --release --example greeting -- --greeting Bonjour --listen 127.0.0.1:8080
//! cargo run --release --example greeting -- --help
//! ```

use std::process::ExitCode;

use waitress_rs::app::{App, from_fn};
use waitress_rs::command::clap::{Arg, ArgMatches, Command};

fn flags(cmd: Command) -> Command {
    // The program's own description in --help (the server's is a long one, so both).
    cmd.about("Greets the world over HTTP")
        .long_about(None)
        .arg(
            Arg::new("greeting")
                .long("greeting")
                .value_name("TEXT")
                .default_value("Hello")
                .help("The word to greet with"),
        )
}

fn app(matches: &ArgMatches) -> Result<std::sync::Arc<dyn App>, String> {
    let greeting = matches
        .get_one::<String>("greeting")
        .cloned()
        .unwrap_or_default();
    if greeting.trim().is_empty() {
        return Err("--greeting: give a word to greet with".to_owned());
    }
    let body = format!("{greeting}, world!");
    Ok(from_fn(move |_req, res| {
        res.start("200 OK", vec![("Content-Type".into(), "text/plain".into())])?;
        res.send(body.as_bytes())
    }))
}

fn main() -> ExitCode {
    waitress_rs::command::main_with(flags, app)
}
