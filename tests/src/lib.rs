//! Shared pieces of canstop's behaviour tests: running programs (the child program in
//! `src/bin`, the examples) under real signals, and reading the reports they print.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A child program whose stdout and stderr are read line by line on threads.
#[derive(Debug)]
pub struct Running {
    child: Child,
    stdout: Lines,
    stderr: Lines,
    /// The read end of a stderr pipe that nobody reads, kept open (a stalled log pipeline).
    _unread: Option<std::os::fd::OwnedFd>,
}

/// What a child's stderr is, for the tests of a dead or stalled log pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stderr {
    /// File descriptor 2 is closed when the program starts.
    Closed,
    /// A pipe whose read end is closed: every write fails with `EPIPE`.
    Broken,
    /// A pipe that is full and that nobody reads: every write blocks.
    Full,
}

/// One output stream: the lines seen so far, and those still to come.
#[derive(Debug)]
struct Lines {
    incoming: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn read(pipe: impl Read + Send + 'static) -> Self {
        let (sender, incoming) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            incoming,
            seen: Vec::new(),
        }
    }

    /// Waits until `count` lines (seen before or now) satisfy `wanted`; returns the last one.
    fn wait(
        &mut self,
        what: &str,
        count: usize,
        limit: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> String {
        let until = Instant::now() + limit;
        let mut found: Vec<String> = self.seen.iter().filter(|l| wanted(l)).cloned().collect();
        while found.len() < count {
            let left = until.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(line) => {
                    if wanted(&line) {
                        found.push(line.clone());
                    }
                    self.seen.push(line);
                }
                Err(_) => panic!(
                    "{} of {count} lines {what} within {limit:?}; the program printed: {:#?}",
                    found.len(),
                    self.seen
                ),
            }
        }
        found.pop().unwrap_or_default()
    }

    fn rest(mut self) -> Vec<String> {
        self.seen.extend(self.incoming.iter());
        self.seen
    }
}

/// Starts `program`, waits for its `READY` line, sends `signal` and waits for the exit (at
/// most `limit`). Prints what happened, for the test's log; returns how it ended and how
/// long it took after the signal.
pub fn run_until_signal(
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
    signal: nix::sys::signal::Signal,
    limit: Duration,
) -> (Ended, Duration) {
    signal_at_line(program, args, env, "READY", signal, limit)
}

/// [`run_until_signal`], the signal sent once the program has printed `line`.
pub fn signal_at_line(
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
    line: &str,
    signal: nix::sys::signal::Signal,
    limit: Duration,
) -> (Ended, Duration) {
    let mut child = Running::start(program, args, env);
    child.wait_for_line(line, limit);
    child.signal(signal);
    let (ended, took) = child.wait_exit(limit);
    println!(
        "{args:?}: exit {:?} {took:?} after {signal}\n{}",
        ended.code(),
        ended.text()
    );
    (ended, took)
}

/// A pipe (read end, write end), closed on exec: only the child it is given to has it.
fn pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("a pipe")
}

