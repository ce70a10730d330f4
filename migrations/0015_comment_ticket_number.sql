-- Each comment carries its ticket's number (a ticket's number never changes), so the
-- data export writes a comment's ticket reference ("T-00042") without looking up the
-- ticket for each of millions of comments. A trigger fills it from the ticket.

ALTER TABLE ticket_comments ADD COLUMN ticket_number bigint;

-- Filled for every tenant at once (however long it takes: no statement time limit in
-- this transaction): inside this migration's transaction the owner
-- reads past row-level security, and the fill is not an edit (updated_at stays).
SET LOCAL statement_timeout = 0;
ALTER TABLE tickets NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ticket_comments NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ticket_comments DISABLE TRIGGER ticket_comments_updated_at;
UPDATE ticket_comments c
   SET ticket_number = t.number
  FROM tickets t
 WHERE t.tenant_id = c.tenant_id AND t.id = c.ticket_id;
ALTER TABLE ticket_comments ENABLE TRIGGER ticket_comments_updated_at;
ALTER TABLE ticket_comments FORCE ROW LEVEL SECURITY;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;

ALTER TABLE ticket_comments ALTER COLUMN ticket_number SET NOT NULL;

CREATE FUNCTION set_comment_ticket_number() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT t.number INTO NEW.ticket_number
      FROM tickets t
     WHERE t.tenant_id = NEW.tenant_id AND t.id = NEW.ticket_id;
    RETURN NEW;
END
$$;

CREATE TRIGGER ticket_comments_ticket_number
    BEFORE INSERT OR UPDATE OF ticket_id ON ticket_comments
    FOR EACH ROW EXECUTE FUNCTION set_comment_ticket_number();
