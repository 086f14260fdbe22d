//! Run treasuries (`collector="treasurer"`): every `Run` of the treasurer program, the
//! coordinator run it pays for, its collateral vault, and how long the vault lasts.
//!
//! The treasurer pays 1 collateral base unit per earned point. Per poll:
//! 1. one `getProgramAccounts` for the treasurer `Run` accounts (`dataSize` 200 and a
//!    discriminator `memcmp`);
//! 2. one `getMultipleAccounts` (per 100) for each run's `CoordinatorInstance` (its run id;
//!    its owner is the coordinator program), its collateral vault (the associated token
//!    account of the Run PDA and its mint), and any mint whose decimals are not known yet;
//! 3. earned points and the epoch earning rate come from the coordinator collector's
//!    latest snapshot (read at poll time; earned points are its detail tier), joined on
//!    the coordinator account.
//!
//! A treasurer Run is linked to a run only while the instance it names exists and names
//! that Run as its `main_authority` (`run_create` sets it so); other Runs (their run was
//! freed, or re-created under another authority) have no series. The series carry the
//! run series' labels, `program` (the coordinator program) and `run_id`.
//!
//! | metric | labels (besides `program`, `run_id`) |
//! |---|---|
//! | `psyche_treasurer_run_info` | treasurer_run, collateral_mint |
//! | `psyche_treasurer_vault_balance_tokens` | |
//! | `psyche_treasurer_claimed_points`, `_unclaimed_points` | |
//! | `psyche_treasurer_funded_epochs` | |
//!
//! Definitions follow Psyche's `run-manager json-dump-run`: unclaimed = Σ earned over the
//! registered clients − claimed (saturating); surplus = vault − unclaimed (saturating, raw
//! units, since a point is a base unit); funded epochs = surplus / the current epoch's
//! `earning_rate_total_shared`, absent when that rate is 0 (json-dump-run prints infinity).
//!
//! Failure behaviour: a failed RPC call fails the poll (last snapshot kept until max
//! age). A Run, instance, vault or mint that does not decode is a `decode` error; a
//! missing vault or mint is `missing`; each drops only what needs it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::DescriptorEncoder;
use solana_pubkey::Pubkey;

use crate::collectors::coordinator::{
    Coordinator, ProgramId, account as coordinator_account, cluster_rpc, cluster_rpc_url,
};
use crate::collectors::pool::{Bytes, DecodeError, fetch_accounts, learn_decimals, vault_amount};
use crate::collectors::spec::{Built, Context, Spec};
use crate::collectors::token;
use crate::error::CollectError;
use crate::exposition::gauge;
use crate::flags::{RpcUrlParser, check_timing, max_age, parse_duration};
use crate::poller::{Collector, Slot, Stats};
use crate::rpc::{Rpc, RpcUrl, account_bytes};

/// The treasurer deployment.
pub const PROGRAM: &str = "EnU7DRx5az5YWxaxgqEGbXSYtudcfnjXewyBRRZCjJPw";
/// Anchor discriminator of the treasurer `Run`.
pub const RUN_DISCRIMINATOR: [u8; 8] = [0xc7, 0x36, 0x9b, 0x56, 0xeb, 0x73, 0xf6, 0xbd];
/// Anchor discriminator of `Participant`.
pub const PARTICIPANT_DISCRIMINATOR: [u8; 8] = [0x20, 0x8e, 0x6c, 0x4f, 0xf7, 0xb3, 0x36, 0x06];
/// Size of a treasurer `Run` account.
pub const RUN_ACCOUNT_SIZE: usize = 200;
/// Size of a `Participant` account.
pub const PARTICIPANT_ACCOUNT_SIZE: usize = 32;

/// A treasurer `Run` (`state/run.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreasurerRun {
    /// PDA bump.
    pub bump: u8,
    /// PDA seed.
    pub index: u64,
    /// Who may update the run.
    pub main_authority: Pubkey,
    /// Grantor of join authorizations.
    pub join_authority: Pubkey,
    /// The run's `CoordinatorAccount`.
    pub coordinator_account: Pubkey,
    /// The run's `CoordinatorInstance`.
    pub coordinator_instance: Pubkey,
    /// Reward token mint.
    pub collateral_mint: Pubkey,
    /// Reward tokens paid out, raw units.
    pub total_claimed_collateral_amount: u64,
    /// Points paid out.
    pub total_claimed_earned_points: u64,
}

