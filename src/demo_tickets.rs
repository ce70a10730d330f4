//! The demo's tickets, made the way a real ticket is: through the ticket service.
//! Priya Shah (customer care) logs each one on a plot, comments, nominates a
//! company or herself; Dan Fletcher of Brightwater Plumbing accepts, books the
//! visit, attends and marks the work complete; Priya signs it off, sends it back,
//! puts it on hold, records an abortive visit or closes it. So each ticket has the
//! nomination history, timeline and audit records a real one would, and covers every
//! status, priority and trade. No email is sent ([`Links::silent`]).
//!
//! The reported dates are spread over the last six months; what happened since is
//! dated when the demo is loaded.

use time::{Duration, Time};
use uuid::Uuid;

use crate::{
    Result,
    auth::TenantTx,
    db::{
        appointments::AppointmentInput,
        audit,
        comments::Visibility,
        tickets::{PlotPlace, TicketFields},
    },
    domain::{AbortiveReason, Category, Priority, Role, Status, clock},
    tickets::{self, Actor, Answer, Links, Origin, Transition, VisitOutcome},
};

const TITLES: [&str; 14] = [
    "Dripping kitchen tap",
    "No hot water",
    "Socket not working",
    "Door sticks in frame",
    "Loose roof tile",
    "Cracked plaster in hallway",
    "Paint peeling on skirting",
    "Blocked gully",
    "Radiator cold at top",
    "Window will not lock",
    "Kitchen drawer misaligned",
    "Drain smells",
    "Fence panel loose",
    "Gutter leaking",
];
const TRADES: [&str; 14] = [
    "plumbing",
    "plumbing",
    "electrical",
    "carpentry",
    "roofing",
    "plastering",
    "decorating",
    "drainage",
    "heating",
    "windows_doors",
    "kitchens",
    "drainage",
    "groundworks",
    "roofing",
];
const LOCATIONS: [&str; 8] = [
    "kitchen",
    "bathroom",
    "bedroom",
    "living_room",
    "hall",
    "loft",
    "garden",
    "exterior",
];
const VIA: [&str; 4] = ["phone", "email", "portal", "visit"];
const PRIORITIES: [Priority; 8] = [
    Priority::Emergency,
    Priority::High,
    Priority::High,
    Priority::Medium,
    Priority::Medium,
    Priority::Medium,
    Priority::Low,
    Priority::Low,
];
/// Where each ticket ends up, in twenty: mostly open or in hand, a third closed.
const ENDS: [Status; 20] = {
    use Status::*;
    [
        Open,
        Open,
        Open,
        InProgress,
        InProgress,
        InProgress,
        InProgress,
        InProgress,
        OnHold,
        OnHold,
        AbortiveVisit,
        Completed,
        Completed,
        Closed,
        Closed,
        Closed,
        Closed,
        Closed,
        Closed,
        Closed,
    ]
};

/// The people who act in the demo.
struct Cast {
    staff: Actor,
    subcontractor: Option<Actor>,
    /// Other live companies: nominated, their answer still awaited.
    companies: Vec<Uuid>,
}

/// The tenant's first enabled user with `role`, acting for the demo.
pub(crate) async fn demo_actor(tx: &mut TenantTx, role: Role) -> Result<Option<Actor>> {
    let row: Option<(Uuid, Option<Uuid>)> = sqlx::query_as(
        "SELECT id, subcontractor_company_id FROM users
          WHERE tenant_id = $1 AND role = $2 AND disabled_at IS NULL ORDER BY created_at, id LIMIT 1",
    )
    .bind(tx.tenant_id())
    .bind(role.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    let tenant_name: String = sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
        .bind(tx.tenant_id())
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.map(|(id, company_id)| Actor {
        user_id: id,
        role,
        company_id,
        tenant_name,
        audit: audit::Actor {
            user_id: Some(id),
            request_id: Some("plotcare demo".into()),
            ..audit::Actor::default()
        },
    }))
}

async fn cast(tx: &mut TenantTx) -> Result<Option<Cast>> {
    let staff = match demo_actor(tx, Role::Staff).await? {
        Some(a) => a,
        None => match demo_actor(tx, Role::Admin).await? {
            Some(a) => a,
            None => return Ok(None),
        },
    };
    let subcontractor = demo_actor(tx, Role::Subcontractor)
        .await?
        .filter(|a| a.company_id.is_some());
    let companies: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM contacts
          WHERE tenant_id = $1 AND kind = 'subcontractor_company' AND archived_at IS NULL
            AND id IS DISTINCT FROM $2
          ORDER BY name, id",
    )
    .bind(tx.tenant_id())
    .bind(subcontractor.as_ref().and_then(|s| s.company_id))
    .fetch_all(&mut **tx)
    .await?;
    Ok(Some(Cast {
        staff,
        subcontractor,
        companies,
    }))
}

