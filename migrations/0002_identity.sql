-- Identity, access and the audit trail.

-- Applies the tenant isolation policy to a tenant-owned table: every later
-- migration calls this for each table it creates.
CREATE PROCEDURE enable_tenant_isolation(tbl regclass, allow_cross_tenant boolean DEFAULT false)
LANGUAGE plpgsql AS $$
DECLARE
    predicate text := CASE WHEN allow_cross_tenant
        THEN 'tenant_id = app_tenant_id() OR app_cross_tenant()'
        ELSE 'tenant_id = app_tenant_id()' END;
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s USING (%s) WITH CHECK (%s)', tbl, predicate, predicate);
END;
$$;

-- Schemes (developments). Issue #4 grows the record; users can already be restricted to some.
CREATE TABLE schemes (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE TRIGGER schemes_updated_at BEFORE UPDATE ON schemes FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('schemes');

-- Contacts: people and companies. Issue #4 grows the record; subcontractor users belong to a company here.
CREATE TABLE contacts (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('homeowner', 'subcontractor_company', 'subcontractor_person',
                                             'client', 'consultant', 'staff')),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE TRIGGER contacts_updated_at BEFORE UPDATE ON contacts FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('contacts');

CREATE TABLE users (
    tenant_id                uuid NOT NULL REFERENCES tenants (id),
    id                       uuid NOT NULL,
    email                    text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    name                     text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role                     text NOT NULL CHECK (role IN ('admin', 'staff', 'emergency', 'subcontractor')),
    subcontractor_company_id uuid,
    is_subcontractor_admin   boolean NOT NULL DEFAULT false,
    -- Staff limited to the schemes in user_schemes.
    scheme_restricted        boolean NOT NULL DEFAULT false,
    -- argon2id PHC string; NULL until the user sets a password from their invitation.
    password_hash            text,
    password_changed_at      timestamptz,
    mfa_secret               text,
    mfa_enabled_at           timestamptz,
    -- The last TOTP time step accepted: a code works once.
    mfa_last_step            bigint,
    disabled_at              timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, subcontractor_company_id) REFERENCES contacts (tenant_id, id),
    CHECK ((role = 'subcontractor') = (subcontractor_company_id IS NOT NULL)),
    CHECK (NOT is_subcontractor_admin OR role = 'subcontractor'),
    CHECK (NOT scheme_restricted OR role = 'staff')
);
-- An email is unique across Plotcare: it is how sign-in finds the tenant.
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_tenant_name ON users (tenant_id, name);
CREATE INDEX users_company ON users (tenant_id, subcontractor_company_id) WHERE subcontractor_company_id IS NOT NULL;
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('users', true);

CREATE TABLE user_schemes (
    tenant_id  uuid NOT NULL,
    user_id    uuid NOT NULL,
    scheme_id  uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, scheme_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, scheme_id) REFERENCES schemes (tenant_id, id)
);
CALL enable_tenant_isolation('user_schemes');

-- One-time MFA recovery codes, stored as SHA-256 hashes.
CREATE TABLE mfa_recovery_codes (
    tenant_id  uuid NOT NULL,
    id         uuid NOT NULL,
    user_id    uuid NOT NULL,
    code_hash  bytea NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (tenant_id, user_id);
CALL enable_tenant_isolation('mfa_recovery_codes');

-- A signed-in session. The cookie session (tower_sessions schema) holds this id;
-- ending a row here ends the session on its next request, on every instance.
CREATE TABLE user_sessions (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    user_id      uuid NOT NULL,
    ip           inet,
    user_agent   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz,
    end_reason   text,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX user_sessions_user ON user_sessions (tenant_id, user_id, created_at DESC);
CALL enable_tenant_isolation('user_sessions');

-- Links that let an invited user (or one whose password an admin reset) set a password. Hash only.
CREATE TABLE password_links (
    tenant_id  uuid NOT NULL,
    id         uuid NOT NULL,
    user_id    uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CALL enable_tenant_isolation('password_links', true);

-- Personal API tokens. Only the SHA-256 of the token is kept.
CREATE TABLE api_tokens (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    user_id      uuid NOT NULL,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    revoked_by   uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX api_tokens_user ON api_tokens (tenant_id, user_id);
CALL enable_tenant_isolation('api_tokens', true);

-- The audit trail: append-only, written in the same transaction as the change it records.
CREATE TABLE audit_events (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    actor_user_id  uuid,
    actor_token_id uuid,
    action         text NOT NULL,
    record_type    text NOT NULL,
    record_id      uuid,
    -- {"field": {"before": ..., "after": ...}, ...}; never passwords, secrets or tokens.
    changes        jsonb NOT NULL DEFAULT '{}',
    ip             inet,
    request_id     text,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, actor_user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX audit_events_time ON audit_events (tenant_id, occurred_at DESC, id DESC);
CREATE INDEX audit_events_record ON audit_events (tenant_id, record_type, record_id, occurred_at DESC);
CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_user_id, occurred_at DESC);
CALL enable_tenant_isolation('audit_events');

CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- Failed sign-ins, for throttling across every instance. Not tenant-owned and
-- holding no personal data: the account is a SHA-256 of the email.
CREATE TABLE sign_in_failures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_key bytea NOT NULL,
    ip          inet,
    failed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_account ON sign_in_failures (account_key, failed_at DESC);
CREATE INDEX sign_in_failures_ip ON sign_in_failures (ip, failed_at DESC);
