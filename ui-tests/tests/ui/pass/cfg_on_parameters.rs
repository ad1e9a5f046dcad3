//! `#[cfg(..)]` on a parameter is honoured in the generated signature and in the body: a
//! parameter configured out is neither taken from the caller nor bound in the body.

use canstop::{service, session, Root, Shutdown};

#[service]
async fn worker(
    shutdown: Shutdown,
    #[cfg(any())] never: u8,
    #[cfg(all())] port: u16,
) {
    assert_eq!(port, 7000);
    shutdown.requested().await;
}

#[session]
async fn job(#[cfg(not(any()))] id: u32, #[cfg(any())] gone: String) {
    assert_eq!(id, 1);
}

fn main() {
    let report = Root::new()
        .signals(false)
        .block_on(async {
            canstop::start(worker(7000))?;
            canstop::spawn(job(1))?;
            canstop::shutdown()
        })
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{report}");
}
