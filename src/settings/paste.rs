//! PasteDeploy's loader semantics (`paste.deploy.loadwsgi`) on top of [`IniFile`]: finding the
//! `[server:NAME]` / `[app:NAME]` section, `[DEFAULT]` and the loader defaults `here` and
//! `__file__`, `%(name)s` interpolation, and `get_context`'s `set`/`get` rules.
//!
//! The aim is that a file PasteDeploy accepts gives the same `local_conf` here, and a file it
//! rejects is rejected here with a file:line message. Interpolation is lazy and per section, as
//! in configparser: only the loaded section's values (and `[DEFAULT]`, which PasteDeploy always
//! interpolates to build `global_conf`) are expanded, so `[formatter_generic] format =
//! %(asctime)s ...` or `[alembic] file_template = %%(year)d` elsewhere never cause errors.
//!
//! Left to the caller, as they come after `local_conf` is built in PasteDeploy: `use` (kept
//! apart in [`PasteSection::use_`]), `require` (a list of Python distributions to check) and
//! `filter-with` (app/filter sections only); they stay in `entries` if present.

use std::cell::Cell;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use super::ini::{DEFAULT_SECTION, Entry, IniError, IniFile, Section};

/// configparser's `MAX_INTERPOLATION_DEPTH`.
const MAX_INTERPOLATION_DEPTH: usize = 10;

/// Most text the values of one load may expand to. configparser has no bound, and nested
/// references multiply: ten keys each naming the last twice ("billion laughs") made a 737-byte
/// file ask for 100 GB. A real configuration expands to kilobytes.
const MAX_EXPANDED_BYTES: usize = 16 << 20;

/// An `egg:DIST#ENTRY` reference from a `use =` line, as PasteDeploy resolves it: the scheme in
/// any case, the entry point `main` when there is no `#`, and the distribution's name compared
/// in its PEP 503 form (`Waitress_RS` and `waitress-rs` are one distribution), as
/// `importlib.metadata` finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EggUri {
    /// The distribution's name, normalised: lower case, each run of `-`, `_`, `.` one `-`.
    pub dist: String,
    /// The entry point's name, exact.
    pub entry: String,
}

impl EggUri {
    /// The reference a `use` value makes, or `None` if it is not an `egg:` one.
    pub(crate) fn parse(used: &str) -> Option<EggUri> {
        let (uri, entry) = used.trim().split_once('#').unwrap_or((used.trim(), "main"));
        let (scheme, dist) = uri.split_once(':')?;
        if !scheme.eq_ignore_ascii_case("egg") {
            return None;
        }
        let mut normalized = String::with_capacity(dist.len());
        for c in dist.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !normalized.ends_with('-') {
                    normalized.push('-');
                }
            } else {
                normalized.push(c.to_ascii_lowercase());
            }
        }
        Some(EggUri {
            dist: normalized,
            entry: entry.to_owned(),
        })
    }
}

/// One loaded PasteDeploy section, reduced the way `get_context` reduces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasteSection {
    /// The file, as the user gave it.
    pub file: PathBuf,
    /// The section's full name, e.g. `server:main`.
    pub section: String,
    /// 1-based line of the section header.
    pub section_line: usize,
    /// The `use` entry (interpolated), taken out of `entries`; validating it is the caller's job.
    pub use_: Option<Entry>,
    /// PasteDeploy's `local_conf` in file order, values interpolated. Keys produced by
    /// `get NAME = other` carry the line of the `get` key.
    pub entries: Vec<Entry>,
    /// The section's own keys that PasteDeploy drops because `[DEFAULT]` (or the loader
    /// defaults `here`/`__file__`, or a caller variable) defines the same key. Values are raw:
    /// PasteDeploy never interpolates them.
    pub shadowed: Vec<Entry>,
    /// PasteDeploy's `global_conf` after the section was read: interpolated `[DEFAULT]` values,
    /// the loader defaults, caller variables and `set` additions, in insertion order.
    pub global_conf: Vec<(String, String)>,
    /// Every other section of the file except `[DEFAULT]`, in file order (for `--check`).
    pub other_sections: Vec<String>,
}

