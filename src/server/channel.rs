//! One connection on the event loop: bytes in, requests out to the workers in order, their
//! responses written back, and the close done so the client reads the last byte.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::Body;
use crate::app::environ::{ConnectionVars, Peer, ServerVars};
use crate::http::HttpError;
use crate::http::body::{BodyDecoder, Step};
use crate::http::date::with_date;
use crate::http::error::error_response;
use crate::http::request::{Framing, Head, HeadScanner, HeadStatus, Limits, parse_head};
use crate::http::response::CONTINUE;

use super::io::{Stream, WriteError};
use super::output::{Finished, Output};
use super::spool::{Spool, SpoolWriter};
use super::task::Task;

/// How long a closing connection is drained after the last response (RFC 9112 §9.6): long
/// enough for the client to read an error response, short enough that a client that never
/// closes cannot hold the connection.
pub const LINGER_DEADLINE: Duration = Duration::from_secs(2);

/// How long a connection is drained at shutdown when its last response said the connection
/// stays open: that client has no reason to close, so the full `LINGER_DEADLINE` would only
/// hold the stop back (2 s for every `pserve --reload` with a browser tab open). It is time
/// for a response still in flight to be read before the close, so a request the client sends
/// meanwhile is not answered with a reset that could discard it (RFC 9112 §9.6).
pub const SHUTDOWN_LINGER: Duration = Duration::from_millis(200);

/// While stopping, how long a connection with no request under way is still read: a request
/// the client sent as the stop came, before it could know, is answered (the connection's last)
/// instead of lost to the close. nginx with upstream `keepalive` sends on a kept connection
/// until it sees it closed: behind the shipped nginx site with 20 and 50 clients POSTing, 0-16
/// requests per stop were lost ("upstream prematurely closed", 502, a POST not retried), 37 in
/// 9 stops; with the grace, none in 12. nginx under load reuses each kept connection within
/// milliseconds; short, since an idle browser tab's connections hold every stop this long
/// (`pserve --reload`).
pub const STOP_GRACE: Duration = Duration::from_millis(250);

/// Reads per readiness event before yielding to other connections, so one fast uploader
/// cannot starve the rest (4 × recv_bytes = 32 KiB with the defaults). Measured with 20
/// clients uploading 400 KiB bodies (held in memory) beside one sending a GET every 2 ms:
/// with 4 the GET's median wait was 0.63 ms and its p99 2.0 ms, with 16 2.4 and 5.4 ms, and
/// the uploads went 19% faster (6.9k against 5.8k req/s); one uploader alone went as fast
/// with 4, 8 or 16 (bench/NOTES.md, session 17).
const READS_PER_EVENT: usize = 4;

/// How much one read takes of a request body already spilled to its temp file, when that is
/// more than `recv_bytes`. `recv_bytes` bounds what a connection holds in memory; a spilled
/// body goes straight on to the file, so reading it 8 KiB at a time only multiplied syscalls
/// (100 MiB upload: 12,800 reads; see bench/NOTES.md for the throughput).
const SPILLED_BODY_READ: usize = 256 * 1024;

/// Reads per readiness event of a spilled body: 4 × 256 KiB = 1 MiB before other connections
/// get their turn.
const SPILLED_READS_PER_EVENT: usize = 4;

/// The event loop's buffers, lent to each connection while it reads or writes.
#[derive(Debug, Default)]
pub struct IoBuffers {
    /// Where each read lands, and what file bytes pass through on their way to a socket.
    scratch: Vec<u8>,
    /// The buffer a connection keeps while part of a request is unparsed.
    spare: Vec<u8>,
}

/// Settings a channel needs.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// Head and body limits.
    pub limits: Limits,
    /// `recv_bytes`.
    pub recv_bytes: usize,
    /// `inbuf_overflow`.
    pub inbuf_overflow: usize,
    /// `channel_request_lookahead`.
    pub lookahead: usize,
    /// `ident`, for error responses.
    pub ident: Option<String>,
    /// `log_socket_errors`.
    pub log_socket_errors: bool,
    /// Writes spilled request bodies to their temp files.
    pub spool_writer: SpoolWriter,
}

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading requests and writing responses.
    Open,
    /// The last response is out and the write side shut: discarding input until the client
    /// closes or the deadline passes.
    Lingering {
        /// When to give up on the client.
        until: Instant,
    },
    /// Done: the loop deregisters and drops it.
    Closed,
}

