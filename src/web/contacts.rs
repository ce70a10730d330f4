//! Contacts: the list (search, filters, keyset pages), a contact's page (a
//! company's people and trades, a homeowner's plots), create and edit forms,
//! and archiving. Admins and staff change contacts; the out-of-hours role reads.

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

use crate::web::query::Query;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
        contacts::{
            self as store, Contact, ContactFields, ContactFilter, KINDS, METHODS, Sort, Status,
            TRADES,
        },
    },
    domain::{Email, FormErrors, long_date},
    import::valid_phone,
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(list))
        .route("/contacts/new", get(new_form).post(create))
        .route("/contacts/{id}", get(show))
        .route("/contacts/{id}/edit", get(edit_form).post(update))
        .route("/contacts/{id}/archive", post(archive))
        .route("/contacts/{id}/restore", post(restore))
}

/// Rows on one page of the list.
const PAGE_SIZE: i64 = 50;

// ---------------------------------------------------------------- choices

struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

fn choices(list: &[(&'static str, &'static str)], selected: &[&str]) -> Vec<Choice> {
    list.iter()
        .map(|(value, label)| Choice {
            value,
            label,
            selected: selected.contains(value),
        })
        .collect()
}

fn trade_labels(trades: &[String]) -> String {
    trades
        .iter()
        .map(|t| store::trade_label(t))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    trade: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
}

struct Row {
    id: Uuid,
    name: String,
    kind_label: &'static str,
    company: String,
    email: String,
    phone: String,
    trades: String,
    archived: bool,
}

struct SortChoice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/list.html")]
struct ListPage {
    chrome: Chrome,
    q: String,
    kinds: Vec<Choice>,
    trades: Vec<Choice>,
    sorts: Vec<SortChoice>,
    status: &'static str,
    rows: Vec<Row>,
    next_href: Option<String>,
    paged: bool,
    filtered: bool,
    can_edit: bool,
}

