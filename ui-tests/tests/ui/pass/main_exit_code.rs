//! The generated `main` exits with the report's code: run as a child process, a `main` whose
//! body returns `Err` exits non-zero, and one that returns `Ok` exits zero.

use std::process::Command;

#[canstop::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    match std::env::var("CANSTOP_UI_CHILD").as_deref() {
        Ok("fail") => Err("refusing to start".to_owned()),
        Ok(_) => Ok(()),
        Err(_) => {
            let me = std::env::current_exe().unwrap();
            let failed = Command::new(&me).env("CANSTOP_UI_CHILD", "fail").output().unwrap();
            assert!(!failed.status.success(), "{failed:?}");
            let stderr = String::from_utf8_lossy(&failed.stderr);
            assert!(stderr.contains("refusing to start"), "{stderr}");
            let clean = Command::new(&me).env("CANSTOP_UI_CHILD", "ok").output().unwrap();
            assert!(clean.status.success(), "{clean:?}");
            Ok(())
        }
    }
}