/// A participant's claims (`state/participant.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Participant {
    /// PDA bump.
    pub bump: u8,
    /// Reward tokens claimed, raw units.
    pub claimed_collateral_amount: u64,
    /// Points claimed.
    pub claimed_earned_points: u64,
}

/// The `Run` PDA of `index` under `program`.
pub fn run_address(program: &Pubkey, index: u64) -> Pubkey {
    Pubkey::find_program_address(&[b"Run", &index.to_le_bytes()], program).0
}

/// Decode a treasurer `Run` account's full data.
pub fn decode_run(data: &[u8]) -> Result<TreasurerRun, DecodeError> {
    let r = Bytes(data);
    r.check(RUN_ACCOUNT_SIZE, &RUN_DISCRIMINATOR)?;
    Ok(TreasurerRun {
        bump: r.u8(8)?,
        index: r.u64(9)?,
        main_authority: r.pubkey(17)?,
        join_authority: r.pubkey(49)?,
        coordinator_account: r.pubkey(81)?,
        coordinator_instance: r.pubkey(113)?,
        collateral_mint: r.pubkey(145)?,
        total_claimed_collateral_amount: r.u64(177)?,
        total_claimed_earned_points: r.u64(185)?,
    })
}

/// Encode a treasurer `Run` as the program stores it (for tests).
#[cfg(any(test, feature = "test-support"))]
pub fn encode_run(run: &TreasurerRun) -> Vec<u8> {
    let mut d = vec![0u8; RUN_ACCOUNT_SIZE];
    d[0..8].copy_from_slice(&RUN_DISCRIMINATOR);
    d[8] = run.bump;
    d[9..17].copy_from_slice(&run.index.to_le_bytes());
    for (offset, key) in [
        (17, &run.main_authority),
        (49, &run.join_authority),
        (81, &run.coordinator_account),
        (113, &run.coordinator_instance),
        (145, &run.collateral_mint),
    ] {
        d[offset..offset + 32].copy_from_slice(key.as_ref());
    }
    d[177..185].copy_from_slice(&run.total_claimed_collateral_amount.to_le_bytes());
    d[185..193].copy_from_slice(&run.total_claimed_earned_points.to_le_bytes());
    d
}

/// Decode a `Participant` account's full data.
pub fn decode_participant(data: &[u8]) -> Result<Participant, DecodeError> {
    let r = Bytes(data);
    r.check(PARTICIPANT_ACCOUNT_SIZE, &PARTICIPANT_DISCRIMINATOR)?;
    Ok(Participant {
        bump: r.u8(8)?,
        claimed_collateral_amount: r.u64(9)?,
        claimed_earned_points: r.u64(17)?,
    })
}

/// One run's treasury, linked to its coordinator run.
#[derive(Debug, Clone, PartialEq)]
pub struct Treasury {
    /// Coordinator program (the instance's owner), as on the run series.
    pub program: String,
    /// Run id, as on the run series.
    pub run_id: String,
    /// The treasurer `Run` address.
    pub treasurer_run: String,
    /// Reward token mint.
    pub collateral_mint: String,
    /// Points paid out.
    pub claimed_points: u64,
    /// Raw vault balance, when the vault could be read.
    pub vault: Option<u64>,
    /// Mint decimals, when the mint could be read.
    pub decimals: Option<u8>,
    /// Σ earned over registered clients, from the coordinator's detail tier.
    pub earned: Option<u64>,
    /// The current epoch's `earning_rate_total_shared`, from the coordinator.
    pub earning_rate: Option<u64>,
}

impl Treasury {
    /// Points earned and not yet paid out.
    pub fn unclaimed(&self) -> Option<u64> {
        Some(self.earned?.saturating_sub(self.claimed_points))
    }

