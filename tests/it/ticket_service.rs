//! The ticket service, called directly as every surface calls it: each operation
//! writes its change, its timeline event and its audit record (and its email, with an
//! absolute link), and a refused operation changes nothing. The pages' own tests
//! (tickets, nominations, portal, comments, files, appointments, inspections) drive
//! the same operations through the browser forms.

use plotcare::{
    AppError,
    auth::TenantTx,
    db::{
        appointments::AppointmentInput,
        audit,
        comments::Visibility,
        files::NewFile,
        tickets::{PlotPlace, TicketFields},
    },
    domain::{AbortiveReason, Category, ComplaintStage, Priority, Role, Status, clock},
    tickets::{self, Actor, Answer, Links, Origin, Transition, VisitOutcome},
};
use time::{Duration, Time};
use uuid::Uuid;

use crate::common::{TestApp, TestTenant, TestUser};
use crate::tickets::site;

struct World {
    app: TestApp,
    a: TestTenant,
    place: PlotPlace,
    staff: Actor,
    sub: Actor,
    other_sub: Actor,
    company: Uuid,
}

fn actor(user: &TestUser, company: Option<Uuid>) -> Actor {
    Actor {
        user_id: user.id,
        role: user.role,
        company_id: company,
        tenant_name: "Acme Homes".into(),
        audit: audit::Actor {
            user_id: Some(user.id),
            request_id: Some("test".into()),
            ..audit::Actor::default()
        },
    }
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let company = app.create_company(&a, "Brightwater Plumbing").await;
    sqlx::query("UPDATE contacts SET emails = ARRAY['jobs@brightwater.test'] WHERE id = $1")
        .bind(company)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let rival = app.create_company(&a, "Rival Plumbing").await;
    let staff = app.create_user(&a, Role::Staff, None, false).await;
    let sub = app
        .create_user(&a, Role::Subcontractor, Some(company), false)
        .await;
    let other = app
        .create_user(&a, Role::Subcontractor, Some(rival), false)
        .await;
    World {
        place: PlotPlace {
            plot_id: s.plot,
            scheme_id: s.scheme,
            contract_id: s.contract,
        },
        staff: actor(&staff, None),
        sub: actor(&sub, Some(company)),
        other_sub: actor(&other, Some(rival)),
        company,
        app,
        a,
    }
}

fn fields(title: &str) -> TicketFields {
    TicketFields {
        title: title.into(),
        description: "Water under the sink".into(),
        category: Category::Plumbing,
        location: "kitchen".into(),
        reported_by_contact_id: None,
        reported_via: "phone".into(),
        reported_at: clock::now(),
        priority: Priority::High,
        is_complaint: false,
        complaint_received_on: None,
        internal_cost: None,
    }
}

fn links() -> Links {
    Links::new("https://care.acme.test")
}

impl World {
    async fn tx(&self) -> TenantTx {
        TenantTx::begin(&self.app.pool, self.a.tenant)
            .await
            .unwrap()
    }

