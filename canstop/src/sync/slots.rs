//! Per-thread slots: each thread that counts sessions holds a slot index of its own for as long
//! as it lives, so that it can count in its slot of any scope with a plain load and store
//! instead of a locked read-modify-write (which costs some 20 cycles even uncontended, and a
//! session is counted twice). Threads beyond the owned slots, and a thread whose slot has been
//! given back during its exit, share one last slot and count in it atomically.
//!
//! An index is given back when its thread exits, under the same lock it is taken under, so the
//! next owner sees every count of the previous one.

#[cfg(not(all(test, canstop_loom)))]
use std::cell::Cell;
#[cfg(not(all(test, canstop_loom)))]
use std::sync::Mutex;
use std::sync::OnceLock;

use crate::loom::{AtomicU64, Ordering};
#[cfg(not(all(test, canstop_loom)))]
use crate::sync::locking::lock;
// Under loom, a slot per loom thread (see `crate::loom`): the registry below lives in statics.
#[cfg(all(test, canstop_loom))]
pub(crate) use crate::loom::slots::{share_on_this_thread, this_thread};

/// A thread's slot in every per-thread table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    /// Written by this thread only.
    Own(usize),
    /// Shared by the threads without a slot of their own: the table's last one.
    Shared,
}

impl Slot {
    #[inline]
    pub(crate) fn index(self) -> usize {
        match self {
            Slot::Own(index) => index,
            Slot::Shared => owned(),
        }
    }

    /// Adds one to `counter`, which must be this slot's.
    #[inline]
    pub(crate) fn add_one(self, counter: &AtomicU64) {
        // Release: a reader that sees a count with an acquire load sees what came before it
        // on the counting thread, and through it (a lock, the gate) on others: a session's
        // end read means its start is read too (`LiveCounts`; a report during the sweep).
        // On x86 a plain store either way.
        match self {
            Slot::Own(_) => counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Release),
            Slot::Shared => {
                counter.fetch_add(1, Ordering::Release);
            }
        }
    }
}

/// Keeps each entry of a per-thread table on its own cache lines (128 bytes covers
/// adjacent-line prefetch).
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// How many slots a per-thread table has: the owned ones, and the shared one last.
pub(crate) fn count() -> usize {
    owned() + 1
}

#[cfg(not(all(test, canstop_loom)))]
/// The calling thread's slot.
#[inline]
pub(crate) fn this_thread() -> Slot {
    match KNOWN.get() {
        UNKNOWN => first_look(),
        SHARED => Slot::Shared,
        own => Slot::Own(own),
    }
}

#[cfg(not(all(test, canstop_loom)))]
thread_local! {
    /// This thread's slot, once looked up (`UNKNOWN` until then, `SHARED` when it has none of
    /// its own): read without the initialisation check of a value with a destructor.
    static KNOWN: Cell<usize> = const { Cell::new(UNKNOWN) };
    /// This thread's hold on its owned slot, given back when the thread exits.
    static CLAIM: Option<Claim> = Claim::take();
}

#[cfg(not(all(test, canstop_loom)))]
/// Makes a thread that has not looked yet count in the shared slot: for the blocking pool's
/// threads, which may be many and short-lived, so that they leave the owned slots to the
/// runtime's workers.
pub(crate) fn share_on_this_thread() {
    if KNOWN.get() == UNKNOWN {
        KNOWN.set(SHARED);
    }
}

#[cfg(not(all(test, canstop_loom)))]
const UNKNOWN: usize = usize::MAX;
#[cfg(not(all(test, canstop_loom)))]
const SHARED: usize = usize::MAX - 1;

#[cfg(not(all(test, canstop_loom)))]
#[cold]
fn first_look() -> Slot {
    match CLAIM.try_with(|claim| claim.as_ref().map(|claim| claim.0)) {
        Ok(Some(index)) => {
            KNOWN.set(index);
            Slot::Own(index)
        }
        Ok(None) => {
            KNOWN.set(SHARED);
            Slot::Shared
        }
        // The thread is exiting and its claim is gone: looked up again next time.
        Err(_) => Slot::Shared,
    }
}

fn owned() -> usize {
    static OWNED: OnceLock<usize> = OnceLock::new();
    *OWNED.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        (cores * 2).clamp(4, 32)
    })
}

#[cfg(not(all(test, canstop_loom)))]
/// The indexes not held by a live thread: never used yet (from `.0` up), or given back.
static FREE: Mutex<(usize, Vec<usize>)> = Mutex::new((0, Vec::new()));

#[cfg(not(all(test, canstop_loom)))]
/// A thread's hold on its slot index, given back when the thread exits.
struct Claim(usize);

#[cfg(not(all(test, canstop_loom)))]
impl Claim {
    fn take() -> Option<Self> {
        let mut free = lock(&FREE);
        let (next, given_back) = &mut *free;
        if let Some(index) = given_back.pop() {
            return Some(Claim(index));
        }
        (*next < owned()).then(|| {
            *next += 1;
            Claim(*next - 1)
        })
    }
}

#[cfg(not(all(test, canstop_loom)))]
impl Drop for Claim {
    fn drop(&mut self) {
        // From now on this thread counts in the shared slot.
        KNOWN.set(SHARED);
        let mut free = lock(&FREE);
        free.1.push(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_threads_hold_distinct_slots_and_give_them_back() {
        let mine = this_thread();
        assert_eq!(
            mine.index(),
            this_thread().index(),
            "a thread keeps its slot"
        );
        let other = std::thread::spawn(|| this_thread().index()).join().unwrap();
        if let Slot::Own(index) = mine {
            assert_ne!(index, other, "two live threads never share an owned slot");
        }
        // The exited thread's slot is free again: the next thread may reuse it.
        let next = std::thread::spawn(|| this_thread().index()).join().unwrap();
        assert!(next < count());
        let shared = std::thread::spawn(|| {
            share_on_this_thread();
            this_thread()
        });
        assert!(matches!(shared.join().unwrap(), Slot::Shared));
    }
}
