//! Values computed from decoded data, following Psyche's own helpers (batch-size ramp,
//! token counts, witness quorum, round ring navigation, learning-rate schedules) and the
//! client-list summaries.

use std::f64::consts::PI;

use super::layout::NUM_STORED_ROUNDS;
use super::model::LrSchedule;
use super::types::{
    ClientState, ClientStateCounts, Config, EpochClient, RegisteredClient, Round, Run, RunDetail,
    RunState,
};

/// Psyche's `WITNESS_QUORUM_RAIO`; kept as the same rounded constant so `n * ratio`
/// floors exactly as on chain (`n * 2 / 3` can differ in the last bit).
const WITNESS_QUORUM_RATIO: f64 = 2.0 / 3.0;

impl Config {
    /// Sequences per step after `tokens_processed` tokens, exactly as Psyche's
    /// `CoordinatorConfig::get_batch_size` computes it (f64, rounded, saturating to u16).
    pub fn batch_size(&self, tokens_processed: u64) -> u16 {
        if tokens_processed >= self.global_batch_size_warmup_tokens {
            return self.global_batch_size_end;
        }
        let progress = tokens_processed as f64 / self.global_batch_size_warmup_tokens as f64;
        let start = f64::from(self.global_batch_size_start);
        let end = f64::from(self.global_batch_size_end);
        (start + (end - start) * progress).round() as u16
    }

    /// Sequences consumed by `steps` steps from data index 0, following the batch-size ramp
    /// step by step (the website's `calculateTokens` recurrence, in sequences).
    ///
    /// Stepping one by one costs up to 4·10⁹ iterations for absurd configs, so each run of
    /// steps that share a batch size is skipped with a binary search. That is exact because
    /// the batch size is monotone in the token count.
    pub fn sequences_after_steps(&self, max_seq_len: u32, steps: u64) -> u64 {
        let seq_len = u64::from(max_seq_len);
        let tokens = |data_index: u64| data_index.saturating_mul(seq_len);
        let mut data_index = 0u64;
        let mut done = 0u64;
        while done < steps {
            let remaining = steps - done;
            if tokens(data_index) >= self.global_batch_size_warmup_tokens {
                let end = u64::from(self.global_batch_size_end);
                return data_index.saturating_add(remaining.saturating_mul(end));
            }
            let size = self.batch_size(tokens(data_index));
            if size == 0 {
                // Nothing advances, so the data index is a fixed point.
                return data_index;
            }
            let size = u64::from(size);
            let same = |extra: u64| {
                let at = data_index.saturating_add(extra.saturating_mul(size));
                u64::from(self.batch_size(tokens(at))) == size
            };
            // Largest m < remaining with same(m): steps 0..=m all use `size`.
            let (mut good, mut bad) = (0u64, remaining);
            while bad - good > 1 {
                let mid = good + (bad - good) / 2;
                if same(mid) {
                    good = mid;
                } else {
                    bad = mid;
                }
            }
            let run = good + 1;
            data_index = data_index.saturating_add(run.saturating_mul(size));
            done += run;
        }
        data_index
    }
}

/// Linear warmup from `init` at step 0 towards `base` at `warmup_steps` (every schedule's
/// first phase; only called with `step < warmup_steps`, so the divisor is not 0).
fn warmup_lr(init: f64, base: f64, step: u32, warmup_steps: u32) -> f64 {
    init + (base - init) * (f64::from(step) / f64::from(warmup_steps))
}

/// Half a cosine from `peak` (progress 0) down to `floor` (progress 1).
fn cosine_lr(floor: f64, peak: f64, progress: f64) -> f64 {
    let decay = 0.5 * (1.0 + (PI * progress).cos());
    floor + (peak - floor) * decay
}

