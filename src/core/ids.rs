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
}
