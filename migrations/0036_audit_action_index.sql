-- The audit trail's action filter, and its list of the actions in a tenant's trail
-- (read one step per action along this index, not by reading every entry).
CREATE INDEX audit_events_action ON audit_events (tenant_id, action, occurred_at DESC, id DESC);
