//! The macros' compile-fail and compile-pass cases (`tests/ui/fail`, `tests/ui/pass`).
//!
//! The `.stderr` snapshots are the exact text rustc prints, which changes between compiler
//! versions, so the cases run only on the toolchain they were recorded with; elsewhere the
//! test prints a notice and passes. Re-record with `TRYBUILD=overwrite cargo test -p
//! canstop-ui-tests --test ui`, after reading every new `.stderr`.

use std::process::Command;

/// The compiler the snapshots were recorded with.
const RECORDED_WITH: &str = "rustc 1.95.";

fn rustc_version() -> Option<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc).arg("--version").output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[test]
fn ui() {
    let version = rustc_version().unwrap_or_else(|| "an unknown rustc".to_owned());
    if !version.starts_with(RECORDED_WITH) {
        eprintln!(
            "skipping the trybuild cases: they were recorded with {RECORDED_WITH}x, this is {version}"
        );
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
