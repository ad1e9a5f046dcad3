//! # canstop-benches
//!
//! canstop against raw tokio, tokio-util, tokio-graceful-shutdown and tokio-graceful, on the
//! same workloads, in one run. See `README.md` for the command and how to read the table.
//!
//! The runner (the default mode) re-executes its own binary once per contender × workload ×
//! run (`canstop-benches child CONTENDER WORKLOAD ...`), so that every measurement starts from
//! a fresh process: a fresh heap, a fresh runtime, nothing left over from another contender.
//! A child prints one line, `RESULT WORKLOAD CONTENDER VALUE`, and the runner collects them,
//! interleaving the contenders (and the allocators) across runs, and prints the medians and
//! the ratios to the `TaskTracker + CancellationToken` contender of the same run. The http
//! workload is the exception: one child per run and allocator serves the servers it compares
//! side by side, under one load client (built in, wrk or h2load) that loads them in turn, and
//! prints a line for each, with one value per round under wrk and h2load (see `load/`).
//!
//! Two binaries run the same code: `canstop-benches` with the system allocator, and
//! `canstop-benches-jemalloc` (feature `jemalloc`) with jemalloc as the global allocator. The
//! runner measures both when it can (it builds the other one with cargo when it runs under
//! `cargo run`).

#![forbid(unsafe_code)]

mod child;
mod cli;
mod contenders;
mod load;
mod probe;
mod production;
mod runner;
mod table;

use std::process::ExitCode;

/// The global allocator a binary of this package was built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Allocator {
    /// The platform's `malloc` (glibc on Linux).
    System,
    /// tikv-jemallocator.
    Jemalloc,
}

impl Allocator {
    pub(crate) const ALL: [Self; 2] = [Self::System, Self::Jemalloc];

    pub(crate) fn id(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Jemalloc => "jemalloc",
        }
    }

    pub(crate) fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alloc| alloc.id() == id)
    }

    /// The binary of this package that runs with this allocator.
    pub(crate) fn binary(self) -> &'static str {
        match self {
            Self::System => "canstop-benches",
            Self::Jemalloc => "canstop-benches-jemalloc",
        }
    }
}

/// The whole program; `allocator` says which global allocator the calling binary installed.
pub fn main(allocator: Allocator) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(&args) {
        Ok(cli::Command::Help) => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Ok(cli::Command::Child(options)) => child::run(allocator, &options),
        Ok(cli::Command::Run(options)) => runner::run(allocator, &options),
        Err(error) => {
            eprintln!("canstop-benches: {error}\n\n{}", cli::USAGE);
            ExitCode::from(2)
        }
    }
}
