-- Search and counts that stay fast however many plots and tickets a tenant has.
--
-- Row-level security decides what an index may answer: under a policy, only
-- "leakproof" conditions can be looked up in an index, and ILIKE, LIKE, trigram and
-- full-text operators are not. Text comparisons (=, <, >=) are. So free-text search
-- looks words up, by prefix, in tables of words kept by triggers:
--   "fletch" finds Fletcher, "church rd" does not but "church road" does,
--   "sw1a" and "sw1a1aa" find the postcode SW1A 1AA.

-- The words of a text: lower case, split at anything but letters and digits.
CREATE FUNCTION search_words(body text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT w FROM regexp_split_to_table(lower(body), '[^[:alnum:]]+') AS w
     WHERE w <> '' AND length(w) <= 100
$$;

-- ---------------------------------------------------------------- plots
-- Each plot's words: its number, address, town and postcode (also without its space),
-- and the names of its homeowners, past and present.
CREATE TABLE plot_search_words (
    tenant_id uuid NOT NULL,
    word      text COLLATE "C" NOT NULL,
    plot_id   uuid NOT NULL,
    PRIMARY KEY (tenant_id, word, plot_id),
    FOREIGN KEY (tenant_id, plot_id) REFERENCES plots (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX plot_search_words_plot ON plot_search_words (tenant_id, plot_id);
CALL enable_tenant_isolation('plot_search_words');

-- Rewrites the words of the given plots (one tenant's, or several in cross-tenant work).
CREATE FUNCTION refresh_plot_search_words(tenants uuid[], plots uuid[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM plot_search_words w
     USING unnest(tenants, plots) AS x(tenant_id, plot_id)
     WHERE w.tenant_id = x.tenant_id AND w.plot_id = x.plot_id;
    INSERT INTO plot_search_words (tenant_id, word, plot_id)
    SELECT p.tenant_id, w.word, p.id
      FROM unnest(tenants, plots) AS x(tenant_id, plot_id)
      JOIN plots p ON p.tenant_id = x.tenant_id AND p.id = x.plot_id
     CROSS JOIN LATERAL (
         SELECT search_words(p.plot_number || ' ' || p.address_line1 || ' ' || p.address_line2
                             || ' ' || p.town || ' ' || p.postcode) AS word
         UNION
         SELECT lower(replace(p.postcode, ' ', '')) WHERE p.postcode <> ''
         UNION
         SELECT search_words(h.name)
           FROM plot_homeowners ph
           JOIN contacts h ON h.tenant_id = ph.tenant_id AND h.id = ph.contact_id
          WHERE ph.tenant_id = p.tenant_id AND ph.plot_id = p.id
     ) w
     ORDER BY 1, 2, 3;
$$;

CREATE FUNCTION plots_search_words_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_plot_search_words(array_agg(tenant_id), array_agg(id)) FROM new_rows;
    RETURN NULL;
END;
$$;
CREATE TRIGGER plots_search_words_insert AFTER INSERT ON plots
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION plots_search_words_changed();
CREATE TRIGGER plots_search_words_update AFTER UPDATE ON plots
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION plots_search_words_changed();

CREATE FUNCTION plot_homeowners_search_words_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_plot_search_words(array_agg(tenant_id), array_agg(plot_id))
           FROM (SELECT DISTINCT tenant_id, plot_id FROM new_rows) x;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM refresh_plot_search_words(array_agg(tenant_id), array_agg(plot_id))
           FROM (SELECT DISTINCT tenant_id, plot_id FROM old_rows) x;
    ELSE
        PERFORM refresh_plot_search_words(array_agg(tenant_id), array_agg(plot_id))
           FROM (SELECT tenant_id, plot_id FROM new_rows UNION SELECT tenant_id, plot_id FROM old_rows) x;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER plot_homeowners_search_words_insert AFTER INSERT ON plot_homeowners
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION plot_homeowners_search_words_changed();
CREATE TRIGGER plot_homeowners_search_words_update AFTER UPDATE ON plot_homeowners
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION plot_homeowners_search_words_changed();
CREATE TRIGGER plot_homeowners_search_words_delete AFTER DELETE ON plot_homeowners
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plot_homeowners_search_words_changed();

-- A homeowner's new name is found on their plots.
CREATE FUNCTION contacts_search_words_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_plot_search_words(array_agg(ph.tenant_id), array_agg(ph.plot_id))
       FROM (SELECT DISTINCT ph.tenant_id, ph.plot_id
               FROM new_rows n
               JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id AND o.name IS DISTINCT FROM n.name
               JOIN plot_homeowners ph ON ph.tenant_id = n.tenant_id AND ph.contact_id = n.id) ph;
    RETURN NULL;
END;
$$;
CREATE TRIGGER contacts_search_words_update AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contacts_search_words_changed();

-- ---------------------------------------------------------------- tickets
-- Each ticket's words: its title and description. (Its plot's words find it too.)
-- Only the ticket's own transaction writes its words, so they need no locking order.
CREATE TABLE ticket_search_words (
    tenant_id uuid NOT NULL,
    word      text COLLATE "C" NOT NULL,
    ticket_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, word, ticket_id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_search_words_ticket ON ticket_search_words (tenant_id, ticket_id);
CALL enable_tenant_isolation('ticket_search_words');

CREATE FUNCTION tickets_search_words_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Only tickets whose title or description changed.
        DELETE FROM ticket_search_words w
         USING new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
         WHERE w.tenant_id = n.tenant_id AND w.ticket_id = n.id
           AND (o.title IS DISTINCT FROM n.title OR o.description IS DISTINCT FROM n.description);
        INSERT INTO ticket_search_words (tenant_id, word, ticket_id)
        SELECT n.tenant_id, w, n.id
          FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
         CROSS JOIN LATERAL search_words(n.title || ' ' || n.description) AS w
         WHERE o.title IS DISTINCT FROM n.title OR o.description IS DISTINCT FROM n.description;
    ELSE
        INSERT INTO ticket_search_words (tenant_id, word, ticket_id)
        SELECT n.tenant_id, w, n.id
          FROM new_rows n CROSS JOIN LATERAL search_words(n.title || ' ' || n.description) AS w;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tickets_search_words_insert AFTER INSERT ON tickets
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tickets_search_words_changed();
CREATE TRIGGER tickets_search_words_update AFTER UPDATE ON tickets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tickets_search_words_changed();

-- ---------------------------------------------------------------- ticket counts
-- How many tickets each scheme has in each status, kept by the triggers below, so the
-- ticket list's counts per status add up a few rows instead of counting every ticket.
CREATE TABLE ticket_status_counts (
    tenant_id uuid NOT NULL,
    scheme_id uuid NOT NULL,
    status    text NOT NULL,
    tickets   bigint NOT NULL,
    PRIMARY KEY (tenant_id, scheme_id, status),
    FOREIGN KEY (tenant_id, scheme_id) REFERENCES schemes (tenant_id, id) ON DELETE CASCADE
);
CALL enable_tenant_isolation('ticket_status_counts');

-- Adds the change (+1 per new row, -1 per old row) to each (scheme, status). Groups are
-- written in key order, so two transactions never wait for each other in a cycle.
CREATE FUNCTION tickets_status_counts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_status_counts AS c (tenant_id, scheme_id, status, tickets)
        SELECT tenant_id, scheme_id, status, count(*) FROM new_rows
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, scheme_id, status) DO UPDATE SET tickets = c.tickets + EXCLUDED.tickets;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO ticket_status_counts AS c (tenant_id, scheme_id, status, tickets)
        SELECT tenant_id, scheme_id, status, -count(*) FROM old_rows
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, scheme_id, status) DO UPDATE SET tickets = c.tickets + EXCLUDED.tickets;
    ELSE
        INSERT INTO ticket_status_counts AS c (tenant_id, scheme_id, status, tickets)
        SELECT tenant_id, scheme_id, status, sum(d) FROM (
                   SELECT tenant_id, scheme_id, status, 1 AS d FROM new_rows
                   UNION ALL
                   SELECT tenant_id, scheme_id, status, -1 FROM old_rows) x
         GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, scheme_id, status) DO UPDATE SET tickets = c.tickets + EXCLUDED.tickets;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tickets_status_counts_insert AFTER INSERT ON tickets
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tickets_status_counts_changed();
CREATE TRIGGER tickets_status_counts_update AFTER UPDATE ON tickets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tickets_status_counts_changed();
CREATE TRIGGER tickets_status_counts_delete AFTER DELETE ON tickets
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tickets_status_counts_changed();

-- ---------------------------------------------------------------- what is there already
-- (Row-level security applies to the migration's role too, so each tenant is filled in
-- under its own setting.)
DO $$
DECLARE
    t uuid;
BEGIN
    PERFORM set_config('app.cross_tenant', 'on', true);
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        PERFORM refresh_plot_search_words(array_agg(tenant_id), array_agg(id)) FROM plots WHERE tenant_id = t;
        INSERT INTO ticket_search_words (tenant_id, word, ticket_id)
        SELECT k.tenant_id, w, k.id
          FROM tickets k CROSS JOIN LATERAL search_words(k.title || ' ' || k.description) AS w
         WHERE k.tenant_id = t;
        INSERT INTO ticket_status_counts (tenant_id, scheme_id, status, tickets)
        SELECT tenant_id, scheme_id, status, count(*) FROM tickets WHERE tenant_id = t GROUP BY 1, 2, 3;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
    PERFORM set_config('app.cross_tenant', '', true);
END;
$$;

-- The plot list in plot-number order, walked page by page (keyset).
CREATE INDEX plots_by_number ON plots (tenant_id, plot_number, id);
