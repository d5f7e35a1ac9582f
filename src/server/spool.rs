//! A request body being received: in memory up to `inbuf_overflow`, then in an unnamed temp
//! file, so an upload's size costs disk rather than RAM.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use crate::app::Body;

/// Writes to the spool file are gathered into blocks this big: reads arrive `recv_bytes` (8 KiB)
/// at a time, and a `write` per read was one syscall per 8 KiB of upload.
const FILE_WRITE_BLOCK: usize = 256 * 1024;

/// The least the temp file's space is reserved ahead of the bytes received, when the body's
/// length is known; past that, as much again as has arrived (so a handful of `fallocate`
/// calls per upload). Reserving ahead, not writing into a file that grows page by page, saves
/// ext4 its per-block delayed allocation. Bounded so that a client that announces a large
/// body and sends little cannot make the server reserve more than twice what it sent plus
/// this. Figures in bench/NOTES.md.
const RESERVE_AHEAD: u64 = 8 * 1024 * 1024;

/// Pieces at least this big skip the write buffer (see `Spool::write`).
const FILE_DIRECT_MIN: usize = 64 * 1024;

/// A body in the making.
#[derive(Debug)]
pub struct Spool {
    memory: Vec<u8>,
    file: Option<BufWriter<File>>,
    len: u64,
    overflow: usize,
    expected: Option<u64>,
    /// How much of the temp file has its disk space reserved (see `reserve`).
    allocated: u64,
}

impl Spool {
    /// An empty spool that moves to a temp file past `overflow` bytes.
    pub fn new(overflow: usize) -> Spool {
        Spool {
            memory: Vec::new(),
            file: None,
            len: 0,
            overflow,
            expected: None,
            allocated: 0,
        }
    }

    /// Appends body bytes.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if self.file.is_none() && self.memory.len() + data.len() > self.overflow {
            let mut file = BufWriter::with_capacity(FILE_WRITE_BLOCK, tempfile::tempfile()?);
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        if let Some(file) = &self.file {
            let end = self.len + data.len() as u64;
            if end > self.allocated {
                self.allocated = reserve(file.get_ref(), self.allocated, end, self.expected);
            }
        }
        match &mut self.file {
            // A large piece (a 256 KiB read of a spilled body) goes to the file as it is:
            // through the buffer it was copied once more, since reads rarely fill it exactly.
            Some(file) if data.len() >= FILE_DIRECT_MIN => {
                file.flush()?;
                file.get_mut().write_all(data)?;
            }
            Some(file) => file.write_all(data)?,
            None => self.memory.extend_from_slice(data),
        }
        self.len += data.len() as u64;
        Ok(())
    }

    /// The body's length when known (`Content-Length`): the temp file's space is reserved
    /// ahead as it fills (see `RESERVE_AHEAD`).
    pub fn expect(&mut self, total: u64) {
        self.expected = Some(total);
    }

    /// Whether the body went to the temp file (later bytes follow it there).
    pub fn is_spilled(&self) -> bool {
        self.file.is_some()
    }

    /// The body for the app, read from its start.
    pub fn into_body(self) -> io::Result<Body> {
        match self.file {
            Some(file) => Body::from_file(file.into_inner().map_err(|e| e.into_error())?, self.len),
            None => Ok(Body::from_bytes(self.memory)),
        }
    }
}

/// Reserves the temp file's space up to `RESERVE_AHEAD` past `end` (never past the body's
/// `expected` length); returns how far it is reserved now. Best effort: where `fallocate` is
/// missing or refused, writes simply allocate as they go.
fn reserve(file: &File, allocated: u64, end: u64, expected: Option<u64>) -> u64 {
    let target = reserve_target(end, expected);
    if target == u64::MAX {
        return target;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        if let (Ok(offset), Ok(len)) = (
            libc::off_t::try_from(allocated),
            libc::off_t::try_from(target - allocated),
        ) {
            // SAFETY: an fallocate on a descriptor we own. KEEP_SIZE: the file's length stays
            // what was written.
            unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, offset, len) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, allocated);
    target
}

/// How far to reserve once `end` bytes are written: as much again as arrived, at least
/// `RESERVE_AHEAD`, never past the expected length. `u64::MAX` (nothing to reserve) when the
/// length is unknown.
fn reserve_target(end: u64, expected: Option<u64>) -> u64 {
    match expected {
        None => u64::MAX,
        Some(total) => end
            .saturating_add(RESERVE_AHEAD.max(end))
            .min(total)
            .max(end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn spills_past_the_overflow_and_reads_back_whole() {
        let mut spool = Spool::new(4);
        spool.write(b"abc").unwrap();
        spool.write(b"defg").unwrap();
        let mut body = spool.into_body().unwrap();
        assert!(body.is_spooled());
        assert_eq!(body.len(), 7);
        let mut got = String::new();
        body.read_to_string(&mut got).unwrap();
        assert_eq!(got, "abcdefg");
    }

    #[test]
    fn space_is_reserved_ahead_but_never_far_past_what_arrived() {
        assert_eq!(reserve_target(600 << 10, None), u64::MAX);
        assert_eq!(
            reserve_target(600 << 10, Some(1 << 30)),
            (600 << 10) + RESERVE_AHEAD
        );
        assert_eq!(reserve_target(20 << 20, Some(1 << 30)), 40 << 20);
        assert_eq!(reserve_target(20 << 20, Some(30 << 20)), 30 << 20);
        // A body announced as 1 GiB of which 600 KiB arrived holds about 8.6 MiB of disk.
        let mut spool = Spool::new(4);
        spool.expect(1 << 30);
        spool.write(&vec![b'x'; 600 << 10]).unwrap();
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::MetadataExt;
            let file = spool.file.as_ref().unwrap().get_ref();
            let bytes = file.metadata().unwrap().blocks() * 512;
            assert!(
                bytes <= (600 << 10) + RESERVE_AHEAD + (1 << 20),
                "{bytes} bytes reserved"
            );
            assert_eq!(file.metadata().unwrap().len(), 600 << 10);
        }
        let mut body = spool.into_body().unwrap();
        assert_eq!(body.len(), 600 << 10);
        let mut got = Vec::new();
        body.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), 600 << 10);
    }

    #[test]
    fn small_bodies_stay_in_memory() {
        let mut spool = Spool::new(4);
        spool.write(b"abcd").unwrap();
        let body = spool.into_body().unwrap();
        assert!(!body.is_spooled());
        assert_eq!(body.len(), 4);
    }
}
