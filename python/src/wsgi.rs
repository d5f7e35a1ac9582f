//! A Python WSGI application behind the core's [`App`] contract (PEP 3333).
//!
//! The worker thread holds the GIL while Python code runs and releases it for everything
//! that may block: reading a spooled body, handing bytes to the connection (which waits when
//! the client is slower than the app), sending a file.
//!
//! `start_response` and `write` are Python objects that may outlive the request (an app can
//! keep a reference), while the core's [`Response`] only lives for the call. They reach it
//! through a [`Slot`] that is filled for the duration of [`App::call`] and emptied before it
//! returns; after that they raise `RuntimeError`.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read, Seek, SeekFrom};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use pyo3::exceptions::{PyAssertionError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyMemoryView, PyModule, PySlice, PyString, PyTuple};

use waitress_rs::app::environ::{COMMON_HEADER_KEYS, CORE_KEYS};
use waitress_rs::app::{App, AppError, Body, ClientStatus, Request, Response, ResponseError};

/// waitress's message for an app that is `None` (two spaces after the first period).
const NONE_APP: &str = "The \"app\" passed to ``create_server`` was ``None``.  You forgot to \
                        return a WSGI app within your application.";

/// How much `wsgi.input` reads from the body at a time for `readline` and iteration.
const READ_CHUNK: usize = 8192;

/// The most `wsgi.input` reads from the body in one go (a larger `read(n)` loops).
const MAX_FILL: usize = 1 << 20;

/// A Python exception as the core sees it: its formatted traceback, which is the 500 body with
/// `expose_tracebacks` and what a non-Python log sink shows, and the exception itself, which
/// the log bridge hands to `logging` as `exc_info` (so handlers get the exception, as from
/// waitress's `logger.exception`).
#[derive(Debug)]
pub(crate) struct PythonError {
    text: String,
    exception: Option<Arc<PyErr>>,
}

impl PythonError {
    /// The Python exception, when the error came from Python code.
    pub(crate) fn exception(&self) -> Option<&Arc<PyErr>> {
        self.exception.as_ref()
    }
}

impl fmt::Display for PythonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text.trim_end())
    }
}

impl std::error::Error for PythonError {}

impl Drop for PythonError {
    /// Releases the exception now. The core drops the error on the worker after the response,
    /// detached from Python, where pyo3 only queues the release until some thread next
    /// attaches: the exception's frames, its environ and a spooled body's temp file stayed
    /// alive up to a second after the 500 (until the next request or the log bridge's refresh).
    fn drop(&mut self) {
        if let Some(exception) = self.exception.take() {
            // Not at interpreter shutdown, when attaching is refused: then pyo3's queue it is.
            let _ = Python::try_attach(move |_py| drop(exception));
        }
    }
}

fn app_error(py: Python<'_>, err: PyErr) -> AppError {
    // The traceback is passed on its own: under the stable ABI on 3.11 the exception value does
    // not carry it (`__traceback__` is None), and the log and expose_tracebacks lost the stack.
    let text = py
        .import("traceback")
        .and_then(|tb| {
            tb.call_method1(
                "format_exception",
                (err.get_type(py), err.value(py), err.traceback(py)),
            )
        })
        .and_then(|lines| {
            let mut out = String::new();
            for line in lines.try_iter()? {
                out.push_str(&line?.extract::<String>()?);
            }
            Ok(out)
        })
        .unwrap_or_else(|_| err.to_string());
    Box::new(PythonError {
        text,
        exception: Some(Arc::new(err)),
    })
}

/// The core's response for the length of one call, shared with the Python objects.
pub struct Slot {
    res: Mutex<Option<NonNull<Response<'static>>>>,
}

// SAFETY: the pointer is only dereferenced while the mutex is held and the slot is filled,
// and `Filled` empties it before the `Response` it points to goes out of scope. `Response`
// itself is only used by one thread at a time (the mutex).
unsafe impl Send for Slot {}
unsafe impl Sync for Slot {}

/// Keeps a slot filled for a scope; empties it on drop, also when unwinding.
struct Filled<'s>(&'s Slot);

impl<'s> Filled<'s> {
    fn new(slot: &'s Slot, res: &mut Response<'_>) -> Self {
        let ptr = NonNull::from(res).cast::<Response<'static>>();
        *slot.lock() = Some(ptr);
        Filled(slot)
    }
}

impl Drop for Filled<'_> {
    fn drop(&mut self) {
        *self.0.lock() = None;
    }
}

