//! The coordinator's `witness` instruction data, and the `WitnessMetadata` it carries.
//!
//! Borsh, 830 bytes (`../shared/reference/psyche-onchain.md` §2.14): the Anchor
//! discriminator, the witness proof, two Bloom filters and a Merkle root (not read
//! here), then the metadata at offset 441:
//!
//! | offset | field | type |
//! |---|---|---|
//! | 441 | step | u32 |
//! | 445 | tokens_per_sec | f32 |
//! | 449 | bandwidth_per_sec | f32 |
//! | 453 | loss | f32 |
//! | 457 | evals.data | 8 × (name `[u8; 32]`, value f32) |
//! | 745 | evals.len | u64 (≤ 8) |
//! | 753 | prompt_results.data | 16 × i32 |
//! | 817 | prompt_results.len | u64 (≤ 16) |
//! | 825 | prompt_index | u8 |
//! | 826 | efficiency | f32 |
//!
//! The values are self-reported by each witness and neither stored nor checked by the
//! program. Psyche's client sends +inf as the loss when it has none and replaces NaN by
//! 0, so NaN anywhere, or an infinite throughput, means the data is not what this layout
//! says: it is rejected, never averaged. The unmerged `dev` layout (a `Vec<u8>` length
//! before the metadata) has another size and is rejected by size.

use std::fmt;

/// Anchor discriminator of `witness` (`sha256("global:witness")[..8]`).
pub const WITNESS_DISCRIMINATOR: [u8; 8] = [0xd5, 0xf4, 0x95, 0x19, 0x8e, 0xdf, 0x15, 0x27];
/// Size of the instruction data of the layout this decoder knows.
pub const WITNESS_DATA_SIZE: usize = 830;
/// Where `WitnessMetadata` starts.
pub const METADATA_OFFSET: usize = 441;
/// Capacity of `evals`.
pub const MAX_EVALS: usize = 8;
/// Capacity of `prompt_results`.
pub const MAX_PROMPT_RESULTS: usize = 16;
/// Bytes of an eval name.
pub const EVAL_NAME_SIZE: usize = 32;

const STEP: usize = METADATA_OFFSET;
const TOKENS_PER_SEC: usize = STEP + 4;
const BANDWIDTH_PER_SEC: usize = TOKENS_PER_SEC + 4;
const LOSS: usize = BANDWIDTH_PER_SEC + 4;
const EVALS: usize = LOSS + 4;
const EVAL_SIZE: usize = EVAL_NAME_SIZE + 4;
const EVALS_LEN: usize = EVALS + MAX_EVALS * EVAL_SIZE;
const PROMPT_RESULTS_LEN: usize = EVALS_LEN + 8 + MAX_PROMPT_RESULTS * 4;
const PROMPT_INDEX: usize = PROMPT_RESULTS_LEN + 8;
const EFFICIENCY: usize = PROMPT_INDEX + 1;

/// One witness's report of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct WitnessReport {
    /// The step reported on.
    pub step: u32,
    /// Its estimate of the run's tokens per second.
    pub tokens_per_sec: f32,
    /// Its bandwidth, bytes per second.
    pub bandwidth_per_sec: f32,
    /// Its training loss; +inf when it had none.
    pub loss: f32,
    /// Evaluation scores by name (NUL-trimmed UTF-8).
    pub evals: Vec<(String, f32)>,
    /// Its efficiency figure (not exported).
    pub efficiency: f32,
}

/// Why instruction data is not a witness report this decoder can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessError {
    /// Not the witness discriminator.
    Discriminator,
    /// Another size than the known layout's.
    Size(usize),
    /// `evals.len` or `prompt_results.len` beyond capacity.
    Length {
        /// Which list.
        field: &'static str,
        /// The length found.
        len: u64,
    },
    /// An eval name that is not UTF-8 after trimming NULs.
    EvalName,
    /// NaN (or an infinite rate) where the client never sends one.
    NotFinite(&'static str),
}

