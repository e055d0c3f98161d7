//! Identifiers. Randomness is passed in so that tests are deterministic and the browser
//! shell can use `crypto.getRandomValues`, which (unlike `crypto.randomUUID`) also works
//! on plain-http pages.
//!
//! Written by hand rather than with the `uuid` crate: setting two fields and printing
//! hex is all that is needed, and the crate's formatting machinery cost ~1 KB of wasm.

/// A version-4 UUID (RFC 9562) in its hyphenated lower-case form.
pub fn uuid_v4(mut random: [u8; 16]) -> String {
    random[6] = (random[6] & 0x0f) | 0x40; // version 4
    random[8] = (random[8] & 0x3f) | 0x80; // variant 10
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in random.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 0x0f) as usize] as char);
    }
    out
}

/// The outbox's own generator (xoshiro128++), seeded once by the shell with 16 bytes of
/// `crypto.getRandomValues`: batch ids and retry jitter come from it, so the core draws no
/// randomness itself and a test passes a seed. 128 bits of seed keep two pages' ids
/// apart as well as fresh random UUIDs would. Not for secrets.
pub struct Random {
    state: [u32; 4],
}

impl Random {
    pub fn from_seed(seed: [u8; 16]) -> Self {
        let word = |i: usize| u32::from_le_bytes([seed[i], seed[i + 1], seed[i + 2], seed[i + 3]]);
        let mut state = [word(0), word(4), word(8), word(12)];
        if state == [0; 4] {
            state[0] = 1; // the one state xoshiro never leaves
        }
        Self { state }
    }

    pub fn next_u32(&mut self) -> u32 {
        let s = &mut self.state;
        let result = s[0].wrapping_add(s[3]).rotate_left(7).wrapping_add(s[0]);
        let t = s[1] << 9;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(11);
        result
    }

    /// 16 bytes, for `uuid_v4`.
    pub fn bytes(&mut self) -> [u8; 16] {
        let words = [self.next_u32(), self.next_u32(), self.next_u32(), self.next_u32()];
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = (words[i / 4] >> (8 * (i % 4))) as u8;
        }
        out
    }

    /// Uniform in `[0, 1)`, for jitter.
    pub fn unit(&mut self) -> f64 {
        self.next_u32() as f64 / (u32::MAX as f64 + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_version_4_uuid() {
        let id = uuid_v4([0xab; 16]);
        assert_eq!(id, "abababab-abab-4bab-abab-abababababab");
        assert_eq!(uuid_v4([0; 16]), "00000000-0000-4000-8000-000000000000");
        assert_eq!(uuid_v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_ne!(uuid_v4([1; 16]), uuid_v4([2; 16]));
    }

    #[test]
    fn random_is_xoshiro128_plus_plus() {
        // The reference implementation's first outputs from the state 1, 2, 3, 4.
        let mut seed = [0u8; 16];
        for (i, word) in [1u32, 2, 3, 4].iter().enumerate() {
            seed[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        let mut random = Random::from_seed(seed);
        let first: Vec<u32> = (0..4).map(|_| random.next_u32()).collect();
        assert_eq!(first, [641, 1_573_767, 3_222_811_527, 3_517_856_514]);
    }

    #[test]
    fn random_never_sticks_at_zero_and_stays_in_range() {
        let mut random = Random::from_seed([0; 16]);
        let ids: Vec<String> = (0..1_000).map(|_| uuid_v4(random.bytes())).collect();
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ids.len(), "a zero seed still gives distinct ids");
        let units: Vec<f64> = (0..10_000).map(|_| random.unit()).collect();
        assert!(units.iter().all(|u| (0.0..1.0).contains(u)));
        let mean = units.iter().sum::<f64>() / units.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "uniform: mean {mean}");
    }
}
