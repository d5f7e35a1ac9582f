//! The server: listeners, one event-loop thread that owns every socket, and a pool of
//! `threads` workers that run the application.
//!
//! Bytes flow one way: a `channel::Channel` reads and parses on the loop thread, hands a
//! complete request to a worker as a `task::Task`, and the worker frames the response into
//! the connection's `output::Output`, which writes it to the socket itself when nothing is
//! queued ahead of it and leaves the rest (a client slower than the app) to the loop.

mod channel;
mod event_loop;
mod io;
mod listener;
mod output;
mod pool;
mod signals;
mod spool;
mod systemd;
mod task;
mod temp;
mod wake;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use polling::Poller;

use crate::app::App;
use crate::http::request::Limits;
use crate::proxy::ProxyConfig;
use crate::settings::Settings;

pub use event_loop::DRAIN_DEADLINE;
pub use listener::{BindError, BindFault};
#[cfg(test)]
pub(crate) use signals::EXIT_INTERRUPTED;

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A listener could not be opened.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The event loop or a thread could not be set up, or the poller failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Serves `app` as the settings say until SIGINT or SIGTERM, then drains and returns.
///
/// What the server logs (`Serving on ...`, an app's errors) goes to the `log` crate: set a
/// logger first, [`crate::logging::init`] for the binary's format, or nothing is seen.
pub fn serve(settings: &Settings, app: Arc<dyn App>) -> Result<(), ServeError> {
    Server::bind(settings, app)?.run_until_signalled(Server::announce)
}

/// A bound server, not yet running: listeners open, workers started.
pub struct Server {
    event_loop: event_loop::EventLoop,
    urls: Vec<String>,
    local_addrs: Vec<std::net::SocketAddr>,
    socket_files: Vec<listener::SocketFile>,
    stop: Arc<AtomicUsize>,
    wake: Arc<wake::WakeList>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

/// Stops a running [`Server`] from another thread, as SIGTERM does.
#[derive(Clone)]
pub struct ShutdownHandle {
    stop: Arc<AtomicUsize>,
    wake: Arc<wake::WakeList>,
}

impl std::fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let asked = self.stop.load(std::sync::atomic::Ordering::SeqCst) > 0;
        f.debug_struct("ShutdownHandle")
            .field("shutdown_asked", &asked)
            .finish_non_exhaustive()
    }
}

impl ShutdownHandle {
    /// Starts a graceful shutdown: stop accepting, finish what was received, return.
    ///
    /// [`Server::run`] returns once every connection is done: idle ones are closed at once,
    /// requests received are answered (the last with `Connection: close`), an upload under way
    /// is received and answered, and a response is sent whole, each while it keeps moving: a
    /// client that sends or reads nothing for 3 s is dropped. Past 30 s
    /// ([`DRAIN_DEADLINE`]) it returns anyway, logging what was left; a request still running
    /// then has its connection shut down, and its worker finishes in the background. Calling
    /// this again changes nothing (there is no "stop now": a process exits for that).
    pub fn shutdown(&self) {
        self.stop.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.wake.nudge();
    }
}

