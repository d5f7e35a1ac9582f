//! Serving one request on a worker thread: environ, proxy headers, the app, and the framing of
//! what the app answers.

use std::fs::File;
use std::io::{self, Seek};
use std::sync::Arc;

use crate::app::environ::{self, ConnectionVars};
use crate::app::{App, Body, Request, Response, Sink};
use crate::http::date::with_date;
use crate::http::error::{HttpError, error_response};
use crate::http::request::{Head, TargetForm};
use crate::http::response::{self, BodyFraming, LAST_CHUNK, ResponseContext};
use crate::logging;
use crate::proxy::ProxyConfig;

use super::output::{Finished, Output, WRITEV_PARTS};

/// The body of a 500 when `expose_tracebacks` is off (waitress's wording).
const INTERNAL_ERROR_DETAIL: &str = "The server encountered an unexpected internal server error";

/// What every task needs, shared by all workers.
pub struct Handler {
    /// The application.
    pub app: Arc<dyn App>,
    /// Trusted proxy handling.
    pub proxy: ProxyConfig,
    /// The `ident` setting.
    pub ident: Option<String>,
    /// Put the app's error in 500 bodies.
    pub expose_tracebacks: bool,
}

/// One request, ready for the app.
pub struct Task {
    /// The parsed head.
    pub head: Head,
    /// The received body.
    pub body: Body,
    /// Who sent it, to which listener.
    pub connection: Arc<ConnectionVars>,
    /// Where the response goes.
    pub output: Arc<Output>,
    /// Close after this response whatever the client asked (shutdown, last queued request).
    pub force_close: bool,
}

impl Handler {
    /// Runs the app for `task` and finishes its response. Never panics on app behaviour (an
    /// app's panic is answered as its error); a panic elsewhere is caught by the pool, and
    /// the response is finished, closing the connection, as it unwinds.
    pub fn serve(&self, task: Task) {
        let Task {
            head,
            body,
            connection,
            output,
            force_close,
        } = task;
        let mut guard = FinishOnUnwind {
            output: &output,
            finished: false,
        };
        let ctx = ResponseContext {
            version: head.version,
            head_request: head.is_head(),
            connect_request: head.form == TargetForm::Authority,
            keep_alive: head.keep_alive,
            force_close,
        };
        let mut environ = environ::for_request(head, body.len(), connection);
        if self.proxy.is_active() {
            if let Err(malformed) = self.proxy.apply(&mut environ) {
                let error = HttpError::bad_request(malformed.detail());
                self.refuse(&output, &ctx, error);
                guard.finished = true;
                return;
            }
        }
        let mut request = Request {
            environ,
            body,
            client: output.client_status(),
        };
        let mut writer = Writer::new(&output, ctx, self.ident.as_deref());
        let result = {
            let mut response = Response::new(&mut writer);
            // A panicking app is an app error like any other: without this the pool would
            // catch the panic and the response would never be finished, leaving the client
            // waiting.
            let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.app.call(&mut request, &mut response)
            }))
            .unwrap_or_else(|panic| Err(panic_message(panic.as_ref()).into()));
            called.and_then(|()| response.finish())
        };
        let committed = writer.sent_anything();
        let path = || request.environ.head().map_or("", Head::path);
        match result {
            Ok(()) => writer.finish(),
            // The client gone is known by the output (every write the app makes then fails,
            // with the output closed), not by the kind of the error: an app's own connection
            // to its database that was reset is the app's failure, answered 500 and logged as
            // such (as waitress does, with log_socket_errors on).
            Err(_) if output.is_closed() => {
                log::info!(target: "waitress", "Client disconnected while serving {}", path());
                output.finish(Finished::Close);
            }
            Err(e) => {
                // In the text for any logger, and as the record's structured `exception`
                // (ERROR_KEY), which the Python bridge makes `exc_info`.
                log::error!(target: "waitress", exception:err = *e; "{}",
                    logging::with_error(&format!("Exception while serving {}", path()), &*e));
                let text = e.to_string();
                if committed && writer.is_complete() {
                    // The whole response is out, framed as its head says: nothing of it can
                    // be taken back, and the connection is sound. A proxy that keeps its
                    // connections (nginx with `keepalive`) may already have sent another
                    // client's request on it; closing would drop that request unanswered
                    // (nginx answers a POST 502), so the connection stays as planned.
                    writer.finish();
                } else if committed {
                    // The head is out: all that can be done is to cut the response short.
                    output.finish(Finished::Close);
                } else {
                    let detail = if self.expose_tracebacks {
                        text
                    } else {
                        INTERNAL_ERROR_DETAIL.to_owned()
                    };
                    self.refuse(&output, &ctx, HttpError::internal(detail));
                }
            }
        }
        guard.finished = true;
    }

    /// Answers the request `ctx` describes with `error` and closes the connection.
    fn refuse(&self, output: &Output, ctx: &ResponseContext, error: HttpError) {
        let error = error.answering(ctx.version, ctx.head_request);
        let bytes = with_date(|date| error_response(&error, self.ident.as_deref(), date));
        let _ = output.push(&[&bytes]);
        output.finish(Finished::Close);
    }
}