/// What is being read.
#[derive(Debug)]
enum Reading {
    /// A request head (or the empty lines before one).
    Head,
    /// The body of `head`.
    Body(Box<Incoming>),
    /// The body is all here; the spool writer is still writing it to the temp file.
    Storing(Box<Incoming>),
    /// Nothing more: a framing error ended the connection's requests.
    Stopped,
}

/// A request whose body is arriving.
#[derive(Debug)]
struct Incoming {
    head: Head,
    decoder: BodyDecoder,
    spool: Spool,
    /// A `100 Continue` is owed once the responses before this request are out.
    continue_owed: bool,
}

/// What the loop knows of input waiting on the socket. With edge-triggered readiness each
/// arrival is reported once, so the channel must remember input it could not take yet (a
/// request is with a worker) and read it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unread {
    /// A read found the socket empty or at its end: the next arrival will be reported.
    Nothing,
    /// Readiness was reported (or input left for fairness) and not read yet.
    Waiting,
    /// The last read returned less than it asked for: that was all the data, but an EOF
    /// queued right behind it, in the same report, is not reported again. A read confirms it
    /// at the connection's next EOF check (`Channel::take_unqueued_eof_check`), unless input
    /// is reported first, as it is within a millisecond on a busy keep-alive connection.
    /// Confirming with a read at once cost one `recv` per request: 8% of the hello world's
    /// throughput (bench/NOTES.md).
    Unconfirmed,
}

/// The connection's pending EOF check (see [`Unread::Unconfirmed`]). One at a time, so the
/// loop's queue of checks holds at most one entry per connection however fast a client
/// trickles bytes; the time it was scheduled identifies it in that queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EofCheck {
    /// None pending.
    None,
    /// Scheduled at the first short read with none pending; not yet in the loop's queue.
    Scheduled(Instant),
    /// In the loop's queue.
    Queued(Instant),
}

/// What the connection is answering (one thing at a time, in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answering {
    /// Nothing: the next ready request or error goes out when there is one.
    Nothing,
    /// A request, with a worker.
    Request {
        /// The client said it is its last (`Connection: close`, or HTTP/1.0 without
        /// keep-alive): RFC 9112 §9.6 forbids it to send more on this connection.
        clients_last: bool,
    },
    /// The error that ends the connection's requests: its page is being written.
    Error,
}

/// A complete request, or the error that ends the connection, waiting for its turn.
#[derive(Debug)]
enum Ready {
    Request(Head, Body),
    Error(HttpError),
}

/// What a connection still open at shutdown waits for: the drain closes a stalled upload or
/// download ([`Channel::stalled_at_shutdown`]), and the line that ends a drain cut short names
/// what each connection left open waited for ([`Channel::waiting_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// The client taking its response.
    Download,
    /// A request the application is still running.
    Request,
    /// The rest of a request body.
    Upload,
    /// Anything else: a body still being stored, a closing connection waiting for its client.
    Other,
}

/// The connection.
#[derive(Debug)]
pub struct Channel {
    /// The socket, shared with the output queue (a worker writes to it directly).
    pub stream: Arc<Stream>,
    /// Where in its life the connection is.
    pub phase: Phase,
    /// Last time bytes moved either way.
    pub last_activity: Instant,
    /// When the first byte of the request head being received arrived: the head must be
    /// whole `channel_timeout` after it, however steadily it trickles (slowloris; waitress
    /// only counts from the last byte, so one byte every few seconds held a connection
    /// forever). For a head read in behind a request still being answered, the clock starts
    /// when that answer ends: the server was not reading it meanwhile. `None` while no head
    /// is under way.
    head_started: Option<Instant>,
    /// The response queue shared with the worker.
    pub output: Arc<Output>,
    vars: Arc<ConnectionVars>,
    reading: Reading,
    inbuf: Vec<u8>,
    scanner: HeadScanner,
    ready: VecDeque<Ready>,
    /// What is being answered.
    answering: Answering,
    /// The client sent EOF.
    eof: bool,
    /// What the loop knows of input on the socket it has not read.
    unread: Unread,
    /// The pending EOF check.
    eof_check: EofCheck,
    /// The server is shutting down: answer what was received, then close.
    draining: bool,
    /// Stopping, until when a request the client sends is still read and answered (the
    /// connection's last): the client could not know of the stop, having no request under
    /// way when it came (nginx sending on a kept connection), or a response that left before
    /// it without `Connection: close` having just finished. Set by [`Channel::drain`] and by
    /// such a response's end, for [`STOP_GRACE`]; ended by the loop.
    stop_grace_until: Option<Instant>,
}

