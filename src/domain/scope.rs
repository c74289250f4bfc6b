//! The original's scope rule, at POST auth and at every sync: a token must allow at least one of the synced features.

use std::collections::BTreeSet;

/// The original's scope validation error.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("The token must have permission for at least one of the features that are synced by the API.")]
pub struct ScopeError;

impl ScopeError {
    pub const DESCRIPTION: &'static str =
        "The features that are mapped are: rwei (weight), ract (activity), rsle (sleep).";
}

/// The Google Health read scopes of the synced features.
pub const GOOGLE_ACTIVITY: &str = "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly";
pub const GOOGLE_METRICS: &str =
    "https://www.googleapis.com/auth/googlehealth.health_metrics_and_measurements.readonly";
pub const GOOGLE_SLEEP: &str = "https://www.googleapis.com/auth/googlehealth.sleep.readonly";

impl ScopeError {
    /// The description for Google tokens; the Fitbit one stays the original's.
    pub const GOOGLE_DESCRIPTION: &'static str = "The features that are mapped are: \
        https://www.googleapis.com/auth/googlehealth.health_metrics_and_measurements.readonly (weight), \
        https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly (activity), \
        https://www.googleapis.com/auth/googlehealth.sleep.readonly (sleep).";
}

/// A token's granted scopes: the space-separated list the provider sent, parsed once when it is read (from the
/// provider or the store). The text is kept as sent, since the store writes it back unchanged.
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "String")]
pub struct Scopes {
    text: String,
    granted: BTreeSet<String>,
}

impl Scopes {
    /// The list as the provider sent it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `scope` was granted.
    pub fn allows(&self, scope: &str) -> bool {
        self.granted.contains(scope)
    }

    /// The original's rule: at least one of `rwei`, `ract` or `rsle`, or of the Google Health read scopes.
    pub fn check_synced(scopes: Option<&Scopes>) -> Result<(), ScopeError> {
        let synced = ["rwei", "ract", "rsle", GOOGLE_ACTIVITY, GOOGLE_METRICS, GOOGLE_SLEEP];
        match scopes {
            Some(scopes) if synced.iter().any(|scope| scopes.allows(scope)) => Ok(()),
            _ => Err(ScopeError),
        }
    }
}

impl From<String> for Scopes {
    fn from(text: String) -> Self {
        let granted = text.split_whitespace().map(str::to_string).collect();
        Scopes { text, granted }
    }
}

impl From<&str> for Scopes {
    fn from(text: &str) -> Self {
        Scopes::from(text.to_string())
    }
}

impl std::fmt::Debug for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.text.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synced(text: Option<&str>) -> Result<(), ScopeError> {
        Scopes::check_synced(text.map(Scopes::from).as_ref())
    }

    #[test]
    fn one_synced_scope_is_enough() {
        assert!(synced(Some("rhr rsle")).is_ok());
        assert!(synced(Some("ract rsle rwei")).is_ok());
        assert!(synced(Some(&format!("openid {GOOGLE_SLEEP}"))).is_ok());
    }

    #[test]
    fn empty_or_unrelated_scopes_fail() {
        assert_eq!(synced(None), Err(ScopeError));
        assert_eq!(synced(Some("")), Err(ScopeError));
        assert_eq!(synced(Some("rhr rpro")), Err(ScopeError));
        assert_eq!(synced(Some("ractx rsle_")), Err(ScopeError), "whole names only");
    }

    #[test]
    fn the_text_is_kept_as_sent() {
        let scopes = Scopes::from("ract  rsle");
        assert_eq!(scopes.as_str(), "ract  rsle");
        assert!(scopes.allows("ract") && scopes.allows("rsle") && !scopes.allows(""));
    }
}
