//! Stop signals: the first SIGINT or SIGTERM (on Windows, Ctrl-C, Ctrl-Break or closing the
//! console) starts a graceful shutdown; a second exits at once.

use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::listener::SocketFile;
use super::wake::WakeList;

/// The installed handlers; dropping this removes them, so a process that goes on after the
/// server stopped gets its own handling back (a Python program's KeyboardInterrupt, a second
/// `serve`), instead of a later signal counting as the "second signal" that exits at once.
pub struct Installed {
    #[cfg(unix)]
    handle: signal_hook::iterator::Handle,
    /// The stop signal's log line, written aside (see [`log_aside`]): waited for (briefly) when
    /// the server is done, so the line comes before whatever the program logs next.
    #[cfg(unix)]
    logging: Arc<std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>>,
}

/// Servers whose handlers are installed, for [`keep_default_actions`].
#[cfg(unix)]
static SERVING: AtomicUsize = AtomicUsize::new(0);

/// signal-hook keeps its OS-level handler once installed, and with no action of ours left it
/// chains only to a previous *handler*: a signal whose previous disposition was the default
/// (SIGTERM in a Python program) was then swallowed, and a process that went on after `serve`
/// returned could no longer be stopped by systemd or Docker. So, the first time, each stop
/// signal found at its default gets a permanent action that carries the default out (ends the
/// process) whenever no server is running.
#[cfg(unix)]
fn keep_default_actions(signals: &[i32]) -> io::Result<()> {
    static DONE: std::sync::Once = std::sync::Once::new();
    let mut result = Ok(());
    DONE.call_once(|| {
        for &signal in signals {
            // SAFETY: a query (no new action); `old` is plain data the call fills in.
            let at_default = unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(signal, std::ptr::null(), &mut old) == 0
                    && old.sa_sigaction == libc::SIG_DFL
            };
            if !at_default {
                continue;
            }
            let action = move || {
                if SERVING.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                }
            };
            // SAFETY: the action only loads an atomic and calls signal-hook's default
            // emulation, both async-signal-safe.
            if let Err(e) = unsafe { signal_hook::low_level::register(signal, action) } {
                result = Err(e);
            }
        }
    });
    result
}

impl Drop for Installed {
    fn drop(&mut self) {
        // The thread's `forever()` ends and the handlers are unregistered with it.
        #[cfg(unix)]
        {
            self.handle.close();
            SERVING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            let logging = self
                .logging
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let Some(logged) = logging {
                let _ = logged.recv_timeout(LAST_LINE_WAIT);
            }
        }
        #[cfg(windows)]
        {
            use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;
            *CONSOLE_STOP.lock().unwrap_or_else(|p| p.into_inner()) = None;
            // SAFETY: removes the handler `install` added; it is a plain function.
            unsafe { SetConsoleCtrlHandler(Some(on_console_event), 0) };
        }
    }
}

/// The stop signals this process takes: SIGINT and SIGTERM, less any the process was started
/// with ignored. A shell starts a background job (`waitress-rs ... &` in a script) with SIGINT
/// ignored, and `nohup`-style wrappers ignore what they mean to shield the program from; such a
/// signal stays ignored, as CPython (and so waitress) leaves it. Read once, at the first
/// install: afterwards the dispositions are signal-hook's.
#[cfg(unix)]
fn stop_signals() -> &'static [i32] {
    static TAKEN: std::sync::OnceLock<Vec<i32>> = std::sync::OnceLock::new();
    TAKEN.get_or_init(|| {
        [libc::SIGINT, libc::SIGTERM]
            .into_iter()
            .filter(|&signal| {
                // SAFETY: a query (no new action); `old` is plain data the call fills in.
                let ignored = unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    libc::sigaction(signal, std::ptr::null(), &mut old) == 0
                        && old.sa_sigaction == libc::SIG_IGN
                };
                !ignored
            })
            .collect()
    })
}

/// How long an exit waits for a stop signal's log line: the log may be what is stuck (a stderr
/// pipe nobody reads), and the exit must not wait on it.
#[cfg(unix)]
const LAST_LINE_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// Logs on a thread of its own, so a log that blocks (a full stderr pipe) cannot hold up the
/// signal thread; returns a receiver that hears when the line is out.
#[cfg(unix)]
fn log_aside(log: impl FnOnce() + Send + 'static) -> std::sync::mpsc::Receiver<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("waitress-signals-log".into())
        .spawn(move || {
            log();
            let _ = tx.send(());
        });
    if let Err(e) = spawned {
        // No thread to spare: say it here, at the risk of waiting.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "waitress-rs: could not start a thread to log a stop signal: {e}"
        );
    }
    rx
}

/// Exit status when a second stop signal (or console event) cuts the drain short.
pub(crate) const EXIT_INTERRUPTED: i32 = 1;

