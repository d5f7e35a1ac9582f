//! waitress-rs: a production HTTP/1.1 server that is configured and behaves like the Python
//! server waitress, with a strict HTTP/1.1 parser.
//!
//! The flow runs one way: [`settings`] turns INI files and flags into one validated
//! [`settings::Settings`]; [`server`] owns the sockets and feeds bytes to [`http`], whose parsed
//! requests reach an [`app::App`] through [`proxy`]; the app's response goes back out through
//! [`http`]'s response framing.

#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod app;
pub mod command;
pub mod http;
pub mod logging;
pub mod proxy;
pub mod server;
pub mod settings;
