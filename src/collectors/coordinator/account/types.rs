//! The decoded account types (the model definition lives in [`super::model`]).

use std::fmt;

use super::layout::{Layout, ListLengths, NUM_STORED_ROUNDS};
use super::model::Model;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The data length matches no known layout (or, for an instance, is not 173).
    Size {
        /// The length seen.
        len: usize,
    },
    /// The first 8 bytes are not the expected Anchor discriminator.
    Discriminator {
        /// The 8 bytes found.
        found: [u8; 8],
    },
    /// A v1 account whose `version` is not 1.
    Version(u64),
    /// No window covers the byte range the decoder needed.
    Missing {
        /// First byte needed.
        offset: usize,
        /// Number of bytes needed.
        len: usize,
    },
    /// A `CoordinatorInstance` run_id length prefix beyond 64 bytes or the account end.
    RunIdLength(u32),
    /// A list length beyond the list's capacity.
    ListLength {
        /// Where the length is.
        offset: usize,
        /// The length found.
        len: u64,
        /// The list's capacity.
        capacity: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Size { len } => write!(f, "unexpected account size {len} bytes"),
            DecodeError::Discriminator { found } => {
                write!(f, "unexpected discriminator ")?;
                found.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            DecodeError::Version(v) => write!(f, "unsupported coordinator account version {v}"),
            DecodeError::Missing { offset, len } => {
                write!(
                    f,
                    "bytes {offset}..{} not fetched",
                    offset.saturating_add(*len)
                )
            }
            DecodeError::RunIdLength(len) => write!(f, "invalid run_id length {len}"),
            DecodeError::ListLength {
                offset,
                len,
                capacity,
            } => write!(
                f,
                "list length {len} at offset {offset} beyond its capacity {capacity}"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// `Coordinator.run_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunState {
    /// 0: created, not configured or never resumed.
    Uninitialized,
    /// 1: waiting until enough clients joined.
    WaitingForMembers,
    /// 2: clients load the model.
    Warmup,
    /// 3: a training round is running.
    RoundTrain,
    /// 4: witnesses report the round.
    RoundWitness,
    /// 5: end of epoch, checkpointing.
    Cooldown,
    /// 6: all steps done.
    Finished,
    /// 7: paused by the owner.
    Paused,
    /// A tag this decoder does not know.
    Unknown(u8),
}

impl RunState {
    /// The eight known states, in tag order.
    pub const ALL: [RunState; 8] = [
        RunState::Uninitialized,
        RunState::WaitingForMembers,
        RunState::Warmup,
        RunState::RoundTrain,
        RunState::RoundWitness,
        RunState::Cooldown,
        RunState::Finished,
        RunState::Paused,
    ];

    /// Decodes the stored tag.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => RunState::Uninitialized,
            1 => RunState::WaitingForMembers,
            2 => RunState::Warmup,
            3 => RunState::RoundTrain,
            4 => RunState::RoundWitness,
            5 => RunState::Cooldown,
            6 => RunState::Finished,
            7 => RunState::Paused,
            other => RunState::Unknown(other),
        }
    }

    /// The stored tag.
    pub fn code(self) -> u8 {
        match self {
            RunState::Uninitialized => 0,
            RunState::WaitingForMembers => 1,
            RunState::Warmup => 2,
            RunState::RoundTrain => 3,
            RunState::RoundWitness => 4,
            RunState::Cooldown => 5,
            RunState::Finished => 6,
            RunState::Paused => 7,
            RunState::Unknown(code) => code,
        }
    }

    /// snake_case label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Uninitialized => "uninitialized",
            RunState::WaitingForMembers => "waiting_for_members",
            RunState::Warmup => "warmup",
            RunState::RoundTrain => "round_train",
            RunState::RoundWitness => "round_witness",
            RunState::Cooldown => "cooldown",
            RunState::Finished => "finished",
            RunState::Paused => "paused",
            RunState::Unknown(_) => "unknown",
        }
    }
}

/// Health of a client in `epoch_state.clients` / `exited_clients`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// 0: training normally.
    Healthy,
    /// 1: failed a health check.
    Dropped,
    /// 2: left, or withdrawn when a round had no witnesses.
    Withdrawn,
    /// 3: slashed at epoch end.
    Ejected,
    /// A tag this decoder does not know.
    Unknown(u8),
}

