-- Inspections: checklists done on plots (pre-completion, home demonstration, visits),
-- where a failed item becomes a ticket in one click.

-- A template names the checklist; its items live in versions, so an edit never
-- changes an inspection already started (it keeps the version it began with).
CREATE TABLE inspection_templates (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind            text NOT NULL CHECK (kind IN ('pre_completion', 'home_demonstration', 'customer_care_visit',
                                                  'twelve_month', 'end_of_warranty')),
    current_version integer NOT NULL DEFAULT 1 CHECK (current_version >= 1),
    archived_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX inspection_templates_name ON inspection_templates (tenant_id, lower(name), id);
CREATE TRIGGER inspection_templates_updated_at BEFORE UPDATE ON inspection_templates FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('inspection_templates');

-- Each published version, with its full structure:
-- {"sections": [{"title": "Kitchen", "items": [{"key": "1-1", "label": "...", "kind": "pass_fail",
--   "photo_required_on_fail": true, "trade": "kitchens"}]}]}
CREATE TABLE inspection_template_versions (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    template_id uuid NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL,
    structure   jsonb NOT NULL,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, template_id, version),
    FOREIGN KEY (tenant_id, template_id) REFERENCES inspection_templates (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE TRIGGER inspection_template_versions_updated_at BEFORE UPDATE ON inspection_template_versions FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('inspection_template_versions');

CREATE TABLE inspections (
    tenant_id            uuid NOT NULL,
    id                   uuid NOT NULL,
    plot_id              uuid NOT NULL,
    -- The plot's scheme, kept here for filtering and scheme restriction.
    scheme_id            uuid NOT NULL,
    template_version_id  uuid NOT NULL,
    -- The template's type, copied for the list's filter.
    kind                 text NOT NULL,
    scheduled_on         date NOT NULL,
    inspector_user_id    uuid,
    inspector_contact_id uuid,
    status               text NOT NULL DEFAULT 'scheduled'
        CHECK (status IN ('scheduled', 'in_progress', 'completed', 'signed_off')),
    outcome              text CHECK (outcome IN ('pass', 'pass_with_defects', 'fail')),
    started_at           timestamptz,
    completed_at         timestamptz,
    signed_by_name       text CHECK (length(signed_by_name) BETWEEN 1 AND 200),
    signed_on            date,
    created_by           uuid,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, plot_id) REFERENCES plots (tenant_id, id),
    FOREIGN KEY (tenant_id, scheme_id) REFERENCES schemes (tenant_id, id),
    FOREIGN KEY (tenant_id, template_version_id) REFERENCES inspection_template_versions (tenant_id, id),
    FOREIGN KEY (tenant_id, inspector_user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, inspector_contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id),
    CHECK (inspector_user_id IS NULL OR inspector_contact_id IS NULL),
    CHECK (status IN ('scheduled', 'in_progress') OR outcome IS NOT NULL),
    CHECK ((status = 'signed_off') = (signed_by_name IS NOT NULL AND signed_on IS NOT NULL))
);
CREATE INDEX inspections_list ON inspections (tenant_id, scheduled_on DESC, id DESC);
CREATE INDEX inspections_scheme ON inspections (tenant_id, scheme_id, scheduled_on DESC, id DESC);
CREATE INDEX inspections_plot ON inspections (tenant_id, plot_id, scheduled_on DESC);
CREATE TRIGGER inspections_updated_at BEFORE UPDATE ON inspections FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('inspections');

-- One answer per item of the inspection's template version.
CREATE TABLE inspection_results (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    inspection_id uuid NOT NULL,
    item_key      text NOT NULL CHECK (length(item_key) BETWEEN 1 AND 40),
    -- pass / fail / na, the text, or the number; NULL for a photo item.
    answer        text CHECK (length(answer) <= 4000),
    notes         text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
    answered_by   uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, inspection_id, item_key),
    FOREIGN KEY (tenant_id, inspection_id) REFERENCES inspections (tenant_id, id),
    FOREIGN KEY (tenant_id, answered_by) REFERENCES users (tenant_id, id)
);
CREATE TRIGGER inspection_results_updated_at BEFORE UPDATE ON inspection_results FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('inspection_results');

-- Photos of an item. The bytes live in the media store.
CREATE TABLE inspection_photos (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    inspection_id uuid NOT NULL,
    item_key      text NOT NULL,
    storage_key   text NOT NULL UNIQUE,
    original_name text NOT NULL CHECK (length(original_name) BETWEEN 1 AND 255),
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL CHECK (size_bytes >= 0),
    uploaded_by   uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, inspection_id) REFERENCES inspections (tenant_id, id),
    FOREIGN KEY (tenant_id, uploaded_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX inspection_photos_item ON inspection_photos (tenant_id, inspection_id, item_key, created_at);
CREATE TRIGGER inspection_photos_updated_at BEFORE UPDATE ON inspection_photos FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('inspection_photos');

-- Commentary, internal (staff only) or shared (printed on the report), as on tickets.
CREATE TABLE inspection_comments (
    tenant_id      uuid NOT NULL,
    id             uuid NOT NULL,
    inspection_id  uuid NOT NULL,
    author_user_id uuid NOT NULL,
    visibility     text NOT NULL CHECK (visibility IN ('internal', 'shared')),
    body           text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, inspection_id) REFERENCES inspections (tenant_id, id),
    FOREIGN KEY (tenant_id, author_user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX inspection_comments_inspection ON inspection_comments (tenant_id, inspection_id, created_at);
CREATE TRIGGER inspection_comments_updated_at BEFORE UPDATE ON inspection_comments FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('inspection_comments');

-- The tickets raised from failed items: at most one per item.
CREATE TABLE inspection_tickets (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    inspection_id uuid NOT NULL,
    item_key      text NOT NULL,
    ticket_id     uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, inspection_id, item_key),
    UNIQUE (tenant_id, ticket_id),
    FOREIGN KEY (tenant_id, inspection_id) REFERENCES inspections (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id)
);
CREATE TRIGGER inspection_tickets_updated_at BEFORE UPDATE ON inspection_tickets FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('inspection_tickets');
