//! Identifiers. Randomness is passed in so that tests are deterministic and the browser
//! shell can use `crypto.getRandomValues`, which (unlike `crypto.randomUUID`) also works
//! on plain-http pages.

/// A version-4 UUID in its hyphenated lower-case form.
pub fn uuid_v4(random: [u8; 16]) -> String {
    uuid::Builder::from_random_bytes(random).into_uuid().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_version_4_uuid() {
        let id = uuid_v4([0xab; 16]);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(uuid_v4([1; 16]), uuid_v4([2; 16]));
    }
}
