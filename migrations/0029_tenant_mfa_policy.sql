-- Who in a tenant must use two-factor authentication: its admins (always), its whole
-- team (admins, staff and out-of-hours users), or everyone including subcontractors.
-- Until they have set it up, such a user reaches only the set-up page and sign-out.
ALTER TABLE tenants
    ADD COLUMN mfa_required text NOT NULL DEFAULT 'admins'
        CHECK (mfa_required IN ('admins', 'staff', 'everyone'));
