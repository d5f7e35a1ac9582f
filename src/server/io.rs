//! Socket and file I/O the event loop needs beyond `std`: one stream type for TCP and Unix
//! connections, positioned file reads, and the two ways a file reaches a socket (`sendfile`
//! where the platform has it, or a copy through the event loop's buffer).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
#[cfg(unix)]
use std::os::unix::net::UnixStream;

/// An accepted connection.
#[derive(Debug)]
pub enum Stream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix-domain connection.
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Stream {
    /// Reads without blocking.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => (&*s).read(buf),
        }
    }

    /// Writes without blocking. Takes `&self`: the worker writes while the loop may read.
    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => (&*s).write(buf),
        }
    }

    /// Writes several buffers in one system call where the platform has `writev`.
    pub fn write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).write_vectored(bufs),
            #[cfg(unix)]
            Stream::Unix(s) => (&*s).write_vectored(bufs),
        }
    }

    /// Closes the sending half, so the client sees the end of the response.
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    /// Shuts the connection down in `how`, whoever else still holds the socket.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(how),
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(how),
        }
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for Stream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Stream::Tcp(s) => s.as_fd(),
            Stream::Unix(s) => s.as_fd(),
        }
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for Stream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsFd::as_fd(self).as_raw_fd()
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsRawSocket for Stream {
    fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
        match self {
            Stream::Tcp(s) => s.as_raw_socket(),
        }
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsSocket for Stream {
    fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        match self {
            Stream::Tcp(s) => s.as_socket(),
        }
    }
}

/// Reads from `file` at `offset` without moving its cursor (the producer appends at the end).
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        // seek_read moves the cursor; writers seek to the end before appending.
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
}

/// The most bytes of a file one copy through user space moves: a file body sent by copy, or
/// output spilled to a temp file. On loopback TCP, 100 MiB went at 1.6 GB/s in 64 KiB
/// steps, 2.1 GB/s in 256 KiB ones and 2.6-3.5 GB/s in 512 KiB ones (bench/NOTES.md); the
/// buffer is the event loop's, kept once grown.
pub const COPY_BLOCK: usize = 512 * 1024;

/// How a file body goes to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSend {
    /// `sendfile(2)`: the kernel hands the file's pages to the socket without a copy.
    Sendfile,
    /// Read into the event loop's buffer and written, [`COPY_BLOCK`] at a time.
    Copy,
}

impl FileSend {
    /// The cheaper way for a connection from `peer`. Over loopback TCP the receiver copies
    /// every byte anyway, and the kernel's `sendfile` moves a file in 64 KiB pipe-sized steps
    /// with bookkeeping per page: a 100 MiB download cost the server 58-62 ms of CPU and ran at
    /// 1.6 GB/s with `sendfile`, against 33-40 ms and 2.5 GB/s copying (bench/NOTES.md). A
    /// remote peer (a network card takes the pages as they are) and a Unix socket (13 ms
    /// against 32 ms of server CPU) keep `sendfile`, where the platform has it.
    pub fn for_peer(peer: &crate::app::environ::Peer) -> FileSend {
        use crate::app::environ::Peer;
        match peer {
            _ if !cfg!(target_os = "linux") => FileSend::Copy,
            Peer::Tcp(addr) if addr.ip().to_canonical().is_loopback() => FileSend::Copy,
            _ => FileSend::Sendfile,
        }
    }
}

/// A write of pending output that failed, by the end that failed: the two are logged apart
/// (`log_socket_errors` is about the client's connection, not the server's files).
#[derive(Debug)]
pub enum WriteError {
    /// The connection: reset, closed, or would block.
    Stream(io::Error),
    /// The file the bytes come from (a file body, or output spilled to a temp file): a read
    /// error, or the file ended before the length the response promised.
    File(io::Error),
}