/// Installs the handlers: each signal counts in `stop` and wakes the loop. `socket_files` are
/// removed before an immediate exit, since the loop will not get to it. Each signal is acted
/// on before it is logged: with stderr blocked, a SIGTERM used to wait behind its own log line,
/// and the drain, the second signal's exit and systemd's stop with it.
#[cfg(unix)]
pub fn install(
    stop: Arc<AtomicUsize>,
    wake: Arc<WakeList>,
    socket_files: Vec<SocketFile>,
) -> io::Result<Installed> {
    use signal_hook::consts::SIGINT;
    use std::sync::atomic::Ordering;
    let taken = stop_signals();
    keep_default_actions(taken)?;
    let mut signals = signal_hook::iterator::Signals::new(taken)?;
    let handle = signals.handle();
    let logging = Arc::new(std::sync::Mutex::new(None));
    let first_line = Arc::clone(&logging);
    std::thread::Builder::new()
        .name("waitress-signals".into())
        .spawn(move || {
            // Signals counted apart from `stop`, which a ShutdownHandle (Python's close())
            // also counts: a Ctrl-C after close() is the first signal, not the second that
            // exits at once.
            let mut received = 0usize;
            for signal in signals.forever() {
                // Held until the line's receiver is stored, so a drain that ends at once
                // cannot drop `Installed` without waiting for it.
                let mut line = first_line.lock().unwrap_or_else(|p| p.into_inner());
                received += 1;
                stop.fetch_add(1, Ordering::SeqCst);
                if received == 1 {
                    let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
                    *line = Some(log_aside(move || {
                        log::info!(target: "waitress", "{name} received: finishing requests in progress, then exiting (a second signal exits at once)");
                    }));
                    // Before the nudge: a drain that ends at once exits the process, and the
                    // notification with it.
                    super::systemd::notify(super::systemd::STOPPING);
                    drop(line);
                    wake.nudge();
                } else {
                    drop(line);
                    for file in &socket_files {
                        file.remove();
                    }
                    let logged = log_aside(|| {
                        log::warn!(target: "waitress", "Second stop signal: exiting now");
                    });
                    let _ = logged.recv_timeout(LAST_LINE_WAIT);
                    std::process::exit(EXIT_INTERRUPTED);
                }
            }
        })?;
    SERVING.fetch_add(1, Ordering::SeqCst);
    Ok(Installed { handle, logging })
}

/// The loop to stop on Windows console events, while `install`'s [`Installed`] lives.
#[cfg(windows)]
static CONSOLE_STOP: std::sync::Mutex<Option<(Arc<AtomicUsize>, Arc<WakeList>)>> =
    std::sync::Mutex::new(None);

/// Console events received since `install`, counted apart from `stop` as the Unix signals
/// are: a Ctrl-C after a ShutdownHandle's stop is the first, not the second that exits.
#[cfg(windows)]
static CONSOLE_EVENTS: AtomicUsize = AtomicUsize::new(0);

#[cfg(windows)]
unsafe extern "system" fn on_console_event(_event: u32) -> windows_sys::core::BOOL {
    let target = CONSOLE_STOP
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let Some((stop, wake)) = target else {
        return 0; // not ours: the next handler (or the default) decides
    };
    use std::sync::atomic::Ordering;
    stop.fetch_add(1, Ordering::SeqCst);
    if CONSOLE_EVENTS.fetch_add(1, Ordering::SeqCst) == 0 {
        wake.nudge();
    } else {
        std::process::exit(EXIT_INTERRUPTED);
    }
    1 // handled: keep the process alive while it drains
}

/// Windows counterpart of the signals: Ctrl-C, Ctrl-Break and console close start the same
/// graceful shutdown; a second one exits at once.
#[cfg(windows)]
pub fn install(
    stop: Arc<AtomicUsize>,
    wake: Arc<WakeList>,
    _socket_files: Vec<SocketFile>,
) -> io::Result<Installed> {
    use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;

    CONSOLE_EVENTS.store(0, std::sync::atomic::Ordering::SeqCst);
    *CONSOLE_STOP.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, wake));
    // SAFETY: the handler is a plain function that only touches the process-wide static above.
    if unsafe { SetConsoleCtrlHandler(Some(on_console_event), 1) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Installed {})
}

/// Elsewhere the process stops on the platform's default signal handling.
#[cfg(not(any(unix, windows)))]
pub fn install(
    _stop: Arc<AtomicUsize>,
    _wake: Arc<WakeList>,
    _socket_files: Vec<SocketFile>,
) -> io::Result<Installed> {
    Ok(Installed {})
}

/// A write past the file-size limit (`ulimit -f`, RLIMIT_FSIZE) raises SIGXFSZ, whose default
/// action ends the process: one upload spooled to a temp file would have stopped the server
/// and every connection with it. Ignored, the write fails with EFBIG and only its request
/// fails (a 500, or a response cut short), as under CPython, which ignores SIGXFSZ at
/// start-up. An action the program set itself is left alone.
#[cfg(unix)]
pub fn survive_file_size_limit() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        // SAFETY: a query, then setting SIG_IGN, which runs no code of ours in the handler.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGXFSZ, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_DFL
            {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            }
        }
    });
}

/// Windows has no file-size signal: a write past a quota fails with an error.
#[cfg(windows)]
pub fn survive_file_size_limit() {}
