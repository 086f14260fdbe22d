//! The decoders under test: their seeds, how a case's input is made, and the call.

use base64::Engine as _;
use psyche_exporter::collectors::coordinator::account::{
    self, AccountData, INSTANCE_ACCOUNT_SIZE, Layout, ListLengths, V0_ACCOUNT_SIZE,
    V1_ACCOUNT_SIZE, Window,
};
use psyche_exporter::collectors::telemetry::{transaction, witness};
use psyche_exporter::collectors::{pool, token, treasurer};
use psyche_exporter::rpc;
use serde_json::{Value, json};
use solana_account_decoder_client_types::{UiAccount, UiAccountData, UiAccountEncoding};
use solana_pubkey::Pubkey;

use crate::generate::{Case, INTERESTING};

/// One decoder under test. Its peak allocation while decoding one input of `n` bytes
/// must stay within `k × n + c` bytes (plus the output cap the caller passes, for
/// [`rpc::account_bytes`]). The bounds:
/// - accounts (coordinator `k = 2`, the small ones `k = 4`, `c` 8 KiB / 1 KiB): what is
///   decoded is a copy of some input bytes (strings, metadata, client lists);
/// - transactions, `k = 64`: each account-index byte of the wire message becomes a
///   `usize` and then a 32-byte `Pubkey` in a vector grown by doubling (base64 makes a wire
///   byte 1.33 input bytes, so 8 + 2 × 32 per wire byte is below 64 per input byte);
/// - [`rpc::account_bytes`], `k = 1` (the base64 decoded) plus the cap (the output buffer).
pub struct Target {
    pub name: &'static str,
    pub seeds: fn() -> Vec<Vec<u8>>,
    pub generate: fn(&mut Case) -> Input,
    /// Decodes; true when the input decoded without error.
    pub decode: fn(Input) -> bool,
    pub k: usize,
    pub c: usize,
}

impl Target {
    pub fn bound(&self, size: usize, allowance: usize) -> usize {
        self.k
            .saturating_mul(size)
            .saturating_add(self.c)
            .saturating_add(allowance)
    }
}

/// A case's input, as the decoder takes it.
pub enum Input {
    Bytes(Vec<u8>),
    Token {
        owner: String,
        data: Vec<u8>,
        mint: Pubkey,
        authority: Pubkey,
    },
    /// Coordinator account data; `size` is the bytes of its windows.
    Account {
        size: usize,
        data: AccountData,
    },
    /// A `getTransaction` result; `size` is its length as JSON text.
    Json {
        size: usize,
        value: Value,
    },
    /// An RPC account and the most bytes the caller accepts.
    Ui {
        ui: UiAccount,
        cap: usize,
    },
}

impl Input {
    /// The input's size in bytes, the unit of the allocation bound.
    pub fn size(&self) -> usize {
        match self {
            Input::Bytes(b) => b.len(),
            Input::Token { owner, data, .. } => owner.len() + data.len(),
            Input::Account { size, .. } | Input::Json { size, .. } => *size,
            Input::Ui { ui, .. } => match &ui.data {
                UiAccountData::Binary(s, _) | UiAccountData::LegacyBinary(s) => s.len(),
                UiAccountData::Json(_) => 0,
            },
        }
    }

    /// Bytes the decoder may allocate on top of the bound: the caller's output cap.
    pub fn allowance(&self) -> usize {
        match self {
            Input::Ui { cap, .. } => *cap,
            _ => 0,
        }
    }

    pub fn extension(&self) -> &'static str {
        match self {
            Input::Bytes(_) => "bin",
            Input::Json { .. } => "json",
            _ => "txt",
        }
    }

    /// The input as a file: raw bytes, JSON text or a debug print.
    pub fn dump(&self) -> Vec<u8> {
        match self {
            Input::Bytes(b) => b.clone(),
            Input::Json { value, .. } => serde_json::to_vec_pretty(value).unwrap_or_default(),
            Input::Token {
                owner,
                data,
                mint,
                authority,
            } => format!("owner {owner:?}\nmint {mint}\nauthority {authority}\ndata {data:?}\n")
                .into_bytes(),
            Input::Account { data, .. } => format!("{data:?}\n").into_bytes(),
            Input::Ui { ui, cap } => format!("cap {cap}\n{ui:?}\n").into_bytes(),
        }
    }
}

