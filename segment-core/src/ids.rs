//! External entity IDs: 1–64 characters of `[A-Za-z0-9_.:-]`.

pub const MAX_ID_LEN: usize = 64;

/// Checks one external ID; the error says what is wrong with it.
pub fn validate_entity_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("is empty");
    }
    if id.len() > MAX_ID_LEN {
        return Err("is longer than 64 characters");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
    {
        return Err("has characters other than letters, digits, '_', '.', ':' and '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        assert!(validate_entity_id("u_0001").is_ok());
        assert!(validate_entity_id("store:SZ-01.a").is_ok());
        assert!(validate_entity_id(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_with_a_reason() {
        assert_eq!(validate_entity_id(""), Err("is empty"));
        assert_eq!(
            validate_entity_id(&"x".repeat(65)),
            Err("is longer than 64 characters")
        );
        assert!(validate_entity_id("a b").is_err());
        assert!(validate_entity_id("名字").is_err());
    }

    proptest! {
        #[test]
        fn valid_exactly_when_alphabet_and_length_hold(id in "[A-Za-z0-9_.:\\- ,#]{0,70}") {
            let expected = !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
            prop_assert_eq!(validate_entity_id(&id).is_ok(), expected);
        }
    }
}
