//! The one thread that owns every socket: accepts, reads, writes and closes, and hands
//! complete requests to the worker pool.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use polling::{Event, Events, PollMode, Poller};

use super::channel::{Channel, ChannelConfig, IoBuffers, Phase, Waiting};
use super::io::FileSend;
use super::listener::Listener;
use super::output::Output;
use super::pool::Pool;
use super::task::Task;
use super::wake::{ConnId, WakeList, Waker};

/// How long shutdown waits for running requests before exiting anyway.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(30);

/// While stopping, how long a body under way may go without growing, or a response without
/// the client taking any of it, before its connection is closed: an upload or download that
/// keeps moving is finished (a deploy should not cut it off), one that stopped must not hold
/// the stop (Docker kills after 10 s).
const STALL_AT_SHUTDOWN: Duration = Duration::from_secs(3);

/// Connections accepted per listener event before other work gets a turn. With
/// `Connection: close` at 50 connections, 1 per event gave 22.4k req/s, 8 36.9k, 64 38.8k and
/// 256 37.9k (bench/NOTES.md, session 17): past a few, the batch only bounds the pass.
const ACCEPTS_PER_EVENT: usize = 64;

/// The first pause in accepting after `accept` failed for want of a resource (`EMFILE`,
/// `ENFILE`, `ENOBUFS`, `ENOMEM`): the pending connection stays queued, so a level-triggered
/// listener would report it again at once, and waitress (like a loop that only logs and goes
/// on) spins a CPU writing the same warning a few hundred thousand times a second. Each
/// failure in a row doubles the pause, up to `ACCEPT_PAUSE_MAX`.
const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(5);

/// The longest pause: how long a server that ran out of file descriptors may take to notice
/// they are back, and at most two warnings a second while they are not (nginx waits 500 ms,
/// its `accept_mutex_delay`).
const ACCEPT_PAUSE_MAX: Duration = Duration::from_millis(500);

/// Loop timing and limits from the settings.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    /// `connection_limit`.
    pub connection_limit: usize,
    /// `cleanup_interval`.
    pub cleanup_interval: Duration,
    /// `channel_timeout`.
    pub channel_timeout: Duration,
    /// `asyncore_loop_timeout`.
    pub loop_timeout: Duration,
    /// `outbuf_overflow`.
    pub outbuf_overflow: usize,
    /// `outbuf_high_watermark`.
    pub outbuf_high_watermark: usize,
}

/// Passes over one connection per loop iteration when it keeps having input: after this
/// many it waits for the next iteration, so one busy client cannot starve the rest. 1, 2, 4
/// and 16 measured the same for keep-alive and pipelined clients, in throughput and in the
/// wait of a GET beside 20 pipelining ones (bench/NOTES.md, session 17); `READS_PER_EVENT`
/// is what bounds a connection's turn.
const SERVICE_ROUNDS: usize = 2;

/// How long after a short read the loop looks for an EOF that may be queued unreported behind
/// the data (`Unread::Unconfirmed` in channel.rs). Only a client that half-closes right
/// behind its request waits this long for the server's close; on a busy connection the next
/// request comes first and no check reads at all. Short against any client's patience, long
/// against the gap between keep-alive requests under load (0.5 ms at 50 connections and
/// 100k req/s).
const EOF_CHECK_DELAY: Duration = Duration::from_millis(100);

/// Set to `1`, the loop uses oneshot readiness even where edge triggering is available: the
/// path Windows takes, run by the Linux test suite (tests/serve_oneshot.rs). Not a setting:
/// nothing an operator would choose.
const FORCE_ONESHOT_ENV: &str = "WAITRESS_RS_POLL_ONESHOT";

/// How connections are registered with the poller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readiness {
    /// Edge-triggered (epoll, kqueue): registered for input once, for good; each arrival is
    /// reported once and the channel remembers input it has not read (`channel::Unread`).
    /// Saves re-arming after every request: 1.17 `epoll_ctl` per request before, 0.06 after
    /// (hello world at 50 connections, bench/NOTES.md).
    Edge,
    /// Oneshot (where edge triggering is not available, e.g. IOCP on Windows): re-armed
    /// after each event with what the channel wants.
    Oneshot,
}

