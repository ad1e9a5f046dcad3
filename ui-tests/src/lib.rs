//! trybuild cases for the macros live in `tests/ui`; see `tests/ui.rs`.
