//! The supervisor tree: its nodes, how a stop and a deadline travel through them, and which
//! node is the current scope.
//!
//! - [`node`]: a node (the root, or one service): its scope's sessions, its children, its stop
//!   and deadline, its drain, its report.
//! - [`children`]: a node's child services: admission, the live ones, the reports of the
//!   stopped (folded past a bound).
//! - [`order`]: what a service needs, and the order a node's children stop in (the stop
//!   walk, and how it shares the deadline).
//! - [`context`]: the thread's current scope while canstop polls one of its tasks, and the
//!   mark of `main`'s body.

pub(crate) mod children;
pub(crate) mod context;
pub(crate) mod node;
pub(crate) mod order;
