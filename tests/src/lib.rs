//! Shared pieces of canstop's behaviour tests: running the child programs in `src/bin` under
//! real signals, and reading the reports they print.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A child program whose stdout is read line by line on a thread.
#[derive(Debug)]
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

/// How a child ended.
#[derive(Debug)]
pub struct Ended {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it printed on stdout.
    pub stdout: Vec<String>,
    /// Everything it printed on stderr.
    pub stderr: String,
}

impl Running {
    /// Starts `program` with `args` and extra environment variables.
    pub fn start(program: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(program);
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("CANSTOP_SHUTDOWN_TIMEOUT");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start the child program");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits in i32")
    }

    /// Waits (at most `limit`) until the child prints `line`; panics with what it printed
    /// otherwise.
    pub fn wait_for_line(&mut self, line: &str, limit: Duration) {
        let until = Instant::now() + limit;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(got) => {
                    let found = got == line;
                    self.seen.push(got);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!(
                    "the child did not print {line:?} within {limit:?}; it printed: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// Sends `signal` to the child.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal)
            .expect("send the signal");
    }

    /// Waits for the child to exit, for at most `limit` (then kills it and panics); returns
    /// how it ended and how long that took.
    pub fn wait_exit(mut self, limit: Duration) -> (Ended, Duration) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                break status;
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "the child did not exit within {limit:?}; it printed: {:#?}",
                    self.seen
                );
            }
            thread::sleep(Duration::from_millis(2));
        };
        let took = started.elapsed();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        // The reader thread ends at EOF; collect the rest of stdout.
        let mut stdout = self.seen;
        stdout.extend(self.lines.iter());
        (
            Ended {
                status,
                stdout,
                stderr,
            },
            took,
        )
    }
}

impl Ended {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The counts of the report line for session kind `name`, as `(key, value)` pairs:
    /// `started`, `finished`, `failed`, `panicked`, `aborted`.
    pub fn session_counts(&self, name: &str) -> Counts {
        let prefix = format!("{name} at ");
        let line = self
            .stdout
            .iter()
            .map(|line| line.trim())
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| {
                panic!("no report line for sessions {name:?} in {:#?}", self.stdout)
            });
        Counts::parse(line)
    }

    /// The whole stdout, joined.
    pub fn text(&self) -> String {
        self.stdout.join("\n")
    }
}

/// The counts of one session kind, parsed from a report line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Started.
    pub started: u64,
    /// Finished.
    pub finished: u64,
    /// Failed.
    pub failed: u64,
    /// Panicked.
    pub panicked: u64,
    /// Aborted.
    pub aborted: u64,
}

impl Counts {
    fn parse(line: &str) -> Self {
        let mut counts = Self::default();
        for pair in line.split_whitespace() {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            let Ok(value) = value.parse() else { continue };
            match key {
                "started" => counts.started = value,
                "finished" => counts.finished = value,
                "failed" => counts.failed = value,
                "panicked" => counts.panicked = value,
                "aborted" => counts.aborted = value,
                _ => {}
            }
        }
        counts
    }
}
