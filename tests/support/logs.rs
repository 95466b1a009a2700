//! Captures what the crate logs on the current thread while a test runs.
//!
//! One global subscriber serves the whole test binary and writes each event to the buffer of
//! the thread that emitted it. A subscriber per test (`set_default`) would not do: `tracing`
//! caches per call site whether anyone listens, and tests running at the same time on other
//! threads, with no subscriber, made that cache drop this test's spans.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

thread_local! {
    static SINK: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Writes to the capture of the current thread, if any.
struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|sink| {
            if let Some(sink) = &*sink.borrow() {
                sink.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every event and span of this thread, at every level, until dropped.
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        SINK.with(|sink| sink.borrow_mut().take());
    }
}

/// Starts capturing this thread's logs (a `#[tokio::test]` runs on one thread).
pub fn capture() -> Capture {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| ThreadSink)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    });
    let buffer = Arc::new(Mutex::new(Vec::new()));
    SINK.with(|sink| *sink.borrow_mut() = Some(buffer.clone()));
    Capture(buffer)
}
