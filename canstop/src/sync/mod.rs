//! Canstop-agnostic concurrency primitives, each small enough to model-check with loom (see
//! `crate::loom` and `crate::loom_models`).
//!
//! - [`gate`]: a count of what is inside a scope, with a closed bit in the same word, that the
//!   drain waits on: admission that refuses once the drain is over.
//! - [`latch`]: a one-shot flag with per-thread waiter lists: what `Shutdown::requested`
//!   waits on.
//! - [`slots`]: per-thread slot indexes, so that counts are plain stores on a thread's own
//!   cache lines.
//! - [`locking`]: the one way canstop takes a lock (poisoning ignored).
//!
//! Nothing here knows about trees, services or sessions.

pub(crate) mod gate;
pub(crate) mod latch;
pub(crate) mod locking;
pub(crate) mod slots;
