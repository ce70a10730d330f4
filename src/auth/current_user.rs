//! The one extractor that says who is asking: [`CurrentUser`] for pages,
//! [`ApiUser`] for the JSON API, [`Visitor`] for pages anyone may see.
//!
//! The tenant, user and role come only from the server-side session or an
//! API token. A tenant id in a header, query or form is never read.

use std::net::IpAddr;

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;
use uuid::Uuid;

use super::{
    TenantId, TenantTx,
    client_ip::client_ip,
    cross_tenant,
    mfa::MfaPolicy,
    session,
    session::SignedIn,
    tokens::{self, Scope, Scopes},
};
use crate::{AppState, db::audit::Actor, domain::Role, error::AppError};

/// How the user proved who they are on this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A browser session: the `user_sessions` row.
    Session(Uuid),
    /// A personal API token, which works only on the API (`/api/*`), within its scopes.
    Token { id: Uuid, scopes: Scopes },
}

/// The signed-in user, their tenant and role.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub tenant: TenantId,
    pub tenant_name: String,
    /// Their membership in this tenant (`users.id`).
    pub id: Uuid,
    /// Their account: the one sign-in they use in every tenant they belong to.
    pub account_id: Uuid,
    /// They belong to other tenants too and may switch (as of sign-in).
    pub can_switch: bool,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// For subcontractors: the company (a contact) they work for.
    pub company_id: Option<Uuid>,
    pub is_company_admin: bool,
    /// Staff who see only the schemes listed for them.
    pub scheme_restricted: bool,
    pub mfa_enrolled: bool,
    /// A TOTP or recovery code was given in this session.
    pub mfa_verified: bool,
    /// The tenant requires this user to use a second factor (admins always).
    pub mfa_required: bool,
    pub via: Via,
    pub ip: Option<IpAddr>,
    pub request_id: Option<String>,
    /// The path of the page asked for (the header marks it in the navigation).
    pub path: String,
    session: Option<Session>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    account_id: Uuid,
    name: String,
    email: String,
    role: Role,
    subcontractor_company_id: Option<Uuid>,
    is_subcontractor_admin: bool,
    scheme_restricted: bool,
    mfa_enrolled: bool,
    tenant_name: String,
    mfa_policy: String,
}

const USER_COLUMNS: &str =
    "u.id, u.account_id, u.name, u.email, u.role, u.subcontractor_company_id, u.is_subcontractor_admin,
    u.scheme_restricted, u.mfa_enabled_at IS NOT NULL AS mfa_enrolled, t.name AS tenant_name,
    t.mfa_required AS mfa_policy";

/// Why there is no user: browsers are sent to sign in, everything else is an error page.
pub enum AuthRejection {
    /// To the sign-in page, coming back to `next`; `ended` names the tenant and session
    /// that had just ended (a form it sent is kept: see `auth::kept`).
    SignIn {
        next: Option<String>,
        ended: Option<(Uuid, Uuid)>,
    },
    Error(AppError),
}

impl AuthRejection {
    pub const fn sign_in() -> Self {
        AuthRejection::SignIn {
            next: None,
            ended: None,
        }
    }

    /// A session (tenant, `user_sessions` row) that ended: sign in again.
    fn ended(tenant_id: Uuid, user_session_id: Uuid) -> Self {
        AuthRejection::SignIn {
            next: None,
            ended: Some((tenant_id, user_session_id)),
        }
    }
}

impl From<AppError> for AuthRejection {
    fn from(e: AppError) -> Self {
        AuthRejection::Error(e)
    }
}

impl From<sqlx::Error> for AuthRejection {
    fn from(e: sqlx::Error) -> Self {
        AuthRejection::Error(e.into())
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::SignIn { next, ended } => {
                let mut response =
                    Redirect::to(&super::kept::sign_in_url(next.as_deref())).into_response();
                response
                    .extensions_mut()
                    .insert(super::kept::SignInNeeded { next, ended });
                response
            }
            AuthRejection::Error(e) => e.into_response(),
        }
    }
}

