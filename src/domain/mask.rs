//! Tokens never appear in full in a log, an error text or an event (docs/decisions.md#tokens-are-never-shown-in-full).

/// The first 6 characters of `token`, then `…`.
pub fn mask_token(token: &str) -> String {
    let prefix: String = token.chars().take(6).collect();
    format!("{prefix}…")
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_six_characters() {
        assert_eq!(super::mask_token("eyJhbGciOiJIUzI1NiJ9.payload.sig"), "eyJhbG…");
        assert_eq!(super::mask_token("abc"), "abc…");
    }
}
