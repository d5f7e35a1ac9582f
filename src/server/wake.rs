//! Waking the event loop from a worker: which connection has news, then `Poller::notify`.
//!
//! `notify` coalesces and carries no data (polling's docs), so the connections to look at go in
//! a list the loop drains on every wake-up.

use std::sync::{Arc, Mutex};

use polling::Poller;

/// Connections with news for the loop, and the poller to wake it.
#[derive(Debug)]
pub struct WakeList {
    pending: Mutex<Vec<ConnId>>,
    poller: Arc<Poller>,
}

/// A connection as the loop knows it: its slot, and which use of the slot (slots are reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnId {
    /// The slot in the loop's connection table.
    pub slot: usize,
    /// Counts uses of the slot, so news for a closed connection is not taken for its successor.
    pub generation: u64,
}

impl WakeList {
    /// An empty list that wakes `poller`.
    pub fn new(poller: Arc<Poller>) -> Arc<WakeList> {
        Arc::new(WakeList {
            pending: Mutex::new(Vec::new()),
            poller,
        })
    }

    /// Takes the connections with news.
    pub fn drain(&self, into: &mut Vec<ConnId>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        into.append(&mut pending);
    }

    /// Wakes the loop with no connection to look at (shutdown, a freed worker).
    pub fn nudge(&self) {
        let _ = self.poller.notify();
    }
}

/// Wakes the loop about one connection.
#[derive(Debug, Clone)]
pub struct Waker {
    list: Arc<WakeList>,
    id: ConnId,
}

impl Waker {
    /// A waker for connection `id`.
    pub fn new(list: Arc<WakeList>, id: ConnId) -> Waker {
        Waker { list, id }
    }

    /// Tells the loop this connection has output or a finished response.
    pub fn wake(&self) {
        let mut pending = self.list.pending.lock().unwrap_or_else(|p| p.into_inner());
        let first = pending.is_empty();
        pending.push(self.id);
        drop(pending);
        // One notify per batch: the loop drains the whole list when it wakes.
        if first {
            let _ = self.list.poller.notify();
        }
    }
}
