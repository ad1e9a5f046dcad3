//! Runnable canstop programs; see `src/bin`.
