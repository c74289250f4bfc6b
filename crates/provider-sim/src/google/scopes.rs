//! Google Health scopes (docs/google-health.md#tokens-and-identity): full URLs, space-separated. A `.readonly` scope
//! reads its area; so does the bare name of the May 2026 docs (Google renamed them after launch), since both were
//! issued for reading.

use super::data_types::Area;

pub(crate) const PREFIX: &str = "https://www.googleapis.com/auth/googlehealth.";

/// What ds-agent asks for: the read scopes of its three areas plus profile and settings.
pub const GOOGLE_HEALTH_SCOPES: &str = "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly \
https://www.googleapis.com/auth/googlehealth.health_metrics_and_measurements.readonly \
https://www.googleapis.com/auth/googlehealth.sleep.readonly \
https://www.googleapis.com/auth/googlehealth.profile.readonly \
https://www.googleapis.com/auth/googlehealth.settings.readonly";

const AREAS: [&str; 10] = [
    "activity_and_fitness",
    "health_metrics_and_measurements",
    "sleep",
    "profile",
    "settings",
    "location",
    "nutrition",
    "ecg",
    "irn",
    "logged_symptoms",
];

/// Whether the granted `scopes` let the caller read the area named `area` (`sleep`, `settings`…).
pub(crate) fn can_read(scopes: &str, area: &str) -> bool {
    scopes
        .split_whitespace()
        .filter_map(|scope| scope.strip_prefix(PREFIX))
        .any(|rest| rest.strip_suffix(".readonly").unwrap_or(rest) == area && !rest.ends_with(".writeonly"))
}

pub(crate) fn can_read_area(scopes: &str, area: Area) -> bool {
    can_read(scopes, area.scope_name())
}

/// Whether Google's consent page would accept the scope: a Google Health scope of a known area, or one of the sign-in
/// scopes. `…/auth/health.*` is refused, as live.
pub(crate) fn is_known(scope: &str) -> bool {
    if matches!(scope, "openid" | "email" | "profile") || scope == "https://www.googleapis.com/auth/cloud-platform" {
        return true;
    }
    if let Some(rest) = scope.strip_prefix("https://www.googleapis.com/auth/userinfo.") {
        return matches!(rest, "email" | "profile");
    }
    let Some(rest) = scope.strip_prefix(PREFIX) else { return false };
    let area = rest.strip_suffix(".readonly").or_else(|| rest.strip_suffix(".writeonly")).unwrap_or(rest);
    AREAS.contains(&area)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readonly_and_bare_scopes_read_their_area() {
        let scopes = format!("{PREFIX}sleep.readonly {PREFIX}activity_and_fitness {PREFIX}settings.writeonly");
        assert!(can_read(&scopes, "sleep") && can_read(&scopes, "activity_and_fitness"));
        assert!(!can_read(&scopes, "settings") && !can_read(&scopes, "health_metrics_and_measurements"));
        assert!(GOOGLE_HEALTH_SCOPES.split(' ').all(is_known));
        assert!(!is_known("https://www.googleapis.com/auth/health.sleep.readonly"));
    }
}
