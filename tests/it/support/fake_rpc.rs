//! A fake Solana JSON-RPC node on 127.0.0.1, over real HTTP, so the real
//! `solana-rpc-client` and our transport are exercised. Replies are shaped
//! like mainnet/devnet answers; any method can be switched to a fault.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use psyche_exporter::collectors::telemetry::transaction::TableLookup;
use serde_json::{Value, json};

/// Genesis hash of devnet.
pub const DEVNET: &str = "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG";
/// Genesis hash of mainnet-beta.
pub const MAINNET: &str = "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d";

/// How the fake answers a method.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The normal, real-shaped answer.
    Normal,
    /// A JSON-RPC error object.
    RpcError {
        code: i64,
        message: String,
        data: Option<Value>,
    },
    /// An HTTP status with an empty body.
    Status(u16),
    /// HTTP 429, with a `Retry-After` header when given.
    TooManyRequests { retry_after: Option<String> },
    /// HTTP 200 with a body that is not JSON.
    Malformed,
    /// The normal answer, after a delay.
    Slow(Duration),
    /// HTTP 200 and a JSON-RPC answer that never ends.
    Endless,
    /// HTTP 200 announcing 100,000 bytes, then the connection reset after a few.
    Reset,
}

/// An account the fake node holds.
#[derive(Debug, Clone)]
pub struct StoredAccount {
    /// Owner program, base58.
    pub owner: String,
    /// The account data.
    pub data: Vec<u8>,
    /// A zstd frame sent instead of the data, as `base64+zstd` whatever was asked
    /// (or, with `bomb_zstd_only`, only when `base64+zstd` was asked).
    pub bomb: Option<Arc<Vec<u8>>>,
    /// See `bomb`.
    pub bomb_zstd_only: bool,
}

/// A version-0 message's address-table lookup and the addresses it loads.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The lookup table's address.
    pub table: String,
    /// Indexes into the table of the writable addresses.
    pub writable_indexes: Vec<u8>,
    /// Indexes into the table of the read-only addresses.
    pub readonly_indexes: Vec<u8>,
    /// The writable addresses loaded (base58).
    pub writable: Vec<String>,
    /// The read-only addresses loaded (base58).
    pub readonly: Vec<String>,
}

/// A confirmed transaction the fake node holds.
#[derive(Debug, Clone)]
pub struct StoredTx {
    /// Its first signature (base58).
    pub signature: String,
    /// The slot it landed in.
    pub slot: u64,
    /// Its block time.
    pub block_time: Option<i64>,
    /// `meta.err` (`None`: it succeeded).
    pub err: Option<Value>,
    /// Static account keys (base58), the signer first.
    pub keys: Vec<String>,
    /// Top-level instructions: program index, account indexes, data.
    pub instructions: Vec<(u8, Vec<u8>, Vec<u8>)>,
    /// Set for a version-0 message.
    pub v0: Option<Lookup>,
    /// Answer -32015 ("version not supported") this many times first.
    pub unsupported: u32,
}

#[derive(Debug, Default)]
struct FakeState {
    transactions: Mutex<Vec<StoredTx>>,
    fetches: Mutex<HashMap<String, u64>>,
    accounts: Mutex<BTreeMap<String, StoredAccount>>,
    overrides: Mutex<HashMap<String, Reply>>,
    all: Mutex<Option<Reply>>,
    calls: Mutex<BTreeMap<String, u64>>,
    params: Mutex<BTreeMap<String, Vec<Value>>>,
    slot: AtomicU64,
    genesis: Mutex<String>,
}