/// Finishes, closing it, the response of a task that unwinds before it finished: a panic
/// outside the app's own guard (a logger that panics, a bug in the framing), which the pool
/// catches. Without it the loop waited for that finish for good: the connection was never
/// idle, so neither `channel_timeout` nor the client's close gave back its descriptor or its
/// place under `connection_limit`.
struct FinishOnUnwind<'a> {
    output: &'a Output,
    /// The response was finished (or refused): nothing left to do.
    finished: bool,
}

impl Drop for FinishOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.finished {
            self.output.finish(Finished::Close);
        }
    }
}

/// The text of a panic payload, as an app error message.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!("application panicked: {text}")
}

/// Frames the app's response for the wire and queues it: the server's side of [`Sink`].
struct Writer<'a> {
    output: &'a Output,
    ctx: ResponseContext,
    ident: Option<&'a str>,
    /// The response as planned from the app's head; `None` until the app gives its head (the
    /// app layer sends no body before it).
    planned: Option<Planned>,
}

/// A response whose head is decided.
struct Planned {
    /// The head, held back so it goes out in one write with the first body bytes; `None` once
    /// it went to the output.
    held_head: Option<Vec<u8>>,
    /// What becomes of the body the app writes.
    body: BodyState,
    /// Whether the connection closes after this response.
    close: bool,
}

/// What becomes of the body the app writes. A write the response cannot take is warned of
/// (in waitress's words) as the body becomes [`BodyState::Dropped`], so once a response at
/// most; a body short of its Content-Length is warned of when the response finishes.
#[derive(Debug, PartialEq, Eq)]
enum BodyState {
    /// Up to the Content-Length: a write past it is cut there, with a warning (waitress drops
    /// the excess too).
    Length { declared: u64, remaining: u64 },
    /// Each part as a chunk, then the last chunk.
    Chunked,
    /// As written; the connection's close ends it.
    UntilClose,
    /// The status may not have a body (204, 304): the first byte written is dropped with a
    /// warning naming the status.
    Forbidden { status: String },
    /// Dropped without a word: the body of a HEAD response, or what follows a warning.
    Dropped,
}

impl BodyState {
    /// The body of a response with `status`, framed `framing` by its plan.
    fn new(framing: BodyFraming, status: &str, head_request: bool) -> BodyState {
        match framing {
            BodyFraming::Length(n) => BodyState::Length {
                declared: n,
                remaining: n,
            },
            BodyFraming::Chunked => BodyState::Chunked,
            BodyFraming::UntilClose => BodyState::UntilClose,
            // The plan sends no body for any HEAD: nothing to warn about there.
            BodyFraming::None if head_request => BodyState::Dropped,
            BodyFraming::None => BodyState::Forbidden {
                status: status.to_owned(),
            },
        }
    }

