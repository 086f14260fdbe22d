//! What the telemetry collector reads of a `getTransaction` answer: whether it
//! succeeded, its block time, and its top-level instructions with their accounts
//! resolved to addresses.
//!
//! Both encodings Agave answers in are read: `base64` (what we ask for: the wire
//! format, legacy or version 0) and `json` (`message.accountKeys` and base58 `data`).
//! In a version-0 message, account indexes past the static keys name the addresses
//! loaded from lookup tables, which the answer lists in `meta.loadedAddresses`
//! (writable, then read-only). Every read is bounds-checked: a foreign or truncated
//! answer is an error for that transaction, never a panic.

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use solana_pubkey::Pubkey;

/// One top-level instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// The program it calls.
    pub program: Pubkey,
    /// Its accounts, in order.
    pub accounts: Vec<Pubkey>,
    /// Its data.
    pub data: Vec<u8>,
}

/// A confirmed transaction, reduced to what the collector reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The slot it landed in.
    pub slot: u64,
    /// Its block's time (Unix seconds), when the node knows it.
    pub block_time: Option<i64>,
    /// Whether it failed (`meta.err` set).
    pub failed: bool,
    /// Top-level instructions.
    pub instructions: Vec<Instruction>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    slot: u64,
    #[serde(default)]
    block_time: Option<i64>,
    meta: Option<Meta>,
    transaction: Encoded,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default)]
    err: Value,
    #[serde(default)]
    loaded_addresses: Option<Loaded>,
}