/// Errors from loading a PasteDeploy section. `Display` is one line, `path:line: ` first where
/// there is a line.
#[derive(Debug, thiserror::Error)]
pub(super) enum PasteError {
    /// The file could not be read or parsed.
    #[error(transparent)]
    Ini(#[from] IniError),
    /// No section matched.
    #[error(
        "{}: no section '{name}' (prefixed by {}) found; {}",
        path.display(),
        quoted_list(prefixes),
        available_text(available)
    )]
    NoSection {
        /// The file as it was named.
        path: PathBuf,
        /// The name looked for.
        name: String,
        /// The section prefixes looked for (`server:`, `app:`).
        prefixes: Vec<String>,
        /// Sections that do carry one of the prefixes.
        available: Vec<String>,
    },
    /// More than one section matched (e.g. `[server:main]` and `[server: main]`).
    #[error(
        "{}: Ambiguous section names for '{name}' (prefixed by {}): {}",
        path.display(),
        quoted_list(prefixes),
        found_text(found)
    )]
    Ambiguous {
        /// The file as it was named.
        path: PathBuf,
        /// The name looked for.
        name: String,
        /// The section prefixes looked for (`server:`, `app:`).
        prefixes: Vec<String>,
        /// The matching sections with their header lines.
        found: Vec<(String, usize)>,
    },
    /// A `%` in a value that BasicInterpolation rejects, or a missing reference.
    #[error("{}:{line}: cannot interpolate '{key}': {message}", path.display())]
    Interpolation {
        /// The file as it was named.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The key.
        key: String,
        /// What is wrong there.
        message: String,
    },
    /// `get KEY = NAME` where NAME is not in `global_conf`.
    #[error(
        "{}:{line}: 'get {key}' refers to '{name}', which is not a global setting \
         (a [DEFAULT] key, a 'set' key, here or __file__)",
        path.display()
    )]
    MissingGlobal {
        /// The file as it was named.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The key.
        key: String,
        /// The name looked for.
        name: String,
    },
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|p| format!("'{p}'"))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn available_text(available: &[String]) -> String {
    if available.is_empty() {
        "the file has no section with that prefix".to_string()
    } else {
        let list: Vec<String> = available.iter().map(|s| format!("[{s}]")).collect();
        format!("sections with that prefix: {}", list.join(", "))
    }
}

