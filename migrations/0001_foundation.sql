-- The schema rule every table follows:
--   * UUID primary keys, made by the application (v7, time-ordered, so inserts stay local in the index).
--   * A tenant-owned table carries tenant_id in its primary key, PRIMARY KEY (tenant_id, id),
--     and in every foreign key, FOREIGN KEY (tenant_id, plot_id) REFERENCES plots (tenant_id, id):
--     no row can point at another tenant's row, and the schema is ready to be distributed by tenant.
--   * Row-level security is ENABLEd and FORCEd on every tenant-owned table (see 0002).
--   * created_at / updated_at are timestamptz; set_updated_at() keeps updated_at true.

CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- The tenant the current transaction acts for, set by the application with
-- set_config('app.tenant_id', $1, true). NULL when unset: policies then match no row.
CREATE FUNCTION app_tenant_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('app.tenant_id', true), '')::uuid
$$;

-- Set only by the few reviewed paths in src/auth/cross_tenant.rs.
CREATE FUNCTION app_cross_tenant() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('app.cross_tenant', true), '') = 'on'
$$;

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'terminated')),
    data_region text NOT NULL DEFAULT 'eu-west-1',
    terminated_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER tenants_updated_at BEFORE UPDATE ON tenants FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = app_tenant_id() OR app_cross_tenant())
    WITH CHECK (id = app_tenant_id() OR app_cross_tenant());
