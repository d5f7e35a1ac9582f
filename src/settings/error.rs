//! Configuration errors: each names the key, the value and where it came from.

use std::fmt;

use super::raw::{Source, UnknownKey};

/// A key and where it was set, for messages about two settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The key.
    pub key: &'static str,
    /// Where it was set.
    pub source: Source,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.key, self.source)
    }
}

/// One thing wrong with a configuration. `--check` prints one line per error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value its converter refused.
    #[error("{key} = {value:?} ({at}): {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// The value as given.
        value: String,
        /// Where it was given.
        at: Source,
        /// What is wrong with it.
        reason: String,
    },
    /// A listen host the name service failed to resolve for the moment (see
    /// `listen::ListenError::unresolved`): reported like [`ConfigError::Invalid`], but not
    /// the configuration's fault, so the binary exits 68 (`EX_NOHOST`) rather than 78.
    #[error("{key} = {value:?} ({at}): {reason}")]
    Unresolved {
        /// The key.
        key: &'static str,
        /// The value as given.
        value: String,
        /// Where it was given.
        at: Source,
        /// What the name service said.
        reason: String,
    },
    /// Two settings that waitress refuses together.
    #[error("{first} and {second} may not both be set: {message}")]
    Conflict {
        /// The first of the pair, in waitress's order.
        first: Origin,
        /// The second.
        second: Origin,
        /// waitress's own message for the pair.
        message: &'static str,
    },
    /// A setting that needs another one.
    #[error("{setting}: {message}")]
    Requires {
        /// The setting given.
        setting: Origin,
        /// waitress's message.
        message: &'static str,
    },
    /// A name that is not a setting.
    #[error(transparent)]
    Unknown(#[from] UnknownKey),
    /// A problem with the configuration file itself (syntax, sections, interpolation, `use`).
    #[error("{0}")]
    File(String),
}
