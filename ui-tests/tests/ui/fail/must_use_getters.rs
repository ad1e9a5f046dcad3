// A getter whose value is dropped is a mistake the compiler points at (a review found these
// silent): one `unused_must_use` per call.
#![deny(unused_must_use)]

fn check(
    report: &canstop::Report,
    scope: &canstop::Scope,
    handle: &canstop::ServiceHandle,
    shutdown: &canstop::Shutdown,
    service: &canstop::Service,
) {
    report.exit_code();
    report.is_clean();
    report.process_exit_code();
    report.service("api");
    report.all_services();
    scope.path();
    scope.state();
    handle.name();
    handle.path();
    shutdown.scope();
    service.name();
}

fn main() {
    let _ = check;
}
