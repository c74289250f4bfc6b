//! Connections that do not behave are shed before they starve the process. hyper, as axum-server runs it, has no
//! timeout at all (a client that sends its headers one byte a minute, or keeps an idle TLS connection, holds a
//! descriptor and its buffers forever) and answers an over-long request line or header section with an empty body.
//! Every connection of both servers goes through [`SheddingAcceptor`], which:
//!
//! - refuses a connection at once (closes it) when `HTTP_MAX_CONNECTIONS` are open, so descriptors stay for the
//!   database, the broker and `/health/live`;
//! - closes a connection whose request head is not complete [`Limits::header_read`] after its first byte (or after
//!   the connection opened), and one that stays idle for [`Limits::idle`] (longer than a gateway's pool keeps an
//!   idle connection, so the gateway never sends on a connection this side is closing);
//! - answers a request line over [`Limits::request_line`] with 414, and a header section over [`Limits::head`] or
//!   with more than [`Limits::header_lines`] headers with 431, in the documented JSON body, before hyper sees them;
//! - answers anything but an HTTP/1.0 or HTTP/1.1 request line with 505, so the HTTP/2 preface (which the server
//!   would otherwise take, with or without ALPN, outside every limit here) never reaches hyper: one protocol, one set
//!   of limits (docs/operations.md#security);
//! - closes every connection lingering, as nginx does: once its answer is out, the write side is shut and what the
//!   client still sends is read and discarded for at most [`Limits::linger`] and [`Limits::linger_bytes`], so that an
//!   answer given before the request was read (414, 431, 413, 401) reaches the client instead of a reset.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use super::ErrorBody;
use crate::metrics;

/// What a connection may do.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// From a request's first byte (or the connection's start) to the end of its head.
    pub header_read: Duration,
    /// Without a byte read or written.
    pub idle: Duration,
    /// Bytes of the request line (method, target, version).
    pub request_line: usize,
    /// Bytes of the whole head.
    pub head: usize,
    /// Header lines of one request.
    pub header_lines: usize,
    /// How long a closing connection keeps reading (and discarding) what the client still sends.
    pub linger: Duration,
    /// How much a closing connection reads and discards at most.
    pub linger_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            request_line: 16 * 1024,
            head: 32 * 1024,
            header_lines: 100,
            // Enough for a client to read an answer and close; a client that keeps sending is cut after it.
            linger: Duration::from_secs(2),
            linger_bytes: 256 * 1024,
        }
    }
}

/// Wraps another acceptor (TLS, or plain TCP) with the connection cap and the [`GuardedIo`] rules.
#[derive(Clone)]
pub struct SheddingAcceptor<A> {
    inner: A,
    slots: Arc<Semaphore>,
    limits: Limits,
}

impl<A> SheddingAcceptor<A> {
    /// `slots` is shared by every server of the process.
    pub fn new(inner: A, slots: Arc<Semaphore>, limits: Limits) -> Self {
        SheddingAcceptor { inner, slots, limits }
    }
}

impl<A, I, S> Accept<I, S> for SheddingAcceptor<A>
where
    A: Accept<I, S> + Clone + Send + Sync + 'static,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = GuardedIo<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            metrics::get().connections_refused.inc();
            // Dropping the stream closes it: refused in microseconds, not queued.
            return Box::pin(std::future::ready(Err(io::Error::other("too many connections"))));
        };
        let (inner, limits) = (self.inner.clone(), self.limits);
        Box::pin(async move {
            let (stream, service) = inner.accept(stream, service).await?;
            Ok((GuardedIo::new(stream, limits, slot), service))
        })
    }
}

/// Where a connection is in its request/response cycle, as far as its bytes tell.
enum Phase {
    /// Waiting for a request; `since`: its head timer runs from then (the connection's start), or `None` between
    /// requests of a kept-alive connection, where only the idle timer runs.
    Idle { since: Option<Instant> },
    /// Reading a request head.
    Head(HeadScan),
    /// The head is complete: the body, the handler, the response.
    Message,
}

/// Counts a request head as it arrives.
struct HeadScan {
    started: Instant,
    bytes: usize,
    /// Bytes of the request line, until its `\r\n`.
    line: Option<usize>,
    lines: usize,
    /// The last bytes seen, to find `\r\n\r\n` and the request line's version across reads.
    recent: [u8; 10],
}

