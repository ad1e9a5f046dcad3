//! The current scope: a thread-local slot that canstop fills while it polls one of its tasks
//! (a session, a service body, `main`'s body) or runs blocking work, so that `canstop::spawn`,
//! `canstop::start` and `canstop::shutdown` know where they are.
//!
//! Entering moves the task's `Arc<Node>` into the slot and leaving moves it back: no reference
//! count is touched per poll (the same technique as tokio's `task_local!`, without its extra
//! per-task storage).
//!
//! The node in the slot is held as a `ManuallyDrop`: the thread-local then has no destructor,
//! so no access checks whether one has been registered. Nothing is leaked by it: the slot is
//! empty whenever no poll is under way (every [`Entered`] gives its node back, also on
//! unwind), so a thread exits with nothing in it.

use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;
use std::sync::Arc;

use crate::error::SpawnError;
use crate::lifecycle::shared::Tree;
use crate::tree::node::Node;

thread_local! {
    static CURRENT: RefCell<Option<ManuallyDrop<Arc<Node>>>> = const { RefCell::new(None) };
}

/// While alive, the node taken from `slot` is the thread's current scope; dropping it (also
/// on unwind) gives the node back to `slot` and restores the previous scope.
pub(crate) struct Entered<'a> {
    slot: &'a mut Option<Arc<Node>>,
    previous: Option<Arc<Node>>,
    entered: bool,
}

/// Makes the node in `slot` current (see [`Entered`]).
///
/// If the slot is borrowed (a poll from inside [`with_current`]'s closure, which only a user
/// closure blocking on a future could cause), the scope is left as it is rather than
/// panicking.
// `always`: two word swaps, in every poll of every canstop task (called from generic code,
// in the caller's crate).
#[inline(always)]
pub(crate) fn enter(slot: &mut Option<Arc<Node>>) -> Entered<'_> {
    CURRENT.with(|current| match current.try_borrow_mut() {
        Ok(mut current) => {
            let previous = std::mem::replace(&mut *current, slot.take().map(ManuallyDrop::new))
                .map(ManuallyDrop::into_inner);
            Entered {
                slot,
                previous,
                entered: true,
            }
        }
        Err(_) => Entered {
            slot,
            previous: None,
            entered: false,
        },
    })
}

impl Drop for Entered<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        if !self.entered {
            return;
        }
        let previous = self.previous.take();
        // No borrow can be outstanding here: `with_current` borrows only within its closure,
        // and a poll inside that closure did not enter.
        *self.slot = CURRENT
            .with(|current| current.replace(previous.map(ManuallyDrop::new)))
            .map(ManuallyDrop::into_inner);
    }
}

/// The current scope, or [`SpawnError::NoScope`].
pub(crate) fn current() -> Result<Arc<Node>, SpawnError> {
    with_current(Arc::clone)
}

/// Calls `f` with the current scope, without touching its reference count, or fails with
/// [`SpawnError::NoScope`].
pub(crate) fn with_current<R>(f: impl FnOnce(&Arc<Node>) -> R) -> Result<R, SpawnError> {
    CURRENT.with(|current| match current.try_borrow() {
        // Not `ok_or`: that would build (and drop) the error on every successful call.
        Ok(current) => match current.as_deref() {
            Some(node) => Ok(f(node)),
            None => Err(SpawnError::NoScope),
        },
        Err(_) => Err(SpawnError::NoScope),
    })
}

thread_local! {
    /// The tree (by address) whose `main` body this thread is polling, or 0.
    static MAIN_OF: Cell<usize> = const { Cell::new(0) };
}

/// Whether this thread is inside a poll of the `main` body of `tree`: a trigger
/// raised there is the body's own (see [`MainOutcome`](crate::MainOutcome)).
pub(crate) fn in_main_body_of(tree: &Tree) -> bool {
    MAIN_OF.get() == address(tree)
}

fn address(tree: &Tree) -> usize {
    std::ptr::from_ref(tree) as usize
}

/// Runs `f` marked as the `main` body of `tree`.
pub(crate) fn as_main_of<R>(tree: &Tree, f: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            MAIN_OF.set(self.0);
        }
    }
    let _restore = Restore(MAIN_OF.replace(address(tree)));
    f()
}
