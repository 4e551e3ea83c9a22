//! Which configuration variables are secrets, and where they come from. With `MIZAN_SECRETS`
//! set (comma-separated AWS Secrets Manager ARNs, each secret a JSON object of variables), every
//! secret variable is read from those secrets once at start-up and refused in the plain
//! environment, so a function's configuration never shows a key or token. Without it (the local
//! runner, tests), secret variables come from the environment as every other variable does.

use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;

/// Comma-separated ARNs (or names) of the secrets to read at start-up.
pub const SECRETS_VAR: &str = "MIZAN_SECRETS";

/// The variables that hold secrets: only these may come from a secret.
pub const SECRET_VARS: [&str; 6] = [
    "MIZAN_HASH_KEY",
    "MIZAN_WHATSAPP_APP_SECRETS",
    "MIZAN_WHATSAPP_VERIFY_TOKEN",
    "MIZAN_WHATSAPP_ACCESS_TOKEN",
    "MIZAN_AI_API_KEY",
    "MIZAN_EXPORT_TOKEN_SECRET",
];

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Secrets Manager refused or did not answer; `retryable` when a later start may succeed.
    #[error("cannot read secret {secret}: {reason}")]
    Unreadable {
        secret: String,
        reason: String,
        retryable: bool,
    },
    #[error("secret {secret} is not a JSON object of configuration variables: {reason}")]
    Malformed { secret: String, reason: String },
    #[error("{var} is given by two secrets")]
    Duplicate { var: String },
    #[error(
        "{var} is set in the environment: with {SECRETS_VAR} set, secrets come only from \
         Secrets Manager"
    )]
    InEnvironment { var: &'static str },
}

/// Variables read from secrets. `Debug` names the variables, never their values.
#[derive(Default)]
pub struct SecretValues(BTreeMap<String, SecretString>);

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl SecretValues {
    /// The variables of one secret's value, `{"MIZAN_HASH_KEY": "…", …}`: strings only, and only
    /// variables that are secrets (a misspelt name would otherwise be silently ignored).
    pub fn parse(secret: &str, text: &str) -> Result<SecretValues, SecretsError> {
        let malformed = |reason: String| SecretsError::Malformed {
            secret: secret.to_owned(),
            reason,
        };
        // serde_json's messages name positions and types, never the text's content.
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
        let object = value
            .as_object()
            .ok_or_else(|| malformed("the value is not a JSON object".into()))?;
        let mut values = BTreeMap::new();
        for (var, value) in object {
            if !SECRET_VARS.contains(&var.as_str()) {
                return Err(malformed(format!(
                    "{var} is not a secret variable (expected some of {})",
                    SECRET_VARS.join(", ")
                )));
            }
            let text = value
                .as_str()
                .ok_or_else(|| malformed(format!("{var} is not a string")))?;
            values.insert(var.clone(), SecretString::from(text.to_owned()));
        }
        Ok(SecretValues(values))
    }

    /// Adds another secret's variables; a variable both give is refused.
    pub fn merge(&mut self, other: SecretValues) -> Result<(), SecretsError> {
        for (var, value) in other.0 {
            if self.0.contains_key(&var) {
                return Err(SecretsError::Duplicate { var });
            }
            self.0.insert(var, value);
        }
        Ok(())
    }

    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// The secrets `MIZAN_SECRETS` names; empty when secrets come from the environment.
pub fn secret_ids(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    env(SECRETS_VAR)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The lookup the configuration reads through. From secrets (`from_secrets`), secret variables
/// come from `secrets` only and may not be in the environment; the others come from `env`.
pub fn layered<'a>(
    env: &'a dyn Fn(&str) -> Option<String>,
    secrets: &'a SecretValues,
    from_secrets: bool,
) -> Result<impl Fn(&str) -> Option<String> + 'a, SecretsError> {
    if from_secrets {
        if let Some(var) = SECRET_VARS.into_iter().find(|var| env(var).is_some()) {
            return Err(SecretsError::InEnvironment { var });
        }
    }
    Ok(move |var: &str| {
        if from_secrets && SECRET_VARS.contains(&var) {
            secrets.0.get(var).map(|v| v.expose_secret().to_owned())
        } else {
            env(var)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_a_json_object_of_secret_variables_only() {
        let values = SecretValues::parse(
            "core",
            r#"{"MIZAN_HASH_KEY": "00ff", "MIZAN_AI_API_KEY": ""}"#,
        )
        .unwrap();
        assert_eq!(
            values.variables().collect::<Vec<_>>(),
            ["MIZAN_AI_API_KEY", "MIZAN_HASH_KEY"]
        );
        for (text, expected) in [
            ("not json", "expected"),
            (r#"["MIZAN_HASH_KEY"]"#, "not a JSON object"),
            (r#"{"MIZAN_HASH_KEY": 1}"#, "MIZAN_HASH_KEY is not a string"),
            (
                r#"{"MIZAN_DATA_TABLE": "t"}"#,
                "MIZAN_DATA_TABLE is not a secret variable",
            ),
        ] {
            let error = SecretValues::parse("core", text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(error.contains("secret core"), "{error}");
        }
    }

    #[test]
    fn two_secrets_may_not_give_the_same_variable() {
        let mut values = SecretValues::parse("a", r#"{"MIZAN_HASH_KEY": "1"}"#).unwrap();
        let other = SecretValues::parse("b", r#"{"MIZAN_HASH_KEY": "2"}"#).unwrap();
        assert!(matches!(
            values.merge(other),
            Err(SecretsError::Duplicate { var }) if var == "MIZAN_HASH_KEY"
        ));
    }

    #[test]
    fn with_secrets_in_use_secret_variables_come_only_from_them() {
        let secrets =
            SecretValues::parse("s", r#"{"MIZAN_WHATSAPP_VERIFY_TOKEN": "from-secret"}"#).unwrap();
        let env = |var: &str| match var {
            SECRETS_VAR => Some("arn:aws:secretsmanager:us-east-1:1:secret:s".to_owned()),
            "MIZAN_DATA_TABLE" => Some("data".to_owned()),
            _ => None,
        };
        let lookup = layered(&env, &secrets, true).unwrap();
        assert_eq!(
            lookup("MIZAN_WHATSAPP_VERIFY_TOKEN").as_deref(),
            Some("from-secret")
        );
        assert_eq!(lookup("MIZAN_DATA_TABLE").as_deref(), Some("data"));
        assert_eq!(lookup("MIZAN_HASH_KEY"), None, "a secret the secrets lack");
        assert_eq!(secret_ids(&env).len(), 1);

        let leaked = |var: &str| (var == "MIZAN_HASH_KEY").then(|| "00".to_owned());
        assert!(matches!(
            layered(&leaked, &secrets, true).err(),
            Some(SecretsError::InEnvironment {
                var: "MIZAN_HASH_KEY"
            })
        ));
        // Without secrets (the runner, tests), the environment gives every variable.
        let lookup = layered(&leaked, &secrets, false).unwrap();
        assert_eq!(lookup("MIZAN_HASH_KEY").as_deref(), Some("00"));
        assert_eq!(lookup("MIZAN_WHATSAPP_VERIFY_TOKEN"), None);
        assert!(secret_ids(&leaked).is_empty());
    }

    #[test]
    fn debug_names_variables_never_values() {
        let values = SecretValues::parse("s", r#"{"MIZAN_HASH_KEY": "deadbeef"}"#).unwrap();
        let shown = format!("{values:?}");
        assert!(shown.contains("MIZAN_HASH_KEY") && !shown.contains("deadbeef"));
    }
}