impl Slot {
    fn new() -> Self {
        Slot {
            res: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<NonNull<Response<'static>>>> {
        self.res.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the response with the GIL released. The lock is taken without the GIL, so
    /// a thread holding it never waits for the GIL.
    fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Response<'_>) -> R + Send,
    ) -> PyResult<R> {
        py.detach(|| {
            let guard = self.lock();
            // SAFETY: see `unsafe impl Send for Slot`.
            guard.map(|mut ptr| f(unsafe { ptr.as_mut() }))
        })
        .ok_or_else(finished)
    }

    /// Runs `f` on the response keeping the GIL, for calls that never touch the connection
    /// (`start`, `is_committed`): releasing the GIL there only handed it to another worker and
    /// queued this one behind it (hello at 50 connections, 6 interleaved `perf stat` pairs:
    /// futex calls per request 1.4-2.3 -> 1.25-1.5, context switches 0.5-1.2 -> 0.35-0.7,
    /// bench/NOTES-python.md). The lock is only tried: another thread of
    /// the app may hold it while it waits for the client, and waiting for it here would hold
    /// the GIL that long; then this goes through [`Slot::with`].
    fn with_gil<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Response<'_>) -> R + Send,
    ) -> PyResult<R> {
        let guard = match self.res.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return self.with(py, f),
        };
        // SAFETY: see `unsafe impl Send for Slot`.
        guard
            .map(|mut ptr| f(unsafe { ptr.as_mut() }))
            .ok_or_else(finished)
    }

    /// Body bytes go out with the GIL released, even when they cannot wait for the client:
    /// the socket write then overlaps another worker's Python. Keeping the GIL for writes that
    /// could not block was tried and lost (hello world at 256 connections: 80k -> 61k req/s,
    /// bench/NOTES-python.md).
    fn write(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        self.with(py, |res| res.write(data).map_err(BodyError::from))?
            .map_err(body_error)
    }
}

fn finished() -> PyErr {
    PyRuntimeError::new_err("the response is finished: write after the application returned")
}

/// Why body bytes could not be sent, carried out of the GIL-free section.
pub enum BodyError {
    /// `start_response` was not called before the first body byte.
    NotStarted,
    /// Anything else: the client is gone, or the status/headers were refused.
    Other(String),
}

impl From<AppError> for BodyError {
    fn from(e: AppError) -> Self {
        match e.downcast_ref::<ResponseError>() {
            Some(ResponseError::NotStarted) => BodyError::NotStarted,
            _ => BodyError::Other(e.to_string()),
        }
    }
}

impl From<ResponseError> for BodyError {
    fn from(e: ResponseError) -> Self {
        BodyError::from(AppError::from(e))
    }
}

/// Body errors as Python exceptions: waitress's `RuntimeError` for a missing `start_response`,
/// `ConnectionError` for a client that is gone.
fn body_error(e: BodyError) -> PyErr {
    match e {
        BodyError::NotStarted => {
            PyRuntimeError::new_err("start_response was not called before body written")
        }
        BodyError::Other(message) => pyo3::exceptions::PyConnectionError::new_err(message),
    }
}

/// Environ keys that the core sets or that clients and proxies commonly send (the core's
/// [`CORE_KEYS`] and [`COMMON_HEADER_KEYS`]). They are made into interned Python strings once:
/// creating and interning every key anew per request was 11.2k of the 86.7k instructions per
/// request (callgrind, hello at 50 connections, bench/NOTES-python.md), and an interned key
/// also makes the app's `environ["PATH_INFO"]` an identity match. Other keys (rarer headers)
/// are made per request, not interned, so what a client sends never grows this table nor
/// Python's table of interned strings (immortal from Python 3.12).
fn known_keys() -> impl Iterator<Item = &'static str> {
    CORE_KEYS.into_iter().chain(COMMON_HEADER_KEYS)
}

/// FNV-1a, for the fixed table of known keys: a few instructions per byte where std's SipHash
/// costs about a hundred per key. The table is read-only and small, so colliding names cost
/// an attacker nothing but a few extra comparisons.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A WSGI application object, served by the core.
pub struct WsgiApp {
    app: Py<PyAny>,
    file_wrapper: Py<PyAny>,
    version: Py<PyTuple>,
    /// `sys`, for `wsgi.errors` (looked up per request: an app may replace `sys.stderr`).
    sys: Py<PyModule>,
    /// [`known_keys`] as interned Python strings.
    keys: HashMap<&'static str, Py<PyString>, BuildHasherDefault<Fnv>>,
}

