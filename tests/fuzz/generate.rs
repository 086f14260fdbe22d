//! Input generation: a seeded PRNG, truncations, random bytes and mutations of seeds.

/// SplitMix64: small, fast, and good enough to drive a fuzzer; deterministic per seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values that break length fields, counters and tags.
pub const INTERESTING: [u64; 30] = [
    0,
    1,
    2,
    7,
    8,
    16,
    31,
    32,
    33,
    63,
    64,
    65,
    127,
    128,
    255,
    256,
    257,
    400,
    401,
    1024,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MAX as u64,
    1 << 63,
    u64::MAX,
];

/// The seeds of a target and, for each, the 8-aligned offsets holding a small nonzero u64
/// (likely a length or counter: the "hot" offsets mutations like to break).
pub struct Seeds {
    pub items: Vec<Vec<u8>>,
    pub hot: Vec<Vec<usize>>,
}

impl Seeds {
    pub fn new(items: Vec<Vec<u8>>) -> Self {
        assert!(!items.is_empty(), "a target needs seeds");
        let hot = items
            .iter()
            .map(|s| {
                (0..s.len().saturating_sub(7))
                    .step_by(8)
                    .filter(|&i| {
                        let v = u64::from_le_bytes(s[i..i + 8].try_into().unwrap());
                        (1..=1024).contains(&v)
                    })
                    .collect()
            })
            .collect();
        Seeds { items, hot }
    }

    fn max_len(&self) -> usize {
        self.items.iter().map(Vec::len).max().unwrap_or(0)
    }
}

/// One case: its PRNG, the target's seeds, its number and the target's budget.
pub struct Case<'a> {
    pub rng: Rng,
    pub seeds: &'a Seeds,
    pub index: u64,
    pub budget: u64,
}