/// A running fake node; it stops when dropped.
pub struct FakeRpc {
    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub endpoint: String,
    state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeRpc {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeRpc {
    /// A healthy devnet node at slot 350,000,000 on 127.0.0.1.
    pub async fn start() -> FakeRpc {
        FakeRpc::start_on("127.0.0.1").await
    }

    /// The same on another loopback address (127.0.0.2, …), so that
    /// endpoints sort in a known order whatever ports they get.
    pub async fn start_on(ip: &str) -> FakeRpc {
        let state = Arc::new(FakeState::default());
        state.slot.store(350_000_000, Ordering::SeqCst);
        *state.genesis.lock().unwrap() = DEVNET.to_owned();
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeRpc {
            endpoint,
            state,
            task,
        }
    }

    /// A URL of this node carrying a secret in its path and query, as
    /// commercial RPC URLs do.
    pub fn secret_url(&self, secret: &str) -> String {
        format!("{}/{secret}/rpc?api-key={secret}", self.endpoint)
    }

    /// Answer `method` with `reply` from now on.
    pub fn set(&self, method: &str, reply: Reply) {
        self.state
            .overrides
            .lock()
            .unwrap()
            .insert(method.to_owned(), reply);
    }

    /// Answer every method with `reply` from now on.
    pub fn set_all(&self, reply: Reply) {
        *self.state.all.lock().unwrap() = Some(reply);
    }

    /// Back to normal answers.
    pub fn heal(&self) {
        *self.state.all.lock().unwrap() = None;
        self.state.overrides.lock().unwrap().clear();
    }

    /// Set the confirmed slot.
    pub fn set_slot(&self, slot: u64) {
        self.state.slot.store(slot, Ordering::SeqCst);
    }

    /// Pretend to be a node of another cluster.
    pub fn set_genesis(&self, hash: &str) {
        *self.state.genesis.lock().unwrap() = hash.to_owned();
    }

    /// Hold `data` at `address`, owned by `owner` (replacing what was there).
    pub fn put_account(&self, address: &str, owner: &str, data: Vec<u8>) {
        self.state.accounts.lock().unwrap().insert(
            address.to_owned(),
            StoredAccount {
                owner: owner.to_owned(),
                data,
                bomb: None,
                bomb_zstd_only: false,
            },
        );
    }

    /// Answer for the account at `address` (which must exist) a zstd frame of
    /// `inflated` zero bytes, as `base64+zstd` whatever encoding or slice was asked:
    /// a few KB on the wire.
    pub fn put_bomb(&self, address: &str, inflated: usize) {
        self.bomb(address, inflated, false);
    }

    /// The same, only for requests that ask for `base64+zstd` (the detail tier).
    pub fn put_zstd_bomb(&self, address: &str, inflated: usize) {
        self.bomb(address, inflated, true);
    }

    fn bomb(&self, address: &str, inflated: usize, zstd_only: bool) {
        use std::io::Write as _;
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), 19).unwrap();
        let zeros = vec![0u8; 1 << 20];
        let mut left = inflated;
        while left > 0 {
            let n = left.min(zeros.len());
            encoder.write_all(&zeros[..n]).unwrap();
            left -= n;
        }
        let frame = Arc::new(encoder.finish().unwrap());
        if let Some(account) = self.state.accounts.lock().unwrap().get_mut(address) {
            account.bomb = Some(frame);
            account.bomb_zstd_only = zstd_only;
        }
    }

    /// Hold a confirmed transaction (listed by every address it names).
    pub fn put_transaction(&self, tx: StoredTx) {
        self.state.transactions.lock().unwrap().push(tx);
    }

    /// Forget all but the newest `keep` transactions held (by arrival), so a
    /// long-running simulation stays small.
    pub fn retain_newest_transactions(&self, keep: usize) {
        let mut txs = self.state.transactions.lock().unwrap();
        let excess = txs.len().saturating_sub(keep);
        txs.drain(..excess);
    }

    /// `getTransaction` requests received for `signature`.
    pub fn fetches(&self, signature: &str) -> u64 {
        self.state
            .fetches
            .lock()
            .unwrap()
            .get(signature)
            .copied()
            .unwrap_or(0)
    }

    /// Free the account at `address`.
    pub fn remove_account(&self, address: &str) {
        self.state.accounts.lock().unwrap().remove(address);
    }

