//! The worker threads that run the application: `threads` long-lived threads named
//! `waitress-0`, `waitress-1`, ... as in waitress, taking requests from one queue.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

/// What a worker does with each job it takes (for the server: `Handler::serve` on a task).
/// Shared by all workers, so handing a job over moves the job and nothing else: a boxed
/// closure per request, holding its own `Arc` of the handler, cost an allocation freed on
/// another thread and a reference count bounced between the loop and the workers
/// (bench/NOTES.md).
pub type Run<T> = Arc<dyn Fn(T) + Send + Sync>;

/// The queue-depth warning is logged at most this often. waitress logs it on every task that
/// finds no idle thread; under load that was 0.3 lines per request here, and the writes cost
/// 15% of throughput (hello world at 50 connections: 90k req/s logging, 106k with
/// `--log-level error`, bench/NOTES.md).
const QUEUE_WARNING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// A long pass of the event loop (many connections ready at once: up to 1,024 events, ~2.5 µs
/// of the loop each) wakes the workers after at most this many jobs, not only at its end, so
/// that its first requests are not held back for all of it (~160 µs here, against a pass of up
/// to ~2.5 ms). Passes at 50 connections are shorter, and unaffected.
const WAKE_WITHIN_JOBS: usize = 64;

struct Queue<T> {
    jobs: VecDeque<T>,
    idle: usize,
    /// Idle workers signalled (or to be, by the next `Pool::wake`) and not yet running: each
    /// submit wakes a worker only if an idle one is left unsignalled, so a batch of submits
    /// from one loop iteration does not signal the same sleeping worker again and again (each
    /// `notify_one` is a futex call).
    waking: usize,
    busy: usize,
    /// When the queue-depth warning was last logged.
    warned_at: Option<Instant>,
    /// The pool was dropped: workers finish what is queued, then end (so a program that
    /// serves again, or goes on after serving, is not left with parked threads).
    closed: bool,
}

impl<T> Queue<T> {
    fn new() -> Queue<T> {
        Queue {
            jobs: VecDeque::new(),
            idle: 0,
            waking: 0,
            busy: 0,
            warned_at: None,
            closed: false,
        }
    }
}

struct Shared<T> {
    queue: Mutex<Queue<T>>,
    work: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The pool, running `T` jobs.
pub struct Pool<T> {
    shared: Arc<Shared<T>>,
    /// Sleeping workers that submits since the last [`Pool::wake`] counted as signalled but
    /// did not signal yet.
    unsent_wakes: usize,
    /// Jobs submitted since the first of those.
    held_back: usize,
}

impl<T: Send + 'static> Pool<T> {
    /// Starts `threads` workers that `run` the jobs, each running its whole life inside
    /// `app`'s [`App::run_worker`](crate::app::App::run_worker).
    pub fn new(
        threads: usize,
        app: Arc<dyn crate::app::App>,
        run: Run<T>,
    ) -> std::io::Result<Pool<T>> {
        if threads == 0 {
            // Settings::resolve refuses 0; a program may still set the field afterwards, and a
            // pool without workers would take requests and answer none.
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "threads must be at least 1",
            ));
        }
        let pool = Pool {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::new()),
                work: Condvar::new(),
            }),
            unsent_wakes: 0,
            held_back: 0,
        };
        for n in 0..threads {
            let shared = Arc::clone(&pool.shared);
            let app = Arc::clone(&app);
            let run = Arc::clone(&run);
            thread::Builder::new()
                .name(format!("waitress-{n}"))
                .spawn(move || app.run_worker(&mut || work(&shared, &*run)))
                // The workers started so far end as `pool` drops.
                .map_err(|e| {
                    let what = format!("could not start worker thread {} of {threads}: {e}", n + 1);
                    std::io::Error::new(e.kind(), what)
                })?;
        }
        Ok(pool)
    }

    /// Queues a job. A sleeping worker it needs is woken by the next [`Pool::wake`], which
    /// the caller makes once it has submitted what it has: the event loop, at the end of each
    /// pass (or by this submit, once [`WAKE_WITHIN_JOBS`] jobs were held back). Woken at once,
    /// the worker took the loop's core in the middle of the pass (the other core running the
    /// client), ran one job and slept again, and the loop's next submit woke it again. On the
    /// Intel machine (bench/NOTES.md, session 9) the hello world at 50 connections went from
    /// 157k to 179k req/s and from 0.43 to 0.16 context switches per request; the AMD machine
    /// of session 4 showed no difference either way.
    ///
    /// When more jobs wait than threads are idle, logs waitress's warning. `now` is the
    /// caller's clock reading, which dates the warning: reading the clock here, under the
    /// queue's lock, was a `clock_gettime` per request whenever jobs waited.
    pub fn submit(&mut self, job: T, now: Instant) {
        let mut queue = self.shared.lock();
        queue.jobs.push_back(job);
        let backlog = queue.jobs.len().saturating_sub(queue.idle);
        // With no thread idle, a busy one takes the job when it finishes its own: waking
        // nobody saves a futex call per request under load (2.9 futex calls per request were
        // measured before, bench/NOTES.md).
        if queue.idle > queue.waking {
            queue.waking += 1;
            self.unsent_wakes += 1;
        }
        if self.unsent_wakes > 0 {
            self.held_back += 1;
        }
        let warn = backlog > 0
            && queue
                .warned_at
                .is_none_or(|at| now.saturating_duration_since(at) >= QUEUE_WARNING_INTERVAL);
        if warn {
            queue.warned_at = Some(now);
        }
        drop(queue);
        if warn {
            log::warn!(target: "waitress.queue", "Task queue depth is {backlog}");
        }
        if self.held_back >= WAKE_WITHIN_JOBS {
            self.wake();
        }
    }

    /// Wakes the sleeping workers the jobs submitted since the last call need.
    pub fn wake(&mut self) {
        self.held_back = 0;
        for _ in 0..std::mem::take(&mut self.unsent_wakes) {
            self.shared.work.notify_one();
        }
    }

    /// Jobs queued or running.
    pub fn outstanding(&self) -> usize {
        let queue = self.shared.lock();
        queue.jobs.len() + queue.busy
    }
}

