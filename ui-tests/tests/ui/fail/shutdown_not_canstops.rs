//! A type of the user's imported as `Shutdown`, or an alias of another type marked
//! `#[shutdown]`: one error each, at the parameter's type, and none at the callers.

use canstop::{service, session};

mod config {
    pub struct Shutdown;
}

use config::Shutdown;

type Stop = u32;

#[service]
async fn worker(shutdown: Shutdown, port: u16) {
    let _ = (shutdown, port);
}

#[session]
async fn job(#[shutdown] stop: Stop) {
    let _ = stop;
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(worker(8080))?;
    canstop::spawn(job())?;
    Ok(())
}
