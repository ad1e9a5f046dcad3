//! The generated code needs nothing from the prelude.
#![no_implicit_prelude]

#[::canstop::service(name = "worker", timeout = "2s")]
async fn worker(shutdown: ::canstop::Shutdown, label: ::std::string::String) {
    let _ = label;
    shutdown.requested().await;
}

#[::canstop::service(restart = "on-failure", max_restarts = 2, strategy = "one_for_all")]
async fn restarted(shutdown: ::canstop::Shutdown, label: ::std::string::String, n: u8) {
    let _ = (label, n);
    shutdown.requested().await;
}

#[::canstop::service]
async fn dropped_at_stop() {
    ::std::future::pending::<()>().await;
}

#[::canstop::session]
async fn job(n: u32) -> ::std::result::Result<(), ::std::string::String> {
    let _ = n;
    ::std::result::Result::Ok(())
}

#[::canstop::test(flavor = "multi_thread", worker_threads = 2, timeout = "1s")]
async fn a_test() {}

#[::canstop::main(timeout = "1s", worker_threads = 2, strategy = "one_for_one")]
async fn main() -> ::std::result::Result<(), ::canstop::SpawnError> {
    ::canstop::start(worker(::std::string::String::new()))?;
    ::canstop::start(dropped_at_stop())?;
    ::canstop::start(restarted(::std::string::String::new(), 1))?;
    ::canstop::spawn(job(1))?;
    ::canstop::shutdown()
}
