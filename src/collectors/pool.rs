//! The mining pool (`collector="pool"`): each `--pool.index` pool of the mining-pool
//! program (on mainnet-beta), its collateral vault and the program's lenders.
//!
//! Per poll:
//! 1. one `getMultipleAccounts` for the Pool PDAs (seeds `"Pool"`, index u64 LE);
//! 2. one `getMultipleAccounts` for their collateral vaults (the associated token account
//!    of the pool and its collateral mint) plus any mint whose decimals are not known yet
//!    (decimals never change, so each mint is read once);
//! 3. one `getProgramAccounts` counting Lender accounts (`dataSize` 32, discriminator
//!    `memcmp`, zero-length `dataSlice`, so only addresses come back).
//!
//! | metric | labels |
//! |---|---|
//! | `psyche_pool_info` | pool, index, collateral_mint, program |
//! | `psyche_pool_max_deposit_tokens`, `_deposited_tokens`, `_extracted_tokens`, `_remaining_tokens` | pool, index |
//! | `psyche_pool_fill_ratio`, `_full`, `_vault_balance_tokens`, `_claimed_redeemable_tokens` | pool, index |
//! | `psyche_pool_frozen`, `_claiming_enabled` | pool, index |
//! | `psyche_pool_lenders` | program |
//!
//! Lender accounts do not name their pool (their PDA seeds do, with the user), so the
//! lender count is per program, not per pool.
//!
//! Failure behaviour: a failed RPC call for pools, vaults or mints fails the poll (last
//! snapshot kept until max age). A pool that does not exist is a `missing` error and has
//! no series; a pool with a foreign owner, wrong size or discriminator is a `decode`
//! error and has no series. A missing vault or mint only drops the series that need it.
//! A failed lender count is counted and drops `psyche_pool_lenders` only (many RPC
//! providers restrict `getProgramAccounts`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::DescriptorEncoder;
use solana_account_decoder_client_types::{UiAccount, UiAccountEncoding, UiDataSliceConfig};
use solana_pubkey::Pubkey;

use crate::collectors::coordinator::ProgramId;
use crate::collectors::spec::{Built, Context, Spec};
use crate::collectors::token;
use crate::error::CollectError;
use crate::exposition::gauge;
use crate::flags::{RpcUrlParser, check_timing, max_age, parse_duration};
use crate::poller::{Collector, Stats, lock};
use crate::rpc::{Rpc, RpcUrl, account_bytes};

/// The mainnet mining-pool deployment (the declared id in the sources is another).
pub const PROGRAM_MAINNET: &str = "PsyMP8fXEEMo2C6C84s8eXuRUrvzQnZyquyjipDRohf";

/// Anchor discriminator of `Pool`.
pub const POOL_DISCRIMINATOR: [u8; 8] = [0xf1, 0x9a, 0x6d, 0x04, 0x11, 0xb1, 0x6d, 0xbc];
/// Anchor discriminator of `Lender`.
pub const LENDER_DISCRIMINATOR: [u8; 8] = [0x6b, 0x1e, 0xaf, 0x1f, 0xe8, 0x52, 0xb4, 0x7c];
/// Size of a `Pool` account (8 + Rust size; the borsh data is followed by zeros).
pub const POOL_ACCOUNT_SIZE: usize = 552;
/// Size of a `Lender` account.
pub const LENDER_ACCOUNT_SIZE: usize = 32;
/// Capacity of the pool's metadata bytes.
pub const POOL_METADATA_CAPACITY: usize = 400;