impl WsgiApp {
    /// Wraps `app`; `None` is refused with waitress's message.
    pub fn new(py: Python<'_>, app: Bound<'_, PyAny>) -> PyResult<Self> {
        if app.is_none() {
            return Err(PyValueError::new_err(NONE_APP));
        }
        let file_wrapper = py.import("waitress_rs")?.getattr("FileWrapper")?.unbind();
        let keys = known_keys()
            .map(|k| (k, PyString::intern(py, k).unbind()))
            .collect();
        Ok(WsgiApp {
            app: app.unbind(),
            file_wrapper,
            version: PyTuple::new(py, [1, 0])?.unbind(),
            sys: py.import("sys")?.unbind(),
            keys,
        })
    }

    /// The environ, and its `wsgi.input` (for [`Input::close_body`] once the request is done).
    fn environ<'py>(
        &self,
        py: Python<'py>,
        req: &mut Request,
    ) -> PyResult<(Bound<'py, PyDict>, Bound<'py, Input>)> {
        let environ = PyDict::new(py);
        for (key, value) in req.environ.iter() {
            match self.keys.get(key) {
                Some(known) => environ.set_item(known.bind(py), value)?,
                // Not interned: a name the client chose would live for good (interned
                // strings are immortal from Python 3.12).
                None => environ.set_item(PyString::new(py, key), value)?,
            }
        }
        let body = std::mem::replace(&mut req.body, Body::empty());
        environ.set_item(intern!(py, "wsgi.version"), self.version.bind(py))?;
        let input = Bound::new(py, Input::new(body))?;
        environ.set_item(intern!(py, "wsgi.input"), &input)?;
        let stderr = self.sys.bind(py).getattr(intern!(py, "stderr"))?;
        environ.set_item(intern!(py, "wsgi.errors"), stderr)?;
        environ.set_item(intern!(py, "wsgi.multithread"), true)?;
        environ.set_item(intern!(py, "wsgi.multiprocess"), false)?;
        environ.set_item(intern!(py, "wsgi.run_once"), false)?;
        environ.set_item(intern!(py, "wsgi.input_terminated"), true)?;
        environ.set_item(intern!(py, "wsgi.file_wrapper"), self.file_wrapper.bind(py))?;
        let disconnected = ClientDisconnected(req.client.clone());
        environ.set_item(intern!(py, "waitress.client_disconnected"), disconnected)?;
        Ok((environ, input))
    }

    /// Runs the app and sends its body, except a small single-part body of a plain list or
    /// tuple, which it returns for [`App::call`] to send once the GIL is released.
    fn call_py(
        &self,
        py: Python<'_>,
        req: &mut Request,
        slot: &Arc<Slot>,
    ) -> PyResult<Option<Vec<u8>>> {
        let (environ, input) = self.environ(py, req)?;
        let answered = self.answer(py, environ, slot);
        // As waitress closes the request's body file once the request is done: an environ the
        // app keeps (a global, a reference cycle, a log record's traceback) no longer holds the
        // body's memory or its temp file (up to max_request_body_size of disk) until it goes.
        input.get().close_body(py);
        answered
    }

    /// Calls the app with `environ` and sends what it returns; see [`WsgiApp::call_py`].
    fn answer(
        &self,
        py: Python<'_>,
        environ: Bound<'_, PyDict>,
        slot: &Arc<Slot>,
    ) -> PyResult<Option<Vec<u8>>> {
        let start_response = Bound::new(
            py,
            StartResponse {
                slot: Arc::clone(slot),
                state: Mutex::new(State::default()),
            },
        )?;
        let result = self.app.bind(py).call1((environ, &start_response))?;
        // PEP 3333: close() is called whatever happened, and its own error is reported unless
        // an earlier one is. A plain list or tuple has no close(); asking it raised and
        // formatted an AttributeError every request (4.8k instructions of 86.7k, callgrind).
        if is_plain_sequence(&result) {
            if let Some(body) = deferrable(&result, start_response.get())? {
                return Ok(Some(body));
            }
            return self
                .send_body(py, &result, start_response.get())
                .map(|()| None);
        }
        let sent = self.send_body(py, &result, start_response.get());
        let close = intern!(py, "close");
        let closed = if result.hasattr(close)? {
            result.call_method0(close).map(drop)
        } else {
            Ok(())
        };
        sent.and(closed).map(|()| None)
    }

    fn send_body(
        &self,
        py: Python<'_>,
        result: &Bound<'_, PyAny>,
        start: &StartResponse,
    ) -> PyResult<()> {
        if result.get_type().is(self.file_wrapper.bind(py)) {
            if send_file(py, result, start)? {
                return Ok(());
            }
            announce_length(py, result, start)?;
        }
        let count = if is_plain_sequence(result) {
            Some(result.len()?)
        } else if has_len(result) {
            result.len().ok()
        } else {
            None
        };
        if count == Some(1) {
            // One part: its length is the body's, so the response gets a Content-Length.
            let mut parts = result.try_iter()?;
            if let Some(first) = parts.next() {
                let first = first?;
                let bytes = body_bytes(&first)?;
                start
                    .slot
                    .with(py, |res| res.send(bytes).map_err(BodyError::from))?
                    .map_err(body_error)?;
            }
            for part in parts {
                start.slot.write(py, body_bytes(&part?)?)?;
            }
            return Ok(());
        }
        for part in result.try_iter()? {
            start.slot.write(py, body_bytes(&part?)?)?;
        }
        Ok(())
    }
}

