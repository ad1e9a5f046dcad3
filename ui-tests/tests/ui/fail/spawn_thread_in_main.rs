#[canstop::main]
async fn main() {
    std::thread::spawn(|| println!("detached"));
}
