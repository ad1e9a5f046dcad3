//! The runner, with jemalloc as the global allocator. See `README.md`.

#![forbid(unsafe_code)]

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    canstop_benches::main(canstop_benches::Allocator::Jemalloc)
}
