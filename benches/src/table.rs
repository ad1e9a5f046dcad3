//! The results of a run, their medians and ratios, and the table.
//!
//! The table has one row per (workload, contender), grouped by workload, one table per
//! allocator. A workload has rows only for the contenders that take part in it
//! ([`Contender::supports`]: the http workload has four).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::contenders::{Contender, Unit, Workload};
use crate::Allocator;

/// canstop's targets from the performance issue (15), as ratios to the baseline of the same
/// run.
pub(crate) const SPAWN_TARGET: f64 = 1.00;
pub(crate) const CHURN_TARGET: f64 = 1.05;
/// canstop's shutdown, as a ratio to raw tokio's of the same run.
pub(crate) const SHUTDOWN_TARGET: f64 = 1.00;
/// canstop's extra memory per session over the baseline, in bytes.
pub(crate) const MEMORY_TARGET: f64 = 24.0;
/// canstop's http throughput (`canstop::http::serve`), as a ratio to `axum::serve`'s with the
/// same router (higher is better; issue 14).
pub(crate) const HTTP_TARGET: f64 = 0.99;
/// canstop's service start + stop cycle, in nanoseconds.
pub(crate) const SERVICE_CYCLE_TARGET: f64 = 2_000.0;
/// canstop's service cycle, as a ratio to tokio-graceful-shutdown's of the same run.
pub(crate) const SERVICE_VS_TGS_TARGET: f64 = 0.10;
/// canstop's resident-set growth per service cycle over the second half of the cycles, in
/// bytes: "retains nothing" (a bounded amount whatever n). Anything a cycle kept would be an
/// allocation of 8 bytes or more; the resident set moves by whole pages, a few of them over
/// the 50 000 cycles of the second half at the default n: 2 B/cycle is 100 kB there.
pub(crate) const SERVICE_RETAINED_TARGET: f64 = 2.0;

type Key = (Allocator, Workload, Contender);

/// Where a value was measured: its run, and its round within the run (always 0 but for the
/// http workload under wrk or h2load, whose child measures its servers in rounds).
type Sample = (usize, usize);

/// Every measurement of a run: for each key, its values by sample (none where it failed).
#[derive(Debug, Default)]
pub(crate) struct Results {
    values: BTreeMap<Key, BTreeMap<Sample, f64>>,
}