/// Why an Anchor account of the pool or treasurer program could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not the account's size.
    Size {
        /// Bytes found.
        len: usize,
    },
    /// Another account type.
    Discriminator {
        /// The first 8 bytes found.
        found: [u8; 8],
    },
    /// A borsh `bool` that is neither 0 nor 1.
    Bool {
        /// Its offset.
        offset: usize,
    },
    /// The metadata length exceeds its capacity.
    MetadataLength(u16),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Size { len } => write!(f, "unexpected account size {len} bytes"),
            DecodeError::Discriminator { found } => {
                write!(f, "unexpected discriminator ")?;
                found.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            DecodeError::Bool { offset } => write!(f, "invalid bool at offset {offset}"),
            DecodeError::MetadataLength(n) => write!(f, "metadata length {n} over capacity"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Bounds-checked little-endian reads over account data whose size was checked.
pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

impl Bytes<'_> {
    fn array<const N: usize>(&self, offset: usize) -> Result<[u8; N], DecodeError> {
        self.0
            .get(offset..offset + N)
            .and_then(|b| <[u8; N]>::try_from(b).ok())
            .ok_or(DecodeError::Size { len: self.0.len() })
    }
    pub(crate) fn u8(&self, offset: usize) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(offset)?[0])
    }
    pub(crate) fn u16(&self, offset: usize) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(offset)?))
    }
    pub(crate) fn u64(&self, offset: usize) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(offset)?))
    }
    pub(crate) fn pubkey(&self, offset: usize) -> Result<Pubkey, DecodeError> {
        Ok(Pubkey::new_from_array(self.array(offset)?))
    }
    pub(crate) fn bool(&self, offset: usize) -> Result<bool, DecodeError> {
        match self.u8(offset)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Bool { offset }),
        }
    }
    /// Size first, then discriminator: the checks every decoder starts with.
    pub(crate) fn check(&self, size: usize, discriminator: &[u8; 8]) -> Result<(), DecodeError> {
        if self.0.len() != size {
            return Err(DecodeError::Size { len: self.0.len() });
        }
        let found: [u8; 8] = self.array(0)?;
        if &found != discriminator {
            return Err(DecodeError::Discriminator { found });
        }
        Ok(())
    }
}

/// A mining pool (`state/pool.rs`). Amounts are raw base units of their mint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// PDA bump.
    pub bump: u8,
    /// Pool index (PDA seed).
    pub index: u64,
    /// Owner: extracts funds, sets the capacity.
    pub authority: Pubkey,
    /// Deposit token mint.
    pub collateral_mint: Pubkey,
    /// Capacity; 0 at creation.
    pub max_deposit_collateral_amount: u64,
    /// Deposited ever (never decreases).
    pub total_deposited_collateral_amount: u64,
    /// Withdrawn by the authority.
    pub total_extracted_collateral_amount: u64,
    /// Whether rewards are claimable.
    pub claiming_enabled: bool,
    /// Reward token mint (all zeros until claimable).
    pub redeemable_mint: Pubkey,
    /// Rewards claimed so far, in redeemable-mint units.
    pub total_claimed_redeemable_amount: u64,
    /// Frozen: deposit, extract, claim all fail.
    pub freeze: bool,
    /// Opaque metadata (used bytes only).
    pub metadata: Vec<u8>,
}

impl Pool {
    /// Capacity left: max − deposited, 0 when the capacity was lowered below the
    /// deposits (no deposit is possible either way).
    pub fn remaining(&self) -> u64 {
        self.max_deposit_collateral_amount
            .saturating_sub(self.total_deposited_collateral_amount)
    }

    /// Deposited over capacity; none while the capacity is 0 (never set).
    pub fn fill_ratio(&self) -> Option<f64> {
        (self.max_deposit_collateral_amount > 0).then(|| {
            self.total_deposited_collateral_amount as f64
                / self.max_deposit_collateral_amount as f64
        })
    }
}

/// A lender's position (`state/lender.rs`); it does not name its pool or user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lender {
    /// PDA bump.
    pub bump: u8,
    /// The user's total deposit.
    pub deposited_collateral_amount: u64,
    /// Rewards claimed.
    pub claimed_redeemable_amount: u64,
}

/// The Pool PDA of `index` under `program`.
pub fn pool_address(program: &Pubkey, index: u64) -> Pubkey {
    Pubkey::find_program_address(&[b"Pool", &index.to_le_bytes()], program).0
}

