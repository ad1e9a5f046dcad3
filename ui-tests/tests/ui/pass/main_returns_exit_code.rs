use std::process::ExitCode;

#[canstop::main(timeout = "1s")]
async fn main() -> ExitCode {
    ExitCode::SUCCESS
}
