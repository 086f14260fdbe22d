//! `pool`: the mining pools.

use serde::Serialize;

use super::text::{Table, dash, opt, percent, tokens};
use super::{Answer, Inputs, POOL_MISSING, PoolEntry, PoolSnapshot, Tabular, View, pool_entries};

/// `pool`: the mining pools. Amounts are whole tokens (base units / 10^decimals).
#[derive(Debug, Clone, Serialize)]
pub struct PoolView {
    /// Whether pool data is in this answer.
    pub available: bool,
    /// Why not, when it is not.
    pub note: Option<String>,
    /// The pools, by address.
    pub pools: Vec<PoolEntry>,
}

/// The pool view of a snapshot, or of none.
pub fn pool_view(snapshot: Option<&PoolSnapshot>) -> PoolView {
    match snapshot {
        Some(s) => PoolView {
            available: true,
            note: None,
            pools: pool_entries(s),
        },
        None => PoolView {
            available: false,
            note: Some(POOL_MISSING.to_owned()),
            pools: Vec::new(),
        },
    }
}

/// The `pool` answer.
pub fn pool(inputs: &Inputs, now: i64) -> Answer<PoolView> {
    Answer::new(View::Pool, inputs, now, pool_view(inputs.pool.as_deref()))
}

impl Tabular for PoolView {
    fn table(&self, _now: i64) -> String {
        if !self.available {
            return format!("{}\n", self.note.as_deref().unwrap_or("no pool data"));
        }
        let mut t = Table::new(&[
            "POOL",
            "CAPACITY",
            "DEPOSITED",
            "REMAINING",
            "FILL",
            "VAULT",
            "LENDERS",
            "FLAGS",
        ]);
        for p in &self.pools {
            let mut flags = Vec::new();
            if p.frozen {
                flags.push("frozen");
            }
            if p.claiming_enabled {
                flags.push("claiming");
            }
            t.row(vec![
                p.address.clone(),
                tokens(p.max_deposit),
                tokens(p.deposited),
                tokens(p.remaining),
                percent(p.fill_ratio),
                p.vault_balance.map_or_else(dash, tokens),
                opt(p.lenders),
                if flags.is_empty() {
                    dash()
                } else {
                    flags.join(",")
                },
            ]);
        }
        t.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pool_snapshot_says_why() {
        let v = pool_view(None);
        assert!(!v.available);
        assert_eq!(v.note.as_deref(), Some(POOL_MISSING));
    }
}
