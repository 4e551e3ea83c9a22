//! A wrapper for personal data: it serializes as its value but never prints it (P10).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Personal<T>(T);

impl<T> Personal<T> {
    pub fn new(value: T) -> Self {
        Personal(value)
    }

    /// Reading the value is explicit, so every use of personal data is greppable.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl Personal<String> {
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Personal<String> {
    fn from(value: &str) -> Self {
        Personal(value.to_owned())
    }
}

impl From<String> for Personal<String> {
    fn from(value: String) -> Self {
        Personal(value)
    }
}

impl<T> fmt::Debug for Personal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Personal(<redacted>)")
    }
}

impl<T> fmt::Display for Personal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_never_prints() {
        let phone = Personal::from("+212600000000");
        assert!(!format!("{phone:?} {phone}").contains("212600000000"));
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"+212600000000\"");
    }
}
