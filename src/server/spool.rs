//! A request body being received: in memory up to `inbuf_overflow`, then in an unnamed temp
//! file, so an upload's size costs disk rather than RAM.
//!
//! Past the overflow, the event loop only gathers the body into blocks; the spool writer, a
//! thread of its own, writes them to the file. The loop never waits on the disk (a slow disk
//! would otherwise stall every connection), and receiving and writing an upload overlap: a
//! 100 MiB upload went from 1,918 to 2,186 MiB/s when the writes moved off the loop
//! (bench/NOTES.md). A connection stops reading while `MAX_BLOCKS_IN_FLIGHT` of its blocks wait
//! for the writer, so a fast client cannot pile blocks up in memory.

use std::fs::File;
use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::app::Body;

use super::wake::Waker;

/// The unit the writer writes: reads of a spilled body arrive 256 KiB at a time, and a `write`
/// per 8 KiB read (`recv_bytes`) was one syscall per 8 KiB of upload.
const BLOCK: usize = 256 * 1024;

/// Blocks of one body queued for or being written at once; more and the connection waits.
/// With the block being filled that is 2.25 MiB of memory per upload in progress.
const MAX_BLOCKS_IN_FLIGHT: usize = 8;

/// A connection that waited for the writer reads again once its blocks in flight are down to
/// this many, not at the first one written: a wake-up per 256 KiB block kept the loop and the
/// writer taking turns rather than working at once.
const RESUME_AT: usize = MAX_BLOCKS_IN_FLIGHT / 2;

/// The least the temp file's space is reserved ahead of the bytes received, when the body's
/// length is known; past that, as much again as has arrived (so a handful of `fallocate`
/// calls per upload). Reserving ahead, not writing into a file that grows page by page, saves
/// ext4 its per-block delayed allocation. Bounded so that a client that announces a large
/// body and sends little cannot make the server reserve more than twice what it sent plus
/// this. Figures in bench/NOTES.md.
const RESERVE_AHEAD: u64 = 8 * 1024 * 1024;

/// The spool writer: a handle for sending it blocks. The thread ends once every handle (and
/// every spool holding one) is gone.
#[derive(Debug, Clone)]
pub struct SpoolWriter {
    blocks: mpsc::Sender<Block>,
}

impl SpoolWriter {
    /// Starts the writer thread, `waitress-spool`.
    pub fn start() -> io::Result<SpoolWriter> {
        let (blocks, queue) = mpsc::channel::<Block>();
        std::thread::Builder::new()
            .name("waitress-spool".into())
            .spawn(move || {
                for block in queue {
                    block.write();
                }
            })?;
        Ok(SpoolWriter { blocks })
    }
}

/// One block of a body, for the writer.
struct Block {
    file: Arc<File>,
    offset: u64,
    data: Vec<u8>,
    progress: Arc<Progress>,
}

impl Block {
    fn write(self) {
        let Block {
            file,
            offset,
            data,
            progress,
        } = self;
        let (skip, reserved, expected) = {
            let state = progress.lock();
            let skip = state.abandoned || state.error.is_some();
            (skip, state.reserved, state.expected)
        };
        // Outside the lock, which the loop takes: the loop never waits on the disk.
        let (reserved, written) = if skip {
            (reserved, Ok(()))
        } else {
            let end = offset + data.len() as u64;
            let reserved = reserve(&file, reserved, end, expected);
            (reserved, write_all_at(&file, &data, offset))
        };
        // The file is let go before the spool can see the last block done, so it can take the
        // file back for the app (see `Spool::into_body`).
        drop(file);
        let mut state = progress.lock();
        state.in_flight -= 1;
        state.reserved = reserved;
        if let Err(e) = written {
            state.error.get_or_insert(e);
        }
        if state.free.len() < MAX_BLOCKS_IN_FLIGHT {
            let mut data = data;
            data.clear();
            state.free.push(data);
        }
        let wake = state.waiting && state.in_flight <= RESUME_AT;
        if wake {
            state.waiting = false;
        }
        drop(state);
        if wake {
            progress.waker.wake();
        }
    }
}

/// What the loop and the writer share about one spilled body.
struct Progress {
    state: Mutex<WriteState>,
    /// Tells the loop when the connection can go on (see `WriteState::waiting`).
    waker: Waker,
}