/// The largest body [`WsgiApp::call_py`] copies out to send after releasing the GIL.
const DEFERRED_BODY_LIMIT: usize = 16 * 1024;

/// The body of a plain list or tuple with one `bytes` part of at most
/// [`DEFERRED_BODY_LIMIT`], once `start_response` has been called: sending it after the GIL is
/// released saves taking the GIL again after the send just to return, which under load meant
/// waiting behind another worker (hello at 50 connections, interleaved 6 × 5 s: 83.3k -> 91.3k
/// req/s, context switches 0.97 -> 0.77 per request, bench/NOTES-python.md). The copy is
/// bounded; a larger body is sent from the `bytes` object as before.
fn deferrable(result: &Bound<'_, PyAny>, start: &StartResponse) -> PyResult<Option<Vec<u8>>> {
    if result.len()? != 1 || start.lock().status.is_none() {
        return Ok(None);
    }
    let part = result.get_item(0)?;
    match part.cast::<PyBytes>() {
        Ok(bytes) if bytes.as_bytes().len() <= DEFERRED_BODY_LIMIT => {
            Ok(Some(bytes.as_bytes().to_vec()))
        }
        _ => Ok(None),
    }
}

/// An exact `list` or `tuple` (not a subclass, which may add `close` or `__len__`): the usual
/// result of a WSGI app, whose length and lack of `close()` are known without asking.
fn is_plain_sequence(result: &Bound<'_, PyAny>) -> bool {
    result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>()
}

/// Whether `obj`'s type has a length slot, i.e. `len(obj)` would not fail for want of
/// `__len__` (waitress's `hasattr(app_iter, "__len__")`). Asked of the type so that the
/// generators and response objects of Flask and Django (which have no length) do not raise
/// and format a TypeError on every request, as `len()` does (about 4,800 instructions for the
/// AttributeError the same way, bench/NOTES-python.md).
fn has_len(obj: &Bound<'_, PyAny>) -> bool {
    let tp = obj.get_type();
    // SAFETY: `tp` is a live type object; PyType_GetSlot only reads its slots (and is allowed
    // on static types from Python 3.10, below the 3.11 this package needs).
    unsafe {
        let t = tp.as_type_ptr();
        !pyo3::ffi::PyType_GetSlot(t, pyo3::ffi::Py_sq_length).is_null()
            || !pyo3::ffi::PyType_GetSlot(t, pyo3::ffi::Py_mp_length).is_null()
    }
}

/// A body part must be bytes (PEP 3333); a `str` is the classic mistake and gives a 500.
fn body_bytes<'a>(part: &'a Bound<'_, PyAny>) -> PyResult<&'a [u8]> {
    match part.cast::<PyBytes>() {
        Ok(bytes) => Ok(bytes.as_bytes()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "the application returned a {} where bytes are required (PEP 3333): {}",
            part.get_type().name()?,
            part.repr()?
        ))),
    }
}