impl fmt::Display for WitnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WitnessError::Discriminator => f.write_str("not a witness instruction"),
            WitnessError::Size(n) => write!(
                f,
                "witness instruction data of {n} bytes (this exporter reads the {WITNESS_DATA_SIZE}-byte layout)"
            ),
            WitnessError::Length { field, len } => {
                write!(f, "{field} length {len} beyond capacity")
            }
            WitnessError::EvalName => f.write_str("eval name is not UTF-8"),
            WitnessError::NotFinite(field) => write!(f, "{field} is not a number"),
        }
    }
}

/// Whether `data` is a witness instruction (by discriminator only).
pub fn is_witness(data: &[u8]) -> bool {
    data.get(..8) == Some(&WITNESS_DISCRIMINATOR[..])
}

fn f32_at(data: &[u8], at: usize) -> f32 {
    let mut b = [0u8; 4];
    if let Some(s) = data.get(at..at + 4) {
        b.copy_from_slice(s);
    }
    f32::from_le_bytes(b)
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = data.get(at..at + 8) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

/// Decode the metadata of a `witness` instruction's data.
pub fn decode_witness(data: &[u8]) -> Result<WitnessReport, WitnessError> {
    if !is_witness(data) {
        return Err(WitnessError::Discriminator);
    }
    if data.len() != WITNESS_DATA_SIZE {
        return Err(WitnessError::Size(data.len()));
    }
    let evals_len = u64_at(data, EVALS_LEN);
    if evals_len > MAX_EVALS as u64 {
        return Err(WitnessError::Length {
            field: "evals",
            len: evals_len,
        });
    }
    let prompts_len = u64_at(data, PROMPT_RESULTS_LEN);
    if prompts_len > MAX_PROMPT_RESULTS as u64 {
        return Err(WitnessError::Length {
            field: "prompt_results",
            len: prompts_len,
        });
    }
    let mut step = [0u8; 4];
    step.copy_from_slice(&data[STEP..STEP + 4]);
    let report = WitnessReport {
        step: u32::from_le_bytes(step),
        tokens_per_sec: f32_at(data, TOKENS_PER_SEC),
        bandwidth_per_sec: f32_at(data, BANDWIDTH_PER_SEC),
        loss: f32_at(data, LOSS),
        evals: (0..evals_len as usize)
            .map(|i| {
                let at = EVALS + i * EVAL_SIZE;
                let name = &data[at..at + EVAL_NAME_SIZE];
                let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
                let name = std::str::from_utf8(&name[..end])
                    .map_err(|_| WitnessError::EvalName)?
                    .to_owned();
                Ok((name, f32_at(data, at + EVAL_NAME_SIZE)))
            })
            .collect::<Result<_, _>>()?,
        efficiency: f32_at(data, EFFICIENCY),
    };
    if !report.tokens_per_sec.is_finite() {
        return Err(WitnessError::NotFinite("tokens_per_sec"));
    }
    if !report.bandwidth_per_sec.is_finite() {
        return Err(WitnessError::NotFinite("bandwidth_per_sec"));
    }
    if report.loss.is_nan() {
        return Err(WitnessError::NotFinite("loss"));
    }
    if report.evals.iter().any(|(_, v)| !v.is_finite()) {
        return Err(WitnessError::NotFinite("eval"));
    }
    Ok(report)
}

/// Encode `report` as a client's `witness` instruction data (for tests; the proof,
/// Blooms and Merkle root are zero).
#[cfg(any(test, feature = "test-support"))]
pub fn encode_witness(report: &WitnessReport) -> Vec<u8> {
    let mut d = vec![0u8; WITNESS_DATA_SIZE];
    d[..8].copy_from_slice(&WITNESS_DISCRIMINATOR);
    d[STEP..STEP + 4].copy_from_slice(&report.step.to_le_bytes());
    d[TOKENS_PER_SEC..TOKENS_PER_SEC + 4].copy_from_slice(&report.tokens_per_sec.to_le_bytes());
    d[BANDWIDTH_PER_SEC..BANDWIDTH_PER_SEC + 4]
        .copy_from_slice(&report.bandwidth_per_sec.to_le_bytes());
    d[LOSS..LOSS + 4].copy_from_slice(&report.loss.to_le_bytes());
    for (i, (name, value)) in report.evals.iter().take(MAX_EVALS).enumerate() {
        let at = EVALS + i * EVAL_SIZE;
        let bytes = name.as_bytes();
        let n = bytes.len().min(EVAL_NAME_SIZE);
        d[at..at + n].copy_from_slice(&bytes[..n]);
        d[at + EVAL_NAME_SIZE..at + EVAL_SIZE].copy_from_slice(&value.to_le_bytes());
    }
    let evals = report.evals.len().min(MAX_EVALS) as u64;
    d[EVALS_LEN..EVALS_LEN + 8].copy_from_slice(&evals.to_le_bytes());
    d[EFFICIENCY..EFFICIENCY + 4].copy_from_slice(&report.efficiency.to_le_bytes());
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> WitnessReport {
        WitnessReport {
            step: 1234,
            tokens_per_sec: 52_000.5,
            bandwidth_per_sec: 1.5e7,
            loss: 2.75,
            evals: vec![("hellaswag".into(), 0.5), ("arc_easy".into(), 0.25)],
            efficiency: 0.9,
        }
    }

    #[test]
    fn offsets_follow_the_reference_table() {
        assert_eq!(
            (
                TOKENS_PER_SEC,
                LOSS,
                EVALS,
                EVALS_LEN,
                PROMPT_RESULTS_LEN,
                PROMPT_INDEX,
                EFFICIENCY
            ),
            (445, 453, 457, 745, 817, 825, 826)
        );
        assert_eq!(EFFICIENCY + 4, WITNESS_DATA_SIZE);
    }

    #[test]
    fn round_trip() {
        let r = report();
        assert_eq!(decode_witness(&encode_witness(&r)), Ok(r));
    }

    #[test]
    fn infinite_loss_is_a_report_without_loss() {
        let mut r = report();
        r.loss = f32::INFINITY;
        assert_eq!(
            decode_witness(&encode_witness(&r)).map(|d| d.loss),
            Ok(f32::INFINITY)
        );
    }

    #[test]
    fn bad_data_is_an_error_never_a_panic() {
        let good = encode_witness(&report());
        assert_eq!(decode_witness(&good[..7]), Err(WitnessError::Discriminator));
        assert_eq!(decode_witness(&good[..829]), Err(WitnessError::Size(829)));
        let mut longer = good.clone();
        longer.extend([0, 0, 0, 0]);
        assert_eq!(decode_witness(&longer), Err(WitnessError::Size(834)));
        let mut wrong = good.clone();
        wrong[0] ^= 1;
        assert_eq!(decode_witness(&wrong), Err(WitnessError::Discriminator));
        let mut evals = good.clone();
        evals[EVALS_LEN..EVALS_LEN + 8].copy_from_slice(&9u64.to_le_bytes());
        assert_eq!(
            decode_witness(&evals),
            Err(WitnessError::Length {
                field: "evals",
                len: 9
            })
        );
        let mut prompts = good.clone();
        prompts[PROMPT_RESULTS_LEN..PROMPT_RESULTS_LEN + 8]
            .copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            decode_witness(&prompts),
            Err(WitnessError::Length { .. })
        ));
        let mut name = good.clone();
        name[EVALS] = 0xff;
        assert_eq!(decode_witness(&name), Err(WitnessError::EvalName));
        for (at, field) in [
            (LOSS, "loss"),
            (TOKENS_PER_SEC, "tokens_per_sec"),
            (BANDWIDTH_PER_SEC, "bandwidth_per_sec"),
            (EVALS + EVAL_NAME_SIZE, "eval"),
        ] {
            let mut nan = good.clone();
            nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
            assert_eq!(decode_witness(&nan), Err(WitnessError::NotFinite(field)));
        }
        // Every truncation and every single-byte flip of a real shape.
        for n in 0..good.len() {
            let _ = decode_witness(&good[..n]);
            let mut flipped = good.clone();
            flipped[n] ^= 0xa5;
            let _ = decode_witness(&flipped);
        }
    }

    #[test]
    fn eval_names_are_nul_trimmed() {
        let mut r = report();
        r.evals = vec![("x".repeat(32), 1.0), ("mmlu".into(), 0.5)];
        let got = decode_witness(&encode_witness(&r)).unwrap();
        assert_eq!(got.evals[0].0.len(), 32);
        assert_eq!(got.evals[1].0, "mmlu");
    }
}
