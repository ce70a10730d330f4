//! User management: admins manage everyone in their tenant, subcontractor
//! admins their own company's users. An invitation makes a membership for the person
//! (their own account if they already sign in to Plotcare elsewhere, or a new one) and
//! emails them a link; the inviter is told the same either way, and never sees the link.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    AppError, AppState, Result,
    auth::{
        CurrentUser, TenantTx,
        policy::{self, UserScope},
    },
    db::{
        self,
        audit::{self, Changes},
        users::{Choice, LinkPurpose, NewUser, UserRecord},
    },
    domain::{Email, FormErrors, Role},
    web::chrome::Chrome,
};

mod access;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list))
        .route("/users/new", get(new_form).post(create))
        .route("/users/{id}", get(show))
        .route("/users/{id}/role", post(change_role))
        .route("/users/{id}/schemes", post(change_schemes))
        .route("/users/{id}/disable", post(access::disable))
        .route("/users/{id}/enable", post(access::enable))
        .route("/users/{id}/end-sessions", post(access::end_sessions))
        .route("/users/{id}/reset-mfa", post(access::reset_mfa))
        .route("/users/{id}/password-link", post(access::new_password_link))
        .route(
            "/users/{id}/resend-invitation",
            post(access::resend_invitation),
        )
}

/// How long a set-password link works.
pub(super) const LINK_DAYS: i64 = 7;
pub(super) const LINK_PREFIX: &str = "psl_";

// ---------------------------------------------------------------- views

/// A user as the pages show them.
struct UserView {
    id: Uuid,
    name: String,
    email: String,
    role_label: &'static str,
    company: String,
    company_admin: bool,
    mfa: bool,
    status: &'static str,
    status_class: &'static str,
    disabled: bool,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        let (status, status_class) = if u.disabled_at.is_some() {
            ("Disabled", "bad")
        } else if !u.accepted {
            ("Invited", "warn")
        } else {
            ("Active", "ok")
        };
        UserView {
            id: u.id,
            name: u.name.clone(),
            email: u.email.clone(),
            role_label: u.role().label(),
            company: u.company_name.clone().unwrap_or_default(),
            company_admin: u.is_subcontractor_admin,
            mfa: u.mfa_enrolled,
            status,
            status_class,
            disabled: u.disabled_at.is_some(),
        }
    }
}

struct RoleOption {
    value: &'static str,
    label: &'static str,
}

fn role_options(scope: UserScope) -> Vec<RoleOption> {
    policy::assignable_roles(scope)
        .iter()
        .map(|r| RoleOption {
            value: r.as_str(),
            label: r.label(),
        })
        .collect()
}

struct SchemeOption {
    id: Uuid,
    name: String,
    checked: bool,
}

/// The full address of a set-password link, for the email to the person.
pub(super) fn link_url(state: &AppState, headers: &HeaderMap, token: &str) -> String {
    super::absolute_url(state, headers, &format!("/set-password/{token}"))
}

pub(super) fn day_label(t: OffsetDateTime) -> String {
    format!("{} {} {}", t.day(), t.month(), t.year())
}

// ---------------------------------------------------------------- the list

