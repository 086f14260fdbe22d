//! SPL Token accounts, as the pool and treasurer collectors need them: where a program's
//! vault lives (its associated token account), what it holds, and how many decimals its
//! mint has.
//!
//! Both Psyche programs create their vaults with `anchor_spl`'s classic Token program
//! (`associated_token::authority = …`), so the vault address is derived with the classic
//! program id. Token-2022 accounts share the first 165 bytes of the classic layout, so the
//! decoders accept either owner; only the address derivation is classic-only.

use std::fmt;

use solana_pubkey::Pubkey;

/// The classic SPL Token program.
pub const TOKEN_PROGRAM: Pubkey =
    Pubkey::from_str_const("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
/// The Token-2022 program (same base layout).
pub const TOKEN_2022_PROGRAM: Pubkey =
    Pubkey::from_str_const("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
/// The Associated Token Account program.
pub const ASSOCIATED_TOKEN_PROGRAM: Pubkey =
    Pubkey::from_str_const("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");

/// Size of a classic token account; Token-2022 accounts with extensions are longer.
pub const TOKEN_ACCOUNT_SIZE: usize = 165;
/// Size of a classic mint; Token-2022 mints with extensions are longer.
pub const MINT_SIZE: usize = 82;
/// The most bytes a token account or mint is read with: Token-2022 extensions make
/// them longer than the base layouts, never this long.
pub const MAX_TOKEN_ACCOUNT_SIZE: usize = 16 << 10;

/// The associated token account of `owner` for `mint` under the classic Token program.
pub fn associated_token_address(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[owner.as_ref(), TOKEN_PROGRAM.as_ref(), mint.as_ref()],
        &ASSOCIATED_TOKEN_PROGRAM,
    )
    .0
}

/// Why a token or mint account could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not owned by a token program.
    Owner(String),
    /// Shorter than the base layout.
    Size(usize),
    /// The account holds another mint or belongs to another owner than derived.
    Mismatch(&'static str),
    /// The mint or account is not initialized.
    Uninitialized,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Owner(o) => write!(f, "owned by {o}, not a token program"),
            TokenError::Size(n) => write!(f, "unexpected token account size {n} bytes"),
            TokenError::Mismatch(what) => {
                write!(f, "token account {what} differs from the derived one")
            }
            TokenError::Uninitialized => f.write_str("not initialized"),
        }
    }
}

impl std::error::Error for TokenError {}

fn check_owner(owner: &str) -> Result<(), TokenError> {
    let ok = [TOKEN_PROGRAM, TOKEN_2022_PROGRAM]
        .iter()
        .any(|p| p.to_string() == owner);
    if ok {
        Ok(())
    } else {
        Err(TokenError::Owner(owner.to_owned()))
    }
}

fn bytes32(data: &[u8], offset: usize) -> Option<[u8; 32]> {
    data.get(offset..offset + 32)?.try_into().ok()
}

/// The raw amount of a token account owned by `owner` (the RPC's owner field), checked
/// to hold `mint` for `authority`.
pub fn decode_token_amount(
    owner: &str,
    data: &[u8],
    mint: &Pubkey,
    authority: &Pubkey,
) -> Result<u64, TokenError> {
    check_owner(owner)?;
    if data.len() < TOKEN_ACCOUNT_SIZE {
        return Err(TokenError::Size(data.len()));
    }
    if bytes32(data, 0) != Some(mint.to_bytes()) {
        return Err(TokenError::Mismatch("mint"));
    }
    if bytes32(data, 32) != Some(authority.to_bytes()) {
        return Err(TokenError::Mismatch("owner"));
    }
    // AccountState at 108: 0 = uninitialized, 1 = initialized, 2 = frozen (still holds).
    if data.get(108) == Some(&0) {
        return Err(TokenError::Uninitialized);
    }
    let amount = data
        .get(64..72)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .ok_or(TokenError::Size(data.len()))?;
    Ok(u64::from_le_bytes(amount))
}

/// The decimals of a mint account owned by `owner`.
pub fn decode_mint_decimals(owner: &str, data: &[u8]) -> Result<u8, TokenError> {
    check_owner(owner)?;
    if data.len() < MINT_SIZE {
        return Err(TokenError::Size(data.len()));
    }
    if data.get(45) != Some(&1) {
        return Err(TokenError::Uninitialized);
    }
    data.get(44).copied().ok_or(TokenError::Size(data.len()))
}

