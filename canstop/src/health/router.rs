//! The endpoints as an axum `Router` (features `health` and `axum`), to mount in the
//! program's own server instead of (or beside) the built-in one.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::SpawnError;
use crate::health::{Health, Probe};

/// The health endpoints of the current tree as an axum `Router`: `GET` (and `HEAD`)
/// `/livez`, `/readyz` and `/startupz`, answered as the built-in server answers them (see
/// [`canstop::health`](crate::health)). Merge it into the program's router; it takes no
/// state, so it merges into a `Router<S>` of any state:
///
/// ```no_run
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// let app: axum::Router = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "hello" }))
///     .merge(canstop::health::router()?);
/// # let _ = app; Ok(()) }
/// ```
///
/// Mounted in the program's own server, the endpoints close when that server does: the
/// built-in server ([`Root::health_addr`](crate::Root::health_addr)) is the one that answers
/// through the whole drain, until the report is made.
///
/// # Errors
///
/// [`SpawnError::NoScope`] outside canstop-run code: from there, use
/// [`Health::of`]`(&scope).router()`.
pub fn router<S>() -> Result<Router<S>, SpawnError>
where
    S: Clone + Send + Sync + 'static,
{
    Ok(Health::current()?.router())
}

impl Health {
    /// This tree's health endpoints as an axum `Router` (see [`router()`]).
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        Probe::ALL.into_iter().fold(Router::new(), |router, probe| {
            let health = self.clone();
            router.route(
                probe.path(),
                get(move |uri: Uri| {
                    let response = respond(&health, probe, &uri);
                    std::future::ready(response)
                }),
            )
        })
    }
}

fn respond(health: &Health, probe: Probe, uri: &Uri) -> Response {
    let answer = health.answer(probe, uri.query());
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    (
        status,
        [
            (CONTENT_TYPE, crate::health::CONTENT_TYPE),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (CACHE_CONTROL, "no-store"),
        ],
        answer.body,
    )
        .into_response()
}
