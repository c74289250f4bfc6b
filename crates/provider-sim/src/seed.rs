//! Deterministic randomness for the synthetic data. FNV-1a over (user, kind, date) seeds a splitmix64 stream, so the
//! same user and day give the same items in every run, on every platform and Rust version (std's hasher promises
//! none of that).

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a of the parts, with a separator byte so that ("ab", "c") and ("a", "bc") differ.
pub(crate) fn fnv1a(parts: &[&str]) -> u64 {
    parts.iter().fold(FNV_OFFSET, |hash, part| feed(feed(hash, part.as_bytes()), &[0xff]))
}

fn feed(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(FNV_PRIME))
}

/// A stream of pseudo-random draws fixed by its seed.
pub(crate) struct Dice(u64);

impl Dice {
    pub(crate) fn new(parts: &[&str]) -> Dice {
        Dice(fnv1a(parts))
    }

    fn next(&mut self) -> u64 {
        // splitmix64: FNV alone mixes the low bits poorly, and consecutive draws must look independent.
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A whole number in `[low, high]`.
    pub(crate) fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = (high - low + 1) as u64;
        low + (self.next() % span) as i64
    }

    pub(crate) fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }

    /// A fraction in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(feed(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(feed(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(feed(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
        assert_ne!(fnv1a(&["ab", "c"]), fnv1a(&["a", "bc"]));
    }

    #[test]
    fn draws_stay_in_range_and_repeat_with_the_seed() {
        let mut a = Dice::new(&["u", "x"]);
        let mut b = Dice::new(&["u", "x"]);
        for _ in 0..1000 {
            let v = a.between(3, 7);
            assert!((3..=7).contains(&v));
            assert_eq!(v, b.between(3, 7));
        }
    }
}
