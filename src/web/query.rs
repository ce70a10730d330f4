//! The query-string extractor every page uses instead of axum's: searches and
//! filters are one-line text, so a parameter (name or value) holding a control
//! character is refused with the styled 400 page before any handler reads it,
//! and a query that does not fit the handler's parameters gets the same page
//! rather than axum's plain-text rejection.

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::de::DeserializeOwned;

use crate::{
    AppError,
    domain::text::{Lines, forbidden_char},
};

/// The parsed query string of a page request.
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        check(parts.uri.query())?;
        let axum::extract::Query(value) = axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map_err(|_| {
                AppError::BadRequest(
                    "That link's search or filter is not one we understand. Start again from the list."
                        .into(),
                )
            })?;
        Ok(Query(value))
    }
}

/// Refuses a query string whose decoded names or values hold a control character.
pub fn check(raw: Option<&str>) -> Result<(), AppError> {
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if let Some(c) =
            forbidden_char(&key, Lines::One).or_else(|| forbidden_char(&value, Lines::One))
        {
            return Err(AppError::BadRequest(format!(
                "The search or filter holds a hidden control character (U+{:04X}) that cannot be searched for. Remove it and try again.",
                c as u32
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_character_anywhere_in_the_query_is_refused() {
        assert!(check(None).is_ok());
        assert!(check(Some("q=M%C3%BCller&status=open")).is_ok());
        for bad in ["q=a%00b", "q%00=x", "q=a%0Ab", "q=%1B%5B31m", "q=%C2%85"] {
            let e = check(Some(bad)).unwrap_err();
            assert!(
                e.message().contains("control character (U+"),
                "{bad}: {}",
                e.message()
            );
        }
    }
}
