//! Putting the sources together: the INI file's server section, then the flags.

use std::path::Path;

use super::cli::Invocation;
use super::error::ConfigError;
use super::paste::{self, PasteSection};
use super::raw::{RawSettings, Source};
use super::resolve::Resolved;
use super::table::Settings;

/// `use =` values that mean this server: waitress's own entry point, and ours.
const ACCEPTED_USES: [&str; 6] = [
    "egg:waitress",
    "egg:waitress#main",
    "egg:waitress-rs",
    "egg:waitress-rs#main",
    "egg:waitress_rs",
    "egg:waitress_rs#main",
];

/// Reads the `[server:NAME]` section of `path` into `raw`.
pub fn read_server_section(
    path: &Path,
    name: &str,
    raw: &mut RawSettings,
) -> Result<PasteSection, Vec<ConfigError>> {
    let section = paste::load_server(path, name).map_err(|e| vec![ConfigError::File(e.to_string())])?;
    let mut errors = Vec::new();
    if let Some(used) = &section.use_ {
        if !ACCEPTED_USES.contains(&used.value.as_str()) {
            errors.push(ConfigError::File(format!(
                "{}:{}: use = {} in [{}]: waitress-rs runs only as egg:waitress#main or \
                 egg:waitress-rs#main",
                path.display(),
                used.line,
                used.value,
                section.section
            )));
        }
    }
    for entry in &section.entries {
        let at = Source::File {
            path: path.to_owned(),
            line: entry.line,
        };
        if let Err(unknown) = raw.set(&entry.key, entry.value.clone(), at) {
            errors.push(unknown.into());
        }
    }
    for dropped in &section.shadowed {
        raw.note(format!(
            "{}:{}: {} in [{}] is ignored because [DEFAULT] also defines it (PasteDeploy drops \
             such keys); use 'get {} = {}' to take the [DEFAULT] value",
            path.display(),
            dropped.line,
            dropped.key,
            section.section,
            dropped.key,
            dropped.key
        ));
    }
    if errors.is_empty() {
        Ok(section)
    } else {
        Err(errors)
    }
}

/// The settings an invocation describes: its config file's section, then its flags.
pub fn load(inv: &Invocation) -> Result<Resolved, Vec<ConfigError>> {
    let mut raw = RawSettings::new();
    let mut errors = Vec::new();
    if let Some(path) = &inv.config {
        if let Err(mut e) = read_server_section(path, &inv.section, &mut raw) {
            errors.append(&mut e);
        }
    }
    for (key, value, source) in &inv.settings {
        if let Err(unknown) = raw.set(key.name, value.clone(), source.clone()) {
            errors.push(unknown.into());
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Settings::resolve(&raw)
}
