//! What each probe checks, and its answer in kube-apiserver's text format.
//!
//! Everything is read without blocking the tree: the readiness counts (one lock that only
//! readiness changes take, for a copy of two flags), the trigger (a `OnceLock`) and a
//! [`State`](crate::State) snapshot of the root.

use std::fmt::Write as _;

use crate::health::{Answer, Check, Probe, Status};
use crate::lifecycle::readiness::TreeNow;
use crate::lifecycle::shared::Tree;
use crate::report::state::{NodeState, Phase};
use crate::report::MainOutcome;

/// What `probe` says about `tree` now.
pub(super) fn status(tree: &Tree, probe: Probe) -> Status {
    let mut checks = vec![passed("ping")];
    let mut passed_overall = match probe {
        Probe::Live => {
            let failed = tree.trigger_info().filter(|trigger| trigger.is_failure());
            checks.push(Check {
                name: "tree".to_owned(),
                failure: failed.map(|trigger| trigger.to_string()),
            });
            true
        }
        Probe::Ready => {
            checks.push(Check {
                name: "shutdown".to_owned(),
                failure: tree.trigger_info().map(|trigger| {
                    if tree.in_drain_delay() {
                        format!("draining ({trigger})")
                    } else {
                        format!("stopping ({trigger})")
                    }
                }),
            });
            let (main_returned, _) = tree.readiness.started();
            checks.push(main_check(tree, main_returned));
            services(tree, &mut checks, not_ready);
            tree.readiness.now() == TreeNow::Ready
        }
        Probe::Started => {
            let (main_returned, started) = tree.readiness.started();
            if started {
                // Once started, always started: a startup probe is not asked again.
                checks.push(passed("main"));
                services(tree, &mut checks, |_| None);
            } else {
                checks.push(main_check(tree, main_returned));
                services(tree, &mut checks, not_ready);
            }
            started
        }
    };
    if passed_overall && checks.iter().any(|check| !check.passed()) {
        passed_overall = false;
    } else if !passed_overall && checks.iter().all(Check::passed) {
        // Every check passes but the tree's readiness says no (a service admitted a moment
        // ago, not in the snapshot yet): say so rather than fail without a reason.
        checks.push(Check {
            name: "tree".to_owned(),
            failure: Some("not ready".to_owned()),
        });
    }
    Status {
        probe,
        passed: passed_overall,
        checks,
    }
}

fn passed(name: &str) -> Check {
    Check {
        name: name.to_owned(),
        failure: None,
    }
}

/// `main`'s check: passed once its body returned `Ok`; else why not (it may have ended
/// otherwise: an error, a panic).
fn main_check(tree: &Tree, returned: bool) -> Check {
    let failure = (!returned).then(|| match tree.main_ended() {
        Some(MainOutcome::Failed { .. }) => "returned an error".to_owned(),
        Some(MainOutcome::Panicked { .. }) => "panicked".to_owned(),
        Some(_) => "ended".to_owned(),
        None => "not returned yet".to_owned(),
    });
    Check {
        name: "main".to_owned(),
        failure,
    }
}

/// A check per live service of the tree (by path, parents first), failing with `failure`.
fn services(tree: &Tree, checks: &mut Vec<Check>, failure: impl Fn(&Phase) -> Option<String>) {
    let Some(root) = tree.root_node() else {
        return;
    };
    let state = crate::report::state::snapshot(&root);
    let live = state
        .nodes()
        .into_iter()
        .filter(|node| !node.path.is_empty() && !matches!(node.phase, Phase::Stopped { .. }));
    checks.extend(live.map(|node: &NodeState| Check {
        name: node.path.clone(),
        failure: failure(&node.phase),
    }));
}

/// Why a service in `phase` is not ready (`None`: it is).
fn not_ready(phase: &Phase) -> Option<String> {
    match phase {
        Phase::Ready => None,
        Phase::Starting | Phase::Running => Some("starting".to_owned()),
        Phase::Restarting {
            attempt,
            next_try_in,
        } => Some(format!(
            "restarting (attempt {attempt}, next try in {next_try_in:?})"
        )),
        Phase::Stopping { .. } | Phase::Stopped { .. } => Some("stopping".to_owned()),
    }
}

