//! The signed-in user's personal API tokens: make one (shown once), see when each was
//! last used, revoke it. A token works only on the API, within its scopes, until it
//! expires or is revoked.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    AppError, AppState, Result,
    auth::{
        CurrentUser, policy,
        tokens::{self, Scope, Scopes},
    },
    db::{
        self,
        api_tokens::TokenRow,
        audit::{self, Changes},
    },
    domain::{FormErrors, parse_optional_date, when},
    web::{account::shown_once, chrome::Chrome},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/tokens", get(tokens_page).post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
}

/// The furthest ahead a token's expiry date may be.
const TOKEN_MAX_YEARS: i32 = 5;

/// One token as the token pages show it.
pub(crate) struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub owner_name: String,
    pub scopes: &'static str,
    pub created: String,
    pub last_used: String,
    /// "Never", or when it expires (or expired).
    pub expires: String,
    pub expired: bool,
    pub revoked: Option<String>,
}

impl From<TokenRow> for TokenView {
    fn from(row: TokenRow) -> Self {
        let now = crate::domain::clock::now();
        let expired = row.expires_at.is_some_and(|at| at <= now);
        TokenView {
            id: row.id,
            scopes: row.scopes().label(),
            name: row.name,
            owner_name: row.owner_name,
            created: when(row.created_at),
            last_used: row.last_used_at.map(when).unwrap_or_else(|| "Never".into()),
            expires: row.expires_at.map(when).unwrap_or_else(|| "Never".into()),
            expired,
            revoked: row.revoked_at.map(|at| match row.revoked_reason {
                Some(reason) => format!("{} ({reason})", when(at)),
                None => when(at),
            }),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "account/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenView>,
    /// The token just made: shown on this page only.
    new_token: Option<String>,
    form: TokenForm,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
struct TokenForm {
    #[serde(default)]
    name: String,
    /// "read" or "write" (which includes read).
    #[serde(default)]
    scope: String,
    /// Optional YYYY-MM-DD: the token works until the end of that day (UK time).
    #[serde(default)]
    expires_on: String,
}

async fn tokens_view(
    state: &AppState,
    user: &CurrentUser,
    new_token: Option<String>,
    form: TokenForm,
    errors: FormErrors,
) -> Result<TokensPage> {
    let mut tx = user.begin(state).await?;
    let tokens = db::api_tokens::for_user(&mut tx, user.id)
        .await?
        .into_iter()
        .map(TokenView::from)
        .collect();
    tx.commit().await?;
    Ok(TokensPage {
        chrome: user.chrome("Your API tokens").await?,
        tokens,
        new_token,
        form,
        errors,
    })
}

async fn tokens_page(State(state): State<AppState>, user: CurrentUser) -> Result<TokensPage> {
    let form = TokenForm {
        scope: Scope::Read.as_str().into(),
        ..Default::default()
    };
    tokens_view(&state, &user, None, form, FormErrors::default()).await
}

/// The end of `day` in the UK: when a token chosen to expire on it stops working.
fn end_of_uk_day(day: time::Date) -> time::OffsetDateTime {
    let next = day.next_day().unwrap_or(time::Date::MAX);
    crate::domain::clock::from_uk_time(next.midnight())
}

/// A token's name, scopes and expiry from the form, or the mistakes to show.
fn parse_token_form(
    form: &TokenForm,
    errors: &mut FormErrors,
) -> Option<(String, Scopes, Option<time::OffsetDateTime>)> {
    let name = errors.text("name", &form.name, 100, None);
    if name.is_empty() {
        errors.add(
            "name",
            "Give the token a name, such as the tool that will use it.",
        );
    }
    let scopes = match form.scope.as_str() {
        "read" | "" => Some(Scopes::of(&[Scope::Read])),
        "write" => Some(Scopes::of(&[Scope::Read, Scope::Write])),
        _ => {
            errors.add("scope", "Choose what the token may do.");
            None
        }
    };
    let today = crate::domain::clock::today();
    let expires_at = match errors.check(parse_optional_date("expires_on", &form.expires_on)) {
        Some(Some(day)) if day <= today => {
            errors.add(
                "expires_on",
                "Choose a date after today, or leave it empty.",
            );
            None
        }
        Some(Some(day)) if day.year() > today.year() + TOKEN_MAX_YEARS => {
            errors.add(
                "expires_on",
                format!("Choose a date within {TOKEN_MAX_YEARS} years, or leave it empty."),
            );
            None
        }
        Some(Some(day)) => Some(Some(end_of_uk_day(day))),
        Some(None) => Some(None),
        None => None,
    };
    match (scopes, expires_at, errors.is_empty()) {
        (Some(scopes), Some(expires_at), true) => Some((name, scopes, expires_at)),
        _ => None,
    }
}

async fn create_token(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<TokenForm>,
) -> Result<Response> {
    if !user.in_browser() {
        return Err(AppError::Forbidden(
            "New API tokens can only be made from your account page in a browser.",
        ));
    }
    let mut errors = FormErrors::default();
    let Some((name, scopes, expires_at)) = parse_token_form(&form, &mut errors) else {
        let page = tokens_view(&state, &user, None, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };

    let (secret, hash) = tokens::new_secret(tokens::API_TOKEN_PREFIX);
    let mut tx = user.begin(&state).await?;
    let new = db::api_tokens::NewToken {
        user_id: user.id,
        name: &name,
        scopes,
        expires_at,
    };
    let id = db::api_tokens::insert(&mut tx, &new, &hash).await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "api_token.created",
        "api_token",
        Some(id),
        Changes::new()
            .set("name", name.as_str())
            .set("scopes", scopes.words())
            .set("expires_at", expires_at.map(|at| at.to_string())),
    )
    .await?;
    tx.commit().await?;

    let fresh = TokenForm {
        scope: Scope::Read.as_str().into(),
        ..Default::default()
    };
    let page = tokens_view(&state, &user, Some(secret), fresh, FormErrors::default()).await?;
    Ok(shown_once(StatusCode::OK, page))
}

async fn revoke_token(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = super::kit::parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let token = db::api_tokens::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if token.user_id != user.id || !policy::may_revoke_token(&user, token.user_id) {
        return Err(AppError::NotFound);
    }
    let message = if db::api_tokens::revoke(&mut tx, id, user.id, "revoked by its owner").await? {
        audit::record(
            &mut tx,
            &user.actor(),
            "api_token.revoked",
            "api_token",
            Some(id),
            Changes::new().note("name", token.name.as_str()),
        )
        .await?;
        format!(
            "The token \u{201c}{}\u{201d} has been revoked. It no longer works.",
            token.name
        )
    } else {
        format!(
            "The token \u{201c}{}\u{201d} was already revoked.",
            token.name
        )
    };
    tx.commit().await?;
    user.flash("success", message).await?;
    Ok(Redirect::to("/account/tokens").into_response())
}
