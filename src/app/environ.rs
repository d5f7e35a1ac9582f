//! The WSGI-shaped environ: CGI-style keys with string values, in the order they were set.
//!
//! Values are "native strings" as PEP 3333 defines them: bytes from the wire decoded as latin-1,
//! so every byte maps to one char and the Python bridge can hand them over unchanged.

use std::borrow::Cow;

/// An ordered map from environ key (`REQUEST_METHOD`, `HTTP_HOST`, `wsgi.url_scheme`, ...) to value.
///
/// A request carries about twenty keys, so a linear scan beats hashing and keeps insertion
/// order, which the echo app and the Python dict both show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environ {
    vars: Vec<(Cow<'static, str>, String)>,
}

impl Environ {
    /// An empty environ.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty environ with room for `n` keys.
    pub fn with_capacity(n: usize) -> Self {
        Environ {
            vars: Vec::with_capacity(n),
        }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        self.vars.iter().any(|(k, _)| k == key)
    }

    /// Sets `key` to `value`, replacing an earlier value in place or appending a new key.
    pub fn set(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.vars.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((key, value)),
        }
    }

    /// Appends `key` without looking for an earlier value; the caller knows it is new.
    pub fn push(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        self.vars.push((key.into(), value.into()));
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let at = self.vars.iter().position(|(k, _)| k == key)?;
        Some(self.vars.remove(at).1)
    }

    /// Every key and value, in the order they were set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

/// Decodes bytes as latin-1 (ISO-8859-1): each byte becomes the char with the same code point.
pub fn latin1(bytes: &[u8]) -> String {
    if let Ok(ascii) = std::str::from_utf8(bytes) {
        if ascii.is_ascii() {
            // Nearly every header is ASCII, which is already valid UTF-8: one copy, no per-char work.
            return ascii.to_owned();
        }
    }
    bytes.iter().map(|&b| b as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_in_place_and_keeps_order() {
        let mut env = Environ::new();
        env.set("A", "1");
        env.set("B", "2");
        env.set("A", "3");
        assert_eq!(env.iter().collect::<Vec<_>>(), vec![("A", "3"), ("B", "2")]);
        assert_eq!(env.remove("A").as_deref(), Some("3"));
        assert_eq!(env.get("A"), None);
        assert_eq!(env.len(), 1);
    }

    #[test]
    fn latin1_maps_each_byte_to_one_char() {
        assert_eq!(latin1(b"abc"), "abc");
        assert_eq!(latin1(b"\xe9\xff"), "\u{e9}\u{ff}");
        assert_eq!(latin1(b"\xc3\xa4"), "\u{c3}\u{a4}");
    }
}