    /// Requests of `method` received so far.
    pub fn calls(&self, method: &str) -> u64 {
        self.state
            .calls
            .lock()
            .unwrap()
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// The params of the latest requests of `method` (at most 16), oldest first.
    pub fn params(&self, method: &str) -> Vec<Value> {
        self.state
            .params
            .lock()
            .unwrap()
            .get(method)
            .cloned()
            .unwrap_or_default()
    }

    /// Requests received so far, all methods.
    pub fn total_calls(&self) -> u64 {
        self.state.calls.lock().unwrap().values().sum()
    }
}

async fn handle(State(state): State<Arc<FakeState>>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "bad request").into_response();
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    *state
        .calls
        .lock()
        .unwrap()
        .entry(method.clone())
        .or_insert(0) += 1;
    {
        // Bounded: benchmarks send thousands of requests.
        let mut all = state.params.lock().unwrap();
        let kept = all.entry(method.clone()).or_default();
        if kept.len() == 16 {
            kept.remove(0);
        }
        kept.push(params.clone());
    }

    let reply = state
        .all
        .lock()
        .unwrap()
        .clone()
        .or_else(|| state.overrides.lock().unwrap().get(&method).cloned())
        .unwrap_or(Reply::Normal);
    match reply {
        Reply::Normal => normal(&state, id, &method, &params),
        Reply::Slow(delay) => {
            tokio::time::sleep(delay).await;
            normal(&state, id, &method, &params)
        }
        Reply::Endless => {
            let head = futures_util::stream::once(async move {
                Ok::<_, std::io::Error>(Bytes::from(format!(
                    "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":[\""
                )))
            });
            let tail = futures_util::stream::repeat_with(|| {
                Ok::<_, std::io::Error>(Bytes::from_static(&[b'A'; 65536]))
            });
            (
                [(header::CONTENT_TYPE, "application/json")],
                axum::body::Body::from_stream(futures_util::StreamExt::chain(head, tail)),
            )
                .into_response()
        }
        Reply::Reset => {
            let parts = futures_util::stream::iter([
                Ok(Bytes::from_static(b"{\"jsonrpc\":\"2.0\",\"result\"")),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "reset",
                )),
            ]);
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CONTENT_LENGTH, "100000"),
                ],
                axum::body::Body::from_stream(parts),
            )
                .into_response()
        }
        Reply::RpcError {
            code,
            message,
            data,
        } => {
            let mut error = json!({"code": code, "message": message});
            if let Some(data) = data {
                error["data"] = data;
            }
            json_response(json!({"jsonrpc": "2.0", "error": error, "id": id}))
        }
        Reply::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Reply::TooManyRequests { retry_after } => {
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "Too many requests").into_response();
            if let Some(r) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, r.parse().unwrap());
            }
            response
        }
        Reply::Malformed => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"jsonrpc\":\"2.0\",\"result\":{\"absoluteSlot\":",
        )
            .into_response(),
    }
}

fn json_response(v: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        v.to_string(),
    )
        .into_response()
}

fn commitment(params: &Value) -> &str {
    params
        .get(0)
        .and_then(|p| p.get("commitment"))
        .and_then(Value::as_str)
        .unwrap_or("finalized")
}