impl Results {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The one value of `key` in `run`.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, key: Key, run: usize, value: f64) {
        self.insert_rounds(key, run, &[value]);
    }

    /// The values of `key` in `run`, one per round.
    pub(crate) fn insert_rounds(&mut self, key: Key, run: usize, values: &[f64]) {
        let samples = self.values.entry(key).or_default();
        for (round, &value) in values.iter().enumerate() {
            samples.insert((run, round), value);
        }
    }

    fn values(&self, key: Key) -> Vec<f64> {
        self.values
            .get(&key)
            .map(|samples| samples.values().copied().collect())
            .unwrap_or_default()
    }

    /// `f(value, other)` for every sample (run and round) where both were measured.
    fn paired(&self, key: Key, other: Key, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
        let (Some(mine), Some(theirs)) = (self.values.get(&key), self.values.get(&other)) else {
            return Vec::new();
        };
        mine.iter()
            .filter_map(|(sample, &mine)| theirs.get(sample).map(|&theirs| f(mine, theirs)))
            .collect()
    }

    /// The median over samples (runs, and rounds within them) of this key's value divided
    /// by `other`'s in the same sample.
    fn ratio(&self, key: Key, other: Key) -> Option<f64> {
        median(self.paired(key, other, |mine, theirs| mine / theirs))
    }

    /// The spread of the paired ratios behind [`Self::ratio`]: canstop's http server to
    /// axum::serve's, one line per allocator, with their quartiles and count (the table shows
    /// their median).
    pub(crate) fn http_spread(&self) -> String {
        let mut out = String::new();
        for allocator in Allocator::ALL {
            let key = |contender| (allocator, Workload::Http, contender);
            let mut ratios = self.paired(
                key(Contender::CanstopMacro),
                key(Contender::AXUM),
                |a, b| a / b,
            );
            if ratios.is_empty() {
                continue;
            }
            ratios.sort_by(f64::total_cmp);
            let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
            let _ = writeln!(
                out,
                "http, {}: canstop::http::serve / axum::serve, {} paired samples: median \
                 {:.3}x, quartiles {:.3}x … {:.3}x, min … max {:.3}x … {:.3}x",
                allocator.id(),
                ratios.len(),
                median(ratios.clone()).unwrap_or(f64::NAN),
                at(0.25),
                at(0.75),
                at(0.0),
                at(1.0),
            );
        }
        out
    }

    /// The median over samples of this key's value minus `other`'s in the same sample.
    fn difference(&self, key: Key, other: Key) -> Option<f64> {
        median(self.paired(key, other, |mine, theirs| mine - theirs))
    }

    /// The table, in Markdown, one per allocator that has results.
    pub(crate) fn render(&self, workloads: &[Workload], contenders: &[Contender]) -> String {
        let mut out = String::new();
        for allocator in Allocator::ALL {
            if !self.values.keys().any(|key| key.0 == allocator) {
                continue;
            }
            let mode = if crate::production::enabled() {
                ", production mode (a subscriber at INFO, a metrics recorder, canstop's health endpoints and metrics export)"
            } else {
                ""
            };
            let _ = writeln!(out, "\n### {} allocator{mode}\n", allocator.id());
            let _ = writeln!(
                out,
                "| workload | contender | median | min … max | vs {} | target |",
                Contender::BASELINE.label()
            );
            let _ = writeln!(out, "|---|---|--:|--:|--:|---|");
            for &workload in workloads {
                for &contender in contenders {
                    if !contender.supports(workload) {
                        continue;
                    }
                    let key = (allocator, workload, contender);
                    let _ = writeln!(out, "{}", self.row(key));
                }
            }
        }
        out
    }

    fn row(&self, key: Key) -> String {
        let (allocator, workload, contender) = key;
        let values = self.values(key);
        let shown = |value: f64| format_value(workload, value);
        let (median_cell, spread) = match (median(values.clone()), min_max(&values)) {
            (Some(median), Some((min, max))) => {
                (shown(median), format!("{} … {}", shown(min), shown(max)))
            }
            _ => ("failed".to_owned(), String::new()),
        };
        let baseline = (allocator, workload, Contender::BASELINE);
        let ratio = self.ratio(key, baseline);
        // The http target sits at 0.99x: a third decimal shows which side a ratio is on.
        let decimals = if workload == Workload::Http { 3 } else { 2 };
        let mut versus =
            ratio.map_or_else(|| "n/a".to_owned(), |ratio| format!("{ratio:.decimals$}x"));
        let difference = self.difference(key, baseline);
        if workload == Workload::Memory {
            if let Some(difference) = difference {
                let _ = write!(versus, " ({difference:+.0} B)");
            }
        }
        if workload == Workload::Restart {
            // No baseline restarts: the reference is the hand-written floor.
            versus = self
                .ratio(key, (allocator, workload, Contender::FLOOR))
                .map_or_else(|| "n/a".to_owned(), |ratio| format!("{ratio:.2}x floor"));
        }
        if workload == Workload::ServiceRetained {
            // Both are near zero: their ratio means nothing, their difference does.
            versus = difference.map_or_else(
                || "n/a".to_owned(),
                |difference| format!("{difference:+.2} B"),
            );
        }
        let target = if contender.is_canstop() {
            self.target(key, ratio, difference)
        } else {
            String::new()
        };
        format!(
            "| {} | {} | {median_cell} | {spread} | {versus} | {target} |",
            workload.id(),
            contender.label_in(workload),
        )
    }

    fn target(&self, key: Key, ratio: Option<f64>, difference: Option<f64>) -> String {
        let (allocator, workload, _) = key;
        let verdict = |ok: bool| if ok { "ok" } else { "**missed**" };
        match workload {
            Workload::Spawn | Workload::Churn => {
                let target = if workload == Workload::Spawn {
                    SPAWN_TARGET
                } else {
                    CHURN_TARGET
                };
                match ratio {
                    Some(ratio) => format!("≤ {target:.2}x: {}", verdict(ratio <= target)),
                    None => format!("≤ {target:.2}x: n/a"),
                }
            }
            Workload::Shutdown => match self.ratio(key, (allocator, workload, Contender::RAW)) {
                Some(ratio) => format!(
                    "≤ raw tokio: {ratio:.2}x raw, {}",
                    verdict(ratio <= SHUTDOWN_TARGET)
                ),
                None => "≤ raw tokio: n/a".to_owned(),
            },
            Workload::Memory => match difference {
                Some(difference) => format!(
                    "≤ +{MEMORY_TARGET:.0} B: {}",
                    verdict(difference <= MEMORY_TARGET)
                ),
                None => format!("≤ +{MEMORY_TARGET:.0} B: n/a"),
            },
            Workload::Http => match self.ratio(key, (allocator, workload, Contender::AXUM)) {
                Some(ratio) => format!(
                    "≥ {HTTP_TARGET:.2}x axum::serve: {ratio:.3}x axum, {}",
                    verdict(ratio >= HTTP_TARGET)
                ),
                None => format!("≥ {HTTP_TARGET:.2}x axum::serve: n/a"),
            },
            Workload::ServiceChurn => {
                let target = format!(
                    "≤ {} and ≤ {SERVICE_VS_TGS_TARGET:.2}x tgs",
                    format_cycle(SERVICE_CYCLE_TARGET)
                );
                let tgs = self.ratio(key, (allocator, workload, Contender::TGS));
                match (median(self.values(key)), tgs) {
                    (Some(cycle), Some(tgs)) => format!(
                        "{target}: {tgs:.3}x tgs, {}",
                        verdict(cycle <= SERVICE_CYCLE_TARGET && tgs <= SERVICE_VS_TGS_TARGET)
                    ),
                    _ => format!("{target}: n/a"),
                }
            }
            // Issue 11, item 7 asks for it to be measured and stated, with no bound.
            Workload::Restart => "none: measured".to_owned(),
            Workload::ServiceRetained => match median(self.values(key)) {
                Some(retained) => format!(
                    "≤ {SERVICE_RETAINED_TARGET:.0} B/cycle: {}",
                    verdict(retained <= SERVICE_RETAINED_TARGET)
                ),
                None => format!("≤ {SERVICE_RETAINED_TARGET:.0} B/cycle: n/a"),
            },
        }
    }
}

