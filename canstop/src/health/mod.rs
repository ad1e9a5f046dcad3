//! Health endpoints (feature `health`): `/livez`, `/readyz` and `/startupz`, in the format of
//! kube-apiserver's, for Kubernetes probes and load balancers.
//!
//! - this file: the map, the public [`Health`] handle, [`Probe`], [`Status`], [`Answer`];
//! - `checks`: what each probe checks, read from the tree without blocking it, and the
//!   kube-apiserver text (`[+]name ok`, `[-]name failed: reason`, `?verbose`, `?exclude=`);
//! - `server`: the built-in HTTP/1 server on `CANSTOP_HEALTH_ADDR` (or
//!   [`Root::health_addr`](crate::Root::health_addr)), which the root owns;
//! - `router` (feature `axum` too): [`router()`] and [`Health::router`], the same endpoints to
//!   mount in the program's own axum `Router`.
//!
//! Nothing here touches the tree: it reads the tree's readiness, trigger and
//! [`State`](crate::State) snapshot, which take no lock a session takes.
//!
//! # What each endpoint answers
//!
//! | endpoint    | 200 when                                                           | checks (`?verbose`)                        |
//! |-------------|--------------------------------------------------------------------|--------------------------------------------|
//! | `/livez`    | the runtime answers and the tree has not failed                    | `ping`, `tree`                             |
//! | `/readyz`   | the tree is ready and no shutdown has started (a drain delay either) | `ping`, `shutdown`, `main`, every service  |
//! | `/startupz` | the tree has been ready once (`main` returned `Ok`, every service ready); stays 200 after | `ping`, `main`, every service |
//!
//! - `/livez` fails (503) only once a **failure** triggered the shutdown (a service failed
//!   beyond its policy, `main` returned an error or panicked): a signal's drain is not a
//!   reason to restart the container, and a wedged runtime does not answer at all (the
//!   server runs on the tree's runtime), which the probe's timeout sees.
//! - `/readyz` fails from the trigger on, through the [drain delay](crate::Root::drain_delay)
//!   (the point of the delay: the load balancers take the endpoint out while it still
//!   serves), the stop and the drain; and while any service is not ready (starting, or
//!   between two instances of a restart).
//! - `/startupz` is for Kubernetes' `startupProbe`: it holds the liveness probe off until the
//!   program has started, however long that takes.
//!
//! Each service is a check named by its path (`api`, `api/db`); its reason when it fails is
//! `starting`, `restarting (attempt N, next try in D)` or `stopping`.
//!
//! # Format
//!
//! As kube-apiserver's `/livez`, `/readyz` and `/healthz`: `text/plain; charset=utf-8`,
//! `X-Content-Type-Options: nosniff`.
//!
//! - Passing: `200`, body `ok`; with `?verbose`, one `[+]name ok` line per check, then
//!   `readyz check passed` (`livez ...`, `startupz ...`).
//! - Failing: `503`, and always the verbose body: one line per check, `[-]name failed:
//!   reason` for those that fail, then `readyz check failed`.
//! - `?exclude=name` (repeatable) leaves a check out: `[+]name excluded: ok`; a name that
//!   matches none gives a line `warn: some health checks cannot be excluded: no matches for
//!   "name"`.
//!
//! Two deliberate differences from kube-apiserver: a failing check shows its reason instead
//! of `reason withheld` (the reasons here are a service's name and phase, not secrets: keep
//! the port off the public network anyway, as one does with kube's), and a failure is `503
//! Service Unavailable` rather than `500` (what a load balancer expects from a node that is
//! draining; Kubernetes treats any status from 400 on as a failure).
//!
//! # Where it runs
//!
//! The built-in server is **not a service of the tree**: a service is told to stop at the
//! stop and waits in the drain like the others, and the endpoints must keep answering through
//! the drain delay, the stop and the drain, until the report is made. So the
//! [`Root`](crate::Root) owns it: it binds the address before `main`'s body runs (a port in
//! use is a [`StartError`](crate::StartError), exit 78, before anything ran), serves from
//! tasks of the tree's runtime outside the tree, and closes it **last**, after the report is
//! made (then the probes' connections are refused: the program is exiting). If the root's
//! future is dropped, the server is aborted with the tree.
//!
//! A health request is **not a session**: it is not counted in the report. A probe every few
//! seconds would outnumber the program's own work in its report, and the server answers
//! after the drain, when no scope of the tree admits sessions any more. (A router mounted in
//! the program's own server is served by the program's connections, tracked as the program
//! tracks them.)
//!
//! # Guarantees
//!
//! - Answering a probe never blocks the tree: it takes no lock that a session's spawn or end
//!   takes, and none that a service holds while it starts or stops for longer than a copy
//!   (see [`State`](crate::State)).
//! - `/readyz` answers 503 from the moment the shutdown is triggered (the trigger and the
//!   readiness change together, before any service is told anything) to the end.
//! - The built-in server is listening before `main`'s body runs and until the report is made;
//!   when [`Root::run`](crate::Root::run) returns, its listener is closed.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use canstop::health::{Health, Probe};
//! use canstop::{Ready, Root, Service, Shutdown};
//!
//! let report = Root::new()
//!     .signals(false)
//!     // The built-in server, on a free port (`CANSTOP_HEALTH_ADDR` overrides it).
//!     .health_addr(([127, 0, 0, 1], 0))
//!     .run(async {
//!         let health = Health::current()?;
//!         assert!(health.local_addr().is_some());
//!         canstop::start(
//!             Service::new("db", |shutdown: Shutdown| async move {
//!                 Ready::of(&shutdown).set(); // connected
//!                 shutdown.requested().await;
//!             })
//!             .signals_ready(),
//!         )?;
//!         // `main`'s body has not returned: not started, not ready; alive.
//!         let ready = health.status(Probe::Ready);
//!         assert_eq!(ready.http_status(), 503);
//!         assert!(ready.to_string().contains("[-]main failed: not returned yet"));
//!         assert_eq!(health.status(Probe::Live).http_status(), 200);
//!         canstop::spawn(canstop::Session::new("probe", move |_: Shutdown| async move {
//!             canstop::ready().await?;
//!             assert_eq!(health.answer(Probe::Ready, None).body, "ok");
//!             let verbose = health.answer(Probe::Ready, Some("verbose"));
//!             assert_eq!(
//!                 verbose.body,
//!                 "[+]ping ok\n[+]shutdown ok\n[+]main ok\n[+]db ok\nreadyz check passed\n"
//!             );
//!             canstop::shutdown()?;
//!             assert_eq!(health.status(Probe::Ready).http_status(), 503);
//!             Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//!         }))?;
//!         Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//!     })
//!     .await
//!     .unwrap();
//! assert!(report.is_clean(), "{report}");
//! # }
//! ```