/// Decode a `Pool` account's full data.
pub fn decode_pool(data: &[u8]) -> Result<Pool, DecodeError> {
    let r = Bytes(data);
    r.check(POOL_ACCOUNT_SIZE, &POOL_DISCRIMINATOR)?;
    let len = r.u16(147)?;
    let used = usize::from(len);
    if used > POOL_METADATA_CAPACITY {
        return Err(DecodeError::MetadataLength(len));
    }
    Ok(Pool {
        bump: r.u8(8)?,
        index: r.u64(9)?,
        authority: r.pubkey(17)?,
        collateral_mint: r.pubkey(49)?,
        max_deposit_collateral_amount: r.u64(81)?,
        total_deposited_collateral_amount: r.u64(89)?,
        total_extracted_collateral_amount: r.u64(97)?,
        claiming_enabled: r.bool(105)?,
        redeemable_mint: r.pubkey(106)?,
        total_claimed_redeemable_amount: r.u64(138)?,
        freeze: r.bool(146)?,
        metadata: data
            .get(149..149 + used)
            .ok_or(DecodeError::Size { len: data.len() })?
            .to_vec(),
    })
}

/// Encode a `Pool` as the program stores it (for tests and benchmarks). Metadata over
/// capacity is cut.
#[cfg(any(test, feature = "test-support"))]
pub fn encode_pool(pool: &Pool) -> Vec<u8> {
    let mut d = vec![0u8; POOL_ACCOUNT_SIZE];
    d[0..8].copy_from_slice(&POOL_DISCRIMINATOR);
    d[8] = pool.bump;
    d[9..17].copy_from_slice(&pool.index.to_le_bytes());
    d[17..49].copy_from_slice(pool.authority.as_ref());
    d[49..81].copy_from_slice(pool.collateral_mint.as_ref());
    d[81..89].copy_from_slice(&pool.max_deposit_collateral_amount.to_le_bytes());
    d[89..97].copy_from_slice(&pool.total_deposited_collateral_amount.to_le_bytes());
    d[97..105].copy_from_slice(&pool.total_extracted_collateral_amount.to_le_bytes());
    d[105] = u8::from(pool.claiming_enabled);
    d[106..138].copy_from_slice(pool.redeemable_mint.as_ref());
    d[138..146].copy_from_slice(&pool.total_claimed_redeemable_amount.to_le_bytes());
    d[146] = u8::from(pool.freeze);
    let used = pool.metadata.len().min(POOL_METADATA_CAPACITY);
    d[147..149].copy_from_slice(&(used as u16).to_le_bytes());
    d[149..149 + used].copy_from_slice(&pool.metadata[..used]);
    d
}

/// Decode a `Lender` account's full data.
pub fn decode_lender(data: &[u8]) -> Result<Lender, DecodeError> {
    let r = Bytes(data);
    r.check(LENDER_ACCOUNT_SIZE, &LENDER_DISCRIMINATOR)?;
    Ok(Lender {
        bump: r.u8(8)?,
        deposited_collateral_amount: r.u64(9)?,
        claimed_redeemable_amount: r.u64(17)?,
    })
}

/// Mining pool collector flags.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "collector.pool")]
pub struct Args {
    /// Disable the mining-pool collector.
    #[arg(
        id = "no-collector.pool",
        long = "no-collector.pool",
        env = "PSYCHE_EXPORTER_NO_COLLECTOR_POOL"
    )]
    pub disabled: bool,
    /// Solana RPC URL of the cluster the mining pool program runs on.
    #[arg(id = "pool.rpc-url", long = "pool.rpc-url", env = "PSYCHE_EXPORTER_POOL_RPC_URL", default_value = "https://api.mainnet-beta.solana.com", hide_env_values = true, value_parser = RpcUrlParser)]
    pub rpc_url: RpcUrl,
    /// Mining-pool program (default: the mainnet deployment).
    #[arg(id = "pool.program-id", long = "pool.program-id", env = "PSYCHE_EXPORTER_POOL_PROGRAM_ID", default_value = PROGRAM_MAINNET)]
    pub program_id: ProgramId,
    /// Index of a pool to watch (repeatable; the Pool PDA seed). The website shows pool 0.
    #[arg(id = "pool.index", long = "pool.index", env = "PSYCHE_EXPORTER_POOL_INDEX", value_delimiter = ',', default_values_t = [0u64])]
    pub indices: Vec<u64>,
    /// How often to read the pools, their vaults and the lender count.
    #[arg(id = "pool.interval", long = "pool.interval", env = "PSYCHE_EXPORTER_POOL_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Deadline for one poll (must be shorter than the interval).
    #[arg(id = "pool.timeout", long = "pool.timeout", env = "PSYCHE_EXPORTER_POOL_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How long to keep serving the last good pools when polls fail [default: 3 × interval].
    #[arg(id = "pool.max-age", long = "pool.max-age", env = "PSYCHE_EXPORTER_POOL_MAX_AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
}

