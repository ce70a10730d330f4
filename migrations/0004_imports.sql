-- Bulk imports: an upload's parsed rows, kept on the server between its
-- preview and its confirmation, so the confirm form posts only the batch id.
CREATE TABLE import_batches (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('plots', 'contacts')),
    file_name    text NOT NULL DEFAULT '',
    row_count    integer NOT NULL CHECK (row_count >= 0),
    rows         jsonb NOT NULL,
    created_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX import_batches_created ON import_batches (tenant_id, created_at);
CALL enable_tenant_isolation('import_batches');
