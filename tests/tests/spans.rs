//! The spans canstop opens, as a subscriber records them: a service's span at `INFO`, a
//! session's at `DEBUG`, a child of the span current where it was spawned (one span per
//! session is a cost a subscriber at `INFO` does not pay).

use std::io::Write;
use std::sync::{Arc, Mutex};

use canstop::{Root, Service, Session, Shutdown};
use tracing_subscriber::EnvFilter;

/// What the subscriber wrote.
#[derive(Clone, Default)]
struct Written(Arc<Mutex<Vec<u8>>>);

impl Write for Written {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs a service whose session logs one `INFO` event, under a subscriber with the `filter`
/// (on a current-thread runtime, so the thread's default subscriber sees every task), and
/// returns the line of that event.
fn logged_line(filter: &str) -> String {
    let written = Written::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_ansi(false)
        .with_writer({
            let written = written.clone();
            move || written.clone()
        })
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let report = runtime
            .block_on(Root::new().signals(false).run(async {
                let handle = canstop::start(Service::new("api", |_: Shutdown| async {
                    let job = canstop::spawn(Session::new("job", |_: Shutdown| async {
                        tracing::info!("inside the job");
                    }))
                    .map_err(|error| error.to_string())?;
                    job.await.map_err(|error| error.to_string())
                }))?;
                handle.stopped().await;
                Ok::<(), canstop::SpawnError>(())
            }))
            .unwrap();
        assert_eq!(report.sessions_named("job").unwrap().finished, 1);
    });
    let written = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
    written
        .lines()
        .find(|line| line.contains("inside the job"))
        .unwrap_or_else(|| panic!("the event was not logged:\n{written}"))
        .to_owned()
}

/// A session's task runs outside its service's span (it is a task of its own): at `INFO`, an
/// event in a session body carries no canstop span.
#[test]
fn a_subscriber_at_info_opens_no_span_per_session() {
    let line = logged_line("info");
    assert!(!line.contains("session{"), "{line}");
}

/// The README's recipe: `DEBUG` for canstop's session target alone.
#[test]
fn with_debug_for_canstop_sessions_the_session_span_is_inside_the_service_span() {
    let line = logged_line("info,canstop::session=debug");
    assert!(
        line.contains("service{name=api}:session{name=\"job\"}"),
        "{line}"
    );
}