fn found_text(found: &[(String, usize)]) -> String {
    found
        .iter()
        .map(|(s, line)| format!("[{s}] (line {line})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Loads the section `prefix:NAME` of an already parsed file, with no caller variables.
#[cfg(test)]
pub(super) fn load_section(
    ini: &IniFile,
    prefix: &str,
    name: &str,
) -> Result<PasteSection, PasteError> {
    load_section_with_vars(ini, prefix, name, &[])
}

/// Loads the section `prefix:NAME` of an already parsed file. `prefix` is `server`, `app`
/// (which also accepts PasteDeploy's other application prefixes: `application`, `composite`,
/// `composit`, `pipeline`, `filter-app`; the caller decides which of them it supports) or
/// `filter`. `vars` are the caller's variables as pserve passes them (`pserve file.ini
/// http_port=8080`; none for a plain load). As in PasteDeploy they override `[DEFAULT]` for `get`
/// (they are merged into `global_conf` last) but not for `%(name)s` interpolation, where they
/// only fill in names `[DEFAULT]` does not define (`update_defaults(..., overwrite=False)`).
pub(super) fn load_section_with_vars(
    ini: &IniFile,
    prefix: &str,
    name: &str,
    vars: &[(String, String)],
) -> Result<PasteSection, PasteError> {
    let section = located_section(ini, prefix, name)?;
    let raw_defaults = raw_defaults(ini, section, vars);

    let own: Vec<(&str, &str)> = section
        .entries
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    let lookup_defaults: Vec<(&str, &str)> = raw_defaults
        .iter()
        .map(|(k, v, _)| (k.as_str(), v.as_str()))
        .collect();
    let budget = Cell::new(MAX_EXPANDED_BYTES);
    let ctx = Interpolator {
        section: &own,
        defaults: &lookup_defaults,
        budget: &budget,
    };
    // The defaults are interpolated among themselves, without the section's keys; one budget
    // covers the whole load.
    let default_ctx = Interpolator {
        section: &[],
        ..ctx
    };

    let mut global_conf = initial_global_conf(&ini.path, &raw_defaults, vars, &default_ctx)?;
    let is_default = |key: &str| raw_defaults.iter().any(|(k, _, _)| k == key);
    let LocalConf {
        mut entries,
        shadowed,
        gets,
    } = read_local_conf(ini, section, is_default, &ctx, &mut global_conf)?;
    apply_gets(&ini.path, gets, &global_conf, &mut entries)?;
    let use_ = take_use(&mut entries);

    Ok(PasteSection {
        file: ini.path.clone(),
        section: section.name.clone(),
        section_line: section.line,
        use_,
        entries,
        shadowed,
        global_conf,
        other_sections: other_sections(ini, section),
    })
}

/// The section `prefix:NAME` of `ini`, found as [`find_section`] finds it.
fn located_section<'a>(
    ini: &'a IniFile,
    prefix: &str,
    name: &str,
) -> Result<&'a Section, PasteError> {
    let section_name = find_section(ini, prefix, name)?;
    // find_section only returns names present in the file.
    ini.section(&section_name)
        .ok_or_else(|| PasteError::NoSection {
            path: ini.path.clone(),
            name: name.to_string(),
            prefixes: vec![prefix.to_string()],
            available: Vec::new(),
        })
}

/// configparser's `_defaults`, each with the line its messages name: the loader defaults
/// (`here`, `__file__`) first, then [DEFAULT] (which may override them), then caller variables
/// where nothing else set the name.
fn raw_defaults(
    ini: &IniFile,
    section: &Section,
    vars: &[(String, String)],
) -> Vec<(String, String, usize)> {
    let fallback_line = ini.defaults().map_or(section.line, |d| d.line);
    let abs_file = absolute(&ini.path);
    let here = abs_file
        .parent()
        .map_or_else(|| abs_file.clone(), Path::to_path_buf);
    let mut raw_defaults: Vec<(String, String, usize)> = vec![
        (
            "here".into(),
            here.to_string_lossy().into_owned(),
            fallback_line,
        ),
        (
            "__file__".into(),
            abs_file.to_string_lossy().into_owned(),
            fallback_line,
        ),
    ];
    for e in default_entries(ini) {
        set_triple(&mut raw_defaults, &e.key, &e.value, e.line);
    }
    for (k, v) in vars {
        if !raw_defaults.iter().any(|(key, _, _)| key == k) {
            raw_defaults.push((k.clone(), v.clone(), fallback_line));
        }
    }
    raw_defaults
}

/// The `[DEFAULT]` section's entries, if it has any.
fn default_entries(ini: &IniFile) -> &[Entry] {
    ini.defaults().map_or(&[], |d| &d.entries)
}

/// `global_conf` before the section's `set` keys: `parser.defaults()`, every default
/// interpolated in the [DEFAULT] context (`default_ctx`), then the caller variables.
/// PasteDeploy interpolates the defaults eagerly on every load, so a bad `%` in [DEFAULT]
/// fails any section.
fn initial_global_conf(
    path: &Path,
    raw_defaults: &[(String, String, usize)],
    vars: &[(String, String)],
    default_ctx: &Interpolator<'_>,
) -> Result<Vec<(String, String)>, PasteError> {
    let mut global_conf: Vec<(String, String)> = Vec::new();
    for (k, v, line) in raw_defaults {
        let value = default_ctx
            .interpolate(v)
            .map_err(|message| interpolation_error(path, *line, k, message))?;
        set_pair(&mut global_conf, k, value);
    }
    for (k, v) in vars {
        set_pair(&mut global_conf, k, v.clone());
    }
    Ok(global_conf)
}

/// What `get_context` makes of a section's keys, before its `get` keys are looked up.
struct LocalConf {
    /// `local_conf` in file order, values interpolated.
    entries: Vec<Entry>,
    /// The section's own keys dropped because they are defaults.
    shadowed: Vec<Entry>,
    /// `get NAME = other`: NAME, `other` interpolated, and the line; the last `get` of a NAME
    /// wins.
    gets: Vec<(String, String, usize)>,
}

/// `get_context`'s walk over `parser.options(section)`: `set` keys go into `global_conf` as
/// they come, `get` keys are kept for [`apply_gets`], keys that are defaults are dropped, and
/// the rest make `local_conf`.
fn read_local_conf(
    ini: &IniFile,
    section: &Section,
    is_default: impl Fn(&str) -> bool,
    ctx: &Interpolator<'_>,
    global_conf: &mut Vec<(String, String)>,
) -> Result<LocalConf, PasteError> {
    let path = &ini.path;
    // `parser.options(section)`: the section's keys, then [DEFAULT]'s keys it does not have.
    // Only `set `/`get ` keys of [DEFAULT] matter below (the rest are skipped as defaults); the
    // value read for them is the section's view, which for those keys is [DEFAULT]'s.
    let inherited = default_entries(ini)
        .iter()
        .filter(|d| !section.entries.iter().any(|e| e.key == d.key));
    let mut local = LocalConf {
        entries: Vec::new(),
        shadowed: Vec::new(),
        gets: Vec::new(),
    };
    for (entry, is_own) in section
        .entries
        .iter()
        .map(|e| (e, true))
        .chain(inherited.map(|e| (e, false)))
    {
        if let Some(rest) = entry.key.strip_prefix("set ") {
            let value = ctx.interpolate_entry(path, entry)?;
            set_pair(global_conf, rest.trim(), value);
        } else if let Some(rest) = entry.key.strip_prefix("get ") {
            let value = ctx.interpolate_entry(path, entry)?;
            let name = rest.trim().to_string();
            match local.gets.iter_mut().find(|(n, _, _)| *n == name) {
                Some(slot) => *slot = (name, value, entry.line),
                None => local.gets.push((name, value, entry.line)),
            }
        } else if is_default(&entry.key) {
            // PasteDeploy: "It's a global option (?), so skip it" -- even when the section sets
            // it explicitly. Only the section's own keys are worth a warning.
            if is_own {
                local.shadowed.push(entry.clone());
            }
        } else {
            local.entries.push(Entry {
                key: entry.key.clone(),
                value: ctx.interpolate_entry(path, entry)?,
                line: entry.line,
            });
        }
    }
    Ok(local)
}

/// Each `get NAME = other` sets NAME in `local_conf` to `other`'s value in `global_conf`, as a
/// dict assignment: an existing key keeps its place.
fn apply_gets(
    path: &Path,
    gets: Vec<(String, String, usize)>,
    global_conf: &[(String, String)],
    local: &mut Vec<Entry>,
) -> Result<(), PasteError> {
    for (local_var, glob_var, line) in gets {
        let Some((_, value)) = global_conf.iter().find(|(k, _)| *k == glob_var) else {
            return Err(PasteError::MissingGlobal {
                path: path.to_path_buf(),
                line,
                key: local_var,
                name: one_line(&glob_var),
            });
        };
        let entry = Entry {
            key: local_var,
            value: value.clone(),
            line,
        };
        match local.iter_mut().find(|e| e.key == entry.key) {
            Some(slot) => *slot = entry,
            None => local.push(entry),
        }
    }
    Ok(())
}

/// Takes the `use` entry out of `local_conf`; validating it is the caller's job.
fn take_use(local: &mut Vec<Entry>) -> Option<Entry> {
    local
        .iter()
        .position(|e| e.key == "use")
        .map(|i| local.remove(i))
}

/// Every section of the file but `section` and `[DEFAULT]`, in file order.
fn other_sections(ini: &IniFile, section: &Section) -> Vec<String> {
    ini.sections
        .iter()
        .filter(|s| s.name != section.name && s.name != DEFAULT_SECTION)
        .map(|s| s.name.clone())
        .collect()
}

/// PasteDeploy's `config_prefixes`: groups of synonyms. Within a group only the first prefix
/// that matches anything counts; matches from different groups are ambiguous.
fn prefix_groups(prefix: &str) -> Vec<Vec<&str>> {
    match prefix {
        "app" | "application" => vec![
            vec!["app", "application"],
            vec!["composite", "composit"],
            vec!["pipeline"],
            vec!["filter-app"],
        ],
        "filter" => vec![vec!["filter"]],
        other => vec![vec![other]],
    }
}

/// `find_config_section`: `prefix:NAME` with whitespace around NAME ignored, case-sensitive.
fn find_section(ini: &IniFile, prefix: &str, name: &str) -> Result<String, PasteError> {
    let groups = prefix_groups(prefix);
    let mut found: Vec<(String, usize)> = Vec::new();
    for group in &groups {
        for p in group {
            let matches: Vec<(String, usize)> = ini
                .sections
                .iter()
                .filter(|s| {
                    s.name
                        .strip_prefix(p)
                        .and_then(|rest| rest.strip_prefix(':'))
                        .is_some_and(|rest| rest.trim() == name)
                })
                .map(|s| (s.name.clone(), s.line))
                .collect();
            if !matches.is_empty() {
                found.extend(matches);
                break;
            }
        }
    }
    let prefixes: Vec<String> = groups.iter().flatten().map(|p| p.to_string()).collect();
    match found.len() {
        0 => Err(PasteError::NoSection {
            path: ini.path.clone(),
            name: name.to_string(),
            available: ini
                .sections
                .iter()
                .filter(|s| {
                    prefixes.iter().any(|p| {
                        s.name
                            .strip_prefix(p.as_str())
                            .is_some_and(|r| r.starts_with(':'))
                    })
                })
                .map(|s| s.name.clone())
                .collect(),
            prefixes,
        }),
        1 => Ok(found.remove(0).0),
        _ => Err(PasteError::Ambiguous {
            path: ini.path.clone(),
            name: name.to_string(),
            prefixes,
            found,
        }),
    }
}

fn set_pair(map: &mut Vec<(String, String)>, key: &str, value: String) {
    match map.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value,
        None => map.push((key.to_string(), value)),
    }
}

