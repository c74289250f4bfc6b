//! A provider's base URL (`FITBIT_API_URL`, `GOOGLE_HEALTH_API_URL`, `GOOGLE_OAUTH_URL`), parsed once at startup.
//! Clients build every endpoint from it by path segments, so no call formats or parses a URL again, and a page link
//! can be compared with its origin.

use reqwest::Url;

use super::ConfigError;

/// An absolute `http://` or `https://` URL that endpoints are appended to. A path in it (a proxy's prefix) is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl(Url);

impl BaseUrl {
    /// Parses variable `name`'s `value`; anything but an absolute http(s) URL is a [`ConfigError`].
    pub fn parse(name: &'static str, value: &str) -> Result<BaseUrl, ConfigError> {
        parse_http_url(name, value).map(BaseUrl)
    }

    /// The endpoint at `path` (`/`-separated, e.g. `v4/users/me/identity`) under the base's own path. Each segment is
    /// percent-encoded as a path segment, so a value placed in a segment cannot add segments, a query or a fragment.
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.0.clone();
        url.set_query(None);
        url.path_segments_mut()
            // An http(s) URL with a host always has path segments: `parse` accepts no other.
            .expect("a base URL can have a path")
            .pop_if_empty()
            .extend(path.split('/').filter(|segment| !segment.is_empty()));
        url
    }

    /// The parsed URL, for origin checks.
    pub fn url(&self) -> &Url {
        &self.0
    }
}

/// Variable `name`'s `value` as an absolute `http://` or `https://` URL with a host.
pub(super) fn parse_http_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| ConfigError::invalid(name, value, e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(ConfigError::invalid(name, value, "expected an http:// or https:// URL"));
    }
    Ok(url)
}

impl std::fmt::Display for BaseUrl {
    /// As configured, without a trailing `/` (what the tests and the startup log compare with).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.as_str().trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(value: &str) -> BaseUrl {
        BaseUrl::parse("GOOGLE_HEALTH_API_URL", value).unwrap()
    }

    #[test]
    fn endpoints_keep_the_base_path() {
        assert_eq!(
            base("https://health.googleapis.com").endpoint("v4/users/me/identity").as_str(),
            "https://health.googleapis.com/v4/users/me/identity"
        );
        assert_eq!(
            base("https://health.googleapis.com/").endpoint("/token").as_str(),
            "https://health.googleapis.com/token"
        );
        assert_eq!(
            base("http://127.0.0.1:5080/google/").endpoint("v4/x").as_str(),
            "http://127.0.0.1:5080/google/v4/x"
        );
        assert_eq!(base("http://127.0.0.1:5080/google").endpoint("v4/x").as_str(), "http://127.0.0.1:5080/google/v4/x");
        assert_eq!(
            base("https://health.googleapis.com").endpoint("v4/users/me/dataTypes/steps/dataPoints:reconcile").as_str(),
            "https://health.googleapis.com/v4/users/me/dataTypes/steps/dataPoints:reconcile"
        );
    }

    #[test]
    fn a_segment_cannot_escape_its_place() {
        let url = base("https://health.googleapis.com").endpoint("v4/projects/1?x=#y/subscribers");
        assert_eq!(url.as_str(), "https://health.googleapis.com/v4/projects/1%3Fx=%23y/subscribers");
        assert_eq!((url.query(), url.fragment()), (None, None));
    }

    #[test]
    fn only_absolute_http_urls_are_accepted() {
        for value in ["health.googleapis.com", "ftp://health.googleapis.com", "https://", "unix:/run/x", ""] {
            assert!(BaseUrl::parse("GOOGLE_HEALTH_API_URL", value).is_err(), "{value}");
        }
        assert_eq!(base("https://health.googleapis.com/").to_string(), "https://health.googleapis.com");
    }
}
