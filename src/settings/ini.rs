//! Reading PasteDeploy INI files the way Python's `configparser` (as PasteDeploy sets it up)
//! reads them, on top of the `rust-ini` crate.
//!
//! rust-ini with PasteDeploy-style options gets plain files right, but it differs from
//! configparser in ways that silently corrupt real files: a column-0 comment inside a multi-line
//! value ends the value and the following indented line swallows the next section header into a
//! key; an indented comment after a header becomes part of a key; indented comment lines are kept
//! in values; a trailing `\` joins the next line and a `\` before `=`, `:` or `]` hides that
//! character (even with escapes off); CRLF doubles blank lines in multi-line values;
//! an indented key after a value is read as a continuation; keys keep no line numbers; duplicates
//! and keys before a section are accepted.
//!
//! So this layer first walks the source lines with configparser's own rules (which lines are
//! comments, headers, keys or continuation lines, with their line numbers, and the strict
//! duplicate checks), then hands rust-ini a canonical version of the text in which those
//! differences cannot arise (comment lines removed, headers and key lines unindented,
//! continuation lines indented by one space, a space after any `\` that would escape a line end,
//! a delimiter or the closing `]`, all of which rust-ini trims away again), and finally checks
//! that rust-ini returned exactly the sections, keys and values the walk expects. A disagreement
//! is reported as a syntax error at the key concerned instead of being resolved silently.
//!
//! Remaining differences from configparser, all deliberate or harmless:
//! - the file must be UTF-8 (PasteDeploy uses the locale's encoding, UTF-8 on any modern
//!   system);
//! - a UTF-8 byte order mark at the start is skipped (Python's `utf8` codec keeps it and then
//!   fails with "no section headers", which helps nobody on Windows);
//! - Python's `str.strip()` and Rust's `trim()` disagree on a few exotic characters (U+FEFF
//!   inside a line, U+001C..U+001F); no realistic file contains them;
//! - a section name containing `]` (`[a]b]`) is rejected instead of read as `a]b`, because
//!   rust-ini ends a header at the first `]`; likewise a key starting with `[` (`[abc = 1`,
//!   which configparser reads as key `[abc`), because rust-ini reads that line as a header.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ini::{Ini, ParseOption};

/// Largest configuration file read: `--config /dev/zero` (or a log file named by mistake) was
/// read until memory ran out. A production.ini is a few KiB.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// A parsed INI file: its sections in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IniFile {
    /// The path as the user gave it (used in every message).
    pub path: PathBuf,
    /// Sections in file order. Repeated `[DEFAULT]` headers are merged into the first one, as
    /// configparser does; any other repeated section is an error.
    pub sections: Vec<Section>,
}

/// One `[name]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Section {
    /// The name between the brackets, exactly as configparser reads it (case kept, not trimmed).
    pub name: String,
    /// 1-based line of the header.
    pub line: usize,
    /// Keys in file order.
    pub entries: Vec<Entry>,
}

/// One `key = value` (or `key: value`) entry of an INI section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key, case kept (PasteDeploy sets `optionxform = str`).
    pub key: String,
    /// The raw (not interpolated) value as configparser gives it: every line stripped, lines
    /// joined with `\n`, trailing blank lines dropped. A value that starts on the line after
    /// the key begins with `\n`, as in configparser.
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
}

impl IniFile {
    /// The section called `name`, if any.
    pub(super) fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The `[DEFAULT]` section, if the file has one.
    pub(super) fn defaults(&self) -> Option<&Section> {
        self.section(DEFAULT_SECTION)
    }