    /// Epochs the vault's surplus over the unclaimed points pays for at the current rate;
    /// none when the rate is 0 or an input is unknown.
    pub fn funded_epochs(&self) -> Option<f64> {
        let rate = self.earning_rate.filter(|r| *r > 0)?;
        let surplus = self.vault?.saturating_sub(self.unclaimed()?);
        Some(surplus as f64 / rate as f64)
    }
}

/// What one poll learned.
#[derive(Debug, Clone)]
pub struct TreasurerSnapshot {
    /// Linked treasuries, sorted by program then run id.
    pub runs: Vec<Treasury>,
}

/// Treasurer collector flags.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "collector.treasurer")]
pub struct Args {
    /// Disable the treasurer collector.
    #[arg(
        id = "no-collector.treasurer",
        long = "no-collector.treasurer",
        env = "PSYCHE_EXPORTER_NO_COLLECTOR_TREASURER"
    )]
    pub disabled: bool,
    /// Solana RPC URL of the treasurer program [default: --coordinator.rpc-url].
    #[arg(id = "treasurer.rpc-url", long = "treasurer.rpc-url", env = "PSYCHE_EXPORTER_TREASURER_RPC_URL", hide_env_values = true, value_parser = RpcUrlParser)]
    pub rpc_url: Option<RpcUrl>,
    /// Treasurer program.
    #[arg(id = "treasurer.program-id", long = "treasurer.program-id", env = "PSYCHE_EXPORTER_TREASURER_PROGRAM_ID", default_value = PROGRAM)]
    pub program_id: ProgramId,
    /// How often to read the treasuries (earned points come from the coordinator
    /// collector's latest reading).
    #[arg(id = "treasurer.interval", long = "treasurer.interval", env = "PSYCHE_EXPORTER_TREASURER_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Deadline for one poll (must be shorter than the interval).
    #[arg(id = "treasurer.timeout", long = "treasurer.timeout", env = "PSYCHE_EXPORTER_TREASURER_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How long to keep serving the last good treasuries when polls fail
    /// [default: 3 × interval].
    #[arg(id = "treasurer.max-age", long = "treasurer.max-age", env = "PSYCHE_EXPORTER_TREASURER_MAX_AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
}

impl Spec for Treasurer {
    type Args = Args;
    const HEADING: &'static str = "Treasurer (collector \"treasurer\")";
    /// Earned points and rates come from the runs.
    const DEPENDS_ON: &'static [&'static str] = &[Coordinator::NAME];

    fn enabled(args: &Args) -> bool {
        !args.disabled
    }

    fn validate(args: &Args, _ctx: &Context) -> Result<(), String> {
        check_timing("treasurer", args.interval, args.timeout)
    }

    fn rpc_urls(args: &Args, ctx: &Context) -> Vec<RpcUrl> {
        cluster_rpc_url(args.rpc_url.as_ref(), ctx)
            .cloned()
            .into_iter()
            .collect()
    }

    fn build(args: &Args, ctx: &Context, stats: Arc<Stats>) -> Result<Built<Self>, CollectError> {
        let rpc = cluster_rpc(
            args.rpc_url.as_ref(),
            "treasurer",
            ctx,
            args.timeout,
            &stats,
        )?;
        let settings = Settings {
            program: args.program_id.0,
        };
        Ok(Built {
            collector: Treasurer::new(rpc, settings, stats, ctx.slot::<Coordinator>()),
            interval: args.interval,
            deadline: args.timeout,
            max_age: max_age(args.max_age, args.interval),
        })
    }
}

/// Settings of the treasurer collector.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The treasurer program.
    pub program: Pubkey,
}

/// The collector.
pub struct Treasurer {
    rpc: Rpc,
    settings: Settings,
    stats: Arc<Stats>,
    runs: Option<Arc<Slot<Coordinator>>>,
    decimals: Mutex<HashMap<Pubkey, u8>>,
}

impl fmt::Debug for Treasurer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Treasurer")
            .field("rpc", &self.rpc)
            .finish_non_exhaustive()
    }
}

