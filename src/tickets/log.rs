//! Logging a ticket (from the ticket form, or from a failed inspection item) and
//! editing its fields. The due time follows from the priority's SLA target when the
//! scheme has SLAs on; time already spent On Hold still counts after an edit.

use time::{Date, Duration};
use uuid::Uuid;

use super::{Actor, add_event, refused, store};
use crate::{
    Result,
    auth::{TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
        tickets::{PlotPlace, Ticket, TicketFields},
    },
    domain::{
        Location, ReportedVia, TicketRef, clock, long_date,
        ticket_event::{self, TicketEvent},
        when,
    },
};

/// Where a new ticket came from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// The ticket form (or any surface logging a defect as reported).
    Reported,
    /// A failed item of an inspection, with the photos that go with it.
    Inspection {
        inspection_id: Uuid,
        template_name: String,
        scheduled_on: Date,
        photos: usize,
    },
}

/// A logged ticket.
#[derive(Debug, Clone)]
pub struct Logged {
    pub id: Uuid,
    pub number: i64,
    /// "T-00042"
    pub reference: String,
}

/// Logs a ticket on a plot: its number, due time, "logged" event and audit record.
pub async fn log(
    tx: &mut TenantTx,
    actor: &Actor,
    place: PlotPlace,
    fields: &TicketFields,
    origin: Origin,
) -> Result<Logged> {
    policy::may_log_tickets(actor)?;
    if let Some(contact) = fields.reported_by_contact_id
        && !db::tickets::reporter_allowed(tx, place.plot_id, contact).await?
    {
        return Err(refused(
            "reported_by",
            "Choose who reported it from the list",
        ));
    }
    let sla = db::sla::policy(tx).await?;
    let due_at = db::sla::scheme_sla_enabled(tx, place.scheme_id)
        .await?
        .then(|| {
            clock::due_at(
                fields.reported_at,
                sla.target(fields.priority),
                Duration::ZERO,
            )
        });
    let (id, number) = store::insert(tx, place, fields, due_at, actor.user_id).await?;
    let reference = TicketRef(number).to_string();
    let summary = match &origin {
        Origin::Reported => format!("Ticket {reference} logged"),
        Origin::Inspection {
            template_name,
            scheduled_on,
            ..
        } => format!(
            "Ticket {reference} logged from the {template_name} inspection on {}",
            long_date(*scheduled_on)
        ),
    };
    add_event(
        tx,
        actor,
        id,
        &TicketEvent::Created {
            summary,
            priority: fields.priority.as_str().to_owned(),
            reported_via: Some(fields.reported_via.to_string()),
        },
    )
    .await?;
    let mut changes = Changes::new()
        .set("reference", reference.clone())
        .set("plot_id", place.plot_id.to_string())
        .set("title", fields.title.clone())
        .set("category", fields.category.as_str())
        .set("location", fields.location.clone())
        .set("priority", fields.priority.as_str())
        .set("reported_via", fields.reported_via.clone())
        .set("reported_at", fields.reported_at.to_string())
        .set("is_complaint", fields.is_complaint)
        .set("internal_cost", fields.internal_cost.clone());
    if let Origin::Inspection {
        inspection_id,
        photos,
        ..
    } = origin
    {
        changes = changes
            .note("inspection_id", inspection_id.to_string())
            .note("photos", photos);
    }
    audit::record(
        tx,
        &actor.audit,
        "ticket.created",
        "ticket",
        Some(id),
        changes,
    )
    .await?;
    Ok(Logged {
        id,
        number,
        reference,
    })
}

