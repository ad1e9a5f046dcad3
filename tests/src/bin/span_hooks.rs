//! A program for the span tests: a `tracing` layer that panics or blocks in one hook (`new`,
//! `enter`, `exit`, `close`) of one of canstop's own spans (`service` at `INFO`, `session` at
//! `DEBUG`), once the tree runs. Arguments: `<panic|block> <new|enter|exit|close>
//! <service|session>`; `NO_LATE` leaves out the service started once the layer is armed.
//! It prints `READY` once armed; the tests send it real signals.
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use canstop::{Root, Service, Session, Shutdown};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

static ARMED: AtomicBool = AtomicBool::new(false);

fn say(line: &str) {
    canstop_examples::announce(format_args!("{line}"));
}

struct Hostile {
    attack: &'static str,
    hook: &'static str,
    span: &'static str,
}

impl Hostile {
    fn hit(&self, hook: &str, name: &str) {
        if hook != self.hook || name != self.span || !ARMED.load(Ordering::SeqCst) {
            return;
        }
        if self.attack == "block" {
            say(&format!("SUBSCRIBER BLOCKS NOW in {hook} {name}"));
            loop {
                std::thread::park();
            }
        }
        say(&format!("SUBSCRIBER PANICS NOW in {hook} {name}"));
        panic!("hostile subscriber panics in {hook} of {name}");
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Hostile {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        self.hit("new", attrs.metadata().name());
    }
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            self.hit("enter", span.name());
        }
    }
    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            self.hit("exit", span.name());
        }
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            self.hit("close", span.name());
        }
    }
}

fn arg(n: usize) -> &'static str {
    Box::leak(std::env::args().nth(n).unwrap_or_default().into_boxed_str())
}

fn main() -> ExitCode {
    let hostile = Hostile {
        attack: arg(1),
        hook: arg(2),
        span: arg(3),
    };
    let arm_early = std::env::var("ARM_EARLY").is_ok();
    if arm_early {
        ARMED.store(true, Ordering::SeqCst);
    }
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(std::io::stderr),
        )
        .with(hostile)
        .with(tracing_subscriber::filter::LevelFilter::DEBUG)
        .init();
    Root::new()
        .worker_threads(2)
        .timeout(Duration::from_secs(1))
        .main(async move {
            canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
                let _ = canstop::spawn(Session::new("waiter", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                }));
                shutdown.requested().await;
                Ok::<(), String>(())
            }))?;
            tokio::time::sleep(Duration::from_millis(200)).await;
            ARMED.store(true, Ordering::SeqCst);
            say("READY");
            if std::env::var("NO_LATE").is_ok() {
                return Ok(());
            }
            // a second service, started once armed (exercises new-span at start).
            let started = canstop::start(Service::new("late", |shutdown: Shutdown| async move {
                let _ = canstop::spawn(Session::new(
                    "late-waiter",
                    |shutdown: Shutdown| async move {
                        shutdown.requested().await;
                    },
                ));
                shutdown.requested().await;
                Ok::<(), String>(())
            }));
            say(&format!("LATE STARTED {:?}", started.is_ok()));
            Ok::<(), canstop::SpawnError>(())
        })
}