impl Spec for MiningPool {
    type Args = Args;
    const HEADING: &'static str = "Mining pool (collector \"pool\")";

    fn enabled(args: &Args) -> bool {
        !args.disabled
    }

    fn validate(args: &Args, _ctx: &Context) -> Result<(), String> {
        check_timing("pool", args.interval, args.timeout)?;
        if args.indices.is_empty() {
            return Err("--pool.index: name at least one pool index".into());
        }
        Ok(())
    }

    fn rpc_urls(args: &Args, _ctx: &Context) -> Vec<RpcUrl> {
        vec![args.rpc_url.clone()]
    }

    fn build(args: &Args, _ctx: &Context, stats: Arc<Stats>) -> Result<Built<Self>, CollectError> {
        let rpc = Rpc::new(
            crate::rpc::http_client(args.timeout)?,
            args.rpc_url.clone(),
            Arc::clone(&stats),
        );
        let settings = Settings {
            program: args.program_id.0,
            indices: args.indices.clone(),
        };
        Ok(Built {
            collector: MiningPool::new(rpc, settings, stats),
            interval: args.interval,
            deadline: args.timeout,
            max_age: max_age(args.max_age, args.interval),
        })
    }
}

/// Settings of the pool collector.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The mining-pool program.
    pub program: Pubkey,
    /// Pool indices to watch.
    pub indices: Vec<u64>,
}

/// One pool as the chain holds it.
#[derive(Debug, Clone)]
pub struct PoolEntry {
    /// Its PDA address.
    pub address: String,
    /// Its index, as the label shows it.
    pub index: String,
    /// The decoded account.
    pub pool: Pool,
    /// Decimals of the collateral mint, when it could be read.
    pub collateral_decimals: Option<u8>,
    /// Decimals of the redeemable mint (0 while it is unset), when it could be read.
    pub redeemable_decimals: Option<u8>,
    /// Raw balance of the collateral vault, when it exists.
    pub vault: Option<u64>,
}

/// What one poll learned.
#[derive(Debug, Clone)]
pub struct PoolSnapshot {
    /// The program, base58.
    pub program: String,
    /// Pools that exist and decode, by index order of the flags.
    pub pools: Vec<PoolEntry>,
    /// Lender accounts of the program, when the count succeeded.
    pub lenders: Option<u64>,
}

/// The collector.
pub struct MiningPool {
    rpc: Rpc,
    settings: Settings,
    stats: Arc<Stats>,
    decimals: Mutex<HashMap<Pubkey, u8>>,
}

impl fmt::Debug for MiningPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MiningPool")
            .field("rpc", &self.rpc)
            .finish_non_exhaustive()
    }
}

/// `getMultipleAccounts` of `addresses` (base64, whole accounts), in batches of 100.
pub(crate) async fn fetch_accounts(
    rpc: &Rpc,
    addresses: &[Pubkey],
) -> Result<Vec<Option<UiAccount>>, CollectError> {
    rpc.multiple_accounts(addresses, None, UiAccountEncoding::Base64)
        .await
}

