//! `crate = "..."` on every macro: the generated code names canstop only through the path.

mod framework {
    pub use ::canstop as runtime;
}

use framework::runtime;

#[runtime::service(crate = "framework::runtime")]
async fn worker(shutdown: runtime::Shutdown) {
    shutdown.requested().await;
}

#[runtime::session(crate = "crate::framework::runtime")]
async fn job() {}

#[runtime::test(crate = "framework::runtime")]
async fn a_test() {}

#[runtime::main(crate = "framework::runtime", flavor = "current_thread")]
async fn main() -> Result<(), runtime::SpawnError> {
    runtime::start(worker())?;
    runtime::spawn(job())?;
    runtime::shutdown()
}
