//! `crate = "..."` on every macro: the generated code names canstop only through the path.

mod framework {
    pub use ::canstop as runtime;
}

use framework::runtime;

#[runtime::service(crate = "framework::runtime")]
async fn worker(shutdown: runtime::Shutdown) {
    shutdown.requested().await;
}

#[runtime::service(crate = "framework::runtime", restart = "always", strategy = "rest_for_one")]
async fn restarted(shutdown: runtime::Shutdown, label: String) {
    let _ = label;
    shutdown.requested().await;
}

#[runtime::session(crate = "crate::framework::runtime")]
async fn job() {}

#[runtime::test(crate = "framework::runtime")]
async fn a_test() {}

#[runtime::main(crate = "framework::runtime", flavor = "current_thread", strategy = "one_for_all")]
async fn main() -> Result<(), runtime::SpawnError> {
    runtime::start(worker())?;
    runtime::start(restarted("r".to_owned()))?;
    runtime::spawn(job())?;
    runtime::shutdown()
}