impl Case<'_> {
    /// Which seed and prefix length the truncation case `index` (< `quota`) uses: every
    /// prefix of every seed when they fit in the quota, else a spread of them (all the
    /// short ones, then evenly spaced lengths with a random phase).
    pub fn truncation(&mut self, quota: u64) -> (usize, usize) {
        let total: u64 = self.seeds.items.iter().map(|s| s.len() as u64 + 1).sum();
        if total <= quota {
            let mut left = self.index % total;
            for (i, s) in self.seeds.items.iter().enumerate() {
                if left <= s.len() as u64 {
                    return (i, left as usize);
                }
                left -= s.len() as u64 + 1;
            }
        }
        let i = (self.index as usize) % self.seeds.items.len();
        let len = self.seeds.items[i].len();
        let cut = match self.rng.below(4) {
            0 => self.rng.below(len.min(64) + 1),
            1 => len - self.rng.below(len.min(64) + 1),
            _ => self.rng.below(len + 1),
        };
        (i, cut)
    }

    /// A length near the seeds' sizes: exact, ±1 or 2, tiny, or anywhere up to twice the
    /// largest seed.
    pub fn length(&mut self) -> usize {
        let size = self.rng.pick(&self.seeds.items).len();
        match self.rng.below(10) {
            0..=2 => size,
            3..=4 => match self.rng.below(4) {
                0 => size.saturating_sub(1),
                1 => size + 1,
                2 => size.saturating_sub(2),
                _ => size + 2,
            },
            5 => self.rng.below(9),
            6..=7 => self.rng.below(2 * self.seeds.max_len() + 2),
            _ => self.rng.below(65),
        }
    }

    /// Random bytes of a random length; often with a seed's first 8 or 16 bytes
    /// (discriminator, version) so the decoder gets past its first checks.
    pub fn random(&mut self) -> Vec<u8> {
        let len = self.length();
        let mut data = self.rng.bytes(len);
        if self.rng.chance(60) {
            let seed = self.rng.pick(&self.seeds.items);
            let keep = if self.rng.chance(50) { 8 } else { 16 };
            let n = keep.min(len).min(seed.len());
            data[..n].copy_from_slice(&seed[..n]);
        }
        data
    }

    /// A byte input: truncations of the seeds for the first quarter of the budget, then
    /// random inputs, mutations and splices.
    pub fn bytes(&mut self) -> Vec<u8> {
        let quota = self.budget / 4;
        if self.index < quota {
            let (i, len) = self.truncation(quota);
            return self.seeds.items[i][..len].to_vec();
        }
        match self.rng.below(100) {
            0..=14 => self.random(),
            15..=79 => self.mutated(),
            80..=89 => {
                let mut data = self.spliced();
                self.mutate(&mut data, usize::MAX);
                data
            }
            _ => {
                let mut data = self.mutated();
                self.resize(&mut data);
                data
            }
        }
    }

    /// A seed with a few mutations that keep its length.
    pub fn mutated(&mut self) -> Vec<u8> {
        let i = self.rng.below(self.seeds.items.len());
        let mut data = self.seeds.items[i].clone();
        self.mutate(&mut data, i);
        data
    }

    /// Two seeds cut and joined at random points.
    pub fn spliced(&mut self) -> Vec<u8> {
        let a = self.rng.pick(&self.seeds.items);
        let b = self.rng.pick(&self.seeds.items);
        let cut_a = self.rng.below(a.len() + 1);
        let cut_b = self.rng.below(b.len() + 1);
        if self.rng.chance(50) {
            // Same length as `a`: `b`'s bytes at the same offsets from the cut on.
            let mut out = a.clone();
            let n = b.len().min(a.len());
            out[cut_a.min(n)..n].copy_from_slice(&b[cut_a.min(n)..n]);
            out
        } else {
            let mut out = a[..cut_a].to_vec();
            out.extend_from_slice(&b[cut_b..]);
            out
        }
    }

    /// Changes the length: cut, extend, insert or delete.
    pub fn resize(&mut self, data: &mut Vec<u8>) {
        match self.rng.below(4) {
            0 => {
                let len = self.rng.below(data.len() + 1);
                data.truncate(len);
            }
            1 => {
                let n = 1 + self.rng.below(64);
                let more = self.rng.bytes(n);
                data.extend_from_slice(&more);
            }
            2 => {
                let at = self.rng.below(data.len() + 1);
                let n = 1 + self.rng.below(16);
                let more = self.rng.bytes(n);
                data.splice(at..at, more);
            }
            _ => {
                let at = self.rng.below(data.len() + 1);
                let n = self.rng.below(17).min(data.len() - at);
                data.drain(at..at + n);
            }
        }
    }

    /// 1, 2, 4 or 8 length-keeping mutations; `seed` names the seed `data` came from (its
    /// hot offsets are used), `usize::MAX` for none.
    pub fn mutate(&mut self, data: &mut [u8], seed: usize) {
        if data.is_empty() {
            return;
        }
        let rounds = 1 << self.rng.below(4);
        for _ in 0..rounds {
            let len = data.len();
            let at = self.rng.below(len);
            match self.rng.below(9) {
                0 => data[at] ^= 1 << self.rng.below(8),
                1 => data[at] = *self.rng.pick(&[0x00, 0xff, 0x01, 0x7f, 0x80, 0xfe]),
                2 => data[at] = self.rng.byte(),
                3..=4 => {
                    let width = *self.rng.pick(&[1usize, 2, 4, 8]);
                    let value = *self.rng.pick(&INTERESTING);
                    let value = if self.rng.chance(20) {
                        value.wrapping_sub(1)
                    } else {
                        value
                    };
                    let bytes = value.to_le_bytes();
                    let n = width.min(len - at);
                    data[at..at + n].copy_from_slice(&bytes[..n]);
                }
                5 => {
                    // A hot offset (a length or counter) set to an interesting value.
                    let hot = self.seeds.hot.get(seed).filter(|h| !h.is_empty());
                    if let Some(hot) = hot {
                        let at = *self.rng.pick(hot);
                        if at + 8 <= len {
                            let value = *self.rng.pick(&INTERESTING);
                            data[at..at + 8].copy_from_slice(&value.to_le_bytes());
                        }
                    } else {
                        data[at] = 0xff;
                    }
                }
                6 => {
                    // Overwrite a range with a constant.
                    let n = (1 + self.rng.below(64)).min(len - at);
                    let random = self.rng.byte();
                    let b = *self.rng.pick(&[0x00, 0xff, random]);
                    data[at..at + n].fill(b);
                }
                7 => {
                    // Copy a chunk of the input over another place.
                    let from = self.rng.below(len);
                    let n = (1 + self.rng.below(64)).min(len - at).min(len - from);
                    data.copy_within(from..from + n, at);
                }
                _ => {
                    // Random bytes over a range.
                    let n = (1 + self.rng.below(32)).min(len - at);
                    self.rng.fill(&mut data[at..at + n]);
                }
            }
        }
    }
}
