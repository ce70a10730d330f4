-- One-time keys of the forms that create things (a ticket, a comment): the form carries a
-- fresh key, and the record and its key are stored in one transaction. A form sent again
-- (a retry after an error page, a double click, a resent request after a network failure)
-- creates nothing twice: its answer goes where the first one went.
CREATE TABLE form_keys (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    key        uuid NOT NULL,
    location   text NOT NULL CHECK (length(location) BETWEEN 1 AND 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
CALL enable_tenant_isolation('form_keys');
