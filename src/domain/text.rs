//! Text typed into a form, a search box or a cell of an imported file, parsed
//! once: trimmed, within its length, and free of control characters. PostgreSQL
//! cannot store a NUL, and no keyboard types the other C0 and C1 controls (a
//! pasted one hides in the text and breaks exports and emails). Multi-line text
//! keeps its line breaks and tabs; a single line keeps neither.

use super::{FieldError, FormErrors};

/// Whether a text may span lines (a `<textarea>`) or is one line (an `<input>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// The first character of `raw` that a text of this kind may not hold.
pub fn forbidden_char(raw: &str, lines: Lines) -> Option<char> {
    raw.chars()
        .find(|&c| c.is_control() && !(lines == Lines::Many && matches!(c, '\n' | '\r' | '\t')))
}

/// What the user reads about a character that cannot be kept.
pub fn forbidden_message(c: char) -> String {
    match c {
        '\0' => "Remove the hidden NUL character (U+0000): it cannot be saved".into(),
        '\n' | '\r' => "Keep this to one line".into(),
        '\t' => "Remove the tab character".into(),
        c => format!(
            "Remove the hidden control character (U+{:04X}): it cannot be saved",
            c as u32
        ),
    }
}

/// `raw` trimmed, if it holds no forbidden character and at most `max` characters.
pub fn parse(
    field: &'static str,
    raw: &str,
    lines: Lines,
    max: usize,
) -> Result<String, FieldError> {
    let value = raw.trim();
    if let Some(c) = forbidden_char(value, lines) {
        return Err(FieldError::new(field, forbidden_message(c)));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("Use {} characters or fewer", thousands(max)),
        ));
    }
    Ok(value.to_owned())
}

/// 20000 → "20,000".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

impl FormErrors {
    /// A one-line text field of at most `max` characters, trimmed; `required` names what
    /// to enter when it is blank. On a problem the message is recorded against the field
    /// and the trimmed input comes back (to refill the form).
    pub fn text(
        &mut self,
        field: &'static str,
        raw: &str,
        max: usize,
        required: Option<&str>,
    ) -> String {
        self.checked_text(field, raw, Lines::One, max, required)
    }

    /// A multi-line text field (a `<textarea>`): as [`FormErrors::text`], keeping line breaks and tabs.
    pub fn long_text(
        &mut self,
        field: &'static str,
        raw: &str,
        max: usize,
        required: Option<&str>,
    ) -> String {
        self.checked_text(field, raw, Lines::Many, max, required)
    }

    fn checked_text(
        &mut self,
        field: &'static str,
        raw: &str,
        lines: Lines,
        max: usize,
        required: Option<&str>,
    ) -> String {
        match parse(field, raw, lines, max) {
            Ok(value) => {
                if value.is_empty()
                    && let Some(what) = required
                {
                    self.add(field, format!("Enter {what}"));
                }
                value
            }
            Err(e) => {
                self.0.push(e);
                raw.trim().to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_kept() {
        assert_eq!(
            parse("f", "  Müller’s €50 ", Lines::One, 20).unwrap(),
            "Müller’s €50"
        );
        assert_eq!(
            parse("f", "line one\r\n\tline two", Lines::Many, 100).unwrap(),
            "line one\r\n\tline two"
        );
    }

    #[test]
    fn control_characters_are_refused_with_a_message_naming_them() {
        for (raw, lines) in [
            ("a\0b", Lines::One),
            ("a\0b", Lines::Many),
            ("a\u{1b}[31m", Lines::Many),
            ("a\u{7f}", Lines::One),
            ("a\u{85}b", Lines::Many),
            ("two\nlines", Lines::One),
            ("a\tb", Lines::One),
        ] {
            let e = parse("notes", raw, lines, 100).unwrap_err();
            assert_eq!(e.field, "notes");
            assert!(
                e.message.starts_with("Remove") || e.message.contains("one line"),
                "{raw:?}"
            );
        }
        assert!(forbidden_message('\0').contains("NUL"));
        assert!(forbidden_message('\u{1b}').contains("U+001B"));
    }

    #[test]
    fn form_errors_record_the_problem_against_the_field() {
        let mut errors = FormErrors::default();
        assert_eq!(errors.text("name", " a\0 ", 10, None), "a\0");
        assert_eq!(errors.long_text("notes", "", 10, Some("some notes")), "");
        assert_eq!(
            errors
                .text("title", "x".repeat(11).as_str(), 10, None)
                .len(),
            11
        );
        assert!(errors.get("name").unwrap().contains("NUL"));
        assert_eq!(errors.get("notes"), Some("Enter some notes"));
        assert_eq!(errors.get("title"), Some("Use 10 characters or fewer"));
        assert_eq!(thousands(20_000), "20,000");
        assert_eq!(thousands(200), "200");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
