//! A connection's pending output, shared between the worker that produces it and the event
//! loop that writes it to the socket.
//!
//! When nothing is queued, the worker writes straight to the (non-blocking) socket under the
//! queue's lock, so a response that fits the socket buffer never waits for the loop: measured
//! with wrk on the hello example at 50 connections: 67.6k req/s queueing everything for the
//! loop, 108k writing directly with the head and first body bytes in one writev.
//! Whatever the socket does not take is queued, in order, for the loop.
//!
//! Bytes stay in memory up to `outbuf_overflow`, then go to an unnamed temp file, so a slow
//! client reading a large response costs disk, not RAM. The producer blocks while more than
//! `outbuf_high_watermark` bytes are pending (the backpressure waitress applies to apps).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::app::ClientStatus;

use super::io::{FileSend, Stream, WriteError, copy_from_file, send_file};
use super::wake::Waker;

/// Small writes queued behind others are appended to the last in-memory block while it is
/// smaller than this, so a backlog of small parts is a few blocks (one allocation each), not
/// one per part. Not a throughput knob: a write with nothing queued ahead goes straight to the
/// socket, and 0, 4, 16 and 64 KiB measured the same for an app writing 100-byte parts
/// (bench/NOTES.md, session 17).
const COALESCE_LIMIT: usize = 16 * 1024;

/// The most parts one direct `writev` takes: a response's head and first body parts fit (the
/// task's writer pushes at most three, and sizes its array by this), and the slices sit on the
/// stack, where a `Vec` was an allocation per response.
pub(super) const WRITEV_PARTS: usize = 4;

/// One piece of pending output, in order.
#[derive(Debug)]
enum Chunk {
    /// Bytes in memory; `pos` of them already written.
    Memory { buf: Vec<u8>, pos: usize },
    /// Bytes spilled to an unnamed temp file: `read..write` are pending.
    Spilled { file: File, read: u64, write: u64 },
    /// A file body sent as is (see [`FileSend`]).
    File {
        file: File,
        pos: u64,
        remaining: u64,
    },
}

impl Chunk {
    fn pending(&self) -> u64 {
        match self {
            Chunk::Memory { buf, pos } => (buf.len() - pos) as u64,
            Chunk::Spilled { read, write, .. } => write - read,
            Chunk::File { remaining, .. } => *remaining,
        }
    }
}

/// How the response that just finished leaves the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Keep it open for the next request.
    KeepAlive,
    /// Close it once the output is written.
    Close,
}

#[derive(Debug, Default)]
struct State {
    chunks: VecDeque<Chunk>,
    /// Bytes queued and not yet written.
    pending: u64,
    /// Bytes held in memory chunks.
    in_memory: usize,
    /// The connection is gone: producers get an error instead of blocking forever.
    closed: bool,
    /// The producer finished the current response, and when: the connection's idle time
    /// (`channel_timeout`) counts from there. The loop may learn of a quiet finish only at its
    /// next cleanup pass, and a worker that wrote the whole response itself left the loop's
    /// own clock at the request's arrival: a keep-alive connection whose response took longer
    /// than `channel_timeout` was closed as idle right after it, losing the client's next
    /// request. One clock read per response (~25 ns, vDSO).
    finished: Option<(Finished, Instant)>,
    /// When `pending` last rose from zero.
    pending_since: Option<Instant>,
    /// The event loop has nothing to do when this response finishes (everything written, the
    /// connection kept, no input waiting), so `finish` need not wake it: it learns of the
    /// finish with the next readable event. Set by the loop, under this lock, each time it
    /// hands out a request.
    quiet_finish: bool,
    /// Producers blocked in `wait_for_room`. std's `Condvar::notify_all` is a `futex` call
    /// whether or not anyone waits; with `Connection: close` the close and the flush made
    /// two per request for no one (2.9 `futex` calls per request against hyper's 0.35,
    /// bench/NOTES.md).
    waiting_producers: usize,
}

/// What a write to the socket achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes written by this call.
    pub written: u64,
    /// Whether output is still pending (the socket would block).
    pub pending: bool,
}

/// A connection's output queue.
#[derive(Debug)]
pub struct Output {
    state: Mutex<State>,
    /// Signalled when pending output falls to the high-water mark or the connection closes.
    drained: Condvar,
    overflow: usize,
    high_watermark: u64,
    waker: Waker,
    stream: Arc<Stream>,
    file_send: FileSend,
    /// The server stops after the response being produced: its head says `Connection: close`.
    last_response: std::sync::atomic::AtomicBool,
    /// The client is gone (closed, failed, or ended its side), for the app to ask through
    /// [`ClientStatus`]. An atomic beside `State::closed`, so asking takes no lock.
    gone: Arc<std::sync::atomic::AtomicBool>,
}

