//! The token encryption keys: `TOKEN_ENCRYPTION_KEY` seals, `TOKEN_ENCRYPTION_KEYS_PREVIOUS` (comma-separated) only
//! open, so keys rotate without downtime (docs/operations.md#security). Neither ever appears in an error or in `Debug`.

use base64::Engine;

use super::ConfigError;

/// 32 bytes of AES-256 key. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for TokenKey {
    fn from(bytes: [u8; 32]) -> Self {
        TokenKey(bytes)
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<hidden>)")
    }
}

pub(super) const CURRENT: &str = "TOKEN_ENCRYPTION_KEY";
pub(super) const PREVIOUS: &str = "TOKEN_ENCRYPTION_KEYS_PREVIOUS";

/// The current key and the previous ones. Previous keys without a current one are refused: they would open values
/// the service then writes back in clear.
pub(super) fn read(
    current: Option<&str>,
    previous: Option<&str>,
) -> Result<(Option<TokenKey>, Vec<TokenKey>), ConfigError> {
    let current = current.map(|value| parse(CURRENT, value, None)).transpose()?;
    let previous: Vec<TokenKey> = previous
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .enumerate()
        .map(|(index, value)| parse(PREVIOUS, value, Some(index + 1)))
        .collect::<Result<_, _>>()?;
    if current.is_none() && !previous.is_empty() {
        return Err(ConfigError::invalid(PREVIOUS, "<hidden>", format!("set only together with {CURRENT}")));
    }
    Ok((current, previous))
}

fn parse(name: &'static str, value: &str, position: Option<usize>) -> Result<TokenKey, ConfigError> {
    let which = position.map(|n| format!("key {n}: ")).unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| ConfigError::invalid(name, "<hidden>", format!("{which}expected base64")))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        ConfigError::invalid(name, "<hidden>", format!("{which}expected 32 bytes, got {}", b.len()))
    })?;
    Ok(TokenKey(bytes))
}