/// Logs `count` tickets on the tenant's plots and takes each through its story. Returns
/// how many were made (none without plots or a staff member or admin to log them).
pub async fn load_demo_tickets(tx: &mut TenantTx, count: usize) -> Result<u64> {
    let plots: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, scheme_id, contract_id FROM plots WHERE tenant_id = $1 ORDER BY id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await?;
    let Some(cast) = cast(tx).await? else {
        return Ok(0);
    };
    if plots.is_empty() {
        return Ok(0);
    }
    let links = Links::silent();
    let now = clock::now();
    for i in 0..count {
        let (plot_id, scheme_id, contract_id) = plots[(i * 7919) % plots.len()];
        let reported_at = now
            - Duration::days(((i * 13) % 180) as i64)
            - Duration::minutes(((i * 37) % 1440) as i64);
        let is_complaint = i % 40 == 7;
        let fields = TicketFields {
            title: TITLES[i % 14].into(),
            description: "Reported by the homeowner. Please arrange a visit.".into(),
            category: Category::parse(TRADES[i % 14]).unwrap_or(Category::General),
            location: LOCATIONS[(i * 3) % 8].into(),
            reported_by_contact_id: None,
            reported_via: VIA[i % 4].into(),
            reported_at,
            priority: PRIORITIES[(i * 7) % 8],
            is_complaint,
            complaint_received_on: is_complaint.then(|| clock::uk_date(reported_at)),
            internal_cost: (i.is_multiple_of(3)).then(|| format!("{}.00", (i * 17) % 900 + 45)),
        };
        let place = PlotPlace {
            plot_id,
            scheme_id,
            contract_id,
        };
        let staff = &cast.staff;
        let t = tickets::log(tx, staff, place, &fields, Origin::Reported).await?;
        tickets::comment(
            tx,
            staff,
            t.id,
            Visibility::Shared,
            "Homeowner available weekday mornings; please call ahead.",
        )
        .await?;
        if i.is_multiple_of(3) {
            tickets::comment(
                tx,
                staff,
                t.id,
                Visibility::Internal,
                "Checked the warranty position: within the defects period.",
            )
            .await?;
        }
        story(tx, &cast, &links, i, t.id, ENDS[i % 20]).await?;
    }
    Ok(count as u64)
}

/// Takes ticket `i` from open to `end`.
async fn story(
    tx: &mut TenantTx,
    cast: &Cast,
    links: &Links,
    i: usize,
    id: Uuid,
    end: Status,
) -> Result<()> {
    let staff = &cast.staff;
    if end == Status::Open {
        return Ok(()); // waiting to be nominated
    }
    // Brightwater takes two in three (when the demo has its user), another company or a
    // staff member the rest.
    let by_subcontractor = cast.subcontractor.as_ref().filter(|_| !i.is_multiple_of(3));
    let choice = match by_subcontractor {
        Some(s) => s.company_id.map(|c| format!("company:{c}")),
        None if !cast.companies.is_empty() && i.is_multiple_of(2) => Some(format!(
            "company:{}",
            cast.companies[i % cast.companies.len()]
        )),
        None => Some(format!("user:{}", staff.user_id)),
    };
    if let Some(choice) = choice {
        tickets::nominate(tx, staff, id, &choice, links).await?;
    }
    let day = clock::today() + Duration::days((i % 14) as i64 + 1);
    let visit = AppointmentInput {
        day,
        window_start: if i.is_multiple_of(2) {
            Time::from_hms(8, 0, 0)
        } else {
            Time::from_hms(12, 0, 0)
        }
        .unwrap_or(Time::MIDNIGHT),
        window_end: if i.is_multiple_of(2) {
            Time::from_hms(12, 0, 0)
        } else {
            Time::from_hms(17, 0, 0)
        }
        .unwrap_or(Time::MIDNIGHT),
        with_whom: "Homeowner".into(),
        notes: "Homeowner will be in; please call 30 minutes before arriving.".into(),
    };
    if let Some(sub) = by_subcontractor {
        tickets::respond_to_nomination(tx, sub, id, Answer::Accept, links).await?;
        let booked = tickets::book_appointment(tx, sub, id, &visit).await?;
        if matches!(end, Status::Completed | Status::Closed) {
            let appointment = crate::db::appointments::find(tx, id, booked)
                .await?
                .ok_or(crate::AppError::NotFound)?;
            tickets::record_visit(tx, sub, &appointment, VisitOutcome::Attended).await?;
            tickets::comment(
                tx,
                sub,
                id,
                Visibility::Shared,
                "Attended and fixed; photos on the job.",
            )
            .await?;
            tickets::complete(tx, sub, id, "Replaced the faulty part and tested.", links).await?;
            if end == Status::Closed {
                if i.is_multiple_of(7) {
                    tickets::send_back(tx, staff, id, "The homeowner says it still drips.").await?;
                    tickets::complete(tx, sub, id, "Reseated the washer; no drip now.", links)
                        .await?;
                }
                tickets::sign_off(
                    tx,
                    staff,
                    id,
                    "Attended and put right; homeowner satisfied.",
                )
                .await?;
            }
            return Ok(());
        }
    } else if end != Status::AbortiveVisit {
        tickets::book_appointment(tx, staff, id, &visit).await?;
    }
    let ask = match end {
        Status::OnHold => Transition {
            to: Some(Status::OnHold),
            note: "Waiting for the homeowner to choose a replacement colour.".into(),
            // Some reviews are due today, so My work has them.
            review_on: Some(clock::today() + Duration::days((i % 3) as i64 * 7)),
            ..Transition::default()
        },
        Status::AbortiveVisit => Transition {
            to: Some(Status::AbortiveVisit),
            reason: AbortiveReason::ALL
                .get(i % AbortiveReason::ALL.len())
                .copied(),
            note: "Nobody home at the appointment.".into(),
            ..Transition::default()
        },
        Status::Closed | Status::Completed => Transition {
            to: Some(Status::Closed),
            resolution: "Attended and put right; homeowner satisfied.".into(),
            ..Transition::default()
        },
        _ => return Ok(()),
    };
    tickets::transition(tx, staff, id, ask).await?;
    Ok(())
}
