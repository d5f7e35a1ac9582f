//! Choosing a built-in application: `--app echo`, `--app static:DIR`, or an `[app:main]`
//! section with `use = egg:waitress-rs#echo` or `use = egg:waitress-rs#static` and `root`.

use std::path::Path;
use std::sync::Arc;

use super::App;
use super::echo::Echo;
use super::static_files::StaticFiles;
use crate::settings::paste::{EggUri, PasteSection};

/// The distribution whose entry points the built-in apps are (`egg:waitress-rs#echo`), in
/// [`EggUri`]'s normalised form.
const EGG_DIST: &str = "waitress-rs";

/// Why no application could be made.
#[derive(Debug, thiserror::Error)]
pub enum AppSpecError {
    /// The spec or section names no built-in app, or not in a form one takes.
    #[error("{0}")]
    Unknown(String),
    /// A built-in app named in its right form that cannot be made: its directory is missing,
    /// not a directory, or unreadable.
    #[error("{0}")]
    Unusable(String),
}

impl AppSpecError {
    /// The same error, its message prefixed with where the app was named.
    fn at(self, place: &str) -> AppSpecError {
        match self {
            AppSpecError::Unknown(m) => AppSpecError::Unknown(format!("{place}: {m}")),
            AppSpecError::Unusable(m) => AppSpecError::Unusable(format!("{place}: {m}")),
        }
    }
}

/// The app named by `--app`: `echo`, `static:DIR` (or `static:DIR:listing` to list
/// directories).
pub fn from_flag(spec: &str) -> Result<Arc<dyn App>, AppSpecError> {
    match spec.split_once(':') {
        None if spec == "echo" => Ok(Arc::new(Echo)),
        Some(("static", rest)) => {
            let (root, listing) = match rest.rsplit_once(':') {
                Some((root, "listing")) => (root, true),
                // `static:DIR:lsting`: an option misspelt after a directory that exists, which
                // read as a missing directory `DIR:lsting` (unless one of that name exists: a
                // path may hold ':').
                Some((root, option)) if Path::new(root).is_dir() && !Path::new(rest).exists() => {
                    return Err(AppSpecError::Unknown(format!(
                        "--app {spec}: unknown option {option:?} after the directory; \
                         the one option is static:DIR:listing"
                    )));
                }
                _ => (rest, false),
            };
            static_app(root, listing).map_err(|e| e.at(&format!("--app {spec}")))
        }
        _ => Err(AppSpecError::Unknown(format!(
            "--app {spec}: unknown application; the built-in ones are echo and static:DIR"
        ))),
    }
}

fn static_app(root: &str, listing: bool) -> Result<Arc<dyn App>, AppSpecError> {
    if root.is_empty() {
        return Err(AppSpecError::Unknown(
            "static needs a directory: static:DIR".into(),
        ));
    }
    StaticFiles::new(root)
        .map(|app| Arc::new(app.with_listing(listing)) as Arc<dyn App>)
        .map_err(|e| AppSpecError::Unusable(format!("cannot serve {root}: {e}")))
}

/// The built-in app's entry point an `[app:*]` section names (`echo` for
/// `egg:waitress-rs#echo`), or `None` for anything else, such as a Python project that needs
/// the Python package.
fn builtin_entry(section: &PasteSection) -> Option<String> {
    let egg = EggUri::parse(&section.use_.as_ref()?.value)?;
    (egg.dist == EGG_DIST).then_some(egg.entry)
}

/// Whether an `[app:*]` section names one of the built-in apps (rather than, say, a Python
/// project that needs the Python package).
pub fn is_builtin(section: &PasteSection) -> bool {
    builtin_entry(section).is_some()
}

/// The app an `[app:main]` section describes.
pub fn from_section(section: &PasteSection) -> Result<Arc<dyn App>, AppSpecError> {
    let at = |line: usize| format!("{}:{line}", section.file.display());
    let python_apps = "Python apps run with the waitress-rs Python package";
    let Some(used) = &section.use_ else {
        // PasteDeploy's pipeline:, composite: and filter-app: sections compose Python
        // filters and apps, and have no 'use' of their own.
        let kind = section.section.split_once(':').map_or("", |(kind, _)| kind);
        let why = if kind == "app" || kind == "application" {
            "has no 'use' line".to_owned()
        } else {
            format!("is a PasteDeploy {kind} of Python filters and apps; {python_apps}")
        };
        return Err(AppSpecError::Unknown(format!(
            "{}: [{}] {why}",
            at(section.section_line),
            section.section
        )));
    };
    let Some(entry_point) = builtin_entry(section) else {
        return Err(AppSpecError::Unknown(format!(
            "{}: [{}] uses {}, which is not a built-in app of this binary (egg:waitress-rs#echo or \
             egg:waitress-rs#static); {python_apps}",
            at(used.line),
            section.section,
            used.value.trim()
        )));
    };
    let get = |key: &str| section.entries.iter().find(|e| e.key == key);
    for entry in &section.entries {
        let known = match entry_point.as_str() {
            "static" => ["root", "listing"].contains(&entry.key.as_str()),
            _ => false,
        };
        if !known {
            return Err(AppSpecError::Unknown(format!(
                "{}: unknown setting '{}' for egg:waitress-rs#{entry_point}",
                at(entry.line),
                entry.key
            )));
        }
    }
    match entry_point.as_str() {
        "echo" => Ok(Arc::new(Echo)),
        "static" => {
            let Some(root) = get("root") else {
                return Err(AppSpecError::Unknown(format!(
                    "{}: [{}] needs root = DIR for egg:waitress-rs#static",
                    at(section.section_line),
                    section.section
                )));
            };
            let listing = match get("listing") {
                None => false,
                Some(e) => crate::settings::convert::boolean(&e.value).map_err(|why| {
                    AppSpecError::Unknown(format!("{}: listing = {:?}: {why}", at(e.line), e.value))
                })?,
            };
            static_app(root.value.trim(), listing).map_err(|e| e.at(&at(root.line)))
        }
        other => Err(AppSpecError::Unknown(format!(
            "{}: egg:waitress-rs#{other} is not a built-in app (echo, static)",
            at(used.line)
        ))),
    }
}