/// The fast path for `wsgi.file_wrapper(file)`: a regular file with a descriptor and a
/// position goes out through the core's file sending (sendfile where it costs the server
/// less than copying), without Python. Returns false to fall back to iterating the wrapper
/// (file-likes without `fileno`/`tell`, pipes, empty files), as waitress does.
fn send_file(py: Python<'_>, wrapper: &Bound<'_, PyAny>, start: &StartResponse) -> PyResult<bool> {
    #[cfg(unix)]
    {
        use std::fs::File;
        use std::io::{Seek, SeekFrom};
        use std::os::fd::BorrowedFd;

        let filelike = wrapper.getattr("file")?;
        let Ok(fd) = filelike
            .call_method0("fileno")
            .and_then(|f| f.extract::<i32>())
        else {
            return Ok(false);
        };
        let Ok(pos) = filelike
            .call_method0("tell")
            .and_then(|t| t.extract::<u64>())
        else {
            return Ok(false);
        };
        let Some((status, headers)) = started(start) else {
            return Ok(false);
        };
        if fd < 0 {
            return Ok(false);
        }
        // SAFETY: the descriptor belongs to `file`, which is alive for this call; we only
        // duplicate it, and the duplicate is ours to close.
        let Ok(owned) = unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned() else {
            return Ok(false);
        };
        let mut file = File::from(owned);
        let Ok(meta) = file.metadata() else {
            return Ok(false);
        };
        if !meta.is_file() {
            return Ok(false);
        }
        let declared = declared_length(&headers);
        let available = meta.len().saturating_sub(pos);
        let size = declared.map_or(available, |cl| cl.min(available));
        if size == 0 {
            return Ok(false);
        }
        file.seek(SeekFrom::Start(pos))
            .map_err(pyo3::exceptions::PyOSError::new_err)?;
        let sent = start.slot.with(py, move |res| -> Result<(), BodyError> {
            if declared.is_some_and(|cl| cl != size) {
                // As waitress: the file's real size replaces a Content-Length that is too long.
                let headers = headers
                    .into_iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("content-length"))
                    .collect();
                res.start(status, headers).map_err(BodyError::from)?;
            }
            res.send_file(file, size).map_err(BodyError::from)
        })?;
        sent.map_err(body_error)?;
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = (py, wrapper, start);
        Ok(false)
    }
}

/// The status and headers `start_response` was given, if it was called.
fn started(start: &StartResponse) -> Option<(String, Vec<(String, String)>)> {
    let state = start.lock();
    let status = state.status.clone()?;
    Some((status, state.headers.clone()))
}

/// The app's `Content-Length`, if it gave one that is a number.
fn declared_length(headers: &[(String, String)]) -> Option<u64> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<u64>().ok())
}

/// For `wsgi.file_wrapper` around a seekable object that is not a regular file (a `BytesIO`):
/// the length from its position to its end becomes the response's `Content-Length` (replacing
/// a longer one the app gave), as waitress works it out with `seek` and `tell`, so the body
/// that is then read from it has a known length rather than chunks.
fn announce_length(
    py: Python<'_>,
    wrapper: &Bound<'_, PyAny>,
    start: &StartResponse,
) -> PyResult<()> {
    let filelike = wrapper.getattr("file")?;
    if !(filelike.hasattr("seek")? && filelike.hasattr("tell")?) {
        return Ok(());
    }
    let position = |f: &Bound<'_, PyAny>| f.call_method0("tell")?.extract::<u64>();
    let (Ok(here), Ok(_), Ok(end)) = (
        position(&filelike),
        filelike.call_method1("seek", (0, 2)),
        position(&filelike),
    ) else {
        return Ok(());
    };
    filelike.call_method1("seek", (here,))?;
    let Some((status, mut headers)) = started(start) else {
        return Ok(());
    };
    let declared = declared_length(&headers);
    let size = end.saturating_sub(here);
    let size = declared.map_or(size, |cl| cl.min(size));
    if size == 0 || declared == Some(size) {
        return Ok(());
    }
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-length"));
    headers.push(("Content-Length".to_owned(), size.to_string()));
    start
        .slot
        .with(py, move |res| {
            res.start(status, headers).map_err(BodyError::from)
        })?
        .map_err(body_error)
}

impl App for WsgiApp {
    fn call(&self, req: &mut Request, res: &mut Response<'_>) -> Result<(), AppError> {
        let slot = Arc::new(Slot::new());
        let filled = Filled::new(&slot, res);
        let deferred =
            Python::attach(|py| self.call_py(py, req, &slot).map_err(|e| app_error(py, e)))?;
        drop(filled);
        match deferred {
            // The error text is what the same failure gives when sent with the GIL: a
            // ConnectionError raised from Rust, formatted without frames.
            Some(body) => res.send(&body).map_err(|e| {
                Box::new(PythonError {
                    text: format!("ConnectionError: {e}\n"),
                    exception: None,
                }) as AppError
            }),
            None => Ok(()),
        }
    }

    /// One attach for the thread's life (so `threading.local` data such as Django's database
    /// connections survives between requests), with the GIL released except while Python runs.
    fn run_worker(&self, work: &mut (dyn FnMut() + Send)) {
        let mut attached = false;
        Python::try_attach(|py| {
            attached = true;
            name_python_thread(py);
            crate::logs::on_worker_thread(true);
            py.detach(&mut *work);
            crate::logs::on_worker_thread(false);
            forget_python_thread(py);
        });
        if !attached {
            // The interpreter is exiting: serve without a lasting thread state (each call
            // then attaches for itself, and fails cleanly if Python is gone).
            work();
        }
    }
}