impl ClientState {
    /// Decodes the stored tag.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => ClientState::Healthy,
            1 => ClientState::Dropped,
            2 => ClientState::Withdrawn,
            3 => ClientState::Ejected,
            other => ClientState::Unknown(other),
        }
    }

    /// The stored tag.
    pub fn code(self) -> u8 {
        match self {
            ClientState::Healthy => 0,
            ClientState::Dropped => 1,
            ClientState::Withdrawn => 2,
            ClientState::Ejected => 3,
            ClientState::Unknown(code) => code,
        }
    }

    /// snake_case label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientState::Healthy => "healthy",
            ClientState::Dropped => "dropped",
            ClientState::Withdrawn => "withdrawn",
            ClientState::Ejected => "ejected",
            ClientState::Unknown(_) => "unknown",
        }
    }
}

/// `RunMetadata`: what the website shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Display name; may be empty (the website then shows run_id).
    pub name: String,
    /// Description.
    pub description: String,
    /// Model size.
    pub num_parameters: u64,
    /// Vocabulary size.
    pub vocab_size: u64,
}

/// `CoordinatorConfig`. Times are seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Maximum Warmup duration.
    pub warmup_time: u64,
    /// Cooldown duration.
    pub cooldown_time: u64,
    /// Maximum RoundTrain duration.
    pub max_round_train_time: u64,
    /// RoundWitness duration.
    pub round_witness_time: u64,
    /// Tokens over which the batch size ramps from start to end.
    pub global_batch_size_warmup_tokens: u64,
    /// Target epoch duration (v1 only).
    pub epoch_time: Option<u64>,
    /// Rounds per epoch (v0 only).
    pub rounds_per_epoch: Option<u32>,
    /// Total steps of the run.
    pub total_steps: u32,
    /// Clients needed to start an epoch (the website's "minClients").
    pub init_min_clients: u16,
    /// Clients needed to keep training.
    pub min_clients: u16,
    /// Witnesses per round; 0 = automatic.
    pub witness_nodes: u16,
    /// Sequences per step at the start of the ramp.
    pub global_batch_size_start: u16,
    /// Sequences per step after the ramp.
    pub global_batch_size_end: u16,
    /// Verification percentage.
    pub verification_percent: u8,
    /// Grace seconds after init_min_clients is reached (v1 only).
    pub waiting_for_members_extra_time: Option<u8>,
}

/// `CoordinatorProgress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Epoch counter, incremented at the end of Cooldown.
    pub epoch: u16,
    /// Next step to train; starts at 1, so completed steps = step − 1.
    pub step: u32,
    /// Sequence index where the current (or next) epoch starts.
    pub epoch_start_data_index: u64,
}

/// Scalars of `CoordinatorEpochState` (zeroed when an epoch starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochState {
    /// Index (0..3) of the current round in the ring.
    pub rounds_head: u32,
    /// Step at which the epoch started.
    pub start_step: u32,
    /// Last step of the epoch once epoch_time elapsed; 0 = unset (v1 only).
    pub last_step: Option<u32>,
    /// Epoch start, unix seconds (v1 only).
    pub start_timestamp: Option<u64>,
    /// True until the first RoundWitness completes.
    pub first_round: bool,
    /// True after a pause: cold-start LR warmup.
    pub cold_start_epoch: bool,
    /// Whether the epoch was checkpointed (v0 only).
    pub checkpointed: Option<bool>,
}

/// Scalars of one `Round` of the ring (the witness entries are not decoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    /// Witnesses received, clamped to 32.
    pub witnesses_len: usize,
    /// First sequence index of the round.
    pub data_index: u64,
    /// Committee/witness selection seed.
    pub random_seed: u64,
    /// Round number within the epoch, 0-based.
    pub height: u32,
    /// Epoch clients at round start.
    pub clients_len: u16,
    /// Tie-breaker tasks.
    pub tie_breaker_tasks: u16,
}

/// `ClientsEpochRates`, in reward points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EpochRates {
    /// Shared equally among healthy finishers of the epoch.
    pub earning_rate_total_shared: u64,
    /// Slashed per ejected client.
    pub slashing_rate_per_client: u64,
}