/// `raw / 10^decimals` as f64: whole tokens. Exact while `raw` is below 2^53.
pub fn whole_tokens(raw: u64, decimals: u8) -> f64 {
    raw as f64 / 10f64.powi(i32::from(decimals))
}

/// A classic token account holding `amount` of `mint` for `authority`, as the Token
/// program lays it out (for tests and benchmarks).
#[cfg(any(test, feature = "test-support"))]
pub fn encode_token_account(mint: &Pubkey, authority: &Pubkey, amount: u64) -> Vec<u8> {
    let mut data = vec![0u8; TOKEN_ACCOUNT_SIZE];
    data[0..32].copy_from_slice(mint.as_ref());
    data[32..64].copy_from_slice(authority.as_ref());
    data[64..72].copy_from_slice(&amount.to_le_bytes());
    data[108] = 1;
    data
}

/// A classic mint with `decimals` (for tests and benchmarks).
#[cfg(any(test, feature = "test-support"))]
pub fn encode_mint(decimals: u8, supply: u64) -> Vec<u8> {
    let mut data = vec![0u8; MINT_SIZE];
    data[36..44].copy_from_slice(&supply.to_le_bytes());
    data[44] = decimals;
    data[45] = 1;
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn key(s: &str) -> Pubkey {
        Pubkey::from_str(s).unwrap()
    }

    /// Published vectors of other SPL implementations (solders, Solana.Swift).
    #[test]
    fn associated_token_addresses_match_published_vectors() {
        assert_eq!(
            associated_token_address(
                &key("5d21Nx19eZBThbExCn1ESAk3RGmE8Rdp9PKMWZ2VedSK"),
                &key("3CqfBkrmRsK3uXZaxktvTeeBkJp4yeFKs4mUi2jhKExz")
            ),
            key("Aumq2SPVzZccYL3UAhvXoDDkNYLZr2zpyxLuJiyx79te")
        );
        assert_eq!(
            associated_token_address(
                &key("3h1zGmCwsRJnVk5BuRNMLsPaQu1y2aqXqXDWYCgrp5UG"),
                &key("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
            ),
            key("3uetDDizgTtadDHZzyy9BqxrjQcozMEkxzbKhfZF4tG3")
        );
    }

    #[test]
    fn token_account_round_trip_and_checks() {
        let mint = Pubkey::new_from_array([1; 32]);
        let pool = Pubkey::new_from_array([2; 32]);
        let token = TOKEN_PROGRAM.to_string();
        let data = encode_token_account(&mint, &pool, 987_654_321);
        assert_eq!(
            decode_token_amount(&token, &data, &mint, &pool),
            Ok(987_654_321)
        );
        let t22 = TOKEN_2022_PROGRAM.to_string();
        assert_eq!(
            decode_token_amount(&t22, &data, &mint, &pool),
            Ok(987_654_321)
        );
        assert_eq!(
            decode_token_amount("11111111111111111111111111111111", &data, &mint, &pool),
            Err(TokenError::Owner("11111111111111111111111111111111".into()))
        );
        assert_eq!(
            decode_token_amount(&token, &data[..100], &mint, &pool),
            Err(TokenError::Size(100))
        );
        assert_eq!(
            decode_token_amount(&token, &data, &pool, &pool),
            Err(TokenError::Mismatch("mint"))
        );
        assert_eq!(
            decode_token_amount(&token, &data, &mint, &mint),
            Err(TokenError::Mismatch("owner"))
        );
        let mut uninit = data.clone();
        uninit[108] = 0;
        assert_eq!(
            decode_token_amount(&token, &uninit, &mint, &pool),
            Err(TokenError::Uninitialized)
        );
    }

    #[test]
    fn mint_decimals() {
        let token = TOKEN_PROGRAM.to_string();
        assert_eq!(decode_mint_decimals(&token, &encode_mint(6, 1)), Ok(6));
        assert_eq!(
            decode_mint_decimals(&token, &[0; 10]),
            Err(TokenError::Size(10))
        );
        assert_eq!(
            decode_mint_decimals(&token, &[0; MINT_SIZE]),
            Err(TokenError::Uninitialized)
        );
        assert!(decode_mint_decimals("x", &encode_mint(6, 1)).is_err());
    }

    #[test]
    fn whole_tokens_divide_by_decimals() {
        assert_eq!(whole_tokens(1_234_567_890_123, 6), 1_234_567.890123);
        assert_eq!(whole_tokens(5, 0), 5.0);
        assert_eq!(whole_tokens(0, 9), 0.0);
    }
}