/// Gives the worker's Python thread the worker's name (`waitress-0`), as waitress's workers
/// have: attached from Rust, Python would call it `Dummy-1`, and that is what an app's own log
/// records (`%(threadName)s`) and code keyed on thread names would see.
fn name_python_thread(py: Python<'_>) {
    let Some(name) = std::thread::current().name().map(str::to_owned) else {
        return;
    };
    let named = py
        .import("threading")
        .and_then(|threading| threading.call_method0("current_thread"))
        .and_then(|thread| thread.setattr("name", name));
    if let Err(e) = named {
        e.print(py);
    }
}

/// Takes the calling thread (an ending worker, or the log bridge's thread after a record) out
/// of `threading.enumerate()`. Python keeps the record of a thread it did not start (a
/// `_DummyThread`) until another thread reuses its id, so a program that stopped serving still
/// listed `waitress-0`..`waitress-3` beside its own threads (and a test suite's thread-leak
/// check saw them). `threading._active` is private but has held those
/// records since Python 2; should it go, the stale names come back and nothing else is lost,
/// so a failure here is not reported.
pub(crate) fn forget_python_thread(py: Python<'_>) {
    let _ = py.import("threading").and_then(|threading| {
        let ident = threading.call_method0("get_ident")?;
        threading
            .getattr("_active")?
            .call_method1("pop", (ident, py.None()))
    });
}

/// What `start_response` remembers.
#[derive(Default)]
struct State {
    called: bool,
    status: Option<String>,
    headers: Vec<(String, String)>,
}

/// The `start_response` callable. Its `write` method is the PEP 3333 `write` callable.
#[pyclass(frozen, module = "waitress_rs")]
pub struct StartResponse {
    slot: Arc<Slot>,
    state: Mutex<State>,
}

impl StartResponse {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A `str` as Rust text, as `str(s)` shows it (lone surrogates become U+FFFD). An exact `str`
/// is read directly; formatting it through `str()` (pyo3's `Display`) cost 1.8k instructions
/// per hello-world request (callgrind). A subclass may override `__str__`, so it still goes
/// through `str()`.
fn native_string(s: &Bound<'_, PyString>) -> String {
    if s.is_exact_instance_of::<PyString>() {
        s.to_string_lossy().into_owned()
    } else {
        s.to_string()
    }
}

fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    let headers = if headers.is_instance_of::<PyList>() || headers.is_instance_of::<PyTuple>() {
        headers.clone()
    } else {
        return Err(PyAssertionError::new_err(format!(
            "headers {} are not a list of (name, value) tuples",
            headers.repr()?
        )));
    };
    for item in headers.try_iter()? {
        let item = item?;
        let pair = item.cast::<PyTuple>().ok().filter(|t| t.len() == 2);
        let Some(pair) = pair else {
            return Err(PyAssertionError::new_err(format!(
                "header {} is not a (name, value) tuple",
                item.repr()?
            )));
        };
        let (k, v) = (pair.get_item(0)?, pair.get_item(1)?);
        let Ok(name) = k.cast::<PyString>() else {
            return Err(PyAssertionError::new_err(format!(
                "Header name {} is not a string in {}",
                k.repr()?,
                item.repr()?
            )));
        };
        let Ok(value) = v.cast::<PyString>() else {
            return Err(PyAssertionError::new_err(format!(
                "Header value {} is not a string in {}",
                v.repr()?,
                item.repr()?
            )));
        };
        out.push((native_string(name), native_string(value)));
    }
    Ok(out)
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, headers, exc_info = None))]
    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        status: &Bound<'py, PyAny>,
        headers: &Bound<'py, PyAny>,
        exc_info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let exc_info = exc_info.filter(|e| !e.is_none());
        match exc_info {
            Some(info) => {
                let committed = this.slot.with_gil(py, |res| res.is_committed())?;
                if committed {
                    // PEP 3333: too late to change the response; re-raise the app's error.
                    return Err(PyErr::from_value(info.get_item(1)?));
                }
            }
            None => {
                if this.lock().called {
                    return Err(PyAssertionError::new_err(
                        "start_response called a second time without providing exc_info.",
                    ));
                }
            }
        }
        this.lock().called = true;
        let Ok(status) = status.cast::<PyString>() else {
            return Err(PyAssertionError::new_err(format!(
                "status {} is not a string",
                status.str()?
            )));
        };
        let status = native_string(status);
        let headers = header_pairs(headers)?;
        let (s, h) = (status.clone(), headers.clone());
        this.slot
            .with_gil(py, move |res| res.start(s, h))?
            .map_err(|e| match e {
                ResponseError::HopByHop(_) => PyAssertionError::new_err(e.to_string()),
                _ => PyValueError::new_err(e.to_string()),
            })?;
        let mut state = this.lock();
        state.status = Some(status);
        state.headers = headers;
        drop(state);
        slf.getattr(intern!(py, "write"))
    }

    /// PEP 3333's `write(data)`: sends `data` now (after the headers, on the first byte).
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = body_bytes(data)?;
        self.slot.write(py, bytes)
    }
}

