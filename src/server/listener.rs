//! Listening sockets: bound from the settings (TCP addresses or a Unix socket) or inherited
//! (explicit descriptors, or systemd socket activation).

use std::io;
use std::net::{SocketAddr, TcpListener};
#[cfg(unix)]
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};

use crate::app::environ::{Peer, ServerVars};
use crate::settings::{Bind, Settings, Sockets};

use super::io::Stream;

/// Why the server could not listen.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {what}: {source}")]
pub struct BindError {
    /// The address, path or descriptor.
    pub what: String,
    /// Who refused, which decides whether a restart can help.
    pub fault: BindFault,
    /// The system's error, or for a refusal of the server's own, one saying why (with no OS
    /// error code).
    #[source]
    pub source: io::Error,
}

/// Who refused to listen. Told by the place that failed, never read back from the error's
/// `io::ErrorKind`: the system answers EINVAL too (bind(2) for a link-local IPv6 address
/// with no scope), and that is not the settings found invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindFault {
    /// The system refused a call (socket, bind, listen, ...); its error says why: the
    /// address in use, permission denied, or anything else.
    System,
    /// A file that is not a socket is at the Unix socket path: the address is taken, as when
    /// a port is in use, and it is not this server's to delete.
    PathTaken,
    /// What `sockets` names cannot be served (a descriptor that is not a bound, unconnected
    /// stream socket; Internet and Unix sockets mixed; systemd's variables not for this
    /// process): the settings are wrong, and a restart will not change that.
    Unusable,
    /// This platform cannot do what the settings ask (Unix or inherited sockets on Windows).
    Unsupported,
}

impl BindError {
    /// The OS error code the failure stands for, for callers that report bind failures by
    /// errno (the Python package raises `OSError` with it). A system call's own code; for a
    /// refusal of the server's own, the code the system gives waitress, which makes the call
    /// waitress-rs refuses to make: bind(2)'s EADDRINUSE for a file at the Unix socket path,
    /// listen(2)'s EINVAL for a socket that cannot listen (one already connected).
    pub fn os_code(&self) -> Option<i32> {
        match self.fault {
            BindFault::System => self.source.raw_os_error(),
            #[cfg(unix)]
            BindFault::PathTaken => Some(libc::EADDRINUSE),
            #[cfg(unix)]
            BindFault::Unusable => Some(libc::EINVAL),
            _ => None,
        }
    }

    /// A refusal of the server's own: `why` is the reason given.
    fn new(fault: BindFault, what: impl Into<String>, why: impl Into<String>) -> BindError {
        BindError {
            what: what.into(),
            fault,
            source: io::Error::other(why.into()),
        }
    }
}

/// A system call failed on `what`.
fn bind_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> BindError {
    let what = what.into();
    move |source| BindError {
        what,
        fault: BindFault::System,
        source,
    }
}

/// A listening socket.
#[derive(Debug)]
pub enum ListenSocket {
    /// TCP.
    Tcp(TcpListener),
    /// Unix domain.
    #[cfg(unix)]
    Unix(UnixListener),
}

/// A listener with what the server tells requests that arrive on it.
#[derive(Debug)]
pub struct Listener {
    /// The socket.
    pub socket: ListenSocket,
    /// `http://127.0.0.1:8080`, as logged.
    pub url: String,
    /// `SERVER_PORT` and friends for requests on this listener.
    pub server: Arc<ServerVars>,
    /// The socket file this server created, removed on exit.
    pub created_path: Option<SocketFile>,
}

/// A Unix socket file this server created, known by its inode: the path is removed on exit only
/// while it is still that socket. A second instance started on the same path (a restart
/// overlapping the first one's drain) replaces the file with its own, which the first must
/// then leave alone, or the second becomes unreachable.
#[derive(Debug, Clone)]
pub struct SocketFile {
    /// The path.
    pub path: PathBuf,
    #[cfg(unix)]
    id: (u64, u64),
}