pub static TARGETS: [Target; 14] = [
    Target {
        name: "coordinator_v1",
        seeds: coordinator_v1_seeds,
        generate: coordinator,
        decode: decode_coordinator,
        k: 2,
        c: 8 << 10,
    },
    Target {
        name: "coordinator_v0",
        seeds: coordinator_v0_seeds,
        generate: coordinator,
        decode: decode_coordinator,
        k: 2,
        c: 8 << 10,
    },
    Target {
        name: "instance",
        seeds: instance_seeds,
        generate: bytes,
        decode: |i| bytes_of(i, |b| account::decode_instance(b).is_ok()),
        k: 4,
        c: 1 << 10,
    },
    Target {
        name: "pool",
        seeds: || vec![fixture("pool_open"), pool_with_full_metadata()],
        generate: bytes,
        decode: |i| bytes_of(i, |b| pool::decode_pool(b).is_ok()),
        k: 4,
        c: 1 << 10,
    },
    Target {
        name: "lender",
        seeds: || vec![fixture("lender_a")],
        generate: bytes,
        decode: |i| bytes_of(i, |b| pool::decode_lender(b).is_ok()),
        k: 4,
        c: 1 << 10,
    },
    Target {
        name: "treasurer_run",
        seeds: || vec![fixture("treasurer_run")],
        generate: bytes,
        decode: |i| bytes_of(i, |b| treasurer::decode_run(b).is_ok()),
        k: 4,
        c: 1 << 10,
    },
    Target {
        name: "treasurer_participant",
        seeds: || vec![fixture("treasurer_participant")],
        generate: bytes,
        decode: |i| bytes_of(i, |b| treasurer::decode_participant(b).is_ok()),
        k: 4,
        c: 1 << 10,
    },
    Target {
        name: "token_account",
        seeds: token_account_seeds,
        generate: token_input,
        decode: |i| match i {
            Input::Token {
                owner,
                data,
                mint,
                authority,
            } => token::decode_token_amount(&owner, &data, &mint, &authority).is_ok(),
            _ => unreachable!(),
        },
        k: 4,
        c: 1 << 10,
    },
    Target {
        name: "mint",
        seeds: mint_seeds,
        generate: token_input,
        decode: |i| match i {
            Input::Token { owner, data, .. } => token::decode_mint_decimals(&owner, &data).is_ok(),
            _ => unreachable!(),
        },
        k: 4,
        c: 1 << 10,
    },
    Target {
        name: "witness",
        seeds: witness_seeds,
        generate: bytes,
        decode: |i| bytes_of(i, |b| witness::decode_witness(b).is_ok()),
        k: 4,
        c: 1 << 10,
    },
    Target {
        name: "transaction_wire",
        seeds: wire_seeds,
        generate: transaction_wire,
        decode: decode_transaction,
        k: 64,
        c: 4 << 10,
    },
    Target {
        name: "transaction_json",
        seeds: wire_seeds,
        generate: transaction_json,
        decode: decode_transaction,
        k: 64,
        c: 4 << 10,
    },
    Target {
        name: "account_bytes",
        seeds: zstd_seeds,
        generate: ui_account,
        decode: |i| match i {
            Input::Ui { ui, cap } => rpc::account_bytes(&ui, cap).is_ok(),
            _ => unreachable!(),
        },
        k: 1,
        c: 4 << 10,
    },
    Target {
        name: "base58",
        seeds: || {
            vec![
                b"11111111111111111111111111111111".to_vec(),
                pubkey(7).to_string().into_bytes(),
            ]
        },
        generate: bytes,
        decode: |i| {
            bytes_of(i, |b| {
                std::str::from_utf8(b).is_ok_and(|s| transaction::base58_decode(s).is_some())
            })
        },
        k: 4,
        c: 1 << 10,
    },
];