    /// How much of `len` bytes the app writes may go out.
    fn allow(&mut self, len: u64) -> u64 {
        match self {
            BodyState::Chunked | BodyState::UntilClose => len,
            BodyState::Length {
                declared,
                remaining,
            } => {
                let n = len.min(*remaining);
                *remaining -= n;
                if n < len {
                    log::warn!(target: "waitress",
                        "application-written content exceeded the number of bytes specified by Content-Length header ({})",
                        declared);
                    *self = BodyState::Dropped;
                }
                n
            }
            BodyState::Forbidden { status } => {
                if len > 0 {
                    log::warn!(target: "waitress",
                        "application-written content was ignored due to HTTP response that may not contain a message-body: ({})",
                        status);
                    *self = BodyState::Dropped;
                }
                0
            }
            BodyState::Dropped => 0,
        }
    }
}

impl<'a> Writer<'a> {
    fn new(output: &'a Output, ctx: ResponseContext, ident: Option<&'a str>) -> Self {
        Writer {
            output,
            ctx,
            ident,
            planned: None,
        }
    }

    /// How much of `len` bytes may go out.
    fn allowed(&mut self, len: u64) -> u64 {
        self.planned.as_mut().map_or(len, |p| p.body.allow(len))
    }

    fn is_chunked(&self) -> bool {
        matches!(
            self.planned,
            Some(Planned {
                body: BodyState::Chunked,
                ..
            })
        )
    }

    /// Whether any byte of the response went to the output (the head may still be held back,
    /// in which case an error can still become a 500).
    fn sent_anything(&self) -> bool {
        self.planned.as_ref().is_some_and(|p| p.held_head.is_none())
    }

    /// Whether the whole response went to the output: its head, and every byte of its
    /// Content-Length, or no body at all (HEAD, 204, 304). A chunked body is never whole before
    /// its last chunk, which only [`Writer::finish`] sends.
    fn is_complete(&self) -> bool {
        self.planned.as_ref().is_some_and(|p| {
            p.held_head.is_none()
                && matches!(
                    p.body,
                    BodyState::Length { remaining: 0, .. }
                        | BodyState::Forbidden { .. }
                        | BodyState::Dropped
                )
        })
    }

    /// Queues `parts` after the held-back head, if it has not gone yet. At most three parts
    /// come at once (a chunk's size line, data and CRLF), so the head and they fit in an
    /// array on the stack (a `Vec` here was an allocation per response) and in one direct
    /// `writev`.
    fn push<const N: usize>(&mut self, parts: [&[u8]; N]) -> io::Result<()> {
        const {
            assert!(
                N < WRITEV_PARTS,
                "the head and the parts go out in one writev"
            )
        };
        let Some(head) = self.planned.as_mut().and_then(|p| p.held_head.take()) else {
            return self.output.push(&parts);
        };
        let mut all: [&[u8]; WRITEV_PARTS] = [&[]; WRITEV_PARTS];
        all[0] = &head;
        all[1..=N].copy_from_slice(&parts);
        self.output.push(&all[..=N])
    }

    /// Ends the response: its last chunk (or its head, if nothing came after it), and whether
    /// the connection stays open.
    fn finish(mut self) {
        let last: &[u8] = if self.is_chunked() { LAST_CHUNK } else { b"" };
        let mut close = self.push([last]).is_err();
        if let Some(planned) = &self.planned {
            close |= planned.close;
            if let BodyState::Length {
                declared,
                remaining,
            } = planned.body
            {
                if remaining > 0 {
                    log::warn!(target: "waitress",
                        "application returned too few bytes ({}) for specified Content-Length ({}) via app_iter",
                        declared - remaining, declared);
                    close = true;
                }
            }
        }
        self.output.finish(if close {
            Finished::Close
        } else {
            Finished::KeepAlive
        });
    }
}

