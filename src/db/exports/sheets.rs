//! The data return's sheets: what each holds, counted and copied out of PostgreSQL.

use super::{labels::*, *};
use crate::domain::audit as audit_words;

// ---------------------------------------------------------------------------
// Sheets

/// How a column's values are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Text that may pass Excel's 32,767-character cell limit.
    LongText,
    Uuid,
    Int,
    /// numeric, read as float8.
    Decimal,
    Bool,
    Date,
    DateTime,
    Time,
}

/// A value ready for a cell; its text borrowed from the row it was read from, or owned.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(Cow<'a, str>),
    Int(i64),
    Number(f64),
    Bool(bool),
    DateTime(OffsetDateTime),
}

#[derive(Debug, Clone)]
pub struct Column {
    pub header: &'static str,
    pub kind: Kind,
    /// In characters.
    pub width: f64,
}

const fn col(header: &'static str, kind: Kind, width: f64) -> Column {
    Column {
        header,
        kind,
        width,
    }
}

/// One record type: the file it goes to, its sheet, and the query that reads it.
#[derive(Debug, Clone)]
pub struct SheetSpec {
    pub file: &'static str,
    pub title: &'static str,
    pub table: &'static str,
    pub columns: Vec<Column>,
    /// `SELECT <one expression per column> FROM <table> x <joins>`, as written by [`copied`].
    select: String,
    /// Which of the table's rows the sheet holds (a condition on `x`), or all of them.
    only: Option<&'static str>,
}

impl SheetSpec {
    /// The statement that streams the tenant's rows in id order in PostgreSQL's text
    /// COPY format (read with `export::copy_text`). The tenant is a uuid, written as a
    /// literal because COPY takes no parameters; row-level security applies as well.
    /// `from` and `until` bound the ids read (from inclusive, until exclusive).
    pub fn copy_statement(&self, tenant: Uuid, from: Option<Uuid>, until: Option<Uuid>) -> String {
        let bound = |op: &str, id: Option<Uuid>| {
            id.map(|id| format!(" AND x.id {op} '{}'::uuid", id.hyphenated()))
                .unwrap_or_default()
        };
        format!(
            "COPY ({} WHERE x.tenant_id = '{}'::uuid{}{}{} ORDER BY x.id) TO STDOUT",
            self.select,
            tenant.hyphenated(),
            self.only_condition(),
            bound(">=", from),
            bound("<", until),
        )
    }

    /// " AND <condition>" when the sheet holds only some of the table's rows.
    fn only_condition(&self) -> String {
        self.only
            .map(|only| format!(" AND ({only})"))
            .unwrap_or_default()
    }

    /// The sheet holds only the rows of its table that meet `condition` (on `x`).
    pub(super) fn only(mut self, condition: &'static str) -> Self {
        self.only = Some(condition);
        self
    }
}

/// A column's expression as the COPY statement writes it: dates, times and timestamps
/// (UTC) as Excel serial numbers, so the workbook writer reads them as plain numbers.
fn copied(kind: Kind, expr: &str) -> String {
    match kind {
        // Excel counts days from 1899-12-30 (from March 1900 on).
        Kind::Date => format!("({expr}) - DATE '1899-12-30'"),
        // 25569 is 1970-01-01 in Excel's count.
        Kind::DateTime => format!("date_part('epoch', {expr}) / 86400 + 25569"),
        Kind::Time => format!("date_part('epoch', {expr}) / 86400"),
        Kind::Text | Kind::LongText | Kind::Uuid | Kind::Int | Kind::Decimal | Kind::Bool => {
            expr.to_owned()
        }
    }
}

/// "T-00042" from a ticket number column.
pub(super) fn ticket_ref(number: &str) -> String {
    format!(
        "CASE WHEN {number} IS NULL THEN NULL WHEN {number} < 100000 THEN 'T-' || lpad({number}::text, 5, '0') ELSE 'T-' || {number}::text END"
    )
}

pub(super) fn spec(
    file: &'static str,
    title: &'static str,
    table: &'static str,
    columns: Vec<(Column, String)>,
    joins: &str,
) -> SheetSpec {
    let exprs: Vec<String> = columns.iter().map(|(c, e)| copied(c.kind, e)).collect();
    let select = format!("SELECT {} FROM {table} x {joins}", exprs.join(", "));
    SheetSpec {
        file,
        title,
        table,
        columns: columns.into_iter().map(|(c, _)| c).collect(),
        select,
        only: None,
    }
}

