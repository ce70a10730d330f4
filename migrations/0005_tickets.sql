-- Tickets: defects logged on plots, nominated, chased against deadlines, with
-- commentary, appointments, files, complaint stages and a timeline.

-- The SLA target per priority, editable by admins. A missing row means the default
-- (emergency 12 hours, high 1 day, medium 7 days, low 28 days: see domain::ticket).
CREATE TABLE sla_policies (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    priority       text NOT NULL CHECK (priority IN ('emergency', 'high', 'medium', 'low')),
    target_minutes integer NOT NULL CHECK (target_minutes BETWEEN 1 AND 525600),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, priority)
);
CREATE TRIGGER sla_policies_updated_at BEFORE UPDATE ON sla_policies FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('sla_policies');

-- Extra non-working days a tenant adds to the built-in England & Wales bank holidays.
CREATE TABLE tenant_holidays (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    day        date NOT NULL,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, day)
);
CALL enable_tenant_isolation('tenant_holidays');

-- The next ticket number per tenant ("T-00042").
CREATE TABLE ticket_counters (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    last_number bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id)
);
CALL enable_tenant_isolation('ticket_counters');

CREATE TABLE tickets (
    tenant_id              uuid NOT NULL,
    id                     uuid NOT NULL,
    number                 bigint NOT NULL,
    plot_id                uuid NOT NULL,
    -- The plot's scheme and contract, kept on the ticket for filtering and scheme restriction.
    scheme_id              uuid NOT NULL,
    contract_id            uuid NOT NULL,
    title                  text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description            text NOT NULL DEFAULT '',
    category               text NOT NULL CHECK (category IN ('plumbing', 'electrical', 'carpentry', 'roofing', 'plastering',
                               'decorating', 'groundworks', 'heating', 'windows_doors', 'kitchens', 'drainage', 'general')),
    location               text NOT NULL DEFAULT '',
    reported_by_contact_id uuid,
    reported_via           text NOT NULL CHECK (reported_via IN ('phone', 'email', 'portal', 'inspection', 'visit')),
    reported_at            timestamptz NOT NULL,
    priority               text NOT NULL CHECK (priority IN ('emergency', 'high', 'medium', 'low')),
    status                 text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'in_progress', 'on_hold', 'abortive_visit', 'completed', 'closed')),
    abortive_reason        text CHECK (abortive_reason IN ('no_access', 'withdrawn', 'misuse', 'duplicate', 'not_a_defect')),
    abortive_note          text,
    resolution             text,
    nominated_company_id   uuid,
    nominated_user_id      uuid,
    -- Never shown to subcontractors.
    internal_cost          numeric(12, 2) CHECK (internal_cost >= 0),
    is_complaint           boolean NOT NULL DEFAULT false,
    complaint_received_on  date,
    -- NULL when the scheme's SLA clocks are off. Moves later by the time spent On Hold.
    due_at                 timestamptz,
    on_hold_since          timestamptz,
    closed_at              timestamptz,
    created_by             uuid,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT tickets_number_unique UNIQUE (tenant_id, number),
    FOREIGN KEY (tenant_id, plot_id) REFERENCES plots (tenant_id, id),
    FOREIGN KEY (tenant_id, scheme_id) REFERENCES schemes (tenant_id, id),
    FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id),
    FOREIGN KEY (tenant_id, reported_by_contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, nominated_company_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, nominated_user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id),
    CHECK (nominated_company_id IS NULL OR nominated_user_id IS NULL),
    CHECK ((status = 'abortive_visit') = (abortive_reason IS NOT NULL)),
    CHECK (status <> 'closed' OR resolution IS NOT NULL),
    CHECK (NOT is_complaint OR complaint_received_on IS NOT NULL)
);
-- The ticket list: every filter leads with tenant_id; the default sort is by due time.
CREATE INDEX tickets_due ON tickets (tenant_id, due_at, id);
CREATE INDEX tickets_reported ON tickets (tenant_id, reported_at DESC, id DESC);
CREATE INDEX tickets_updated ON tickets (tenant_id, updated_at DESC, id DESC);
CREATE INDEX tickets_status ON tickets (tenant_id, status, due_at, id);
CREATE INDEX tickets_plot ON tickets (tenant_id, plot_id, reported_at DESC);
CREATE INDEX tickets_scheme ON tickets (tenant_id, scheme_id, status, due_at, id);
CREATE INDEX tickets_company ON tickets (tenant_id, nominated_company_id, status, due_at) WHERE nominated_company_id IS NOT NULL;
CREATE INDEX tickets_nominated_user ON tickets (tenant_id, nominated_user_id, status, due_at) WHERE nominated_user_id IS NOT NULL;
CREATE TRIGGER tickets_updated_at BEFORE UPDATE ON tickets FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('tickets');

-- Who a ticket was nominated to, over time. Re-nominating ends the current row.
CREATE TABLE nominations (
    tenant_id      uuid NOT NULL,
    id             uuid NOT NULL,
    ticket_id      uuid NOT NULL,
    company_id     uuid,
    user_id        uuid,
    nominated_by   uuid,
    nominated_at   timestamptz NOT NULL DEFAULT now(),
    -- pending until the subcontractor accepts or declines (the portal issue).
    response       text NOT NULL DEFAULT 'pending' CHECK (response IN ('pending', 'accepted', 'declined')),
    responded_at   timestamptz,
    decline_reason text,
    ended_at       timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, nominated_by) REFERENCES users (tenant_id, id),
    CHECK ((company_id IS NULL) <> (user_id IS NULL))
);
CREATE INDEX nominations_ticket ON nominations (tenant_id, ticket_id, nominated_at DESC);
CALL enable_tenant_isolation('nominations');