impl Readiness {
    fn mode(self) -> PollMode {
        match self {
            Readiness::Edge => PollMode::Edge,
            Readiness::Oneshot => PollMode::Oneshot,
        }
    }
}

/// Whether the listeners are watched for new connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accepting {
    /// Watched.
    Open,
    /// Not watched: `connection_limit` connections are open; watched again when one closes.
    AtLimit,
    /// Not watched: `accept` failed for want of a resource; watched again at `until`.
    Paused { until: Instant },
    /// Shutting down: the listeners are gone.
    Stopped,
}

/// What a failed `accept` means for the connections queued behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcceptFailure {
    /// The queue is empty.
    Drained,
    /// Interrupted, or the connection was aborted before it was taken: try the next, without a
    /// word (waitress ignores these too).
    Retry,
    /// This connection failed (it was aborted, reset or its network went away, or it could
    /// not be set up); the next may not.
    Connection,
    /// The server lacks a resource every accept needs (file descriptors, buffers, memory), or
    /// the error is one no accept is expected to return: retrying at once would fail again.
    Server,
}

impl AcceptFailure {
    fn of(e: &io::Error) -> AcceptFailure {
        use io::ErrorKind::*;
        match e.kind() {
            WouldBlock => AcceptFailure::Drained,
            // Linux's accept(2) passes on a queued connection's pending network error and
            // asks callers to treat it as EAGAIN, and fails with EPERM when a firewall rule
            // forbids that connection; `Listener::accept`'s own set-up errors carry no OS
            // error code.
            Interrupted | ConnectionAborted => AcceptFailure::Retry,
            ConnectionReset | HostUnreachable | NetworkUnreachable | NetworkDown | TimedOut
            | PermissionDenied => AcceptFailure::Connection,
            _ if e.raw_os_error().is_none() => AcceptFailure::Connection,
            _ => AcceptFailure::Server,
        }
    }
}

/// A connection slot: its generation survives the channel so stale wake-ups are recognised.
struct Slot {
    generation: u64,
    channel: Option<Channel>,
    /// The interest registered with the poller, `(readable, writable)`. Oneshot mode disarms
    /// a source when its event is delivered, so this is reset then; re-arming with what is
    /// already armed is skipped, saving an `epoll_ctl` per request.
    armed: (bool, bool),
}

/// The event loop.
pub struct EventLoop {
    poller: Arc<Poller>,
    listeners: Vec<Listener>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    open: usize,
    accepting: Accepting,
    /// The pause after the next resource failure of `accept`: `ACCEPT_PAUSE_MIN` until one
    /// fails, doubled by each failure until the listeners' queues are drained again.
    accept_pause: Duration,
    pool: Pool<Task>,
    wake: Arc<WakeList>,
    channel_cfg: ChannelConfig,
    cfg: LoopConfig,
    /// Signals received; the first starts a graceful shutdown.
    stop: Arc<AtomicUsize>,
    /// The read buffers connections borrow while they read (see `Channel::read`).
    io_buffers: IoBuffers,
    /// Slots whose connection is lingering, so deadlines are found without walking every
    /// connection on each loop iteration (p50 of a request rose from 52 to 70 µs with 10,000
    /// idle connections held when every slot was walked, bench/NOTES.md).
    lingering: Vec<usize>,
    /// Poller keys: listener `n` is `n`, connection slot `s` is `first_slot_key + s`. Fixed at
    /// start, since the listeners are dropped at shutdown while connections still drain.
    first_slot_key: usize,
    readiness: Readiness,
    /// How listeners are watched: level-triggered where the poller can, else oneshot.
    listener_mode: PollMode,
    /// Connections to service again on the next iteration without an event: input left
    /// unread for fairness (edge-triggered readiness will not report it again), or a response
    /// that finished without waking the loop just as the loop found it must hear of it.
    again: Vec<ConnId>,
    /// Scheduled EOF checks, `(scheduled at, connection)` in the order they fall due: at most
    /// one per connection (see `Channel::take_unqueued_eof_check`); stale ones are skipped.
    eof_checks: VecDeque<(Instant, ConnId)>,
}