impl Sink for Writer<'_> {
    fn head(
        &mut self,
        status: &str,
        headers: &[(String, String)],
        length: Option<u64>,
    ) -> io::Result<()> {
        let mut ctx = self.ctx;
        ctx.force_close |= self.output.is_last();
        // A HEAD the app answered with no body and no Content-Length of its own (a Werkzeug
        // app empties its HEAD bodies): what length a GET would have is unknown, not 0, and
        // announcing 0 would contradict the GET (RFC 9110 §9.3.2).
        let app_length = || {
            headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        };
        let length = match length {
            Some(0) if ctx.head_request && !app_length() => None,
            length => length,
        };
        let plan =
            with_date(|date| response::plan(&ctx, status, headers, length, self.ident, date));
        self.planned = Some(Planned {
            held_head: Some(plan.head),
            body: BodyState::new(plan.body, status, ctx.head_request),
            close: plan.close,
        });
        Ok(())
    }

    fn data(&mut self, data: &[u8]) -> io::Result<()> {
        let n = self.allowed(data.len() as u64) as usize;
        if n == 0 {
            return Ok(());
        }
        let data = &data[..n];
        if self.is_chunked() {
            let mut buf = [0u8; response::CHUNK_HEADER_MAX];
            let header = response::chunk_header(n, &mut buf);
            self.push([header, data, b"\r\n"])
        } else {
            self.push([data])
        }
    }

    fn flush_head(&mut self) -> io::Result<()> {
        self.push([])
    }

    fn file(&mut self, mut file: File, len: u64) -> io::Result<()> {
        let n = self.allowed(len);
        if n == 0 {
            return Ok(());
        }
        let offset = file.stream_position()?;
        if self.is_chunked() {
            let mut buf = [0u8; response::CHUNK_HEADER_MAX];
            let n = usize::try_from(n).map_err(|_| io::Error::other("file too large"))?;
            self.push([response::chunk_header(n, &mut buf)])?;
            self.output.push_file(file, offset, n as u64)?;
            self.push([b"\r\n"])
        } else {
            self.push([])?;
            self.output.push_file(file, offset, n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_past_its_content_length_is_cut_there_and_the_rest_dropped() {
        let mut body = BodyState::new(BodyFraming::Length(5), "200 OK", false);
        assert_eq!(body.allow(3), 3);
        assert_eq!(body.allow(0), 0);
        assert_eq!(
            body,
            BodyState::Length {
                declared: 5,
                remaining: 2
            }
        );
        assert_eq!(body.allow(4), 2, "cut at the Content-Length");
        // The warning went with the move to `Dropped`, which drops the rest without another.
        assert_eq!(body, BodyState::Dropped);
        assert_eq!(body.allow(1), 0);
    }

    #[test]
    fn a_write_after_the_content_length_is_filled_exactly_is_the_one_warned_of() {
        let mut body = BodyState::new(BodyFraming::Length(2), "200 OK", false);
        assert_eq!(body.allow(2), 2);
        assert_eq!(
            body,
            BodyState::Length {
                declared: 2,
                remaining: 0
            },
            "filled, not exceeded: no warning yet"
        );
        assert_eq!(body.allow(1), 0);
        assert_eq!(body, BodyState::Dropped);
    }

    #[test]
    fn a_body_for_a_status_without_one_is_dropped_and_warned_of_once() {
        let mut body = BodyState::new(BodyFraming::None, "204 No Content", false);
        assert_eq!(body.allow(0), 0);
        assert_eq!(
            body,
            BodyState::Forbidden {
                status: "204 No Content".to_owned()
            },
            "an empty write is no body"
        );
        assert_eq!(body.allow(3), 0);
        assert_eq!(body, BodyState::Dropped);
    }

    #[test]
    fn a_head_responses_body_is_dropped_without_a_warning() {
        let mut body = BodyState::new(BodyFraming::None, "200 OK", true);
        assert_eq!(body, BodyState::Dropped);
        assert_eq!(body.allow(3), 0);
    }

    #[test]
    fn chunked_and_until_close_bodies_take_every_byte() {
        for framing in [BodyFraming::Chunked, BodyFraming::UntilClose] {
            let mut body = BodyState::new(framing, "200 OK", false);
            assert_eq!(body.allow(u64::MAX), u64::MAX, "{framing:?}");
        }
    }
}
