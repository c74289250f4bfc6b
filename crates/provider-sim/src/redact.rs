//! Tokens are credentials: logs and error messages show only enough of one to tell it apart.

/// The first 6 characters and an ellipsis, as Fitbit's own error messages do.
pub(crate) fn short(token: &str) -> String {
    let head: String = token.chars().take(6).collect();
    format!("{head}…")
}
