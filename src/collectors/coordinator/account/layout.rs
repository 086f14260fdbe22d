//! Account sizes, discriminators and field offsets of the two `CoordinatorAccount`
//! layouts and of `CoordinatorInstance`, the RPC windows derived from them, and the
//! fetched bytes ([`AccountData`]) the reader works on. [`ListLengths`] lives here too:
//! the detail windows are sized from it.
//!
//! This module is the leaf of the decoder: it uses none of its siblings.

/// Anchor discriminator of `CoordinatorAccount`: sha256("account:CoordinatorAccount")[..8].
pub const COORDINATOR_ACCOUNT_DISCRIMINATOR: [u8; 8] = [239, 33, 177, 55, 44, 155, 86, 43];
/// Anchor discriminator of `CoordinatorInstance`: sha256("account:CoordinatorInstance")[..8].
pub const COORDINATOR_INSTANCE_DISCRIMINATOR: [u8; 8] = [156, 9, 153, 16, 175, 24, 31, 252];
/// The only `CoordinatorAccount.version` the current program accepts.
pub const COORDINATOR_ACCOUNT_VERSION: u64 = 1;
/// Size in bytes of a v1 `CoordinatorAccount`, discriminator included.
pub const V1_ACCOUNT_SIZE: usize = 119_160;
/// Size in bytes of a legacy v0 `CoordinatorAccount`, discriminator included.
pub const V0_ACCOUNT_SIZE: usize = 119_072;
/// Size in bytes of a `CoordinatorInstance` account (8 + INIT_SPACE 165).
pub const INSTANCE_ACCOUNT_SIZE: usize = 173;
/// Capacity of every client list (`SOLANA_MAX_NUM_CLIENTS`).
pub const MAX_CLIENTS: usize = 256;
/// Capacity of a round's witness list (`SOLANA_MAX_NUM_WITNESSES`).
pub const MAX_WITNESSES: usize = 32;
/// Rounds kept in the epoch ring (`NUM_STORED_ROUNDS`).
pub const NUM_STORED_ROUNDS: usize = 4;
/// Longest run_id the instance's borsh string may hold (`SOLANA_MAX_STRING_LEN`).
pub const INSTANCE_RUN_ID_MAX_LEN: usize = 64;

pub(super) const ROUND_SIZE: usize = 14_112;
/// Round fields after the witness array: witnesses.len, data_index, random_seed, height,
/// clients_len, tie_breaker_tasks.
pub(super) const ROUND_TAIL: usize = 14_080;
const ROUND_TAIL_LEN: usize = 32;
pub(super) const EPOCH_CLIENT_SIZE: usize = 72;
pub(super) const REGISTERED_CLIENT_SIZE: usize = 96;
pub(super) const NAME_LEN: usize = 64;
pub(super) const DESCRIPTION_LEN: usize = 280;
pub(super) const CLIENT_VERSION_LEN: usize = 96;
pub(super) const STRING_LEN: usize = 64;
pub(super) const URL_LEN: usize = 192;

// LLM-relative offsets (the LLM payload starts 8 bytes after the Model tag in both layouts).
pub(super) const LLM_MAX_SEQ_LEN: usize = 0;
pub(super) const LLM_COLD_START: usize = 4;
pub(super) const LLM_ARCHITECTURE: usize = 8;
pub(super) const LLM_CHECKPOINT: usize = 12;
pub(super) const LLM_DATA_TYPE: usize = 148;
pub(super) const LLM_DATA_LOCATION: usize = 152;
pub(super) const LLM_LR_SCHEDULE: usize = 456;
pub(super) const LLM_OPTIMIZER: usize = 512;

// Instance (borsh) offsets.
pub(super) const INSTANCE_BUMP: usize = 8;
pub(super) const INSTANCE_MAIN_AUTHORITY: usize = 9;
pub(super) const INSTANCE_JOIN_AUTHORITY: usize = 41;
pub(super) const INSTANCE_COORDINATOR_ACCOUNT: usize = 73;
pub(super) const INSTANCE_RUN_ID_LEN: usize = 105;
pub(super) const INSTANCE_RUN_ID: usize = 109;

/// Raw offsets (from byte 0 of the account) of everything the decoder reads.
pub(super) struct Offsets {
    pub(super) size: usize,
    pub(super) version: Option<usize>,
    pub(super) name: usize,
    pub(super) description: usize,
    pub(super) num_parameters: usize,
    pub(super) vocab_size: usize,
    pub(super) run_id: usize,
    pub(super) run_id_len: usize,
    pub(super) run_state: usize,
    pub(super) model: usize,
    /// The five leading u64 timings; identical shape in both layouts.
    pub(super) config: usize,
    pub(super) epoch_time: Option<usize>,
    pub(super) rounds_per_epoch: Option<usize>,
    /// Followed by init_min_clients, min_clients, witness_nodes, global_batch_size_start,
    /// global_batch_size_end (u16 each) and verification_percent (u8).
    pub(super) total_steps: usize,
    pub(super) waiting_for_members_extra_time: Option<usize>,
    pub(super) progress: usize,
    pub(super) rounds: usize,
    pub(super) epoch_clients: usize,
    pub(super) exited_clients: usize,
    /// Followed by start_step (u32).
    pub(super) rounds_head: usize,
    pub(super) last_step: Option<usize>,
    pub(super) epoch_start_timestamp: Option<usize>,
    pub(super) first_round: usize,
    pub(super) checkpointed: Option<usize>,
    pub(super) cold_start_epoch: usize,
    pub(super) run_state_start: usize,
    pub(super) pending_pause: usize,
    /// FixedVec data; len, next_active and the two rate pairs follow the array.
    pub(super) registered_clients: usize,
    /// Followed by is_training_first_tick.
    pub(super) is_warmup_first_tick: usize,
    pub(super) client_version: Option<usize>,
    pub(super) nonce: usize,
}

