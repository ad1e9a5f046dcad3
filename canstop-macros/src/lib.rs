//! Attribute macros for [canstop](https://docs.rs/canstop). Depend on `canstop`, not on this
//! crate: `canstop` re-exports every macro and the generated code names only `::canstop`.
