//! The generated code does not pick up the user's `tokio`, `tracing`, `core`, `std` or
//! `canstop` modules, nor names that shadow the prelude's.
#![allow(dead_code, non_camel_case_types, clippy::disallowed_names)]

mod tokio {}
mod tracing {}
mod core {}
mod std {}
mod canstop {}

struct Option;
struct Some;
struct None;
struct Result;
struct Ok;
struct Err;
struct Box;
struct String;
struct Service;
struct Session;
struct SessionKind;
struct Duration;
struct ExitCode;
trait Clone {}
fn spawn() {}
fn file() {}
fn line() {}

#[::canstop::service(timeout = "1s")]
async fn worker(shutdown: ::canstop::Shutdown, label: &'static str) {
    let _ = label;
    shutdown.requested().await;
}

// `Restart`, `Strategy` and `RestartProbe` of the user's change nothing either.
struct Restart;
struct Strategy;
struct RestartProbe;

#[::canstop::service(restart = "on-failure", within = "1m", backoff = "1s..1m", strategy = "one_for_all")]
async fn restarted(shutdown: ::canstop::Shutdown, label: &'static str, n: u8) {
    let _ = (label, n);
    shutdown.requested().await;
}

#[::canstop::session(name = "job")]
async fn job(_: ::canstop::Shutdown, n: u8) {
    let _ = n;
}

#[::canstop::test(timeout = "1s", start_paused = true)]
async fn a_test() {}

#[::canstop::main(timeout = "1s", flavor = "current_thread", strategy = "one_for_one")]
async fn main() {
    ::canstop::start(worker("w")).unwrap();
    ::canstop::start(restarted("r", 1)).unwrap();
    ::canstop::spawn(job(1)).unwrap();
    ::canstop::shutdown().unwrap();
}
