//! Putting the sources together: the INI file's server section, then the flags.

use super::cli::Invocation;
use super::error::ConfigError;
use super::ini::IniFile;
use super::paste::{self, EggUri, PasteError, PasteSection};
use super::raw::{RawSettings, Source};
use super::resolve::Resolved;
use super::table::Settings;

/// Whether a `use =` value means this server: waitress's own entry point, or ours.
fn means_this_server(used: &str) -> bool {
    EggUri::parse(used).is_some_and(|egg| {
        egg.entry == "main" && matches!(egg.dist.as_str(), "waitress" | "waitress-rs")
    })
}

/// What an invocation's sources give: the settings, and the file's `[app:main]` if it has one.
#[derive(Debug)]
pub struct Loaded {
    /// The validated settings and warnings.
    pub resolved: Resolved,
    /// The `[app:main]` section of the config file, for the caller to pick an application.
    pub app_section: Option<PasteSection>,
}

/// Puts the `[server:NAME]` section of `ini` into `raw`, file:line for each value; `vars` are
/// the command line's `NAME=VALUE` variables, as pserve passes them.
fn read_server_section(
    ini: &IniFile,
    name: &str,
    vars: &[(String, String)],
    raw: &mut RawSettings,
) -> Result<PasteSection, Vec<ConfigError>> {
    let path = &ini.path;
    let section = paste::load_section_with_vars(ini, "server", name, vars)
        .map_err(|e| vec![ConfigError::File(e.to_string())])?;
    let mut errors = Vec::new();
    if let Some(used) = &section.use_ {
        if !means_this_server(&used.value) {
            errors.push(ConfigError::File(format!(
                "{}:{}: use = {:?} in [{}]: waitress-rs runs only as egg:waitress#main or \
                 egg:waitress-rs#main",
                path.display(),
                used.line,
                used.value.trim(),
                section.section
            )));
        }
    }
    for entry in &section.entries {
        let at = Source::File {
            path: path.to_owned(),
            line: entry.line,
        };
        if let Err(unknown) = raw.set(&entry.key, entry.value.trim(), at) {
            errors.push(unknown.into());
        }
    }
    for dropped in &section.shadowed {
        // A command-line variable of the same name shadows the key just as [DEFAULT] does
        // (pserve's `port=9000` drops `port = 6543` and leaves waitress's default).
        let (by, source) = match vars.iter().find(|(name, _)| *name == dropped.key) {
            Some((name, value)) => (
                format!("the variable {name}={value} is given"),
                "variable's",
            ),
            None => ("[DEFAULT] also defines it".to_owned(), "[DEFAULT]"),
        };
        raw.note(format!(
            "{}:{}: {} in [{}] is ignored because {by} (PasteDeploy drops such keys); use \
             'get {} = {}' to take the {source} value",
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

/// The ways of saying where to listen; waitress refuses two of them together.
const BINDINGS: [&[&str]; 4] = [
    &["host", "port"],
    &["listen"],
    &["unix_socket"],
    &["sockets"],
];

/// Flags win over the file, also for where to listen: a flag that says the whole of it
/// (`--listen`, `--unix-socket`, `--sockets`) replaces the file's binding, `port = 6543` or
/// `listen = ...`, rather than conflicting with it. `--host` and `--port` say only part of it
/// and replace only the file's `host` and `port`: against the file's `listen` they are refused
/// as waitress refuses the two together, since taking `--port 9000` for `listen =
/// 127.0.0.1:8080` would silently listen on every interface. Conflicts within the file, or
/// within the flags, are refused too.
fn override_file_binding(raw: &mut RawSettings, inv: &Invocation) {
    let flagged = |group: &[&str]| inv.settings.iter().any(|(k, _, _)| group.contains(&k.name));
    let partial = BINDINGS[0];
    if !BINDINGS
        .iter()
        .any(|group| *group != partial && flagged(group))
    {
        return;
    }
    for group in BINDINGS.iter().filter(|g| !flagged(g)) {
        for key in group.iter() {
            if raw
                .get(key)
                .is_some_and(|v| matches!(v.source, Source::File { .. }))
            {
                raw.remove(key);
            }
        }
    }
}

/// The settings an invocation describes: its config file's section, then its flags.
pub fn load(inv: &Invocation) -> Result<Loaded, Vec<ConfigError>> {
    let mut raw = RawSettings::new();
    let mut errors = Vec::new();
    let mut app_section = None;
    if let Some(path) = &inv.config {
        match IniFile::load(path) {
            Ok(ini) => {
                if let Err(mut e) = read_server_section(&ini, &inv.section, &inv.vars, &mut raw) {
                    errors.append(&mut e);
                }
                // An application named on the command line replaces [app:main], so a section
                // that would not load (a Pyramid app's own interpolation, say) does not matter.
                let app_named = inv.app.is_some() || inv.target.is_some();
                match paste::load_section_with_vars(&ini, "app", "main", &inv.vars) {
                    Ok(section) => app_section = Some(section),
                    Err(PasteError::NoSection { .. }) => {}
                    Err(_) if app_named => {}
                    Err(e) => errors.push(ConfigError::File(e.to_string())),
                }
            }
            Err(e) => errors.push(ConfigError::File(e.to_string())),
        }
    }
    override_file_binding(&mut raw, inv);
    for (key, value, source) in &inv.settings {
        if let Err(unknown) = raw.set(key.name, value.trim(), source.clone()) {
            errors.push(unknown.into());
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Loaded {
        resolved: Settings::resolve(&raw)?,
        app_section,
    })
}

#[cfg(test)]
mod tests {
    use super::means_this_server;

    #[test]
    fn use_lines_match_as_pkg_resources_matches_them() {
        for ok in [
            "egg:waitress#main",
            "egg:waitress",
            "egg:Waitress#main",
            "egg:waitress-rs#main",
            "egg:waitress_rs",
            "egg:WAITRESS_RS#main",
            "EGG:waitress.rs",
            " egg:waitress#main ",
        ] {
            assert!(means_this_server(ok), "{ok}");
        }
        for bad in [
            "egg:waitress#Main",
            "egg:waitress#other",
            "egg:gunicorn#main",
            "egg:waitress#main\nthreads = 5",
            "egg:waitressrs",
            "call:waitress:serve_paste",
            "waitress",
        ] {
            assert!(!means_this_server(bad), "{bad}");
        }
    }
}