impl Progress {
    fn lock(&self) -> MutexGuard<'_, WriteState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Default)]
struct WriteState {
    /// Blocks sent and not yet written.
    in_flight: usize,
    /// The first write that failed; the body is then lost and the request answered 500.
    error: Option<io::Error>,
    /// Written blocks' buffers, for the next blocks.
    free: Vec<Vec<u8>>,
    /// How far the file's space is reserved (see `reserve`).
    reserved: u64,
    /// The body's length when known.
    expected: Option<u64>,
    /// The loop is waiting on this body (to read more, or for it to be written): wake it once
    /// `RESUME_AT` or fewer blocks are left.
    waiting: bool,
    /// The connection went away: blocks still queued are not written.
    abandoned: bool,
}

/// A body in the making.
#[derive(Debug)]
pub struct Spool {
    store: Store,
    len: u64,
    overflow: usize,
    expected: Option<u64>,
    writer: SpoolWriter,
    waker: Waker,
}

/// Where a spool's bytes are: all in memory until the body passes `overflow`, then all in the
/// file (what was in memory becomes its first block).
#[derive(Debug)]
enum Store {
    Memory(Vec<u8>),
    Spilled(Spilled),
}

/// The part of a spool that went to the file.
struct Spilled {
    file: Arc<File>,
    /// The block being filled; it starts at `offset`.
    block: Vec<u8>,
    offset: u64,
    progress: Arc<Progress>,
}

impl std::fmt::Debug for Spilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spilled")
            .field("offset", &self.offset)
            .field("block", &self.block.len())
            .finish_non_exhaustive()
    }
}

impl Spilled {
    /// Hands the block being filled to the writer.
    fn send(&mut self, writer: &SpoolWriter) -> io::Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let next = {
            let mut state = self.progress.lock();
            if let Some(e) = &state.error {
                return Err(io::Error::new(e.kind(), e.to_string()));
            }
            state.in_flight += 1;
            state.free.pop()
        };
        let next = next.unwrap_or_else(|| Vec::with_capacity(BLOCK));
        let data = std::mem::replace(&mut self.block, next);
        let offset = self.offset;
        self.offset += data.len() as u64;
        let block = Block {
            file: Arc::clone(&self.file),
            offset,
            data,
            progress: Arc::clone(&self.progress),
        };
        writer.blocks.send(block).map_err(|_| {
            self.progress.lock().in_flight -= 1;
            io::Error::other("the spool writer has stopped")
        })
    }
}

impl Spool {
    /// An empty spool that moves to a temp file past `overflow` bytes, written by `writer`;
    /// `waker` tells the loop about the connection when it can go on.
    pub fn new(overflow: usize, writer: SpoolWriter, waker: Waker) -> Spool {
        Spool {
            store: Store::Memory(Vec::new()),
            len: 0,
            overflow,
            expected: None,
            writer,
            waker,
        }
    }

