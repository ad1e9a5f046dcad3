//! The extractors: a handler takes its connection's [`Shutdown`] (or [`Stopping`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;

use super::connection::Stopping;
use crate::Shutdown;

/// Why a handler could not get its connection's `Shutdown`: its router is not served by
/// `canstop::http` (`axum::serve` puts no [`Stopping`] in the requests) and the handler runs
/// outside any canstop scope. Answers `500 Internal Server Error`.
pub type StoppingRejection = (StatusCode, &'static str);

const NOT_SERVED: StoppingRejection = (
    StatusCode::INTERNAL_SERVER_ERROR,
    "this router is not served by canstop::http: a handler asked for its connection's Shutdown",
);

fn stopping(parts: &Parts) -> Result<Shutdown, StoppingRejection> {
    if let Some(Stopping(shutdown)) = parts.extensions.get::<Stopping>() {
        return Ok(shutdown.clone());
    }
    // Served some other way, but inside a canstop scope (a test's `oneshot` in a service).
    crate::scope()
        .map(|scope| scope.shutdown_signal())
        .map_err(|_| {
            tracing::error!("{}", NOT_SERVED.1);
            NOT_SERVED
        })
}

/// The connection's [`Shutdown`], for a handler: `async fn handler(stopping: Stopping)`.
impl<S: Send + Sync> FromRequestParts<S> for Stopping {
    type Rejection = StoppingRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        stopping(parts).map(Stopping)
    }
}

/// The connection's `Shutdown`, for a handler: `async fn handler(shutdown: Shutdown)`.
impl<S: Send + Sync> FromRequestParts<S> for Shutdown {
    type Rejection = StoppingRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        stopping(parts)
    }
}