impl LrSchedule {
    /// The learning rate at `step`, computed as Psyche's `LearningRateSchedule::get_lr`
    /// (`shared/core/src/definitions.rs` at `0bdb13d9`; the formulas are unchanged since
    /// `7af9aad2`, which gave WarmupStableDecay its current fields): the same f64
    /// operations in the same order, so the result is the same bits given the same `cos`.
    ///
    /// Phases (w = warmup_steps; every schedule first ramps linearly from
    /// warmup_init_lr at step 0 to base_lr at w):
    /// - Constant: base_lr from w on.
    /// - Linear: from base_lr at w straight to final_lr at total_steps, then final_lr.
    /// - Cosine: final_lr + (base_lr − final_lr)·½(1 + cos(π·(step − w)/(total_steps − w)))
    ///   from w on. Psyche does not clamp it: past total_steps the cosine rises again, and
    ///   so does this value.
    /// - WarmupStableDecay: base_lr for stable_steps, a half cosine from base_lr to
    ///   cosine_decay_final_lr over cosine_decay_steps, a straight line down to
    ///   linear_decay_final_lr over linear_decay_steps, then linear_decay_final_lr.
    ///
    /// `None` where Psyche gives no learning rate: a tag this decoder does not know; a
    /// WarmupStableDecay whose final LRs are not base_lr ≥ cosine_decay_final_lr ≥
    /// linear_decay_final_lr (Psyche asserts that at every step, so it panics; NaN fails
    /// it too); a step sum or difference that leaves u32 (Psyche's u32 arithmetic panics
    /// there in a debug build and wraps to a meaningless value in a release build; only a
    /// Cosine with total_steps < warmup_steps or a WarmupStableDecay whose phases add up
    /// past u32::MAX can get there); and any non-finite result (a Cosine with total_steps =
    /// warmup_steps divides by 0 from step w on, giving NaN; NaN or infinite parameters).
    /// Divisions by a zero warmup or decay length never happen: those phases are empty.
    pub fn lr_at(&self, step: u32) -> Option<f64> {
        let lr = match *self {
            LrSchedule::Constant {
                base_lr,
                warmup_init_lr,
                warmup_steps,
            } => {
                if step < warmup_steps {
                    warmup_lr(warmup_init_lr, base_lr, step, warmup_steps)
                } else {
                    base_lr
                }
            }
            LrSchedule::Linear {
                base_lr,
                warmup_init_lr,
                final_lr,
                warmup_steps,
                total_steps,
            } => {
                if step < warmup_steps {
                    warmup_lr(warmup_init_lr, base_lr, step, warmup_steps)
                } else if step < total_steps {
                    // warmup_steps ≤ step < total_steps: neither difference underflows.
                    let done = f64::from(step - warmup_steps);
                    let span = f64::from(total_steps - warmup_steps);
                    base_lr + (final_lr - base_lr) * (done / span)
                } else {
                    final_lr
                }
            }
            LrSchedule::Cosine {
                base_lr,
                warmup_init_lr,
                final_lr,
                warmup_steps,
                total_steps,
            } => {
                if step < warmup_steps {
                    warmup_lr(warmup_init_lr, base_lr, step, warmup_steps)
                } else {
                    let span = total_steps.checked_sub(warmup_steps)?;
                    let progress = f64::from(step - warmup_steps) / f64::from(span);
                    cosine_lr(final_lr, base_lr, progress)
                }
            }
            LrSchedule::WarmupStableDecay {
                base_lr,
                warmup_init_lr,
                cosine_decay_final_lr,
                linear_decay_final_lr,
                warmup_steps,
                stable_steps,
                cosine_decay_steps,
                linear_decay_steps,
            } => {
                let ordered = cosine_decay_final_lr <= base_lr
                    && linear_decay_final_lr <= cosine_decay_final_lr;
                if !ordered {
                    return None;
                }
                // Each phase end is summed only once the step has reached it, as in
                // Psyche's chain of comparisons, so a sum overflows exactly where
                // Psyche's would.
                'phase: {
                    if step < warmup_steps {
                        break 'phase warmup_lr(warmup_init_lr, base_lr, step, warmup_steps);
                    }
                    let cosine_start = stable_steps.checked_add(warmup_steps)?;
                    if step < cosine_start {
                        break 'phase base_lr;
                    }
                    let cosine_end = cosine_start.checked_add(cosine_decay_steps)?;
                    if step < cosine_end {
                        let progress =
                            f64::from(step - cosine_start) / f64::from(cosine_decay_steps);
                        break 'phase cosine_lr(cosine_decay_final_lr, base_lr, progress);
                    }
                    let linear_end = cosine_end.checked_add(linear_decay_steps)?;
                    if step < linear_end {
                        let done = f64::from(step - cosine_end) / f64::from(linear_decay_steps);
                        break 'phase cosine_decay_final_lr
                            - (cosine_decay_final_lr - linear_decay_final_lr) * done;
                    }
                    linear_decay_final_lr
                }
            }
            LrSchedule::Unknown(_) => return None,
        };
        Some(lr).filter(|lr| lr.is_finite())
    }
}

impl ClientStateCounts {
    /// Counts the states of `clients`.
    pub fn of(clients: &[EpochClient]) -> Self {
        let mut counts = Self::default();
        for client in clients {
            let slot = match client.state {
                ClientState::Healthy => &mut counts.healthy,
                ClientState::Dropped => &mut counts.dropped,
                ClientState::Withdrawn => &mut counts.withdrawn,
                ClientState::Ejected => &mut counts.ejected,
                ClientState::Unknown(_) => &mut counts.unknown,
            };
            *slot += 1;
        }
        counts
    }

