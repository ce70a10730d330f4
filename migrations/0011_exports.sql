-- Data returns: a tenant's data as Excel workbooks in a zip, or its media files
-- in zip parts, made by a job and downloadable by the tenant's admins for 7 days.
CREATE TABLE exports (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('data', 'media')),
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired')),
    requested_by uuid NOT NULL,
    -- The run allowed to complete this export: a rerun after a crash takes over with a new id,
    -- and a run that is no longer the current one throws its files away.
    attempt_id   uuid,
    rows_done    bigint NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
    rows_total   bigint NOT NULL DEFAULT 0 CHECK (rows_total >= 0),
    size_bytes   bigint CHECK (size_bytes >= 0),
    error        text,
    -- The produced files, recorded only on completion:
    -- [{"key": "tenants/../exports/..", "file_name": "..zip", "size_bytes": 123, "sha256": ".."}]
    parts        jsonb NOT NULL DEFAULT '[]',
    started_at   timestamptz,
    finished_at  timestamptz,
    -- finished_at + 7 days; after it the files are deleted and downloads refused.
    expires_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, requested_by) REFERENCES users (tenant_id, id),
    CHECK (status <> 'done' OR expires_at IS NOT NULL)
);
CREATE INDEX exports_recent ON exports (tenant_id, created_at DESC, id DESC);
CREATE INDEX exports_expiring ON exports (tenant_id, expires_at) WHERE status = 'done';
CREATE TRIGGER exports_updated_at BEFORE UPDATE ON exports FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('exports');
