//! Per-run aggregation of witness reports into per-step means, as psyche.network
//! charts them: for each step, the mean over that step's reports of the finite losses,
//! of tokens per second and of bandwidth, and per eval name the mean over the reports
//! that carry it. Bounded: the newest [`HISTORY_STEPS`] steps and [`MAX_EVAL_NAMES`]
//! distinct eval names per run (further names are dropped and counted).

use std::collections::{BTreeMap, BTreeSet};

use super::witness::WitnessReport;

/// Steps of history kept per run.
pub const HISTORY_STEPS: usize = 500;
/// Distinct eval names kept per run.
pub const MAX_EVAL_NAMES: usize = 32;

#[derive(Debug, Clone, Default)]
struct Sum {
    total: f64,
    count: u32,
}

impl Sum {
    fn add(&mut self, v: f64) {
        self.total += v;
        self.count += 1;
    }

    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.total / f64::from(self.count))
    }
}

#[derive(Debug, Clone, Default)]
struct StepSums {
    reports: u32,
    loss: Sum,
    tokens_per_sec: Sum,
    bandwidth_per_sec: Sum,
    evals: BTreeMap<String, Sum>,
    newest_block_time: Option<i64>,
}

/// One step's means.
#[derive(Debug, Clone, PartialEq)]
pub struct StepMeans {
    /// The step.
    pub step: u32,
    /// Reports averaged.
    pub reports: u32,
    /// Reports with a finite loss.
    pub finite_loss_reports: u32,
    /// Mean finite loss; none when no report had one.
    pub loss: Option<f64>,
    /// Mean tokens per second.
    pub tokens_per_second: Option<f64>,
    /// Mean bandwidth, bytes per second.
    pub bandwidth_bytes_per_second: Option<f64>,
    /// Mean score per eval name, sorted by name.
    pub evals: Vec<(String, f64)>,
    /// Block time of the newest report of the step.
    pub timestamp: Option<i64>,
}

/// A point of the loss history: step and mean finite loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryPoint {
    /// The step.
    pub step: u32,
    /// Mean finite loss, if any report had one.
    pub loss: Option<f64>,
    /// Mean tokens per second.
    pub tokens_per_second: Option<f64>,
}

/// One run's reports, by step.
#[derive(Debug, Clone, Default)]
pub struct Steps {
    steps: BTreeMap<u32, StepSums>,
    eval_names: BTreeSet<String>,
    /// Eval values dropped because the run already had [`MAX_EVAL_NAMES`] names.
    pub evals_dropped: u64,
}

impl Steps {
    /// Add one confirmed witness report from a block of `block_time`.
    pub fn add(&mut self, report: &WitnessReport, block_time: Option<i64>) {
        if self.steps.len() >= HISTORY_STEPS
            && !self.steps.contains_key(&report.step)
            && self
                .steps
                .first_key_value()
                .is_some_and(|(oldest, _)| report.step < *oldest)
        {
            return; // older than everything kept
        }
        let sums = self.steps.entry(report.step).or_default();
        sums.reports += 1;
        if report.loss.is_finite() {
            sums.loss.add(f64::from(report.loss));
        }
        sums.tokens_per_sec.add(f64::from(report.tokens_per_sec));
        sums.bandwidth_per_sec
            .add(f64::from(report.bandwidth_per_sec));
        for (name, value) in &report.evals {
            if !self.eval_names.contains(name) {
                if self.eval_names.len() >= MAX_EVAL_NAMES {
                    self.evals_dropped += 1;
                    continue;
                }
                self.eval_names.insert(name.clone());
            }
            sums.evals
                .entry(name.clone())
                .or_default()
                .add(f64::from(*value));
        }
        sums.newest_block_time = sums.newest_block_time.max(block_time);
        while self.steps.len() > HISTORY_STEPS {
            self.steps.pop_first();
        }
    }

