//! Stop signals: the first SIGINT or SIGTERM (on Windows, Ctrl-C, Ctrl-Break or closing the
//! console) starts a graceful shutdown; a second exits at once.

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

/// The loop to stop on Windows console events; set once, by `install`.
#[cfg(windows)]
static CONSOLE_STOP: std::sync::OnceLock<(Arc<AtomicUsize>, Arc<WakeList>)> =
    std::sync::OnceLock::new();

/// Windows counterpart of the signals: Ctrl-C, Ctrl-Break and console close start the same
/// graceful shutdown; a second one exits at once.
#[cfg(windows)]
pub fn install(
    stop: Arc<AtomicUsize>,
    wake: Arc<WakeList>,
    _socket_files: Vec<PathBuf>,
) -> io::Result<()> {
    use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;

    unsafe extern "system" fn on_console_event(_event: u32) -> windows_sys::core::BOOL {
        if let Some((stop, wake)) = CONSOLE_STOP.get() {
            if stop.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                wake.nudge();
            } else {
                std::process::exit(1);
            }
        }
        1 // handled: keep the process alive while it drains
    }

    let _ = CONSOLE_STOP.set((stop, wake));
    // SAFETY: the handler is a plain function that only touches the process-wide static above
    // and stays valid for the life of the process.
    if unsafe { SetConsoleCtrlHandler(Some(on_console_event), 1) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Elsewhere the process stops on the platform's default signal handling.
#[cfg(not(any(unix, windows)))]
pub fn install(
    _stop: Arc<AtomicUsize>,
    _wake: Arc<WakeList>,
    _socket_files: Vec<PathBuf>,
) -> io::Result<()> {
    Ok(())
}
