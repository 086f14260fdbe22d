//! Decoder (and test encoder) for Psyche's on-chain coordinator accounts.
//!
//! Pure code: no I/O, no clock, `std` only. The exporter fetches bytes (whole accounts, or RPC
//! `dataSlice` windows) and hands them to [`decode_run`] / [`decode_instance`].
//!
//! # Sources of the layout
//! - `shared/reference/psyche-onchain.md` §2 (Psyche commit `0bdb13d9`): accounts,
//!   discriminators, type sizes, enum tables, derived quantities (§2.8), list rules (§2.9).
//! - `shared/reference/psyche-layout-offsets.md` (v1) and `psyche-layout-offsets-v0.md`
//!   (legacy v0): offsets computed by rustc from Psyche's own types.
//! - The fixtures in `tests/fixtures/accounts/` (synthetic accounts serialized by Psyche's
//!   types, plus Psyche's own v1 and v0 dumps) are the test oracle.
//!
//! # Accounts
//! - `CoordinatorAccount`: a zero-copy `#[repr(C)]` memory image behind an 8-byte Anchor
//!   discriminator. Two layouts share the discriminator and differ in size:
//!   v1 = 119,160 bytes (leading `version: u64`, must be 1) and legacy v0 = 119,072 bytes
//!   (no version, 64-byte run_id, `rounds_per_epoch` instead of `epoch_time`, no
//!   `last_step`/`start_timestamp`/`client_version`). The size picks the layout; size,
//!   discriminator and version are checked before any other field is read.
//! - `CoordinatorInstance`: a 173-byte borsh account (PDA per run_id) pointing at the
//!   CoordinatorAccount.
//!
//! # Windows
//! A whole account is 119 KB, so the exporter reads RPC `dataSlice` windows instead.
//! [`Layout::state_windows`] (8 windows, about 1.4 KB) covers every field of [`Run`] except
//! the client lists; [`Layout::detail_windows`] covers the used prefix of the three client
//! arrays for the slower detail tier. The state fields sit in clusters 14–25 KB apart
//! (header through progress, the four round tails, `epoch_clients.len`, `exited_clients.len`
//! through `pending_pause`, `clients_state.len` through `nonce`): merging any two would pull
//! in kilobytes of witness or client arrays, and fetching only the current round's tail
//! would need `rounds_head` first, a second dependent round trip. `dataSlice` takes one
//! slice per request, so eight windows are eight batched `getMultipleAccounts` calls
//! whatever the number of runs.
//!
//! # Traps handled
//! - Fieldful and fieldless `#[repr(C)]` enums carry 4-byte (C int) tags; `RunState` and
//!   `ClientState` are `#[repr(u8)]`. Padding sits after `run_state`, inside `Model`,
//!   `LearningRateSchedule`, `Client` and after `pending_pause`; offsets come from the tables.
//! - `HubRepo`/`GcsRepo` are `repr(Rust)`: rustc puts the `Option` (tag byte, then 64 bytes)
//!   *first*, then `repo_id`/`bucket`, the reverse of the borsh/IDL order.
//! - `FixedVec` stores `len` after the whole array; entries past `len` are stale. Every length
//!   is clamped to its capacity (256 clients, 32 witnesses).
//! - `FixedString<N>` is N raw bytes, NUL-padded, with no NUL when full. Decoding stops at the
//!   first NUL and converts **lossily** (invalid UTF-8 becomes U+FFFD), exactly like Psyche's
//!   own `String::from(&FixedString)`: a run with a mangled name is still worth monitoring.
//! - Unknown enum tags (Psyche adds variants without bumping `VERSION`) decode as `Unknown`,
//!   never as an error. `Option` tag bytes other than 1 decode as `None`; any nonzero
//!   `SmallBoolean`/`bool` byte is `true`.
//! - Padding and unused enum-union bytes are not zero on chain (Psyche's own v1 dump has
//!   garbage there), so nothing is read from them; the encoder writes them as zero.
//! - Foreign, truncated, wrong-size or wrong-discriminator data gives a [`DecodeError`]; no
//!   read can panic (every access is a checked slice, arithmetic saturates).
//!
//! # Modules
//! - `layout`: sizes, discriminators, offsets, [`Layout`], [`Window`], [`AccountData`];
//! - `types` and `model`: the decoded values and [`DecodeError`];
//! - `reader`: [`decode_run`], [`decode_instance`];
//! - `derived`: quantities computed from decoded values (the `impl Run` helpers,
//!   [`Config::batch_size`], [`LrSchedule::lr_at`], [`ClientStateCounts`],
//!   [`RunDetail::new`]);
//! - `base58`: [`bs58`];
//! - `encode`: the test encoder (`encode_run`, `encode_instance`), compiled only for unit
//!   tests and with the `test-support` feature.
//!
//! `layout` uses no sibling; `types`/`model` use `layout`; `reader`, `derived` and `encode`
//! use `layout` and the types. Paths outside this module go through the re-exports below.

mod base58;
mod derived;
#[cfg(any(test, feature = "test-support"))]
mod encode;
mod layout;
mod model;
mod reader;
mod types;

pub use base58::bs58;
#[cfg(any(test, feature = "test-support"))]
pub use encode::{encode_instance, encode_run};
pub use layout::{
    AccountData, COORDINATOR_ACCOUNT_DISCRIMINATOR, COORDINATOR_ACCOUNT_VERSION,
    COORDINATOR_INSTANCE_DISCRIMINATOR, INSTANCE_ACCOUNT_SIZE, INSTANCE_RUN_ID_MAX_LEN, Layout,
    ListLengths, MAX_CLIENTS, MAX_WITNESSES, NUM_STORED_ROUNDS, V0_ACCOUNT_SIZE, V1_ACCOUNT_SIZE,
    Window,
};
pub use model::{
    Architecture, Checkpoint, DataLocation, DataType, GcsRepo, HttpDataLocation, HttpLocation,
    HubRepo, Llm, LrSchedule, Model, Optimizer, Shuffle, TokenSize,
};
pub use reader::{decode_instance, decode_run};
pub use types::{
    ClientState, ClientStateCounts, ClientsState, Config, DecodeError, EpochClient, EpochRates,
    EpochState, Instance, Metadata, Progress, RegisteredClient, Round, Run, RunDetail, RunState,
};

#[cfg(test)]
mod tests;