    /// Reads and parses `path`.
    pub(super) fn load(path: &Path) -> Result<IniFile, IniError> {
        use std::io::Read;
        let io_error = |source| IniError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(io_error)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(io_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "larger than {} MiB, which no configuration is",
                    MAX_FILE_BYTES >> 20
                ),
            )));
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                // Point at the line of the first bad byte rather than failing the whole file
                // with no position.
                let good = &err.as_bytes()[..err.utf8_error().valid_up_to()];
                // Count line ends as split_lines does: `\r\n` is one.
                let line = 1 + good
                    .iter()
                    .enumerate()
                    .filter(|&(i, &b)| {
                        b == b'\n' || (b == b'\r' && good.get(i + 1) != Some(&b'\n'))
                    })
                    .count();
                return Err(IniError::Syntax {
                    path: path.to_path_buf(),
                    line,
                    message: "the file is not valid UTF-8".to_string(),
                });
            }
        };
        IniFile::parse(&text, path)
    }

    /// Parses `text`; `path` is only used in messages and stored in the result.
    pub(super) fn parse(text: &str, path: &Path) -> Result<IniFile, IniError> {
        let walk = Walk::run(text, path)?;
        let ini = Ini::load_from_str_opt(&walk.canonical, paste_parse_option()).map_err(|e| {
            // rust-ini's line is a line of the canonical text; map it back to the source.
            let line = walk
                .canonical_lines
                .get(e.line.saturating_sub(1))
                .copied()
                .unwrap_or_else(|| walk.canonical_lines.last().copied().unwrap_or(1));
            IniError::Syntax {
                path: path.to_path_buf(),
                line,
                message: e.msg.into_owned(),
            }
        })?;
        walk.check_against(&ini, path)?;
        Ok(IniFile {
            path: path.to_path_buf(),
            sections: walk.sections,
        })
    }
}

/// The name configparser gives the section whose keys every other section inherits.
pub(super) const DEFAULT_SECTION: &str = "DEFAULT";

/// The options that make rust-ini read values the way configparser does: no quote or escape
/// processing (`"true"` and `C:\temp` stay verbatim) and indented continuation lines.
fn paste_parse_option() -> ParseOption {
    ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        enabled_indented_mutiline_value: true,
        enabled_preserve_key_leading_whitespace: false,
    }
}

/// Errors from reading an INI file. `Display` is one line, `path:line: message` where there is
/// a line.
#[derive(Debug, thiserror::Error)]
pub(super) enum IniError {
    /// The file could not be read.
    #[error("{}: cannot read the file: {source}", path.display())]
    Io {
        /// The file as it was named.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line configparser would reject, or one rust-ini could not read.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The file as it was named.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// A section header seen twice (configparser is strict).
    #[error("{}:{line}: duplicate section [{name}] (first at line {first_line})", path.display())]
    DuplicateSection {
        /// The file as it was named.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The section name.
        name: String,
        /// Where it was first seen.
        first_line: usize,
    },
    /// A key set twice in one section (configparser is strict).
    #[error(
        "{}:{line}: duplicate key '{key}' in [{section}] (first set at line {first_line})",
        path.display()
    )]
    DuplicateKey {
        /// The file as it was named.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The section the key is in.
        section: String,
        /// The key.
        key: String,
        /// Where it was first seen.
        first_line: usize,
    },
    /// Text before the first section header.
    #[error("{}:{line}: text before the first [section] header", path.display())]
    NoSectionHeader {
        /// The file as it was named.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
    },
}