impl SocketFile {
    #[cfg(unix)]
    fn created(path: &std::path::Path) -> io::Result<SocketFile> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(path)?;
        Ok(SocketFile {
            path: path.to_owned(),
            id: (meta.dev(), meta.ino()),
        })
    }

    /// Removes the file if it is still the socket this server created.
    pub fn remove(&self) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ours = std::fs::symlink_metadata(&self.path)
                .is_ok_and(|meta| (meta.dev(), meta.ino()) == self.id);
            if ours {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

impl Listener {
    /// Accepts one connection, non-blocking, with TCP_NODELAY as waitress sets it.
    pub fn accept(&self) -> io::Result<(Stream, Peer)> {
        match &self.socket {
            ListenSocket::Tcp(l) => {
                let (socket, addr) = accept_nonblocking(l)?;
                let addr = addr
                    .as_socket()
                    .ok_or_else(|| io::Error::other("accepted a connection with no IP address"))?;
                // Responses are written whole; Nagle would only delay their last segment.
                // A failure here is this connection's, not the listener's: it carries no OS
                // error code, which is how the event loop tells the two apart.
                socket
                    .set_tcp_nodelay(true)
                    .map_err(|e| io::Error::other(format!("setting TCP_NODELAY: {e}")))?;
                Ok((Stream::Tcp(socket.into()), Peer::Tcp(addr)))
            }
            #[cfg(unix)]
            ListenSocket::Unix(l) => {
                let (socket, _) = accept_nonblocking(l)?;
                Ok((Stream::Unix(socket.into()), Peer::Unix))
            }
        }
    }

    /// Removes the socket file this server created, if it is still there.
    pub fn remove_socket_file(&self) {
        if let Some(file) = &self.created_path {
            file.remove();
        }
    }
}

/// Accepts a connection that is already non-blocking: on Linux `accept4` sets the flag in the
/// same call, saving the `ioctl(FIONBIO)` per connection that setting it afterwards costs
/// (with `Connection: close`, one syscall in fifteen per request, bench/NOTES.md).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn accept_nonblocking<L>(listener: &L) -> io::Result<(Socket, socket2::SockAddr)>
where
    for<'a> socket2::SockRef<'a>: From<&'a L>,
{
    socket2::SockRef::from(listener).accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
}

/// Accepts a connection and makes it non-blocking (where `accept4` is not available).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn accept_nonblocking<L>(listener: &L) -> io::Result<(Socket, socket2::SockAddr)>
where
    for<'a> socket2::SockRef<'a>: From<&'a L>,
{
    let (socket, addr) = socket2::SockRef::from(listener).accept()?;
    socket.set_nonblocking(true)?;
    Ok((socket, addr))
}

#[cfg(unix)]
impl std::os::fd::AsFd for Listener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match &self.socket {
            ListenSocket::Tcp(l) => l.as_fd(),
            ListenSocket::Unix(l) => l.as_fd(),
        }
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for Listener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsFd::as_fd(self).as_raw_fd()
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsRawSocket for Listener {
    fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
        match &self.socket {
            ListenSocket::Tcp(l) => l.as_raw_socket(),
        }
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsSocket for Listener {
    fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        match &self.socket {
            ListenSocket::Tcp(l) => l.as_socket(),
        }
    }
}

fn server_vars(settings: &Settings, port: String) -> Arc<ServerVars> {
    Arc::new(ServerVars {
        server_name: settings.server_name.clone(),
        server_port: port,
        url_scheme: settings.url_scheme.clone(),
        url_prefix: settings.url_prefix.clone(),
        ident: settings.ident.clone(),
    })
}

/// Opens every listener the settings ask for.
pub fn open_all(settings: &Settings) -> Result<Vec<Listener>, BindError> {
    match &settings.bind {
        Bind::Tcp(_) => settings
            .bind
            .tcp_addrs()
            .into_iter()
            .map(|addr| bind_tcp(settings, addr))
            .collect(),
        #[cfg(unix)]
        Bind::Unix(path) => Ok(vec![bind_unix(settings, path)?]),
        #[cfg(not(unix))]
        Bind::Unix(path) => Err(BindError::new(
            BindFault::Unsupported,
            path.display().to_string(),
            "Unix sockets are not supported on this platform",
        )),
        Bind::Inherited(sockets) => inherit(settings, sockets),
    }
}

fn bind_tcp(settings: &Settings, addr: SocketAddr) -> Result<Listener, BindError> {
    let what = format!("http://{addr}");
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(bind_error(&what))?;
    if addr.is_ipv6() {
        // So `*:8080` can bind 0.0.0.0 and :: side by side, as waitress does.
        socket.set_only_v6(true).map_err(bind_error(&what))?;
    }
    // waitress sets SO_REUSEADDR except on Windows, where it would allow port stealing.
    #[cfg(not(windows))]
    socket.set_reuse_address(true).map_err(bind_error(&what))?;
    socket.bind(&addr.into()).map_err(bind_error(&what))?;
    socket.listen(settings.backlog).map_err(bind_error(&what))?;
    socket.set_nonblocking(true).map_err(bind_error(&what))?;
    let listener: TcpListener = socket.into();
    let local = listener.local_addr().map_err(bind_error(&what))?;
    Ok(Listener {
        socket: ListenSocket::Tcp(listener),
        url: format!("http://{local}"),
        server: server_vars(settings, local.port().to_string()),
        created_path: None,
    })
}

/// Whether a server still listens on the Unix socket at `path`. Without waiting: a blocking
/// connect to a listener whose backlog is full (a wedged old instance, the very case) waits
/// until that listener goes away, and start-up with it. A full backlog answers a non-blocking
/// connect with EAGAIN, and counts as live.
#[cfg(unix)]
fn unix_socket_is_live(path: &std::path::Path) -> bool {
    let Ok(probe) = Socket::new(Domain::UNIX, Type::STREAM, None) else {
        return false;
    };
    let Ok(addr) = socket2::SockAddr::unix(path) else {
        return false;
    };
    if probe.set_nonblocking(true).is_err() {
        return false;
    }
    match probe.connect(&addr) {
        Ok(()) => true,
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
    }
}

#[cfg(unix)]
fn bind_unix(settings: &Settings, path: &std::path::Path) -> Result<Listener, BindError> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let what = format!("unix:{}", path.display());
    // A socket file left by a previous run is replaced; any other file is not ours to delete.
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            // As in waitress, even a live one: a restart that overlaps the old instance's
            // drain relies on it. But a second instance started by mistake takes the path
            // from a running server, which goes on unreachable: say so.
            if unix_socket_is_live(path) {
                log::warn!(target: "waitress",
                    "Replacing the socket of a server still listening at {}: it gets no new \
                     connections from now on", path.display());
            }
            std::fs::remove_file(path).map_err(bind_error(&what))?;
        } else {
            return Err(BindError::new(
                BindFault::PathTaken,
                what,
                "the path exists and is not a socket",
            ));
        }
    }
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(bind_error(&what))?;
    let addr = socket2::SockAddr::unix(path).map_err(bind_error(&what))?;
    socket.bind(&addr).map_err(bind_error(&what))?;
    let created = SocketFile::created(path).map_err(bind_error(&what))?;
    std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode(settings.unix_socket_perms.0),
    )
    .map_err(bind_error(&what))?;
    socket.listen(settings.backlog).map_err(bind_error(&what))?;
    socket.set_nonblocking(true).map_err(bind_error(&what))?;
    let listener: UnixListener = UnixListener::from(std::os::fd::OwnedFd::from(socket));
    Ok(Listener {
        socket: ListenSocket::Unix(listener),
        url: format!("http://unix:{}", path.display()),
        server: server_vars(settings, path.display().to_string()),
        created_path: Some(created),
    })
}

