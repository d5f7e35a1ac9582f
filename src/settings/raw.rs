//! Settings as strings, each with where it came from, before any conversion.

use std::fmt;
use std::path::PathBuf;

use super::table::{self, Key};

/// Where a setting's value came from, so an error can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// A line of an INI file.
    File {
        /// The file as the user named it.
        path: PathBuf,
        /// 1-based line of the key.
        line: usize,
    },
    /// A command-line flag, e.g. `--threads`.
    Flag(String),
    /// A keyword argument from code, e.g. Python's `serve(app, threads=8)`.
    Keyword(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::Flag(flag) => f.write_str(flag),
            Source::Keyword(name) => write!(f, "keyword {name}="),
        }
    }
}

/// One setting as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawValue {
    /// The table entry.
    pub key: &'static Key,
    /// The value, unconverted.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// A name that is not a setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown setting '{name}' ({at}){}", suggestion.map(|s| format!(": did you mean '{s}'?")).unwrap_or_default())]
pub struct UnknownKey {
    /// The name as given.
    pub name: String,
    /// Where it was given.
    pub at: Source,
    /// A setting with a similar name.
    pub suggestion: Option<&'static str>,
}

/// Settings collected from every source, latest wins; converted later by
/// [`super::Settings::resolve`].
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    values: Vec<RawValue>,
    notes: Vec<String>,
}

impl RawSettings {
    /// No settings given: every key takes its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` (an INI key such as `threads`), replacing any earlier value: flags applied
    /// after the INI file therefore win.
    pub fn set(
        &mut self,
        name: &str,
        value: impl Into<String>,
        source: Source,
    ) -> Result<(), UnknownKey> {
        let key = table::key(name).ok_or_else(|| UnknownKey {
            name: name.to_owned(),
            at: source.clone(),
            suggestion: table::similar(name),
        })?;
        let value = RawValue {
            key,
            value: value.into(),
            source,
        };
        match self.values.iter_mut().find(|v| v.key.name == key.name) {
            Some(slot) => *slot = value,
            None => self.values.push(value),
        }
        Ok(())
    }

    /// The value given for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.values.iter().find(|v| v.key.name == name)
    }

    /// Removes the value given for `name`.
    pub(super) fn remove(&mut self, name: &str) -> Option<RawValue> {
        let at = self.values.iter().position(|v| v.key.name == name)?;
        Some(self.values.remove(at))
    }

    /// Every value given, in the order first given.
    pub fn iter(&self) -> impl Iterator<Item = &RawValue> {
        self.values.iter()
    }

    /// Records a warning found while reading (e.g. a key PasteDeploy drops); `resolve` passes
    /// it on.
    pub(super) fn note(&mut self, warning: String) {
        self.notes.push(warning);
    }

    /// Warnings recorded while reading.
    pub(super) fn notes(&self) -> &[String] {
        &self.notes
    }
}