fn normal(state: &FakeState, id: Value, method: &str, params: &Value) -> Response {
    let slot = state.slot.load(Ordering::SeqCst);
    let result = match method {
        "getHealth" => json!("ok"),
        "getSlot" => match commitment(params) {
            "processed" => json!(slot + 2),
            "confirmed" => json!(slot),
            _ => json!(slot - 31),
        },
        "getEpochInfo" => json!({
            "absoluteSlot": slot,
            "blockHeight": slot - 12_345,
            "epoch": 810,
            "slotIndex": 108_000,
            "slotsInEpoch": 432_000,
            "transactionCount": 412_345_678_901u64
        }),
        "getRecentPerformanceSamples" => json!([
            {"numNonVoteTransactions": 1_200, "numSlots": 150, "numTransactions": 240_000, "samplePeriodSecs": 60, "slot": slot},
            {"numNonVoteTransactions": 900, "numSlots": 149, "numTransactions": 180_000, "samplePeriodSecs": 60, "slot": slot - 150}
        ]),
        "getVersion" => json!({"feature-set": 3_294_202_862u64, "solana-core": "2.3.6"}),
        "getGenesisHash" => json!(state.genesis.lock().unwrap().clone()),
        "getProgramAccounts" => match program_accounts(state, params) {
            Ok(v) => v,
            Err(message) => return invalid_params(id, &message),
        },
        "getMultipleAccounts" => {
            let accounts = state.accounts.lock().unwrap();
            let config = params.get(1).cloned().unwrap_or(Value::Null);
            let Some(keys) = params.get(0).and_then(Value::as_array) else {
                return invalid_params(id, "expected an array of addresses");
            };
            if keys.len() > 100 {
                return invalid_params(id, "Too many inputs provided; max 100");
            }
            let mut value = Vec::new();
            for key in keys {
                let found = key.as_str().and_then(|k| accounts.get(k));
                match found.map(|a| ui_account(a, &config)) {
                    Some(Ok(v)) => value.push(v),
                    Some(Err(m)) => return invalid_params(id, &m),
                    None => value.push(Value::Null),
                }
            }
            json!({"context": {"apiVersion": "2.3.6", "slot": slot}, "value": value})
        }
        "getSignaturesForAddress" => match signatures(state, params) {
            Ok(v) => v,
            Err(message) => return invalid_params(id, &message),
        },
        "getTransaction" => match transaction(state, params) {
            Ok(v) => v,
            Err((code, message)) => {
                return json_response(json!({
                    "jsonrpc": "2.0",
                    "error": {"code": code, "message": message},
                    "id": id
                }));
            }
        },
        "getAccountInfo" => {
            let accounts = state.accounts.lock().unwrap();
            let config = params.get(1).cloned().unwrap_or(Value::Null);
            let found = params
                .get(0)
                .and_then(Value::as_str)
                .and_then(|k| accounts.get(k));
            let value = match found.map(|a| ui_account(a, &config)) {
                Some(Ok(v)) => v,
                Some(Err(m)) => return invalid_params(id, &m),
                None => Value::Null,
            };
            json!({"context": {"apiVersion": "2.3.6", "slot": slot}, "value": value})
        }
        _ => {
            return json_response(json!({
                "jsonrpc": "2.0",
                "error": {"code": -32601, "message": "Method not found"},
                "id": id
            }));
        }
    };
    json_response(json!({"jsonrpc": "2.0", "result": result, "id": id}))
}

fn invalid_params(id: Value, message: &str) -> Response {
    json_response(json!({
        "jsonrpc": "2.0",
        "error": {"code": -32602, "message": format!("Invalid params: {message}")},
        "id": id
    }))
}

