//! Settings: one table of keys feeds the INI reader, the command line, `--check` and the man page.
//!
//! The flow: an INI file's `[server:NAME]` section (read as PasteDeploy reads it) and flags
//! ([`cli`]) fill a [`RawSettings`] of strings with their [`Source`]s (flags last, so they win);
//! [`Settings::resolve`] converts and validates it into one [`Settings`]; [`check`] prints it
//! back as canonical INI. [`load`] reads and resolves what a parsed command line names.

// The command line and the `--check` text are public modules of their own; everything else a
// user needs is re-exported below, and the readers and converters stay the crate's.
pub mod check;
pub mod cli;
pub(crate) mod convert;
pub(crate) mod doc;
mod error;
mod ini;
mod listen;
mod load;
pub(crate) mod paste;
mod raw;
mod resolve;
mod table;

use std::fmt;

pub use convert::{Perms, Sockets};
pub use error::{ConfigError, Origin};
pub use ini::Entry;
pub use listen::{Bind, ListenEntry};
pub use load::{Loaded, load};
pub use paste::PasteSection;
pub use raw::{RawSettings, RawValue, Source, UnknownKey};
pub use resolve::Resolved;
pub use table::{Form, Group, KEYS, Key, Settings, key};

/// A proxy header that `trusted_proxy_headers` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProxyHeader {
    /// `Forwarded` (RFC 7239).
    Forwarded,
    /// `X-Forwarded-For`.
    XForwardedFor,
    /// `X-Forwarded-Host`.
    XForwardedHost,
    /// `X-Forwarded-Proto`.
    XForwardedProto,
    /// `X-Forwarded-Port`.
    XForwardedPort,
    /// `X-Forwarded-By`.
    XForwardedBy,
}

impl ProxyHeader {
    /// Every proxy header, in the order waitress lists them.
    pub(crate) const ALL: [ProxyHeader; 6] = [
        ProxyHeader::XForwardedFor,
        ProxyHeader::XForwardedHost,
        ProxyHeader::XForwardedProto,
        ProxyHeader::XForwardedPort,
        ProxyHeader::XForwardedBy,
        ProxyHeader::Forwarded,
    ];

    /// The lower-case name used in `trusted_proxy_headers` (`x-forwarded-for`).
    pub fn name(self) -> &'static str {
        match self {
            ProxyHeader::Forwarded => "forwarded",
            ProxyHeader::XForwardedFor => "x-forwarded-for",
            ProxyHeader::XForwardedHost => "x-forwarded-host",
            ProxyHeader::XForwardedProto => "x-forwarded-proto",
            ProxyHeader::XForwardedPort => "x-forwarded-port",
            ProxyHeader::XForwardedBy => "x-forwarded-by",
        }
    }

    /// The header as it is spelled on the wire and in waitress's messages (`X-Forwarded-For`).
    pub(crate) fn wire_name(self) -> &'static str {
        match self {
            ProxyHeader::Forwarded => "Forwarded",
            ProxyHeader::XForwardedFor => "X-Forwarded-For",
            ProxyHeader::XForwardedHost => "X-Forwarded-Host",
            ProxyHeader::XForwardedProto => "X-Forwarded-Proto",
            ProxyHeader::XForwardedPort => "X-Forwarded-Port",
            ProxyHeader::XForwardedBy => "X-Forwarded-By",
        }
    }

    /// The environ key the header arrives under (`HTTP_X_FORWARDED_FOR`).
    pub(crate) fn environ_key(self) -> &'static str {
        match self {
            ProxyHeader::Forwarded => "HTTP_FORWARDED",
            ProxyHeader::XForwardedFor => "HTTP_X_FORWARDED_FOR",
            ProxyHeader::XForwardedHost => "HTTP_X_FORWARDED_HOST",
            ProxyHeader::XForwardedProto => "HTTP_X_FORWARDED_PROTO",
            ProxyHeader::XForwardedPort => "HTTP_X_FORWARDED_PORT",
            ProxyHeader::XForwardedBy => "HTTP_X_FORWARDED_BY",
        }
    }

    /// Looks a header up by name, ASCII case-insensitively, as waitress lower-cases them.
    pub(crate) fn from_name(name: &str) -> Option<ProxyHeader> {
        ProxyHeader::ALL
            .into_iter()
            .find(|h| h.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for ProxyHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