/// The descriptors to adopt: explicit numbers, or systemd's `LISTEN_FDS` (starting at 3).
#[cfg(unix)]
fn inherited_fds(sockets: &Sockets) -> Result<Vec<i32>, BindError> {
    /// systemd passes sockets starting at this descriptor (sd_listen_fds(3)).
    const SD_LISTEN_FDS_START: i32 = 3;
    match sockets {
        Sockets::None => Ok(Vec::new()),
        Sockets::Fds(fds) => Ok(fds.clone()),
        Sockets::Systemd => {
            let fail = |why: &str| BindError::new(BindFault::Unusable, "sockets = systemd", why);
            let pid = std::env::var("LISTEN_PID").map_err(|_| {
                fail("LISTEN_PID is not set: not started by systemd socket activation")
            })?;
            if pid.trim() != std::process::id().to_string() {
                return Err(fail("LISTEN_PID is another process's"));
            }
            let count: i32 = std::env::var("LISTEN_FDS")
                .ok()
                .and_then(|n| n.trim().parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| fail("LISTEN_FDS is not a positive number"))?;
            // Every descriptor is below the process's limit: a count past it names ones that
            // cannot exist (2^31 - 1 wrapped to none at all, and the server ran with no
            // listener; 2^31 - 8 asked for 8 GB to list them).
            let end = SD_LISTEN_FDS_START
                .checked_add(count)
                .filter(|&end| i64::from(end) <= open_files_limit().min(MAX_LISTEN_FDS))
                .ok_or_else(|| {
                    fail("LISTEN_FDS counts more descriptors than this process may have open")
                })?;
            Ok((SD_LISTEN_FDS_START..end).collect())
        }
    }
}

