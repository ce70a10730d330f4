-- One sign-in per person across Plotcare, with memberships in several tenants.
--
-- A person (a subcontractor working for several housebuilders) has one account: their
-- email, password and second factor. Each tenant they belong to has a `users` row, their
-- membership there, with its own name, role, company and scheme restriction. The tenant
-- is chosen after sign-in; a session belongs to one membership at a time.
--
-- `accounts` and `account_recovery_codes` are platform-level (no tenant_id): row-level
-- security lets only the reviewed cross-tenant paths (src/auth/cross_tenant.rs and its
-- accounts and memberships modules) see them at all. A membership keeps a copy of two
-- facts its tenant's pages need without reaching the account: the email (kept equal by
-- the foreign key, ON UPDATE CASCADE) and, once accepted, when its person set up
-- two-factor authentication (`users.mfa_enabled_at`, written by those same paths).

CREATE TABLE accounts (
    id                  uuid PRIMARY KEY,
    email               text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    -- argon2id PHC string; NULL until the person sets a password from an invitation.
    password_hash       text,
    password_changed_at timestamptz,
    mfa_secret          text,
    mfa_enabled_at      timestamptz,
    -- The last TOTP time step accepted: a code works once.
    mfa_last_step       bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_email_key UNIQUE (email),
    CONSTRAINT accounts_id_email_key UNIQUE (id, email)
);
CREATE TRIGGER accounts_updated_at BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY cross_tenant_only ON accounts USING (app_cross_tenant()) WITH CHECK (app_cross_tenant());

-- One-time MFA recovery codes of an account, stored as SHA-256 hashes.
CREATE TABLE account_recovery_codes (
    account_id uuid NOT NULL REFERENCES accounts (id),
    id         uuid NOT NULL,
    code_hash  bytea NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
ALTER TABLE account_recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_recovery_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY cross_tenant_only ON account_recovery_codes USING (app_cross_tenant()) WITH CHECK (app_cross_tenant());

-- Memberships: the existing users, one account each (emails were unique across Plotcare).
ALTER TABLE users
    ADD COLUMN account_id uuid,
    -- When the person joined: set their password from the invitation, or signed in and
    -- chose this tenant. Until then the membership is an invitation.
    ADD COLUMN accepted_at timestamptz;

-- Moving every tenant's rows at once: inside this migration's transaction the owner reads
-- past row-level security (as in 0015), and the move is not an edit (updated_at stays).
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
ALTER TABLE mfa_recovery_codes NO FORCE ROW LEVEL SECURITY;
ALTER TABLE accounts NO FORCE ROW LEVEL SECURITY;
ALTER TABLE account_recovery_codes NO FORCE ROW LEVEL SECURITY;
ALTER TABLE users DISABLE TRIGGER users_updated_at;

INSERT INTO accounts (id, email, password_hash, password_changed_at, mfa_secret, mfa_enabled_at,
                      mfa_last_step, created_at)
SELECT id, email, password_hash, password_changed_at, mfa_secret, mfa_enabled_at, mfa_last_step, created_at
  FROM users;
UPDATE users
   SET account_id = id,
       accepted_at = CASE WHEN password_hash IS NOT NULL THEN coalesce(password_changed_at, created_at) END;
UPDATE users SET mfa_enabled_at = NULL WHERE accepted_at IS NULL;
INSERT INTO account_recovery_codes (account_id, id, code_hash, used_at, created_at)
SELECT u.account_id, c.id, c.code_hash, c.used_at, c.created_at
  FROM mfa_recovery_codes c JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.user_id;

ALTER TABLE users ENABLE TRIGGER users_updated_at;
ALTER TABLE account_recovery_codes FORCE ROW LEVEL SECURITY;
ALTER TABLE accounts FORCE ROW LEVEL SECURITY;
ALTER TABLE mfa_recovery_codes FORCE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;

DROP TABLE mfa_recovery_codes;

ALTER TABLE users
    ALTER COLUMN account_id SET NOT NULL,
    DROP COLUMN password_hash,
    DROP COLUMN password_changed_at,
    DROP COLUMN mfa_secret,
    DROP COLUMN mfa_last_step,
    ADD CONSTRAINT users_account_fkey FOREIGN KEY (account_id, email)
        REFERENCES accounts (id, email) ON UPDATE CASCADE;
-- An email is unique within a tenant (one membership per person); across Plotcare it is
-- the account's.
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_tenant_email_key ON users (tenant_id, email);
CREATE UNIQUE INDEX users_tenant_account_key ON users (tenant_id, account_id);
CREATE INDEX users_account ON users (account_id);

-- What a set-password link is for: an invitation (for an account that already has a
-- password it only says how to join) or a reset (sets a new password).
ALTER TABLE password_links
    ADD COLUMN purpose text NOT NULL DEFAULT 'reset' CHECK (purpose IN ('invitation', 'reset'));
