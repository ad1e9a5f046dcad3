#![deny(unused_variables)]

use canstop::session;

#[session]
async fn job(id: u32) {}

fn main() {
    let _ = job(1);
}