#[derive(Deserialize, Default)]
struct Loaded {
    #[serde(default)]
    writable: Vec<String>,
    #[serde(default)]
    readonly: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Encoded {
    Binary(String, String),
    Json(JsonTransaction),
}

#[derive(Deserialize)]
struct JsonTransaction {
    message: JsonMessage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonMessage {
    account_keys: Vec<String>,
    instructions: Vec<JsonInstruction>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonInstruction {
    program_id_index: usize,
    accounts: Vec<usize>,
    data: String,
}

/// The longest base58 instruction data a real transaction can carry: a transaction is at
/// most 1,232 bytes (Solana's `PACKET_DATA_SIZE`), 1,683 base58 characters. Longer data is
/// refused before decoding: base58 decoding is quadratic, and the 4 MiB a `getTransaction`
/// body may hold would take hours.
const MAX_DATA_BASE58: usize = 2048;

/// Read one `getTransaction` result (not `null`).
pub fn parse(result: Value) -> Result<Transaction, String> {
    let answer: Answer =
        serde_json::from_value(result).map_err(|e| format!("unexpected shape: {e}"))?;
    let meta = answer
        .meta
        .ok_or_else(|| "no meta (status unknown)".to_owned())?;
    let loaded = meta.loaded_addresses.unwrap_or_default();
    let mut extra = Vec::with_capacity(loaded.writable.len() + loaded.readonly.len());
    for key in loaded.writable.iter().chain(&loaded.readonly) {
        extra.push(pubkey(key)?);
    }
    let instructions = match answer.transaction {
        Encoded::Binary(data, encoding) => {
            if encoding != "base64" {
                return Err(format!("transaction encoded as {encoding:?}"));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data.as_bytes())
                .map_err(|e| format!("bad base64: {e}"))?;
            let (keys, compiled) = wire_message(&bytes)?;
            resolve(&keys, &extra, compiled)?
        }
        Encoded::Json(tx) => {
            let mut keys = Vec::with_capacity(tx.message.account_keys.len());
            for key in &tx.message.account_keys {
                keys.push(pubkey(key)?);
            }
            let mut compiled = Vec::with_capacity(tx.message.instructions.len());
            for ix in tx.message.instructions {
                if ix.data.len() > MAX_DATA_BASE58 {
                    return Err(format!(
                        "instruction data of {} base58 characters, more than a transaction holds",
                        ix.data.len()
                    ));
                }
                let data = base58_decode(&ix.data).ok_or_else(|| "bad base58 data".to_owned())?;
                compiled.push((ix.program_id_index, ix.accounts, data));
            }
            resolve(&keys, &extra, compiled)?
        }
    };
    Ok(Transaction {
        slot: answer.slot,
        block_time: answer.block_time,
        failed: !meta.err.is_null(),
        instructions,
    })
}

fn pubkey(s: &str) -> Result<Pubkey, String> {
    s.parse().map_err(|_| "bad address".to_owned())
}

type Compiled = (usize, Vec<usize>, Vec<u8>);

fn resolve(
    keys: &[Pubkey],
    extra: &[Pubkey],
    compiled: Vec<Compiled>,
) -> Result<Vec<Instruction>, String> {
    let key = |i: usize| {
        keys.get(i)
            .or_else(|| extra.get(i.checked_sub(keys.len())?))
            .copied()
            .ok_or_else(|| format!("account index {i} out of range"))
    };
    compiled
        .into_iter()
        .map(|(program, accounts, data)| {
            Ok(Instruction {
                program: key(program)?,
                accounts: accounts.into_iter().map(key).collect::<Result<_, _>>()?,
                data,
            })
        })
        .collect()
}

/// A bounds-checked reader of the wire format.
struct Wire<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Wire<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or_else(|| "transaction truncated".to_owned())?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    /// Solana's compact-u16 (`short_vec`) length: 1 to 3 bytes, 7 bits each.
    fn compact(&mut self) -> Result<usize, String> {
        let mut value = 0usize;
        for i in 0..3 {
            let b = self.u8()?;
            value |= usize::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("bad compact-u16 length".into())
    }

    fn bytes(&mut self) -> Result<Vec<u8>, String> {
        let n = self.compact()?;
        Ok(self.take(n)?.to_vec())
    }
}

/// The static account keys and compiled instructions of a wire transaction.
fn wire_message(tx: &[u8]) -> Result<(Vec<Pubkey>, Vec<Compiled>), String> {
    let mut w = Wire { data: tx, at: 0 };
    let signatures = w.compact()?;
    w.take(signatures.checked_mul(64).ok_or("too many signatures")?)?;
    let first = *w.data.get(w.at).ok_or("transaction truncated")?;
    if first & 0x80 != 0 {
        let version = first & 0x7f;
        if version != 0 {
            return Err(format!("message version {version}"));
        }
        w.u8()?;
    }
    w.take(3)?; // header
    let n = w.compact()?;
    let mut keys = Vec::with_capacity(n.min(256));
    for _ in 0..n {
        let mut k = [0u8; 32];
        k.copy_from_slice(w.take(32)?);
        keys.push(Pubkey::new_from_array(k));
    }
    w.take(32)?; // recent blockhash
    let n = w.compact()?;
    let mut compiled = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let program = usize::from(w.u8()?);
        let accounts = w.bytes()?.into_iter().map(usize::from).collect();
        let data = w.bytes()?;
        compiled.push((program, accounts, data));
    }
    Ok((keys, compiled))
}

/// Decode base58 (Bitcoin alphabet); `None` on a character outside it.
pub fn base58_decode(s: &str) -> Option<Vec<u8>> {
    // Big-endian base-256 digits, little end first while building.
    let mut bytes: Vec<u8> = Vec::with_capacity(s.len());
    for c in s.bytes() {
        let mut carry = u32::from(BASE58_INDEX.get(usize::from(c)).copied().flatten()?);
        for b in bytes.iter_mut() {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|c| *c == b'1').count();
    let mut out = vec![0u8; zeros];
    out.extend(bytes.iter().rev());
    Some(out)
}

const BASE58_ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static BASE58_INDEX: [Option<u8>; 128] = {
    let mut index = [None; 128];
    let mut i = 0;
    while i < 58 {
        index[BASE58_ALPHABET[i] as usize] = Some(i as u8);
        i += 1;
    }
    index
};

/// Base58 of any bytes (for tests and the fake node).
#[cfg(any(test, feature = "test-support"))]
pub fn base58_encode(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new();
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    let mut out = "1".repeat(zeros);
    out.extend(
        digits
            .iter()
            .rev()
            .map(|d| char::from(BASE58_ALPHABET[usize::from(*d)])),
    );
    out
}

/// An address-table lookup of a version-0 message: table, writable and read-only
/// indexes.
#[cfg(any(test, feature = "test-support"))]
pub type TableLookup = (Pubkey, Vec<u8>, Vec<u8>);

/// A transaction as a client sends it, for tests and the fake node: one signer, the
/// given static keys (the signer first) and instructions (program index, account
/// indexes, data), as a legacy or a version-0 message (with `lookups` address-table
/// lookups: table key, writable and read-only indexes).
#[cfg(any(test, feature = "test-support"))]
pub fn encode_wire(
    keys: &[Pubkey],
    instructions: &[(u8, Vec<u8>, Vec<u8>)],
    v0_lookups: Option<&[TableLookup]>,
) -> Vec<u8> {
    fn compact(out: &mut Vec<u8>, mut n: usize) {
        loop {
            let mut b = (n & 0x7f) as u8;
            n >>= 7;
            if n != 0 {
                b |= 0x80;
            }
            out.push(b);
            if n == 0 {
                break;
            }
        }
    }
    let mut out = Vec::new();
    compact(&mut out, 1);
    out.extend([7u8; 64]);
    if v0_lookups.is_some() {
        out.push(0x80);
    }
    out.extend([1, 0, 1]);
    compact(&mut out, keys.len());
    for k in keys {
        out.extend(k.as_ref());
    }
    out.extend([9u8; 32]);
    compact(&mut out, instructions.len());
    for (program, accounts, data) in instructions {
        out.push(*program);
        compact(&mut out, accounts.len());
        out.extend(accounts);
        compact(&mut out, data.len());
        out.extend(data);
    }
    if let Some(lookups) = v0_lookups {
        compact(&mut out, lookups.len());
        for (table, writable, readonly) in lookups {
            out.extend(table.as_ref());
            compact(&mut out, writable.len());
            out.extend(writable);
            compact(&mut out, readonly.len());
            out.extend(readonly);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> Vec<Pubkey> {
        (1..=4u8).map(|i| Pubkey::new_from_array([i; 32])).collect()
    }

    #[test]
    fn base58_round_trip() {
        for bytes in [&b""[..], &[0, 0, 1, 2], &[255; 40], &[0; 3]] {
            assert_eq!(base58_decode(&base58_encode(bytes)).as_deref(), Some(bytes));
        }
        let k = Pubkey::new_from_array([5; 32]);
        assert_eq!(base58_decode(&k.to_string()), Some(vec![5; 32]));
        assert_eq!(base58_decode("0OIl"), None);
        assert_eq!(base58_decode("é"), None);
    }

    #[test]
    fn legacy_and_v0_wire_messages() {
        let k = keys();
        let ix = vec![(3u8, vec![0u8, 1, 2], vec![1, 2, 3])];
        let legacy = encode_wire(&k, &ix, None);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&legacy);
        let tx = parse(json!({"slot": 5, "blockTime": 17, "meta": {"err": null},
            "transaction": [b64, "base64"]}))
        .unwrap();
        assert_eq!(tx.slot, 5);
        assert_eq!(tx.block_time, Some(17));
        assert!(!tx.failed);
        assert_eq!(tx.instructions[0].program, k[3]);
        assert_eq!(tx.instructions[0].accounts, k[..3]);
        assert_eq!(tx.instructions[0].data, [1, 2, 3]);

        // Version 0: index 4 is the first loaded (writable) address.
        let loaded = Pubkey::new_from_array([9; 32]);
        let ix = vec![(3u8, vec![0u8, 4, 2], vec![7])];
        let lookups = [(Pubkey::new_from_array([8; 32]), vec![0u8], vec![])];
        let v0 = encode_wire(&k, &ix, Some(&lookups));
        let b64 = base64::engine::general_purpose::STANDARD.encode(&v0);
        let tx = parse(json!({"slot": 6, "blockTime": null, "version": 0,
            "meta": {"err": {"InstructionError": [0, "Custom"]},
                     "loadedAddresses": {"writable": [loaded.to_string()], "readonly": []}},
            "transaction": [b64, "base64"]}))
        .unwrap();
        assert!(tx.failed);
        assert_eq!(tx.instructions[0].accounts, [k[0], loaded, k[2]]);
    }

    #[test]
    fn json_encoding() {
        let k = keys();
        let tx = parse(json!({"slot": 1, "meta": {"err": null},
            "transaction": {"signatures": ["x"], "message": {
                "accountKeys": k.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
                "header": {}, "recentBlockhash": "x",
                "instructions": [{"programIdIndex": 3, "accounts": [0, 1, 2],
                                  "data": base58_encode(&[4, 5]), "stackHeight": null}]}}}))
        .unwrap();
        assert_eq!(tx.instructions[0].data, [4, 5]);
        assert_eq!(tx.instructions[0].accounts, k[..3]);
    }

    #[test]
    fn bad_answers_are_errors() {
        let k = keys();
        let good = encode_wire(&k, &[(3, vec![0, 1, 2], vec![1; 10])], None);
        for n in 0..good.len() {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&good[..n]);
            assert!(
                parse(json!({"slot": 1, "meta": {"err": null}, "transaction": [b64, "base64"]}))
                    .is_err(),
                "truncated at {n}"
            );
        }
        for bad in [
            json!({"slot": 1, "transaction": ["", "base64"]}),
            json!({"slot": 1, "meta": {"err": null}, "transaction": ["AAAA", "base58"]}),
            json!({"slot": 1, "meta": {"err": null}, "transaction": ["!!", "base64"]}),
            json!({"slot": "x"}),
            json!([1, 2]),
            json!({"slot": 1, "meta": {"err": null}, "transaction": {"message": {
                "accountKeys": ["1"], "instructions": [{"programIdIndex": 9, "accounts": [], "data": ""}]}}}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        let v1 = {
            let mut t = encode_wire(&k, &[], Some(&[]));
            t[65] = 0x81;
            base64::engine::general_purpose::STANDARD.encode(&t)
        };
        let err = parse(json!({"slot": 1, "meta": {"err": null}, "transaction": [v1, "base64"]}))
            .unwrap_err();
        assert!(err.contains("version 1"), "{err}");
    }

    #[test]
    fn base58_data_longer_than_a_transaction_is_refused_before_decoding() {
        // Found while fuzzing: decoding is quadratic, so a hostile node's 4 MiB `data`
        // would hold the collector for hours. The longest real data still decodes.
        let answer = |data: String| {
            json!({"slot": 1, "meta": {"err": null}, "transaction": {"message": {
                "accountKeys": [Pubkey::new_from_array([1; 32]).to_string()],
                "instructions": [{"programIdIndex": 0, "accounts": [], "data": data}]}}})
        };
        let longest = base58_encode(&[0xff; 1232]);
        assert_eq!(longest.len(), 1683);
        assert_eq!(
            parse(answer(longest)).unwrap().instructions[0].data,
            [0xff; 1232]
        );
        let err = parse(answer("2".repeat(MAX_DATA_BASE58 + 1))).unwrap_err();
        assert!(err.contains("more than a transaction holds"), "{err}");
    }
}