-- New Homes Quality Code complaint stages, marked done with their date.
CREATE TABLE complaint_stages (
    tenant_id  uuid NOT NULL,
    ticket_id  uuid NOT NULL,
    stage      text NOT NULL CHECK (stage IN ('acknowledgement', 'path_to_resolution', 'assessment', 'eight_week_letter')),
    done_on    date NOT NULL,
    done_by    uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, ticket_id, stage),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id),
    FOREIGN KEY (tenant_id, done_by) REFERENCES users (tenant_id, id)
);
CALL enable_tenant_isolation('complaint_stages');

CREATE TABLE appointments (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    ticket_id    uuid NOT NULL,
    plot_id      uuid NOT NULL,
    day          date NOT NULL,
    window_start time NOT NULL,
    window_end   time NOT NULL,
    with_whom    text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'attended', 'no_access', 'cancelled')),
    notes        text NOT NULL DEFAULT '',
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id),
    FOREIGN KEY (tenant_id, plot_id) REFERENCES plots (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id),
    CHECK (window_end > window_start)
);
CREATE INDEX appointments_ticket ON appointments (tenant_id, ticket_id, day);
CREATE INDEX appointments_plot_day ON appointments (tenant_id, plot_id, day);
CREATE TRIGGER appointments_updated_at BEFORE UPDATE ON appointments FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('appointments');

-- Commentary: internal (staff only) or shared (visible to the nominated subcontractor).
CREATE TABLE ticket_comments (
    tenant_id      uuid NOT NULL,
    id             uuid NOT NULL,
    ticket_id      uuid NOT NULL,
    author_user_id uuid NOT NULL,
    visibility     text NOT NULL CHECK (visibility IN ('internal', 'shared')),
    body           text NOT NULL CHECK (length(body) BETWEEN 1 AND 100000),
    edited_at      timestamptz,
    deleted_at     timestamptz,
    deleted_by     uuid,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id),
    FOREIGN KEY (tenant_id, author_user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, deleted_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX ticket_comments_ticket ON ticket_comments (tenant_id, ticket_id, created_at);
CREATE TRIGGER ticket_comments_updated_at BEFORE UPDATE ON ticket_comments FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('ticket_comments');

-- Earlier versions of an edited comment.
CREATE TABLE ticket_comment_revisions (
    tenant_id  uuid NOT NULL,
    id         uuid NOT NULL,
    comment_id uuid NOT NULL,
    body       text NOT NULL,
    edited_by  uuid NOT NULL,
    edited_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, comment_id) REFERENCES ticket_comments (tenant_id, id),
    FOREIGN KEY (tenant_id, edited_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX ticket_comment_revisions_comment ON ticket_comment_revisions (tenant_id, comment_id, edited_at);
CALL enable_tenant_isolation('ticket_comment_revisions');

-- Photos and documents on a ticket (or one of its comments). The bytes live in the media store.
CREATE TABLE media_files (
    tenant_id                 uuid NOT NULL,
    id                        uuid NOT NULL,
    ticket_id                 uuid,
    comment_id                uuid,
    storage_key               text NOT NULL,
    thumbnail_key             text,
    original_name             text NOT NULL CHECK (length(original_name) BETWEEN 1 AND 255),
    content_type              text NOT NULL,
    size_bytes                bigint NOT NULL CHECK (size_bytes >= 0),
    visible_to_subcontractor  boolean NOT NULL DEFAULT false,
    uploaded_by               uuid,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (storage_key),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id),
    FOREIGN KEY (tenant_id, comment_id) REFERENCES ticket_comments (tenant_id, id),
    FOREIGN KEY (tenant_id, uploaded_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX media_files_ticket ON media_files (tenant_id, ticket_id, created_at);
CREATE TRIGGER media_files_updated_at BEFORE UPDATE ON media_files FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('media_files');

-- The ticket's timeline: status changes, nominations, field changes, comments,
-- appointments and files, in one column. `data` holds what the entry shows.
CREATE TABLE ticket_events (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    ticket_id     uuid NOT NULL,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    actor_user_id uuid,
    kind          text NOT NULL,
    -- Whether a subcontractor may see this entry (internal comments and costs are not).
    shared        boolean NOT NULL DEFAULT false,
    data          jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id),
    FOREIGN KEY (tenant_id, actor_user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX ticket_events_ticket ON ticket_events (tenant_id, ticket_id, occurred_at, id);
CALL enable_tenant_isolation('ticket_events');

-- The durable job queue. Claimed with FOR UPDATE SKIP LOCKED; a claim is a
-- lease (locked_until), so a job whose worker died is picked up again.
CREATE TABLE jobs (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 8,
    locked_until timestamptz,
    locked_by    text,
    last_error   text,
    done_at      timestamptz,
    failed_at    timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX jobs_ready ON jobs (run_at) WHERE done_at IS NULL AND failed_at IS NULL;
CREATE TRIGGER jobs_updated_at BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('jobs', true);

-- Outgoing emails. Sent by a job; without SMTP settings they are logged and kept here for admins to read.
CREATE TABLE outbox_emails (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    to_address  text NOT NULL,
    subject     text NOT NULL,
    body_text   text NOT NULL,
    ticket_id   uuid,
    status      text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'logged', 'failed')),
    error       text,
    sent_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id)
);
CREATE INDEX outbox_emails_recent ON outbox_emails (tenant_id, created_at DESC);
CREATE TRIGGER outbox_emails_updated_at BEFORE UPDATE ON outbox_emails FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('outbox_emails');