/// Saves the ticket's edited fields. Returns false when nothing changed (and writes nothing).
pub async fn edit(
    tx: &mut TenantTx,
    actor: &Actor,
    t: &Ticket,
    fields: &TicketFields,
) -> Result<bool> {
    policy::may_manage_tickets(actor)?;
    if fields.reported_by_contact_id != t.reported_by_contact_id
        && let Some(contact) = fields.reported_by_contact_id
        && !db::tickets::reporter_allowed(tx, t.plot_id, contact).await?
    {
        return Err(refused(
            "reported_by",
            "Choose who reported it from the list",
        ));
    }
    let reporter_after = match fields.reported_by_contact_id {
        Some(c) if Some(c) == t.reported_by_contact_id => {
            t.reported_by_name.clone().unwrap_or_default()
        }
        Some(c) => db::tickets::reporters(tx, t.plot_id)
            .await?
            .into_iter()
            .find(|r| r.id == c)
            .map(|r| r.name)
            .unwrap_or_else(|| "Another contact".into()),
        None => "—".into(),
    };
    let reporter_before = t.reported_by_name.clone().unwrap_or_else(|| "—".into());
    let changes = field_changes(t, fields, &reporter_before, &reporter_after);
    if changes.is_empty() {
        return Ok(false);
    }
    // A new priority or report time moves the due time; time already spent On Hold still counts.
    let mut due_at = t.due_at;
    if t.due_at.is_some()
        && (fields.priority != t.priority() || fields.reported_at != t.reported_at)
    {
        let sla = db::sla::policy(tx).await?;
        let held = db::tickets::held_so_far(tx, t.id).await?;
        due_at = Some(clock::due_at(
            fields.reported_at,
            sla.target(fields.priority),
            held,
        ));
    }
    store::update_fields(tx, t.id, fields, due_at).await?;

    let entry = |c: &&FieldChange| ticket_event::FieldChange {
        field: c.label.to_owned(),
        before: c.before.clone(),
        after: c.after.clone(),
    };
    let (internal, shared): (Vec<&FieldChange>, Vec<&FieldChange>) =
        changes.iter().partition(|c| c.key == "internal_cost");
    for (list, internal) in [(shared, false), (internal, true)] {
        if !list.is_empty() {
            let event = TicketEvent::FieldsChanged {
                changes: list.iter().map(entry).collect(),
                internal,
            };
            add_event(tx, actor, t.id, &event).await?;
        }
    }
    let mut audit_changes = Changes::new();
    for c in &changes {
        audit_changes = audit_changes.field(c.key, c.before.clone(), c.after.clone());
    }
    if due_at != t.due_at {
        audit_changes = audit_changes.field(
            "due_at",
            t.due_at.map(|d| d.to_string()),
            due_at.map(|d| d.to_string()),
        );
    }
    audit::record(
        tx,
        &actor.audit,
        "ticket.updated",
        "ticket",
        Some(t.id),
        audit_changes,
    )
    .await?;
    Ok(true)
}

/// One field's change, as the timeline and the audit trail show it.
pub struct FieldChange {
    pub key: &'static str,
    pub label: &'static str,
    pub before: String,
    pub after: String,
}

pub fn field_changes(
    t: &Ticket,
    f: &TicketFields,
    reporter_before: &str,
    reporter_after: &str,
) -> Vec<FieldChange> {
    let opt_label = |v: &str| {
        if v.is_empty() {
            "—".to_owned()
        } else {
            Location::label_of(v).to_owned()
        }
    };
    let date = |d: Option<Date>| d.map(long_date).unwrap_or_else(|| "—".into());
    let cost = |c: Option<&str>| c.map(|c| format!("£{c}")).unwrap_or_else(|| "—".into());
    let yes_no = |b: bool| if b { "Yes".to_owned() } else { "No".to_owned() };
    let all = [
        ("title", "Title", t.title.clone(), f.title.clone()),
        (
            "description",
            "Description",
            t.description.clone(),
            f.description.clone(),
        ),
        (
            "category",
            "Category",
            t.category.label().to_owned(),
            f.category.label().to_owned(),
        ),
        (
            "location",
            "Location",
            opt_label(&t.location),
            opt_label(&f.location),
        ),
        (
            "reported_by",
            "Reported by",
            reporter_before.to_owned(),
            reporter_after.to_owned(),
        ),
        (
            "reported_via",
            "Reported via",
            t.reported_via.label().to_owned(),
            ReportedVia::label_of(&f.reported_via).to_owned(),
        ),
        (
            "reported_at",
            "Reported at",
            when(t.reported_at),
            when(f.reported_at),
        ),
        (
            "priority",
            "Priority",
            t.priority().label().to_owned(),
            f.priority.label().to_owned(),
        ),
        (
            "is_complaint",
            "Complaint",
            yes_no(t.is_complaint),
            yes_no(f.is_complaint),
        ),
        (
            "complaint_received_on",
            "Complaint received",
            date(t.complaint_received_on),
            date(f.complaint_received_on),
        ),
        (
            "internal_cost",
            "Internal cost",
            cost(t.internal_cost.as_deref()),
            cost(f.internal_cost.as_deref()),
        ),
    ];
    all.into_iter()
        .filter(|(_, _, b, a)| b != a)
        .map(|(key, label, before, after)| FieldChange {
            key,
            label,
            before,
            after,
        })
        .collect()
}