/// The list's address with these settings and cursor.
fn list_href(
    q: &str,
    kind: &str,
    trade: &str,
    status: Status,
    sort: Sort,
    after: Option<Uuid>,
) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("q", q), ("kind", kind), ("trade", trade)] {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    if status != Status::Active {
        s.append_pair("status", status.as_str());
    }
    if sort != Sort::default() {
        s.append_pair("sort", sort.as_str());
    }
    if let Some(after) = after {
        s.append_pair("after", &after.to_string());
    }
    let query = s.finish();
    if query.is_empty() {
        "/contacts".into()
    } else {
        format!("/contacts?{query}")
    }
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<ListPage> {
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let kind = KINDS
        .iter()
        .find(|(k, _)| *k == query.kind)
        .map(|(k, _)| *k);
    let trade = TRADES
        .iter()
        .find(|(t, _)| *t == query.trade)
        .map(|(t, _)| *t);
    let filter = ContactFilter {
        q: Some(query.q.trim().to_owned()).filter(|q| !q.is_empty()),
        kind: kind.map(str::to_owned),
        trade: trade.map(str::to_owned),
        status: Status::parse(&query.status),
        sort: Sort::parse(&query.sort),
        after: Uuid::parse_str(query.after.trim()).ok(),
    };
    let mut found = store::list(&mut tx, &filter, scope.as_filter(), PAGE_SIZE + 1).await?;
    tx.commit().await?;
    let more = found.len() as i64 > PAGE_SIZE;
    found.truncate(PAGE_SIZE as usize);
    let next_href = more.then(|| {
        let last = found.last().map(|c| c.id);
        list_href(
            &filter.q.clone().unwrap_or_default(),
            kind.unwrap_or(""),
            trade.unwrap_or(""),
            filter.status,
            filter.sort,
            last,
        )
    });
    let rows = found
        .into_iter()
        .map(|c| Row {
            kind_label: store::kind_label(&c.kind),
            company: c
                .company
                .clone()
                .filter(|_| c.company_name.is_empty())
                .unwrap_or(c.company_name),
            email: c.emails.first().cloned().unwrap_or_default(),
            phone: c.phones.first().cloned().unwrap_or_default(),
            trades: trade_labels(&c.trades),
            archived: c.archived_at.is_some(),
            id: c.id,
            name: c.name,
        })
        .collect();
    Ok(ListPage {
        chrome: user.chrome("Contacts").await?,
        kinds: choices(&KINDS, &[kind.unwrap_or("")]),
        trades: choices(&TRADES, &[trade.unwrap_or("")]),
        sorts: Sort::ALL
            .iter()
            .map(|s| SortChoice {
                value: s.as_str(),
                label: s.label(),
                selected: *s == filter.sort,
            })
            .collect(),
        status: filter.status.as_str(),
        rows,
        next_href,
        paged: filter.after.is_some(),
        filtered: filter.q.is_some()
            || kind.is_some()
            || trade.is_some()
            || filter.status != Status::Active,
        can_edit: policy::may_edit_records(&user).is_ok(),
        q: query.q,
    })
}

// ---------------------------------------------------------------- one contact

struct PlotLine {
    plot_id: Uuid,
    plot_number: String,
    scheme_name: String,
    address: String,
    from: String,
    to: String,
    current: bool,
}

struct Person {
    id: Uuid,
    name: String,
    email: String,
    phone: String,
    archived: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/show.html")]
struct ShowPage {
    chrome: Chrome,
    c: Contact,
    kind_label: &'static str,
    method_label: &'static str,
    trades: String,
    is_company: bool,
    is_homeowner: bool,
    people: Vec<Person>,
    plots: Vec<PlotLine>,
    can_edit: bool,
    is_admin: bool,
}

/// A contact the user may see, or 404.
async fn load(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: &str,
) -> Result<(Contact, policy::SchemeScope)> {
    let scope = policy::record_scope(tx, user).await?;
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let contact = store::find(tx, id, scope.as_filter())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((contact, scope))
}

async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<ShowPage> {
    let mut tx = user.begin(&state).await?;
    let (c, scope) = load(&mut tx, &user, &id).await?;
    let is_company = c.kind == "subcontractor_company";
    let is_homeowner = c.kind == "homeowner";
    let people = if is_company {
        store::people(&mut tx, c.id).await?
    } else {
        Vec::new()
    };
    let plots = if is_homeowner {
        store::owned_plots(&mut tx, c.id, scope.as_filter()).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let date = |d: Option<time::Date>| d.map(long_date).unwrap_or_default();
    Ok(ShowPage {
        chrome: user.chrome(c.name.clone()).await?,
        kind_label: store::kind_label(&c.kind),
        method_label: store::method_label(&c.preferred_contact_method),
        trades: trade_labels(&c.trades),
        is_company,
        is_homeowner,
        people: people
            .into_iter()
            .map(|p| Person {
                email: p.emails.first().cloned().unwrap_or_default(),
                phone: p.phones.first().cloned().unwrap_or_default(),
                archived: p.archived_at.is_some(),
                id: p.id,
                name: p.name,
            })
            .collect(),
        plots: plots
            .into_iter()
            .map(|p| PlotLine {
                address: [
                    p.address_line1.as_str(),
                    p.town.as_str(),
                    p.postcode.as_str(),
                ]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
                from: date(p.from_date),
                to: date(p.to_date),
                current: p.to_date.is_none(),
                plot_id: p.plot_id,
                plot_number: p.plot_number,
                scheme_name: p.scheme_name,
            })
            .collect(),
        can_edit: policy::may_edit_records(&user).is_ok(),
        is_admin: user.role == crate::domain::Role::Admin,
        c,
    })
}

// ---------------------------------------------------------------- the form

/// The form as typed: lists are one item per line.
#[derive(Debug, Clone, Default)]
struct ContactForm {
    kind: String,
    name: String,
    company_name: String,
    company_id: String,
    emails: String,
    phones: String,
    address: String,
    notes: String,
    preferred_contact_method: String,
    consent_note: String,
    trades: Vec<String>,
}

impl ContactForm {
    fn from_fields(fields: Vec<(String, String)>) -> Self {
        let mut f = ContactForm::default();
        for (k, v) in fields {
            match k.as_str() {
                "kind" => f.kind = v,
                "name" => f.name = v,
                "company_name" => f.company_name = v,
                "company_id" => f.company_id = v,
                "emails" => f.emails = v,
                "phones" => f.phones = v,
                "address" => f.address = v,
                "notes" => f.notes = v,
                "preferred_contact_method" => f.preferred_contact_method = v,
                "consent_note" => f.consent_note = v,
                "trade" => f.trades.push(v),
                _ => {}
            }
        }
        f
    }

    fn from_contact(c: &Contact) -> Self {
        ContactForm {
            kind: c.kind.clone(),
            name: c.name.clone(),
            company_name: c.company_name.clone(),
            company_id: c.company_id.map(|id| id.to_string()).unwrap_or_default(),
            emails: c.emails.join("\n"),
            phones: c.phones.join("\n"),
            address: c.address.clone(),
            notes: c.notes.clone(),
            preferred_contact_method: c.preferred_contact_method.clone(),
            consent_note: c.consent_note.clone(),
            trades: c.trades.clone(),
        }
    }
}

fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Checks the form; `companies` are the subcontractor companies a person may belong to.
fn validate(
    form: &ContactForm,
    companies: &[store::CompanyChoice],
) -> std::result::Result<ContactFields, FormErrors> {
    let mut errors = FormErrors::default();
    let kind = KINDS
        .iter()
        .find(|(k, _)| *k == form.kind)
        .map(|(k, _)| (*k).to_owned());
    if kind.is_none() {
        errors.add("kind", "Choose what kind of contact this is.");
    }
    let name = errors.text("name", &form.name, 200, Some("their name"));
    let company_name = errors.text("company_name", &form.company_name, 200, None);

    let mut emails = Vec::new();
    for (i, line) in lines(&form.emails).into_iter().enumerate() {
        match Email::parse("emails", line) {
            Ok(e) if !emails.contains(&e.as_str().to_owned()) => emails.push(e.as_str().to_owned()),
            Ok(_) => {}
            Err(e) => {
                errors.add(
                    "emails",
                    format!("Line {}: {} ('{line}').", i + 1, e.message),
                );
                break;
            }
        }
    }
    let mut phones = Vec::new();
    for (i, line) in lines(&form.phones).into_iter().enumerate() {
        if !valid_phone(line) {
            errors.add("phones", format!("Line {}: '{line}' is not a phone number. Use digits, spaces and + only, like 07700 900123.", i + 1));
            break;
        }
        phones.push(line.to_owned());
    }
    let address = errors.long_text("address", &form.address, 1000, None);
    let notes = errors.long_text("notes", &form.notes, 5000, None);
    let consent_note = errors.text("consent_note", &form.consent_note, 1000, None);

    let method = METHODS
        .iter()
        .find(|(m, _)| *m == form.preferred_contact_method)
        .map(|(m, _)| *m);
    match method {
        None => errors.add(
            "preferred_contact_method",
            "Choose how they prefer to be contacted.",
        ),
        Some("email") if emails.is_empty() && errors.get("emails").is_none() => errors.add(
            "preferred_contact_method",
            "Add an email address, or choose another way to contact them.",
        ),
        Some("phone" | "sms") if phones.is_empty() && errors.get("phones").is_none() => errors.add(
            "preferred_contact_method",
            "Add a phone number, or choose another way to contact them.",
        ),
        Some("post") if address.is_empty() => errors.add(
            "preferred_contact_method",
            "Add an address, or choose another way to contact them.",
        ),
        Some(_) => {}
    }

    let is_company = kind.as_deref() == Some("subcontractor_company");
    let mut trades = Vec::new();
    if is_company {
        for t in &form.trades {
            match TRADES.iter().find(|(v, _)| v == t) {
                Some((v, _)) if !trades.contains(&(*v).to_owned()) => trades.push((*v).to_owned()),
                Some(_) => {}
                None => errors.add("trades", "Choose trades from the list."),
            }
        }
    }
    let company_id = if kind.as_deref() == Some("subcontractor_person") {
        let chosen = Uuid::parse_str(form.company_id.trim())
            .ok()
            .filter(|id| companies.iter().any(|c| c.id == *id));
        if chosen.is_none() {
            errors.add(
                "company_id",
                "Choose the subcontractor company they work for.",
            );
        }
        chosen
    } else {
        None
    };

    match (kind, errors.is_empty()) {
        (Some(kind), true) => Ok(ContactFields {
            kind,
            name,
            company_name,
            company_id,
            emails,
            phones,
            address,
            notes,
            preferred_contact_method: method.unwrap_or("phone").to_owned(),
            consent_note,
            trades,
        }),
        _ => Err(errors),
    }
}

struct CompanyOption {
    id: Uuid,
    name: String,
    selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/form.html")]
struct FormPage {
    chrome: Chrome,
    heading: String,
    action: String,
    cancel: String,
    form: ContactForm,
    errors: FormErrors,
    kinds: Vec<Choice>,
    trades: Vec<Choice>,
    methods: Vec<Choice>,
    companies: Vec<CompanyOption>,
}

fn form_page(
    chrome: Chrome,
    heading: String,
    action: String,
    cancel: String,
    form: ContactForm,
    errors: FormErrors,
    companies: Vec<store::CompanyChoice>,
) -> FormPage {
    let trades: Vec<&str> = form.trades.iter().map(String::as_str).collect();
    FormPage {
        kinds: choices(&KINDS, &[form.kind.as_str()]),
        trades: choices(&TRADES, &trades),
        methods: choices(&METHODS, &[form.preferred_contact_method.as_str()]),
        companies: companies
            .into_iter()
            .map(|c| CompanyOption {
                selected: c.id.to_string() == form.company_id,
                id: c.id,
                name: c.name,
            })
            .collect(),
        chrome,
        heading,
        action,
        cancel,
        form,
        errors,
    }
}

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    company: String,
}

async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<NewQuery>,
) -> Result<FormPage> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let companies = store::companies(&mut tx).await?;
    tx.commit().await?;
    let kind = if KINDS.iter().any(|(k, _)| *k == query.kind) {
        query.kind
    } else {
        "homeowner".into()
    };
    let form = ContactForm {
        kind,
        company_id: query.company,
        preferred_contact_method: "phone".into(),
        ..Default::default()
    };
    Ok(form_page(
        user.chrome("Add a contact").await?,
        "Add a contact".into(),
        "/contacts/new".into(),
        "/contacts".into(),
        form,
        FormErrors::default(),
        companies,
    ))
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let form = ContactForm::from_fields(fields);
    let mut tx = user.begin(&state).await?;
    let companies = store::companies(&mut tx).await?;
    let fields = match validate(&form, &companies) {
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            let page = form_page(
                user.chrome("Add a contact").await?,
                "Add a contact".into(),
                "/contacts/new".into(),
                "/contacts".into(),
                form,
                errors,
                companies,
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let id = store::insert(&mut tx, &fields).await?;
    let changes = Changes::new()
        .set("kind", fields.kind.as_str())
        .set("name", fields.name.as_str())
        .set("company_name", fields.company_name.as_str())
        .set("company_id", fields.company_id.map(|c| c.to_string()))
        .set("emails", fields.emails.clone())
        .set("phones", fields.phones.clone())
        .set("address", fields.address.as_str())
        .set("notes", fields.notes.as_str())
        .set(
            "preferred_contact_method",
            fields.preferred_contact_method.as_str(),
        )
        .set("consent_note", fields.consent_note.as_str())
        .set("trades", fields.trades.clone());
    audit::record(
        &mut tx,
        &user.actor(),
        "contact.created",
        "contact",
        Some(id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash("success", format!("{} has been added.", fields.name))
        .await?;
    Ok(Redirect::to(&format!("/contacts/{id}")).into_response())
}

async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<FormPage> {
    let mut tx = user.begin(&state).await?;
    let (c, _) = load(&mut tx, &user, &id).await?;
    policy::may_edit_records(&user)?;
    let companies = store::companies(&mut tx).await?;
    tx.commit().await?;
    let heading = format!("Edit {}", c.name);
    Ok(form_page(
        user.chrome(heading.clone()).await?,
        heading,
        format!("/contacts/{}/edit", c.id),
        format!("/contacts/{}", c.id),
        ContactForm::from_contact(&c),
        FormErrors::default(),
        companies,
    ))
}

fn changes_between(before: &Contact, after: &ContactFields) -> Changes {
    Changes::new()
        .field("kind", before.kind.as_str(), after.kind.as_str())
        .field("name", before.name.as_str(), after.name.as_str())
        .field(
            "company_name",
            before.company_name.as_str(),
            after.company_name.as_str(),
        )
        .field(
            "company_id",
            before.company_id.map(|c| c.to_string()),
            after.company_id.map(|c| c.to_string()),
        )
        .field("emails", before.emails.clone(), after.emails.clone())
        .field("phones", before.phones.clone(), after.phones.clone())
        .field("address", before.address.as_str(), after.address.as_str())
        .field("notes", before.notes.as_str(), after.notes.as_str())
        .field(
            "preferred_contact_method",
            before.preferred_contact_method.as_str(),
            after.preferred_contact_method.as_str(),
        )
        .field(
            "consent_note",
            before.consent_note.as_str(),
            after.consent_note.as_str(),
        )
        .field("trades", before.trades.clone(), after.trades.clone())
}

async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (before, _) = load(&mut tx, &user, &id).await?;
    policy::may_edit_records(&user)?;
    let form = ContactForm::from_fields(fields);
    // A company cannot belong to itself.
    let companies: Vec<store::CompanyChoice> = store::companies(&mut tx)
        .await?
        .into_iter()
        .filter(|c| c.id != before.id)
        .collect();
    let after = match validate(&form, &companies) {
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            let heading = format!("Edit {}", before.name);
            let page = form_page(
                user.chrome(heading.clone()).await?,
                heading,
                format!("/contacts/{}/edit", before.id),
                format!("/contacts/{}", before.id),
                form,
                errors,
                companies,
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let changes = changes_between(&before, &after);
    if changes.is_empty() {
        drop(tx);
        user.flash("info", "Nothing changed.").await?;
        return Ok(Redirect::to(&format!("/contacts/{}", before.id)).into_response());
    }
    store::update(&mut tx, before.id, &after).await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "contact.updated",
        "contact",
        Some(before.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash("success", format!("{} has been saved.", after.name))
        .await?;
    Ok(Redirect::to(&format!("/contacts/{}", before.id)).into_response())
}

async fn set_archived(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    archived: bool,
) -> Result<Response> {
    let mut tx = user.begin(state).await?;
    let (c, _) = load(&mut tx, user, id).await?;
    policy::may_edit_records(user)?;
    if c.archived_at.is_some() == archived {
        drop(tx);
        return Ok(Redirect::to(&format!("/contacts/{}", c.id)).into_response());
    }
    store::set_archived(&mut tx, c.id, archived).await?;
    let (action, message) = if archived {
        (
            "contact.archived",
            format!("{} has been archived. Their history is kept.", c.name),
        )
    } else {
        ("contact.restored", format!("{} is active again.", c.name))
    };
    let changes = Changes::new().field("archived", !archived, archived);
    db::audit::record(
        &mut tx,
        &user.actor(),
        action,
        "contact",
        Some(c.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash("success", message).await?;
    Ok(Redirect::to(&format!("/contacts/{}", c.id)).into_response())
}

async fn archive(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    set_archived(&state, &user, &id, true).await
}

async fn restore(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    set_archived(&state, &user, &id, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str) -> ContactForm {
        ContactForm {
            kind: kind.into(),
            name: "Jane Example".into(),
            preferred_contact_method: "post".into(),
            address: "1 Larch Close".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_bad_email_is_named_by_its_line() {
        let f = ContactForm {
            emails: "jane@example.com\nnot an email".into(),
            ..form("homeowner")
        };
        let errors = validate(&f, &[]).unwrap_err();
        assert!(
            errors.get("emails").unwrap().starts_with("Line 2:"),
            "{:?}",
            errors.get("emails")
        );
    }

    #[test]
    fn a_person_needs_a_company_and_only_companies_keep_trades() {
        let errors = validate(&form("subcontractor_person"), &[]).unwrap_err();
        assert!(errors.get("company_id").is_some());
        let f = ContactForm {
            trades: vec!["plumbing".into()],
            ..form("homeowner")
        };
        assert!(validate(&f, &[]).unwrap().trades.is_empty());
        let f = ContactForm {
            trades: vec!["plumbing".into(), "plumbing".into(), "heating".into()],
            ..form("subcontractor_company")
        };
        assert_eq!(
            validate(&f, &[]).unwrap().trades,
            vec!["plumbing".to_string(), "heating".to_string()]
        );
    }

    #[test]
    fn the_preferred_method_needs_its_details() {
        let f = ContactForm {
            preferred_contact_method: "email".into(),
            ..form("homeowner")
        };
        assert!(
            validate(&f, &[])
                .unwrap_err()
                .get("preferred_contact_method")
                .is_some()
        );
        let f = ContactForm {
            preferred_contact_method: "sms".into(),
            phones: "07700 900123".into(),
            ..form("homeowner")
        };
        assert_eq!(
            validate(&f, &[]).unwrap().phones,
            vec!["07700 900123".to_string()]
        );
    }
}
