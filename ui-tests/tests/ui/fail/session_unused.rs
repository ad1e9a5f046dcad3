#![deny(unused_must_use)]

use canstop::session;

#[session]
async fn job() {}

fn main() {
    job();
}