/// An account as the RPC renders it, honouring `encoding` and `dataSlice`.
fn ui_account(account: &StoredAccount, config: &Value) -> Result<Value, String> {
    use base64::Engine as _;
    let asked_zstd = config.get("encoding").and_then(Value::as_str) == Some("base64+zstd");
    if let Some(frame) = account
        .bomb
        .as_ref()
        .filter(|_| asked_zstd || !account.bomb_zstd_only)
    {
        return Ok(json!({
            "data": [base64::engine::general_purpose::STANDARD.encode(frame.as_slice()), "base64+zstd"],
            "executable": false,
            "lamports": 1_000_000_000u64,
            "owner": account.owner,
            "rentEpoch": u64::MAX,
            "space": account.data.len()
        }));
    }
    let mut data: &[u8] = &account.data;
    if let Some(slice) = config.get("dataSlice").filter(|s| !s.is_null()) {
        let offset = slice.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
        let length = slice.get("length").and_then(Value::as_u64).unwrap_or(0) as usize;
        let start = offset.min(data.len());
        let end = offset.saturating_add(length).min(data.len());
        data = &data[start..end];
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let encoding = config
        .get("encoding")
        .and_then(Value::as_str)
        .unwrap_or("base58");
    let rendered = match encoding {
        "base64" => json!([b64.encode(data), "base64"]),
        "base64+zstd" => json!([
            b64.encode(zstd::encode_all(data, 0).unwrap()),
            "base64+zstd"
        ]),
        "base58" => {
            if data.len() > 128 {
                return Err("Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.".into());
            }
            json!([bs58::encode(data).into_string(), "base58"])
        }
        other => return Err(format!("unsupported encoding {other}")),
    };
    Ok(json!({
        "data": rendered,
        "executable": false,
        "lamports": 1_000_000_000u64 + account.data.len() as u64 * 6_960,
        "owner": account.owner,
        "rentEpoch": u64::MAX,
        "space": account.data.len()
    }))
}

/// `getProgramAccounts` with `dataSize` and `memcmp` filters.
fn program_accounts(state: &FakeState, params: &Value) -> Result<Value, String> {
    use base64::Engine as _;
    let program = params
        .get(0)
        .and_then(Value::as_str)
        .ok_or("expected a program id")?;
    let config = params.get(1).cloned().unwrap_or(Value::Null);
    let filters = config
        .get("filters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let accounts = state.accounts.lock().unwrap();
    let mut out = Vec::new();
    'accounts: for (address, account) in accounts.iter().filter(|(_, a)| a.owner == program) {
        for filter in &filters {
            if let Some(size) = filter.get("dataSize").and_then(Value::as_u64) {
                if account.data.len() as u64 != size {
                    continue 'accounts;
                }
            } else if let Some(memcmp) = filter.get("memcmp") {
                let offset = memcmp
                    .get("offset")
                    .and_then(Value::as_u64)
                    .ok_or("memcmp without offset")? as usize;
                let text = memcmp
                    .get("bytes")
                    .and_then(Value::as_str)
                    .ok_or("memcmp without bytes")?;
                let bytes = match memcmp.get("encoding").and_then(Value::as_str) {
                    Some("base64") => base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .map_err(|e| e.to_string())?,
                    _ => bs58::decode(text).into_vec().map_err(|e| e.to_string())?,
                };
                if account.data.get(offset..offset + bytes.len()) != Some(&bytes[..]) {
                    continue 'accounts;
                }
            } else {
                return Err(format!("unsupported filter {filter}"));
            }
        }
        out.push(json!({"pubkey": address, "account": ui_account(account, &config)?}));
    }
    if config.get("withContext").and_then(Value::as_bool) == Some(true) {
        return Ok(
            json!({"context": {"apiVersion": "2.3.6", "slot": state.slot.load(Ordering::SeqCst)}, "value": out}),
        );
    }
    Ok(Value::Array(out))
}

/// Whether `tx` names `address` (static or loaded).
fn names(tx: &StoredTx, address: &str) -> bool {
    tx.keys.iter().any(|k| k == address)
        || tx
            .v0
            .as_ref()
            .is_some_and(|l| l.writable.iter().chain(&l.readonly).any(|k| k == address))
}

/// `getSignaturesForAddress`: newest first (slot, then arrival), down to `until`
/// (exclusive), at most `limit` (default and maximum 1000).
fn signatures(state: &FakeState, params: &Value) -> Result<Value, String> {
    let address = params
        .get(0)
        .and_then(Value::as_str)
        .ok_or("expected an address")?;
    let config = params.get(1).cloned().unwrap_or(Value::Null);
    let limit = config.get("limit").and_then(Value::as_u64).unwrap_or(1000);
    if limit > 1000 {
        return Err("Invalid limit; max 1000".into());
    }
    let until = config.get("until").and_then(Value::as_str);
    let txs = state.transactions.lock().unwrap();
    let mut mine: Vec<(usize, &StoredTx)> = txs
        .iter()
        .enumerate()
        .filter(|(_, t)| names(t, address))
        .collect();
    mine.sort_by_key(|(i, t)| std::cmp::Reverse((t.slot, *i)));
    let mut out = Vec::new();
    for (_, tx) in mine {
        if Some(tx.signature.as_str()) == until || out.len() as u64 == limit {
            break;
        }
        out.push(json!({
            "blockTime": tx.block_time,
            "confirmationStatus": "confirmed",
            "err": tx.err,
            "memo": null,
            "signature": tx.signature,
            "slot": tx.slot,
        }));
    }
    Ok(Value::Array(out))
}

/// `getTransaction` in the `base64` or `json` encoding, as Agave answers it.
fn transaction(state: &FakeState, params: &Value) -> Result<Value, (i64, String)> {
    let signature = params
        .get(0)
        .and_then(Value::as_str)
        .ok_or((-32602, "Invalid params: expected a signature".to_owned()))?;
    let config = params.get(1).cloned().unwrap_or(Value::Null);
    let encoding = config
        .get("encoding")
        .and_then(Value::as_str)
        .unwrap_or("json");
    let max_version = config
        .get("maxSupportedTransactionVersion")
        .and_then(Value::as_u64);
    *state
        .fetches
        .lock()
        .unwrap()
        .entry(signature.to_owned())
        .or_insert(0) += 1;
    let mut txs = state.transactions.lock().unwrap();
    let Some(tx) = txs.iter_mut().find(|t| t.signature == signature) else {
        return Ok(Value::Null);
    };
    let unsupported = || {
        (
            -32015,
            "Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: \"maxSupportedTransactionVersion\": 0".to_owned(),
        )
    };
    if tx.unsupported > 0 {
        tx.unsupported -= 1;
        return Err(unsupported());
    }
    if tx.v0.is_some() && max_version.is_none() {
        return Err(unsupported());
    }
    let keys: Vec<solana_pubkey::Pubkey> = tx.keys.iter().map(|k| k.parse().unwrap()).collect();
    let lookups: Option<Vec<TableLookup>> = tx.v0.as_ref().map(|l| {
        vec![(
            l.table.parse().unwrap(),
            l.writable_indexes.clone(),
            l.readonly_indexes.clone(),
        )]
    });
    let program = tx
        .instructions
        .first()
        .and_then(|(p, _, _)| tx.keys.get(usize::from(*p)))
        .cloned()
        .unwrap_or_default();
    let n_keys = tx.keys.len()
        + tx.v0
            .as_ref()
            .map_or(0, |l| l.writable.len() + l.readonly.len());
    let meta = json!({
        "computeUnitsConsumed": 23_456,
        "err": tx.err,
        "fee": 5000,
        "innerInstructions": [],
        "loadedAddresses": {
            "readonly": tx.v0.as_ref().map_or(vec![], |l| l.readonly.clone()),
            "writable": tx.v0.as_ref().map_or(vec![], |l| l.writable.clone()),
        },
        "logMessages": [
            format!("Program {program} invoke [1]"),
            "Program log: Instruction: Witness",
            format!("Program {program} consumed 23456 of 200000 compute units"),
            format!("Program {program} success"),
        ],
        "postBalances": vec![1_000_000u64; n_keys],
        "postTokenBalances": [],
        "preBalances": vec![1_005_000u64; n_keys],
        "preTokenBalances": [],
        "rewards": [],
        "status": match &tx.err { None => json!({"Ok": null}), Some(e) => json!({"Err": e}) },
    });
    let transaction = match encoding {
        "base64" => {
            use base64::Engine;
            let wire = psyche_exporter::collectors::telemetry::transaction::encode_wire(
                &keys,
                &tx.instructions,
                lookups.as_deref(),
            );
            json!([
                base64::engine::general_purpose::STANDARD.encode(wire),
                "base64"
            ])
        }
        "json" => {
            let mut message = json!({
                "accountKeys": tx.keys,
                "header": {
                    "numReadonlySignedAccounts": 0,
                    "numReadonlyUnsignedAccounts": 1,
                    "numRequiredSignatures": 1
                },
                "instructions": tx.instructions.iter().map(|(p, a, d)| json!({
                    "accounts": a,
                    "data": psyche_exporter::collectors::telemetry::transaction::base58_encode(d),
                    "programIdIndex": p,
                    "stackHeight": null
                })).collect::<Vec<_>>(),
                "recentBlockhash": "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N",
            });
            if let Some(l) = &tx.v0 {
                message["addressTableLookups"] = json!([{
                    "accountKey": l.table,
                    "readonlyIndexes": l.readonly_indexes,
                    "writableIndexes": l.writable_indexes,
                }]);
            }
            json!({"message": message, "signatures": [tx.signature]})
        }
        other => {
            return Err((
                -32602,
                format!("Invalid params: unsupported encoding {other}"),
            ));
        }
    };
    Ok(json!({
        "blockTime": tx.block_time,
        "meta": meta,
        "slot": tx.slot,
        "transaction": transaction,
        "version": if tx.v0.is_some() { json!(0) } else { json!("legacy") },
    }))
}