impl Offsets {
    pub(super) const fn epoch_clients_len(&self) -> usize {
        self.epoch_clients + MAX_CLIENTS * EPOCH_CLIENT_SIZE
    }
    pub(super) const fn exited_clients_len(&self) -> usize {
        self.exited_clients + MAX_CLIENTS * EPOCH_CLIENT_SIZE
    }
    pub(super) const fn registered_clients_len(&self) -> usize {
        self.registered_clients + MAX_CLIENTS * REGISTERED_CLIENT_SIZE
    }
    pub(super) const fn next_active(&self) -> usize {
        self.registered_clients_len() + 8
    }
    pub(super) const fn current_epoch_rates(&self) -> usize {
        self.registered_clients_len() + 16
    }
    pub(super) const fn future_epoch_rates(&self) -> usize {
        self.registered_clients_len() + 32
    }
    pub(super) const fn round_tail(&self, index: usize) -> usize {
        self.rounds + index * ROUND_SIZE + ROUND_TAIL
    }
}

const V1_OFFSETS: Offsets = Offsets {
    size: V1_ACCOUNT_SIZE,
    version: Some(8),
    name: 16,
    description: 80,
    num_parameters: 360,
    vocab_size: 368,
    run_id: 376,
    run_id_len: 32,
    run_state: 408,
    model: 416,
    config: 968,
    epoch_time: Some(1008),
    rounds_per_epoch: None,
    total_steps: 1016,
    waiting_for_members_extra_time: Some(1031),
    progress: 1032,
    rounds: 1048,
    epoch_clients: 57_496,
    exited_clients: 75_936,
    rounds_head: 94_376,
    last_step: Some(94_384),
    epoch_start_timestamp: Some(94_392),
    first_round: 94_400,
    checkpointed: None,
    cold_start_epoch: 94_401,
    run_state_start: 94_408,
    pending_pause: 94_416,
    registered_clients: 94_424,
    is_warmup_first_tick: 119_048,
    client_version: Some(119_050),
    nonce: 119_152,
};

const V0_OFFSETS: Offsets = Offsets {
    size: V0_ACCOUNT_SIZE,
    version: None,
    name: 8,
    description: 72,
    num_parameters: 352,
    vocab_size: 360,
    run_id: 368,
    run_id_len: 64,
    run_state: 432,
    model: 440,
    config: 992,
    epoch_time: None,
    rounds_per_epoch: Some(1032),
    total_steps: 1036,
    waiting_for_members_extra_time: None,
    progress: 1056,
    rounds: 1072,
    epoch_clients: 57_520,
    exited_clients: 75_960,
    rounds_head: 94_400,
    last_step: None,
    epoch_start_timestamp: None,
    first_round: 94_408,
    checkpointed: Some(94_409),
    cold_start_epoch: 94_410,
    run_state_start: 94_416,
    pending_pause: 94_424,
    registered_clients: 94_432,
    is_warmup_first_tick: 119_056,
    client_version: None,
    nonce: 119_064,
};

const fn state_windows_for(o: &Offsets) -> [Window; 8] {
    [
        // Discriminator, version, metadata, run_id, run_state, model, config, progress: all
        // contiguous and ending exactly where the round ring starts.
        Window {
            offset: 0,
            len: o.rounds,
        },
        Window {
            offset: o.round_tail(0),
            len: ROUND_TAIL_LEN,
        },
        Window {
            offset: o.round_tail(1),
            len: ROUND_TAIL_LEN,
        },
        Window {
            offset: o.round_tail(2),
            len: ROUND_TAIL_LEN,
        },
        Window {
            offset: o.round_tail(3),
            len: ROUND_TAIL_LEN,
        },
        Window {
            offset: o.epoch_clients_len(),
            len: 8,
        },
        // exited_clients.len through pending_pause.
        Window {
            offset: o.exited_clients_len(),
            len: o.pending_pause + 1 - o.exited_clients_len(),
        },
        // clients_state.len through nonce (the end of the account).
        Window {
            offset: o.registered_clients_len(),
            len: o.size - o.registered_clients_len(),
        },
    ]
}

static V1_STATE_WINDOWS: [Window; 8] = state_windows_for(&V1_OFFSETS);
static V0_STATE_WINDOWS: [Window; 8] = state_windows_for(&V0_OFFSETS);

