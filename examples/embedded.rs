//! A Rust application that sets waitress-rs up from code rather than from a command line:
//! settings given as keywords and checked as a file's would be, the port the system chose read
//! back, and a stop from another thread (SIGINT and SIGTERM stop it too).
//!
//! ```text
//! cargo run --release --example embedded          # serves on 127.0.0.1 for 60 seconds
//! ```

use std::process::ExitCode;
use std::time::Duration;

use waitress_rs::app::from_fn;
use waitress_rs::server::Server;
use waitress_rs::settings::{RawSettings, Settings, Source};

/// sysexits `EX_CONFIG`, as the binary exits on a bad setting.
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
    // Without a logger nothing is logged, app errors included: this one writes the binary's
    // `INFO:waitress:Serving on ...` lines to stderr, at the level RUST_LOG gives.
    waitress_rs::logging::init(None);

    let mut raw = RawSettings::new();
    for (key, value) in [
        ("listen", "127.0.0.1:0"),
        ("threads", "8"),
        ("channel_timeout", "30s"),
    ] {
        let source = Source::Keyword(key.to_owned());
        raw.set(key, value, source).expect("a known setting");
    }
    let settings = match Settings::resolve(&raw) {
        Ok(resolved) => resolved.settings,
        Err(errors) => {
            for e in errors {
                eprintln!("embedded: error: {e}");
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };

    let app = from_fn(|req, res| {
        let path = req.environ.get("PATH_INFO").unwrap_or("/").to_owned();
        res.start(
            "200 OK",
            vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
        )?;
        res.send(format!("Hello from {path}\n").as_bytes())
    });
    let server = match Server::bind(&settings, app) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("embedded: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("curl http://{}/you", server.local_addrs()[0]);

    let stop = server.shutdown_handle();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        stop.shutdown();
    });
    // `Serving on` once SIGINT and SIGTERM are handled: a stop sent on seeing it drains.
    match server.run_until_signalled(Server::announce) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embedded: error: {e}");
            ExitCode::FAILURE
        }
    }
}