    async fn log(&self, title: &str) -> Uuid {
        let mut tx = self.tx().await;
        let t = tickets::log(
            &mut tx,
            &self.staff,
            self.place,
            &fields(title),
            Origin::Reported,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        t.id
    }

    async fn count(&self, sql: &str, ticket: Uuid) -> i64 {
        self.app
            .count(&sql.replace("$T", &format!("'{ticket}'")))
            .await
    }

    async fn status(&self, ticket: Uuid) -> String {
        sqlx::query_scalar("SELECT status FROM tickets WHERE id = $1")
            .bind(ticket)
            .fetch_one(&self.app.admin_pool)
            .await
            .unwrap()
    }

    async fn events(&self, ticket: Uuid, kind: &str) -> i64 {
        self.count(
            &format!("SELECT count(*) FROM ticket_events WHERE ticket_id = $T AND kind = '{kind}'"),
            ticket,
        )
        .await
    }

    async fn audits(&self, action: &str) -> i64 {
        self.app
            .count(&format!(
                "SELECT count(*) FROM audit_events WHERE action = '{action}'"
            ))
            .await
    }

    /// Everything written about the ticket, to show a refusal changed nothing.
    async fn footprint(&self, ticket: Uuid) -> (String, i64, i64, i64) {
        (
            self.status(ticket).await,
            self.count(
                "SELECT count(*) FROM ticket_events WHERE ticket_id = $T",
                ticket,
            )
            .await,
            self.app.count("SELECT count(*) FROM audit_events").await,
            self.app.count("SELECT count(*) FROM outbox_emails").await,
        )
    }

    /// The body of the one email the condition picks (`to_address = ...`, `subject LIKE ...`).
    async fn email_body(&self, condition: &str) -> String {
        sqlx::query_scalar(&format!(
            "SELECT body_text FROM outbox_emails WHERE {condition}"
        ))
        .fetch_one(&self.app.admin_pool)
        .await
        .unwrap()
    }

    /// Nominates Brightwater (emailed).
    async fn nominate(&self, id: Uuid) {
        let mut tx = self.tx().await;
        let choice = format!("company:{}", self.company);
        tickets::nominate(&mut tx, &self.staff, id, &choice, &links())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Nominated to Brightwater and accepted by its user.
    async fn accepted(&self, title: &str) -> Uuid {
        let id = self.log(title).await;
        self.nominate(id).await;
        let mut tx = self.tx().await;
        tickets::respond_to_nomination(&mut tx, &self.sub, id, Answer::Accept, &links())
            .await
            .unwrap()
            .expect("pending");
        tx.commit().await.unwrap();
        id
    }
}

fn refused_field<T: std::fmt::Debug>(r: Result<T, AppError>) -> &'static str {
    match r {
        Err(AppError::Refused { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn logging_writes_the_ticket_its_logged_entry_and_its_audit_record_and_a_subcontractor_cannot()
 {
    let w = world().await;
    let id = w.log("Leaking tap").await;
    assert_eq!(w.status(id).await, "open");
    assert_eq!(w.events(id, "created").await, 1);
    assert_eq!(
        w.count(
            "SELECT count(*) FROM audit_events WHERE action = 'ticket.created' AND record_id = $T AND request_id = 'test'",
            id
        )
        .await,
        1
    );
    // High priority, SLA on: due a day after it was reported.
    assert_eq!(
        w.count(
            "SELECT count(*) FROM tickets WHERE id = $T AND due_at - reported_at = interval '1 day'",
            id
        )
        .await,
        1
    );
    let mut tx = w.tx().await;
    let r = tickets::log(&mut tx, &w.sub, w.place, &fields("Mine"), Origin::Reported).await;
    assert!(matches!(r, Err(AppError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn editing_records_each_changed_field_and_an_edit_that_changes_nothing_writes_nothing() {
    let w = world().await;
    let id = w.log("Leaking tap").await;
    let mut tx = w.tx().await;
    let t = plotcare::db::tickets::find(
        &mut tx,
        &plotcare::db::scope::TicketScope::Schemes(plotcare::db::scope::SchemeScope::All),
        id,
    )
    .await
    .unwrap()
    .unwrap();
    let mut changed = fields("Leaking kitchen tap");
    changed.reported_at = t.reported_at;
    changed.priority = Priority::Low;
    assert!(
        tickets::edit(&mut tx, &w.staff, &t, &changed)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert_eq!(w.events(id, "fields_changed").await, 1);
    assert_eq!(w.audits("ticket.updated").await, 1);
    // Low priority: 28 days now.
    assert_eq!(
        w.count(
            "SELECT count(*) FROM tickets WHERE id = $T AND title = 'Leaking kitchen tap' AND due_at - reported_at = interval '28 days'",
            id
        )
        .await,
        1
    );

    // The same fields again: nothing to record.
    let before = w.footprint(id).await;
    let mut tx = w.tx().await;
    let t = plotcare::db::tickets::find(
        &mut tx,
        &plotcare::db::scope::TicketScope::Schemes(plotcare::db::scope::SchemeScope::All),
        id,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        !tickets::edit(&mut tx, &w.staff, &t, &changed)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert_eq!(w.footprint(id).await, before);
}

#[tokio::test]
async fn transitions_follow_the_table_and_a_refused_one_changes_nothing() {
    let w = world().await;
    let id = w.log("Leaking tap").await;

    for (ask, field) in [
        (
            Transition {
                to: Some(Status::Completed),
                ..Transition::default()
            },
            "status",
        ),
        (
            Transition {
                to: Some(Status::Open),
                ..Transition::default()
            },
            "status",
        ),
        (
            Transition {
                to: Some(Status::Closed),
                ..Transition::default()
            },
            "resolution",
        ),
        (
            Transition {
                to: Some(Status::AbortiveVisit),
                ..Transition::default()
            },
            "reason",
        ),
        (
            Transition {
                to: None,
                ..Transition::default()
            },
            "status",
        ),
        (
            Transition {
                to: Some(Status::OnHold),
                review_on: Some(clock::today()),
                ..Transition::default()
            },
            "hold_reason",
        ),
        (
            Transition {
                to: Some(Status::OnHold),
                note: "Waiting for parts".into(),
                ..Transition::default()
            },
            "review_on",
        ),
        (
            Transition {
                to: Some(Status::OnHold),
                note: "Waiting for parts".into(),
                review_on: Some(clock::today() - Duration::days(1)),
                ..Transition::default()
            },
            "review_on",
        ),
    ] {
        let before = w.footprint(id).await;
        let mut tx = w.tx().await;
        assert_eq!(
            refused_field(tickets::transition(&mut tx, &w.staff, id, ask).await),
            field
        );
        tx.commit().await.unwrap();
        assert_eq!(w.footprint(id).await, before);
    }

    // On hold stops the clock; back to open gives the held time back to the due time.
    let mut tx = w.tx().await;
    let hold = Transition {
        to: Some(Status::OnHold),
        note: "Waiting for the homeowner".into(),
        review_on: Some(clock::today() + Duration::days(7)),
        ..Transition::default()
    };
    tickets::transition(&mut tx, &w.staff, id, hold)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(w.status(id).await, "on_hold");
    let mut tx = w.tx().await;
    let close = Transition {
        to: Some(Status::Closed),
        resolution: "Washer replaced".into(),
        ..Transition::default()
    };
    let moved = tickets::transition(&mut tx, &w.staff, id, close)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (moved.from, moved.to, moved.reopened),
        (Status::OnHold, Status::Closed, false)
    );
    assert_eq!(w.events(id, "status_changed").await, 2);
    assert_eq!(w.audits("ticket.status_changed").await, 2);
    assert_eq!(
        w.count(
            "SELECT count(*) FROM ticket_events WHERE ticket_id = $T AND data ? 'held_seconds'",
            id
        )
        .await,
        1
    );
    let mut tx = w.tx().await;
    let reopen = Transition {
        to: Some(Status::Open),
        ..Transition::default()
    };
    assert!(
        tickets::transition(&mut tx, &w.staff, id, reopen)
            .await
            .unwrap()
            .reopened
    );
    tx.commit().await.unwrap();
    assert_eq!(w.events(id, "reopened").await, 1);
    assert_eq!(w.audits("ticket.reopened").await, 1);

    // The out-of-hours role reads but does not change.
    let emergency = w.app.create_user(&w.a, Role::Emergency, None, false).await;
    let mut tx = w.tx().await;
    let ask = Transition {
        to: Some(Status::AbortiveVisit),
        reason: Some(AbortiveReason::NoAccess),
        ..Transition::default()
    };
    let r = tickets::transition(&mut tx, &actor(&emergency, None), id, ask).await;
    assert!(matches!(r, Err(AppError::Forbidden(_))), "{r:?}");
}

#[tokio::test]
async fn nominating_records_the_nomination_starts_work_and_emails_an_absolute_link() {
    let w = world().await;
    let id = w.log("Leaking tap").await;
    let before = w.footprint(id).await;
    let mut tx = w.tx().await;
    assert_eq!(
        refused_field(
            tickets::nominate(&mut tx, &w.staff, id, "company:not-an-id", &links()).await
        ),
        "nominee"
    );
    assert_eq!(
        refused_field(tickets::nominate(&mut tx, &w.staff, id, "", &links()).await),
        "nominee"
    );
    tx.commit().await.unwrap();
    assert_eq!(w.footprint(id).await, before);

    let mut tx = w.tx().await;
    let done = tickets::nominate(
        &mut tx,
        &w.staff,
        id,
        &format!("company:{}", w.company),
        &links(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(done.emailed);
    assert_eq!(w.status(id).await, "in_progress");
    assert_eq!(w.events(id, "nominated").await, 1);
    assert_eq!(w.audits("ticket.nominated").await, 1);
    assert_eq!(
        w.count(
            "SELECT count(*) FROM nominations WHERE ticket_id = $T AND response = 'pending' AND ended_at IS NULL",
            id
        )
        .await,
        1
    );
    let body = w.email_body("to_address = 'jobs@brightwater.test'").await;
    assert!(
        body.contains(&format!("https://care.acme.test/tickets/{id}")),
        "{body}"
    );

    // Silent links (the demo) write the same record without an email.
    let quiet = w.log("Cracked tile").await;
    let mut tx = w.tx().await;
    let done = tickets::nominate(
        &mut tx,
        &w.staff,
        quiet,
        &format!("company:{}", w.company),
        &Links::silent(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(!done.emailed);
    assert_eq!(w.app.count("SELECT count(*) FROM outbox_emails").await, 1);
}

#[tokio::test]
async fn only_the_nominated_company_answers_and_a_decline_hands_the_ticket_back_with_an_email() {
    let w = world().await;
    let id = w.log("Leaking tap").await;
    w.nominate(id).await;

    let mut tx = w.tx().await;
    let r =
        tickets::respond_to_nomination(&mut tx, &w.other_sub, id, Answer::Accept, &links()).await;
    assert!(matches!(r, Err(AppError::NotFound)), "{r:?}");
    let r = tickets::respond_to_nomination(&mut tx, &w.staff, id, Answer::Accept, &links()).await;
    assert!(matches!(r, Err(AppError::Forbidden(_))), "{r:?}");
    assert_eq!(
        refused_field(
            tickets::respond_to_nomination(
                &mut tx,
                &w.sub,
                id,
                Answer::Decline("  ".into()),
                &links()
            )
            .await
        ),
        "reason"
    );
    drop(tx);

    let mut tx = w.tx().await;
    tickets::respond_to_nomination(
        &mut tx,
        &w.sub,
        id,
        Answer::Decline("Not our trade".into()),
        &links(),
    )
    .await
    .unwrap()
    .expect("answerable");
    tx.commit().await.unwrap();
    assert_eq!(w.status(id).await, "open");
    assert_eq!(
        w.count(
            "SELECT count(*) FROM tickets WHERE id = $T AND nominated_company_id IS NULL",
            id
        )
        .await,
        1
    );
    assert_eq!(w.events(id, "nomination_declined").await, 1);
    assert_eq!(w.audits("nomination.declined").await, 1);
    // The staff member who nominated hears about it, with a link back to the ticket.
    let body = w
        .email_body("subject LIKE '%declined by Brightwater%'")
        .await;
    assert!(
        body.contains(&format!("https://care.acme.test/tickets/{id}")),
        "{body}"
    );
    assert!(body.contains("Not our trade"));
}

#[tokio::test]
async fn completion_sign_off_and_send_back_move_only_completed_work() {
    let w = world().await;
    let pending = w.log("Leaking tap").await;
    w.nominate(pending).await;
    let before = w.footprint(pending).await;
    let mut tx = w.tx().await;
    assert_eq!(
        refused_field(tickets::complete(&mut tx, &w.sub, pending, "Done", &links()).await),
        "note"
    );
    assert_eq!(
        refused_field(tickets::sign_off(&mut tx, &w.staff, pending, "Fixed").await),
        "status"
    );
    assert_eq!(
        refused_field(tickets::send_back(&mut tx, &w.staff, pending, "Still drips").await),
        "status"
    );
    tx.commit().await.unwrap();
    assert_eq!(w.footprint(pending).await, before);

    let id = w.accepted("Radiator cold").await;
    let mut tx = w.tx().await;
    tickets::complete(&mut tx, &w.sub, id, "Bled the radiator", &links())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(w.status(id).await, "completed");
    assert_eq!(w.events(id, "work_completed").await, 1);
    assert_eq!(w.audits("ticket.work_completed").await, 1);
    let body = w.email_body("subject LIKE '%ready for sign-off%'").await;
    assert!(
        body.contains(&format!("https://care.acme.test/tickets/{id}/sign-off")),
        "{body}"
    );

    let mut tx = w.tx().await;
    assert_eq!(
        refused_field(tickets::send_back(&mut tx, &w.staff, id, " ").await),
        "reason"
    );
    drop(tx);
    let mut tx = w.tx().await;
    tickets::send_back(&mut tx, &w.staff, id, "Still cold at the top")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(w.status(id).await, "in_progress");
    assert_eq!(w.audits("ticket.sent_back").await, 1);

    let mut tx = w.tx().await;
    tickets::complete(&mut tx, &w.sub, id, "Replaced the valve", &links())
        .await
        .unwrap();
    tickets::sign_off(&mut tx, &w.staff, id, "Radiator warm throughout")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(w.status(id).await, "closed");
    assert_eq!(w.audits("ticket.signed_off").await, 1);
    assert_eq!(
        w.count(
            "SELECT count(*) FROM tickets WHERE id = $T AND resolution = 'Radiator warm throughout' AND closed_at IS NOT NULL",
            id
        )
        .await,
        1
    );
}

#[tokio::test]
async fn comments_files_and_appointments_each_leave_their_entry_and_audit_record() {
    let w = world().await;
    let id = w.accepted("Leaking tap").await;
    let mut tx = w.tx().await;
    // A subcontractor's comment is shared, whatever it asked for.
    let c = tickets::comment(&mut tx, &w.sub, id, Visibility::Internal, "On my way")
        .await
        .unwrap();
    let file = tickets::attach(
        &mut tx,
        &w.sub,
        NewFile {
            ticket_id: id,
            comment_id: Some(c),
            storage_key: "tickets/test/photo.jpg",
            thumbnail_key: None,
            original_name: "photo.jpg",
            content_type: "image/jpeg",
            size_bytes: 1234,
            visible_to_subcontractor: false,
            uploaded_by: Uuid::nil(),
        },
    )
    .await
    .unwrap();
    let input = AppointmentInput {
        day: clock::today() + Duration::days(2),
        window_start: Time::from_hms(8, 0, 0).unwrap(),
        window_end: Time::from_hms(12, 0, 0).unwrap(),
        with_whom: "Ann Smith".into(),
        notes: String::new(),
    };
    let booked = tickets::book_appointment(&mut tx, &w.sub, id, &input)
        .await
        .unwrap();
    let appointment = plotcare::db::appointments::find(&mut tx, id, booked)
        .await
        .unwrap()
        .unwrap();
    tickets::record_visit(&mut tx, &w.sub, &appointment, VisitOutcome::Attended)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        w.count(
            "SELECT count(*) FROM ticket_comments WHERE ticket_id = $T AND visibility = 'shared'",
            id
        )
        .await,
        1
    );
    assert_eq!(
        w.count(
            &format!(
                "SELECT count(*) FROM media_files WHERE id = '{file}' AND visible_to_subcontractor AND uploaded_by = '{}'",
                w.sub.user_id
            ),
            id
        )
        .await,
        1
    );
    for kind in [
        "comment_added",
        "file_added",
        "appointment_booked",
        "appointment_attended",
    ] {
        assert_eq!(w.events(id, kind).await, 1, "{kind}");
    }
    for action in [
        "comment.created",
        "file.uploaded",
        "appointment.booked",
        "appointment.attended",
    ] {
        assert_eq!(w.audits(action).await, 1, "{action}");
    }

    // Another company's user reaches none of it.
    let mut tx = w.tx().await;
    let r = tickets::comment(&mut tx, &w.other_sub, id, Visibility::Shared, "Hello").await;
    assert!(matches!(r, Err(AppError::NotFound)), "{r:?}");
    let r = tickets::book_appointment(&mut tx, &w.other_sub, id, &input).await;
    assert!(matches!(r, Err(AppError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn complaint_stages_are_for_complaints_and_never_dated_ahead() {
    let w = world().await;
    let id = w.log("Leaking tap").await;
    let mut tx = w.tx().await;
    assert_eq!(
        refused_field(
            tickets::mark_complaint_stage(
                &mut tx,
                &w.staff,
                id,
                ComplaintStage::Acknowledgement,
                clock::today()
            )
            .await
        ),
        "stage"
    );
    drop(tx);
    sqlx::query(
        "UPDATE tickets SET is_complaint = true, complaint_received_on = now()::date WHERE id = $1",
    )
    .bind(id)
    .execute(&w.app.admin_pool)
    .await
    .unwrap();
    let mut tx = w.tx().await;
    assert_eq!(
        refused_field(
            tickets::mark_complaint_stage(
                &mut tx,
                &w.staff,
                id,
                ComplaintStage::Acknowledgement,
                clock::today() + Duration::days(1)
            )
            .await
        ),
        "done_on"
    );
    drop(tx);
    let mut tx = w.tx().await;
    tickets::mark_complaint_stage(
        &mut tx,
        &w.staff,
        id,
        ComplaintStage::Acknowledgement,
        clock::today(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(w.events(id, "complaint_stage").await, 1);
    assert_eq!(w.audits("ticket.complaint_stage_done").await, 1);
}