impl Server {
    /// Opens the listeners and starts the workers.
    pub fn bind(settings: &Settings, app: Arc<dyn App>) -> Result<Server, ServeError> {
        signals::survive_file_size_limit();
        // Chosen now, so a fallback is logged at start-up rather than at the first large body.
        temp::dir();
        let listeners = listener::open_all(settings)?;
        let urls = listeners.iter().map(|l| l.url.clone()).collect();
        let local_addrs = listeners
            .iter()
            .filter_map(|l| match &l.socket {
                listener::ListenSocket::Tcp(tcp) => tcp.local_addr().ok(),
                #[cfg(unix)]
                listener::ListenSocket::Unix(_) => None,
            })
            .collect();
        let socket_files = listeners
            .iter()
            .filter_map(|l| l.created_path.clone())
            .collect();
        let poller = Arc::new(Poller::new()?);
        let wake = wake::WakeList::new(Arc::clone(&poller));
        let stop = Arc::new(AtomicUsize::new(0));
        let handler = Arc::new(task::Handler {
            app: Arc::clone(&app),
            proxy: ProxyConfig {
                trusted_proxy: settings.trusted_proxy.clone(),
                trusted_proxy_count: settings.trusted_proxy_count,
                trusted_proxy_headers: settings.trusted_proxy_headers.clone(),
                clear_untrusted_proxy_headers: settings.clear_untrusted_proxy_headers,
                log_untrusted_proxy_headers: settings.log_untrusted_proxy_headers,
            },
            ident: settings.ident.clone(),
            expose_tracebacks: settings.expose_tracebacks,
        });
        let pool = pool::Pool::new(
            settings.threads,
            app,
            Arc::new(move |task| handler.serve(task)),
        )?;
        let channel_cfg = channel::ChannelConfig {
            limits: Limits {
                max_header_size: settings.max_request_header_size,
                max_body_size: settings.max_request_body_size,
            },
            recv_bytes: settings.recv_bytes,
            inbuf_overflow: settings.inbuf_overflow,
            lookahead: settings.channel_request_lookahead,
            ident: settings.ident.clone(),
            log_socket_errors: settings.log_socket_errors,
            spool_writer: spool::SpoolWriter::start()?,
        };
        let loop_cfg = event_loop::LoopConfig {
            connection_limit: settings.connection_limit,
            cleanup_interval: settings.cleanup_interval,
            channel_timeout: settings.channel_timeout,
            loop_timeout: settings.asyncore_loop_timeout,
            outbuf_overflow: settings.outbuf_overflow,
            outbuf_high_watermark: settings.outbuf_high_watermark,
        };
        let event_loop = event_loop::EventLoop::new(
            poller,
            listeners,
            pool,
            Arc::clone(&wake),
            channel_cfg,
            loop_cfg,
            Arc::clone(&stop),
        )?;
        Ok(Server {
            event_loop,
            urls,
            local_addrs,
            socket_files,
            stop,
            wake,
        })
    }

    /// The listeners' URLs as waitress logs them (`http://127.0.0.1:8080`), with the real
    /// port when port 0 was asked for.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The TCP addresses listened on, in the order of [`Server::urls`], with the real port when
    /// port 0 was asked for (Unix sockets are left out).
    pub fn local_addrs(&self) -> &[std::net::SocketAddr] {
        &self.local_addrs
    }

    /// Unix socket files this server created (removed when it stops).
    pub fn socket_files(&self) -> Vec<std::path::PathBuf> {
        self.socket_files.iter().map(|f| f.path.clone()).collect()
    }

    /// A handle that stops the server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            stop: Arc::clone(&self.stop),
            wake: Arc::clone(&self.wake),
        }
    }

    /// Serves until shut down, then drains what was received and returns (see
    /// [`ShutdownHandle::shutdown`] for what the drain waits for, up to 30 s).
    pub fn run(mut self) -> Result<(), ServeError> {
        self.event_loop.run()?;
        Ok(())
    }

    /// Logs `Serving on URL` for each listener, as waitress's `print_listen` does (left out by
    /// a caller that is asked to be quiet, as waitress's `serve(_quiet=True)`).
    pub fn announce(&self) {
        for url in self.urls() {
            log::info!(target: "waitress", "Serving on {url}");
        }
    }

    /// [`Server::run`] with the stop signals installed (the first SIGINT or SIGTERM drains,
    /// a second exits) and systemd told the service is ready. `ready` is called once the
    /// handlers are in place, before serving: the place to log `Serving on`
    /// ([`Server::announce`]), since a supervisor or a test that sends SIGTERM as soon as it
    /// reads that line must get the graceful stop, not the signal's default action (which
    /// killed the process, socket file left behind, in 21 of 40 tries when the line came
    /// first; as PID 1, which ignores signals it has no handler for, the stop was lost). The
    /// signals are the process's own again once this returns.
    pub fn run_until_signalled(self, ready: impl FnOnce(&Server)) -> Result<(), ServeError> {
        let _handlers = signals::install(
            self.stop.clone(),
            self.wake.clone(),
            self.socket_files.clone(),
        )?;
        ready(&self);
        systemd::notify(systemd::READY);
        self.run()
    }
}