/// Decimals of every mint in `mints`, from `cache` or from `fetched` (the accounts read
/// for the mints not cached, in the same order); newly read ones are cached, and
/// mints not `in_use` any more are forgotten. A mint
/// that is missing or does not decode is recorded and left out.
pub(crate) fn learn_decimals(
    stats: &Stats,
    cache: &Mutex<HashMap<Pubkey, u8>>,
    in_use: &[Pubkey],
    wanted: &[Pubkey],
    fetched: Vec<Option<UiAccount>>,
) -> HashMap<Pubkey, u8> {
    let mut cache = lock(cache);
    // Mints come from the chain: keep only those this poll uses, so the cache is
    // bounded by what exists, not by everything ever seen.
    cache.retain(|mint, _| in_use.contains(mint));
    for (mint, ui) in wanted.iter().zip(fetched) {
        let Some(ui) = ui else {
            stats.record(&CollectError::Missing {
                what: format!("mint {mint}"),
            });
            continue;
        };
        let decoded = account_bytes(&ui, token::MAX_TOKEN_ACCOUNT_SIZE)
            .and_then(|d| token::decode_mint_decimals(&ui.owner, &d).map_err(|e| e.to_string()));
        match decoded {
            Ok(decimals) => {
                cache.insert(*mint, decimals);
            }
            Err(message) => stats.record(&CollectError::Decode {
                what: format!("mint {mint}"),
                message,
            }),
        }
    }
    cache.clone()
}

/// The raw amount of the vault `ui` at `address`, checked against its mint and owner;
/// `None` (recorded) when it is missing or does not decode.
pub(crate) fn vault_amount(
    stats: &Stats,
    address: &Pubkey,
    ui: Option<UiAccount>,
    mint: &Pubkey,
    authority: &Pubkey,
) -> Option<u64> {
    let Some(ui) = ui else {
        stats.record(&CollectError::Missing {
            what: format!("vault {address}"),
        });
        return None;
    };
    let decoded = account_bytes(&ui, token::MAX_TOKEN_ACCOUNT_SIZE).and_then(|d| {
        token::decode_token_amount(&ui.owner, &d, mint, authority).map_err(|e| e.to_string())
    });
    match decoded {
        Ok(amount) => Some(amount),
        Err(message) => {
            stats.record(&CollectError::Decode {
                what: format!("vault {address}"),
                message,
            });
            None
        }
    }
}

impl MiningPool {
    /// A collector reading through `rpc`.
    pub fn new(rpc: Rpc, settings: Settings, stats: Arc<Stats>) -> Self {
        MiningPool {
            rpc,
            settings,
            stats,
            decimals: Mutex::new(HashMap::new()),
        }
    }

    /// The decoded pools, in flag order; missing or foreign ones are recorded.
    async fn read_pools(&self) -> Result<Vec<(u64, Pubkey, Pool)>, CollectError> {
        let program = &self.settings.program;
        let addresses: Vec<Pubkey> = self
            .settings
            .indices
            .iter()
            .map(|i| pool_address(program, *i))
            .collect();
        let accounts = fetch_accounts(&self.rpc, &addresses).await?;
        let mut out = Vec::new();
        for ((index, address), ui) in self.settings.indices.iter().zip(addresses).zip(accounts) {
            let what = format!("pool {index} {address}");
            let Some(ui) = ui else {
                self.stats.record(&CollectError::Missing { what });
                continue;
            };
            let decoded = if ui.owner != program.to_string() {
                Err(format!("owned by {}, not the pool program", ui.owner))
            } else {
                account_bytes(&ui, POOL_ACCOUNT_SIZE)
                    .and_then(|d| decode_pool(&d).map_err(|e| e.to_string()))
            };
            match decoded {
                Ok(pool) => out.push((*index, address, pool)),
                Err(message) => self.stats.record(&CollectError::Decode { what, message }),
            }
        }
        Ok(out)
    }

    /// Lender accounts of the program, counted without their data.
    async fn count_lenders(&self) -> Result<u64, CollectError> {
        // A zero-length slice: the accounts are counted, no data is sent.
        let found = self
            .rpc
            .anchor_accounts(
                &self.settings.program,
                LENDER_ACCOUNT_SIZE,
                &LENDER_DISCRIMINATOR,
                Some(UiDataSliceConfig {
                    offset: 0,
                    length: 0,
                }),
            )
            .await?;
        Ok(found.len() as u64)
    }
}

impl Collector for MiningPool {
    const NAME: &'static str = "pool";
    type Snapshot = PoolSnapshot;

