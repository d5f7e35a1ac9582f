//! Where temp files go: request bodies past `inbuf_overflow` and output past
//! `outbuf_overflow`.
//!
//! waitress's temp files come from Python's `tempfile`, which takes the first directory it can
//! create a file in: `TMPDIR`, `TEMP`, `TMP`, then the system's own places, then the current
//! directory. So a `TMPDIR` that is missing or read-only does not fail every large upload
//! there, and it does not here either; unlike Python, the fallback is logged.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The environment variables Python's `tempfile` reads, in its order.
const ENV_VARS: [&str; 3] = ["TMPDIR", "TEMP", "TMP"];

/// The directory temp files are created in, chosen (and any fallback logged) on first use,
/// once per process as Python's `tempfile.gettempdir()` caches its choice.
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(choose)
}

/// An unnamed temp file in [`dir`], gone when closed.
pub fn file() -> std::io::Result<std::fs::File> {
    tempfile::tempfile_in(dir())
}

fn choose() -> PathBuf {
    let mut unusable = Vec::new();
    for (name, dir) in candidates() {
        match tempfile::tempfile_in(&dir) {
            Ok(_) => {
                if !unusable.is_empty() {
                    log::warn!(target: "waitress",
                        "Temp files go to {}: {}", dir.display(), unusable.join("; "));
                }
                return dir;
            }
            Err(e) => unusable.push(format!("{name} is not usable ({e})")),
        }
    }
    log::warn!(target: "waitress",
        "No usable temp directory ({}): request bodies past inbuf_overflow and responses past \
         outbuf_overflow will fail", unusable.join("; "));
    std::env::temp_dir()
}

/// Each candidate directory, with how a log line names it (`TMPDIR=/x`, `/tmp`).
fn candidates() -> Vec<(String, PathBuf)> {
    let mut dirs: Vec<(String, PathBuf)> = ENV_VARS
        .iter()
        .filter_map(|var| {
            let value = std::env::var_os(var).filter(|v| !v.is_empty())?;
            let dir = PathBuf::from(value);
            Some((format!("{var}={}", dir.display()), dir))
        })
        .collect();
    let system: Vec<PathBuf> = if cfg!(windows) {
        vec![std::env::temp_dir()]
    } else {
        ["/tmp", "/var/tmp", "/usr/tmp"].map(PathBuf::from).to_vec()
    };
    dirs.extend(
        system
            .into_iter()
            .map(|dir| (dir.display().to_string(), dir)),
    );
    if let Ok(cwd) = std::env::current_dir() {
        dirs.push((format!("the current directory {}", cwd.display()), cwd));
    }
    dirs
}
