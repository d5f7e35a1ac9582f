//! A request body being received: in memory up to `inbuf_overflow`, then in an unnamed temp
//! file, so an upload's size costs disk rather than RAM.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use crate::app::Body;

/// Writes to the spool file are gathered into blocks this big: reads arrive `recv_bytes` (8 KiB)
/// at a time, and a `write` per read was one syscall per 8 KiB of upload.
const FILE_WRITE_BLOCK: usize = 256 * 1024;

/// A body in the making.
#[derive(Debug)]
pub struct Spool {
    memory: Vec<u8>,
    file: Option<BufWriter<File>>,
    len: u64,
    overflow: usize,
}

impl Spool {
    /// An empty spool that moves to a temp file past `overflow` bytes.
    pub fn new(overflow: usize) -> Spool {
        Spool {
            memory: Vec::new(),
            file: None,
            len: 0,
            overflow,
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
        match &mut self.file {
            Some(file) => file.write_all(data)?,
            None => self.memory.extend_from_slice(data),
        }
        self.len += data.len() as u64;
        Ok(())
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
    fn small_bodies_stay_in_memory() {
        let mut spool = Spool::new(4);
        spool.write(b"abcd").unwrap();
        let body = spool.into_body().unwrap();
        assert!(!body.is_spooled());
        assert_eq!(body.len(), 4);
    }
}
