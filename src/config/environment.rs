//! `NODE_ENV`, kept under its original name so deployments need no change.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl Environment {
    /// Any value other than `test` or `production` behaves like `development`, as in the original.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("test") => Environment::Test,
            Some("production") => Environment::Production,
            _ => Environment::Development,
        }
    }
}
