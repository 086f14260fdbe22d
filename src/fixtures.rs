//! The account fixtures in `tests/fixtures/accounts/`, for unit tests: each
//! `<name>.bin.b64` dump and the `<name>.expected.json` it must decode to.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use solana_pubkey::Pubkey;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/accounts/");

/// The account bytes of fixture `name`.
pub fn bytes(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(format!("{DIR}{name}.bin.b64")).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

/// The expected decoded values of fixture `name`.
pub fn expected(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{DIR}{name}.expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Both.
pub fn fixture(name: &str) -> (Vec<u8>, serde_json::Value) {
    (bytes(name), expected(name))
}

/// A base58 key in an expected file.
pub fn key(v: &serde_json::Value) -> Pubkey {
    v.as_str().unwrap().parse().unwrap()
}