fn bytes_of(input: Input, f: impl FnOnce(&[u8]) -> bool) -> bool {
    match input {
        Input::Bytes(b) => f(&b),
        _ => unreachable!(),
    }
}

fn bytes(c: &mut Case) -> Input {
    Input::Bytes(c.bytes())
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/accounts/");

fn fixture(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(format!("{FIXTURES}{name}.bin.b64")).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

fn pubkey(n: u8) -> Pubkey {
    Pubkey::new_from_array([n; 32])
}

// --- coordinator ---

const COORD: [&str; 5] = [
    "coord_finished",
    "coord_train_37",
    "coord_uninitialized",
    "coord_waiting_hub",
    "coord_warmup_p2p",
];

/// Every coordinator fixture, decoded and re-encoded in `layout`, plus the real dump of
/// that layout as it is.
fn coordinator_seeds(layout: Layout, real: &str) -> Vec<Vec<u8>> {
    let mut seeds = vec![fixture(real)];
    for name in COORD
        .iter()
        .copied()
        .chain(["psyche_repo_v0_consilience", "psyche_repo_v1"])
    {
        let run = account::decode_run(&AccountData::full(fixture(name))).unwrap();
        seeds.push(account::encode_run(&run, layout));
    }
    seeds
}

fn coordinator_v1_seeds() -> Vec<Vec<u8>> {
    let mut seeds = coordinator_seeds(Layout::V1, "psyche_repo_v1");
    seeds.extend(COORD.iter().map(|n| fixture(n)));
    seeds
}

fn coordinator_v0_seeds() -> Vec<Vec<u8>> {
    coordinator_seeds(Layout::V0, "psyche_repo_v0_consilience")
}

fn account_input(total_len: usize, windows: Vec<(usize, Vec<u8>)>) -> Input {
    let size = windows.iter().map(|(_, b)| b.len()).sum();
    Input::Account {
        size,
        data: AccountData::windows(total_len, windows),
    }
}

/// Whole accounts (mutated, random, spliced), prefixes, and the windows the exporter
/// reads cut from mutated accounts, moved, shortened, dropped or claimed to be of another
/// account size.
fn coordinator(c: &mut Case) -> Input {
    let quota = c.budget / 8;
    if c.index < quota {
        let (i, len) = c.truncation(quota);
        let seed = &c.seeds.items[i];
        return account_input(seed.len(), vec![(0, seed[..len].to_vec())]);
    }
    match c.rng.below(100) {
        0..=39 => {
            let data = c.mutated();
            account_input(data.len(), vec![(0, data)])
        }
        40..=84 => coordinator_windows(c),
        85..=92 => {
            let data = c.random();
            account_input(data.len(), vec![(0, data)])
        }
        _ => {
            let mut data = c.spliced();
            c.mutate(&mut data, usize::MAX);
            if c.rng.chance(30) {
                c.resize(&mut data);
            }
            account_input(data.len(), vec![(0, data)])
        }
    }
}

fn list_length(c: &mut Case) -> usize {
    match c.rng.below(4) {
        0 => 0,
        1 => 256,
        2 => c.rng.below(300),
        _ => c.rng.below(8),
    }
}

fn coordinator_windows(c: &mut Case) -> Input {
    let i = c.rng.below(c.seeds.items.len());
    let mut bytes = c.seeds.items[i].clone();
    c.mutate(&mut bytes, i);
    let layout = Layout::from_account_size(bytes.len()).unwrap_or(Layout::V1);
    let mut windows: Vec<Window> = layout.state_windows().to_vec();
    if c.rng.chance(70) {
        let lists = ListLengths {
            epoch_clients: list_length(c),
            exited_clients: list_length(c),
            registered_clients: list_length(c),
        };
        windows.extend(layout.detail_windows(&lists));
    }
    for w in &mut windows {
        if c.rng.chance(10) {
            match c.rng.below(5) {
                0 => w.offset = w.offset.saturating_sub(1 + c.rng.below(16)),
                1 => w.offset += 1 + c.rng.below(16),
                2 => w.len = c.rng.below(w.len + 1),
                3 => w.len += 1 + c.rng.below(64),
                _ => w.offset = c.rng.below(bytes.len() + 16),
            }
        }
    }
    if c.rng.chance(15) && !windows.is_empty() {
        let at = c.rng.below(windows.len());
        windows.remove(at);
    }
    if c.rng.chance(5) {
        let offset = c.rng.below(bytes.len());
        windows.push(Window {
            offset,
            len: c.rng.below(4096),
        });
    }
    let total = if c.rng.chance(85) {
        bytes.len()
    } else {
        let random = c.rng.below(2 * V1_ACCOUNT_SIZE);
        *c.rng
            .pick(&[V0_ACCOUNT_SIZE, V1_ACCOUNT_SIZE, bytes.len() + 1, random])
    };
    let mut cut: Vec<(usize, Vec<u8>)> = windows
        .iter()
        .map(|w| (w.offset, w.slice(&bytes).to_vec()))
        .collect();
    if c.rng.chance(10) && !cut.is_empty() {
        let at = c.rng.below(cut.len());
        let len = cut[at].1.len();
        cut[at].1 = c.rng.bytes(len);
    }
    account_input(total, cut)
}

fn decode_coordinator(input: Input) -> bool {
    match input {
        Input::Account { data, .. } => account::decode_run(&data).is_ok(),
        _ => unreachable!(),
    }
}

fn instance_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = COORD
        .iter()
        .map(|n| fixture(&format!("{n}.instance")))
        .collect();
    let mut long = account::decode_instance(&seeds[0]).unwrap();
    long.run_id = "r".repeat(account::INSTANCE_RUN_ID_MAX_LEN);
    seeds.push(account::encode_instance(&long));
    assert!(seeds.iter().all(|s| s.len() == INSTANCE_ACCOUNT_SIZE));
    seeds
}

// --- pool, token ---

fn pool_with_full_metadata() -> Vec<u8> {
    let mut p = pool::decode_pool(&fixture("pool_open")).unwrap();
    p.metadata = (0..pool::POOL_METADATA_CAPACITY).map(|i| i as u8).collect();
    pool::encode_pool(&p)
}

fn token_account_seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![
        token::encode_token_account(&pubkey(1), &pubkey(2), 0),
        token::encode_token_account(&pubkey(3), &pubkey(4), u64::MAX),
        token::encode_token_account(&pubkey(5), &pubkey(6), 1_000_000),
    ];
    // A Token-2022 account with extensions: account type, then TLV entries.
    let mut extended = token::encode_token_account(&pubkey(7), &pubkey(8), 42);
    extended.push(2);
    extended.extend([7, 0, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    seeds.push(extended);
    seeds
}

fn mint_seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![
        token::encode_mint(6, 1_000_000),
        token::encode_mint(9, u64::MAX),
        token::encode_mint(0, 0),
    ];
    // A Token-2022 mint with extensions: padded to an account's size, account type, TLV.
    let mut extended = token::encode_mint(6, 5);
    extended.resize(token::TOKEN_ACCOUNT_SIZE, 0);
    extended.push(1);
    extended.extend([1, 0, 4, 0, 9, 9, 9, 9]);
    seeds.push(extended);
    seeds
}

fn owner(c: &mut Case) -> String {
    match c.rng.below(10) {
        0..=3 => token::TOKEN_PROGRAM.to_string(),
        4..=7 => token::TOKEN_2022_PROGRAM.to_string(),
        8 => {
            let len = c.rng.below(64);
            (0..len)
                .map(|_| char::from(32 + c.rng.byte() % 95))
                .collect()
        }
        _ => {
            let mut s = token::TOKEN_PROGRAM.to_string().into_bytes();
            let at = c.rng.below(s.len());
            s[at] = b'1' + c.rng.byte() % 9;
            String::from_utf8(s).unwrap()
        }
    }
}

/// Account data, an owner, and (mostly) the mint and authority the data names.
fn token_input(c: &mut Case) -> Input {
    let data = c.bytes();
    let key = |b: &[u8]| Pubkey::new_from_array(b.try_into().unwrap());
    let (mint, authority) = if data.len() >= 64 && c.rng.chance(80) {
        (key(&data[..32]), key(&data[32..64]))
    } else {
        let (a, b) = (c.rng.bytes(32), c.rng.bytes(32));
        (key(&a), key(&b))
    };
    Input::Token {
        owner: owner(c),
        data,
        mint,
        authority,
    }
}

// --- witness ---

fn witness_seeds() -> Vec<Vec<u8>> {
    let report = |evals: usize, loss: f32| witness::WitnessReport {
        step: 1234,
        tokens_per_sec: 52_000.5,
        bandwidth_per_sec: 1.5e7,
        loss,
        evals: (0..evals)
            .map(|i| ("e".repeat(1 + i * 31 / 7.max(evals)), i as f32 / 8.0))
            .collect(),
        efficiency: 0.9,
    };
    vec![
        witness::encode_witness(&report(0, 2.5)),
        witness::encode_witness(&report(2, f32::INFINITY)),
        witness::encode_witness(&report(witness::MAX_EVALS, 1.0)),
    ]
}

// --- transactions ---

/// Wire transactions: a witness (legacy), a version-0 message with lookups, several
/// instructions with many accounts.
fn wire_seeds() -> Vec<Vec<u8>> {
    let keys: Vec<Pubkey> = (1..=6).map(pubkey).collect();
    let report = witness_seeds().pop().unwrap();
    vec![
        transaction::encode_wire(&keys[..3], &[(2, vec![0, 1], report.clone())], None),
        transaction::encode_wire(
            &keys[..4],
            &[(3, vec![0, 1, 4, 5], vec![1, 2, 3]), (2, vec![6], report)],
            Some(&[(pubkey(9), vec![0, 1], vec![2])]),
        ),
        transaction::encode_wire(
            &keys,
            &[
                (5, (0..6).collect(), vec![9; 40]),
                (4, vec![], vec![]),
                (1, vec![0; 200], vec![0; 3]),
            ],
            None,
        ),
    ]
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn address(c: &mut Case) -> Value {
    if c.rng.chance(5) {
        Value::String(
            c.rng
                .pick(&["", "0OIl", "x", "1111111111111111111111111111111111"])
                .to_string(),
        )
    } else {
        let b = c.rng.bytes(32);
        Value::String(Pubkey::new_from_array(b.try_into().unwrap()).to_string())
    }
}

fn addresses(c: &mut Case) -> Value {
    let n = c.rng.below(5);
    Value::Array((0..n).map(|_| address(c)).collect())
}

/// A `getTransaction` result around `transaction`, with missing or odd parts now and then.
fn envelope(c: &mut Case, transaction: Value) -> Value {
    let err = if c.rng.chance(20) {
        json!({"InstructionError": [0, {"Custom": 1}]})
    } else {
        Value::Null
    };
    let mut meta = json!({
        "err": err,
        "loadedAddresses": {"writable": addresses(c), "readonly": addresses(c)},
    });
    if c.rng.chance(10) {
        meta["loadedAddresses"] = random_value(c, 2);
    }
    let slot = c.rng.next_u64() >> c.rng.below(64);
    let block_time = if c.rng.chance(80) {
        json!(1_700_000_000 + c.rng.below(1 << 20))
    } else {
        Value::Null
    };
    let mut v = json!({
        "slot": slot,
        "blockTime": block_time,
        "meta": meta,
        "transaction": transaction,
    });
    if c.rng.chance(5) {
        let key = *c.rng.pick(&["slot", "blockTime", "meta", "transaction"]);
        if let Some(o) = v.as_object_mut() {
            o.remove(key);
        }
    }
    v
}

fn json_input(value: Value) -> Input {
    let size = serde_json::to_vec(&value).map(|v| v.len()).unwrap_or(0);
    Input::Json { size, value }
}

/// Wire bytes (truncated, mutated, random) as base64, in a result.
fn transaction_wire(c: &mut Case) -> Input {
    let wire = c.bytes();
    let mut text = b64(&wire);
    if c.rng.chance(3) && !text.is_empty() {
        let at = c.rng.below(text.len());
        let with: &&str = c.rng.pick(&["=", "-", "*", "\n", "é"]);
        text.replace_range(at..at + 1, with);
    }
    let encoding = if c.rng.chance(95) {
        "base64"
    } else {
        *c.rng.pick(&["base58", "json", "", "BASE64"])
    };
    let mut value = envelope(c, json!([text, encoding]));
    if c.rng.chance(10) {
        mutate_json(c, &mut value);
    }
    json_input(value)
}

fn index(c: &mut Case, n: usize) -> Value {
    match c.rng.below(20) {
        0 => json!(*c.rng.pick(&INTERESTING)),
        1 => json!(-1),
        2 => json!(1.5),
        3 => json!("0"),
        _ => json!(c.rng.below(n + 2)),
    }
}

fn base58_data(c: &mut Case) -> Value {
    match c.rng.below(10) {
        0 => Value::String("0OIl+/".into()),
        1 => {
            // Up to past the longest data a transaction can hold (1,683 characters).
            let n = if c.rng.chance(10) {
                1600 + c.rng.below(1000)
            } else {
                c.rng.below(700)
            };
            Value::String(
                (0..n)
                    .map(|_| char::from(b'1' + c.rng.byte() % 9))
                    .collect(),
            )
        }
        _ => {
            let n = c.rng.below(64);
            Value::String(transaction::base58_encode(&c.rng.bytes(n)))
        }
    }
}

/// A result in the `json` encoding (account keys and base58 instruction data), random
/// JSON of the right vocabulary, or a result around random JSON; mutated now and then.
fn transaction_json(c: &mut Case) -> Input {
    let mut value = match c.rng.below(10) {
        0..=5 => {
            let keys = c.rng.below(6);
            let account_keys: Vec<Value> = (0..keys).map(|_| address(c)).collect();
            let n = c.rng.below(5);
            let instructions: Vec<Value> = (0..n)
                .map(|_| {
                    let accounts = c.rng.below(6);
                    json!({
                        "programIdIndex": index(c, keys),
                        "accounts": (0..accounts).map(|_| index(c, keys)).collect::<Vec<_>>(),
                        "data": base58_data(c),
                    })
                })
                .collect();
            let tx =
                json!({"message": {"accountKeys": account_keys, "instructions": instructions}});
            envelope(c, tx)
        }
        6..=7 => random_value(c, 4),
        _ => {
            let tx = random_value(c, 3);
            envelope(c, tx)
        }
    };
    if c.rng.chance(30) {
        mutate_json(c, &mut value);
    }
    json_input(value)
}

const VOCABULARY: [&str; 16] = [
    "slot",
    "blockTime",
    "meta",
    "err",
    "loadedAddresses",
    "writable",
    "readonly",
    "transaction",
    "message",
    "accountKeys",
    "instructions",
    "programIdIndex",
    "accounts",
    "data",
    "version",
    "x",
];

fn random_value(c: &mut Case, depth: usize) -> Value {
    match c.rng.below(if depth == 0 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(c.rng.chance(50)),
        2 => match c.rng.below(3) {
            0 => json!(*c.rng.pick(&INTERESTING)),
            1 => json!(c.rng.next_u64() as i64),
            _ => json!(f64::from_bits(c.rng.next_u64()).clamp(-1e300, 1e300)),
        },
        3 => {
            let n = c.rng.below(40);
            Value::String((0..n).map(|_| char::from(32 + c.rng.byte() % 95)).collect())
        }
        4 => address(c),
        5 => {
            let n = c.rng.below(5);
            Value::Array((0..n).map(|_| random_value(c, depth - 1)).collect())
        }
        _ => {
            let n = c.rng.below(6);
            let mut o = serde_json::Map::new();
            for _ in 0..n {
                let k = *c.rng.pick(&VOCABULARY);
                o.insert(k.to_owned(), random_value(c, depth - 1));
            }
            Value::Object(o)
        }
    }
}

/// Replaces or removes one node somewhere in `value`.
fn mutate_json(c: &mut Case, value: &mut Value) {
    let descend = c.rng.chance(65);
    match value {
        Value::Object(o) if descend && !o.is_empty() => {
            let key = o.keys().nth(c.rng.below(o.len())).cloned().unwrap();
            if c.rng.chance(10) {
                o.remove(&key);
            } else {
                mutate_json(c, o.get_mut(&key).unwrap());
            }
        }
        Value::Array(a) if descend && !a.is_empty() => {
            let at = c.rng.below(a.len());
            if c.rng.chance(10) {
                a.remove(at);
            } else {
                mutate_json(c, &mut a[at]);
            }
        }
        _ => *value = random_value(c, 2),
    }
}

fn decode_transaction(input: Input) -> bool {
    match input {
        Input::Json { value, .. } => transaction::parse(value).is_ok(),
        _ => unreachable!(),
    }
}

// --- RPC account data ---

/// zstd frames of the small fixtures, a coordinator account and its state windows, and
/// bombs (megabytes of zeros in a few hundred bytes).
fn zstd_seeds() -> Vec<Vec<u8>> {
    let coordinator = fixture("psyche_repo_v1");
    let window = Layout::V1.state_windows()[0].slice(&coordinator).to_vec();
    let plain = [
        fixture("pool_open"),
        fixture("lender_a"),
        fixture("treasurer_run"),
        fixture("coord_train_37.instance"),
        window,
        coordinator,
        vec![0; 1 << 20],
        vec![0; 16 << 20],
    ];
    plain
        .iter()
        .enumerate()
        .map(|(i, p)| zstd::bulk::compress(p, 1 + (i as i32 % 3) * 3).unwrap())
        .collect()
}

/// The output caps the collectors pass, and a few others.
fn cap(c: &mut Case) -> usize {
    match c.rng.below(10) {
        0..=6 => *c.rng.pick(&[
            pool::LENDER_ACCOUNT_SIZE,
            token::MINT_SIZE,
            INSTANCE_ACCOUNT_SIZE,
            treasurer::RUN_ACCOUNT_SIZE,
            pool::POOL_ACCOUNT_SIZE,
            Layout::V1.state_windows()[0].len,
            token::MAX_TOKEN_ACCOUNT_SIZE,
            V1_ACCOUNT_SIZE,
        ]),
        7 => 0,
        _ => c.rng.below(4096),
    }
}

/// Account data as an RPC node answers it: mutated zstd frames, base64 near the cap,
/// broken base64 text, other encodings.
fn ui_account(c: &mut Case) -> Input {
    let cap = cap(c);
    let data = match c.rng.below(100) {
        0..=69 => UiAccountData::Binary(b64(&c.bytes()), UiAccountEncoding::Base64Zstd),
        70..=84 => {
            let len = match c.rng.below(4) {
                0 => cap.saturating_sub(1),
                1 => cap,
                2 => cap + 1,
                _ => c.rng.below(2 * cap + 2),
            };
            UiAccountData::Binary(b64(&c.rng.bytes(len)), UiAccountEncoding::Base64)
        }
        85..=94 => {
            let mut text = b64(&c.bytes()).into_bytes();
            c.mutate(&mut text, usize::MAX);
            if c.rng.chance(30) {
                c.resize(&mut text);
            }
            let text = String::from_utf8_lossy(&text).into_owned();
            let encoding = if c.rng.chance(50) {
                UiAccountEncoding::Base64
            } else {
                UiAccountEncoding::Base64Zstd
            };
            UiAccountData::Binary(text, encoding)
        }
        _ => {
            let n = c.rng.below(64);
            let text = b64(&c.rng.bytes(n));
            match c.rng.below(4) {
                0 => UiAccountData::LegacyBinary(text),
                1 => UiAccountData::Binary(text, UiAccountEncoding::Base58),
                2 => UiAccountData::Binary(text, UiAccountEncoding::Binary),
                _ => UiAccountData::Binary(text, UiAccountEncoding::JsonParsed),
            }
        }
    };
    let ui = UiAccount {
        lamports: 1,
        data,
        owner: String::new(),
        executable: false,
        rent_epoch: 0,
        space: None,
    };
    Input::Ui { ui, cap }
}
