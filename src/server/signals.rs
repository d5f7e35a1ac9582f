//! Stop signals: the first SIGINT or SIGTERM starts a graceful shutdown, a second exits at once.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::wake::WakeList;

/// Installs the handlers: each signal counts in `stop` and wakes the loop. `socket_files` are
/// removed before an immediate exit, since the loop will not get to it.
#[cfg(unix)]
pub fn install(
    stop: Arc<AtomicUsize>,
    wake: Arc<WakeList>,
    socket_files: Vec<PathBuf>,
) -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use std::sync::atomic::Ordering;
    /// Exit status when a second signal cuts the drain short.
    const EXIT_INTERRUPTED: i32 = 1;
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("waitress-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let seen = stop.fetch_add(1, Ordering::SeqCst);
                if seen == 0 {
                    let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
                    log::info!(target: "waitress", "{name} received: finishing requests in progress, then exiting");
                    wake.nudge();
                } else {
                    log::warn!(target: "waitress", "Second stop signal: exiting now");
                    for path in &socket_files {
                        let _ = std::fs::remove_file(path);
                    }
                    std::process::exit(EXIT_INTERRUPTED);
                }
            }
        })?;
    Ok(())
}

/// On Windows the process stops on Ctrl-C without a drain; graceful shutdown is Unix-only.
#[cfg(not(unix))]
pub fn install(
    _stop: Arc<AtomicUsize>,
    _wake: Arc<WakeList>,
    _socket_files: Vec<PathBuf>,
) -> io::Result<()> {
    Ok(())
}
