//! A program for the logging tests: a `tracing` subscriber (at `DEBUG`, or `INFO` for
//! `blocks-on-sibling`) whose writer panics on every write (`panics`), or blocks forever on
//! one line (`blocks-on-tree-ready`, `blocks-on-sibling`), as a log pipe that fills at that
//! write would. Every write is first announced on stdout as `LOG <text>`. It prints `READY`
//! once its tree runs; the tests send it real signals.
use std::process::ExitCode;
use std::time::Duration;

use canstop::{Root, Service, Shutdown};

fn say(line: &str) {
    canstop_examples::announce(format_args!("{line}"));
}

#[derive(Clone)]
struct Writer(&'static str);
impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf).trim_end().to_owned();
        say(&format!("LOG {text}"));
        let hit = match self.0 {
            "blocks-on-tree-ready" => text.contains("tree ready"),
            "blocks-on-sibling" => text.contains("stopping a sibling for its restart"),
            "blocks" | "panics" => true,
            _ => false,
        };
        if hit && self.0.starts_with("blocks") {
            say("SUBSCRIBER BLOCKS NOW");
            loop {
                std::thread::park();
            }
        }
        if hit && self.0 == "panics" {
            panic!("the log writer panics");
        }
        std::io::stderr().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() -> ExitCode {
    let kind: &'static str =
        Box::leak(std::env::args().nth(1).unwrap_or_default().into_boxed_str());
    tracing_subscriber::fmt()
        .with_max_level(if kind == "blocks-on-sibling" {
            tracing::Level::INFO
        } else {
            tracing::Level::DEBUG
        })
        .with_ansi(false)
        .with_writer(move || Writer(kind))
        .init();
    if kind == "blocks-on-sibling" {
        return Root::new()
            .worker_threads(2)
            .timeout(Duration::from_secs(1))
            .main(async {
                canstop::start(
                    Service::new("group", |shutdown: Shutdown| async move {
                        canstop::start(
                            Service::restartable("a", |shutdown: Shutdown| async move {
                                tokio::select! {
                                    () = shutdown.requested() => Ok(()),
                                    () = tokio::time::sleep(Duration::from_millis(200)) => Err("a fails"),
                                }
                            })
                            .restart(canstop::Restart::OnFailure),
                        )?;
                        for name in ["b", "c", "d"] {
                            canstop::start(
                                Service::restartable(name, |shutdown: Shutdown| async move {
                                    shutdown.requested().await;
                                    Ok::<(), String>(())
                                })
                                .restart(canstop::Restart::OnFailure),
                            )?;
                        }
                        shutdown.requested().await;
                        Ok::<(), canstop::SpawnError>(())
                    })
                    .strategy(canstop::Strategy::OneForAll),
                )?;
                say("READY");
                Ok::<(), canstop::SpawnError>(())
            });
    }
    Root::new()
        .worker_threads(2)
        .timeout(Duration::from_secs(1))
        .main(async {
            canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
                shutdown.requested().await;
                Ok::<(), String>(())
            }))?;
            say("READY");
            Ok::<(), canstop::SpawnError>(())
        })
}
