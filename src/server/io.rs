//! Socket and file I/O the event loop needs beyond `std`: one stream type for TCP and Unix
//! connections, positioned file reads, and `sendfile` where the platform has it.

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
        match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
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

/// Sends up to `len` bytes of `file` from `offset` to the stream; returns how many went.
/// Linux copies inside the kernel with `sendfile(2)`; elsewhere the bytes pass through
/// `scratch`.
pub fn send_file(
    stream: &Stream,
    file: &File,
    offset: u64,
    len: usize,
    scratch: &mut Vec<u8>,
) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let _ = scratch;
        sendfile_linux(stream, file, offset, len)
    }
    #[cfg(not(target_os = "linux"))]
    {
        scratch.resize(len.min(64 * 1024), 0);
        let got = read_at(file, scratch, offset)?;
        if got == 0 {
            return Ok(0);
        }
        stream.write(&scratch[..got])
    }
}

#[cfg(target_os = "linux")]
fn sendfile_linux(stream: &Stream, file: &File, offset: u64, len: usize) -> io::Result<usize> {
    use std::os::fd::{AsFd, AsRawFd};
    /// sendfile(2) moves at most 0x7ffff000 bytes per call.
    const SENDFILE_MAX: usize = 0x7fff_f000;
    let mut off = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset too large"))?;
    let out_fd = stream.as_fd().as_raw_fd();
    // SAFETY: both descriptors are open for the duration of the call (borrowed from live
    // objects), and `off` is a valid, exclusively borrowed off_t the kernel may update.
    let n = unsafe { libc::sendfile(out_fd, file.as_raw_fd(), &mut off, len.min(SENDFILE_MAX)) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}