/// Scalars of `ClientsState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientsState {
    /// Join generation: clients with `active == next_active` are pending for the next epoch.
    pub next_active: u64,
    /// Rates of the current epoch.
    pub current_epoch_rates: EpochRates,
    /// Rates applied when the next Warmup starts.
    pub future_epoch_rates: EpochRates,
}

/// An entry of `epoch_state.clients` or `exited_clients`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochClient {
    /// Wallet public key.
    pub signer: [u8; 32],
    /// P2P (iroh) identity.
    pub p2p_identity: [u8; 32],
    /// Health.
    pub state: ClientState,
    /// Round height at which the client exited.
    pub exited_height: u32,
}

/// An entry of `clients_state.clients`: the permanent registry with reward points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisteredClient {
    /// Wallet public key.
    pub signer: [u8; 32],
    /// P2P (iroh) identity.
    pub p2p_identity: [u8; 32],
    /// Reward points earned.
    pub earned: u64,
    /// Points slashed.
    pub slashed: u64,
    /// Join generation the client last joined for.
    pub active: u64,
}

/// Clients counted by [`ClientState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientStateCounts {
    /// Healthy clients.
    pub healthy: u64,
    /// Dropped clients.
    pub dropped: u64,
    /// Withdrawn clients.
    pub withdrawn: u64,
    /// Ejected clients.
    pub ejected: u64,
    /// Clients with an unknown state tag.
    pub unknown: u64,
}

/// Client-level detail, decoded only when the detail windows were fetched.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunDetail {
    /// `epoch_state.clients[..len]`.
    pub epoch_clients: Vec<EpochClient>,
    /// `epoch_state.exited_clients[..len]`.
    pub exited_clients: Vec<EpochClient>,
    /// `clients_state.clients[..len]`.
    pub registered_clients: Vec<RegisteredClient>,
    /// Epoch clients by state.
    pub epoch_clients_by_state: ClientStateCounts,
    /// Exited clients by state.
    pub exited_clients_by_state: ClientStateCounts,
    /// Registered clients with `active == next_active`: the joiners for the next epoch
    /// (`ClientsState::get_active_clients_ids`, the website's WaitingForMembers list).
    pub pending_clients: u64,
    /// Σ earned over registered clients (saturating).
    pub earned_sum: u64,
    /// Σ slashed over registered clients (saturating).
    pub slashed_sum: u64,
}

/// A decoded `CoordinatorAccount`: one training run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Layout the account was decoded with.
    pub layout: Layout,
    /// `version` (v1: always 1; v0 has none).
    pub version: Option<u64>,
    /// Incremented by every state-mutating instruction.
    pub nonce: u64,
    /// `coordinator.run_id`.
    pub run_id: String,
    /// Display metadata.
    pub metadata: Metadata,
    /// Current state.
    pub state: RunState,
    /// When the current state was entered, unix seconds (cluster clock).
    pub state_start_timestamp: u64,
    /// A pause applies at the end of Cooldown.
    pub pending_pause: bool,
    /// Model definition.
    pub model: Model,
    /// Run configuration.
    pub config: Config,
    /// Epoch and step counters.
    pub progress: Progress,
    /// Epoch scalars.
    pub epoch: EpochState,
    /// The round ring; see [`Run::current_round`].
    pub rounds: [Round; NUM_STORED_ROUNDS],
    /// Client list lengths.
    pub lists: ListLengths,
    /// Join generation and reward rates.
    pub clients_state: ClientsState,
    /// Internal tick flag.
    pub is_warmup_first_tick: bool,
    /// Internal tick flag.
    pub is_training_first_tick: bool,
    /// Client image version (v1 only).
    pub client_version: Option<String>,
    /// Client lists; `None` unless every byte they need was fetched. Runs whose lists are
    /// all empty need no bytes, so their (empty) detail is always present.
    pub detail: Option<RunDetail>,
}

/// A decoded `CoordinatorInstance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// PDA bump.
    pub bump: u8,
    /// Owner who may update, pause or free the run (the treasurer Run PDA for treasurer runs).
    pub main_authority: [u8; 32],
    /// Grantor of join authorizations.
    pub join_authority: [u8; 32],
    /// Address of the run's `CoordinatorAccount`.
    pub coordinator_account: [u8; 32],
    /// Run id (the PDA seed).
    pub run_id: String,
}
