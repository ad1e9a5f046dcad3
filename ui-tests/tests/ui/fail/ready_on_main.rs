//! `main` has no readiness of its own: one error at its `Ready` parameter.

use canstop::Ready;

#[canstop::main]
async fn main(ready: Ready) {
    ready.set();
}
