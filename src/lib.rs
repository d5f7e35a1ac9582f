//! waitress-rs: a production HTTP/1.1 server that is configured and behaves like the Python
//! server waitress, with a strict HTTP/1.1 parser.
//!
//! The flow runs one way: [`settings`] turns INI files and flags into one validated
//! [`settings::Settings`]; [`server`] owns the sockets and feeds bytes to [`http`], whose parsed
//! requests reach an [`app::App`] through [`proxy`]; the app's response goes back out through
//! [`http`]'s response framing.
//!
//! A program with its own application either takes the binary's whole command line
//! ([`command::main`], [`command::main_with`]: see `examples/`), or embeds a [`server::Server`]:
//! settings built in code, bound (port 0 picks a free port), run on a thread of its own and
//! stopped with a [`server::ShutdownHandle`], as a test fixture does:
//!
//! ```
//! use std::io::{Read, Write};
//! use waitress_rs::app::from_fn;
//! use waitress_rs::server::Server;
//! use waitress_rs::settings::{RawSettings, Settings, Source};
//!
//! let app = from_fn(|req, res| {
//!     let path = req.environ.get("PATH_INFO").unwrap_or("/").to_owned();
//!     res.start("200 OK", vec![("Content-Type".into(), "text/plain".into())])?;
//!     res.send(format!("hello {path}").as_bytes())
//! });
//! let mut raw = RawSettings::new();
//! // Without `listen`, waitress's default: every interface, port 8080.
//! raw.set("listen", "127.0.0.1:0", Source::Keyword("listen".into()))?;
//! raw.set("threads", "2", Source::Keyword("threads".into()))?;
//! let settings = Settings::resolve(&raw).map_err(|errors| format!("{errors:?}"))?.settings;
//!
//! let server = Server::bind(&settings, app)?;
//! let addr = server.local_addrs()[0];
//! let stop = server.shutdown_handle();
//! let serving = std::thread::spawn(move || server.run());
//!
//! let mut client = std::net::TcpStream::connect(addr)?;
//! client.write_all(b"GET /you HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut response = String::new();
//! client.read_to_string(&mut response)?;
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.ends_with("hello /you"));
//!
//! stop.shutdown();
//! serving.join().expect("the server thread")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod app;
pub mod command;
pub mod http;
pub mod logging;
pub mod proxy;
pub mod server;
pub mod settings;
