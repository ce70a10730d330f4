-- Indexes for the ticket list's common filters, so a filtered list and its counts per
-- status read only the matching tickets instead of all the tenant's tickets.
-- Each leads with tenant_id, like every index here.

-- By trade ("plumbing"), and by priority: in status and due order, so the counts per
-- status are read from the index alone and a page in due order stops after its rows.
CREATE INDEX tickets_category ON tickets (tenant_id, category, status, due_at, id);
CREATE INDEX tickets_priority ON tickets (tenant_id, priority, status, due_at, id);

-- Complaints are few: a partial index holds just them.
CREATE INDEX tickets_complaints ON tickets (tenant_id, status, due_at, id) WHERE is_complaint;
