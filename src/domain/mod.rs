//! Types that parse user input once ("parse, don't validate"): once a value
//! has one of these types, the rest of the code can trust it.

/// Lets a closed set of words stored in a `text` column with a CHECK list be
/// read and written as its enum (`$name::parse` and `$name::as_str`). A word
/// the enum does not know is a decoding error, never a default: a row holding
/// one fails loudly (logged, 500) rather than, say, turning an unknown role
/// into one that reads every record.
macro_rules! text_column {
    ($($name:ty),+ $(,)?) => {$(
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let word = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                <$name>::parse(word).ok_or_else(|| {
                    format!("unknown {} value {word:?}", stringify!($name)).into()
                })
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }
    )+};
}

pub mod access;
pub mod audit;
pub mod clock;
mod dates;
mod email;
pub mod file_type;
pub mod inspection;
mod password;
mod postcode;
mod role;
mod search;
mod slug;
pub mod text;
pub mod ticket;
pub mod ticket_event;

pub use clock::DueState;
pub use dates::{WarrantyStatus, add_months, long_date, parse_optional_date, warranty_end, when};
pub use email::Email;
pub use password::NewPassword;
pub use postcode::Postcode;
pub use role::Role;
pub use search::SearchWords;
pub use slug::Slug;
pub use ticket::{
    AbortiveReason, Category, ComplaintStage, Location, Priority, ReportedVia, Status, TicketRef,
};

/// A problem with one form field, shown next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

/// The problems found in one submitted form.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The message for `field`, if it has one (used by templates).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
    /// Keeps the parsed value, or records the error against the field.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
}
