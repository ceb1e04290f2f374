//! Running user code that may panic or hang (guards, the upgrade handler),
//! and the message of a caught panic, for the log.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;

/// Why user code run by [`supervised`] gave no value.
#[derive(Debug)]
pub(crate) enum Unfinished {
    /// It panicked; the panic's message.
    Panicked(String),
    /// It took longer than its timeout; it was dropped.
    TimedOut,
}

/// Runs `work` for at most `timeout`, catching a panic: its value, or why
/// there is none.
pub(crate) async fn supervised<F: Future>(work: F, timeout: Duration) -> Result<F::Output, Unfinished> {
    match tokio::time::timeout(timeout, AssertUnwindSafe(work).catch_unwind()).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(Unfinished::Panicked(panic_message(&*panic).to_owned())),
        Err(_) => Err(Unfinished::TimedOut),
    }
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or a `String`).
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}