enum Verdict {
    Reading,
    Complete,
    Reject(u16, &'static str),
}

impl HeadScan {
    fn new(started: Instant) -> Self {
        HeadScan { started, bytes: 0, line: None, lines: 0, recent: [0; 10] }
    }

    fn feed(&mut self, bytes: &[u8], limits: &Limits) -> Verdict {
        for &byte in bytes {
            self.bytes += 1;
            self.recent.copy_within(1.., 0);
            self.recent[9] = byte;
            let line_end = self.recent[8..] == *b"\r\n";
            let head_end = line_end && self.recent[6..8] == *b"\r\n";
            if line_end {
                self.lines += 1;
                if self.line.is_none() {
                    self.line = Some(self.bytes);
                    // The request line ends with its version; HTTP/2's preface (`PRI * HTTP/2.0`) is refused here.
                    if !matches!(&self.recent[..8], b"HTTP/1.1" | b"HTTP/1.0") {
                        return Verdict::Reject(505, "HTTP Version Not Supported");
                    }
                }
            }
            if head_end {
                return Verdict::Complete;
            }
            if self.line.is_none() && self.bytes > limits.request_line {
                return Verdict::Reject(414, "URI Too Long");
            }
            // The request line is not a header.
            if self.bytes > limits.head || self.lines > limits.header_lines + 1 {
                return Verdict::Reject(431, "Request Header Fields Too Large");
            }
        }
        Verdict::Reading
    }
}

/// A connection's stream, with the head and idle timers and the head limits of [`Limits`].
pub struct GuardedIo<S> {
    inner: S,
    limits: Limits,
    phase: Phase,
    last_activity: Instant,
    timer: Pin<Box<Sleep>>,
    /// A 414/431/505 answer being written; the connection ends after it.
    rejection: Option<(Vec<u8>, usize)>,
    /// The connection is closing: its write side is shut, and what still arrives is discarded until then.
    lingering: Option<Linger>,
    _slot: OwnedSemaphorePermit,
}

impl<S> GuardedIo<S> {
    fn new(inner: S, limits: Limits, slot: OwnedSemaphorePermit) -> Self {
        let now = Instant::now();
        GuardedIo {
            inner,
            limits,
            phase: Phase::Idle { since: Some(now) },
            last_activity: now,
            timer: Box::pin(tokio::time::sleep_until(now + limits.header_read)),
            rejection: None,
            lingering: None,
            _slot: slot,
        }
    }

    /// When the connection is to be closed if nothing more happens.
    fn deadline(&self) -> Instant {
        if let Some(linger) = &self.lingering {
            return linger.until;
        }
        let idle = self.last_activity + self.limits.idle;
        match &self.phase {
            Phase::Idle { since: Some(since) } => idle.min(*since + self.limits.header_read),
            Phase::Head(scan) => idle.min(scan.started + self.limits.header_read),
            Phase::Idle { since: None } | Phase::Message => idle,
        }
    }

    /// Whether the deadline has passed; otherwise the timer will wake the task when it does.
    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = self.deadline();
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        self.timer.as_mut().poll(cx).is_ready()
    }

