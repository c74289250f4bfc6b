//! The original's scope rule, at POST auth and at every sync: a token must allow at least one of the synced features.

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

/// True when the space-separated `scope` names `rwei`, `ract` or `rsle`, or one of the Google Health read scopes.
pub fn has_synced_scope(scope: Option<&str>) -> Result<(), ScopeError> {
    let scope = scope.unwrap_or("");
    if scope.split(' ').any(|s| matches!(s, "rwei" | "ract" | "rsle" | GOOGLE_ACTIVITY | GOOGLE_METRICS | GOOGLE_SLEEP))
    {
        Ok(())
    } else {
        Err(ScopeError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_synced_scope_is_enough() {
        assert!(has_synced_scope(Some("rhr rsle")).is_ok());
        assert!(has_synced_scope(Some("ract rsle rwei")).is_ok());
        assert!(has_synced_scope(Some(&format!("openid {GOOGLE_SLEEP}"))).is_ok());
    }

    #[test]
    fn empty_or_unrelated_scopes_fail() {
        assert_eq!(has_synced_scope(None), Err(ScopeError));
        assert_eq!(has_synced_scope(Some("")), Err(ScopeError));
        assert_eq!(has_synced_scope(Some("rhr rpro")), Err(ScopeError));
    }
}
