use std::fmt;

/// A tenant's short name, used in commands and URLs: 3 to 40 of a-z, 0-9 and hyphens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(input: &str) -> Result<Self, String> {
        let ok = (3..=40).contains(&input.len())
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !input.starts_with('-')
            && !input.ends_with('-');
        if ok {
            Ok(Slug(input.to_owned()))
        } else {
            Err(format!(
                "'{input}' is not a valid slug: use 3 to 40 lower-case letters, digits and hyphens"
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn slugs() {
        assert!(Slug::parse("acme").is_ok());
        assert!(Slug::parse("acme-homes-2").is_ok());
        for bad in ["ac", "Acme", "-acme", "acme-", "ac me", "acme_homes"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