impl Output {
    /// The queue of `stream`, spilling past `overflow` bytes, blocking producers past
    /// `high_watermark`, and sending file bodies as `file_send` says.
    pub fn new(
        stream: Arc<Stream>,
        file_send: FileSend,
        overflow: usize,
        high_watermark: usize,
        waker: Waker,
    ) -> Arc<Output> {
        Arc::new(Output {
            state: Mutex::new(State::default()),
            drained: Condvar::new(),
            overflow,
            high_watermark: high_watermark as u64,
            waker,
            stream,
            file_send,
            last_response: std::sync::atomic::AtomicBool::new(false),
            gone: Arc::default(),
        })
    }

    /// What the app may ask about the client of this connection.
    pub fn client_status(&self) -> ClientStatus {
        ClientStatus::new(Arc::clone(&self.gone))
    }

    /// Records that the client is gone: the connection closed (see [`Output::close`]) or the
    /// client ended its side of it. After an EOF the response is still written (RFC 9112 §9.6
    /// lets a client half-close), but an app that asks may stop early.
    pub fn mark_client_gone(&self) {
        self.gone.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The waker of this output's connection, for others with news about it (the spool
    /// writer).
    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Marks the response now being produced as the connection's last (shutdown began while
    /// its request was with a worker).
    pub fn make_last(&self) {
        self.last_response
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the response now being produced must close the connection.
    pub fn is_last(&self) -> bool {
        self.last_response.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only byte counts behind; carry on with them.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `parts` in order, first waiting while more than the high-water mark is pending.
    /// With nothing queued they go straight to the socket in one `writev`; what it does not
    /// take is queued for the loop.
    pub fn push(&self, parts: &[&[u8]]) -> io::Result<()> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total == 0 {
            return Ok(());
        }
        let mut state = self.wait_for_room()?;
        let mut skip = 0;
        if state.pending == 0 {
            skip = self.write_directly(parts, total);
            if skip == total {
                return Ok(());
            }
        }
        let was_empty = state.pending == 0;
        for part in parts {
            let from = skip.min(part.len());
            skip -= from;
            if from < part.len() {
                self.append(&mut state, &part[from..])?;
            }
        }
        drop(state);
        if was_empty {
            self.waker.wake();
        }
        Ok(())
    }

    /// Writes as much of `parts` as the socket takes now; returns how many bytes went. Errors
    /// are left for the loop to meet when it writes the rest.
    fn write_directly(&self, parts: &[&[u8]], total: usize) -> usize {
        let mut written = 0;
        while written < total {
            let mut skip = written;
            let mut slices = [io::IoSlice::new(&[]); WRITEV_PARTS];
            let mut count = 0;
            for part in parts {
                let from = skip.min(part.len());
                skip -= from;
                if from < part.len() {
                    let Some(slot) = slices.get_mut(count) else {
                        break; // the rest goes in the next round
                    };
                    *slot = io::IoSlice::new(&part[from..]);
                    count += 1;
                }
            }
            match self.stream.write_vectored(&slices[..count]) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        written
    }

    /// Queues bytes from the event loop itself, which must never block: no high-water wait
    /// (the loop writes what it queues right after).
    pub fn push_now(&self, data: &[u8]) {
        debug_assert!(!data.is_empty());
        let mut state = self.lock();
        if !state.closed {
            if let Err(e) = self.append(&mut state, data) {
                log::error!(target: "waitress", "Could not queue output: {e}");
            }
        }
    }

    /// Queues `len` bytes of `file` from `offset`.
    pub fn push_file(&self, file: File, offset: u64, len: u64) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let mut state = self.wait_for_room()?;
        let was_empty = state.pending == 0;
        state.chunks.push_back(Chunk::File {
            file,
            pos: offset,
            remaining: len,
        });
        if state.pending == 0 {
            state.pending_since = Some(Instant::now());
        }
        state.pending += len;
        drop(state);
        if was_empty {
            self.waker.wake();
        }
        Ok(())
    }

    /// Marks the current response as finished and wakes the event loop, unless the loop said
    /// it has nothing to do then (see [`Output::set_quiet_finish`]).
    ///
    /// A response that closes the connection and is all written also half-closes it here: the
    /// server's next step is that or a close either way (see `Channel::linger`). Taken here,
    /// without waiting for the loop to run, the FIN reaches the client before it closes its
    /// own end, so TIME-WAIT stays on the server's side instead of piling up among the
    /// client's ports (`wrk -H 'Connection: close'` at 50 connections: 29.3k -> 40.2k req/s,
    /// p99 12.2 -> 3.2 ms, bench/NOTES.md), and a client reading to EOF is not kept waiting.
    pub fn finish(&self, how: Finished) {
        let at = Instant::now();
        let mut state = self.lock();
        state.finished = Some((how, at));
        let all_written = state.pending == 0;
        if how == Finished::Close && all_written && !state.closed {
            // An error only means the connection is gone; the loop meets it when it closes.
            let _ = self.stream.shutdown_write();
        }
        let quiet = state.quiet_finish && how == Finished::KeepAlive && all_written;
        drop(state);
        if !quiet {
            self.waker.wake();
        }
    }

    /// Whether the next `finish` may skip waking the loop. Skipping saves the loop a wake-up
    /// and a pass over the connection per request (hello world at 50 connections: see
    /// bench/NOTES.md). Returns whether the response already finished with everything
    /// written, in which case the loop must look at the connection itself. (With output
    /// still queued, the loop hears of the finish when the socket takes the rest; counting
    /// that as news spun the loop while a client did not read.)
    pub fn set_quiet_finish(&self, quiet: bool) -> bool {
        let mut state = self.lock();
        state.quiet_finish = quiet;
        state.finished.is_some() && state.pending == 0
    }

    /// Takes the finish mark, and when the response finished, once everything before it was
    /// written.
    pub fn take_finished(&self) -> Option<(Finished, Instant)> {
        let mut state = self.lock();
        if state.pending == 0 && state.finished.is_some() {
            // The next response is the loop's to announce as quiet (or not).
            state.quiet_finish = false;
            state.finished.take()
        } else {
            None
        }
    }

    /// Whether bytes are waiting to be written.
    pub fn has_pending(&self) -> bool {
        self.lock().pending > 0
    }

    /// Since when bytes have been waiting, if any are: the time pending output last rose from
    /// none.
    pub fn pending_since(&self) -> Option<Instant> {
        let state = self.lock();
        if state.pending > 0 {
            state.pending_since
        } else {
            None
        }
    }

    /// Marks the connection gone: queued output is dropped and blocked producers fail.
    pub fn close(&self) {
        self.mark_client_gone();
        let mut state = self.lock();
        state.closed = true;
        state.chunks.clear();
        state.pending = 0;
        state.in_memory = 0;
        let wake = state.waiting_producers > 0;
        drop(state);
        if wake {
            self.drained.notify_all();
        }
    }

    /// Whether the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    fn wait_for_room(&self) -> io::Result<MutexGuard<'_, State>> {
        let mut state = self.lock();
        while !state.closed && state.pending > self.high_watermark {
            state.waiting_producers += 1;
            state = self.drained.wait(state).unwrap_or_else(|p| p.into_inner());
            state.waiting_producers -= 1;
        }
        if state.closed {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "client disconnected",
            ));
        }
        Ok(state)
    }

    fn append(&self, state: &mut State, data: &[u8]) -> io::Result<()> {
        let len = data.len();
        match state.chunks.back_mut() {
            // Once output has spilled, later bytes follow it into the file to keep order.
            Some(Chunk::Spilled { file, write, .. }) => {
                // Reads from the file are positioned and leave the cursor at the end on Unix;
                // Windows' positioned read moves it, so it is put back there first (on Unix a
                // syscall per appended part for nothing: 198 of ~1,800 per 100 MiB app download).
                #[cfg(windows)]
                io::Seek::seek(file, io::SeekFrom::End(0))?;
                file.write_all(data)?;
                *write += len as u64;
            }
            _ if state.in_memory + len > self.overflow => {
                let mut file = super::temp::file()?;
                file.write_all(data)?;
                state.chunks.push_back(Chunk::Spilled {
                    file,
                    read: 0,
                    write: len as u64,
                });
            }
            Some(Chunk::Memory { buf, .. }) if buf.len() + len <= COALESCE_LIMIT => {
                buf.extend_from_slice(data);
                state.in_memory += len;
            }
            _ => {
                state.chunks.push_back(Chunk::Memory {
                    buf: data.to_vec(),
                    pos: 0,
                });
                state.in_memory += len;
            }
        }
        if state.pending == 0 {
            state.pending_since = Some(Instant::now());
        }
        state.pending += len as u64;
        Ok(())
    }

    /// Writes as much pending output as the socket takes without blocking. Bytes from files
    /// (spilled output, file bodies sent by copy) pass through `scratch`, the event loop's.
    pub fn write_to(&self, scratch: &mut Vec<u8>) -> Result<Progress, WriteError> {
        let stream = &*self.stream;
        let mut state = self.lock();
        let mut written = 0u64;
        let result = loop {
            let Some(chunk) = state.chunks.front_mut() else {
                break Ok(());
            };
            if chunk.pending() == 0 {
                if let Some(Chunk::Memory { buf, .. }) = state.chunks.pop_front() {
                    state.in_memory -= buf.len();
                }
                continue;
            }
            let step = match chunk {
                Chunk::Memory { buf, pos } => stream
                    .write(&buf[*pos..])
                    .map_err(WriteError::Stream)
                    .inspect(|&n| *pos += n),
                Chunk::Spilled { file, read, write } => {
                    copy_from_file(stream, file, *read, *write - *read, scratch).and_then(|n| {
                        if n == 0 {
                            return Err(WriteError::File(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "spill file shrank",
                            )));
                        }
                        *read += n as u64;
                        Ok(n)
                    })
                }
                Chunk::File {
                    file,
                    pos,
                    remaining,
                } => send_file(stream, file, *pos, *remaining, self.file_send, scratch).and_then(
                    |n| {
                        if n == 0 {
                            // The file is shorter than promised: nothing more will come.
                            return Err(WriteError::File(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "the file ended before the length sent",
                            )));
                        }
                        *pos += n as u64;
                        *remaining -= n as u64;
                        Ok(n)
                    },
                ),
            };
            match step {
                Ok(0) => {
                    let closed = io::Error::new(io::ErrorKind::WriteZero, "socket closed");
                    break Err(WriteError::Stream(closed));
                }
                Ok(n) => {
                    written += n as u64;
                    state.pending -= n as u64;
                }
                Err(WriteError::Stream(e)) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(WriteError::Stream(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let pending = state.pending > 0;
        let wake = state.waiting_producers > 0 && state.pending <= self.high_watermark;
        drop(state);
        if wake && written > 0 {
            self.drained.notify_all();
        }
        result.map(|()| Progress { written, pending })
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::server::wake::{ConnId, WakeList};
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    /// An output over one end of a socket pair, and the other end.
    fn output_and_peer() -> (Arc<Output>, UnixStream) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let poller = Arc::new(polling::Poller::new().unwrap());
        let waker = Waker::new(
            WakeList::new(poller),
            ConnId {
                slot: 0,
                generation: 0,
            },
        );
        let output = Output::new(
            Arc::new(Stream::Unix(ours)),
            FileSend::Sendfile,
            1 << 20,
            1 << 20,
            waker,
        );
        (output, theirs)
    }

    #[test]
    fn a_push_of_more_parts_than_one_writev_takes_goes_out_whole_and_in_order() {
        let (output, mut theirs) = output_and_peer();
        let parts: Vec<Vec<u8>> = (0..WRITEV_PARTS * 2 + 1)
            .map(|i| format!("part{i};").into_bytes())
            .collect();
        let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        output.push(&slices).unwrap();
        assert!(
            !output.has_pending(),
            "a socket with room takes it all at once"
        );
        let expected = parts.concat();
        let mut got = vec![0; expected.len()];
        theirs.read_exact(&mut got).unwrap();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_closing_response_all_written_half_closes_at_its_finish() {
        let (output, mut theirs) = output_and_peer();
        output.push(&[b"last response"]).unwrap();
        output.finish(Finished::Close);
        // The peer reads the response and then its end, with no one closing the socket: the
        // loop, which closes it, has not run.
        theirs
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut got = Vec::new();
        theirs.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"last response");
    }

    #[test]
    fn a_keep_alive_response_leaves_the_connection_open() {
        let (output, mut theirs) = output_and_peer();
        output.push(&[b"response"]).unwrap();
        output.finish(Finished::KeepAlive);
        theirs.set_nonblocking(true).unwrap();
        let mut got = [0; 16];
        assert_eq!(theirs.read(&mut got).unwrap(), 8);
        let again = theirs.read(&mut got).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::WouldBlock, "no EOF");
    }
}
