//! canstop's locks guard state that stays consistent if a panic unwinds through them (nothing
//! panics while one is held), so a poisoned lock is taken as it is.

#[cfg(not(all(test, canstop_loom)))]
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Under loom, one generic `lock` for std's mutexes and loom's.
#[cfg(all(test, canstop_loom))]
pub(crate) use crate::loom::lock;

/// Locks `mutex`, ignoring poisoning.
#[cfg(not(all(test, canstop_loom)))]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
