//! The `waitress-rs` binary: waitress-serve's command line and pserve's INI handling in front
//! of the waitress-rs server, serving a built-in app (`--app echo`, `--app static:DIR`).

fn main() -> std::process::ExitCode {
    waitress_rs::command::main(None)
}