/// Most descriptors `LISTEN_FDS` may pass, whatever RLIMIT_NOFILE allows (with
/// LimitNOFILE=infinity it can be 2^30, and listing that many would take 4 GB). No service
/// listens on this many sockets.
#[cfg(unix)]
const MAX_LISTEN_FDS: i64 = 65_536;

/// How many descriptors this process may have open (RLIMIT_NOFILE's soft limit): every
/// descriptor number is below it.
#[cfg(unix)]
fn open_files_limit() -> i64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given, which lives for the call.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if ok {
        i64::try_from(limit.rlim_cur).unwrap_or(i64::MAX)
    } else {
        i64::MAX
    }
}

#[cfg(unix)]
fn inherit(settings: &Settings, sockets: &Sockets) -> Result<Vec<Listener>, BindError> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let fds = inherited_fds(sockets)?;
    let mut listeners = Vec::new();
    let (mut tcp, mut unix) = (false, false);
    for fd in fds {
        let what = format!("inherited fd {fd}");
        // A descriptor that cannot be served is a mistake in what `sockets` names, which a
        // restart will not fix, whatever the system's error. Said in words, with no error
        // code: to Python this is not a bind's OSError.
        let unusable = |e: io::Error| BindError::new(BindFault::Unusable, &what, e.to_string());
        // Check the descriptor is open before taking ownership of it.
        // SAFETY: `fcntl(F_GETFD)` only queries flags; it is safe on any integer.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(unusable(io::Error::last_os_error()));
        }
        // SAFETY: the descriptor is open (checked above) and was handed to this process to own
        // (by systemd or the parent that named it in `sockets`); nothing else in the process
        // uses it. Owned from here, it is closed if it is refused below.
        let socket = Socket::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let probe = socket2::SockRef::from(&socket);
        if probe.r#type().map_err(unusable)? != Type::STREAM {
            return Err(BindError::new(
                BindFault::Unusable,
                what,
                "Only Internet or UNIX stream sockets may be used.",
            ));
        }
        let local = probe.local_addr().map_err(unusable)?;
        // listen(2) on a socket never bound binds it to a port the system picks, on every
        // interface: serving where nobody will look (`Serving on http://0.0.0.0:0` was logged).
        let unbound = local.as_socket().is_some_and(|a| a.port() == 0) || local.is_unnamed();
        if unbound {
            return Err(BindError::new(
                BindFault::Unusable,
                what,
                "the socket is not bound to an address: bind it before passing it",
            ));
        }
        // listen(2) refuses a connection with EINVAL: told here, it is the settings' mistake
        // and says so, where the system's error would read as its own refusal.
        if probe.peer_addr().is_ok() {
            return Err(BindError::new(
                BindFault::Unusable,
                what,
                "the socket is connected to a peer: pass a listening socket, or one only bound",
            ));
        }
        socket.listen(settings.backlog).map_err(bind_error(&what))?;
        socket.set_nonblocking(true).map_err(bind_error(&what))?;
        if let Some(addr) = local.as_socket() {
            tcp = true;
            let listener: TcpListener = socket.into();
            listeners.push(Listener {
                socket: ListenSocket::Tcp(listener),
                url: format!("http://{addr}"),
                server: server_vars(settings, addr.port().to_string()),
                created_path: None,
            });
        } else if local.is_unix() {
            unix = true;
            let path = local
                .as_pathname()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            listeners.push(Listener {
                socket: ListenSocket::Unix(UnixListener::from(OwnedFd::from(socket))),
                url: format!("http://unix:{path}"),
                server: server_vars(settings, path),
                created_path: None,
            });
        } else {
            return Err(BindError::new(
                BindFault::Unusable,
                what,
                "Only Internet or UNIX stream sockets may be used.",
            ));
        }
        if tcp && unix {
            return Err(BindError::new(
                BindFault::Unusable,
                "sockets",
                "Internet and UNIX sockets may not be mixed.",
            ));
        }
    }
    Ok(listeners)
}

