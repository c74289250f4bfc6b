//! `pageSize`, `pageToken` and `nextPageToken` of `list` and `reconcile`, as Google documents them. A token is opaque
//! to clients: the offset of the next page plus a fingerprint of the request it continues, so a token sent with another
//! filter, page size or type is refused as Google does ("All other params must be identical").

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::data_types::DataType;
use super::status::{self, GoogleError};
use crate::seed::fnv1a;

/// The page size asked for, defaulted and silently cut to the type's maximum.
pub(crate) fn page_size(raw: Option<&str>, data_type: &DataType) -> Result<usize, GoogleError> {
    let (default, max) = data_type.page_size();
    let Some(raw) = raw else { return Ok(default) };
    let size: i64 =
        raw.trim().parse().map_err(|_| status::invalid_argument(format!("Invalid value for pageSize: {raw}"), None))?;
    if size < 0 {
        return Err(status::invalid_argument("pageSize must not be negative.", None));
    }
    Ok(if size == 0 { default } else { (size as usize).min(max) })
}

/// What a token must be sent with.
pub(crate) fn fingerprint(parts: &[&str]) -> u64 {
    fnv1a(parts)
}

pub(crate) fn token(offset: usize, fingerprint: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{offset}:{fingerprint:016x}"))
}

/// The offset a token points at, if it was issued for a request with this fingerprint.
pub(crate) fn offset(token: &str, fingerprint: u64) -> Result<usize, GoogleError> {
    let invalid = || status::invalid_argument("The page token is invalid or does not match the request.", None);
    let decoded =
        String::from_utf8(URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| invalid())?).map_err(|_| invalid())?;
    let (offset, print) = decoded.split_once(':').ok_or_else(invalid)?;
    if print != format!("{fingerprint:016x}") {
        return Err(invalid());
    }
    offset.parse().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::data_types::find;

    #[test]
    fn tokens_round_trip_only_with_their_request() {
        let print = fingerprint(&["exercise", "f", "25"]);
        assert_eq!(offset(&token(50, print), print).unwrap(), 50);
        assert!(offset(&token(50, print), fingerprint(&["exercise", "g", "25"])).is_err());
        assert!(offset("garbage!", print).is_err());
        let exercise = find("exercise").unwrap();
        assert_eq!(page_size(Some("100"), exercise).unwrap(), 25);
        assert_eq!(page_size(None, find("weight").unwrap()).unwrap(), 1440);
        assert!(page_size(Some("-1"), exercise).is_err());
    }
}
