//! Reading one variable: each helper names its variable once, applies its default, and says in the error what a bad
//! value should have been. An empty value counts as unset, as `process.env.X || default` did in the original.

use std::path::PathBuf;
use std::time::Duration;

use super::ConfigError;

/// The variables, through a lookup of their raw values (the process environment, or a test's map).
pub(super) struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Vars<'a> {
    pub(super) fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Vars { lookup }
    }

    /// The value, `None` when unset or empty.
    pub(super) fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.is_empty())
    }

    pub(super) fn text(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_string())
    }

    pub(super) fn path(&self, name: &str, default: &str) -> PathBuf {
        self.text(name, default).into()
    }

    /// `default` when unset, else `parse`'s value, or the error naming the variable with `expected`.
    pub(super) fn parsed<T>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => parse(value.trim()).ok_or_else(|| ConfigError::invalid(name, &value, expected)),
        }
    }

    pub(super) fn port(&self, name: &'static str, default: u16) -> Result<u16, ConfigError> {
        self.parsed(name, default, "expected a port number from 0 to 65535", |v| v.parse().ok())
    }

    /// A whole number greater than 0.
    pub(super) fn count(&self, name: &'static str, default: usize) -> Result<usize, ConfigError> {
        self.parsed(name, default, "expected a whole number greater than 0", |v| v.parse().ok().filter(|n| *n > 0))
    }

    /// Whole seconds, greater than 0.
    pub(super) fn secs(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let expected = "expected a whole number of seconds greater than 0";
        self.parsed(name, Duration::from_secs(default), expected, |v| {
            v.parse().ok().filter(|n| *n > 0).map(Duration::from_secs)
        })
    }

    /// Whole milliseconds, greater than 0.
    pub(super) fn millis(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let expected = "expected a whole number of milliseconds greater than 0";
        self.parsed(name, Duration::from_millis(default), expected, |v| {
            v.parse().ok().filter(|n| *n > 0).map(Duration::from_millis)
        })
    }

    /// A rate per second, greater than 0.
    pub(super) fn rate(&self, name: &'static str, default: f64) -> Result<f64, ConfigError> {
        let expected = "expected a number greater than 0 (requests per second)";
        self.parsed(name, default, expected, |v| v.parse().ok().filter(|r: &f64| r.is_finite() && *r > 0.0))
    }

    pub(super) fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        self.parsed(name, default, "expected true or false", |v| match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reader_applies_its_default_and_names_its_variable() {
        let lookup = |name: &str| match name {
            "EMPTY" => Some(String::new()),
            "SEVEN" => Some("7".to_string()),
            "ZERO" => Some("0".to_string()),
            "WORD" => Some("yes".to_string()),
            _ => None,
        };
        let vars = Vars::new(&lookup);
        assert_eq!(vars.count("EMPTY", 3).unwrap(), 3);
        assert_eq!(vars.secs("SEVEN", 1).unwrap(), Duration::from_secs(7));
        assert_eq!(vars.millis("UNSET", 250).unwrap(), Duration::from_millis(250));
        assert!(vars.flag("WORD", false).unwrap());
        let error = vars.count("ZERO", 3).unwrap_err().to_string();
        assert!(error.contains("ZERO") && error.contains("greater than 0"), "{error}");
        assert!(vars.port("WORD", 1).is_err() && vars.rate("ZERO", 1.0).is_err());
    }
}
