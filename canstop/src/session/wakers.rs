//! The wakers of the sessions of one shard that wait, so that the deadline sweep can wake
//! them: 16 bytes per parked session.
//!
//! A `Slab<Waker>` would do the same job at 24 bytes an entry (each entry holds either a
//! waker or the next free key), in one vector that doubles as it grows: right after it has
//! grown, the copies it left behind are still resident, and 100 000 waiting sessions (the
//! memory benchmark) cost 30 bytes each beyond the task. Here a free place is `None` in the
//! waker's own 16 bytes (`Option<Waker>` has a niche), the free keys wait in a list of their
//! own (4 bytes each, only while the place is free), and the places come in fixed chunks that
//! are never moved: 16 bytes per waiting session, plus at most one chunk not yet full.

use std::task::Waker;

/// Places per chunk: 4 KiB of wakers.
const CHUNK: usize = 256;

/// Parked wakers by key; a key stays valid until [`remove`](Self::remove) or
/// [`drain`](Self::drain).
#[derive(Debug, Default)]
pub(crate) struct Wakers {
    chunks: Vec<Box<[Option<Waker>]>>,
    /// The key the next new place gets: every place below it has been handed out.
    fresh: usize,
    free: Vec<u32>,
}

impl Wakers {
    /// Keeps `waker` and returns its key. Keys stay below the number of wakers held at once.
    pub(crate) fn insert(&mut self, waker: Waker) -> u32 {
        let key = match self.free.pop() {
            Some(key) => key as usize,
            None => {
                if self.fresh == self.chunks.len() * CHUNK {
                    self.chunks
                        .push(std::iter::repeat_with(|| None).take(CHUNK).collect());
                }
                self.fresh += 1;
                self.fresh - 1
            }
        };
        self.chunks[key / CHUNK][key % CHUNK] = Some(waker);
        // A shard never holds 2^32 wakers: each is a live task.
        u32::try_from(key).expect("fewer than 2^32 parked tasks")
    }

    /// Forgets the waker at `key`; nothing if there is none (drained since).
    pub(crate) fn remove(&mut self, key: u32) {
        let key = key as usize;
        let place = self
            .chunks
            .get_mut(key / CHUNK)
            .and_then(|chunk| chunk[key % CHUNK].take());
        if place.is_some() {
            self.free.push(key as u32);
        }
    }

    /// Takes every waker out; every key handed out so far is forgotten.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Waker> + '_ {
        self.free.clear();
        self.fresh = 0;
        self.chunks
            .drain(..)
            .flat_map(|chunk| chunk.into_vec().into_iter().flatten())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.fresh - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waker_takes_16_bytes() {
        assert_eq!(std::mem::size_of::<Option<Waker>>(), 16);
    }

    #[test]
    fn keys_are_reused_and_a_drain_forgets_them_all() {
        let mut wakers = Wakers::default();
        let total = CHUNK as u32 + 3;
        let keys: Vec<u32> = (0..total)
            .map(|_| wakers.insert(Waker::noop().clone()))
            .collect();
        assert_eq!(keys, (0..total).collect::<Vec<_>>());
        wakers.remove(1);
        wakers.remove(1);
        wakers.remove(CHUNK as u32 + 1);
        assert_eq!(wakers.len(), total as usize - 2);
        assert_eq!(wakers.insert(Waker::noop().clone()), CHUNK as u32 + 1);
        assert_eq!(wakers.insert(Waker::noop().clone()), 1);
        assert_eq!(wakers.insert(Waker::noop().clone()), total);
        assert_eq!(wakers.drain().count(), total as usize + 1);
        // A key removed after the drain (a session ending after the sweep) changes nothing.
        wakers.remove(2);
        assert_eq!(wakers.len(), 0);
        assert_eq!(wakers.insert(Waker::noop().clone()), 0);
    }
}
