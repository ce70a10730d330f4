use std::fmt;

use super::FieldError;

/// An email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        let value = input.trim().to_lowercase();
        let bad = || FieldError::new(field, "Enter an email address like name@example.com");
        if value.is_empty() {
            return Err(FieldError::new(field, "Enter an email address"));
        }
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || local.contains('@')
        {
            return Err(bad());
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("email", "  Ann@Acme.Test ").unwrap().as_str(),
            "ann@acme.test"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@acme.test",
            "ann@acme",
            "a b@acme.test",
            "ann@@acme.test",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }
}