fn set_triple(map: &mut Vec<(String, String, usize)>, key: &str, value: &str, line: usize) {
    match map.iter_mut().find(|(k, _, _)| k == key) {
        Some(slot) => {
            slot.1 = value.to_string();
            slot.2 = line;
        }
        None => map.push((key.to_string(), value.to_string(), line)),
    }
}

/// Messages stay on one line even when they quote part of a multi-line value.
fn one_line(s: &str) -> String {
    s.replace('\n', "\\n")
}

fn interpolation_error(path: &Path, line: usize, key: &str, message: String) -> PasteError {
    PasteError::Interpolation {
        path: path.to_path_buf(),
        line,
        key: key.to_string(),
        message,
    }
}

/// Python's `os.path.abspath`: joined to the current directory and normalised lexically
/// (`..` removed without resolving symlinks).
fn absolute(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// configparser's BasicInterpolation over one section's raw values and the defaults.
struct Interpolator<'a> {
    section: &'a [(&'a str, &'a str)],
    defaults: &'a [(&'a str, &'a str)],
    /// Bytes the load may still expand to (see [`MAX_EXPANDED_BYTES`]).
    budget: &'a Cell<usize>,
}

impl Interpolator<'_> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.section
            .iter()
            .chain(self.defaults.iter())
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }

    fn interpolate(&self, value: &str) -> Result<String, String> {
        let mut out = String::new();
        self.expand(&mut out, value, 1)?;
        Ok(out)
    }

    /// The value of `entry`, a key of the file at `path`, interpolated; an error names the key.
    fn interpolate_entry(&self, path: &Path, entry: &Entry) -> Result<String, PasteError> {
        self.interpolate(&entry.value)
            .map_err(|message| interpolation_error(path, entry.line, &entry.key, message))
    }

    /// Appends `text`, if the load's budget has room for it.
    fn push(&self, out: &mut String, text: &str) -> Result<(), String> {
        let left = self.budget.get().checked_sub(text.len()).ok_or_else(|| {
            format!(
                "the %(name)s references of this file expand to more than {} MiB (do they \
                 repeat one another?)",
                MAX_EXPANDED_BYTES >> 20
            )
        })?;
        self.budget.set(left);
        out.push_str(text);
        Ok(())
    }

    /// `BasicInterpolation._interpolate_some`: referenced values are expanded in place, with
    /// the same lookup, one level deeper.
    fn expand(&self, out: &mut String, mut rest: &str, depth: usize) -> Result<(), String> {
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(format!(
                "more than {MAX_INTERPOLATION_DEPTH} levels of nested %(name)s references \
                 (is a value referring to itself?)"
            ));
        }
        while let Some(p) = rest.find('%') {
            self.push(out, &rest[..p])?;
            rest = &rest[p..];
            if rest[1..].starts_with('%') {
                self.push(out, "%")?;
                rest = &rest[2..];
            } else if rest[1..].starts_with('(') {
                // `%\(([^)]+)\)s`: a non-empty name, then `)s`.
                let body = &rest[2..];
                let close = body.find(')').filter(|&c| c > 0);
                let Some(close) = close.filter(|&c| body[c + 1..].starts_with('s')) else {
                    return Err(format!(
                        "bad interpolation variable reference '{}' (only %(name)s is allowed; write %% for a literal %)",
                        one_line(rest)
                    ));
                };
                let var = &body[..close];
                rest = &body[close + 2..];
                let Some(v) = self.lookup(var) else {
                    let var = one_line(var);
                    return Err(format!(
                        "'%({var})s' refers to '{var}', which is not set in this section, \
                         [DEFAULT], here or __file__"
                    ));
                };
                if v.contains('%') {
                    self.expand(out, v, depth + 1)?;
                } else {
                    self.push(out, v)?;
                }
            } else {
                return Err(format!(
                    "'%' must be followed by '%' or '(', found: '{}' (write %% for a literal %)",
                    one_line(rest)
                ));
            }
        }
        self.push(out, rest)
    }
}

