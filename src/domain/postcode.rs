use std::fmt;

use super::FieldError;

/// A UK postcode, upper-case with one space before the inward code: "SW1A 1AA".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Postcode(String);

impl Postcode {
    /// Accepts any spacing and case ("sw1a1aa", " SW1A  1AA ") and normalises it.
    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.is_empty() {
            return Err(FieldError::new(field, "Enter a postcode"));
        }
        if !is_valid(&compact) {
            return Err(FieldError::new(
                field,
                "Enter a real UK postcode, like SW1A 1AA",
            ));
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        Ok(Postcode(format!("{outward} {inward}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `compact` is upper-case without spaces. Outward codes: A9, A99, AA9, AA99, A9A, AA9A; inward: 9AA.
fn is_valid(compact: &str) -> bool {
    if compact == "GIR0AA" {
        return true;
    }
    if !(5..=7).contains(&compact.len()) || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let shape: String = compact
        .chars()
        .map(|c| if c.is_ascii_digit() { 'D' } else { 'L' })
        .collect();
    let (outward, inward) = shape.split_at(shape.len() - 3);
    inward == "DLL" && matches!(outward, "LD" | "LDD" | "LLD" | "LLDD" | "LDL" | "LLDL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcodes_are_normalised() {
        for (input, want) in [
            ("sw1a1aa", "SW1A 1AA"),
            (" SW1A  1AA ", "SW1A 1AA"),
            ("m11ae", "M1 1AE"),
            ("b338th", "B33 8TH"),
            ("cr26xh", "CR2 6XH"),
            ("dn551pt", "DN55 1PT"),
            ("w1a 0ax", "W1A 0AX"),
            ("gir0aa", "GIR 0AA"),
        ] {
            assert_eq!(
                Postcode::parse("postcode", input).unwrap().as_str(),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn bad_postcodes_are_refused_with_a_message() {
        for bad in [
            "",
            "   ",
            "SW1A",
            "12345",
            "SW1A 1A",
            "SW1A 1AAA",
            "ABC 1AA",
            "1AB 2CD",
            "SW1A-1AA",
            "SW1Á 1AA",
        ] {
            let err = Postcode::parse("postcode", bad).unwrap_err();
            assert_eq!(err.field, "postcode");
            assert!(!err.message.is_empty());
        }
    }
}