#[derive(Template, WebTemplate)]
#[template(path = "users/list.html")]
struct ListPage {
    chrome: Chrome,
    users: Vec<UserView>,
    company_only: bool,
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<ListPage> {
    let scope = policy::user_scope(&user)?;
    let company = match scope {
        UserScope::Tenant => None,
        UserScope::Company(c) => Some(c),
    };
    let mut tx = user.begin(&state).await?;
    let users = db::users::list(&mut tx, company).await?;
    tx.commit().await?;
    let title = if company.is_some() {
        "Our users"
    } else {
        "Users"
    };
    Ok(ListPage {
        chrome: user.chrome(title).await?,
        users: users.iter().map(UserView::from).collect(),
        company_only: company.is_some(),
    })
}

// ---------------------------------------------------------------- inviting

#[derive(Template, WebTemplate)]
#[template(path = "users/new.html")]
struct NewPage {
    chrome: Chrome,
    form: NewUserForm,
    errors: FormErrors,
    roles: Vec<RoleOption>,
    companies: Vec<Choice>,
    /// A subcontractor admin's own company: new users always join it.
    fixed_company: Option<String>,
}

/// After an invitation or a new set-password link: what was emailed to whom. The link
/// itself goes only to the person (the outbox page hides it), so nobody else can set
/// their password, and an invitation looks the same whether or not they already sign in
/// to Plotcare elsewhere.
#[derive(Template, WebTemplate)]
#[template(path = "users/invited.html")]
pub(super) struct InvitedPage {
    chrome: Chrome,
    heading: String,
    user_id: Uuid,
    name: String,
    email: String,
    /// "invitation" or "reset".
    purpose: &'static str,
    expires: String,
}

impl InvitedPage {
    pub(super) fn new(
        chrome: Chrome,
        heading: String,
        user: &UserRecord,
        purpose: LinkPurpose,
        expires: OffsetDateTime,
    ) -> Self {
        InvitedPage {
            chrome,
            heading,
            user_id: user.id,
            name: user.name.clone(),
            email: user.email.clone(),
            purpose: purpose.as_str(),
            expires: day_label(expires),
        }
    }
}

#[derive(Deserialize, Default)]
struct NewUserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    company_admin: Option<String>,
}

async fn new_page(
    state: &AppState,
    user: &CurrentUser,
    scope: UserScope,
    form: NewUserForm,
    errors: FormErrors,
) -> Result<NewPage> {
    let mut tx = user.begin(state).await?;
    let companies = db::users::companies(&mut tx).await?;
    tx.commit().await?;
    let fixed_company = match scope {
        UserScope::Tenant => None,
        UserScope::Company(c) => Some(
            companies
                .iter()
                .find(|x| x.id == c)
                .map(|x| x.name.clone())
                .unwrap_or_default(),
        ),
    };
    Ok(NewPage {
        chrome: user.chrome("Invite a user").await?,
        form,
        errors,
        roles: role_options(scope),
        companies,
        fixed_company,
    })
}

async fn new_form(State(state): State<AppState>, user: CurrentUser) -> Result<NewPage> {
    let scope = policy::user_scope(&user)?;
    let form = NewUserForm {
        role: Role::Staff.as_str().into(),
        ..Default::default()
    };
    new_page(&state, &user, scope, form, FormErrors::default()).await
}

fn parse_name(errors: &mut FormErrors, input: &str) -> String {
    errors.text("name", input, 200, Some("their name"))
}

fn parse_role(errors: &mut FormErrors, scope: UserScope, input: &str) -> Option<Role> {
    let role = input
        .parse::<Role>()
        .ok()
        .filter(|r| policy::assignable_roles(scope).contains(r));
    if role.is_none() {
        errors.add("role", "Choose a role.");
    }
    role
}