fn format_value(workload: Workload, value: f64) -> String {
    match workload.unit() {
        Unit::Nanos => format_nanos(value),
        Unit::BytesPerTask => format!("{value:.0} B/task"),
        Unit::RequestsPerSec => format!("{value:.0} req/s"),
        Unit::NanosPerCycle => format_cycle(value),
        Unit::BytesPerCycle => format!("{value:.2} B/cycle"),
        Unit::NanosPerRestart => format_cycle(value),
    }
}

/// A time per cycle (or per restart): two decimals of a microsecond, for the 2 µs target.
fn format_cycle(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2} ms", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.2} µs", value / 1e3)
    } else {
        format!("{value:.0} ns")
    }
}

fn format_nanos(value: f64) -> String {
    let millis = value / 1e6;
    if millis >= 100.0 {
        format!("{millis:.0} ms")
    } else if millis >= 1.0 {
        format!("{millis:.2} ms")
    } else if value >= 1e3 {
        format!("{:.1} µs", value / 1e3)
    } else {
        format!("{value:.0} ns")
    }
}

/// The median (the mean of the middle two for an even count); `None` when empty.
pub(crate) fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    })
}

fn min_max(values: &[f64]) -> Option<(f64, f64)> {
    let min = values.iter().copied().min_by(f64::total_cmp)?;
    let max = values.iter().copied().max_by(f64::total_cmp)?;
    Some((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0]), Some(3.0));
        assert_eq!(median(vec![5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn ratios_pair_runs() {
        let mut results = Results::new();
        let system = Allocator::System;
        let base = (system, Workload::Spawn, Contender::BASELINE);
        let canstop = (system, Workload::Spawn, Contender::CanstopRoot);
        for (run, (b, c)) in [(10e3, 11e3), (20e3, 20e3), (40e3, 60e3)]
            .into_iter()
            .enumerate()
        {
            results.insert(base, run, b);
            results.insert(canstop, run, c);
        }
        // Per-run ratios 1.1, 1.0, 1.5: the median is 1.1, not 91/70.
        assert_eq!(results.ratio(canstop, base), Some(1.1));
        let table = results.render(
            &[Workload::Spawn],
            &[Contender::BASELINE, Contender::CanstopRoot],
        );
        assert!(
            table.contains("| spawn | canstop runtime API, root scope | 20.0 µs |"),
            "{table}"
        );
        assert!(table.contains("≤ 1.00x: **missed**"), "{table}");
    }

    #[test]
    fn memory_shows_the_difference() {
        let mut results = Results::new();
        let system = Allocator::System;
        results.insert((system, Workload::Memory, Contender::BASELINE), 0, 300.0);
        results.insert((system, Workload::Memory, Contender::CanstopRoot), 0, 400.0);
        let table = results.render(
            &[Workload::Memory],
            &[Contender::BASELINE, Contender::CanstopRoot],
        );
        assert!(table.contains("1.33x (+100 B)"), "{table}");
        assert!(table.contains("≤ +24 B: **missed**"), "{table}");
    }

    #[test]
    fn service_cycles_compare_with_tgs() {
        let mut results = Results::new();
        let system = Allocator::System;
        let churn = |contender| (system, Workload::ServiceChurn, contender);
        results.insert(churn(Contender::BASELINE), 0, 1_000.0);
        results.insert(churn(Contender::TGS), 0, 20_000.0);
        results.insert(churn(Contender::CanstopRoot), 0, 1_800.0);
        results.insert(churn(Contender::CanstopService), 0, 2_500.0);
        let retained = |contender| (system, Workload::ServiceRetained, contender);
        results.insert(retained(Contender::BASELINE), 0, 0.25);
        results.insert(retained(Contender::CanstopRoot), 0, 40.0);
        let contenders = [
            Contender::BASELINE,
            Contender::TgsTracker,
            Contender::TGS,
            Contender::CanstopRoot,
            Contender::CanstopService,
        ];
        let table = results.render(
            &[Workload::ServiceChurn, Workload::ServiceRetained],
            &contenders,
        );
        assert!(
            table.contains(
                "| service-churn | canstop runtime API, root scope | 1.80 µs | 1.80 µs … 1.80 µs \
                 | 1.80x | ≤ 2.00 µs and ≤ 0.10x tgs: 0.090x tgs, ok |"
            ),
            "{table}"
        );
        // 2.5 µs and 0.125x tgs: both miss.
        assert!(table.contains("0.125x tgs, **missed**"), "{table}");
        assert!(
            table.contains("| 40.00 B/cycle | 40.00 B/cycle … 40.00 B/cycle | +39.75 B |"),
            "{table}"
        );
        assert!(table.contains("≤ 2 B/cycle: **missed**"), "{table}");
        // No service to cycle in a tracker inside one subsystem.
        assert!(!table.contains("tracker in 1 subsystem"), "{table}");
    }

    #[test]
    fn restarts_compare_with_the_floor() {
        let mut results = Results::new();
        let system = Allocator::System;
        let restart = |contender| (system, Workload::Restart, contender);
        for (run, (floor, canstop)) in [(40.0, 1_200.0), (50.0, 1_400.0)].into_iter().enumerate() {
            results.insert(restart(Contender::FLOOR), run, floor);
            results.insert(restart(Contender::CanstopRoot), run, canstop);
        }
        let contenders = [
            Contender::BASELINE,
            Contender::TGS,
            Contender::CanstopRoot,
            Contender::FLOOR,
        ];
        let table = results.render(&[Workload::Restart], &contenders);
        // Per-run ratios 30 and 28: the median is 29.
        assert!(
            table.contains(
                "| restart | canstop runtime API, root scope | 1.30 µs | 1.20 µs … 1.40 µs \
                 | 29.00x floor | none: measured |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| restart | hand-written restart loop (floor) | 45 ns | 40 ns … 50 ns | 1.00x floor |  |"),
            "{table}"
        );
        // Nothing else restarts.
        assert!(!table.contains("| restart | TaskTracker"), "{table}");
        assert!(
            !table.contains("| restart | tokio-graceful-shutdown"),
            "{table}"
        );
        // The macro's row says what it is here; a tick-bound restart reads in milliseconds.
        results.insert(restart(Contender::CanstopMacro), 0, 1_100_000.0);
        let table = results.render(&[Workload::Restart], &[Contender::CanstopMacro]);
        assert!(
            table.contains("| restart | canstop #[service(restart = ..)], root scope | 1.10 ms |"),
            "{table}"
        );
    }

    #[test]
    fn http_is_higher_is_better_and_skips_the_others() {
        let mut results = Results::new();
        let system = Allocator::System;
        let base = (system, Workload::Http, Contender::BASELINE);
        let axum = (system, Workload::Http, Contender::AXUM);
        let canstop = (system, Workload::Http, Contender::CanstopMacro);
        for (run, (b, a, c)) in [
            (40_000.0, 40_000.0, 39_000.0),
            (50_000.0, 50_000.0, 48_000.0),
        ]
        .into_iter()
        .enumerate()
        {
            results.insert(base, run, b);
            results.insert(axum, run, a);
            results.insert(canstop, run, c);
        }
        let contenders = [
            Contender::BASELINE,
            Contender::TgsTracker,
            Contender::CanstopRoot,
            Contender::CanstopMacro,
            Contender::AXUM,
        ];
        let table = results.render(&[Workload::Http], &contenders);
        assert!(
            table.contains("| http | canstop #[session] in a #[service] | 43500 req/s |"),
            "{table}"
        );
        // Per-run ratios 0.975 and 0.96: the median is 0.9675, under 0.99.
        assert!(
            table.contains("| 0.968x | ≥ 0.99x axum::serve: 0.968x axum, **missed** |"),
            "{table}"
        );
        assert!(
            table.contains("| http | axum::serve | 45000 req/s |"),
            "{table}"
        );
        assert!(!table.contains("tokio-graceful"), "{table}");
        assert!(!table.contains("runtime API"), "{table}");
        assert!(!table.contains("n/a"), "{table}");
    }

    #[test]
    fn rounds_pair_within_their_run() {
        let mut results = Results::new();
        let system = Allocator::System;
        let axum = (system, Workload::Http, Contender::AXUM);
        let canstop = (system, Workload::Http, Contender::CanstopMacro);
        // Two runs of three rounds; the drift moves both servers of a round together.
        results.insert_rounds(axum, 0, &[100.0, 200.0, 150.0]);
        results.insert_rounds(canstop, 0, &[101.0, 198.0, 150.0]);
        results.insert_rounds(axum, 1, &[120.0, 80.0, 100.0]);
        results.insert_rounds(canstop, 1, &[120.0, 79.2, 102.0]);
        // Ratios 1.01, 0.99, 1.00, 1.00, 0.99, 1.02: the median is 1.00; the rates' medians
        // are of the six rounds each.
        let table = results.render(&[Workload::Http], &[Contender::CanstopMacro]);
        assert!(
            table.contains(
                "| http | canstop #[session] in a #[service] | 111 req/s | 79 req/s … 198 req/s \
                 | n/a | ≥ 0.99x axum::serve: 1.000x axum, ok |"
            ),
            "{table}"
        );
        let spread = results.http_spread();
        assert!(
            spread.contains(
                "http, system: canstop::http::serve / axum::serve, 6 paired samples: median \
                 1.000x, quartiles 0.990x … 1.010x, min … max 0.990x … 1.020x"
            ),
            "{spread}"
        );
        // A round that failed for one of them pairs with nothing.
        results.insert_rounds(canstop, 2, &[50.0]);
        assert_eq!(results.ratio(canstop, axum), Some(1.0));
    }
}