    /// The count for one state (`Unknown(_)` gives the unknown count).
    pub fn get(&self, state: ClientState) -> u64 {
        match state {
            ClientState::Healthy => self.healthy,
            ClientState::Dropped => self.dropped,
            ClientState::Withdrawn => self.withdrawn,
            ClientState::Ejected => self.ejected,
            ClientState::Unknown(_) => self.unknown,
        }
    }
}

impl RunDetail {
    /// Builds the detail and its summaries from the three lists.
    pub fn new(
        epoch_clients: Vec<EpochClient>,
        exited_clients: Vec<EpochClient>,
        registered_clients: Vec<RegisteredClient>,
        next_active: u64,
    ) -> Self {
        let pending_clients = registered_clients
            .iter()
            .filter(|c| c.active == next_active)
            .count() as u64;
        let earned_sum = registered_clients
            .iter()
            .fold(0u64, |sum, c| sum.saturating_add(c.earned));
        let slashed_sum = registered_clients
            .iter()
            .fold(0u64, |sum, c| sum.saturating_add(c.slashed));
        Self {
            epoch_clients_by_state: ClientStateCounts::of(&epoch_clients),
            exited_clients_by_state: ClientStateCounts::of(&exited_clients),
            epoch_clients,
            exited_clients,
            registered_clients,
            pending_clients,
            earned_sum,
            slashed_sum,
        }
    }
}

impl Run {
    /// `rounds[rounds_head]`, or `None` if the head is out of range (Psyche's `current_round`).
    pub fn current_round(&self) -> Option<&Round> {
        self.rounds.get(self.epoch.rounds_head as usize)
    }

    /// Psyche's `previous_round`: none before the epoch's second round.
    pub fn previous_round(&self) -> Option<&Round> {
        let current = self.current_round()?;
        match self.epoch.rounds_head {
            0 if current.height == 0 => None,
            0 => self.rounds.get(NUM_STORED_ROUNDS - 1),
            head => self.rounds.get(head as usize - 1),
        }
    }

    /// Psyche's `previous_previous_round`.
    pub fn previous_previous_round(&self) -> Option<&Round> {
        let current = self.current_round()?;
        match self.epoch.rounds_head {
            0 if current.height <= 1 => None,
            0 => self.rounds.get(NUM_STORED_ROUNDS - 2),
            1 => self.rounds.get(NUM_STORED_ROUNDS - 1),
            head => self.rounds.get(head as usize - 2),
        }
    }

    /// Uninitialized, Finished or Paused: no transaction can move the run (`halted`).
    pub fn halted(&self) -> bool {
        matches!(
            self.state,
            RunState::Uninitialized | RunState::Finished | RunState::Paused
        )
    }

    /// RoundTrain, RoundWitness or Cooldown (Psyche's `active`: not halted, not
    /// WaitingForMembers, not Warmup). Unknown states are neither halted nor active.
    pub fn active(&self) -> bool {
        matches!(
            self.state,
            RunState::RoundTrain | RunState::RoundWitness | RunState::Cooldown
        )
    }

    /// The run is paused.
    pub fn paused(&self) -> bool {
        self.state == RunState::Paused
    }

    /// The run is finished.
    pub fn finished(&self) -> bool {
        self.state == RunState::Finished
    }

    /// Tokens per sequence (`get_sequence_length`); 0 for an unknown model.
    pub fn sequence_length(&self) -> u32 {
        self.model.llm().map_or(0, |llm| llm.max_seq_len)
    }

    /// Steps completed: step − 1.
    pub fn completed_steps(&self) -> u32 {
        self.progress.step.saturating_sub(1)
    }

    /// Tokens before `round` starts (`total_tokens_processed`): its data_index, or
    /// `epoch_start_data_index` for `None`, times the sequence length.
    pub fn total_tokens_processed_at(&self, round: Option<&Round>) -> u64 {
        let data_index = round.map_or(self.progress.epoch_start_data_index, |r| r.data_index);
        data_index.saturating_mul(u64::from(self.sequence_length()))
    }

    /// Psyche's `total_tokens_processed(current_round())`.
    pub fn total_tokens_processed(&self) -> u64 {
        self.total_tokens_processed_at(self.current_round())
    }

    /// Psyche's `get_target_global_batch_size(round)`.
    pub fn target_global_batch_size_at(&self, round: Option<&Round>) -> u16 {
        self.config
            .batch_size(self.total_tokens_processed_at(round))
    }

    /// Sequences in the current step, ramp included
    /// (`get_target_global_batch_size(current_round())`).
    pub fn target_global_batch_size(&self) -> u16 {
        self.target_global_batch_size_at(self.current_round())
    }