impl<T> Drop for Pool<T> {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_all();
    }
}

fn work<T>(shared: &Shared<T>, run: &(dyn Fn(T) + Send + Sync)) {
    let mut queue = shared.lock();
    loop {
        match queue.jobs.pop_front() {
            Some(job) => {
                queue.busy += 1;
                drop(queue);
                // A panicking app must not take the thread with it: the pool has a fixed size,
                // and each thread lost would leave one fewer until none answered. Nor may a
                // logger that panics on the line saying so.
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(job))).is_err() {
                    let _ = std::panic::catch_unwind(|| {
                        log::error!(target: "waitress", "Exception when servicing a request: the task panicked");
                    });
                }
                queue = shared.lock();
                queue.busy -= 1;
            }
            None if queue.closed => return,
            None => {
                queue.idle += 1;
                queue = shared.work.wait(queue).unwrap_or_else(|p| p.into_inner());
                queue.idle -= 1;
                // Woken by a submit, or spuriously: either way one fewer signal is in flight
                // (a spurious wake-up only makes a later submit signal once more).
                queue.waking = queue.waking.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// The tests' jobs: closures, each run as it is.
    type Job = Box<dyn FnOnce() + Send>;

    fn closures(threads: usize, app: Arc<dyn crate::app::App>) -> Pool<Job> {
        Pool::new(threads, app, Arc::new(|job: Job| job())).unwrap()
    }

    #[test]
    fn a_pool_needs_a_worker() {
        let app: Arc<dyn crate::app::App> =
            Arc::new(|_: &mut crate::app::Request, _: &mut crate::app::Response<'_>| Ok(()));
        let made = Pool::<Job>::new(0, app, Arc::new(|job: Job| job()));
        let err = made.err().expect("a pool of no workers");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), "threads must be at least 1");
    }

    #[test]
    fn runs_every_job_and_survives_panics() {
        let app: Arc<dyn crate::app::App> =
            Arc::new(|_: &mut crate::app::Request, _: &mut crate::app::Response<'_>| Ok(()));
        let mut pool = closures(2, app);
        let (tx, rx) = mpsc::channel();
        pool.submit(Box::new(|| panic!("app bug")), Instant::now());
        for i in 0..10 {
            let tx = tx.clone();
            pool.submit(Box::new(move || tx.send(i).unwrap()), Instant::now());
        }
        pool.wake();
        let mut got: Vec<i32> = (0..10)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        got.sort();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    }

    /// A pool of `threads` workers, every one of them asleep on the empty queue.
    fn asleep(threads: usize) -> Pool<Job> {
        let app: Arc<dyn crate::app::App> =
            Arc::new(|_: &mut crate::app::Request, _: &mut crate::app::Response<'_>| Ok(()));
        let pool = closures(threads, app);
        assert!(
            eventually(|| pool.shared.lock().idle == threads),
            "workers not asleep"
        );
        pool
    }

    #[test]
    fn sleeping_workers_wait_for_wake() {
        // The loop submits a pass's requests, then wakes the workers they need once.
        let mut pool = asleep(2);
        let (tx, rx) = mpsc::channel();
        pool.submit(Box::new(move || tx.send(()).unwrap()), Instant::now());
        assert!(
            rx.recv_timeout(Duration::from_millis(100)).is_err(),
            "a sleeping worker ran a job before wake()"
        );
        pool.wake();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn a_long_pass_wakes_workers_without_waiting_for_its_end() {
        let mut pool = asleep(1);
        let (tx, rx) = mpsc::channel();
        for i in 0..WAKE_WITHIN_JOBS - 1 {
            let tx = tx.clone();
            pool.submit(Box::new(move || tx.send(i).unwrap()), Instant::now());
        }
        assert!(
            rx.recv_timeout(Duration::from_millis(100)).is_err(),
            "woken before the pass had queued WAKE_WITHIN_JOBS jobs"
        );
        pool.submit(
            Box::new(move || tx.send(WAKE_WITHIN_JOBS - 1).unwrap()),
            Instant::now(),
        );
        let got: Vec<usize> = (0..WAKE_WITHIN_JOBS)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        assert_eq!(got, (0..WAKE_WITHIN_JOBS).collect::<Vec<_>>());
    }

    #[test]
    fn a_burst_of_jobs_wakes_every_idle_worker() {
        // Four jobs that only finish once all four run at the same time: a burst submitted
        // while every worker sleeps must wake four workers, not one four times.
        use std::sync::atomic::{AtomicUsize, Ordering};
        let app: Arc<dyn crate::app::App> =
            Arc::new(|_: &mut crate::app::Request, _: &mut crate::app::Response<'_>| Ok(()));
        let mut pool = closures(4, app);
        for round in 0..3 {
            // Let every worker go back to sleep first.
            std::thread::sleep(Duration::from_millis(50));
            let arrived = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = mpsc::channel();
            for _ in 0..4 {
                let (arrived, tx) = (Arc::clone(&arrived), tx.clone());
                pool.submit(
                    Box::new(move || {
                        arrived.fetch_add(1, Ordering::SeqCst);
                        let deadline = std::time::Instant::now() + Duration::from_secs(5);
                        while arrived.load(Ordering::SeqCst) < 4
                            && std::time::Instant::now() < deadline
                        {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        tx.send(arrived.load(Ordering::SeqCst)).unwrap();
                    }),
                    Instant::now(),
                );
            }
            pool.wake();
            for _ in 0..4 {
                let seen = rx.recv_timeout(Duration::from_secs(10)).unwrap();
                assert_eq!(seen, 4, "round {round}: a job ran without the others");
            }
        }
    }

    /// An app that counts the workers that entered its wrapper and those still inside it.
    #[derive(Default)]
    struct Tracked {
        entered: std::sync::atomic::AtomicUsize,
        running: std::sync::atomic::AtomicUsize,
    }

    impl crate::app::App for Tracked {
        fn call(
            &self,
            _: &mut crate::app::Request,
            _: &mut crate::app::Response<'_>,
        ) -> Result<(), crate::app::AppError> {
            Ok(())
        }
        fn run_worker(&self, work: &mut (dyn FnMut() + Send)) {
            use std::sync::atomic::Ordering::SeqCst;
            self.entered.fetch_add(1, SeqCst);
            self.running.fetch_add(1, SeqCst);
            work();
            self.running.fetch_sub(1, SeqCst);
        }
    }

    /// Polls `done` every 5 ms for up to 5 s.
    fn eventually(done: impl Fn() -> bool) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !done() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        done()
    }

    #[test]
    fn dropping_the_pool_ends_its_workers_after_their_jobs() {
        use std::sync::atomic::Ordering::SeqCst;
        let app = Arc::new(Tracked::default());
        let mut pool = closures(3, app.clone());
        let (tx, rx) = mpsc::channel();
        pool.submit(
            Box::new(move || {
                std::thread::sleep(Duration::from_millis(100));
                tx.send(()).unwrap();
            }),
            Instant::now(),
        );
        pool.wake();
        std::thread::sleep(Duration::from_millis(20));
        drop(pool);
        // The running job still finishes.
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(
            eventually(|| app.running.load(SeqCst) == 0),
            "workers still running"
        );
    }

    #[test]
    fn each_worker_runs_inside_the_apps_wrapper() {
        use std::sync::atomic::Ordering::SeqCst;
        let app = Arc::new(Tracked::default());
        let mut pool = closures(3, app.clone());
        let (tx, rx) = mpsc::channel();
        for _ in 0..3 {
            let tx = tx.clone();
            pool.submit(Box::new(move || tx.send(()).unwrap()), Instant::now());
        }
        pool.wake();
        for _ in 0..3 {
            rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        // Every thread enters the wrapper when it starts, whether or not it got a job.
        assert!(eventually(|| app.entered.load(SeqCst) == 3));
    }
}