fn request_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(crate::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Whether the request is for the JSON API, the only place API tokens work.
pub fn is_api(parts: &Parts) -> bool {
    let path = parts.uri.path();
    path == "/api" || path.starts_with("/api/")
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Extracted twice in one request (e.g. by a layer and a handler)? Reuse it.
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let ip = client_ip(parts, state.config.trust_proxy);
        let request_id = request_id(parts);
        let mut user = match identify(parts, state, ip, request_id).await {
            Ok(user) => user,
            Err(AuthRejection::SignIn { ended, .. }) => {
                return Err(AuthRejection::SignIn {
                    next: super::kept::return_path(parts),
                    ended,
                });
            }
            Err(e) => return Err(e),
        };
        user.path = parts.uri.path().to_owned();
        let span = tracing::Span::current();
        span.record("tenant", tracing::field::display(user.tenant));
        span.record("user", tracing::field::display(user.id));
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// Who is asking, from their API token or their session.
async fn identify(
    parts: &Parts,
    state: &AppState,
    ip: Option<IpAddr>,
    request_id: Option<String>,
) -> Result<CurrentUser, AuthRejection> {
    {
        let user = if let Some(secret) = bearer(parts) {
            // A token is a credential for the API only: on a page it proves nothing, so it
            // cannot open an admin page, act without MFA or change data through a form.
            if !is_api(parts) {
                return Err(AuthRejection::Error(AppError::Unauthorized));
            }
            from_token(state, secret, ip, request_id).await?
        } else {
            let session = parts
                .extensions
                .get::<Session>()
                .cloned()
                .ok_or(AuthRejection::sign_in())?;
            let user = from_session(state, session, ip, request_id).await?;
            mfa_gate(state, &user, parts.uri.path()).await?;
            user
        };
        Ok(user)
    }
}

async fn from_token(
    state: &AppState,
    secret: &str,
    ip: Option<IpAddr>,
    request_id: Option<String>,
) -> Result<CurrentUser, AuthRejection> {
    let unauthorized = || AuthRejection::Error(AppError::Unauthorized);
    if !secret.starts_with(tokens::API_TOKEN_PREFIX) {
        return Err(unauthorized());
    }
    let owner = cross_tenant::api_token_owner(&state.db, &tokens::hash(secret))
        .await?
        .ok_or_else(unauthorized)?;
    let tenant = owner.tenant;
    let mut tx = TenantTx::begin(&state.db, tenant).await?;
    let row = sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id
          WHERE u.tenant_id = $1 AND u.id = $2 AND u.disabled_at IS NULL AND t.status = 'active'"
    ))
    .bind(tx.tenant_id())
    .bind(owner.user_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(unauthorized)?;
    tx.commit().await?;
    Ok(build(
        tenant,
        row,
        Via::Token {
            id: owner.token_id,
            scopes: owner.scopes,
        },
        (false, false),
        ip,
        request_id,
        None,
    ))
}

/// What a user who must use a second factor but has not set one up may still open: the
/// set-up page, sign-out and switching to another of their tenants. Everything else
/// (every record, every page, the API) sends them to set it up.
fn reachable_before_mfa(path: &str) -> bool {
    matches!(path, "/account/mfa" | "/sign-out" | "/switch")
}

/// A user the tenant requires to use a second factor (admins always) gets no further
/// than setting it up. A session that never gave the second factor of an enrolled user
/// (it began before they enrolled) is ended: they sign in again, with their code.
async fn mfa_gate(state: &AppState, user: &CurrentUser, path: &str) -> Result<(), AuthRejection> {
    if !user.mfa_required || (user.mfa_enrolled && user.mfa_verified) {
        return Ok(());
    }
    if user.mfa_enrolled {
        if let Via::Session(id) = user.via {
            let mut tx = TenantTx::begin(&state.db, user.tenant).await?;
            end_session(&mut tx, id, "second factor not given").await?;
            tx.commit().await?;
        }
        if let Some(s) = user.session() {
            session::flush(s).await?;
        }
        return Err(AuthRejection::sign_in());
    }
    if reachable_before_mfa(path) {
        return Ok(());
    }
    Err(AuthRejection::Error(AppError::MfaRequired))
}

impl CurrentUser {
    /// Must set up a second factor before anything else (see [`mfa_gate`]).
    pub fn must_set_up_mfa(&self) -> bool {
        self.mfa_required && !self.mfa_enrolled
    }
}

/// The check every signed-in page makes: the session row is live and its user enabled
/// (public so the benchmark can run it alone). $1 tenant, $2 session row, $3 idle and
/// $4 absolute timeout in seconds.
pub fn session_check_sql() -> String {
    format!(
        "SELECT {USER_COLUMNS},
                now() - s.last_seen_at > make_interval(secs => $3) AS idle_expired,
                now() - s.created_at > make_interval(secs => $4) AS absolute_expired,
                now() - s.last_seen_at > interval '1 minute' AS touch_due
           FROM user_sessions s
           JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
           JOIN tenants t ON t.id = s.tenant_id
          WHERE s.tenant_id = $1 AND s.id = $2 AND s.ended_at IS NULL
            AND u.disabled_at IS NULL AND t.status = 'active'"
    )
}

async fn from_session(
    state: &AppState,
    session: Session,
    ip: Option<IpAddr>,
    request_id: Option<String>,
) -> Result<CurrentUser, AuthRejection> {
    let Some(signed_in) = session::get::<SignedIn>(&session, session::SIGNED_IN).await? else {
        return Err(AuthRejection::sign_in());
    };
    let tenant = TenantId::trusted(signed_in.tenant_id);
    let idle = state.config.session_idle_timeout.as_secs_f64();
    let absolute = state.config.session_absolute_timeout.as_secs_f64();
    // Every request makes this check with the same statement: plan it once per connection.
    let mut tx = TenantTx::begin_reusing_plans(&state.db, tenant).await?;

    #[derive(sqlx::FromRow)]
    struct Live {
        #[sqlx(flatten)]
        user: UserRow,
        idle_expired: bool,
        absolute_expired: bool,
        touch_due: bool,
    }
    let live = sqlx::query_as::<_, Live>(&session_check_sql())
        .bind(tx.tenant_id())
        .bind(signed_in.user_session_id)
        .bind(idle)
        .bind(absolute)
        .fetch_optional(&mut *tx)
        .await?;

    let Some(live) = live else {
        // Ended elsewhere (signed out, disabled, revoked): forget the cookie's session too.
        drop(tx);
        session::flush(&session).await?;
        return Err(AuthRejection::ended(
            signed_in.tenant_id,
            signed_in.user_session_id,
        ));
    };
    if live.idle_expired || live.absolute_expired {
        let reason = if live.idle_expired {
            "idle timeout"
        } else {
            "absolute timeout"
        };
        end_session(&mut tx, signed_in.user_session_id, reason).await?;
        tx.commit().await?;
        session::flush(&session).await?;
        return Err(AuthRejection::ended(
            signed_in.tenant_id,
            signed_in.user_session_id,
        ));
    }
    if live.touch_due {
        sqlx::query(
            "UPDATE user_sessions SET last_seen_at = now() WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tx.tenant_id())
        .bind(signed_in.user_session_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(build(
        tenant,
        live.user,
        Via::Session(signed_in.user_session_id),
        (signed_in.mfa_verified, signed_in.can_switch),
        ip,
        request_id,
        Some(session),
    ))
}

/// Ends one session row: it stops working on its next request, on every instance.
pub async fn end_session(
    tx: &mut TenantTx,
    user_session_id: Uuid,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE user_sessions SET ended_at = now(), end_reason = $3 WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL")
        .bind(tx.tenant_id())
        .bind(user_session_id)
        .bind(reason)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn build(
    tenant: TenantId,
    row: UserRow,
    via: Via,
    (mfa_verified, can_switch): (bool, bool),
    ip: Option<IpAddr>,
    request_id: Option<String>,
    session: Option<Session>,
) -> CurrentUser {
    let role = row.role;
    // An unknown policy word (a newer version's) asks the most of everyone.
    let policy = MfaPolicy::parse(&row.mfa_policy).unwrap_or(MfaPolicy::Everyone);
    CurrentUser {
        tenant,
        tenant_name: row.tenant_name,
        id: row.id,
        account_id: row.account_id,
        can_switch,
        name: row.name,
        email: row.email,
        role,
        company_id: row.subcontractor_company_id,
        is_company_admin: row.is_subcontractor_admin,
        scheme_restricted: row.scheme_restricted,
        mfa_enrolled: row.mfa_enrolled,
        mfa_verified,
        mfa_required: policy.requires(role),
        via,
        ip,
        request_id,
        path: String::new(),
        session,
    }
}

impl CurrentUser {
    /// Who is acting, for the audit trail.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.id),
            token_id: match self.via {
                Via::Token { id, .. } => Some(id),
                Via::Session(_) => None,
            },
            ip: self.ip,
            request_id: self.request_id.clone(),
        }
    }

    /// A transaction acting for this user's tenant.
    pub async fn begin(&self, state: &AppState) -> Result<TenantTx, AppError> {
        Ok(TenantTx::begin(&state.db, self.tenant).await?)
    }

    /// A transaction for this user's tenant whose statements may reuse their plans
    /// (see [`TenantTx::begin_reusing_plans`]).
    pub async fn begin_reusing_plans(&self, state: &AppState) -> Result<TenantTx, AppError> {
        Ok(TenantTx::begin_reusing_plans(&state.db, self.tenant).await?)
    }

    /// Whether this request may do what `scope` covers. A browser session acts with the
    /// user's whole permissions; a token only within its scopes.
    pub fn has_scope(&self, scope: Scope) -> bool {
        match self.via {
            Via::Session(_) => true,
            Via::Token { scopes, .. } => scopes.contains(scope),
        }
    }

    /// Signed in from a browser (not an API token).
    pub fn in_browser(&self) -> bool {
        matches!(self.via, Via::Session(_))
    }

    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// A message for the next page (after a redirect).
    pub async fn flash(&self, kind: &str, message: impl Into<String>) -> Result<(), AppError> {
        if let Some(s) = &self.session {
            session::flash(s, kind, message).await?;
        }
        Ok(())
    }
}

/// The signed-in user of an API request: failures answer JSON, never a redirect.
pub struct ApiUser(pub CurrentUser);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match CurrentUser::from_request_parts(parts, state).await {
            Ok(user) => Ok(ApiUser(user)),
            Err(AuthRejection::SignIn { .. }) => Err(AppError::Unauthorized.into_json_response()),
            Err(AuthRejection::Error(e)) => Err(e.into_json_response()),
        }
    }
}

/// Anyone, signed in or not: for the sign-in pages.
pub struct Visitor {
    pub session: Session,
    pub ip: Option<IpAddr>,
    pub request_id: Option<String>,
    pub user_agent: Option<String>,
    /// The request's headers (for its device cookie).
    pub headers: axum::http::HeaderMap,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("session layer missing")))?;
        Ok(Visitor {
            session,
            ip: client_ip(parts, state.config.trust_proxy),
            request_id: request_id(parts),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(300).collect()),
            headers: parts.headers.clone(),
        })
    }
}

impl Visitor {
    pub fn actor(&self, user_id: Option<Uuid>) -> Actor {
        Actor {
            user_id,
            token_id: None,
            ip: self.ip,
            request_id: self.request_id.clone(),
        }
    }
}
