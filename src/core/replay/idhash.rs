//! Hash sets and maps keyed by the replay's node ids and batch handles (`u32`s the
//! recorder assigns, so a page cannot pick them to flood a table): one multiply per key
//! instead of std's SipHash, which is built against flooding and costs code and time (the
//! diff hashes every added node).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Fibonacci hashing: the multiply spreads a key's bits into the high bits, which the
/// table's control bytes use.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

const K: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(K);
    }
}

pub type IdSet<T> = HashSet<T, BuildHasherDefault<IdHasher>>;
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn nearby_ids_hash_apart_in_the_high_bits() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let tops: IdSet<u64> = (0..128u32).map(|id| build.hash_one(id) >> 57).collect();
        assert!(tops.len() > 100, "{} distinct top-7-bit values for 128 ids", tops.len());
        let mut set: IdSet<u32> = IdSet::default();
        assert!(set.insert(7) && !set.insert(7) && set.contains(&7));
    }
}
