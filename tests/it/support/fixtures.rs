//! The account fixtures (`tests/fixtures/accounts/`, copied unchanged from the
//! shared ground truth) and helpers that serve them from a fake RPC node.

use base64::Engine as _;
use psyche_exporter::collectors::coordinator::account::{self, AccountData, Instance, Layout};
use psyche_exporter::collectors::coordinator::{PROGRAM_LEGACY, PROGRAM_V1};
use psyche_exporter::collectors::token;
use serde_json::Value;
use solana_pubkey::Pubkey;

use super::fake_rpc::{FakeRpc, StoredTx};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/accounts/");

/// The synthetic coordinator fixtures, each with its instance account.
pub const COORD: [&str; 5] = [
    "coord_finished",
    "coord_train_37",
    "coord_uninitialized",
    "coord_waiting_hub",
    "coord_warmup_p2p",
];

/// The bytes of fixture `name` (`<name>.bin.b64`).
pub fn bytes(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(format!("{DIR}{name}.bin.b64")).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

/// The expected decode of fixture `name`.
pub fn expected(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}{name}.expected.json")).unwrap())
        .unwrap()
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} missing"))
}

/// A run served by a fake node: where it lives.
#[derive(Debug, Clone)]
pub struct Served {
    pub program: String,
    pub account: String,
    pub instance: String,
    pub run_id: String,
}

/// Serve a coordinator account and an instance pointing at it.
pub fn serve_run(
    fake: &FakeRpc,
    program: &str,
    account: Pubkey,
    instance: Pubkey,
    data: Vec<u8>,
) -> Served {
    let run = account::decode_run(&AccountData::full(data.clone())).unwrap();
    let inst = Instance {
        bump: 254,
        main_authority: [7; 32],
        join_authority: [8; 32],
        coordinator_account: account.to_bytes(),
        run_id: run.run_id.clone(),
    };
    fake.put_account(&account.to_string(), program, data);
    fake.put_account(
        &instance.to_string(),
        program,
        account::encode_instance(&inst),
    );
    Served {
        program: program.to_owned(),
        account: account.to_string(),
        instance: instance.to_string(),
        run_id: run.run_id,
    }
}

/// Serve all seven fixture runs: the five synthetic ones at their real
/// addresses under the current program, Psyche's v1 dump under the current
/// program and its legacy v0 dump under the previous one (at addresses of
/// our own: the dumps have none).
pub fn serve_all(fake: &FakeRpc) -> Vec<Served> {
    let mut out = Vec::new();
    for name in COORD {
        let e = expected(name);
        let program = str_field(&e, "owner_program_id");
        let address = str_field(&e, "account_address");
        let instance = str_field(&e, "coordinator_instance_address");
        fake.put_account(address, program, bytes(name));
        fake.put_account(instance, program, bytes(&format!("{name}.instance")));
        out.push(Served {
            program: program.to_owned(),
            account: address.to_owned(),
            instance: instance.to_owned(),
            run_id: str_field(&e, "state.coordinator.run_id").to_owned(),
        });
    }
    out.push(serve_run(
        fake,
        PROGRAM_V1,
        Pubkey::new_from_array([0x11; 32]),
        Pubkey::new_from_array([0x12; 32]),
        bytes("psyche_repo_v1"),
    ));
    out.push(serve_run(
        fake,
        PROGRAM_LEGACY,
        Pubkey::new_from_array([0x21; 32]),
        Pubkey::new_from_array([0x22; 32]),
        bytes("psyche_repo_v0_consilience"),
    ));
    out
}

/// `n` generated runs (`gen-000`, …) under the current program, made from a
/// fixture by our encoder, each at its own step.
pub fn serve_generated(fake: &FakeRpc, n: usize) -> Vec<Served> {
    let template = account::decode_run(&AccountData::full(bytes("coord_train_37"))).unwrap();
    (0..n)
        .map(|i| {
            let mut run = template.clone();
            run.run_id = format!("gen-{i:03}");
            run.progress.step = 100 + i as u32;
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            key[31] = 0xa0;
            let account = Pubkey::new_from_array(key);
            key[31] = 0xb0;
            let instance = Pubkey::new_from_array(key);
            serve_run(
                fake,
                PROGRAM_V1,
                account,
                instance,
                account::encode_run(&run, Layout::V1),
            )
        })
        .collect()
}