    /// Tokens in the current step: batch size × sequence length.
    pub fn tokens_per_step(&self) -> u64 {
        u64::from(self.target_global_batch_size()) * u64::from(self.sequence_length())
    }

    /// Tokens trained so far: the larger of the current round's and the epoch's start data
    /// index, times the sequence length.
    ///
    /// Psyche's own `total_tokens_processed` reads the current round, which is zeroed from
    /// the start of an epoch until its first round (and stale in WaitingForMembers), so on
    /// its own it would make a counter drop to 0 at every epoch boundary.
    pub fn tokens_trained(&self) -> u64 {
        let round = self.current_round().map_or(0, |r| r.data_index);
        round
            .max(self.progress.epoch_start_data_index)
            .saturating_mul(u64::from(self.sequence_length()))
    }

    /// Tokens after `steps` steps of the batch-size ramp from the run's start.
    pub fn tokens_after_steps(&self, steps: u64) -> u64 {
        let seq_len = self.sequence_length();
        self.config
            .sequences_after_steps(seq_len, steps)
            .saturating_mul(u64::from(seq_len))
    }

    /// Tokens the whole run will train: `total_steps` steps of the ramp (website
    /// `totalTokens`).
    pub fn tokens_total(&self) -> u64 {
        self.tokens_after_steps(u64::from(self.config.total_steps))
    }

    /// Tokens completed before the current step (website `tokensCompletedAtStartOfStep`).
    pub fn tokens_completed_at_step_start(&self) -> u64 {
        self.tokens_after_steps(u64::from(self.completed_steps()))
    }

    /// (step − 1) / total_steps, clamped to 0..=1; 0 when total_steps is 0.
    pub fn progress_ratio(&self) -> f64 {
        if self.config.total_steps == 0 {
            return 0.0;
        }
        let ratio = f64::from(self.completed_steps()) / f64::from(self.config.total_steps);
        ratio.clamp(0.0, 1.0)
    }

    /// Maximum seconds in the current state before a tick must move on: warmup_time,
    /// max_round_train_time, round_witness_time or cooldown_time; `None` for the others.
    pub fn phase_timeout(&self) -> Option<u64> {
        match self.state {
            RunState::Warmup => Some(self.config.warmup_time),
            RunState::RoundTrain => Some(self.config.max_round_train_time),
            RunState::RoundWitness => Some(self.config.round_witness_time),
            RunState::Cooldown => Some(self.config.cooldown_time),
            _ => None,
        }
    }

    /// State start + phase timeout, unix seconds. Transitions need a transaction, so a
    /// deadline long past means nobody is ticking the run.
    pub fn phase_deadline(&self) -> Option<u64> {
        self.phase_timeout()
            .map(|timeout| self.state_start_timestamp.saturating_add(timeout))
    }

    /// Psyche's `witness_quorum(current round witnesses.len)`; `None` where Psyche would hit
    /// `unreachable!` (witness_nodes = 0 and no witness yet) or there is no current round.
    pub fn witness_quorum(&self) -> Option<u16> {
        let received = u16::try_from(self.current_round()?.witnesses_len).unwrap_or(u16::MAX);
        let n = match self.config.witness_nodes {
            0 => received,
            n => n,
        };
        match n {
            0 => None,
            1 => Some(1),
            2 | 3 => Some(2),
            n => Some(((f64::from(n) * WITNESS_QUORUM_RATIO) as u16).max(1)),
        }
    }

    /// The learning rate at the step in progress: the LLM's schedule at `progress.step`
    /// ([`LrSchedule::lr_at`]); `None` for a non-LLM model or a schedule Psyche could not
    /// evaluate. Psyche's clients scale it further during a cold-start warmup
    /// ([`Run::cold_start_warmup_bounds`]); this is the schedule alone, as Psyche's own
    /// `lr_schedule.get_lr(step)` and the website's `lr_at_step` give it.
    pub fn learning_rate(&self) -> Option<f64> {
        self.model.llm()?.lr_schedule.lr_at(self.progress.step)
    }

    /// Psyche's `get_cold_start_warmup_bounds`: (start_step, start_step + cold-start warmup)
    /// during a cold-start epoch.
    pub fn cold_start_warmup_bounds(&self) -> Option<(u32, u32)> {
        if !self.epoch.cold_start_epoch {
            return None;
        }
        let warmup = self
            .model
            .llm()
            .map_or(0, |llm| llm.cold_start_warmup_steps);
        Some((
            self.epoch.start_step,
            self.epoch.start_step.saturating_add(warmup),
        ))
    }
}