mod checks;
#[cfg(feature = "axum")]
mod router;
pub(crate) mod server;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::error::SpawnError;
use crate::lifecycle::shared::Tree;
use crate::scope::Scope;
use crate::tree::context;

#[cfg(feature = "axum")]
pub use router::router;

/// The content type of every answer.
pub const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// One of the three endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Probe {
    /// `/livez`: the runtime answers and the tree has not failed.
    Live,
    /// `/readyz`: the tree is ready and no shutdown has started.
    Ready,
    /// `/startupz`: the tree has been ready once.
    Started,
}

impl Probe {
    /// The three, in the order of their paths' listing.
    pub const ALL: [Self; 3] = [Self::Live, Self::Ready, Self::Started];

    /// Its name as kube-apiserver writes it: `livez`, `readyz`, `startupz`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Live => "livez",
            Self::Ready => "readyz",
            Self::Started => "startupz",
        }
    }

    /// Its path: `/livez`, `/readyz`, `/startupz`.
    pub fn path(self) -> &'static str {
        match self {
            Self::Live => "/livez",
            Self::Ready => "/readyz",
            Self::Started => "/startupz",
        }
    }

    /// The probe served at `path`, if any.
    pub fn from_path(path: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|probe| probe.path() == path)
    }
}

/// A handle to the health of one tree: its probes' [`Status`], their HTTP [`Answer`]s, the
/// built-in server's address, and (feature `axum`) a router. Cheap to clone; it keeps no
/// node of the tree alive, and once the tree is gone its `/readyz` fails (`shutdown`).
#[derive(Clone)]
pub struct Health {
    tree: Arc<Tree>,
}

impl Health {
    /// The health of the current tree (from `main`'s body, a service or a session).
    ///
    /// # Errors
    ///
    /// [`SpawnError::NoScope`] outside canstop-run code.
    pub fn current() -> Result<Self, SpawnError> {
        context::with_current(|node| Self {
            tree: node.tree.clone(),
        })
    }

    /// The health of the tree `scope` belongs to (the whole tree's, whichever of its scopes
    /// is given), from any thread.
    pub fn of(scope: &Scope) -> Self {
        Self {
            tree: scope.node().tree.clone(),
        }
    }

    /// Where the built-in server listens (the port bound for a port 0), or `None` when this
    /// tree has none.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.tree.health_addr.get().copied()
    }

    /// What `probe` says now.
    pub fn status(&self, probe: Probe) -> Status {
        checks::status(&self.tree, probe)
    }

    /// The HTTP answer to `probe` with the request's `query` (`verbose`, `exclude=name`), as
    /// the built-in server and the router give it: for other HTTP frameworks.
    pub fn answer(&self, probe: Probe, query: Option<&str>) -> Answer {
        checks::answer(self.status(probe), query.unwrap_or(""))
    }
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Health")
            .field("local_addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

/// What one probe says: whether it passes, and each of its checks.
///
/// Its `Display` is the verbose body (`[+]ping ok` ... `readyz check passed`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The probe.
    pub probe: Probe,
    /// Whether it passes (200).
    pub passed: bool,
    /// Its checks, in order.
    pub checks: Vec<Check>,
}

impl Status {
    /// 200 when it passes, else 503.
    pub fn http_status(&self) -> u16 {
        if self.passed {
            200
        } else {
            503
        }
    }

    /// The check named `name`.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == name)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&checks::answer(self.clone(), "verbose").body)
    }
}

/// One check of a probe: `ping`, `tree`, `shutdown`, `main`, or a service's path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// Its name.
    pub name: String,
    /// Why it fails; `None` when it passes.
    pub failure: Option<String>,
}

impl Check {
    /// Whether it passes.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// An HTTP answer: its status code and its body, of type [`CONTENT_TYPE`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Answer {
    /// 200 or 503.
    pub status: u16,
    /// The text.
    pub body: String,
}