/// The company a subcontractor works for: a subcontractor admin's own, or one of the tenant's companies.
async fn parse_company(
    tx: &mut TenantTx,
    errors: &mut FormErrors,
    scope: UserScope,
    role: Option<Role>,
    input: &str,
) -> Result<Option<Uuid>> {
    if role != Some(Role::Subcontractor) {
        return Ok(None);
    }
    if let UserScope::Company(own) = scope {
        return Ok(Some(own));
    }
    match Uuid::parse_str(input.trim()) {
        Ok(id) if db::users::company_exists(tx, id).await? => Ok(Some(id)),
        _ => {
            errors.add("company", "Choose the company they work for.");
            Ok(None)
        }
    }
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Form(form): Form<NewUserForm>,
) -> Result<Response> {
    let scope = policy::user_scope(&user)?;
    let mut errors = FormErrors::default();
    let name = parse_name(&mut errors, &form.name);
    let email = errors.check(Email::parse("email", &form.email));
    let role = parse_role(&mut errors, scope, &form.role);
    let mut tx = user.begin(&state).await?;
    let company = parse_company(&mut tx, &mut errors, scope, role, &form.company).await?;
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        drop(tx);
        let page = new_page(&state, &user, scope, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let company_admin = role == Role::Subcontractor && form.company_admin.is_some();
    let new = NewUser {
        email: &email,
        name: &name,
        role,
        company_id: company,
        is_company_admin: company_admin,
        password_hash: None,
    };
    let Some(id) = crate::auth::cross_tenant::accounts::invite_person(&mut tx, &new).await? else {
        drop(tx);
        errors.add(
            "email",
            format!(
                "Someone in {} already uses this email address. Find them in the list of users.",
                user.tenant_name
            ),
        );
        let page = new_page(&state, &user, scope, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let expires = access::email_link(
        &mut tx,
        &state,
        &user,
        &headers,
        id,
        &email,
        LinkPurpose::Invitation,
    )
    .await?;
    let changes = Changes::new()
        .set("name", name.as_str())
        .set("email", email.as_str())
        .set("role", role.as_str())
        .set("company_id", company.map(|c| c.to_string()))
        .set("company_admin", company_admin);
    audit::record(
        &mut tx,
        &user.actor(),
        "user.created",
        "user",
        Some(id),
        changes,
    )
    .await?;
    tx.commit().await?;
    let page = InvitedPage {
        chrome: user.chrome("User invited").await?,
        heading: format!("{name} has been invited"),
        user_id: id,
        name,
        email: email.as_str().to_owned(),
        purpose: LinkPurpose::Invitation.as_str(),
        expires: day_label(expires),
    };
    Ok(page.into_response())
}

// ---------------------------------------------------------------- one user

#[derive(Template, WebTemplate)]
#[template(path = "users/show.html")]
struct UserPage {
    chrome: Chrome,
    u: UserView,
    is_admin: bool,
    is_self: bool,
    is_staff: bool,
    is_subcontractor: bool,
    live_sessions: usize,
    roles: Vec<RoleOption>,
    companies: Vec<Choice>,
    company_id: String,
    scheme_restricted: bool,
    schemes: Vec<SchemeOption>,
    /// The role form as submitted, when it had errors.
    form_role: String,
    errors: FormErrors,
}

/// A user of the tenant within the manager's scope, or 404.
pub(super) async fn load(tx: &mut TenantTx, scope: UserScope, id: &str) -> Result<UserRecord> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let target = db::users::find(tx, id).await?.ok_or(AppError::NotFound)?;
    if !policy::may_manage(scope, target.subcontractor_company_id) {
        return Err(AppError::NotFound);
    }
    Ok(target)
}

async fn user_page(
    state: &AppState,
    user: &CurrentUser,
    scope: UserScope,
    id: &str,
    form_role: Option<String>,
    errors: FormErrors,
) -> Result<UserPage> {
    let mut tx = user.begin(state).await?;
    let target = load(&mut tx, scope, id).await?;
    let companies = db::users::companies(&mut tx).await?;
    let chosen = db::users::user_schemes(&mut tx, target.id).await?;
    let schemes = db::users::schemes(&mut tx)
        .await?
        .into_iter()
        .map(|s| SchemeOption {
            checked: chosen.iter().any(|c| c.id == s.id),
            id: s.id,
            name: s.name,
        })
        .collect();
    let live_sessions = db::sessions::for_user(&mut tx, target.id, 100)
        .await?
        .iter()
        .filter(|s| s.ended_at.is_none())
        .count();
    tx.commit().await?;
    Ok(UserPage {
        chrome: user.chrome(target.name.clone()).await?,
        is_admin: scope == UserScope::Tenant,
        is_self: target.id == user.id,
        is_staff: target.role() == Role::Staff,
        is_subcontractor: target.role() == Role::Subcontractor,
        live_sessions,
        roles: role_options(scope),
        companies,
        company_id: target
            .subcontractor_company_id
            .map(|c| c.to_string())
            .unwrap_or_default(),
        scheme_restricted: target.scheme_restricted,
        schemes,
        form_role: form_role.unwrap_or_else(|| target.role.as_str().to_string()),
        errors,
        u: UserView::from(&target),
    })
}

async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<UserPage> {
    let scope = policy::user_scope(&user)?;
    user_page(&state, &user, scope, &id, None, FormErrors::default()).await
}

pub(super) fn back(id: Uuid) -> Redirect {
    Redirect::to(&format!("/users/{id}"))
}

pub(super) fn admin_only(scope: UserScope, what: &'static str) -> Result<()> {
    match scope {
        UserScope::Tenant => Ok(()),
        UserScope::Company(_) => Err(AppError::Forbidden(what)),
    }
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    company_admin: Option<String>,
}

async fn change_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response> {
    let scope = policy::user_scope(&user)?;
    let mut tx = user.begin(&state).await?;
    let target = load(&mut tx, scope, &id).await?;
    admin_only(scope, "Only admins can change roles.")?;
    let mut errors = FormErrors::default();
    let role = parse_role(&mut errors, scope, &form.role);
    if target.id == user.id && role.is_some_and(|r| r != Role::Admin) {
        errors.add(
            "role",
            "You can't remove your own admin role. Ask another admin to do it.",
        );
    }
    let company = parse_company(&mut tx, &mut errors, scope, role, &form.company).await?;
    let (Some(role), true) = (role, errors.is_empty()) else {
        drop(tx);
        let page = user_page(&state, &user, scope, &id, Some(form.role), errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let company_admin = role == Role::Subcontractor && form.company_admin.is_some();
    let changes = Changes::new()
        .field("role", target.role.as_str(), role.as_str())
        .field(
            "company_id",
            target.subcontractor_company_id.map(|c| c.to_string()),
            company.map(|c| c.to_string()),
        )
        .field(
            "company_admin",
            target.is_subcontractor_admin,
            company_admin,
        )
        .field(
            "scheme_restricted",
            target.scheme_restricted,
            target.scheme_restricted && role == Role::Staff,
        );
    if changes.is_empty() {
        drop(tx);
        user.flash("info", "Nothing changed.").await?;
        return Ok(back(target.id).into_response());
    }
    db::users::set_role(&mut tx, target.id, role, company, company_admin).await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "user.role_changed",
        "user",
        Some(target.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("{} is now {}.", target.name, role.label()),
    )
    .await?;
    Ok(back(target.id).into_response())
}

async fn change_schemes(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let scope = policy::user_scope(&user)?;
    let mut tx = user.begin(&state).await?;
    let target = load(&mut tx, scope, &id).await?;
    admin_only(scope, "Only admins can restrict staff to schemes.")?;
    let restricted = fields.iter().any(|(k, _)| k == "restricted");
    let mut wanted: Vec<Uuid> = fields
        .iter()
        .filter(|(k, _)| k == "scheme")
        .filter_map(|(_, v)| Uuid::parse_str(v).ok())
        .collect();
    wanted.sort();
    wanted.dedup();
    if restricted && target.role() != Role::Staff {
        return Err(AppError::BadRequest(
            "Only customer-care staff can be restricted to schemes.".into(),
        ));
    }
    let before = db::users::user_schemes(&mut tx, target.id).await?;
    db::users::set_schemes(&mut tx, target.id, restricted, &wanted).await?;
    let after = db::users::user_schemes(&mut tx, target.id).await?;
    let names = |list: &[Choice]| list.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    let changes = Changes::new()
        .field("scheme_restricted", target.scheme_restricted, restricted)
        .field("schemes", names(&before), names(&after));
    if changes.is_empty() {
        drop(tx);
        user.flash("info", "Nothing changed.").await?;
        return Ok(back(target.id).into_response());
    }
    audit::record(
        &mut tx,
        &user.actor(),
        "user.schemes_changed",
        "user",
        Some(target.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    let message = if restricted {
        format!(
            "{} now sees only the {} scheme(s) ticked.",
            target.name,
            after.len()
        )
    } else {
        format!("{} sees every scheme.", target.name)
    };
    user.flash("success", message).await?;
    Ok(back(target.id).into_response())
}