impl Channel {
    /// A new connection.
    pub fn new(
        stream: Arc<Stream>,
        peer: Peer,
        server: Arc<ServerVars>,
        output: Arc<Output>,
        now: Instant,
    ) -> Channel {
        Channel {
            stream,
            phase: Phase::Open,
            last_activity: now,
            head_started: None,
            output,
            vars: ConnectionVars::new(peer, server),
            reading: Reading::Head,
            inbuf: Vec::new(),
            scanner: HeadScanner::new(),
            ready: VecDeque::new(),
            answering: Answering::Nothing,
            eof: false,
            unread: Unread::Nothing,
            eof_check: EofCheck::None,
            draining: false,
            stop_grace_until: None,
        }
    }

    /// Whether the loop should watch for input.
    pub fn wants_read(&self, cfg: &ChannelConfig) -> bool {
        match self.phase {
            Phase::Open => {
                !self.eof
                    // Stopping, a request whose head came in is still received whole (an
                    // upload under way at a deploy); no new one is read.
                    && (!self.draining
                        || self.receiving_body()
                        || self.stop_grace_until.is_some())
                    && match &self.reading {
                        Reading::Head => true,
                        Reading::Body(incoming) => incoming.spool.takes_more(),
                        Reading::Storing(_) | Reading::Stopped => false,
                    }
                    && self.queued() <= cfg.lookahead
                    && !self.output.has_pending()
            }
            Phase::Lingering { .. } => true,
            Phase::Closed => false,
        }
    }

    /// Records that the poller reported the socket readable.
    pub fn note_readable(&mut self) {
        self.unread = Unread::Waiting;
    }

    /// Whether to read now: input may be waiting and the connection takes it.
    pub fn ready_to_read(&self, cfg: &ChannelConfig) -> bool {
        self.unread == Unread::Waiting && self.wants_read(cfg)
    }

    /// An EOF check scheduled since the loop last asked (see [`Unread::Unconfirmed`]): when it
    /// was scheduled, for the loop to queue it. `None` once taken.
    pub fn take_unqueued_eof_check(&mut self) -> Option<Instant> {
        let EofCheck::Scheduled(at) = self.eof_check else {
            return None;
        };
        self.eof_check = EofCheck::Queued(at);
        Some(at)
    }

    /// Runs the EOF check scheduled at `since`: if the last read was short and nothing was
    /// reported since, the input counts as waiting, so the next chance to read looks for an
    /// EOF behind it. Returns whether it does.
    pub fn run_eof_check(&mut self, since: Instant) -> bool {
        if self.eof_check != EofCheck::Queued(since) {
            return false;
        }
        self.eof_check = EofCheck::None;
        let unconfirmed = self.unread == Unread::Unconfirmed;
        if unconfirmed {
            self.unread = Unread::Waiting;
        }
        unconfirmed
    }

    /// Whether the request with the worker may finish without waking the loop: the finish
    /// changes nothing the loop would act on (no input waiting or half-read, the connection
    /// neither ending nor draining), and the next request arrives as a readable event. A
    /// response that closes the connection or leaves output queued wakes it anyway (see
    /// `Output::finish`).
    pub fn finish_is_quiet(&self) -> bool {
        self.phase == Phase::Open
            && self.in_flight()
            && self.ready.is_empty()
            && self.inbuf.is_empty()
            && self.unread != Unread::Waiting
            && !self.eof
            && !self.draining
            && matches!(self.reading, Reading::Head)
    }