impl fmt::Display for PasteSection {
    /// The section as `[name]` with its local settings, for `--check`-style output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[{}]", self.section)?;
        if let Some(u) = &self.use_ {
            writeln!(f, "use = {}", u.value)?;
        }
        for e in &self.entries {
            writeln!(f, "{} = {}", e.key, e.value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTION_INI: &str = include_str!("../../tests/fixtures/pyramid-production.ini");

    fn development_ini() -> String {
        PRODUCTION_INI
            .replace(
                "pyramid.reload_templates = false",
                "pyramid.reload_templates = true",
            )
            .replace(
                "pyramid.default_locale_name = en\n",
                "pyramid.default_locale_name = en\npyramid.includes =\n    pyramid_debugtoolbar\n\n# By default, the toolbar only appears for clients from IP addresses\n# '127.0.0.1' and '::1'.\n# debugtoolbar.hosts = 127.0.0.1 ::1\n",
            )
            .replace("listen = *:6543", "listen = localhost:6543")
    }

    fn ini(text: &str) -> IniFile {
        IniFile::parse(text, Path::new("/srv/app/production.ini")).unwrap()
    }

    /// Reads `path` and loads `[server:NAME]` from it, as `settings::load` does.
    fn load_server(path: &Path, name: &str) -> Result<PasteSection, PasteError> {
        load_section(&IniFile::load(path)?, "server", name)
    }

    fn load(text: &str, prefix: &str, name: &str) -> Result<PasteSection, PasteError> {
        load_section(&ini(text), prefix, name)
    }

    fn local(s: &PasteSection) -> Vec<(&str, &str)> {
        s.entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect()
    }

    fn global<'a>(s: &'a PasteSection, key: &str) -> Option<&'a str> {
        s.global_conf
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn production_ini_server_section() {
        let s = load(PRODUCTION_INI, "server", "main").unwrap();
        assert_eq!(s.section, "server:main");
        assert_eq!(s.section_line, 30);
        let use_ = s.use_.as_ref().unwrap();
        assert_eq!((use_.value.as_str(), use_.line), ("egg:waitress#main", 31));
        assert_eq!(local(&s), [("listen", "*:6543")]);
        assert_eq!(s.entries[0].line, 32);
        assert!(s.shadowed.is_empty());
        assert!(s.other_sections.contains(&"formatter_generic".to_string()));
        assert!(s.other_sections.contains(&"alembic".to_string()));
        assert_eq!(s.other_sections[0], "app:main");
    }

    #[test]
    fn production_ini_app_section_interpolates_here() {
        let s = load(PRODUCTION_INI, "app", "main").unwrap();
        assert_eq!(s.use_.unwrap().value, "egg:myproject");
        let url = s
            .entries
            .iter()
            .find(|e| e.key == "sqlalchemy.url")
            .unwrap();
        assert_eq!(url.value, "sqlite:////srv/app/myproject.sqlite");
    }

    #[test]
    fn development_ini_server_and_multi_line_app_value() {
        let text = development_ini();
        let s = load(&text, "server", "main").unwrap();
        assert_eq!(local(&s), [("listen", "localhost:6543")]);
        let app = load(&text, "app", "main").unwrap();
        let inc = app
            .entries
            .iter()
            .find(|e| e.key == "pyramid.includes")
            .unwrap();
        assert_eq!(inc.value, "\npyramid_debugtoolbar");
    }

    #[test]
    fn load_server_from_file_with_here_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.ini");
        std::fs::write(
            &path,
            "[server:main]\nuse = egg:waitress#main\nunix_socket = %(here)s/app.sock\nident = %(__file__)s\n",
        )
        .unwrap();
        let s = load_server(&path, "main").unwrap();
        let abs = absolute(&path);
        let here = abs.parent().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            local(&s),
            [
                ("unix_socket", format!("{here}/app.sock").as_str()),
                ("ident", abs.to_string_lossy().as_ref()),
            ]
        );
        assert_eq!(s.file, path);
        assert_eq!(global(&s, "here"), Some(here.as_str()));
    }

    #[test]
    fn default_section_semantics_as_pastedeploy() {
        // The example verified against PasteDeploy 3.1.0 (reference §3.4).
        let text = "[DEFAULT]\nport = 6543\nhttp_port = 7000\nthreads = 2\n\n[server:main]\nuse = egg:waitress#main\nport = 8081\nthreads = 9\nset threads = 11\nget connection_limit = http_port\nListen_Extra = x\n";
        let s = load(text, "server", "main").unwrap();
        assert_eq!(
            local(&s),
            [("Listen_Extra", "x"), ("connection_limit", "7000")]
        );
        let shadowed: Vec<_> = s
            .shadowed
            .iter()
            .map(|e| (e.key.as_str(), e.line))
            .collect();
        assert_eq!(shadowed, [("port", 8), ("threads", 9)]);
        assert_eq!(global(&s, "threads"), Some("11"));
        assert_eq!(global(&s, "port"), Some("6543"));
        assert_eq!(s.entries[1].line, 11);

        // Caller variables win for `get` but not for interpolation.
        let text2 = format!("{text}listen = 127.0.0.1:%(http_port)s\n");
        let vars = [("http_port".to_string(), "7777".to_string())];
        let s = load_section_with_vars(&ini(&text2), "server", "main", &vars).unwrap();
        assert_eq!(
            local(&s),
            [
                ("Listen_Extra", "x"),
                ("listen", "127.0.0.1:7000"),
                ("connection_limit", "7777"),
            ]
        );
    }

    #[test]
    fn here_and_file_keys_are_dropped_too() {
        let s = load("[server:main]\nhere = /x\nthreads = 2\n", "server", "main").unwrap();
        assert_eq!(local(&s), [("threads", "2")]);
        assert_eq!(s.shadowed[0].key, "here");
    }

    #[test]
    fn get_replaces_existing_local_key_in_place() {
        let text = "[DEFAULT]\nhp = 1\n[server:main]\na = x\nget a = hp\nb = y\n";
        let s = load(text, "server", "main").unwrap();
        assert_eq!(local(&s), [("a", "1"), ("b", "y")]);
    }

    #[test]
    fn get_sees_set_from_later_line() {
        let text = "[server:main]\nget threads = t\nset t = 4\n";
        let s = load(text, "server", "main").unwrap();
        assert_eq!(local(&s), [("threads", "4")]);
    }

    #[test]
    fn missing_global() {
        let text = "[server:main]\nuse = egg:waitress#main\nget connection_limit = http_port\n";
        let err = load(text, "server", "main").unwrap_err();
        assert!(matches!(err, PasteError::MissingGlobal { line: 3, .. }));
        assert!(
            err.to_string().starts_with(
                "/srv/app/production.ini:3: 'get connection_limit' refers to 'http_port'"
            ),
            "{err}"
        );
    }

    #[test]
    fn interpolation_rules() {
        let text = "[DEFAULT]\nbase = /srv\nlog = %(base)s/log\n[server:main]\npct = 100%%\nnested = %(log)s/x\nlocal = %(pct)s!\nown = %(base)s\n";
        let s = load(text, "server", "main").unwrap();
        assert_eq!(
            local(&s),
            [
                ("pct", "100%"),
                ("nested", "/srv/log/x"),
                ("local", "100%!"),
                ("own", "/srv"),
            ]
        );
        assert_eq!(global(&s, "log"), Some("/srv/log"));
    }

    #[test]
    fn interpolation_is_case_sensitive() {
        let err = load("[server:main]\na = 1\nb = %(A)s\n", "server", "main").unwrap_err();
        assert!(matches!(err, PasteError::Interpolation { line: 3, ref key, .. } if key == "b"));
    }

    #[test]
    fn bad_percent_forms() {
        for (value, needle) in [
            ("50%", "'%' must be followed by '%' or '('"),
            ("%(x)d", "bad interpolation variable reference"),
            ("%()s", "bad interpolation variable reference"),
            ("%(x", "bad interpolation variable reference"),
            ("%", "'%' must be followed"),
        ] {
            let text = format!("[server:main]\nx = 1\nv = {value}\n");
            let err = load(&text, "server", "main").unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.starts_with("/srv/app/production.ini:3: cannot interpolate 'v': "),
                "{msg}"
            );
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn messages_stay_on_one_line() {
        let err = load("[server:main]\nv =\n  50%\n  more\n", "server", "main").unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        assert!(msg.starts_with("/srv/app/production.ini:2: "), "{msg}");
    }

    #[test]
    fn missing_reference() {
        let err = load("[server:main]\nlisten = %(host)s:80\n", "server", "main").unwrap_err();
        assert!(matches!(err, PasteError::Interpolation { line: 2, .. }));
        assert!(err.to_string().contains("'host'"), "{err}");
    }

    #[test]
    fn depth_limit() {
        let err = load("[server:main]\na = %(a)s\n", "server", "main").unwrap_err();
        assert!(err.to_string().contains("more than 10 levels"), "{err}");
        // A chain of ten references still resolves (depth 10 is allowed).
        let mut text = String::from("[server:main]\nk0 = end\n");
        for i in 1..10 {
            text.push_str(&format!("k{i} = %(k{})s\n", i - 1));
        }
        text.push_str("top = %(k9)s\n");
        let s = load(&text, "server", "main").unwrap();
        assert_eq!(s.entries.last().unwrap().value, "end");
        text.push_str("over = x%(top)s\n");
        text = text.replace("k0 = end", "k0 = %%");
        let err = load(&text, "server", "main").unwrap_err();
        assert!(err.to_string().contains("more than 10 levels"), "{err}");
    }

    #[test]
    fn bad_default_fails_every_section_but_other_sections_do_not() {
        let err = load("[DEFAULT]\nd = 5%\n[server:main]\n", "server", "main").unwrap_err();
        assert!(matches!(err, PasteError::Interpolation { line: 2, .. }));
        let ok = load("[other]\nd = 5%\n[server:main]\nx = 1\n", "server", "main").unwrap();
        assert_eq!(local(&ok), [("x", "1")]);
    }

    #[test]
    fn shadowed_keys_are_not_interpolated() {
        let text = "[DEFAULT]\nport = 1\n[server:main]\nport = %(nope)s\n";
        let s = load(text, "server", "main").unwrap();
        assert!(s.entries.is_empty());
        assert_eq!(s.shadowed[0].value, "%(nope)s");
    }

    #[test]
    fn section_lookup() {
        let text = "[server: main]\nx = 1\n[server:alt]\ny = 2\n[server]\n";
        let s = load(text, "server", "main").unwrap();
        assert_eq!(s.section, "server: main");
        let s = load(text, "server", "alt").unwrap();
        assert_eq!(local(&s), [("y", "2")]);

        let err = load(text, "server", "other").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/srv/app/production.ini: no section 'other' (prefixed by 'server') found; \
             sections with that prefix: [server: main], [server:alt]"
        );
        let err = load("[app:main]\n", "server", "main").unwrap_err();
        assert!(
            err.to_string()
                .ends_with("the file has no section with that prefix")
        );
        // Case-sensitive.
        assert!(load("[Server:main]\n", "server", "main").is_err());
        assert!(load("[server:Main]\n", "server", "main").is_err());
    }

    #[test]
    fn ambiguous_sections() {
        let err = load("[server:main]\n[server: main ]\n", "server", "main").unwrap_err();
        assert!(matches!(err, PasteError::Ambiguous { ref found, .. } if found.len() == 2));
        assert!(err.to_string().contains("Ambiguous section names"), "{err}");
        let err = load("[app:main]\n[pipeline:main]\n", "app", "main").unwrap_err();
        assert!(matches!(err, PasteError::Ambiguous { .. }));
        // Synonyms in one group: the first prefix that matches wins.
        let s = load("[application:main]\n[app:main]\nx = 1\n", "app", "main").unwrap();
        assert_eq!(s.section, "app:main");
        let s = load("[pipeline:main]\npipeline = a b\n", "app", "main").unwrap();
        assert_eq!(s.section, "pipeline:main");
    }

    #[test]
    fn default_set_and_get_apply_to_every_section() {
        let text = "[DEFAULT]\nset g = 1\nget l = g\n[server:main]\n";
        let s = load(text, "server", "main").unwrap();
        assert_eq!(local(&s), [("l", "1")]);
        assert_eq!(global(&s, "g"), Some("1"));
    }

    #[test]
    fn windows_paths_quotes_and_hash() {
        let text = "[server:main]\nuse = egg:waitress#main\nunix_socket = C:\\run\\app\\\nident = \"waitress\"\n";
        let s = load(text, "server", "main").unwrap();
        assert_eq!(s.use_.as_ref().unwrap().value, "egg:waitress#main");
        assert_eq!(
            local(&s),
            [("unix_socket", "C:\\run\\app\\"), ("ident", "\"waitress\"")]
        );
    }

    #[test]
    fn ini_errors_pass_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dup.ini");
        std::fs::write(&path, "[server:main]\nthreads = 1\nthreads = 2\n").unwrap();
        let err = load_server(&path, "main").unwrap_err();
        assert!(matches!(
            err,
            PasteError::Ini(IniError::DuplicateKey { line: 3, .. })
        ));
    }

    #[test]
    fn absolute_normalises_dots() {
        let p = absolute(Path::new("/a/b/../c/./d.ini"));
        assert_eq!(p, Path::new("/a/c/d.ini"));
    }
}