/// Where `pool_open` lives and what it names.
pub struct PoolServed {
    pub program: String,
    pub address: String,
    pub collateral_mint: Pubkey,
    pub vault: Pubkey,
}

/// Serve the `pool_open` and `lender_a` fixtures at their addresses, the collateral mint
/// (6 decimals) and redeemable mint (9 decimals), and a vault holding what the pool
/// should hold (deposited − extracted).
pub fn serve_pool_open(fake: &FakeRpc) -> PoolServed {
    let e = expected("pool_open");
    let program = e["owner_program_id"].as_str().unwrap().to_owned();
    let address = e["account_address"].as_str().unwrap().to_owned();
    fake.put_account(&address, &program, bytes("pool_open"));
    let l = expected("lender_a");
    fake.put_account(
        l["account_address"].as_str().unwrap(),
        &program,
        bytes("lender_a"),
    );
    let collateral_mint = key(e["collateral_mint"].as_str().unwrap());
    let token_program = token::TOKEN_PROGRAM.to_string();
    fake.put_account(
        &collateral_mint.to_string(),
        &token_program,
        token::encode_mint(6, 10_000_000_000_000),
    );
    fake.put_account(
        e["redeemable_mint"].as_str().unwrap(),
        &token_program,
        token::encode_mint(9, 0),
    );
    let pool_key = key(&address);
    let vault = token::associated_token_address(&pool_key, &collateral_mint);
    fake.put_account(
        &vault.to_string(),
        &token_program,
        token::encode_token_account(&collateral_mint, &pool_key, 234_567_890_123),
    );
    PoolServed {
        program,
        address,
        collateral_mint,
        vault,
    }
}

/// The treasurer_run fixture at its address, its mint (6 decimals) and, when `vault` is
/// given, its vault holding that many base units. Returns (run address, mint, vault).
pub fn serve_treasurer_run(fake: &FakeRpc, vault: Option<u64>) -> (Pubkey, Pubkey, Pubkey) {
    let e = expected("treasurer_run");
    let address = key(e["account_address"].as_str().unwrap());
    fake.put_account(
        &address.to_string(),
        e["owner_program_id"].as_str().unwrap(),
        bytes("treasurer_run"),
    );
    let mint = key(e["collateral_mint"].as_str().unwrap());
    let token_program = token::TOKEN_PROGRAM.to_string();
    fake.put_account(&mint.to_string(), &token_program, token::encode_mint(6, 0));
    let ata = token::associated_token_address(&address, &mint);
    if let Some(amount) = vault {
        fake.put_account(
            &ata.to_string(),
            &token_program,
            token::encode_token_account(&mint, &address, amount),
        );
    }
    (address, mint, ata)
}

fn key(s: &str) -> Pubkey {
    std::str::FromStr::from_str(s).unwrap()
}

/// Unique, valid-looking transaction signatures.
pub fn signature() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut bytes = [0u8; 64];
    bytes[..8].copy_from_slice(
        &N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_le_bytes(),
    );
    bytes[63] = 0x5a;
    psyche_exporter::collectors::telemetry::transaction::base58_encode(&bytes)
}

/// A client's wallet, numbered.
pub fn signer(i: u64) -> String {
    let mut k = [0x33u8; 32];
    k[..8].copy_from_slice(&i.to_le_bytes());
    Pubkey::new_from_array(k).to_string()
}

/// A successful transaction of `run`'s program from client `from` with one instruction
/// of `data` on `[signer, instance, account]`, as a client sends `witness` or `tick`.
pub fn run_instruction(
    run: &Served,
    slot: u64,
    block_time: i64,
    from: u64,
    data: Vec<u8>,
) -> StoredTx {
    StoredTx {
        signature: signature(),
        slot,
        block_time: Some(block_time),
        err: None,
        keys: vec![
            signer(from),
            run.instance.clone(),
            run.account.clone(),
            run.program.clone(),
        ],
        instructions: vec![(3, vec![0, 1, 2], data)],
        v0: None,
        unsupported: 0,
    }
}