/// Sends up to `len` bytes of `file` from `offset` to the stream as `how` says; returns how
/// many went. A copy reads at most [`COPY_BLOCK`] into `buf`; what the socket does not take
/// of it is read again next time.
pub fn send_file(
    stream: &Stream,
    file: &File,
    offset: u64,
    len: u64,
    how: FileSend,
    buf: &mut Vec<u8>,
) -> Result<usize, WriteError> {
    #[cfg(target_os = "linux")]
    if how == FileSend::Sendfile {
        return sendfile_linux(
            stream,
            file,
            offset,
            usize::try_from(len).unwrap_or(usize::MAX),
        );
    }
    let _ = how;
    copy_from_file(stream, file, offset, len, buf)
}

/// Reads up to `len` bytes of `file` at `offset` (at most [`COPY_BLOCK`]) into `buf` and
/// writes them to the stream; returns how many the stream took. Zero means the file ended.
pub fn copy_from_file(
    stream: &Stream,
    file: &File,
    offset: u64,
    len: u64,
    buf: &mut Vec<u8>,
) -> Result<usize, WriteError> {
    let want = usize::try_from(len).unwrap_or(COPY_BLOCK).min(COPY_BLOCK);
    if buf.len() < want {
        // Grown once to COPY_BLOCK and kept by the loop.
        buf.resize(want, 0);
    }
    let got = read_at(file, &mut buf[..want], offset).map_err(WriteError::File)?;
    if got == 0 {
        return Ok(0);
    }
    stream.write(&buf[..got]).map_err(WriteError::Stream)
}

#[cfg(target_os = "linux")]
fn sendfile_linux(
    stream: &Stream,
    file: &File,
    offset: u64,
    len: usize,
) -> Result<usize, WriteError> {
    use std::os::fd::{AsFd, AsRawFd};
    /// sendfile(2) moves at most 0x7ffff000 bytes per call.
    const SENDFILE_MAX: usize = 0x7fff_f000;
    let mut off = libc::off_t::try_from(offset).map_err(|_| {
        WriteError::File(io::Error::new(
            io::ErrorKind::InvalidInput,
            "file offset too large",
        ))
    })?;
    let out_fd = stream.as_fd().as_raw_fd();
    // SAFETY: both descriptors are open for the duration of the call (borrowed from live
    // objects), and `off` is a valid, exclusively borrowed off_t the kernel may update.
    let n = unsafe { libc::sendfile(out_fd, file.as_raw_fd(), &mut off, len.min(SENDFILE_MAX)) };
    if n < 0 {
        // Both ends' errors come back alike: a socket's are told by their kind, and the rest
        // (EIO, EINVAL, ENOMEM, EOVERFLOW) concern the file.
        let e = io::Error::last_os_error();
        use io::ErrorKind::*;
        return Err(match e.kind() {
            WouldBlock | Interrupted | BrokenPipe | ConnectionReset | ConnectionAborted
            | NotConnected | TimedOut | HostUnreachable | NetworkUnreachable | NetworkDown => {
                WriteError::Stream(e)
            }
            _ => WriteError::File(e),
        });
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::environ::Peer;

    fn tcp(addr: &str) -> Peer {
        Peer::Tcp(addr.parse().unwrap())
    }

    #[test]
    fn loopback_tcp_peers_get_copies_and_others_sendfile_where_linux_has_it() {
        for local in [
            "127.0.0.1:80",
            "127.8.9.10:80",
            "[::1]:80",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert_eq!(FileSend::for_peer(&tcp(local)), FileSend::Copy, "{local}");
        }
        let far = if cfg!(target_os = "linux") {
            FileSend::Sendfile
        } else {
            FileSend::Copy
        };
        for remote in ["192.0.2.7:80", "[2001:db8::1]:80", "[::ffff:192.0.2.7]:80"] {
            assert_eq!(FileSend::for_peer(&tcp(remote)), far, "{remote}");
        }
        assert_eq!(FileSend::for_peer(&Peer::Unix), far);
    }
}
