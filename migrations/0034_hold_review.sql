-- Putting a ticket on hold says why and when to look at it again; My work lists the
-- tickets whose review is due. Cleared when the ticket leaves hold.
ALTER TABLE tickets
    ADD COLUMN hold_reason    text CHECK (length(hold_reason) <= 2000),
    ADD COLUMN hold_review_on date;

CREATE INDEX tickets_hold_review ON tickets (tenant_id, hold_review_on)
    WHERE status = 'on_hold';