impl Treasurer {
    /// A collector reading through `rpc`; `runs` is the coordinator's slot, read at each
    /// poll for earned points and rates.
    pub fn new(
        rpc: Rpc,
        settings: Settings,
        stats: Arc<Stats>,
        runs: Option<Arc<Slot<Coordinator>>>,
    ) -> Self {
        Treasurer {
            rpc,
            settings,
            stats,
            runs,
            decimals: Mutex::new(HashMap::new()),
        }
    }

    async fn list_runs(&self) -> Result<Vec<(Pubkey, TreasurerRun)>, CollectError> {
        let found = self
            .rpc
            .anchor_accounts(
                &self.settings.program,
                RUN_ACCOUNT_SIZE,
                &RUN_DISCRIMINATOR,
                None,
            )
            .await?;
        let mut out = Vec::new();
        for (address, ui) in found {
            let decoded = account_bytes(&ui, RUN_ACCOUNT_SIZE)
                .and_then(|d| decode_run(&d).map_err(|e| e.to_string()));
            match decoded {
                Ok(run) => out.push((address, run)),
                Err(message) => self.stats.record(&CollectError::Decode {
                    what: format!("treasurer run {address}"),
                    message,
                }),
            }
        }
        Ok(out)
    }
}

impl Collector for Treasurer {
    const NAME: &'static str = "treasurer";
    type Snapshot = TreasurerSnapshot;

    async fn poll(&self) -> Result<TreasurerSnapshot, CollectError> {
        let runs = self.list_runs().await?;
        let mut mints: Vec<Pubkey> = Vec::new();
        {
            let known = self.decimals.lock().unwrap_or_else(|e| e.into_inner());
            for (_, run) in &runs {
                if !known.contains_key(&run.collateral_mint)
                    && !mints.contains(&run.collateral_mint)
                {
                    mints.push(run.collateral_mint);
                }
            }
        }
        let vaults: Vec<Pubkey> = runs
            .iter()
            .map(|(address, run)| token::associated_token_address(address, &run.collateral_mint))
            .collect();
        let mut wanted: Vec<Pubkey> = runs.iter().map(|(_, r)| r.coordinator_instance).collect();
        wanted.extend(&vaults);
        wanted.extend(&mints);
        let mut fetched = if wanted.is_empty() {
            Vec::new()
        } else {
            fetch_accounts(&self.rpc, &wanted).await?
        };
        let mint_accounts = fetched.split_off((2 * runs.len()).min(fetched.len()));
        let vault_accounts = fetched.split_off(runs.len().min(fetched.len()));
        let instance_accounts = fetched;
        let in_use: Vec<Pubkey> = runs.iter().map(|(_, r)| r.collateral_mint).collect();
        let decimals = learn_decimals(&self.stats, &self.decimals, &in_use, &mints, mint_accounts);
        let coordinator = self.runs.as_ref().and_then(|s| s.fresh());

        let mut out = Vec::new();
        for (((address, run), instance), (vault_address, vault)) in runs
            .into_iter()
            .zip(instance_accounts)
            .zip(vaults.iter().zip(vault_accounts))
        {
            let Some(instance) = instance else {
                tracing::debug!(treasurer_run = %address, "coordinator instance freed; not linked");
                continue;
            };
            let decoded = account_bytes(&instance, coordinator_account::INSTANCE_ACCOUNT_SIZE)
                .and_then(|d| coordinator_account::decode_instance(&d).map_err(|e| e.to_string()));
            let linked = match decoded {
                Ok(i) => i,
                Err(message) => {
                    self.stats.record(&CollectError::Decode {
                        what: format!("coordinator instance {}", run.coordinator_instance),
                        message,
                    });
                    continue;
                }
            };
            if linked.main_authority != address.to_bytes() {
                tracing::debug!(treasurer_run = %address, "instance names another authority; not linked");
                continue;
            }
            let program = instance.owner;
            let account = run.coordinator_account.to_string();
            let entry = coordinator.as_ref().and_then(|s| {
                s.runs
                    .iter()
                    .find(|e| e.account == account && e.program == program)
            });
            out.push(Treasury {
                vault: vault_amount(
                    &self.stats,
                    vault_address,
                    vault,
                    &run.collateral_mint,
                    &address,
                ),
                decimals: decimals.get(&run.collateral_mint).copied(),
                earned: entry.and_then(|e| Some(e.run.detail.as_ref()?.earned_sum)),
                earning_rate: entry.map(|e| {
                    e.run
                        .clients_state
                        .current_epoch_rates
                        .earning_rate_total_shared
                }),
                program,
                run_id: linked.run_id,
                treasurer_run: address.to_string(),
                collateral_mint: run.collateral_mint.to_string(),
                claimed_points: run.total_claimed_earned_points,
            });
        }
        out.sort_by(|a, b| (&a.program, &a.run_id).cmp(&(&b.program, &b.run_id)));
        Ok(TreasurerSnapshot { runs: out })
    }

