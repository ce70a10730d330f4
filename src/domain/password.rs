use std::fmt;

use super::FieldError;

/// Passwords people pick most often that are long enough to pass the length
/// rule. Shorter common passwords already fail on length.
const COMMON: &str = include_str!("common_passwords.txt");

/// A password a user has chosen: 12 to 256 characters, not a common one.
/// No composition rules (NIST SP 800-63B). Never printed.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        let chars = input.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FieldError::new(
                field,
                format!(
                    "Use at least {} characters. A few unrelated words make a good password.",
                    Self::MIN_CHARS
                ),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!("Use at most {} characters.", Self::MAX_CHARS),
            ));
        }
        if is_common(input) {
            return Err(FieldError::new(
                field,
                "That password is too common and easy to guess. Choose another.",
            ));
        }
        Ok(NewPassword(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

fn is_common(input: &str) -> bool {
    let lower = input.to_lowercase();
    let mut chars = lower.chars();
    let first = chars.next();
    // One character repeated ("aaaaaaaaaaaa") or a run of one pattern ("abcabcabcabc").
    if chars.all(|c| Some(c) == first) {
        return true;
    }
    let bytes = lower.as_bytes();
    for period in 2..=4 {
        if bytes.len() >= period * 3
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| *b == bytes[i % period])
        {
            return true;
        }
    }
    // Ascending or descending runs of digits or letters ("123456789012", "abcdefghijkl").
    let steps: Vec<i32> = bytes
        .windows(2)
        .map(|w| i32::from(w[1]) - i32::from(w[0]))
        .collect();
    if steps.iter().all(|s| *s == 1 || *s == -9) || steps.iter().all(|s| *s == -1 || *s == 9) {
        return true;
    }
    COMMON.lines().any(|line| line.trim() == lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_passphrases_are_accepted_without_composition_rules() {
        assert!(NewPassword::parse("password", "correct horse battery staple").is_ok());
        assert!(NewPassword::parse("password", "alllowercaseletters").is_ok());
        assert!(
            NewPassword::parse("password", "meadowbank plot 42 has a leaking kitchen tap").is_ok()
        );
    }

    #[test]
    fn short_passwords_are_refused() {
        let err = NewPassword::parse("password", "elevenchars").unwrap_err();
        assert!(err.message.contains("at least 12"));
    }

    #[test]
    fn passwords_of_128_characters_are_accepted() {
        let long: String = (0..128)
            .map(|i| (b'a' + (i * 7 % 26) as u8) as char)
            .collect();
        assert!(NewPassword::parse("password", &long).is_ok());
    }

    #[test]
    fn common_passwords_are_refused() {
        for common in [
            "password1234",
            "Password1234",
            "123456789012",
            "qwertyuiop123",
            "aaaaaaaaaaaa",
            "abcabcabcabc",
            "abcdefghijkl",
        ] {
            assert!(NewPassword::parse("password", common).is_err(), "{common}");
        }
    }

    #[test]
    fn passwords_never_print() {
        let p = NewPassword::parse("password", "correct horse battery staple").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
