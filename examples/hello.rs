//! A Rust application served by waitress-rs, with the binary's command line and INI handling:
//!
//! ```text
//! cargo run --release --example hello -- --listen 127.0.0.1:8080 --threads 8
//! cargo run --release --example hello -- --config etc/production.ini
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use waitress_rs::app::{AppError, Request, Response};

fn hello(_req: &mut Request, res: &mut Response<'_>) -> Result<(), AppError> {
    res.start("200 OK", vec![("Content-Type".into(), "text/plain".into())])?;
    res.send(b"Hello, world!")?;
    Ok(())
}

fn main() -> ExitCode {
    waitress_rs::command::main(Some(Arc::new(hello)))
}