/// Fills the pipe behind `writer` until a write would block, then makes it blocking again
/// (the child shares it): the child's next write to it blocks.
fn fill(writer: &std::os::fd::OwnedFd) {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    fcntl(writer, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("make the pipe non-blocking");
    // Whole pages first (writes of at most PIPE_BUF bytes are all or nothing), then bytes.
    for chunk in [4096, 1] {
        let bytes = vec![b'x'; chunk];
        loop {
            match nix::unistd::write(writer, &bytes).map_err(std::io::Error::from) {
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(error) => panic!("fill the pipe: {error}"),
            }
        }
    }
    fcntl(writer, FcntlArg::F_SETFL(OFlag::empty())).expect("make the pipe blocking again");
}

/// How a child ended.
#[derive(Debug)]
pub struct Ended {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it printed on stdout.
    pub stdout: Vec<String>,
    /// Everything it printed on stderr (logs, and the report of a `#[canstop::main]`).
    pub stderr: Vec<String>,
}

impl Running {
    /// Starts `program` with `args` and extra environment variables.
    pub fn start(program: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(program);
        command.args(args).stderr(Stdio::piped());
        Self::spawn(command, env, None)
    }

    /// Starts `program` with `args`, its stderr closed, broken or full (and not read).
    pub fn start_with_stderr(program: &str, args: &[&str], stderr: Stderr) -> Self {
        let mut unread = None;
        let command = match stderr {
            Stderr::Closed => {
                // `Stdio::null()` would be /dev/null, not a closed descriptor.
                let mut command = Command::new("sh");
                command
                    .args(["-c", "exec \"$0\" \"$@\" 2>&-", program])
                    .args(args);
                command
            }
            Stderr::Broken => {
                let (reader, writer) = pipe();
                drop(reader);
                let mut command = Command::new(program);
                command.args(args).stderr(writer);
                command
            }
            Stderr::Full => {
                let (reader, writer) = pipe();
                fill(&writer);
                unread = Some(reader);
                let mut command = Command::new(program);
                command.args(args).stderr(writer);
                command
            }
        };
        Self::spawn(command, &[], unread)
    }

    fn spawn(
        mut command: Command,
        env: &[(&str, &str)],
        unread: Option<std::os::fd::OwnedFd>,
    ) -> Self {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .env_remove("CANSTOP_SHUTDOWN_TIMEOUT")
            .env_remove("RUST_LOG")
            // A test runner run by systemd must not make its children speak to it.
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start the child program");
        let stdout = Lines::read(child.stdout.take().expect("piped stdout"));
        let stderr = match child.stderr.take() {
            Some(stderr) => Lines::read(stderr),
            None => Lines::read(std::io::empty()),
        };
        Self {
            child,
            stdout,
            stderr,
            _unread: unread,
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits in i32")
    }

    /// Waits (at most `limit`) until the child prints `line` on stdout.
    pub fn wait_for_line(&mut self, line: &str, limit: Duration) {
        self.stdout
            .wait(&format!("equal to {line:?}"), 1, limit, |got| got == line);
    }

    /// Waits until the child prints a stdout line starting with `prefix`; returns the rest.
    pub fn wait_for_prefix(&mut self, prefix: &str, limit: Duration) -> String {
        let line = self
            .stdout
            .wait(&format!("starting with {prefix:?}"), 1, limit, |got| {
                got.starts_with(prefix)
            });
        line[prefix.len()..].to_owned()
    }

    /// Waits until `count` stderr lines (log lines) contain `pattern`.
    pub fn wait_for_log(&mut self, pattern: &str, count: usize, limit: Duration) {
        self.stderr.wait(
            &format!("containing {pattern:?} on stderr"),
            count,
            limit,
            |got| got.contains(pattern),
        );
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
                    "the child did not exit within {limit:?}; stdout: {:#?}\nstderr: {:#?}",
                    self.stdout.seen, self.stderr.seen
                );
            }
            thread::sleep(Duration::from_millis(1));
        };
        let took = started.elapsed();
        let ended = Ended {
            status,
            stdout: self.stdout.rest(),
            stderr: self.stderr.rest(),
        };
        (ended, took)
    }

    /// [`wait_exit`](Self::wait_exit), then prints `what` with the exit code, the time it
    /// took and the program's output (for the test's log); returns how it ended.
    pub fn wait_exit_printed(self, what: &str, limit: Duration) -> Ended {
        let (ended, took) = self.wait_exit(limit);
        println!(
            "{what}: exit {:?} {took:?} after the signal\n{}",
            ended.code(),
            ended.text()
        );
        ended
    }
}

impl Ended {
    /// Asserts that the process exited with `code`, showing its output if not.
    #[track_caller]
    pub fn assert_code(&self, code: u8) {
        assert_eq!(self.code(), Some(i32::from(code)), "{}", self.text());
    }

    /// Asserts that the process's output (the report, its logs) contains `text`, showing it
    /// if not.
    #[track_caller]
    pub fn assert_says(&self, text: &str) {
        let all = self.text();
        assert!(all.contains(text), "expected {text:?} in:\n{all}");
    }

    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The counts of the report line for session kind `name` (on stdout or stderr).
    pub fn session_counts(&self, name: &str) -> Counts {
        let prefix = format!("{name} at ");
        let line = self
            .stdout
            .iter()
            .chain(&self.stderr)
            .map(|line| line.trim())
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no report line for sessions {name:?} in {}", self.text()));
        Counts::parse(line)
    }

    /// Everything the child printed: stdout, then stderr.
    pub fn text(&self) -> String {
        let mut text = self.stdout.join("\n");
        text.push_str("\n--- stderr ---\n");
        text.push_str(&self.stderr.join("\n"));
        text
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

/// What [`root`]'s `run` answers on a runtime built without timers (it must be a
/// `StartError`, never a panic).
pub fn run_without_timer() -> canstop::StartError {
    let no_timer = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    no_timer
        .block_on(root().run(async {}))
        .map(drop)
        .expect_err("a root cannot run without timers")
}

/// A root for the in-process tests: no signal handlers (the test harness owns the process),
/// and `CANSTOP_SHUTDOWN_TIMEOUT` ignored (the tests set their own timeouts).
pub fn root() -> canstop::Root {
    canstop::Root::new().signals(false).timeout_from_env(false)
}
