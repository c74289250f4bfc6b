//! Fitbit access tokens are JWTs; the service only decodes their claims, without a signature check (Fitbit publishes no
//! verification key; docs/decisions.md#jwt-claims-are-decoded-not-verified).

use base64::Engine;
use serde::Deserialize;

use crate::domain::Scopes;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Claims {
    pub sub: Option<String>,
    pub scopes: Option<Scopes>,
    pub exp: Option<i64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("the token is not a JWT")]
pub struct NotAJwt;

pub fn decode_claims(token: &str) -> Result<Claims, NotAJwt> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(NotAJwt);
    };
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).map_err(|_| NotAJwt)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| NotAJwt)?;
    if !value.is_object() {
        return Err(NotAJwt);
    }
    // Claims of an unexpected type are ignored, as the original's truthiness checks ignored them.
    Ok(Claims {
        sub: value.get("sub").and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(str::to_string),
        scopes: value.get("scopes").and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(Scopes::from),
        exp: value.get("exp").and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))).filter(|e| *e != 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.{}", b64(r#"{"alg":"HS256","typ":"JWT"}"#), b64(payload), b64("sig"))
    }

    #[test]
    fn reads_sub_scopes_and_exp() {
        let token = jwt(r#"{"aud":"A1B23C","sub":"ABC123","iss":"Fitbit","scopes":"ract rsle rwei","exp":1599620963}"#);
        assert_eq!(
            decode_claims(&token).unwrap(),
            Claims { sub: Some("ABC123".into()), scopes: Some(Scopes::from("ract rsle rwei")), exp: Some(1599620963) }
        );
    }

    #[test]
    fn missing_claims_are_none() {
        assert_eq!(decode_claims(&jwt("{}")).unwrap(), Claims::default());
    }

    #[test]
    fn anything_else_is_not_a_jwt() {
        for token in ["garbage", "a.b", "a.b.c.d", "x.!!!.y", &jwt("[1]"), &jwt("not json")] {
            assert_eq!(decode_claims(token), Err(NotAJwt), "{token}");
        }
    }
}