impl EventLoop {
    /// A loop over `listeners`, registered and ready to run.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        poller: Arc<Poller>,
        listeners: Vec<Listener>,
        pool: Pool<Task>,
        wake: Arc<WakeList>,
        channel_cfg: ChannelConfig,
        cfg: LoopConfig,
        stop: Arc<AtomicUsize>,
    ) -> io::Result<EventLoop> {
        let force_oneshot = std::env::var_os(FORCE_ONESHOT_ENV).is_some_and(|v| v == "1");
        let readiness = if poller.supports_edge() && !force_oneshot {
            Readiness::Edge
        } else {
            Readiness::Oneshot
        };
        // Level-triggered listeners stay armed while accepting: a oneshot listener was re-armed
        // after every batch of accepts (0.4 `epoll_ctl` per request with `Connection: close`,
        // bench/NOTES.md).
        let listener_mode = if poller.supports_level() && !force_oneshot {
            PollMode::Level
        } else {
            PollMode::Oneshot
        };
        for (key, listener) in listeners.iter().enumerate() {
            // SAFETY: listeners live in `self.listeners` and are deleted from the poller before
            // they are dropped (in `begin_shutdown`, or `Drop for EventLoop`).
            unsafe { poller.add_with_mode(listener, Event::readable(key), listener_mode)? };
        }
        let listeners_len = listeners.len();
        Ok(EventLoop {
            poller,
            listeners,
            slots: Vec::new(),
            free: Vec::new(),
            open: 0,
            accepting: Accepting::Open,
            accept_pause: ACCEPT_PAUSE_MIN,
            pool,
            wake,
            channel_cfg,
            cfg,
            stop,
            io_buffers: IoBuffers::default(),
            lingering: Vec::new(),
            first_slot_key: listeners_len,
            readiness,
            listener_mode,
            again: Vec::new(),
            eof_checks: VecDeque::new(),
        })
    }

    fn slot_key(&self, slot: usize) -> usize {
        self.first_slot_key + slot
    }

    /// Runs until a shutdown signal, then drains and returns.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::new();
        let mut woken = Vec::new();
        let mut next_cleanup = Instant::now() + self.cfg.cleanup_interval;
        let mut drain_until: Option<Instant> = None;
        loop {
            let now = Instant::now();
            if drain_until.is_none() && self.stop.load(Ordering::SeqCst) > 0 {
                drain_until = Some(now + DRAIN_DEADLINE);
                self.begin_shutdown(now);
            }
            if let Some(until) = drain_until {
                self.end_stop_graces(now);
                self.drop_stalled(now);
                if self.open == 0 {
                    return Ok(());
                }
                if now >= until {
                    let running = self.pool.outstanding();
                    if running > 0 {
                        log::warn!(target: "waitress", "{running} thread(s) still running");
                    }
                    // Say why the stop took the whole drain: a client reading or sending
                    // slowly holds the shutdown even with every worker idle.
                    log::warn!(target: "waitress",
                        "Shutdown: {} connection(s) still open after {} s ({}): closing them",
                        self.open, DRAIN_DEADLINE.as_secs(), self.unfinished());
                    return Ok(());
                }
            }
            // The workers this pass's requests need (see `Pool::submit`).
            self.pool.wake();
            let timeout = if self.again.is_empty() {
                self.next_deadline(next_cleanup)
                    .saturating_duration_since(now)
                    .min(self.cfg.loop_timeout)
            } else {
                Duration::ZERO
            };
            events.clear();
            match self.poller.wait(&mut events, Some(timeout)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            for ev in events.iter() {
                if ev.key < self.first_slot_key {
                    self.accept(ev.key, now);
                } else {
                    let slot = ev.key - self.first_slot_key;
                    if self.readiness == Readiness::Oneshot {
                        if let Some(s) = self.slots.get_mut(slot) {
                            s.armed = (false, false);
                        }
                    }
                    self.service(slot, ev.readable, now);
                }
            }
            woken.clear();
            woken.append(&mut self.again);
            self.wake.drain(&mut woken);
            for id in woken.drain(..) {
                if self
                    .slots
                    .get(id.slot)
                    .is_some_and(|s| s.generation == id.generation)
                {
                    self.service(id.slot, false, now);
                }
            }
            self.run_eof_checks(now, EOF_CHECK_DELAY);
            self.end_accept_pause(now);
            if now >= next_cleanup {
                next_cleanup = now + self.cfg.cleanup_interval;
                self.cleanup(now);
            }
            self.expire_lingering(now);
        }
    }

    /// The earliest time the loop must wake: the next sweep, a lingering deadline, the next
    /// EOF check, or the end of a pause in accepting.
    fn next_deadline(&self, next_cleanup: Instant) -> Instant {
        let eof_check = self.eof_checks.front().map(|&(at, _)| at + EOF_CHECK_DELAY);
        let accept_pause = match self.accepting {
            Accepting::Paused { until } => Some(until),
            _ => None,
        };
        self.lingering
            .iter()
            .filter_map(|&slot| self.linger_deadline(slot))
            .chain(eof_check)
            .chain(accept_pause)
            .chain(self.stop_graces())
            .fold(next_cleanup, Instant::min)
    }

    /// Runs the EOF checks scheduled at least `delay` ago: a connection whose last read was
    /// short, with nothing reported since, reads again (now, or when its request is done).
    fn run_eof_checks(&mut self, now: Instant, delay: Duration) {
        while let Some(&(at, id)) = self.eof_checks.front() {
            if now < at + delay {
                return;
            }
            self.eof_checks.pop_front();
            let read = self
                .slots
                .get_mut(id.slot)
                .filter(|s| s.generation == id.generation)
                .and_then(|s| s.channel.as_mut())
                .is_some_and(|c| c.run_eof_check(at));
            if read {
                self.service(id.slot, false, now);
            }
        }
    }

    /// When the connection in `slot` stops lingering, if it is lingering.
    fn linger_deadline(&self, slot: usize) -> Option<Instant> {
        match self.slots.get(slot)?.channel.as_ref()?.phase {
            Phase::Lingering { until } => Some(until),
            _ => None,
        }
    }

    fn accept(&mut self, key: usize, now: Instant) {
        // This event's connections, read at once if they fill the limit (see below).
        let mut accepted = [0usize; ACCEPTS_PER_EVENT];
        let mut count = 0;
        for _ in 0..ACCEPTS_PER_EVENT {
            if self.accepting != Accepting::Open {
                break;
            }
            let listener = &self.listeners[key];
            let (stream, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) => match AcceptFailure::of(&e) {
                    AcceptFailure::Drained => {
                        self.accept_pause = ACCEPT_PAUSE_MIN;
                        break;
                    }
                    AcceptFailure::Retry => continue,
                    AcceptFailure::Connection => {
                        if self.channel_cfg.log_socket_errors {
                            log::warn!(target: "waitress", "server accept() threw an exception: {e}");
                        }
                        continue;
                    }
                    AcceptFailure::Server => {
                        let pause = self.accept_pause;
                        self.accept_pause = (pause * 2).min(ACCEPT_PAUSE_MAX);
                        self.accepting = Accepting::Paused { until: now + pause };
                        if self.channel_cfg.log_socket_errors {
                            log::warn!(target: "waitress",
                                "server accept() threw an exception: {e}; accepting again in {} ms",
                                pause.as_millis());
                        }
                        break;
                    }
                },
            };
            let server = Arc::clone(&listener.server);
            let slot = self.free.pop().unwrap_or_else(|| {
                self.slots.push(Slot {
                    generation: 0,
                    channel: None,
                    armed: (false, false),
                });
                self.slots.len() - 1
            });
            let generation = self.slots[slot].generation + 1;
            let id = ConnId { slot, generation };
            let stream = Arc::new(stream);
            let output = Output::new(
                Arc::clone(&stream),
                FileSend::for_peer(&peer),
                self.cfg.outbuf_overflow,
                self.cfg.outbuf_high_watermark,
                Waker::new(Arc::clone(&self.wake), id),
            );
            let channel = Channel::new(stream, peer, server, output, now);
            let key = self.slot_key(slot);
            // SAFETY: the stream lives in `self.slots[slot]` and is deleted from the poller in
            // `remove` before the channel is dropped.
            let registered = unsafe {
                self.poller.add_with_mode(
                    &*channel.stream,
                    Event::readable(key),
                    self.readiness.mode(),
                )
            };
            if let Err(e) = registered {
                log::error!(target: "waitress", "Could not watch a new connection: {e}");
                self.free.push(slot);
                continue;
            }
            self.slots[slot] = Slot {
                generation,
                channel: Some(channel),
                armed: (true, false),
            };
            self.open += 1;
            accepted[count] = slot;
            count += 1;
            if self.open >= self.cfg.connection_limit {
                // Clients that close right behind their requests leave EOFs the loop has not
                // been told of; each would hold its place for EOF_CHECK_DELAY (one client
                // looping on such requests reached a limit of 5 on 217 of 300). Looking for
                // them now costs one read per recently read connection, and only here.
                self.run_eof_checks(now, Duration::ZERO);
                // So do connections accepted in this pass whose client already left (a port
                // scanner, a TCP health check): their EOFs are reported on the next wait, and
                // a burst of 300 logged the limit reached and lifted 53 times in a second.
                // Reading them now is the work the next pass would do anyway.
                for &fresh in &accepted[..count] {
                    self.service(fresh, true, now);
                }
                count = 0;
            }
            if self.open >= self.cfg.connection_limit {
                self.accepting = Accepting::AtLimit;
                log::warn!(target: "waitress",
                    "total open connections reached the connection limit, no longer accepting new connections");
            }
        }
        if self.accepting != Accepting::Open {
            // Every listener stops reporting, or a level-triggered one would report its pending
            // connections on every wait.
            for key in 0..self.listeners.len() {
                self.rearm_listener(key);
            }
        } else if self.listener_mode == PollMode::Oneshot {
            self.rearm_listener(key);
        }
    }

    /// Watches the listeners again after the connection limit or a pause stopped it.
    fn listen_again(&mut self) {
        self.accepting = Accepting::Open;
        for key in 0..self.listeners.len() {
            self.rearm_listener(key);
        }
    }

    /// Ends a pause in accepting that is over.
    fn end_accept_pause(&mut self, now: Instant) {
        if matches!(self.accepting, Accepting::Paused { until } if now >= until) {
            self.listen_again();
        }
    }

    fn rearm_listener(&self, key: usize) {
        let interest = if self.accepting == Accepting::Open {
            Event::readable(key)
        } else {
            Event::none(key)
        };
        if let Some(listener) = self.listeners.get(key) {
            if let Err(e) = self
                .poller
                .modify_with_mode(listener, interest, self.listener_mode)
            {
                log::error!(target: "waitress", "Could not watch a listener: {e}");
            }
        }
    }

    /// Reads, drives and re-arms one connection.
    fn service(&mut self, slot: usize, readable: bool, now: Instant) {
        let cfg = &self.channel_cfg;
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        let id = ConnId {
            slot,
            generation: s.generation,
        };
        let Some(channel) = s.channel.as_mut() else {
            return;
        };
        if readable {
            channel.note_readable();
        }
        // Drive first: a response that finished without waking the loop frees the connection
        // to read the input that brought it here.
        for _ in 0..SERVICE_ROUNDS {
            if let Some(task) = channel.drive(cfg, now, &mut self.io_buffers) {
                self.pool.submit(task, now);
            }
            if !channel.ready_to_read(cfg) {
                break;
            }
            channel.read(cfg, now, &mut self.io_buffers);
        }
        if let Some(task) = channel.drive(cfg, now, &mut self.io_buffers) {
            self.pool.submit(task, now);
        }
        // With nothing for the loop to do when the request with the worker finishes, the finish
        // need not wake it: the read interest armed below brings the next request instead.
        let quiet = channel.finish_is_quiet();
        let finished = channel.output.set_quiet_finish(quiet);
        // Either it finished quietly just before it could be told the loop cares, or input is
        // left for fairness that no edge-triggered event will report again.
        if (finished && !quiet) || (self.readiness == Readiness::Edge && channel.ready_to_read(cfg))
        {
            self.again.push(id);
        }
        if let Some(at) = channel.take_unqueued_eof_check() {
            self.eof_checks.push_back((at, id));
        }
        self.rearm(slot);
    }

    fn rearm(&mut self, slot: usize) {
        let key = self.slot_key(slot);
        let Some(channel) = self.slots.get(slot).and_then(|s| s.channel.as_ref()) else {
            return;
        };
        if channel.phase == Phase::Closed {
            self.remove(slot);
            return;
        }
        if matches!(channel.phase, Phase::Lingering { .. }) && !self.lingering.contains(&slot) {
            self.lingering.push(slot);
        }
        let read = match self.readiness {
            // Input is watched for good; the channel decides when to read it.
            Readiness::Edge => channel.phase != Phase::Closed,
            Readiness::Oneshot => channel.read_interest(&self.channel_cfg),
        };
        let write = channel.wants_write();
        if self.slots[slot].armed == (read, write) {
            return;
        }
        let interest = match (read, write) {
            (true, true) => Event::all(key),
            (true, false) => Event::readable(key),
            (false, true) => Event::writable(key),
            (false, false) => Event::none(key),
        };
        match self
            .poller
            .modify_with_mode(&*channel.stream, interest, self.readiness.mode())
        {
            Ok(()) => self.slots[slot].armed = (read, write),
            Err(e) => {
                log::error!(target: "waitress", "Could not watch a connection: {e}");
                self.remove(slot);
            }
        }
    }

    fn remove(&mut self, slot: usize) {
        let Some(mut channel) = self.slots.get_mut(slot).and_then(|s| s.channel.take()) else {
            return;
        };
        let _ = self.poller.delete(&*channel.stream);
        channel.close();
        drop(channel);
        self.free.push(slot);
        self.open -= 1;
        if self.accepting == Accepting::AtLimit && self.open < self.cfg.connection_limit {
            log::info!(target: "waitress",
                "total open connections dropped below the connection limit, listening again");
            self.listen_again();
        }
    }

    /// Closes connections idle for `channel_timeout`, as waitress's maintenance does;
    /// connections whose request head began arriving that long ago and is still incomplete
    /// (waitress keeps one whose client trickles a byte every few seconds: slowloris); and
    /// connections whose client took none of the pending output for as long: waitress keeps
    /// those, so a few clients that stop reading pin every worker blocked at the high-water
    /// mark (slow-read exhaustion). Closing fails the blocked write and frees the worker.
    fn cleanup(&mut self, now: Instant) {
        for slot in 0..self.slots.len() {
            // A response that finished quietly is only noticed here: settle it first.
            self.service(slot, false, now);
            let expired = self.slots[slot].channel.as_ref().is_some_and(|c| {
                c.timeout_since()
                    .is_some_and(|t| now.saturating_duration_since(t) >= self.cfg.channel_timeout)
            });
            if expired {
                self.remove(slot);
            }
        }
    }

    /// While stopping, closes connections whose client stopped: a body under way is received
    /// whole, and a response sent whole, only while it keeps moving (one stalled upload, or one
    /// client not reading, held every stop for the whole 30 s cap, past Docker's 10 s grace).
    fn drop_stalled(&mut self, now: Instant) {
        let (mut uploads, mut downloads) = (0, 0);
        for slot in 0..self.slots.len() {
            let stalled_at = |slots: &[Slot]| {
                slots[slot]
                    .channel
                    .as_ref()
                    .and_then(|c| c.stalled_at_shutdown(now, STALL_AT_SHUTDOWN))
            };
            let mut stalled = stalled_at(&self.slots);
            if stalled == Some(Waiting::Download) {
                // Writability is a poor sign of a reader's progress: the kernel reports a
                // socket writable only once a good part of its send buffer drained (on
                // loopback ~1.4 MB of ~4 MB), so a client reading steadily at 300 KB/s got
                // no write for ~5 s and was cut. A write tried now that goes through is
                // progress, as `cleanup` finds it for channel_timeout.
                self.service(slot, false, now);
                stalled = stalled_at(&self.slots);
            }
            match stalled {
                Some(Waiting::Upload) => uploads += 1,
                Some(Waiting::Download) => downloads += 1,
                None | Some(Waiting::Request | Waiting::Other) => continue,
            }
            self.remove(slot);
        }
        // One line for all those found in a pass, however many.
        for (n, what) in [
            (uploads, "sending its request body"),
            (downloads, "reading its response"),
        ] {
            if n > 0 {
                log::warn!(target: "waitress",
                    "Shutdown: closing {n} connection(s) whose client stopped {what} (nothing \
                     for {} s)", STALL_AT_SHUTDOWN.as_secs());
            }
        }
    }

    /// What the connections still open at the drain's end wait for, counted:
    /// `1 request(s) still running, 2 upload(s) still arriving`.
    fn unfinished(&self) -> String {
        let open: Vec<Waiting> = self
            .slots
            .iter()
            .filter_map(|slot| slot.channel.as_ref().map(Channel::waiting_for))
            .collect();
        [
            (Waiting::Download, "response(s) still being read"),
            (Waiting::Request, "request(s) still running"),
            (Waiting::Upload, "upload(s) still arriving"),
            (Waiting::Other, "other"),
        ]
        .into_iter()
        .filter_map(|(kind, what)| {
            let n = open.iter().filter(|&&u| u == kind).count();
            (n > 0).then(|| format!("{n} {what}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
    }

    fn expire_lingering(&mut self, now: Instant) {
        let mut slots = std::mem::take(&mut self.lingering);
        slots.retain(|&slot| match self.linger_deadline(slot) {
            Some(until) if now >= until => {
                self.remove(slot);
                false
            }
            Some(_) => true,
            // Closed, or the slot went to a new connection that is not lingering.
            None => false,
        });
        slots.append(&mut self.lingering);
        self.lingering = slots;
    }

    /// Stops accepting, closes idle connections and lets the others finish what they received.
    fn begin_shutdown(&mut self, now: Instant) {
        self.accepting = Accepting::Stopped;
        for listener in self.listeners.drain(..) {
            let _ = self.poller.delete(&listener);
            listener.remove_socket_file();
        }
        for slot in 0..self.slots.len() {
            // Read first what the clients sent before the stop: under load the loop sees the
            // stop between two passes, and a request already in an idle connection's socket,
            // whose event the next pass would have collected, was lost to the close below
            // (3 resets in 20 stops under 8 busy clients). Read now, it is answered, last.
            self.service(slot, true, now);
            if let Some(channel) = self.slots[slot].channel.as_mut() {
                channel.drain(now);
                self.service(slot, false, now);
            }
        }
    }

    /// When the stop's graces end (see `Channel::drain`). Before a stop there are none, and the
    /// connections are not walked: this runs on every pass of the loop.
    fn stop_graces(&self) -> impl Iterator<Item = Instant> + '_ {
        let slots = match self.accepting {
            Accepting::Stopped => &self.slots[..],
            _ => &[],
        };
        slots
            .iter()
            .filter_map(|s| s.channel.as_ref()?.stop_grace_until())
    }

    /// Ends the stop's graces that are over: a connection that got no request in its grace is
    /// closed.
    fn end_stop_graces(&mut self, now: Instant) {
        for slot in 0..self.slots.len() {
            if let Some(channel) = self.slots[slot].channel.as_mut()
                && channel.stop_grace_until().is_some_and(|end| now >= end)
            {
                channel.end_stop_grace();
                self.service(slot, false, now);
            }
        }
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        for listener in &self.listeners {
            let _ = self.poller.delete(listener);
            listener.remove_socket_file();
        }
        for slot in &mut self.slots {
            if let Some(channel) = slot.channel.take() {
                let _ = self.poller.delete(&*channel.stream);
                channel.output.close();
                // A worker still running a request holds the socket: without this its client
                // saw the connection open, the server stopped, until that request ended.
                let _ = channel.stream.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_are_told_apart() {
        // Errors as accept(2) returns them, with their OS codes.
        #[cfg(unix)]
        {
            let of = |errno| AcceptFailure::of(&io::Error::from_raw_os_error(errno));
            assert_eq!(of(libc::EAGAIN), AcceptFailure::Drained);
            for errno in [libc::EINTR, libc::ECONNABORTED] {
                assert_eq!(of(errno), AcceptFailure::Retry, "errno {errno}");
            }
            for errno in [libc::EPERM, libc::ENETUNREACH, libc::ECONNRESET] {
                assert_eq!(of(errno), AcceptFailure::Connection, "errno {errno}");
            }
            for errno in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
                assert_eq!(of(errno), AcceptFailure::Server, "errno {errno}");
            }
        }
        // A set-up failure after the accept carries no OS code.
        assert_eq!(
            AcceptFailure::of(&io::Error::other(
                "accepted a connection with no IP address"
            )),
            AcceptFailure::Connection
        );
    }
}
