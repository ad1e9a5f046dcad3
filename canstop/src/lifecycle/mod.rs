//! The program-level lifecycle: what starts the shutdown, what the whole tree shares, and
//! every grace and fuse of the sequence.
//!
//! - [`trigger`]: what started the shutdown (public: [`Trigger`](crate::Trigger),
//!   [`Signal`](crate::Signal)).
//! - [`shared`]: [`Tree`](shared::Tree), what the whole tree shares: the trigger (the first wins), the tree's timeout,
//!   the abort switch, `main`'s outcome, the deadline task, the event listeners.
//! - [`events`]: what the tree publishes (public: [`Event`](crate::Event)), for the parts
//!   that react to it (the exit enforcer in [`process`](crate::process)) without the tree
//!   knowing them, and for users.
//! - [`readiness`]: the tree's readiness (`main` returned `Ok`, every live service ready).
//! - [`log`]: logging that a panicking or blocking subscriber cannot turn into a stuck or
//!   aborted shutdown.
//! - [`grace`]: every grace and fuse after a deadline or a second signal, with const
//!   assertions of how they relate.

pub(crate) mod events;
pub(crate) mod grace;
pub(crate) mod log;
pub(crate) mod readiness;
pub(crate) mod shared;
pub(crate) mod trigger;