    fn encode(s: &TreasurerSnapshot, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        encode_treasuries(&s.runs, out)
    }

    fn backoff(&self) -> Option<std::time::Instant> {
        self.rpc.backoff.active()
    }
}

fn labels(t: &Treasury) -> [(&'static str, &str); 2] {
    [
        ("program", t.program.as_str()),
        ("run_id", t.run_id.as_str()),
    ]
}

fn encode_treasuries(runs: &[Treasury], out: &mut DescriptorEncoder<'_>) -> fmt::Result {
    gauge(
        out,
        "psyche_treasurer_run_info",
        "A run paid by the treasurer program (polled every --treasurer.interval); always 1",
        None,
        runs.iter().map(|t| {
            (
                [
                    ("program", t.program.as_str()),
                    ("run_id", t.run_id.as_str()),
                    ("treasurer_run", t.treasurer_run.as_str()),
                    ("collateral_mint", t.collateral_mint.as_str()),
                ],
                1i64,
            )
        }),
    )?;
    gauge(
        out,
        "psyche_treasurer_vault_balance_tokens",
        "Balance of the run's reward vault (associated token account of the treasurer Run), in whole tokens",
        None,
        runs.iter()
            .filter_map(|t| Some((labels(t), token::whole_tokens(t.vault?, t.decimals?)))),
    )?;
    gauge(
        out,
        "psyche_treasurer_claimed_points",
        "Earned points already paid out (1 point = 1 base unit of the reward token)",
        None,
        runs.iter().map(|t| (labels(t), t.claimed_points)),
    )?;
    gauge(
        out,
        "psyche_treasurer_unclaimed_points",
        "Points earned by all registered clients minus points paid out (coordinator detail tier)",
        None,
        runs.iter()
            .filter_map(|t| Some((labels(t), t.unclaimed()?))),
    )?;
    gauge(
        out,
        "psyche_treasurer_funded_epochs",
        "Vault surplus over the unclaimed points divided by the current epoch earning rate: epochs the vault still pays for (absent when the rate is 0)",
        None,
        runs.iter()
            .filter_map(|t| Some((labels(t), t.funded_epochs()?))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fixtures::{fixture, key};

    #[test]
    fn run_fixture_decodes_to_expected_json() {
        let (bytes, e) = fixture("treasurer_run");
        let r = decode_run(&bytes).unwrap();
        assert_eq!(u64::from(r.bump), e["bump"].as_u64().unwrap());
        assert_eq!(r.index, e["index"].as_u64().unwrap());
        assert_eq!(r.main_authority, key(&e["main_authority"]));
        assert_eq!(r.join_authority, key(&e["join_authority"]));
        assert_eq!(r.coordinator_account, key(&e["coordinator_account"]));
        assert_eq!(r.coordinator_instance, key(&e["coordinator_instance"]));
        assert_eq!(r.collateral_mint, key(&e["collateral_mint"]));
        assert_eq!(
            r.total_claimed_collateral_amount,
            e["total_claimed_collateral_amount"].as_u64().unwrap()
        );
        assert_eq!(
            r.total_claimed_earned_points,
            e["total_claimed_earned_points"].as_u64().unwrap()
        );
        assert_eq!(encode_run(&r), bytes);
        let program = key(&e["owner_program_id"]);
        assert_eq!(run_address(&program, r.index), key(&e["account_address"]));
    }

    #[test]
    fn run_fixture_points_at_coord_train_37() {
        let (bytes, _) = fixture("treasurer_run");
        let run = decode_run(&bytes).unwrap();
        let (_, coord) = fixture("coord_train_37");
        assert_eq!(run.coordinator_account, key(&coord["account_address"]));
        assert_eq!(
            run.coordinator_instance,
            key(&coord["coordinator_instance_address"])
        );
        let (inst, ie) = fixture("coord_train_37.instance");
        let instance = coordinator_account::decode_instance(&inst).unwrap();
        let (_, te) = fixture("treasurer_run");
        assert_eq!(
            Pubkey::new_from_array(instance.main_authority),
            key(&te["account_address"])
        );
        assert_eq!(instance.run_id, ie["run_id"].as_str().unwrap());
    }

    #[test]
    fn participant_fixture_decodes_and_its_pda_matches() {
        let (bytes, e) = fixture("treasurer_participant");
        let p = decode_participant(&bytes).unwrap();
        assert_eq!(u64::from(p.bump), e["bump"].as_u64().unwrap());
        assert_eq!(
            p.claimed_collateral_amount,
            e["claimed_collateral_amount"].as_u64().unwrap()
        );
        assert_eq!(
            p.claimed_earned_points,
            e["claimed_earned_points"].as_u64().unwrap()
        );
        let seeds = e["pda_seeds"].as_array().unwrap();
        let run = key(&seeds[1]);
        let user = key(&e["user"]);
        let (address, bump) = Pubkey::find_program_address(
            &[b"Participant", run.as_ref(), user.as_ref()],
            &key(&e["owner_program_id"]),
        );
        assert_eq!(address, key(&e["account_address"]));
        assert_eq!(bump, p.bump);
    }

    #[test]
    fn wrong_size_or_type_is_an_error() {
        let (bytes, _) = fixture("treasurer_run");
        assert_eq!(
            decode_run(&bytes[..199]),
            Err(DecodeError::Size { len: 199 })
        );
        let (participant, _) = fixture("treasurer_participant");
        assert_eq!(decode_run(&participant), Err(DecodeError::Size { len: 32 }));
        let mut other = bytes.clone();
        other[7] ^= 0xff;
        assert!(matches!(
            decode_run(&other),
            Err(DecodeError::Discriminator { .. })
        ));
        assert!(matches!(
            decode_participant(&bytes[..32]),
            Err(DecodeError::Discriminator { .. })
        ));
    }

    fn treasury(vault: Option<u64>, earned: Option<u64>, rate: Option<u64>) -> Treasury {
        Treasury {
            program: "p".into(),
            run_id: "r".into(),
            treasurer_run: "t".into(),
            collateral_mint: "m".into(),
            claimed_points: 1_000,
            vault,
            decimals: Some(6),
            earned,
            earning_rate: rate,
        }
    }

    /// json-dump-run's definitions, including its saturations.
    #[test]
    fn unclaimed_and_funded_epochs() {
        let t = treasury(Some(10_000), Some(5_000), Some(2_000));
        assert_eq!(t.unclaimed(), Some(4_000));
        assert_eq!(t.funded_epochs(), Some(3.0));
        // Underfunded: no surplus.
        assert_eq!(
            treasury(Some(3_000), Some(5_000), Some(2_000)).funded_epochs(),
            Some(0.0)
        );
        // Claimed more than the coordinator counts (e.g. a reset run): unclaimed is 0.
        assert_eq!(treasury(None, Some(500), None).unclaimed(), Some(0));
        // Rate 0: json-dump-run says infinity; we say nothing.
        assert_eq!(
            treasury(Some(10_000), Some(5_000), Some(0)).funded_epochs(),
            None
        );
        assert_eq!(treasury(None, Some(5_000), Some(1)).funded_epochs(), None);
        assert_eq!(treasury(Some(1), None, Some(1)).funded_epochs(), None);
    }
}