/// `environ["waitress.client_disconnected"]`: called with no arguments, whether the client is
/// gone (see [`ClientStatus`] for when the server knows).
#[pyclass(frozen, module = "waitress_rs")]
pub struct ClientDisconnected(ClientStatus);

#[pymethods]
impl ClientDisconnected {
    fn __call__(&self) -> bool {
        self.0.disconnected()
    }
}

/// `wsgi.input`: the request body (memory or spooled temp file) as a binary file object.
#[pyclass(frozen, module = "waitress_rs")]
pub struct Input {
    inner: Mutex<Buffered>,
}

struct Buffered {
    body: Body,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    /// The request is done (see [`Input::close_body`]): reads fail as on a closed file.
    closed: bool,
}

impl Buffered {
    fn available(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Reads more from the body into the buffer; false at the end.
    fn fill(&mut self, want: usize) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let start = self.buf.len();
        // At most MAX_FILL at a time: `read(2**31)` on a small body must not allocate 2 GiB.
        self.buf.resize(start + want.clamp(READ_CHUNK, MAX_FILL), 0);
        let n = loop {
            match self.body.read(&mut self.buf[start..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(start);
                return Err(e);
            }
        };
        self.buf.truncate(start + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.available().len());
        let out = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        out
    }

    fn read(&mut self, size: Option<usize>) -> io::Result<Vec<u8>> {
        match size {
            None => {
                let mut out = self.take(usize::MAX);
                if !self.eof {
                    self.body.read_to_end(&mut out)?;
                    self.eof = true;
                }
                Ok(out)
            }
            Some(size) => {
                while self.available().len() < size && self.fill(size - self.available().len())? {}
                Ok(self.take(size))
            }
        }
    }

    /// The position the next read starts at: the body's, less what is buffered ahead of it.
    fn tell(&mut self) -> io::Result<u64> {
        let ahead = (self.buf.len() - self.pos) as u64;
        Ok(self.body.stream_position()? - ahead)
    }

    /// Moves to `to` (io's `seek`: from the start, the current position or the end). Past the
    /// end is allowed and reads nothing, as with `BytesIO` and files; before the start is the
    /// inner `Err`, for a `ValueError` as `BytesIO` raises.
    fn seek(&mut self, to: SeekFrom) -> io::Result<Result<u64, String>> {
        let target = match to {
            SeekFrom::Start(n) => i128::from(n),
            SeekFrom::Current(d) => i128::from(self.tell()?) + i128::from(d),
            SeekFrom::End(d) => i128::from(self.body.len()) + i128::from(d),
        };
        let Ok(target) = u64::try_from(target) else {
            return Ok(Err(format!("negative seek position {target}")));
        };
        self.buf.clear();
        self.pos = 0;
        self.eof = false;
        self.body.seek(SeekFrom::Start(target)).map(Ok)
    }

    fn readline(&mut self, limit: Option<usize>) -> io::Result<Vec<u8>> {
        let limit = limit.unwrap_or(usize::MAX);
        let mut scanned = 0;
        loop {
            let avail = self.available();
            let window = avail.len().min(limit);
            if let Some(i) = avail[scanned.min(window)..window]
                .iter()
                .position(|&b| b == b'\n')
            {
                return Ok(self.take(scanned.min(window) + i + 1));
            }
            if window >= limit {
                return Ok(self.take(limit));
            }
            scanned = window;
            if !self.fill(READ_CHUNK)? {
                return Ok(self.take(usize::MAX));
            }
        }
    }
}

impl Input {
    fn new(body: Body) -> Self {
        Input {
            inner: Mutex::new(Buffered {
                body,
                buf: Vec::new(),
                pos: 0,
                eof: false,
                closed: false,
            }),
        }
    }

    fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Buffered) -> io::Result<R> + Send,
    ) -> PyResult<R> {
        py.detach(|| {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            (!inner.closed).then(|| f(&mut inner))
        })
        .ok_or_else(closed_file)?
        .map_err(PyErr::from)
    }

    /// Ends the body's use when the request is done, as waitress closes its body file then:
    /// later reads raise `ValueError` as on a closed file, and the body's memory or temp file
    /// is freed now. The lock is only tried with the GIL held (an app's own thread may be in
    /// a read, which holds it without the GIL), and a spooled body's file is closed without
    /// the GIL: closing the last descriptor of a large deleted file frees its blocks.
    fn close_body(&self, py: Python<'_>) {
        let take = |inner: &mut Buffered| {
            inner.closed = true;
            inner.buf = Vec::new();
            inner.pos = 0;
            std::mem::replace(&mut inner.body, Body::empty())
        };
        let body = match self.inner.try_lock() {
            Ok(mut inner) => take(&mut inner),
            Err(TryLockError::Poisoned(p)) => take(&mut p.into_inner()),
            Err(TryLockError::WouldBlock) => {
                py.detach(|| take(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner())))
            }
        };
        if body.is_spooled() {
            py.detach(move || drop(body));
        }
    }
}

/// What a read of `wsgi.input` raises once the request is done: io's error for a closed file.
fn closed_file() -> PyErr {
    PyValueError::new_err("I/O operation on closed file.")
}

/// `None` or a negative size means "all" (io.RawIOBase's convention).
fn size_arg(size: Option<isize>) -> Option<usize> {
    size.and_then(|s| usize::try_from(s).ok())
}

#[pymethods]
impl Input {
    #[pyo3(signature = (size = None))]
    fn read<'py>(&self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.with(py, |b| b.read(size_arg(size)))?;
        Ok(PyBytes::new(py, &data))
    }

    #[pyo3(signature = (size = None))]
    fn readline<'py>(&self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.with(py, |b| b.readline(size_arg(size)))?;
        Ok(PyBytes::new(py, &data))
    }

    #[pyo3(signature = (hint = None))]
    fn readlines<'py>(&self, py: Python<'py>, hint: Option<isize>) -> PyResult<Bound<'py, PyList>> {
        let hint = size_arg(hint).filter(|&h| h > 0);
        let lines = self.with(py, |b| {
            let mut lines = Vec::new();
            let mut total = 0;
            loop {
                let line = b.readline(None)?;
                if line.is_empty() {
                    break;
                }
                total += line.len();
                lines.push(line);
                if hint.is_some_and(|h| total >= h) {
                    break;
                }
            }
            Ok(lines)
        })?;
        PyList::new(py, lines.iter().map(|l| PyBytes::new(py, l)))
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.with(py, |b| b.readline(None))?;
        Ok((!line.is_empty()).then(|| PyBytes::new(py, &line)))
    }

    /// Reads into a writable buffer (`bytearray`, `memoryview`, `array`); returns the count, 0
    /// at the end. Bytes fill the buffer's memory whatever its item type, as with `BytesIO`.
    fn readinto(&self, py: Python<'_>, buffer: &Bound<'_, PyAny>) -> PyResult<usize> {
        let bytes = PyMemoryView::from(buffer)?.call_method1("cast", ("B",))?;
        let want = bytes.len()?;
        let data = self.with(py, |b| b.read(Some(want)))?;
        // The slice comes from Python's own `slice`: pyo3 0.30's PySlice::new leaked its three
        // ints, one int object a call.
        let slice = py.get_type::<PySlice>().call1((0, data.len()))?;
        bytes.set_item(slice, PyBytes::new(py, &data))?;
        Ok(data.len())
    }

    #[pyo3(signature = (offset, whence = 0))]
    fn seek(&self, py: Python<'_>, offset: i64, whence: i32) -> PyResult<u64> {
        let to = match (whence, u64::try_from(offset)) {
            (0, Ok(n)) => SeekFrom::Start(n),
            (0, Err(_)) => {
                return Err(PyValueError::new_err(format!(
                    "negative seek value {offset}"
                )));
            }
            (1, _) => SeekFrom::Current(offset),
            (2, _) => SeekFrom::End(offset),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "invalid whence ({whence}, should be 0, 1 or 2)"
                )));
            }
        };
        self.with(py, |b| b.seek(to))?
            .map_err(PyValueError::new_err)
    }

    fn tell(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, Buffered::tell)
    }

    fn readable(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |_| Ok(true))
    }

    fn seekable(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |_| Ok(true))
    }

    fn close(&self) {}
}