    async fn poll(&self) -> Result<PoolSnapshot, CollectError> {
        let pools = self.read_pools().await?;
        let vaults: Vec<Pubkey> = pools
            .iter()
            .map(|(_, address, p)| token::associated_token_address(address, &p.collateral_mint))
            .collect();
        let mut mints: Vec<Pubkey> = Vec::new();
        {
            let known = lock(&self.decimals);
            for (_, _, p) in &pools {
                for mint in [p.collateral_mint, p.redeemable_mint] {
                    if mint != Pubkey::default()
                        && !known.contains_key(&mint)
                        && !mints.contains(&mint)
                    {
                        mints.push(mint);
                    }
                }
            }
        }
        let mut wanted = vaults.clone();
        wanted.extend(&mints);
        let mut fetched = if wanted.is_empty() {
            Vec::new()
        } else {
            fetch_accounts(&self.rpc, &wanted).await?
        };
        let mint_accounts = fetched.split_off(vaults.len().min(fetched.len()));
        let in_use: Vec<Pubkey> = pools
            .iter()
            .flat_map(|(_, _, p)| [p.collateral_mint, p.redeemable_mint])
            .collect();
        let decimals = learn_decimals(&self.stats, &self.decimals, &in_use, &mints, mint_accounts);

        let mut entries = Vec::new();
        for ((index, address, pool), (vault, ui)) in
            pools.into_iter().zip(vaults.iter().zip(fetched))
        {
            let vault = vault_amount(&self.stats, vault, ui, &pool.collateral_mint, &address);
            let redeemable_decimals = if pool.redeemable_mint == Pubkey::default() {
                Some(0)
            } else {
                decimals.get(&pool.redeemable_mint).copied()
            };
            entries.push(PoolEntry {
                address: address.to_string(),
                index: index.to_string(),
                collateral_decimals: decimals.get(&pool.collateral_mint).copied(),
                redeemable_decimals,
                vault,
                pool,
            });
        }
        let lenders = match self.count_lenders().await {
            Ok(n) => Some(n),
            Err(e) => {
                self.stats.record(&e);
                None
            }
        };
        Ok(PoolSnapshot {
            program: self.settings.program.to_string(),
            pools: entries,
            lenders,
        })
    }

    fn encode(s: &PoolSnapshot, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        encode_pools(s, out)
    }

    fn backoff(&self) -> Option<std::time::Instant> {
        self.rpc.backoff.active()
    }
}