pub(super) fn c(header: &'static str, kind: Kind, width: f64, expr: &str) -> (Column, String) {
    (col(header, kind, width), expr.to_owned())
}

const SCHEME_JOIN: &str = "LEFT JOIN schemes s ON s.tenant_id = x.tenant_id AND s.id = x.scheme_id";
const PLOT_JOIN: &str = "LEFT JOIN plots p ON p.tenant_id = x.tenant_id AND p.id = x.plot_id";

/// Every record type of the data export, in the order the zip holds them.
pub fn data_sheets() -> Vec<SheetSpec> {
    use Kind::*;
    let mut sheets = vec![
        spec(
            "schemes.xlsx",
            "Schemes",
            "schemes",
            vec![
                c("Scheme code", Text, 14.0, "x.reference_code"),
                c("Name", Text, 30.0, "x.name"),
                c("Address", LongText, 40.0, "x.address"),
                c("Region", Text, 16.0, "x.region"),
                c("Status", Text, 10.0, &labelled("x.status", scheme_status())),
                c("Warranty provider", Text, 18.0, &labelled("x.warranty_provider", warranty_provider())),
                c("Warranty provider code", Text, 14.0, "x.warranty_provider"),
                c("Warranty months", Int, 10.0, "x.warranty_months::int8"),
                c("SLA clocks on", Bool, 10.0, "x.sla_enabled"),
                c("Site manager", Text, 20.0, "x.site_manager"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("Scheme id", Uuid, 38.0, "x.id"),
            ],
            "",
        ),
        spec(
            "contracts.xlsx",
            "Contracts",
            "contracts",
            vec![
                c("Scheme", Text, 30.0, "s.name"),
                c("Scheme code", Text, 14.0, "s.reference_code"),
                c("Name", Text, 30.0, "x.name"),
                c("Contract type", Text, 18.0, &labelled("x.contract_type", contract_type())),
                c("Contract type code", Text, 14.0, "x.contract_type"),
                c("Client", Text, 24.0, "cl.name"),
                c("Defects period months", Int, 10.0, "x.defects_period_months::int8"),
                c("Start date", Date, 12.0, "x.start_date"),
                c("End date", Date, 12.0, "x.end_date"),
                c("Archived at", DateTime, 19.0, "x.archived_at"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("Contract id", Uuid, 38.0, "x.id"),
                c("Scheme id", Uuid, 38.0, "x.scheme_id"),
                c("Client id", Uuid, 38.0, "x.client_contact_id"),
            ],
            &format!("{SCHEME_JOIN} LEFT JOIN contacts cl ON cl.tenant_id = x.tenant_id AND cl.id = x.client_contact_id"),
        ),
        spec(
            "plots.xlsx",
            "Plots",
            "plots",
            vec![
                c("Scheme", Text, 30.0, "s.name"),
                c("Scheme code", Text, 14.0, "s.reference_code"),
                c("Contract", Text, 24.0, "ct.name"),
                c("Plot number", Text, 10.0, "x.plot_number"),
                c("Address line 1", Text, 30.0, "x.address_line1"),
                c("Address line 2", Text, 20.0, "x.address_line2"),
                c("Town", Text, 16.0, "x.town"),
                c("Postcode", Text, 10.0, "x.postcode"),
                c("House type", Text, 16.0, "x.house_type"),
                c("Bedrooms", Int, 10.0, "x.bedrooms::int8"),
                c("Reservation date", Date, 12.0, "x.reservation_date"),
                c("Completion date", Date, 12.0, "x.completion_date"),
                c("Access notes", LongText, 40.0, "x.access_notes"),
                c("Archived at", DateTime, 19.0, "x.archived_at"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("Plot id", Uuid, 38.0, "x.id"),
                c("Scheme id", Uuid, 38.0, "x.scheme_id"),
                c("Contract id", Uuid, 38.0, "x.contract_id"),
            ],
            &format!("{SCHEME_JOIN} LEFT JOIN contracts ct ON ct.tenant_id = x.tenant_id AND ct.id = x.contract_id"),
        ),
        spec(
            "contacts.xlsx",
            "Contacts",
            "contacts",
            vec![
                c("Name", Text, 26.0, "x.name"),
                c("Kind", Text, 20.0, &labelled("x.kind", contact_kind())),
                c("Kind code", Text, 16.0, "x.kind"),
                c("Company name", Text, 24.0, "x.company_name"),
                c("Company", Text, 24.0, "co.name"),
                c("Emails", Text, 30.0, "array_to_string(x.emails, '; ')"),
                c("Phones", Text, 20.0, "array_to_string(x.phones, '; ')"),
                c("Address", LongText, 40.0, "x.address"),
                c("Notes", LongText, 40.0, "x.notes"),
                c("Preferred contact method", Text, 12.0, &labelled("x.preferred_contact_method", contact_method())),
                c("Consent note", LongText, 30.0, "x.consent_note"),
                c("Trades", Text, 24.0, &labelled_list("x.trades", trade())),
                c("Trade codes", Text, 24.0, "array_to_string(x.trades, '; ')"),
                c("Archived at", DateTime, 19.0, "x.archived_at"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("Contact id", Uuid, 38.0, "x.id"),
                c("Company id", Uuid, 38.0, "x.company_id"),
            ],
            "LEFT JOIN contacts co ON co.tenant_id = x.tenant_id AND co.id = x.company_id",
        ),
        spec(
            "plot_homeowners.xlsx",
            "Plot homeowners",
            "plot_homeowners",
            vec![
                c("Scheme", Text, 30.0, "s.name"),
                c("Plot number", Text, 10.0, "p.plot_number"),
                c("Homeowner", Text, 26.0, "h.name"),
                c("From date", Date, 12.0, "x.from_date"),
                c("To date", Date, 12.0, "x.to_date"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("Record id", Uuid, 38.0, "x.id"),
                c("Plot id", Uuid, 38.0, "x.plot_id"),
                c("Homeowner id", Uuid, 38.0, "x.contact_id"),
            ],
            "LEFT JOIN plots p ON p.tenant_id = x.tenant_id AND p.id = x.plot_id
             LEFT JOIN schemes s ON s.tenant_id = p.tenant_id AND s.id = p.scheme_id
             LEFT JOIN contacts h ON h.tenant_id = x.tenant_id AND h.id = x.contact_id",
        ),
        spec(
            "tickets.xlsx",
            "Tickets",
            "tickets",
            vec![
                c("Reference", Text, 10.0, &ticket_ref("x.number")),
                c("Scheme", Text, 30.0, "s.name"),
                c("Plot number", Text, 10.0, "p.plot_number"),
                c("Title", Text, 40.0, "x.title"),
                c("Description", LongText, 60.0, "x.description"),
                c("Category", Text, 14.0, &labelled("x.category", category())),
                c("Category code", Text, 12.0, "x.category"),
                c("Location", Text, 20.0, &labelled("x.location", location())),
                c("Reported by", Text, 24.0, "rb.name"),
                c("Reported via", Text, 12.0, &labelled("x.reported_via", reported_via())),
                c("Reported at", DateTime, 19.0, "x.reported_at"),
                c("Priority", Text, 10.0, &labelled("x.priority", priority())),
                c("Priority code", Text, 10.0, "x.priority"),
                c("Status", Text, 18.0, &labelled("x.status", ticket_status())),
                c("Status code", Text, 14.0, "x.status"),
                c("Abortive reason", Text, 18.0, &labelled("x.abortive_reason", abortive_reason())),
                c("Abortive reason code", Text, 14.0, "x.abortive_reason"),
                c("Abortive note", LongText, 30.0, "x.abortive_note"),
                c("Resolution", LongText, 40.0, "x.resolution"),
                c("Nominated company", Text, 24.0, "nc.name"),
                c("Nominated user", Text, 28.0, "nu.email"),
                c("Internal cost (£)", Decimal, 12.0, "x.internal_cost::float8"),
                c("Complaint", Bool, 10.0, "x.is_complaint"),
                c("Complaint received on", Date, 12.0, "x.complaint_received_on"),
                c("Due at", DateTime, 19.0, "x.due_at"),
                c("On hold since", DateTime, 19.0, "x.on_hold_since"),
                c("Closed at", DateTime, 19.0, "x.closed_at"),
                c("Created by", Text, 28.0, "cb.email"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("Ticket id", Uuid, 38.0, "x.id"),
                c("Plot id", Uuid, 38.0, "x.plot_id"),
                c("Scheme id", Uuid, 38.0, "x.scheme_id"),
            ],
            &format!(
                "{SCHEME_JOIN} {PLOT_JOIN}
                 LEFT JOIN contacts rb ON rb.tenant_id = x.tenant_id AND rb.id = x.reported_by_contact_id
                 LEFT JOIN contacts nc ON nc.tenant_id = x.tenant_id AND nc.id = x.nominated_company_id
                 LEFT JOIN users nu ON nu.tenant_id = x.tenant_id AND nu.id = x.nominated_user_id
                 LEFT JOIN users cb ON cb.tenant_id = x.tenant_id AND cb.id = x.created_by"
            ),
        ),
        spec(
            "ticket_commentary.xlsx",
            "Ticket commentary",
            "ticket_comments",
            vec![
                c("Ticket", Text, 10.0, &ticket_ref("x.ticket_number")),
                c("Author", Text, 28.0, "a.email"),
                c("Author name", Text, 20.0, "a.name"),
                c("Visibility", Text, 10.0, &labelled("x.visibility", visibility())),
                c("Comment", LongText, 80.0, "x.body"),
                c("Edited at", DateTime, 19.0, "x.edited_at"),
                c("Deleted at", DateTime, 19.0, "x.deleted_at"),
                c("Deleted by", Text, 28.0, "d.email"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("Comment id", Uuid, 38.0, "x.id"),
                c("Ticket id", Uuid, 38.0, "x.ticket_id"),
            ],
            "LEFT JOIN users a ON a.tenant_id = x.tenant_id AND a.id = x.author_user_id
             LEFT JOIN users d ON d.tenant_id = x.tenant_id AND d.id = x.deleted_by",
        ),
        spec(
            "nominations.xlsx",
            "Nominations",
            "nominations",
            vec![
                c("Ticket", Text, 10.0, &ticket_ref("t.number")),
                c("Company", Text, 24.0, "co.name"),
                c("User", Text, 28.0, "u.email"),
                c("Nominated by", Text, 28.0, "nb.email"),
                c("Nominated at", DateTime, 19.0, "x.nominated_at"),
                c("Response", Text, 10.0, &labelled("x.response", nomination_response())),
                c("Responded at", DateTime, 19.0, "x.responded_at"),
                c("Decline reason", LongText, 30.0, "x.decline_reason"),
                c("Ended at", DateTime, 19.0, "x.ended_at"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Nomination id", Uuid, 38.0, "x.id"),
                c("Ticket id", Uuid, 38.0, "x.ticket_id"),
            ],
            "LEFT JOIN tickets t ON t.tenant_id = x.tenant_id AND t.id = x.ticket_id
             LEFT JOIN contacts co ON co.tenant_id = x.tenant_id AND co.id = x.company_id
             LEFT JOIN users u ON u.tenant_id = x.tenant_id AND u.id = x.user_id
             LEFT JOIN users nb ON nb.tenant_id = x.tenant_id AND nb.id = x.nominated_by",
        ),
        spec(
            "appointments.xlsx",
            "Appointments",
            "appointments",
            vec![
                c("Ticket", Text, 10.0, &ticket_ref("t.number")),
                c("Scheme", Text, 30.0, "s.name"),
                c("Plot number", Text, 10.0, "p.plot_number"),
                c("Day", Date, 12.0, "x.day"),
                c("Window start", Time, 8.0, "x.window_start"),
                c("Window end", Time, 8.0, "x.window_end"),
                c("With whom", Text, 20.0, "x.with_whom"),
                c("Status", Text, 10.0, &labelled("x.status", appointment_status())),
                c("Notes", LongText, 40.0, "x.notes"),
                c("Created by", Text, 28.0, "cb.email"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("Appointment id", Uuid, 38.0, "x.id"),
                c("Ticket id", Uuid, 38.0, "x.ticket_id"),
                c("Plot id", Uuid, 38.0, "x.plot_id"),
            ],
            "LEFT JOIN tickets t ON t.tenant_id = x.tenant_id AND t.id = x.ticket_id
             LEFT JOIN plots p ON p.tenant_id = x.tenant_id AND p.id = x.plot_id
             LEFT JOIN schemes s ON s.tenant_id = p.tenant_id AND s.id = p.scheme_id
             LEFT JOIN users cb ON cb.tenant_id = x.tenant_id AND cb.id = x.created_by",
        ),
        spec(
            "files.xlsx",
            "Files",
            "media_files",
            vec![
                c("Ticket", Text, 10.0, &ticket_ref("t.number")),
                c("Scheme", Text, 30.0, "s.name"),
                c("Plot number", Text, 10.0, "p.plot_number"),
                c("File name", Text, 30.0, "x.original_name"),
                c("Content type", Text, 18.0, "x.content_type"),
                c("Size (bytes)", Int, 12.0, "x.size_bytes"),
                c("Visible to subcontractor", Bool, 10.0, "x.visible_to_subcontractor"),
                c("Uploaded by", Text, 28.0, "ub.email"),
                c("Uploaded at", DateTime, 19.0, "x.created_at"),
                c("File id", Uuid, 38.0, "x.id"),
                c("Ticket id", Uuid, 38.0, "t.id"),
                c("Comment id", Uuid, 38.0, "x.comment_id"),
            ],
            "LEFT JOIN ticket_comments cm ON cm.tenant_id = x.tenant_id AND cm.id = x.comment_id
             LEFT JOIN tickets t ON t.tenant_id = x.tenant_id AND t.id = coalesce(x.ticket_id, cm.ticket_id)
             LEFT JOIN plots p ON p.tenant_id = t.tenant_id AND p.id = t.plot_id
             LEFT JOIN schemes s ON s.tenant_id = t.tenant_id AND s.id = t.scheme_id
             LEFT JOIN users ub ON ub.tenant_id = x.tenant_id AND ub.id = x.uploaded_by",
        ),
    ];
    sheets.extend(super::history::ticket_history_sheets());
    sheets.extend(inspection_sheets());
    sheets.extend([
        spec(
            "users.xlsx",
            "Users",
            "users",
            vec![
                c("Email", Text, 30.0, "x.email"),
                c("Name", Text, 24.0, "x.name"),
                c("Role", Text, 14.0, &labelled("x.role", role())),
                c("Role code", Text, 12.0, "x.role"),
                c("Company", Text, 24.0, "co.name"),
                c("Company admin", Bool, 10.0, "x.is_subcontractor_admin"),
                c("Limited to schemes", Bool, 10.0, "x.scheme_restricted"),
                c(
                    "Schemes",
                    LongText,
                    30.0,
                    "(SELECT string_agg(sc.name, '; ' ORDER BY sc.name) FROM user_schemes us
                       JOIN schemes sc ON sc.tenant_id = us.tenant_id AND sc.id = us.scheme_id
                      WHERE us.tenant_id = x.tenant_id AND us.user_id = x.id)",
                ),
                c("Two-factor enrolled at", DateTime, 19.0, "x.mfa_enabled_at"),
                c("Disabled at", DateTime, 19.0, "x.disabled_at"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("User id", Uuid, 38.0, "x.id"),
            ],
            "LEFT JOIN contacts co ON co.tenant_id = x.tenant_id AND co.id = x.subcontractor_company_id",
        ),
        spec(
            "audit_trail.xlsx",
            "Audit trail",
            "audit_events",
            vec![
                c("Occurred at", DateTime, 19.0, "x.occurred_at"),
                c("User", Text, 28.0, "u.email"),
                c("User name", Text, 20.0, "u.name"),
                c("API token id", Uuid, 38.0, "x.actor_token_id"),
                c("Action", Text, 28.0, &labelled("x.action", audit_words::actions())),
                c("Action code", Text, 24.0, "x.action"),
                c("Record type", Text, 16.0, &labelled("x.record_type", audit_words::record_types())),
                c("Record type code", Text, 16.0, "x.record_type"),
                c("Record id", Uuid, 38.0, "x.record_id"),
                c("Changes", LongText, 60.0, "x.changes::text"),
                c("IP address", Text, 16.0, "host(x.ip)"),
                c("Request id", Text, 38.0, "x.request_id"),
                c("Event id", Uuid, 38.0, "x.id"),
            ],
            "LEFT JOIN users u ON u.tenant_id = x.tenant_id AND u.id = x.actor_user_id",
        ),
    ]);
    sheets
}

/// Inspections, their items and results, and their commentary (added with migration 0010).
fn inspection_sheets() -> Vec<SheetSpec> {
    use Kind::*;
    const INSPECTION_JOIN: &str =
        "LEFT JOIN inspections i ON i.tenant_id = x.tenant_id AND i.id = x.inspection_id
             LEFT JOIN plots p ON p.tenant_id = i.tenant_id AND p.id = i.plot_id
             LEFT JOIN schemes s ON s.tenant_id = i.tenant_id AND s.id = i.scheme_id";
    vec![
        spec(
            "inspections.xlsx",
            "Inspections",
            "inspections",
            vec![
                c("Scheme", Text, 30.0, "s.name"),
                c("Plot number", Text, 10.0, "p.plot_number"),
                c("Template", Text, 30.0, "v.name"),
                c("Template version", Int, 10.0, "v.version::int8"),
                c("Kind", Text, 18.0, &labelled("x.kind", inspection_kind())),
                c("Scheduled on", Date, 12.0, "x.scheduled_on"),
                c("Inspector", Text, 28.0, "coalesce(iu.email, ic.name)"),
                c("Status", Text, 12.0, &labelled("x.status", inspection_status())),
                c("Outcome", Text, 16.0, &labelled("x.outcome", inspection_outcome())),
                c("Started at", DateTime, 19.0, "x.started_at"),
                c("Completed at", DateTime, 19.0, "x.completed_at"),
                c("Signed by", Text, 24.0, "x.signed_by_name"),
                c("Signed on", Date, 12.0, "x.signed_on"),
                c("Created by", Text, 28.0, "cb.email"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("Inspection id", Uuid, 38.0, "x.id"),
                c("Plot id", Uuid, 38.0, "x.plot_id"),
            ],
            "LEFT JOIN plots p ON p.tenant_id = x.tenant_id AND p.id = x.plot_id
             LEFT JOIN schemes s ON s.tenant_id = x.tenant_id AND s.id = x.scheme_id
             LEFT JOIN inspection_template_versions v ON v.tenant_id = x.tenant_id AND v.id = x.template_version_id
             LEFT JOIN users iu ON iu.tenant_id = x.tenant_id AND iu.id = x.inspector_user_id
             LEFT JOIN contacts ic ON ic.tenant_id = x.tenant_id AND ic.id = x.inspector_contact_id
             LEFT JOIN users cb ON cb.tenant_id = x.tenant_id AND cb.id = x.created_by",
        ),
        spec(
            "inspection_items_and_results.xlsx",
            "Inspection results",
            "inspection_results",
            vec![
                c("Scheme", Text, 30.0, "s.name"),
                c("Plot number", Text, 10.0, "p.plot_number"),
                c("Inspection scheduled on", Date, 12.0, "i.scheduled_on"),
                c("Section", Text, 20.0, "item.section"),
                c("Item key", Text, 8.0, "x.item_key"),
                c("Item", Text, 40.0, "item.label"),
                c("Answer", LongText, 20.0, "x.answer"),
                c("Notes", LongText, 40.0, "x.notes"),
                c("Ticket raised", Text, 10.0, &ticket_ref("tk.number")),
                c("Answered by", Text, 28.0, "ab.email"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("Result id", Uuid, 38.0, "x.id"),
                c("Inspection id", Uuid, 38.0, "x.inspection_id"),
            ],
            &format!(
                "{INSPECTION_JOIN}
                 LEFT JOIN inspection_template_versions v ON v.tenant_id = i.tenant_id AND v.id = i.template_version_id
                 LEFT JOIN LATERAL (
                     SELECT sec->>'title' AS section, it->>'label' AS label
                       FROM jsonb_array_elements(v.structure->'sections') sec, jsonb_array_elements(sec->'items') it
                      WHERE it->>'key' = x.item_key LIMIT 1) item ON true
                 LEFT JOIN inspection_tickets itk ON itk.tenant_id = x.tenant_id AND itk.inspection_id = x.inspection_id AND itk.item_key = x.item_key
                 LEFT JOIN tickets tk ON tk.tenant_id = itk.tenant_id AND tk.id = itk.ticket_id
                 LEFT JOIN users ab ON ab.tenant_id = x.tenant_id AND ab.id = x.answered_by"
            ),
        ),
        spec(
            "inspection_commentary.xlsx",
            "Inspection commentary",
            "inspection_comments",
            vec![
                c("Scheme", Text, 30.0, "s.name"),
                c("Plot number", Text, 10.0, "p.plot_number"),
                c("Inspection scheduled on", Date, 12.0, "i.scheduled_on"),
                c("Author", Text, 28.0, "a.email"),
                c("Visibility", Text, 10.0, &labelled("x.visibility", visibility())),
                c("Comment", LongText, 80.0, "x.body"),
                c("Created at", DateTime, 19.0, "x.created_at"),
                c("Updated at", DateTime, 19.0, "x.updated_at"),
                c("Comment id", Uuid, 38.0, "x.id"),
                c("Inspection id", Uuid, 38.0, "x.inspection_id"),
            ],
            &format!("{INSPECTION_JOIN} LEFT JOIN users a ON a.tenant_id = x.tenant_id AND a.id = x.author_user_id"),
        ),
        spec(
            "inspection_photos.xlsx",
            "Inspection photos",
            "inspection_photos",
            vec![
                c("Scheme", Text, 30.0, "s.name"),
                c("Plot number", Text, 10.0, "p.plot_number"),
                c("Inspection scheduled on", Date, 12.0, "i.scheduled_on"),
                c("Item key", Text, 8.0, "x.item_key"),
                c("File name", Text, 30.0, "x.original_name"),
                c("Content type", Text, 18.0, "x.content_type"),
                c("Size (bytes)", Int, 12.0, "x.size_bytes"),
                c("Uploaded by", Text, 28.0, "ub.email"),
                c("Uploaded at", DateTime, 19.0, "x.created_at"),
                c("File id", Uuid, 38.0, "x.id"),
                c("Inspection id", Uuid, 38.0, "x.inspection_id"),
            ],
            &format!("{INSPECTION_JOIN} LEFT JOIN users ub ON ub.tenant_id = x.tenant_id AND ub.id = x.uploaded_by"),
        ),
    ]
}

/// The rows of every sheet, for the progress bar's total.
pub async fn count_rows(tx: &mut TenantTx, sheets: &[SheetSpec]) -> sqlx::Result<Vec<i64>> {
    let mut counts = Vec::with_capacity(sheets.len());
    for sheet in sheets {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {} x WHERE x.tenant_id = $1{}",
            sheet.table,
            sheet.only_condition()
        ))
        .bind(tx.tenant_id())
        .fetch_one(&mut **tx)
        .await?;
        counts.push(n);
    }
    Ok(counts)
}

/// Every row of the sheet in id order, as one streaming COPY statement: chunks of
/// whole lines (PostgreSQL sends one line per message). Run it in a transaction
/// whose statement timeout allows a long read.
pub async fn copy_rows<'c>(
    tx: &'c mut TenantTx,
    sheet: &SheetSpec,
    from: Option<Uuid>,
    until: Option<Uuid>,
) -> sqlx::Result<BoxStream<'c, sqlx::Result<Bytes>>> {
    let statement = sheet.copy_statement(tx.tenant_id(), from, until);
    tx.copy_out_raw(&statement).await
}

/// The ids that start each further sheet when the rows are cut into sheets of
/// `per_sheet` rows, in id order: none when they fit on one.
pub async fn sheet_starts(
    tx: &mut TenantTx,
    sheet: &SheetSpec,
    per_sheet: i64,
) -> sqlx::Result<Vec<Uuid>> {
    let mut starts: Vec<Uuid> = Vec::new();
    loop {
        // Each step walks the primary key on from the last start, so the whole walk reads
        // each index entry once.
        let next: Option<Uuid> = sqlx::query_scalar(&format!(
            "SELECT x.id FROM {} x WHERE x.tenant_id = $1{} AND x.id >= coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid)
              ORDER BY x.id OFFSET $3 LIMIT 1",
            sheet.table,
            sheet.only_condition()
        ))
        .bind(tx.tenant_id())
        .bind(starts.last())
        .bind(per_sheet)
        .fetch_optional(&mut **tx)
        .await?;
        match next {
            Some(id) => starts.push(id),
            None => return Ok(starts),
        }
    }
}