    /// The newest step with at least one report.
    pub fn newest_step(&self) -> Option<u32> {
        self.steps.keys().next_back().copied()
    }

    /// The means of the newest step.
    pub fn latest(&self) -> Option<StepMeans> {
        let (step, s) = self.steps.last_key_value()?;
        Some(StepMeans {
            step: *step,
            reports: s.reports,
            finite_loss_reports: s.loss.count,
            loss: s.loss.mean(),
            tokens_per_second: s.tokens_per_sec.mean(),
            bandwidth_bytes_per_second: s.bandwidth_per_sec.mean(),
            evals: s
                .evals
                .iter()
                .filter_map(|(name, sum)| Some((name.clone(), sum.mean()?)))
                .collect(),
            timestamp: s.newest_block_time,
        })
    }

    /// Per-step means of every kept step, oldest first.
    pub fn history(&self) -> Vec<HistoryPoint> {
        self.steps
            .iter()
            .map(|(step, s)| HistoryPoint {
                step: *step,
                loss: s.loss.mean(),
                tokens_per_second: s.tokens_per_sec.mean(),
            })
            .collect()
    }

    /// Whether nothing was reported yet.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(step: u32, loss: f32, tps: f32, evals: &[(&str, f32)]) -> WitnessReport {
        WitnessReport {
            step,
            tokens_per_sec: tps,
            bandwidth_per_sec: tps * 10.0,
            loss,
            evals: evals.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect(),
            efficiency: 1.0,
        }
    }

    #[test]
    fn means_over_the_newest_step() {
        let mut s = Steps::default();
        s.add(&report(9, 3.0, 100.0, &[]), Some(10));
        s.add(&report(10, 2.0, 100.0, &[("a", 0.5)]), Some(20));
        s.add(&report(10, f32::INFINITY, 200.0, &[("b", 1.0)]), Some(22));
        s.add(&report(10, 3.0, 300.0, &[("a", 1.0)]), Some(21));
        let l = s.latest().unwrap();
        assert_eq!(l.step, 10);
        assert_eq!(l.reports, 3);
        assert_eq!(l.finite_loss_reports, 2);
        assert_eq!(l.loss, Some(2.5));
        assert_eq!(l.tokens_per_second, Some(200.0));
        assert_eq!(l.bandwidth_bytes_per_second, Some(2000.0));
        assert_eq!(l.evals, [("a".to_owned(), 0.75), ("b".to_owned(), 1.0)]);
        assert_eq!(l.timestamp, Some(22));
        assert_eq!(s.history().len(), 2);
    }

    #[test]
    fn a_step_without_finite_loss_has_no_loss() {
        let mut s = Steps::default();
        s.add(&report(1, f32::INFINITY, 1.0, &[]), None);
        let l = s.latest().unwrap();
        assert_eq!((l.reports, l.finite_loss_reports, l.loss), (1, 0, None));
    }

    #[test]
    fn bounded_history_and_eval_names() {
        let mut s = Steps::default();
        for step in 0..(HISTORY_STEPS as u32 + 100) {
            s.add(&report(step, 1.0, 1.0, &[]), None);
        }
        assert_eq!(s.history().len(), HISTORY_STEPS);
        assert_eq!(s.history()[0].step, 100);
        s.add(&report(5, 1.0, 1.0, &[]), None);
        assert_eq!(
            s.history()[0].step,
            100,
            "a step older than the window is dropped"
        );
        let names: Vec<String> = (0..40).map(|i| format!("e{i:02}")).collect();
        for chunk in names.chunks(8) {
            let evals: Vec<(&str, f32)> = chunk.iter().map(|n| (n.as_str(), 1.0)).collect();
            s.add(&report(1000, 1.0, 1.0, &evals), None);
        }
        assert_eq!(s.latest().unwrap().evals.len(), MAX_EVAL_NAMES);
        assert_eq!(s.evals_dropped, 8);
    }
}