#[cfg(not(unix))]
fn inherit(_settings: &Settings, _sockets: &Sockets) -> Result<Vec<Listener>, BindError> {
    Err(BindError::new(
        BindFault::Unsupported,
        "sockets",
        "inherited sockets are supported on Unix only",
    ))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::fd::IntoRawFd;

    use super::*;
    use crate::settings::{RawSettings, Source};

    fn settings(key: &str, value: String) -> Settings {
        let mut raw = RawSettings::new();
        raw.set(key, value, Source::Default).unwrap();
        Settings::resolve(&raw).unwrap().settings
    }

    #[test]
    fn a_file_at_the_unix_socket_path_stands_for_binds_eaddrinuse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sock");
        std::fs::write(&path, b"not a socket").unwrap();
        let e = open_all(&settings("unix_socket", path.display().to_string())).unwrap_err();
        assert_eq!(e.fault, BindFault::PathTaken, "{e}");
        // What waitress's bind(2) raises there, so what the Python package raises.
        assert_eq!(e.os_code(), Some(libc::EADDRINUSE), "{e}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"not a socket",
            "the file is kept"
        );
    }

    #[test]
    fn a_connected_inherited_socket_stands_for_listens_einval() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
        // open_all takes the descriptor over (and closes it on failure).
        let fd = client.into_raw_fd();
        let e = open_all(&settings("sockets", fd.to_string())).unwrap_err();
        assert_eq!(e.fault, BindFault::Unusable, "{e}");
        assert_eq!(e.os_code(), Some(libc::EINVAL), "{e}");
        assert!(e.to_string().contains("connected to a peer"), "{e}");
    }

    #[test]
    fn a_system_failure_keeps_the_systems_code() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let e = open_all(&settings("listen", addr)).unwrap_err();
        assert_eq!(e.fault, BindFault::System, "{e}");
        assert_eq!(e.os_code(), Some(libc::EADDRINUSE), "{e}");
    }
}
