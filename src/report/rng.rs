//! A small seeded pseudo-random generator for the bootstrap: SplitMix64 (Steele, Lea and Flood,
//! "Fast splittable pseudorandom number generators", 2014), the generator Java's
//! `SplittableRandom` uses and the usual seeder of the xoshiro family.
//!
//! It is not for secrets. It is here so that a report made twice from the same files, on any
//! machine, draws the same resamples: the sequence depends only on the seed, and every step is
//! integer arithmetic.

/// SplitMix64: a 64-bit counter advanced by the golden-ratio increment, then mixed.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose whole sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform index in `0..n` (`n > 0`), without modulo bias: Lemire's multiply-shift with
    /// rejection ("Fast random integer generation in an interval", 2019).
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0, "an empty range has no index");
        let n = n as u64;
        // 2^64 mod n: products whose low half falls below it would make some indexes likelier.
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            if (product as u64) >= threshold {
                return (product >> 64) as usize;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_the_published_one_for_seed_zero() {
        // The first outputs of SplitMix64 from state 0, as in the reference implementation.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(rng.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn the_same_seed_gives_the_same_indexes_and_all_indexes_appear() {
        let draw = |seed| {
            let mut rng = SplitMix64::new(seed);
            (0..1000).map(|_| rng.below(7)).collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
        let seen = draw(42);
        assert!((0..7).all(|i| seen.contains(&i)));
        assert!(seen.iter().all(|&i| i < 7));
    }
}