    /// Whether the loop should watch for input: to read it, or (while a request finishes
    /// quietly) to learn that the next one came. Not while input is known to be waiting
    /// unread, which would report at once, again and again.
    pub fn read_interest(&self, cfg: &ChannelConfig) -> bool {
        self.wants_read(cfg) || self.finish_is_quiet()
    }

    /// Whether the loop should watch for the socket taking output.
    pub fn wants_write(&self) -> bool {
        self.phase == Phase::Open && self.output.has_pending()
    }

    /// Whether the connection is idle: no request in progress and nothing to write. Idle
    /// connections are closed by `channel_timeout` and at shutdown.
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Open
            && !self.in_flight()
            && self.ready.is_empty()
            // A body still being written to its temp file is a request in progress (shutdown
            // drains idle connections, and this one is not).
            && !matches!(self.reading, Reading::Storing(_))
            && !self.output.has_pending()
    }

    /// Whether a request's head came in and its body is still arriving.
    fn receiving_body(&self) -> bool {
        matches!(self.reading, Reading::Body(_))
    }

    /// What, the server stopping, this connection waits for that has not moved for `limit`.
    pub fn stalled_at_shutdown(&self, now: Instant, limit: Duration) -> Option<Waiting> {
        if !self.draining {
            return None;
        }
        let quiet_since = |t: Instant| now.saturating_duration_since(t) >= limit;
        // An upload behind a request still running (lookahead) may be waiting on the server,
        // for a 100 Continue or for the client's own pipelining: its clock starts once
        // nothing is ahead of it (the running response's end counts as activity).
        let nothing_ahead = !self.in_flight() && self.ready.is_empty();
        if self.receiving_body() && nothing_ahead && quiet_since(self.last_activity) {
            Some(Waiting::Upload)
        } else if self.output_waiting_since().is_some_and(quiet_since) {
            Some(Waiting::Download)
        } else {
            None
        }
    }

    /// What this connection, still open when the drain's time is up, was waiting for. Output
    /// waiting for the client comes first: a worker held by the high-water mark is waiting
    /// for the reader too.
    pub fn waiting_for(&self) -> Waiting {
        if self.wants_write() {
            Waiting::Download
        } else if self.in_flight() {
            Waiting::Request
        } else if self.receiving_body() {
            Waiting::Upload
        } else {
            Waiting::Other
        }
    }

    /// Since when output has waited for the client to take some of it, if it waits.
    pub fn output_waiting_since(&self) -> Option<Instant> {
        if !self.wants_write() {
            return None;
        }
        // Output queued a moment ago has not had its chance to go out yet.
        self.output
            .pending_since()
            .map(|p| p.max(self.last_activity))
    }

    /// Since when `channel_timeout` runs against the connection, if it does: an idle one
    /// from its last activity, or from the first byte of a request head still incomplete if
    /// that is earlier; one with output waiting from the client's last taking of it. A body
    /// keeps the inactivity rule (a slow upload may take long, as long as it moves).
    pub fn timeout_since(&self) -> Option<Instant> {
        if self.is_idle() {
            let head = self.head_started.filter(|_| self.head_under_way());
            Some(head.map_or(self.last_activity, |t| t.min(self.last_activity)))
        } else {
            self.output_waiting_since()
        }
    }

    /// Whether bytes of a request head (or the empty lines before one) are buffered.
    fn head_under_way(&self) -> bool {
        matches!(self.reading, Reading::Head) && !self.inbuf.is_empty()
    }

    /// Starts the head's clock at `now` if a head is under way and its clock not yet running.
    fn note_head_start(&mut self, now: Instant) {
        if self.head_started.is_none() && self.head_under_way() {
            self.head_started = Some(now);
        }
    }

    /// Whether a request after the one handed out was received, or its head came in and its
    /// body is arriving (with lookahead, or pipelined): while stopping, that one is answered,
    /// so the response before it must not close the connection.
    fn more_received(&self) -> bool {
        !self.ready.is_empty() || matches!(self.reading, Reading::Body(_) | Reading::Storing(_))
    }

    /// Whether a request is with a worker, or an error page is being written.
    fn in_flight(&self) -> bool {
        self.answering != Answering::Nothing
    }

    /// Requests received and not finished.
    fn queued(&self) -> usize {
        self.ready.len() + usize::from(self.in_flight())
    }

    /// Stops taking requests: what was received is answered, the last with `Connection: close`.
    /// A connection with no request under way still reads one for [`STOP_GRACE`].
    pub fn drain(&mut self, now: Instant) {
        self.draining = true;
        if self.in_flight() && self.inbuf.is_empty() && !self.more_received() {
            // The running request is the last: tell the client its response closes.
            self.output.make_last();
        }
        if self.awaits_a_request() {
            self.stop_grace_until = Some(now + STOP_GRACE);
        }
    }

    /// Until when the stop's grace lets this connection read a request, if it does.
    pub fn stop_grace_until(&self) -> Option<Instant> {
        self.stop_grace_until
    }

    /// Ends the stop's grace: a connection that got no request in it is closed (by the next
    /// [`Channel::drive`], which lingers it).
    pub fn end_stop_grace(&mut self) {
        self.stop_grace_until = None;
    }

    /// Open with no request under way: none running or queued, and at most part of a head.
    fn awaits_a_request(&self) -> bool {
        self.is_idle() && matches!(self.reading, Reading::Head)
    }

    /// Reads what the socket has, up to a fair share. The buffers are the loop's: each read
    /// goes into `bufs.scratch` (at least `recv_bytes` long, zeroed once as it grows, where
    /// zeroing `recv_bytes` of a per-connection buffer before every read was half the loop's
    /// user-space instructions in callgrind), and the connection borrows `bufs.spare` to hold what it has not parsed yet,
    /// handing it back once everything was parsed, so an idle keep-alive connection holds no
    /// buffer (recv_bytes each would be 8 MiB per 1,000 connections).
    pub fn read(&mut self, cfg: &ChannelConfig, now: Instant, bufs: &mut IoBuffers) {
        if let Phase::Lingering { .. } = self.phase {
            if bufs.scratch.len() < cfg.recv_bytes {
                bufs.scratch.resize(cfg.recv_bytes, 0);
            }
            self.discard_input(&mut bufs.scratch);
            return;
        }
        if self.inbuf.is_empty() {
            std::mem::swap(&mut self.inbuf, &mut bufs.spare);
            self.inbuf.clear();
        }
        self.read_some(cfg, now, &mut bufs.scratch);
        if self.inbuf.is_empty() {
            std::mem::swap(&mut self.inbuf, &mut bufs.spare);
        }
    }

    /// How much the next read asks for, and how many reads an event allows.
    fn read_size(&self, cfg: &ChannelConfig) -> (usize, usize) {
        match &self.reading {
            Reading::Body(incoming) if incoming.spool.is_spilled() => (
                cfg.recv_bytes.max(SPILLED_BODY_READ),
                SPILLED_READS_PER_EVENT,
            ),
            _ => (cfg.recv_bytes, READS_PER_EVENT),
        }
    }

    fn read_some(&mut self, cfg: &ChannelConfig, now: Instant, scratch: &mut Vec<u8>) {
        let mut reads = 0;
        loop {
            let (size, per_event) = self.read_size(cfg);
            if reads >= per_event {
                return;
            }
            reads += 1;
            if !self.wants_read(cfg) {
                return;
            }
            if scratch.len() < size {
                // Grown once to the largest read size and kept by the loop.
                scratch.resize(size, 0);
            }
            let got = match self.stream.read(&mut scratch[..size]) {
                Ok(n) => n,
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock => {
                        self.unread = Unread::Nothing;
                        return;
                    }
                    io::ErrorKind::Interrupted => continue,
                    _ => {
                        self.socket_error(cfg, &e);
                        return;
                    }
                },
            };
            if got == 0 {
                self.eof = true;
                self.unread = Unread::Nothing;
                self.output.mark_client_gone();
                return;
            }
            self.last_activity = now;
            if self.inbuf.is_empty() && matches!(self.reading, Reading::Body(_)) {
                // Body bytes go from the read buffer to the spool without a stop in `inbuf`
                // (a 256 KiB copy per read of a large upload).
                let (consumed, _) = self.feed_body(&scratch[..got]);
                if !matches!(self.reading, Reading::Stopped) {
                    self.inbuf.extend_from_slice(&scratch[consumed..got]);
                }
            } else {
                self.inbuf.extend_from_slice(&scratch[..got]);
            }
            self.parse(cfg);
            self.note_head_start(now);
            if got < size {
                self.unread = Unread::Unconfirmed;
                if self.eof_check == EofCheck::None {
                    self.eof_check = EofCheck::Scheduled(now);
                }
                return;
            }
        }
    }

    fn socket_error(&mut self, cfg: &ChannelConfig, e: &io::Error) {
        let disconnect = matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::NotConnected
        );
        if cfg.log_socket_errors && !disconnect {
            log::error!(target: "waitress", "Socket error: {e}");
        }
        self.close();
    }

    /// Drops the connection at once.
    pub fn close(&mut self) {
        self.phase = Phase::Closed;
        self.output.close();
    }

    fn discard_input(&mut self, scratch: &mut [u8]) {
        loop {
            match self.stream.read(scratch) {
                Ok(0) => {
                    self.phase = Phase::Closed;
                    return;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.unread = Unread::Nothing;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.phase = Phase::Closed;
                    return;
                }
            }
        }
    }

    /// Turns buffered bytes into ready requests, as far as the lookahead allows.
    fn parse(&mut self, cfg: &ChannelConfig) {
        while self.phase == Phase::Open && (self.draining || self.queued() <= cfg.lookahead) {
            let progressed = match &mut self.reading {
                Reading::Stopped => false,
                Reading::Head => self.parse_head(cfg),
                Reading::Body(_) => self.parse_body(),
                Reading::Storing(_) => self.finish_storing(),
            };
            if !progressed {
                break;
            }
        }
    }

    fn fail(&mut self, error: HttpError) {
        // A body's error answers the request the body belongs to (the spool's errors, raised
        // once the body has left `reading`, are tagged by `spool_error`).
        let error = match &self.reading {
            Reading::Body(incoming) | Reading::Storing(incoming) => {
                error.answering(incoming.head.version, incoming.head.is_head())
            }
            Reading::Head | Reading::Stopped => error,
        };
        self.ready.push_back(Ready::Error(error));
        self.reading = Reading::Stopped;
        // Whatever follows a framing error cannot be trusted to be a request (the pipelining
        // race of CVE-2024-49768): drop it.
        self.inbuf = Vec::new();
    }

    fn parse_head(&mut self, cfg: &ChannelConfig) -> bool {
        let (start, end) = match self.scanner.scan(&self.inbuf, &cfg.limits) {
            Ok(HeadStatus::Partial) => return false,
            Ok(HeadStatus::Complete { start, end }) => (start, end),
            Err(e) => {
                self.fail(e);
                return true;
            }
        };
        let parsed = parse_head(&self.inbuf[start..end], &cfg.limits);
        self.inbuf.drain(..end);
        self.scanner.reset();
        // What follows is the body, or the next head, whose clock starts when it is read or,
        // read in already, when this request is answered (`drive`).
        self.head_started = None;
        let head = match parsed {
            Ok(head) => head,
            Err(e) => {
                self.fail(e);
                return true;
            }
        };
        if head.framing == Framing::None {
            self.ready.push_back(Ready::Request(head, Body::empty()));
            return true;
        }
        let decoder = BodyDecoder::new(head.framing, cfg.limits.max_body_size, head.version);
        let mut continue_owed = head.expect_continue;
        if continue_owed && self.queued() == 0 {
            // Nothing is ahead of this request: invite the body now.
            self.output.push_now(CONTINUE);
            continue_owed = false;
        }
        let mut spool = Spool::new(
            cfg.inbuf_overflow,
            cfg.spool_writer.clone(),
            self.output.waker(),
        );
        if let Framing::Length(n) = head.framing {
            spool.expect(n);
        }
        self.reading = Reading::Body(Box::new(Incoming {
            head,
            decoder,
            spool,
            continue_owed,
        }));
        true
    }

    fn parse_body(&mut self) -> bool {
        let input = std::mem::take(&mut self.inbuf);
        let (consumed, progressed) = self.feed_body(&input);
        if !matches!(self.reading, Reading::Stopped) {
            self.inbuf = input;
            self.inbuf.drain(..consumed.min(self.inbuf.len()));
        }
        progressed
    }

    /// Passes body bytes from `input` to the decoder and the spool; returns how many were
    /// consumed and whether the body ended (or failed). What follows the body is left to the
    /// caller.
    fn feed_body(&mut self, input: &[u8]) -> (usize, bool) {
        let Reading::Body(incoming) = &mut self.reading else {
            return (0, false);
        };
        let mut consumed = 0;
        let outcome = loop {
            match incoming.decoder.step(&input[consumed..]) {
                Ok((n, Step::Data(range))) => {
                    let data = &input[consumed + range.start..consumed + range.end];
                    if let Err(e) = incoming.spool.write(data) {
                        break Err(spool_error(&e, &incoming.head));
                    }
                    consumed += n;
                }
                Ok((n, Step::NeedMore)) => {
                    consumed += n;
                    break Ok(false);
                }
                Ok((n, Step::Done)) => {
                    consumed += n;
                    break Ok(true);
                }
                Err(e) => break Err(e),
            }
        };
        let progressed = match outcome {
            Ok(false) => false,
            Ok(true) => {
                let Reading::Body(mut incoming) =
                    std::mem::replace(&mut self.reading, Reading::Head)
                else {
                    return (consumed, false);
                };
                match incoming.spool.finish() {
                    Ok(()) => {
                        self.reading = Reading::Storing(incoming);
                        self.finish_storing();
                    }
                    Err(e) => self.fail(spool_error(&e, &incoming.head)),
                }
                true
            }
            Err(e) => {
                self.fail(e);
                true
            }
        };
        (consumed, progressed)
    }

    /// Hands the request out once its body is all in the temp file; returns whether it did.
    fn finish_storing(&mut self) -> bool {
        if !matches!(&self.reading, Reading::Storing(incoming) if incoming.spool.is_stored()) {
            return false;
        }
        let Reading::Storing(incoming) = std::mem::replace(&mut self.reading, Reading::Head) else {
            return false;
        };
        let Incoming { head, spool, .. } = *incoming;
        match spool.into_body() {
            Ok(body) => self.ready.push_back(Ready::Request(head, body)),
            Err(e) => self.fail(spool_error(&e, &head)),
        }
        true
    }

    /// Moves the connection along after any event: writes output, notices finished
    /// responses, parses buffered input and hands the next request out. Returns a task for a
    /// worker when one is due.
    pub fn drive(
        &mut self,
        cfg: &ChannelConfig,
        now: Instant,
        bufs: &mut IoBuffers,
    ) -> Option<Task> {
        loop {
            if self.phase != Phase::Open {
                return None;
            }
            if self.output.has_pending() {
                match self.output.write_to(&mut bufs.scratch) {
                    Ok(progress) => {
                        if progress.written > 0 {
                            self.last_activity = now;
                        }
                        if progress.pending {
                            return None;
                        }
                    }
                    Err(WriteError::Stream(e)) => {
                        self.socket_error(cfg, &e);
                        return None;
                    }
                    Err(WriteError::File(e)) => {
                        // The head promised a length the body cannot keep: only closing tells
                        // the client. The server's fault, so logged whatever
                        // log_socket_errors says.
                        log::error!(target: "waitress",
                            "Response cut short: its file could not be read: {e}");
                        self.close();
                        return None;
                    }
                }
            }
            if self.in_flight() {
                let Some((how, at)) = self.output.take_finished() else {
                    // A body read ahead whose last block the spool writer stored meanwhile (its
                    // wake-up brought the loop here) joins the queue, and reading goes on: left
                    // in `Storing`, it stopped the reads until the running request ended, so a
                    // client that went was not seen gone and the lookahead was cut short.
                    self.parse(cfg);
                    return None;
                };
                let answered = std::mem::replace(&mut self.answering, Answering::Nothing);
                // Idle from the response's end, not from the request's arrival; so is a head
                // read in behind it.
                self.last_activity = self.last_activity.max(at);
                self.head_started = self.head_started.map(|t| t.max(at));
                match how {
                    Finished::Close => {
                        if self.nothing_more_coming(answered) {
                            self.close();
                        } else {
                            self.linger(now + LINGER_DEADLINE);
                        }
                        return None;
                    }
                    Finished::KeepAlive => {
                        self.owe_continue();
                        if self.draining && !self.eof {
                            // The response did not say it was the last (its head left before
                            // the stop), so a request the client sends on the connection is
                            // answered, as its last, not dropped: nginx, keeping its
                            // connections, sends the next client's request as soon as a
                            // response is whole (even while its app still runs), and answers
                            // a POST it loses 502. What came already is read now.
                            self.stop_grace_until = Some(now + STOP_GRACE);
                            self.read(cfg, now, bufs);
                        }
                    }
                }
            }
            self.parse(cfg);
            self.note_head_start(now);
            if let Some(ready) = self.ready.pop_front() {
                match ready {
                    Ready::Request(head, body) => {
                        self.answering = Answering::Request {
                            clients_last: !head.keep_alive,
                        };
                        // The grace's request came: it is the last (force_close below).
                        self.stop_grace_until = None;
                        return Some(Task {
                            force_close: self.draining && !self.more_received(),
                            head,
                            body,
                            connection: Arc::clone(&self.vars),
                            output: Arc::clone(&self.output),
                        });
                    }
                    Ready::Error(error) => {
                        self.answering = Answering::Error;
                        let bytes =
                            with_date(|date| error_response(&error, cfg.ident.as_deref(), date));
                        self.output.push_now(&bytes);
                        self.output.finish(Finished::Close);
                        continue;
                    }
                }
            }
            let stopping =
                self.draining && !self.receiving_body() && self.stop_grace_until.is_none();
            if (self.eof || stopping) && self.is_idle() {
                // The client is done sending, or the server is stopping (after a response that
                // kept the connection open, once the stop's grace is over: one that closed it
                // lingered above).
                self.linger(now + SHUTDOWN_LINGER);
            }
            return None;
        }
    }

    /// Sends a `100 Continue` that had to wait for earlier responses.
    fn owe_continue(&mut self) {
        if let Reading::Body(incoming) = &mut self.reading {
            if incoming.continue_owed && self.ready.is_empty() {
                incoming.continue_owed = false;
                self.output.push_now(CONTINUE);
            }
        }
    }

    /// Whether the connection can close at once after the response to `answered` was
    /// written, with no lingering: the client said that request was its last, nothing of it
    /// is left unread, and a read finds the socket empty (or at its end). Then closing cannot
    /// reset the connection under the response, and lingering would only cost a shutdown, a
    /// readiness event and a read per connection (`Connection: close` at 50 connections:
    /// 28.6k -> 31.5k req/s, bench/NOTES.md). nginx's `lingering_close on` decides the same
    /// way; a close the server chose, an error, or input still arriving lingers as before.
    fn nothing_more_coming(&mut self, answered: Answering) -> bool {
        if answered != (Answering::Request { clients_last: true })
            || self.draining
            || !self.inbuf.is_empty()
            || !self.ready.is_empty()
            || !matches!(self.reading, Reading::Head)
        {
            return false;
        }
        // The client's EOF is often here by now (a third of the connections under `wrk -H
        // 'Connection: close'`), and anything it sends against the rule (an extra CRLF after
        // a body, say) usually is too: finding bytes means lingering after all.
        let mut probe = [0u8; 64];
        loop {
            match self.stream.read(&mut probe) {
                Ok(0) => return true,
                Ok(_) => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return e.kind() == io::ErrorKind::WouldBlock,
            }
        }
    }

    /// Half-closes and drains until `until` at the latest, so the client gets the last
    /// response rather than a reset (RFC 9112 §9.6).
    fn linger(&mut self, until: Instant) {
        self.output.close();
        if self.eof || self.stream.shutdown_write().is_err() {
            self.phase = Phase::Closed;
        } else {
            self.phase = Phase::Lingering { until };
        }
    }
}

/// Logs a body that could not be stored (where it was going: a full or unwritable temp dir is
/// the usual cause), and the 500 that answers its request.
fn spool_error(e: &io::Error, head: &Head) -> HttpError {
    log::error!(target: "waitress",
        "Could not store the request body of {} in {}: {e}",
        head.path(), super::temp::dir().display());
    HttpError::internal("The request body could not be stored")
        .answering(head.version, head.is_head())
}
