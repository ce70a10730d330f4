//! Generated tickets for load and benchmark tenants: `count` tickets spread over
//! the tenant's plots, in every status, priority and trade, with their timeline
//! entries and nomination records. Set-based SQL, so a few thousand load in well under
//! a second and a million in minutes.
//!
//! The one writer of `tickets` besides the ticket service (`crate::tickets`): a
//! million tickets through the service's operations would take hours. The rows are
//! what the service would write (numbers from the tenant's counter, a nomination
//! record and a "nominated" entry for every nominated ticket); the demo's tickets go
//! through the service (`crate::demo_tickets`).

use crate::auth::TenantTx;

/// Creates `count` tickets on the tenant's plots (none if it has no plots). Returns how many were made.
pub async fn bulk_tickets(tx: &mut TenantTx, count: i64) -> sqlx::Result<u64> {
    let plots: i64 = sqlx::query_scalar("SELECT count(*) FROM plots WHERE tenant_id = $1")
        .bind(tx.tenant_id())
        .fetch_one(&mut **tx)
        .await?;
    if plots == 0 || count <= 0 {
        return Ok(0);
    }
    // Reserve the numbers in one step, so they stay unique per tenant.
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO ticket_counters (tenant_id, last_number) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET last_number = ticket_counters.last_number + $2
         RETURNING last_number",
    )
    .bind(tx.tenant_id())
    .bind(count)
    .fetch_one(&mut **tx)
    .await?;
    let first = last - count + 1;

    let made = sqlx::query(
        "WITH p AS (
             SELECT p.id, p.scheme_id, p.contract_id, s.sla_enabled, row_number() OVER (ORDER BY p.id) - 1 AS k
               FROM plots p JOIN schemes s ON s.tenant_id = p.tenant_id AND s.id = p.scheme_id
              WHERE p.tenant_id = $1),
         n AS (SELECT count(*) AS plots FROM p),
         companies AS (
             SELECT array_agg(id ORDER BY id) AS ids FROM contacts
              WHERE tenant_id = $1 AND kind = 'subcontractor_company' AND archived_at IS NULL),
         g AS (
             SELECT i,
                    (ARRAY['open','open','open','open','open','in_progress','in_progress','in_progress','in_progress','on_hold',
                           'on_hold','abortive_visit','completed','closed','closed','closed','closed','closed','closed','closed'])[1 + i % 20] AS status,
                    (ARRAY['emergency','high','high','medium','medium','medium','low','low'])[1 + (i * 7) % 8] AS priority,
                    now() - make_interval(days => (i * 13) % 180, mins => (i * 37) % 1440) AS reported_at
               FROM generate_series(0, ($2 - 1)::int) AS i)
         INSERT INTO tickets (tenant_id, id, number, plot_id, scheme_id, contract_id, title, description, category, location,
                              reported_via, reported_at, priority, status, abortive_reason, resolution, nominated_company_id,
                              internal_cost, is_complaint, complaint_received_on, due_at, on_hold_since, closed_at)
         SELECT $1, gen_random_uuid(), $3 + g.i, p.id, p.scheme_id, p.contract_id,
                (ARRAY['Dripping kitchen tap','No hot water','Socket not working','Door sticks in frame','Loose roof tile',
                       'Cracked plaster in hallway','Paint peeling on skirting','Blocked gully','Radiator cold at top',
                       'Window will not lock','Kitchen drawer misaligned','Drain smells','Fence panel loose','Gutter leaking'])[1 + g.i % 14],
                'Reported by the homeowner. Please arrange a visit.',
                (ARRAY['plumbing','plumbing','electrical','carpentry','roofing','plastering','decorating','drainage','heating',
                       'windows_doors','kitchens','drainage','groundworks','roofing'])[1 + g.i % 14],
                (ARRAY['kitchen','bathroom','en_suite','bedroom','living_room','hall','landing','stairs','loft','garage',
                       'garden','exterior','roof','utility','whole_house','other'])[1 + (g.i * 3) % 16],
                (ARRAY['phone','email','portal','inspection','visit'])[1 + g.i % 5],
                g.reported_at, g.priority, g.status,
                CASE WHEN g.status = 'abortive_visit'
                     THEN (ARRAY['no_access','withdrawn','misuse','duplicate','not_a_defect'])[1 + g.i % 5] END,
                CASE WHEN g.status = 'closed' THEN 'Attended and put right; homeowner satisfied.' END,
                CASE WHEN g.status <> 'open' AND g.i % 3 <> 0 AND cardinality(c.ids) > 0
                     THEN c.ids[1 + g.i % cardinality(c.ids)] END,
                CASE WHEN g.i % 3 = 0 THEN ((g.i * 17) % 900 + 45)::numeric(12, 2) END,
                g.i % 40 = 7,
                CASE WHEN g.i % 40 = 7 THEN g.reported_at::date END,
                CASE WHEN p.sla_enabled THEN g.reported_at + CASE g.priority
                     WHEN 'emergency' THEN interval '12 hours' WHEN 'high' THEN interval '1 day'
                     WHEN 'medium' THEN interval '7 days' ELSE interval '28 days' END END,
                CASE WHEN g.status = 'on_hold' THEN g.reported_at + interval '1 day' END,
                CASE WHEN g.status = 'closed' THEN g.reported_at + make_interval(days => 1 + g.i % 20) END
           FROM g
           CROSS JOIN n
           CROSS JOIN companies c
           JOIN p ON p.k = (g.i::bigint * 7919) % n.plots",
    )
    .bind(tx.tenant_id())
    .bind(count)
    .bind(first)
    .execute(&mut **tx)
    .await?
    .rows_affected();

    // Who nominated: the tenant's first staff member or admin (nobody in a tenant without them).
    sqlx::query(
        "WITH by AS (
             SELECT id FROM users WHERE tenant_id = $1 AND role IN ('staff', 'admin') ORDER BY role DESC, id LIMIT 1)
         INSERT INTO nominations (tenant_id, id, ticket_id, company_id, nominated_by, nominated_at, response, responded_at)
         SELECT t.tenant_id, gen_random_uuid(), t.id, t.nominated_company_id, (SELECT id FROM by),
                t.reported_at + interval '1 hour',
                CASE WHEN t.status IN ('in_progress', 'completed', 'closed') THEN 'accepted' ELSE 'pending' END,
                CASE WHEN t.status IN ('in_progress', 'completed', 'closed') THEN t.reported_at + interval '90 minutes' END
           FROM tickets t
          WHERE t.tenant_id = $1 AND t.number BETWEEN $2 AND $3 AND t.nominated_company_id IS NOT NULL",
    )
    .bind(tx.tenant_id())
    .bind(first)
    .bind(last)
    .execute(&mut **tx)
    .await?;

    // The timeline: logged, nominated, then (if it moved on) the status change.
    sqlx::query(
        "INSERT INTO ticket_events (tenant_id, id, ticket_id, occurred_at, kind, shared, data)
         SELECT t.tenant_id, gen_random_uuid(), t.id, t.reported_at, 'created', true,
                jsonb_build_object('summary', 'Ticket T-' || lpad(t.number::text, 5, '0') || ' logged', 'priority', t.priority)
           FROM tickets t WHERE t.tenant_id = $1 AND t.number BETWEEN $2 AND $3
         UNION ALL
         SELECT t.tenant_id, gen_random_uuid(), t.id, t.reported_at + interval '1 hour', 'nominated', true,
                jsonb_build_object('nominee_type', 'company', 'nominee_id', c.id, 'nominee_name', c.name, 'emailed', false)
           FROM tickets t JOIN contacts c ON c.tenant_id = t.tenant_id AND c.id = t.nominated_company_id
          WHERE t.tenant_id = $1 AND t.number BETWEEN $2 AND $3
         UNION ALL
         SELECT t.tenant_id, gen_random_uuid(), t.id, coalesce(t.closed_at, t.on_hold_since, t.reported_at + interval '2 hours'),
                'status_changed', true,
                jsonb_strip_nulls(jsonb_build_object('from', 'open', 'to', t.status, 'resolution', t.resolution, 'reason', t.abortive_reason))
           FROM tickets t WHERE t.tenant_id = $1 AND t.number BETWEEN $2 AND $3 AND t.status <> 'open'",
    )
    .bind(tx.tenant_id())
    .bind(first)
    .bind(last)
    .execute(&mut **tx)
    .await?;
    Ok(made)
}