fn labels(p: &PoolEntry) -> [(&'static str, &str); 2] {
    [("pool", p.address.as_str()), ("index", p.index.as_str())]
}

/// A per-pool gauge in whole collateral tokens.
fn collateral_tokens(
    out: &mut DescriptorEncoder<'_>,
    pools: &[PoolEntry],
    name: &str,
    help: &str,
    raw: impl Fn(&PoolEntry) -> Option<u64>,
) -> fmt::Result {
    gauge(
        out,
        name,
        help,
        None,
        pools.iter().filter_map(|p| {
            Some((
                labels(p),
                token::whole_tokens(raw(p)?, p.collateral_decimals?),
            ))
        }),
    )
}

fn encode_pools(s: &PoolSnapshot, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
    let pools = &s.pools;
    gauge(
        out,
        "psyche_pool_info",
        "A mining pool of the program (polled every --pool.interval); always 1",
        None,
        pools.iter().map(|p| {
            let collateral_mint = p.pool.collateral_mint.to_string();
            (
                [
                    ("pool", p.address.clone()),
                    ("index", p.index.clone()),
                    ("collateral_mint", collateral_mint),
                    ("program", s.program.clone()),
                ],
                1i64,
            )
        }),
    )?;
    collateral_tokens(
        out,
        pools,
        "psyche_pool_max_deposit_tokens",
        "Deposit capacity of the pool, in whole collateral tokens (0 until set)",
        |p| Some(p.pool.max_deposit_collateral_amount),
    )?;
    collateral_tokens(
        out,
        pools,
        "psyche_pool_deposited_tokens",
        "Collateral deposited ever (never decreases), in whole tokens",
        |p| Some(p.pool.total_deposited_collateral_amount),
    )?;
    collateral_tokens(
        out,
        pools,
        "psyche_pool_extracted_tokens",
        "Collateral withdrawn by the pool authority, in whole tokens",
        |p| Some(p.pool.total_extracted_collateral_amount),
    )?;
    collateral_tokens(
        out,
        pools,
        "psyche_pool_remaining_tokens",
        "Capacity left for deposits: max deposit minus deposited (0 when full), in whole tokens",
        |p| Some(p.pool.remaining()),
    )?;
    gauge(
        out,
        "psyche_pool_fill_ratio",
        "Deposited over max deposit (0-1; absent while the capacity is 0)",
        None,
        pools
            .iter()
            .filter_map(|p| Some((labels(p), p.pool.fill_ratio()?))),
    )?;
    gauge(
        out,
        "psyche_pool_full",
        "1 when no capacity is left (remaining is 0, the website's rule)",
        None,
        pools
            .iter()
            .map(|p| (labels(p), i64::from(p.pool.remaining() == 0))),
    )?;
    collateral_tokens(
        out,
        pools,
        "psyche_pool_vault_balance_tokens",
        "Balance of the pool's collateral vault (its associated token account), in whole tokens",
        |p| p.vault,
    )?;
    gauge(
        out,
        "psyche_pool_claimed_redeemable_tokens",
        "Rewards claimed by lenders, in whole redeemable tokens",
        None,
        pools.iter().filter_map(|p| {
            Some((
                labels(p),
                token::whole_tokens(
                    p.pool.total_claimed_redeemable_amount,
                    p.redeemable_decimals?,
                ),
            ))
        }),
    )?;
    gauge(
        out,
        "psyche_pool_frozen",
        "1 when the pool is frozen (deposits, extraction and claims all fail)",
        None,
        pools.iter().map(|p| (labels(p), i64::from(p.pool.freeze))),
    )?;
    gauge(
        out,
        "psyche_pool_claiming_enabled",
        "1 when lenders can claim rewards",
        None,
        pools
            .iter()
            .map(|p| (labels(p), i64::from(p.pool.claiming_enabled))),
    )?;
    gauge(
        out,
        "psyche_pool_lenders",
        "Lender accounts of the mining-pool program, all pools together (Lender accounts do not name their pool)",
        None,
        s.lenders.map(|n| ([("program", s.program.as_str())], n)),
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_decimals_cache_keeps_only_the_mints_in_use() {
        use base64::Engine as _;
        let stats = Stats::new("pool");
        let (a, b) = (Pubkey::new_unique(), Pubkey::new_unique());
        let cache = Mutex::new(HashMap::from([(a, 6u8)]));
        let mint = UiAccount {
            lamports: 1,
            data: solana_account_decoder_client_types::UiAccountData::Binary(
                base64::engine::general_purpose::STANDARD.encode(token::encode_mint(9, 1)),
                UiAccountEncoding::Base64,
            ),
            owner: token::TOKEN_PROGRAM.to_string(),
            executable: false,
            rent_epoch: 0,
            space: None,
        };
        let known = learn_decimals(&stats, &cache, &[b], &[b], vec![Some(mint)]);
        assert_eq!(known, HashMap::from([(b, 9)]));
        assert_eq!(*lock(&cache), HashMap::from([(b, 9)]), "{a} forgotten");
    }
    use super::*;

    use crate::fixtures::{fixture, key};

    #[test]
    fn pool_fixture_decodes_to_expected_json() {
        let (bytes, e) = fixture("pool_open");
        let p = decode_pool(&bytes).unwrap();
        assert_eq!(u64::from(p.bump), e["bump"].as_u64().unwrap());
        assert_eq!(p.index, e["index"].as_u64().unwrap());
        assert_eq!(p.authority, key(&e["authority"]));
        assert_eq!(p.collateral_mint, key(&e["collateral_mint"]));
        assert_eq!(
            p.max_deposit_collateral_amount,
            e["max_deposit_collateral_amount"].as_u64().unwrap()
        );
        assert_eq!(
            p.total_deposited_collateral_amount,
            e["total_deposited_collateral_amount"].as_u64().unwrap()
        );
        assert_eq!(
            p.total_extracted_collateral_amount,
            e["total_extracted_collateral_amount"].as_u64().unwrap()
        );
        assert_eq!(p.claiming_enabled, e["claiming_enabled"].as_bool().unwrap());
        assert_eq!(p.redeemable_mint, key(&e["redeemable_mint"]));
        assert_eq!(
            p.total_claimed_redeemable_amount,
            e["total_claimed_redeemable_amount"].as_u64().unwrap()
        );
        assert_eq!(p.freeze, e["freeze"].as_bool().unwrap());
        assert_eq!(
            p.metadata.len() as u64,
            e["metadata.length"].as_u64().unwrap()
        );
        assert_eq!(
            std::str::from_utf8(&p.metadata).unwrap(),
            e["metadata.bytes"].as_str().unwrap()
        );
        // Psyche's own "available to deposit" is our remaining capacity.
        assert_eq!(
            p.remaining(),
            e["derived.available_to_deposit"].as_u64().unwrap()
        );
        // The encoder reproduces the fixture byte for byte.
        assert_eq!(encode_pool(&p), bytes);
    }

    #[test]
    fn pool_pda_matches_the_fixture_address() {
        let (_, e) = fixture("pool_open");
        let program = key(&e["owner_program_id"]);
        assert_eq!(
            pool_address(&program, e["index"].as_u64().unwrap()),
            key(&e["account_address"])
        );
    }

    #[test]
    fn lender_fixture_decodes_and_its_pda_matches() {
        let (bytes, e) = fixture("lender_a");
        let l = decode_lender(&bytes).unwrap();
        assert_eq!(u64::from(l.bump), e["bump"].as_u64().unwrap());
        assert_eq!(
            l.deposited_collateral_amount,
            e["deposited_collateral_amount"].as_u64().unwrap()
        );
        assert_eq!(
            l.claimed_redeemable_amount,
            e["claimed_redeemable_amount"].as_u64().unwrap()
        );
        let program = key(&e["owner_program_id"]);
        let pool = key(&e["pool_address"]);
        let user = key(&e["user"]);
        let (address, bump) =
            Pubkey::find_program_address(&[b"Lender", pool.as_ref(), user.as_ref()], &program);
        assert_eq!(address, key(&e["account_address"]));
        assert_eq!(bump, l.bump);
    }

    #[test]
    fn foreign_truncated_and_corrupt_accounts_are_errors() {
        let (bytes, _) = fixture("pool_open");
        assert_eq!(
            decode_pool(&bytes[..551]),
            Err(DecodeError::Size { len: 551 })
        );
        assert_eq!(decode_pool(&[]), Err(DecodeError::Size { len: 0 }));
        let (lender, _) = fixture("lender_a");
        assert_eq!(decode_pool(&lender), Err(DecodeError::Size { len: 32 }));
        let mut other = bytes.clone();
        other[0] ^= 1;
        assert!(matches!(
            decode_pool(&other),
            Err(DecodeError::Discriminator { .. })
        ));
        let mut bad_bool = bytes.clone();
        bad_bool[146] = 2;
        assert_eq!(
            decode_pool(&bad_bool),
            Err(DecodeError::Bool { offset: 146 })
        );
        let mut bad_len = bytes.clone();
        bad_len[147..149].copy_from_slice(&401u16.to_le_bytes());
        assert_eq!(decode_pool(&bad_len), Err(DecodeError::MetadataLength(401)));
        assert!(matches!(
            decode_lender(&bytes[..32]),
            Err(DecodeError::Discriminator { .. })
        ));
    }

    #[test]
    fn capacity_rules() {
        let (bytes, _) = fixture("pool_open");
        let mut p = decode_pool(&bytes).unwrap();
        assert_eq!(
            p.fill_ratio(),
            Some(1_234_567_890_123.0 / 5_000_000_000_000.0)
        );
        p.total_deposited_collateral_amount = p.max_deposit_collateral_amount;
        assert_eq!((p.remaining(), p.fill_ratio()), (0, Some(1.0)));
        // Capacity lowered below the deposits: still full, never negative.
        p.max_deposit_collateral_amount -= 1;
        assert_eq!(p.remaining(), 0);
        p.max_deposit_collateral_amount = 0;
        assert_eq!(p.fill_ratio(), None);
    }
}
