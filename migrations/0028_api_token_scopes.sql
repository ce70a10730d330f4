-- Personal API tokens work only on the API (/api/*), carry scopes, may expire, and say
-- why they were revoked. The scopes are words so that more can be added (the API issue
-- widens them) without changing the column; tokens owned by the tenant rather than a
-- user (integration tokens) can be added beside these.
ALTER TABLE api_tokens
    ADD COLUMN scopes text[] NOT NULL DEFAULT '{read}'
        CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write']),
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN revoked_reason text CHECK (length(revoked_reason) <= 200);

-- Tokens made before scopes existed only ever reached GET /api/v1/me: they keep reading,
-- and writing needs a new token made for it.
