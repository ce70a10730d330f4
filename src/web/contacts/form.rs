//! Creating and editing a contact.

use super::*;
use crate::web::kit::finish_create;

// ---------------------------------------------------------------- the form

/// The form as typed: lists are one item per line.
#[derive(Debug, Clone, Default)]
pub(super) struct ContactForm {
    pub(super) kind: String,
    pub(super) name: String,
    pub(super) company_name: String,
    pub(super) company_id: String,
    pub(super) emails: String,
    pub(super) phones: String,
    pub(super) address: String,
    pub(super) notes: String,
    pub(super) preferred_contact_method: String,
    pub(super) consent_note: String,
    pub(super) trades: Vec<String>,
}

impl ContactForm {
    pub(super) fn from_fields(fields: Vec<(String, String)>) -> Self {
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

    pub(super) fn from_contact(c: &Contact) -> Self {
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

pub(super) fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Checks the form; `companies` are the subcontractor companies a person may belong to.
pub(super) fn validate(
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

pub(super) struct CompanyOption {
    pub(super) id: Uuid,
    pub(super) name: String,
    pub(super) selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/form.html")]
pub(super) struct FormPage {
    pub(super) chrome: Chrome,
    pub(super) heading: String,
    pub(super) action: String,
    pub(super) cancel: String,
    pub(super) form: ContactForm,
    pub(super) errors: FormErrors,
    pub(super) kinds: Vec<Choice>,
    pub(super) trades: Vec<Choice>,
    pub(super) methods: Vec<Choice>,
    pub(super) companies: Vec<CompanyOption>,
}

pub(super) fn form_page(
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
pub(super) struct NewQuery {
    #[serde(default)]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) company: String,
}

pub(super) async fn new_form(
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

pub(super) async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let form_key = fields
        .iter()
        .find(|(k, _)| k == "form_key")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
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
    let location = format!("/contacts/{id}");
    finish_create(
        tx,
        &user,
        &form_key,
        &location,
        format!("{} has been added.", fields.name),
    )
    .await
}

pub(super) async fn edit_form(
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

pub(super) fn changes_between(before: &Contact, after: &ContactFields) -> Changes {
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

pub(super) async fn update(
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

pub(super) async fn set_archived(
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

pub(super) async fn archive(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    set_archived(&state, &user, &id, true).await
}

pub(super) async fn restore(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    set_archived(&state, &user, &id, false).await
}
