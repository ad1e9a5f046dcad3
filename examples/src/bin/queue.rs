//! A job queue on a spool directory: a consumer service claims job files, each job is a
//! tracked session, and on SIGTERM the consumer stops claiming while the jobs in flight
//! finish. No job is ever lost: each one is in `incoming/` (not started) or `done/`.
//!
//! ```text
//! cargo run -p canstop-examples --bin queue -- /tmp/spool
//! echo hello > /tmp/spool/incoming/job-1     # the producer: any program that writes files
//! ```
//!
//! A job moves `incoming/` → `working/` (claimed, by an atomic rename) → `done/` (its result
//! written). At start-up, jobs left in `working/` by a crash are put back in `incoming/`.
//! Environment: `QUEUE_WORKERS` (jobs in flight at once, default 4) and `QUEUE_JOB_MS`
//! (how long a job takes, default 200).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use canstop::{service, session, Shutdown};
use canstop_examples::{announce, env_number, init_tracing};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[canstop::main(timeout = "10s")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let spool = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: queue <spool directory>")?,
    );
    let workers = env_number("QUEUE_WORKERS", 4)?;
    let job_time = Duration::from_millis(env_number("QUEUE_JOB_MS", 200)?);
    for dir in ["incoming", "working", "done"] {
        tokio::fs::create_dir_all(spool.join(dir)).await?;
    }
    let recovered = requeue_unfinished(&spool).await?;
    announce(format_args!(
        "consuming {} (recovered {recovered})",
        spool.display()
    ));
    canstop::start(consumer(spool, workers as usize, job_time))?;
    Ok(())
}

/// Claims jobs while there is room for them, until told to stop.
#[service]
async fn consumer(
    shutdown: Shutdown,
    spool: PathBuf,
    workers: usize,
    job_time: Duration,
) -> std::io::Result<()> {
    let room = Arc::new(Semaphore::new(workers));
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    'claiming: loop {
        // Wait for room for one more job, unless told to stop first.
        let permit = tokio::select! {
            biased;
            () = shutdown.requested() => break 'claiming,
            permit = room.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
        };
        let claimed = loop {
            if let Some(name) = claim_next(&spool).await? {
                break name;
            }
            tokio::select! {
                biased;
                () = shutdown.requested() => break 'claiming,
                _ = poll.tick() => {}
            }
        };
        canstop::spawn(job(spool.clone(), claimed, job_time, permit))
            .map_err(std::io::Error::other)?;
    }
    tracing::info!("consumer stopped claiming jobs");
    Ok(())
}

/// One job: reads the claimed file, "works", writes the result to `done/` and removes the
/// claim. It takes no `Shutdown`: a job in flight is finished, not cut off.
#[session]
async fn job(
    spool: PathBuf,
    name: String,
    job_time: Duration,
    _room: OwnedSemaphorePermit,
) -> std::io::Result<()> {
    let claimed = spool.join("working").join(&name);
    let input = tokio::fs::read_to_string(&claimed).await?;
    tokio::time::sleep(job_time).await;
    let done = spool.join("done").join(&name);
    tokio::fs::write(&done, input.to_uppercase()).await?;
    tokio::fs::remove_file(&claimed).await?;
    tracing::info!(job = %name, "job done");
    Ok(())
}

/// Moves the oldest-named file of `incoming/` to `working/`; `None` when there is none.
async fn claim_next(spool: &Path) -> std::io::Result<Option<String>> {
    let mut names = Vec::new();
    let mut entries = tokio::fs::read_dir(spool.join("incoming")).await?;
    while let Some(entry) = entries.next_entry().await? {
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort();
    for name in names {
        let from = spool.join("incoming").join(&name);
        match tokio::fs::rename(&from, spool.join("working").join(&name)).await {
            Ok(()) => return Ok(Some(name)),
            // Claimed by another consumer in the meantime.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

/// Puts jobs that a previous run claimed but did not finish back in `incoming/`.
async fn requeue_unfinished(spool: &Path) -> std::io::Result<usize> {
    let mut count = 0;
    let mut entries = tokio::fs::read_dir(spool.join("working")).await?;
    while let Some(entry) = entries.next_entry().await? {
        tokio::fs::rename(entry.path(), spool.join("incoming").join(entry.file_name())).await?;
        count += 1;
    }
    Ok(count)
}