    fn reject(&mut self, status: u16, reason: &'static str) {
        metrics::get().requests_rejected.get_or_create(&metrics::StatusLabels { status }).inc();
        let description = match status {
            505 => "This service speaks HTTP/1.1 only.",
            _ => "The request line or headers exceed what this service accepts.",
        };
        let body = ErrorBody { code: status, message: reason.to_string(), description: Some(description.to_string()) };
        let body = serde_json::to_string(&body).expect("an error body serialises");
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        self.rejection = Some((response.into_bytes(), 0));
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> GuardedIo<S> {
    /// Writes the pending rejection; `Ready(Ok)` once it is out and the write side is shut.
    fn poll_rejection(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((response, written)) = self.rejection.as_mut() {
            if *written == response.len() {
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &response[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        self.poll_close(cx)
    }

    /// Shuts the write side (once), then reads and discards what the client still sends until it closes too, or
    /// the linger's time or bytes run out: `Ready` when the connection may be dropped.
    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.lingering.is_none() {
            ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
            ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
            self.lingering = Some(Linger { until: Instant::now() + self.limits.linger, drained: 0, done: false });
        }
        let mut scratch = [0u8; 4096];
        loop {
            let Some(linger) = &self.lingering else { unreachable!("set above") };
            if linger.done || linger.drained >= self.limits.linger_bytes {
                break;
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    let n = buf.filled().len();
                    if let Some(linger) = self.lingering.as_mut() {
                        linger.drained += n;
                    }
                }
                // The client closed, or the connection broke: nothing more to wait for.
                Poll::Ready(_) => break,
                Poll::Pending if self.timed_out(cx) => break,
                Poll::Pending => return Poll::Pending,
            }
        }
        if let Some(linger) = self.lingering.as_mut() {
            linger.done = true;
        }
        Poll::Ready(Ok(()))
    }
}

/// A closing connection's linger (see [`GuardedIo::poll_close`]).
struct Linger {
    until: Instant,
    drained: usize,
    /// The linger is over: the connection only waits to be dropped.
    done: bool,
}

impl<S> GuardedIo<S> {
    /// A write went out (or is stuck): the connection is active, or timed out.
    fn after_write(&mut self, cx: &mut Context<'_>, written: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(n)) => {
                self.last_activity = Instant::now();
                // A response is going out: the next bytes read begin the next request, whose head timer starts with
                // its first byte.
                if let Phase::Message = self.phase {
                    self.phase = Phase::Idle { since: None };
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending if self.timed_out(cx) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
            other => other,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for GuardedIo<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.rejection.is_some() {
            // The answer goes out, then the request reads as ended: hyper closes the connection.
            let _ = ready!(this.poll_rejection(cx));
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = &buf.filled()[before..];
                if fresh.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                let now = Instant::now();
                this.last_activity = now;
                if let Phase::Idle { since } = this.phase {
                    this.phase = Phase::Head(HeadScan::new(since.unwrap_or(now)));
                }
                if let Phase::Head(scan) = &mut this.phase {
                    match scan.feed(fresh, &this.limits) {
                        Verdict::Reading => {}
                        Verdict::Complete => this.phase = Phase::Message,
                        Verdict::Reject(status, reason) => {
                            // hyper never sees this request.
                            buf.set_filled(before);
                            this.reject(status, reason);
                            let _ = ready!(this.poll_rejection(cx));
                            return Poll::Ready(Ok(()));
                        }
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if this.timed_out(cx) {
                    metrics::get().connections_timed_out.inc();
                    // Read as the end of the stream: hyper closes the connection.
                    return Poll::Ready(Ok(()));
                }
                Poll::Pending
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for GuardedIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.inner).poll_write(cx, data);
        this.after_write(cx, written)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// hyper closes every connection through here: a lingering close.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_close(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(bytes: &[u8], limits: &Limits) -> Verdict {
        HeadScan::new(Instant::now()).feed(bytes, limits)
    }

    #[test]
    fn heads_are_complete_at_the_blank_line_even_across_reads() {
        let limits = Limits::default();
        assert!(matches!(scan(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &limits), Verdict::Complete));
        let mut head = HeadScan::new(Instant::now());
        assert!(matches!(head.feed(b"GET / HTTP/1.1\r\nHost: x\r", &limits), Verdict::Reading));
        assert!(matches!(head.feed(b"\n\r", &limits), Verdict::Reading));
        assert!(matches!(head.feed(b"\n", &limits), Verdict::Complete));
    }

    #[test]
    fn long_lines_and_many_headers_are_refused() {
        let limits = Limits::default();
        let long = format!("GET /?q={} HTTP/1.1\r\n\r\n", "a".repeat(70 * 1024));
        assert!(matches!(scan(long.as_bytes(), &limits), Verdict::Reject(414, _)));
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X-A: b\r\n".repeat(200));
        assert!(matches!(scan(many.as_bytes(), &limits), Verdict::Reject(431, _)));
        let big = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "b".repeat(40 * 1024));
        assert!(matches!(scan(big.as_bytes(), &limits), Verdict::Reject(431, _)));
        let fine = format!("GET / HTTP/1.1\r\n{}\r\n", "X-A: b\r\n".repeat(100));
        assert!(matches!(scan(fine.as_bytes(), &limits), Verdict::Complete));
    }
}