    /// Appends body bytes.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if let Store::Memory(memory) = &mut self.store
            && memory.len() + data.len() > self.overflow
        {
            let file = super::temp::file()?;
            // What is in memory becomes the first block, without a copy.
            let mut block = std::mem::take(memory);
            block.reserve(BLOCK.saturating_sub(block.len()));
            let progress = Arc::new(Progress {
                state: Mutex::new(WriteState {
                    expected: self.expected,
                    ..WriteState::default()
                }),
                waker: self.waker.clone(),
            });
            self.store = Store::Spilled(Spilled {
                file: Arc::new(file),
                block,
                offset: 0,
                progress,
            });
        }
        self.len += data.len() as u64;
        let spilled = match &mut self.store {
            Store::Memory(memory) => {
                memory.extend_from_slice(data);
                return Ok(());
            }
            Store::Spilled(spilled) => spilled,
        };
        let mut data = data;
        while !data.is_empty() {
            let room = BLOCK.saturating_sub(spilled.block.len()).max(1);
            let (now, rest) = data.split_at(room.min(data.len()));
            spilled.block.extend_from_slice(now);
            data = rest;
            if spilled.block.len() >= BLOCK {
                spilled.send(&self.writer)?;
            }
        }
        Ok(())
    }

    /// The body's length when known (`Content-Length`): the temp file's space is reserved
    /// ahead as it fills (see `RESERVE_AHEAD`).
    pub fn expect(&mut self, total: u64) {
        self.expected = Some(total);
    }

    /// Whether the body went to the temp file (later bytes follow it there).
    pub fn is_spilled(&self) -> bool {
        matches!(self.store, Store::Spilled(_))
    }

    /// Whether more of the body may be read now: not while `MAX_BLOCKS_IN_FLIGHT` blocks wait
    /// for the writer. When not, the connection is woken once a block is written.
    pub fn takes_more(&self) -> bool {
        let Store::Spilled(spilled) = &self.store else {
            return true;
        };
        let mut state = spilled.progress.lock();
        let limit = if state.waiting {
            RESUME_AT
        } else {
            MAX_BLOCKS_IN_FLIGHT - 1
        };
        let takes = state.in_flight <= limit;
        state.waiting = !takes;
        takes
    }

    /// The body is complete: sends the last block to the writer.
    pub fn finish(&mut self) -> io::Result<()> {
        match &mut self.store {
            Store::Spilled(spilled) => spilled.send(&self.writer),
            Store::Memory(_) => Ok(()),
        }
    }

    /// Whether every block sent is written (or failed). When not, the connection is woken
    /// once they are.
    pub fn is_stored(&self) -> bool {
        let Store::Spilled(spilled) = &self.store else {
            return true;
        };
        let mut state = spilled.progress.lock();
        let stored = state.in_flight == 0;
        state.waiting |= !stored;
        stored
    }

    /// The body for the app, read from its start, once [`Spool::is_stored`]. An error if a
    /// write failed.
    pub fn into_body(mut self) -> io::Result<Body> {
        let spilled = match std::mem::replace(&mut self.store, Store::Memory(Vec::new())) {
            Store::Memory(memory) => return Ok(Body::from_bytes(memory)),
            Store::Spilled(spilled) => spilled,
        };
        if let Some(e) = spilled.progress.lock().error.take() {
            return Err(e);
        }
        let file = match Arc::try_unwrap(spilled.file) {
            Ok(file) => file,
            // Only if called before the writer let go of it.
            Err(shared) => shared.try_clone()?,
        };
        Body::from_file(file, self.len)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Store::Spilled(spilled) = &self.store {
            spilled.progress.lock().abandoned = true;
        }
    }
}