/// Which `CoordinatorAccount` memory layout an account uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// Legacy layout of the previous coordinator deployment (119,072 bytes, no version).
    V0,
    /// Current layout (119,160 bytes, `version == 1`).
    V1,
}

impl Layout {
    /// Picks the layout from the account's data length; `None` for any other size.
    pub fn from_account_size(len: usize) -> Option<Layout> {
        match len {
            V0_ACCOUNT_SIZE => Some(Layout::V0),
            V1_ACCOUNT_SIZE => Some(Layout::V1),
            _ => None,
        }
    }

    /// Data length of an account in this layout, discriminator included.
    pub fn account_size(self) -> usize {
        self.offsets().size
    }

    /// `"v0"` or `"v1"`, for labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::V0 => "v0",
            Layout::V1 => "v1",
        }
    }

    /// Windows that together hold every field of [`Run`](super::types::Run) except
    /// [`Run::detail`](super::types::Run::detail).
    pub fn state_windows(self) -> &'static [Window] {
        match self {
            Layout::V0 => &V0_STATE_WINDOWS,
            Layout::V1 => &V1_STATE_WINDOWS,
        }
    }

    /// Windows covering the used prefix of the epoch, exited and registered client arrays,
    /// sized from `lists` (clamped to capacity); empty lists need no window.
    pub fn detail_windows(self, lists: &ListLengths) -> Vec<Window> {
        let o = self.offsets();
        [
            (o.epoch_clients, lists.epoch_clients, EPOCH_CLIENT_SIZE),
            (o.exited_clients, lists.exited_clients, EPOCH_CLIENT_SIZE),
            (
                o.registered_clients,
                lists.registered_clients,
                REGISTERED_CLIENT_SIZE,
            ),
        ]
        .into_iter()
        .filter(|&(_, n, _)| n > 0)
        .map(|(offset, n, stride)| Window {
            offset,
            len: n.min(MAX_CLIENTS) * stride,
        })
        .collect()
    }

    pub(super) fn offsets(self) -> &'static Offsets {
        match self {
            Layout::V0 => &V0_OFFSETS,
            Layout::V1 => &V1_OFFSETS,
        }
    }
}

/// A byte range of an account, as sent in an RPC `dataSlice {offset, length}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// First byte, counted from byte 0 of the account data (the discriminator).
    pub offset: usize,
    /// Number of bytes.
    pub len: usize,
}

impl Window {
    /// One past the last byte.
    pub fn end(self) -> usize {
        self.offset.saturating_add(self.len)
    }

    /// The part of `data` this window selects, clamped to `data` the way RPC `dataSlice` is.
    pub fn slice(self, data: &[u8]) -> &[u8] {
        let start = self.offset.min(data.len());
        let end = self.end().min(data.len());
        data.get(start..end).unwrap_or_default()
    }
}

/// Account bytes as the exporter got them: the whole account or some windows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountData {
    total_len: usize,
    windows: Vec<(usize, Vec<u8>)>,
}

impl AccountData {
    /// A whole account's data.
    pub fn full(bytes: Vec<u8>) -> Self {
        Self {
            total_len: bytes.len(),
            windows: vec![(0, bytes)],
        }
    }

    /// Windows `(offset, bytes)` of an account whose real size (RPC `space`) is `total_len`.
    pub fn windows(total_len: usize, windows: Vec<(usize, Vec<u8>)>) -> Self {
        Self { total_len, windows }
    }

    /// Cuts `windows` out of a whole account's bytes, as an RPC server would answer
    /// `dataSlice` requests; used by tests, benchmarks and fake RPC servers.
    pub fn sliced(bytes: &[u8], windows: &[Window]) -> Self {
        let windows = windows
            .iter()
            .map(|w| (w.offset, w.slice(bytes).to_vec()))
            .collect();
        Self::windows(bytes.len(), windows)
    }

    /// The real size of the account, which selects the layout.
    pub fn total_len(&self) -> usize {
        self.total_len
    }

    /// Adds more windows, e.g. the detail windows fetched after the state windows.
    pub fn extend(&mut self, windows: impl IntoIterator<Item = (usize, Vec<u8>)>) {
        self.windows.extend(windows);
    }

    /// The `len` bytes at `offset`, if they lie inside the account and one window holds
    /// them all; the reader turns `None` into
    /// [`DecodeError::Missing`](super::types::DecodeError::Missing).
    pub(super) fn get(&self, offset: usize, len: usize) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        if end > self.total_len {
            return None;
        }
        self.windows.iter().find_map(|(start, bytes)| {
            let from = offset.checked_sub(*start)?;
            bytes.get(from..from.checked_add(len)?)
        })
    }
}

/// Used lengths of the client lists, clamped to their capacity of 256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListLengths {
    /// `epoch_state.clients.len`: clients in the current (in WaitingForMembers: previous) epoch.
    pub epoch_clients: usize,
    /// `epoch_state.exited_clients.len`.
    pub exited_clients: usize,
    /// `clients_state.clients.len`: every client ever registered (never shrinks).
    pub registered_clients: usize,
}
