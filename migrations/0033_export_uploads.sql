-- What each attempt at an export is writing to the media store, recorded on its own
-- connection before any byte goes: the object's key, and on S3 the multipart upload's id
-- as soon as S3 gives it. A rerun after a crash aborts the dead attempt's unfinished
-- uploads, removes its half-written local file and any object it finished but never
-- recorded, and only then forgets these rows; an attempt that records its files (or
-- fails and cleans up after itself) forgets its own.
CREATE TABLE export_uploads (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    export_id  uuid NOT NULL,
    attempt_id uuid NOT NULL,
    key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 300),
    upload_id  text CHECK (length(upload_id) BETWEEN 1 AND 1024),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, export_id) REFERENCES exports (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX export_uploads_by_export ON export_uploads (tenant_id, export_id);
CALL enable_tenant_isolation('export_uploads');