/// `status` as kube-apiserver answers it, for a request with `query`.
///
/// `status.passed` is whether every check passes (see [`status`]); an excluded check no
/// longer counts.
pub(super) fn answer(mut status: Status, query: &str) -> Answer {
    let query = Query::parse(query);
    let mut lines = String::new();
    let mut passed = true;
    for check in &status.checks {
        if query.exclude.contains(&check.name) {
            let _ = writeln!(lines, "[+]{} excluded: ok", check.name);
            continue;
        }
        match &check.failure {
            None => {
                let _ = writeln!(lines, "[+]{} ok", check.name);
            }
            Some(reason) => {
                passed = false;
                let _ = writeln!(lines, "[-]{} failed: {reason}", check.name);
            }
        }
    }
    let unmatched: Vec<String> = query
        .exclude
        .iter()
        .filter(|name| status.check(name).is_none())
        .map(|name| format!("{name:?}"))
        .collect();
    if !unmatched.is_empty() {
        let _ = writeln!(
            lines,
            "warn: some health checks cannot be excluded: no matches for {}",
            unmatched.join(",")
        );
    }
    status.passed = passed;
    let name = status.probe.name();
    let body = if !status.passed {
        // Always verbose on failure, as kube-apiserver.
        format!("{lines}{name} check failed\n")
    } else if query.verbose {
        format!("{lines}{name} check passed\n")
    } else {
        "ok".to_owned()
    };
    Answer {
        status: status.http_status(),
        body,
    }
}

/// The parameters of a probe's request.
#[derive(Debug, Default)]
struct Query {
    /// `verbose`, with any value or none (as kube-apiserver: `?verbose=false` is verbose too).
    verbose: bool,
    /// `exclude=name`, each, percent-decoded (a service's path may come as `api%2Fdb`).
    exclude: Vec<String>,
}

impl Query {
    fn parse(query: &str) -> Self {
        let mut parsed = Self::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "verbose" => parsed.verbose = true,
                "exclude" if !value.is_empty() => parsed.exclude.push(percent_decoded(value)),
                _ => {}
            }
        }
        parsed
    }
}

/// `value` with its `%XX` escapes and `+` (a space, in a query) decoded; an invalid escape
/// is kept as written.
fn percent_decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = |byte: u8| char::from(byte).to_digit(16);
        match bytes[at] {
            b'%' if at + 2 < bytes.len() => match (hex(bytes[at + 1]), hex(bytes[at + 2])) {
                (Some(high), Some(low)) => {
                    out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                    at += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_read_as_kube_apiserver_reads_it() {
        let query = Query::parse("verbose=false&exclude=api%2Fdb&exclude=a+b&exclude=%zz&other");
        assert!(query.verbose);
        assert_eq!(query.exclude, ["api/db", "a b", "%zz"]);
        assert!(!Query::parse("").verbose);
        assert_eq!(percent_decoded("100%"), "100%");
    }

    /// `main` that ended otherwise than with `Ok` is not "not returned yet" (a review found
    /// `/startupz` saying so of a `main` that had returned an error).
    #[tokio::test]
    async fn mains_check_says_how_it_ended() {
        let tree = Tree::new(
            std::time::Duration::from_secs(1),
            std::time::Duration::ZERO,
            tokio::runtime::Handle::current(),
        );
        let failure = |tree: &Tree| main_check(tree, false).failure;
        assert_eq!(failure(&tree).as_deref(), Some("not returned yet"));
        tree.set_main(MainOutcome::Failed {
            error: "\"config missing\"".into(),
        });
        assert_eq!(failure(&tree).as_deref(), Some("returned an error"));
        assert_eq!(main_check(&tree, true).failure, None);
    }
}