/// Splits like Python's universal newlines: `\r\n`, `\r` and `\n` all end a line.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                i += 1;
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// What configparser makes of a header line: the text between the first `[` and the last `]`
/// of the stripped line (its regex is `\[(?P<header>.+)\]`, greedy, anchored only at the
/// start, so anything after the last `]` is ignored).
fn header_name(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

/// Where one key sits in the walk: section index and entry index.
type KeyRef = (usize, usize);

/// One header occurrence in file order (repeated `[DEFAULT]` headers are separate blocks that
/// share one section), as rust-ini returns them.
struct Block {
    section: usize,
    keys: Vec<KeyRef>,
}

/// The result of walking the source lines with configparser's rules.
struct Walk {
    sections: Vec<Section>,
    blocks: Vec<Block>,
    /// Per key (same indexes as `sections`): the first-line value and continuation lines.
    parts: Vec<Vec<Vec<String>>>,
    /// Text handed to rust-ini.
    canonical: String,
    /// Source line number of each canonical line.
    canonical_lines: Vec<usize>,
}

impl Walk {
    fn run(text: &str, path: &Path) -> Result<Walk, IniError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut walk = Walk {
            sections: Vec::new(),
            blocks: Vec::new(),
            parts: Vec::new(),
            canonical: String::with_capacity(text.len() + 64),
            canonical_lines: Vec::new(),
        };
        let mut by_name: HashMap<String, usize> = HashMap::new();
        // Per section: key -> entry index, for the duplicate check.
        let mut keys: Vec<HashMap<String, usize>> = Vec::new();
        let mut cursect: Option<usize> = None;
        let mut optname: Option<usize> = None;
        let mut indent_level = 0usize;
        let mut first_syntax: Option<IniError> = None;

        for (idx, raw) in split_lines(text).into_iter().enumerate() {
            let lineno = idx + 1;
            let stripped = raw.trim();
            // Full-line comments, indented or not, are no-ops for configparser: they neither end
            // a multi-line value nor join it, so they are left out of the text rust-ini sees.
            if stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            if stripped.is_empty() {
                // Blank lines stay inside a multi-line value (empty_lines_in_values=True).
                if let (Some(s), Some(k)) = (cursect, optname) {
                    walk.parts[s][k].push(String::new());
                }
                walk.push_canonical("", lineno);
                continue;
            }
            let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
            if let (Some(s), Some(k)) = (cursect, optname) {
                if indent > indent_level {
                    walk.parts[s][k].push(stripped.to_string());
                    let mut line = String::with_capacity(stripped.len() + 2);
                    line.push(' ');
                    line.push_str(stripped);
                    walk.push_canonical(&line, lineno);
                    continue;
                }
            }
            indent_level = indent;
            if let Some(name) = header_name(stripped) {
                if name.contains(']') {
                    // rust-ini ends a header at the first `]`; configparser at the last.
                    first_syntax.get_or_insert_with(|| IniError::Syntax {
                        path: path.to_path_buf(),
                        line: lineno,
                        message: format!(
                            "section names containing ']' are not supported: [{name}]"
                        ),
                    });
                }
                let section = match by_name.get(name) {
                    Some(&i) if name == DEFAULT_SECTION => i,
                    Some(&i) => {
                        return Err(IniError::DuplicateSection {
                            path: path.to_path_buf(),
                            line: lineno,
                            name: name.to_string(),
                            first_line: walk.sections[i].line,
                        });
                    }
                    None => {
                        let i = walk.sections.len();
                        walk.sections.push(Section {
                            name: name.to_string(),
                            line: lineno,
                            entries: Vec::new(),
                        });
                        walk.parts.push(Vec::new());
                        keys.push(HashMap::new());
                        by_name.insert(name.to_string(), i);
                        i
                    }
                };
                walk.blocks.push(Block {
                    section,
                    keys: Vec::new(),
                });
                cursect = Some(section);
                optname = None;
                // rust-ini reads `\]` as an escaped bracket even with escapes off; a space
                // (trimmed away by rust-ini) keeps a trailing backslash from eating the `]`.
                let line = if name.ends_with('\\') {
                    format!("[{name} ]")
                } else {
                    format!("[{name}]")
                };
                walk.push_canonical(&line, lineno);
                continue;
            }
            let Some(s) = cursect else {
                return Err(IniError::NoSectionHeader {
                    path: path.to_path_buf(),
                    line: lineno,
                });
            };
            let Some(delim) = stripped.find(['=', ':']) else {
                // configparser only collects these and raises them after the whole file is
                // read, so a later duplicate or missing header is what it reports first; the
                // current key stays open for continuation lines.
                first_syntax.get_or_insert_with(|| IniError::Syntax {
                    path: path.to_path_buf(),
                    line: lineno,
                    message: format!(
                        "expected 'key = value', a [section] header or a comment, found '{stripped}'"
                    ),
                });
                continue;
            };
            let key = stripped[..delim].trim_end();
            if key.starts_with('[') {
                // configparser accepts `[abc = 1` as key `[abc`; rust-ini reads any line that
                // starts with `[` as a header, so such a key cannot be passed through.
                first_syntax.get_or_insert_with(|| IniError::Syntax {
                    path: path.to_path_buf(),
                    line: lineno,
                    message: format!("keys starting with '[' are not supported: '{key}'"),
                });
            }
            if key.is_empty() {
                // Also deferred; configparser then goes on to store the value under ''.
                first_syntax.get_or_insert_with(|| IniError::Syntax {
                    path: path.to_path_buf(),
                    line: lineno,
                    message: "a value without a key".to_string(),
                });
            }
            if let Some(&first) = keys[s].get(key) {
                return Err(IniError::DuplicateKey {
                    path: path.to_path_buf(),
                    line: lineno,
                    section: walk.sections[s].name.clone(),
                    key: key.to_string(),
                    first_line: walk.sections[s].entries[first].line,
                });
            }
            let k = walk.sections[s].entries.len();
            keys[s].insert(key.to_string(), k);
            walk.sections[s].entries.push(Entry {
                key: key.to_string(),
                value: String::new(),
                line: lineno,
            });
            walk.parts[s].push(vec![stripped[delim + 1..].trim().to_string()]);
            if let Some(block) = walk.blocks.last_mut() {
                block.keys.push((s, k));
            }
            // An empty key is falsy in configparser, so it takes no continuation lines.
            optname = (!key.is_empty()).then_some(k);
            // Likewise `\=` or `\:` would hide the delimiter from rust-ini, so a space (trimmed
            // from the key by rust-ini) separates the key from it.
            let line = format!("{key} {}", &stripped[delim..]);
            walk.push_canonical(&line, lineno);
        }

        if let Some(err) = first_syntax {
            return Err(err);
        }
        // configparser's value: the lines joined with '\n', then rstrip()ed.
        for (s, section) in walk.sections.iter_mut().enumerate() {
            for (k, entry) in section.entries.iter_mut().enumerate() {
                let joined = walk.parts[s][k].join("\n");
                entry.value = joined.trim_end().to_string();
            }
        }
        Ok(walk)
    }

    fn push_canonical(&mut self, line: &str, lineno: usize) {
        self.canonical.push_str(line);
        // rust-ini treats `\` before a newline as a line continuation even with escapes off;
        // configparser keeps it (`C:\temp\`). The space is trimmed away by rust-ini.
        if line.ends_with('\\') {
            self.canonical.push(' ');
        }
        self.canonical.push('\n');
        self.canonical_lines.push(lineno);
    }

    /// Checks that rust-ini read the canonical text exactly as the walk did.
    fn check_against(&self, ini: &Ini, path: &Path) -> Result<(), IniError> {
        let mismatch = |line: usize, what: String| IniError::Syntax {
            path: path.to_path_buf(),
            line,
            message: format!("cannot read this line unambiguously ({what})"),
        };
        let last_line = self.canonical_lines.last().copied().unwrap_or(1);
        let mut blocks = self.blocks.iter();
        for (name, props) in ini.iter() {
            let Some(name) = name else {
                // The general (no-header) section rust-ini always creates; the walk already
                // rejected keys before a header, so it must be empty.
                if let Some((key, _)) = props.iter().next() {
                    return Err(mismatch(1, format!("unexpected key '{key}'")));
                }
                continue;
            };
            let Some(block) = blocks.next() else {
                return Err(mismatch(last_line, format!("unexpected section [{name}]")));
            };
            let section = &self.sections[block.section];
            if name != section.name.trim() {
                return Err(mismatch(
                    section.line,
                    format!("section read as [{name}], expected [{}]", section.name),
                ));
            }
            let mut expected = block.keys.iter();
            for (key, value) in props.iter() {
                let Some(&(s, k)) = expected.next() else {
                    return Err(mismatch(section.line, format!("unexpected key '{key}'")));
                };
                let entry = &self.sections[s].entries[k];
                // rust-ini drops the leading newline(s) configparser keeps when the value
                // starts on the next line; that is the one difference to allow for.
                if key != entry.key || value != entry.value.trim_start_matches('\n') {
                    return Err(mismatch(
                        entry.line,
                        format!("key '{key}' read differently from configparser"),
                    ));
                }
            }
            if let Some(&(s, k)) = expected.next() {
                let entry = &self.sections[s].entries[k];
                return Err(mismatch(
                    entry.line,
                    format!("key '{}' was lost", entry.key),
                ));
            }
        }
        if let Some(block) = blocks.next() {
            let section = &self.sections[block.section];
            return Err(mismatch(
                section.line,
                format!("section [{}] was lost", section.name),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<IniFile, IniError> {
        IniFile::parse(text, Path::new("test.ini"))
    }

    fn get<'a>(ini: &'a IniFile, section: &str, key: &str) -> Option<&'a Entry> {
        ini.section(section)?.entries.iter().find(|e| e.key == key)
    }

    fn value<'a>(ini: &'a IniFile, section: &str, key: &str) -> &'a str {
        &get(ini, section, key)
            .unwrap_or_else(|| panic!("[{section}] {key} missing"))
            .value
    }

    #[test]
    fn plain_sections_keys_and_lines() {
        let ini = parse("# top\n[a]\nx = 1\ny: 2\n\n[b]\nz=3\n").unwrap();
        let names: Vec<_> = ini
            .sections
            .iter()
            .map(|s| (s.name.as_str(), s.line))
            .collect();
        assert_eq!(names, [("a", 2), ("b", 6)]);
        assert_eq!(get(&ini, "a", "x").unwrap().line, 3);
        assert_eq!(get(&ini, "a", "y").unwrap().line, 4);
        assert_eq!(value(&ini, "a", "y"), "2");
        assert_eq!(get(&ini, "b", "z").unwrap().line, 7);
    }

    #[test]
    fn colon_and_equals_first_delimiter_wins() {
        let ini = parse("[a]\nurl: http://x/?a=b\nk = a:b\n").unwrap();
        assert_eq!(value(&ini, "a", "url"), "http://x/?a=b");
        assert_eq!(value(&ini, "a", "k"), "a:b");
    }

    #[test]
    fn multi_line_values_like_configparser() {
        let text = "[app:main]\npyramid.includes =\n    pyramid_tm\n    # indented comment\n\n    pyramid_retry\n\nnext = 1\n";
        let ini = parse(text).unwrap();
        assert_eq!(
            value(&ini, "app:main", "pyramid.includes"),
            "\npyramid_tm\n\npyramid_retry"
        );
        assert_eq!(get(&ini, "app:main", "next").unwrap().line, 8);
    }

    #[test]
    fn column_zero_comment_inside_multi_line_value() {
        // rust-ini alone would end the value at the comment and glue `pyramid_tm` to the next
        // header; configparser skips the comment and keeps going.
        let text = "[app:main]\npyramid.includes =\n#    pyramid_debugtoolbar\n    pyramid_tm\n\n[server:main]\nuse = egg:waitress#main\n";
        let ini = parse(text).unwrap();
        assert_eq!(value(&ini, "app:main", "pyramid.includes"), "\npyramid_tm");
        assert_eq!(value(&ini, "server:main", "use"), "egg:waitress#main");
        assert_eq!(ini.section("server:main").unwrap().line, 6);
    }

    #[test]
    fn indented_comment_after_header_and_indented_keys() {
        let text = "[a]\n  # note: this\n  x = 1\n  y = 2\n    more\n";
        let ini = parse(text).unwrap();
        assert_eq!(value(&ini, "a", "x"), "1");
        assert_eq!(value(&ini, "a", "y"), "2\nmore");
        assert_eq!(get(&ini, "a", "y").unwrap().line, 4);
    }

    #[test]
    fn first_line_value_and_continuation() {
        let ini = parse("[a]\nlisten = 127.0.0.1:8080\n\t[::1]:8080\n").unwrap();
        assert_eq!(value(&ini, "a", "listen"), "127.0.0.1:8080\n[::1]:8080");
    }

    #[test]
    fn hash_and_quotes_and_backslashes_verbatim() {
        let text = "[s]\nuse = egg:waitress#main\nq = \"true\"\nsq = 'x' y\nwin = C:\\Windows\\temp\ntrail = C:\\temp\\\nafter = 1\nsemi = a ; b\n";
        let ini = parse(text).unwrap();
        assert_eq!(value(&ini, "s", "use"), "egg:waitress#main");
        assert_eq!(value(&ini, "s", "q"), "\"true\"");
        assert_eq!(value(&ini, "s", "sq"), "'x' y");
        assert_eq!(value(&ini, "s", "win"), "C:\\Windows\\temp");
        assert_eq!(value(&ini, "s", "trail"), "C:\\temp\\");
        assert_eq!(value(&ini, "s", "after"), "1");
        assert_eq!(value(&ini, "s", "semi"), "a ; b");
    }

    #[test]
    fn keys_keep_case_and_sections_are_case_sensitive() {
        let ini = parse("[Server:Main]\nListen_Extra = x\n[server:main]\nlisten = y\n").unwrap();
        assert_eq!(value(&ini, "Server:Main", "Listen_Extra"), "x");
        assert_eq!(value(&ini, "server:main", "listen"), "y");
    }

    #[test]
    fn crlf_and_lone_cr() {
        let text = "[a]\r\nx =\r\n  one\r\n\r\n  two\r\ny = 2\r\n[b]\rz = 3\r";
        let ini = parse(text).unwrap();
        assert_eq!(value(&ini, "a", "x"), "\none\n\ntwo");
        assert_eq!(get(&ini, "a", "y").unwrap().line, 6);
        assert_eq!(value(&ini, "b", "z"), "3");
        assert_eq!(get(&ini, "b", "z").unwrap().line, 8);
    }

    #[test]
    fn duplicate_section_with_lines() {
        let err = parse("[a]\nx = 1\n\n[a]\n").unwrap_err();
        assert!(matches!(
            err,
            IniError::DuplicateSection { line: 4, first_line: 1, ref name, .. } if name == "a"
        ));
        assert_eq!(
            err.to_string(),
            "test.ini:4: duplicate section [a] (first at line 1)"
        );
    }

    #[test]
    fn duplicate_key_with_lines() {
        let text = "[server:main]\nuse = egg:waitress#main\nthreads = 4\nport = 1\nthreads = 8\n";
        let err = IniFile::parse(text, Path::new("production.ini")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "production.ini:5: duplicate key 'threads' in [server:main] (first set at line 3)"
        );
    }

    #[test]
    fn repeated_default_sections_merge() {
        let ini = parse("[DEFAULT]\na = 1\n[x]\n[DEFAULT]\nb = 2\n").unwrap();
        let d = ini.defaults().unwrap();
        assert_eq!(d.line, 1);
        let keys: Vec<_> = d.entries.iter().map(|e| (e.key.as_str(), e.line)).collect();
        assert_eq!(keys, [("a", 2), ("b", 5)]);
        let err = parse("[DEFAULT]\na = 1\n[DEFAULT]\na = 2\n").unwrap_err();
        assert!(matches!(
            err,
            IniError::DuplicateKey {
                line: 4,
                first_line: 2,
                ..
            }
        ));
    }

    #[test]
    fn key_before_section() {
        let err = parse("\n# c\nx = 1\n[a]\n").unwrap_err();
        assert!(matches!(err, IniError::NoSectionHeader { line: 3, .. }));
        assert_eq!(
            err.to_string(),
            "test.ini:3: text before the first [section] header"
        );
    }

    #[test]
    fn line_without_delimiter() {
        let err = parse("[a]\nx = 1\nbogus\n[b]\n").unwrap_err();
        assert!(matches!(err, IniError::Syntax { line: 3, .. }), "{err}");
        let err = parse("[a]\n= 1\n").unwrap_err();
        assert!(matches!(err, IniError::Syntax { line: 2, .. }), "{err}");
    }

    #[test]
    fn syntax_errors_are_reported_after_fatal_ones_like_configparser() {
        // configparser collects bad lines and raises them at the end, so the duplicate on
        // line 5 is what it reports.
        let err = parse("[a]\nx = 1\nbogus\n= v\nx = 2\n").unwrap_err();
        assert!(
            matches!(err, IniError::DuplicateKey { line: 5, .. }),
            "{err}"
        );
        // An empty key takes no continuation lines: ` y = 1` is a key of its own.
        let err = parse("[a]\ny = 0\n= v\n  y = 1\n").unwrap_err();
        assert!(
            matches!(err, IniError::DuplicateKey { line: 4, .. }),
            "{err}"
        );
    }

    #[test]
    fn backslashes_before_delimiters_and_brackets() {
        let ini = parse("[a\\]\nk\\= v\nw\\:x = y\n").unwrap();
        assert_eq!(value(&ini, "a\\", "k\\"), "v");
        assert_eq!(value(&ini, "a\\", "w\\"), "x = y");
    }

    #[test]
    fn brackets_rust_ini_cannot_carry() {
        let err = parse("[a]\n[abc = 1\n").unwrap_err();
        assert!(matches!(err, IniError::Syntax { line: 2, .. }), "{err}");
        let err = parse("[a]b]\nx = 1\n").unwrap_err();
        assert!(matches!(err, IniError::Syntax { line: 1, .. }), "{err}");
    }

    #[test]
    fn header_with_trailing_text_and_spaces() {
        let ini = parse("[server:main] ; prod\nx = 1\n[server: alt]\n").unwrap();
        assert_eq!(value(&ini, "server:main", "x"), "1");
        assert!(ini.section("server: alt").is_some());
    }

    #[test]
    fn empty_values_and_bom() {
        let ini = parse("\u{feff}[a]\nhandlers =\nx=\n").unwrap();
        assert_eq!(value(&ini, "a", "handlers"), "");
        assert_eq!(value(&ini, "a", "x"), "");
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for text in [
            "",
            "[",
            "[]",
            "[]\n",
            "[a]]\n",
            "[a]b]\nx=1\n",
            "[a]\n[b\nx = 1",
            "[a]\nx = \\",
            "[a]\nx = 1\n\\\n",
            "[a]\n  \t\n",
            "[a]\n\u{3000}x = 1\n\u{3000}\u{3000}y\n",
            "[a]\nx=1\n \u{3000}y\n",
            "\r\r\n\n",
            "[a]\n[abc = 1\n",
            ";\n#\n[a]\n;x\n",
        ] {
            let _ = parse(text);
        }
    }

    #[test]
    fn load_reports_io_and_utf8_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.ini");
        let err = IniFile::load(&missing).unwrap_err();
        assert!(matches!(err, IniError::Io { .. }));
        assert!(
            err.to_string()
                .starts_with(&format!("{}: ", missing.display()))
        );

        let bad = dir.path().join("bad.ini");
        std::fs::write(&bad, b"[a]\r\nx = 1\r\ny = \xff\n").unwrap();
        let err = IniFile::load(&bad).unwrap_err();
        assert!(matches!(err, IniError::Syntax { line: 3, .. }), "{err}");

        let good = dir.path().join("good.ini");
        std::fs::write(&good, "[a]\nx = 1\n").unwrap();
        let ini = IniFile::load(&good).unwrap();
        assert_eq!(ini.path, good);
        assert_eq!(value(&ini, "a", "x"), "1");
    }
}