/// Writes all of `data` at `offset`, leaving the file's cursor alone where the platform can.
fn write_all_at(file: &File, data: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, data, offset)
    }
    #[cfg(windows)]
    {
        let (mut data, mut offset) = (data, offset);
        while !data.is_empty() {
            match std::os::windows::fs::FileExt::seek_write(file, data, offset) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    data = &data[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Reserves the temp file's space up to `RESERVE_AHEAD` past `end` (never past the body's
/// `expected` length); returns how far it is reserved now. Best effort: where `fallocate` is
/// missing or refused, writes simply allocate as they go.
fn reserve(file: &File, reserved: u64, end: u64, expected: Option<u64>) -> u64 {
    if end <= reserved {
        return reserved;
    }
    let target = reserve_target(end, expected);
    if target == u64::MAX {
        return target;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        if let (Ok(offset), Ok(len)) = (
            libc::off_t::try_from(reserved),
            libc::off_t::try_from(target - reserved),
        ) {
            // SAFETY: an fallocate on a descriptor we own. KEEP_SIZE: the file's length stays
            // what was written.
            unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, offset, len) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
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
    use std::time::{Duration, Instant};

    use super::super::wake::{ConnId, WakeList};

    /// A spool with its own writer, and the wake list its waker reports to.
    fn spool(overflow: usize) -> (Spool, Arc<WakeList>) {
        let poller = Arc::new(polling::Poller::new().unwrap());
        let list = WakeList::new(poller);
        let waker = Waker::new(
            Arc::clone(&list),
            ConnId {
                slot: 7,
                generation: 1,
            },
        );
        (
            Spool::new(overflow, SpoolWriter::start().unwrap(), waker),
            list,
        )
    }

    /// Waits up to 5 s for the spool's blocks to be written.
    fn stored(spool: &Spool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !spool.is_stored() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        spool.is_stored()
    }

    fn read_all(mut body: Body) -> Vec<u8> {
        let mut got = Vec::new();
        body.read_to_end(&mut got).unwrap();
        got
    }

    #[test]
    fn spills_past_the_overflow_and_reads_back_whole() {
        let (mut spool, _) = spool(4);
        spool.write(b"abc").unwrap();
        spool.write(b"defg").unwrap();
        spool.finish().unwrap();
        assert!(stored(&spool));
        let body = spool.into_body().unwrap();
        assert!(body.is_spooled());
        assert_eq!(body.len(), 7);
        assert_eq!(read_all(body), b"abcdefg");
    }

    #[test]
    fn many_blocks_arrive_in_order() {
        // Blocks are written by offset, so the file holds the bytes in the order they came
        // whatever order the writer took them in.
        let (mut spool, _) = spool(1024);
        let data: Vec<u8> = (0..3 * BLOCK + 12_345).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(10_000) {
            while !spool.takes_more() {
                std::thread::sleep(Duration::from_millis(1));
            }
            spool.write(piece).unwrap();
        }
        spool.finish().unwrap();
        assert!(stored(&spool));
        assert_eq!(read_all(spool.into_body().unwrap()), data);
    }

    #[test]
    fn a_full_queue_stops_reading_and_wakes_the_connection_when_it_has_drained_enough() {
        // A writer whose queue the test works by hand, so the queue stays full until it does.
        let (blocks, queue) = mpsc::channel::<Block>();
        let (mut spool, list) = spool(16);
        spool.writer = SpoolWriter { blocks };
        let mut sent = 0;
        while spool.takes_more() {
            assert!(sent <= (MAX_BLOCKS_IN_FLIGHT + 1) * BLOCK, "never refused");
            spool.write(&vec![b'x'; BLOCK]).unwrap();
            sent += BLOCK;
        }
        assert_eq!(sent, MAX_BLOCKS_IN_FLIGHT * BLOCK);
        let mut woken = Vec::new();
        list.drain(&mut woken);
        assert!(woken.is_empty());
        // Blocks written: the connection is woken, and may read again, once few are left.
        for written in 1..=MAX_BLOCKS_IN_FLIGHT - RESUME_AT {
            assert!(
                !spool.takes_more(),
                "reads again after {written} of the blocks"
            );
            queue.try_recv().unwrap().write();
        }
        list.drain(&mut woken);
        assert_eq!(woken.iter().map(|id| id.slot).collect::<Vec<_>>(), [7]);
        assert!(spool.takes_more());
        // The rest, and the body reads back whole.
        spool.finish().unwrap();
        while let Ok(block) = queue.try_recv() {
            block.write();
        }
        assert!(spool.is_stored());
        assert_eq!(read_all(spool.into_body().unwrap()).len(), sent);
    }

    #[test]
    fn a_failed_write_fails_the_body() {
        let (blocks, queue) = mpsc::channel::<Block>();
        let (mut spool, _) = spool(16);
        spool.writer = SpoolWriter { blocks };
        spool.write(&vec![b'x'; BLOCK]).unwrap();
        spool.finish().unwrap();
        // The write fails: a file opened read-only stands in for a full disk.
        let mut block = queue.try_recv().unwrap();
        let path = tempfile::NamedTempFile::new().unwrap();
        block.file = Arc::new(File::open(path.path()).unwrap());
        block.write();
        assert!(spool.is_stored());
        assert!(spool.into_body().is_err());
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
        let (mut spool, _) = spool(4);
        spool.expect(1 << 30);
        spool.write(&vec![b'x'; 600 << 10]).unwrap();
        spool.finish().unwrap();
        assert!(stored(&spool));
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::MetadataExt;
            let Store::Spilled(spilled) = &spool.store else {
                panic!("600 KiB past the overflow must have spilled");
            };
            let file = &spilled.file;
            let bytes = file.metadata().unwrap().blocks() * 512;
            assert!(
                bytes <= (600 << 10) + RESERVE_AHEAD + (1 << 20),
                "{bytes} bytes reserved"
            );
            assert_eq!(file.metadata().unwrap().len(), 600 << 10);
        }
        let body = spool.into_body().unwrap();
        assert_eq!(body.len(), 600 << 10);
        assert_eq!(read_all(body).len(), 600 << 10);
    }

    #[test]
    fn small_bodies_stay_in_memory() {
        let (mut spool, _) = spool(4);
        spool.write(b"abcd").unwrap();
        spool.finish().unwrap();
        assert!(spool.is_stored());
        let body = spool.into_body().unwrap();
        assert!(!body.is_spooled());
        assert_eq!(body.len(), 4);
    }
}
