//! The runner, with the system allocator. See `README.md`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    canstop_benches::main(canstop_benches::Allocator::System)
}
