//! [`until_stop`]: a stream (an SSE stream, a streamed body) that ends at the stop.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::Shutdown;

pin_project_lite::pin_project! {
    /// A stream that ends at the stop: what [`until_stop`] returns.
    #[must_use = "streams do nothing unless polled"]
    pub struct UntilStop<S> {
        #[pin]
        stream: S,
        // `None` once the stop came (and the stream ended).
        stop: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    }
}

/// Wraps `stream` so that it ends (yields `None`) once `shutdown` is
/// [draining](Shutdown::draining): at the trigger, the start of the drain delay if there is
/// one. For a Server-Sent Events stream (`axum::response::sse::Sse::new(until_stop(..))`) or a
/// streamed body: the response ends cleanly, the client sees the end of the stream (an
/// `EventSource` reconnects, to another instance once the load balancer has caught up), and
/// the connection can close instead of holding the drain until the deadline (axum#2673).
///
/// Items the stream has ready are still yielded before the end only if they come before the
/// stop is seen: the stop is checked first at every poll.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use futures_core::Stream;
///
/// let report = canstop::Root::new()
///     .signals(false)
///     .run(async {
///         let shutdown = canstop::scope()?.shutdown_signal();
///         let mut ticks = Box::pin(canstop::http::until_stop(&shutdown, Ticks(0)));
///         assert_eq!(next(&mut ticks).await, Some(1));
///         canstop::shutdown()?;
///         assert_eq!(next(&mut ticks).await, None); // ended at the stop
///         Ok::<(), canstop::SpawnError>(())
///     })
///     .await
///     .unwrap();
/// assert!(report.is_clean());
///
/// /// An endless stream.
/// struct Ticks(u32);
/// impl Stream for Ticks {
///     type Item = u32;
///     fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u32>> {
///         self.0 += 1;
///         Poll::Ready(Some(self.0))
///     }
/// }
///
/// async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
///     std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
/// }
/// # }
/// ```
pub fn until_stop<S: Stream>(shutdown: &Shutdown, stream: S) -> UntilStop<S> {
    let shutdown = shutdown.clone();
    UntilStop {
        stream,
        stop: Some(Box::pin(async move { shutdown.draining().await })),
    }
}

impl<S: Stream> Stream for UntilStop<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let Some(stop) = this.stop else {
            return Poll::Ready(None);
        };
        if stop.as_mut().poll(cx).is_ready() {
            *this.stop = None;
            return Poll::Ready(None);
        }
        this.stream.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.stop {
            Some(_) => (0, self.stream.size_hint().1),
            None => (0, Some(0)),
        }
    }
}

impl<S> fmt::Debug for UntilStop<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UntilStop")
            .field("stopped", &self.stop.is_none())
            .finish_non_exhaustive()
    }
}
