//! WASI body streams as [`BodyStream`]s, and writing to WASI output streams,
//! both bounded by a deadline: whoever is on the other side (a client
//! uploading, WeChat answering) can hold an instance no longer than that.

use std::any::Any;

use spin_sdk::wit::wasi::http0_2_0::types::IncomingBody;
use wasi::clocks::monotonic_clock::{self, Instant};
use wasi::io::poll::{self, Pollable};
use wasi::io::streams::{InputStream, OutputStream, StreamError};

use crate::core::error::Error;
use crate::ports::BodyStream;

/// Nanoseconds per millisecond.
pub(crate) const MS: u64 = 1_000_000;
/// The most read from a stream at once: the guest's memory for a relay.
const CHUNK_BYTES: u64 = 64 * 1024;

/// The monotonic instant `ms` milliseconds from now.
pub(crate) fn deadline_in(ms: u64) -> Instant {
    monotonic_clock::now().saturating_add(ms * MS)
}

/// An incoming body (a request's or a response's) read piece by piece.
pub(crate) struct WasiBody {
    // Fields drop in order: the stream before its body, the body before
    // the request or response it came from.
    stream: InputStream,
    _body: IncomingBody,
    _parent: Box<dyn Any>,
    deadline: Instant,
    /// What the body may still bring before it is cut off.
    left: u64,
    /// Says what expired or broke, for the error.
    what: &'static str,
}

impl WasiBody {
    /// Reads `body` (taken from `parent`) until `deadline`, at most `max` bytes.
    pub(crate) fn new(
        body: IncomingBody,
        parent: Box<dyn Any>,
        deadline: Instant,
        max: u64,
        what: &'static str,
    ) -> Result<Self, Error> {
        let stream = body
            .stream()
            .map_err(|_| Error::Transport(format!("{what}: body stream unavailable")))?;
        Ok(Self {
            stream,
            _body: body,
            _parent: parent,
            deadline,
            left: max,
            what,
        })
    }
}

impl BodyStream for WasiBody {
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, Error> {
        loop {
            match self.stream.read(CHUNK_BYTES) {
                Ok(chunk) if chunk.is_empty() => {
                    wait(&self.stream.subscribe(), self.deadline, self.what)?
                }
                Ok(chunk) => {
                    let n = chunk.len() as u64;
                    if n > self.left {
                        return Err(Error::Transport(format!(
                            "{}: longer than allowed",
                            self.what
                        )));
                    }
                    self.left -= n;
                    return Ok(Some(chunk));
                }
                Err(StreamError::Closed) => return Ok(None),
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(Error::Transport(format!(
                        "{}: {}",
                        self.what,
                        e.to_debug_string()
                    )))
                }
            }
        }
    }
}

/// Writes all of `bytes` to `stream` by `deadline`, as fast as the reader takes them.
pub(crate) fn write_all(
    stream: &OutputStream,
    mut bytes: &[u8],
    deadline: Instant,
) -> Result<(), Error> {
    let broken = |e: StreamError| Error::Transport(format!("writing a body: {e:?}"));
    while !bytes.is_empty() {
        let room = stream.check_write().map_err(broken)?;
        if room == 0 {
            wait(&stream.subscribe(), deadline, "writing a body")?;
            continue;
        }
        let n = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        stream.write(&bytes[..n]).map_err(broken)?;
        bytes = &bytes[n..];
    }
    stream.flush().map_err(broken)?;
    // The flush is done when the stream can take writes again.
    loop {
        match stream.check_write() {
            Ok(0) => wait(&stream.subscribe(), deadline, "writing a body")?,
            Ok(_) => return Ok(()),
            Err(e) => return Err(broken(e)),
        }
    }
}

/// Waits for `ready`, failing with a timeout once `deadline` passes first.
fn wait(ready: &Pollable, deadline: Instant, what: &str) -> Result<(), Error> {
    let timer = monotonic_clock::subscribe_instant(deadline);
    if poll::poll(&[ready, &timer]).contains(&1) && !ready.ready() {
        return Err(Error::Timeout(format!("{what}: the deadline passed")));
    }
    Ok(())
}
