-- Search words written for a whole batch at once, and only what changed.
--
-- 0012 collected each plot's (and each new ticket's) words with search_words(), whose
-- DISTINCT made PostgreSQL build a hash table per plot or ticket; new plots first deleted
-- words they could not have; and a new homeowner rewrote all of their plot's words.
-- Now the words of a whole batch are split in one pass and made distinct once, new plots
-- only add words, and a new homeowner adds only their name's words. (Measured on a batch
-- of 2,000 plots with their homeowners: 0.6 s before, 0.35 s after.)

-- The words of a text, lower case, split at anything but letters and digits; repeats kept.
-- (A plain SQL set-returning function, so the planner inlines it into the query.)
CREATE FUNCTION split_words(body text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT w FROM regexp_split_to_table(lower(body), '[^[:alnum:]]+') AS w
     WHERE w <> '' AND length(w) <= 100
$$;

-- Adds the words of the given plots (one tenant's, or several in cross-tenant work).
CREATE FUNCTION add_plot_search_words(tenants uuid[], plots uuid[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO plot_search_words (tenant_id, word, plot_id)
    SELECT DISTINCT tenant_id, word, plot_id FROM (
        SELECT p.tenant_id, w AS word, p.id AS plot_id
          FROM unnest(tenants, plots) AS x(tenant_id, plot_id)
          JOIN plots p ON p.tenant_id = x.tenant_id AND p.id = x.plot_id
         CROSS JOIN LATERAL split_words(p.plot_number || ' ' || p.address_line1 || ' ' || p.address_line2
                                        || ' ' || p.town || ' ' || p.postcode) AS w
        UNION ALL
        SELECT p.tenant_id, lower(replace(p.postcode, ' ', '')), p.id
          FROM unnest(tenants, plots) AS x(tenant_id, plot_id)
          JOIN plots p ON p.tenant_id = x.tenant_id AND p.id = x.plot_id
         WHERE p.postcode <> ''
        UNION ALL
        SELECT ph.tenant_id, w, ph.plot_id
          FROM unnest(tenants, plots) AS x(tenant_id, plot_id)
          JOIN plot_homeowners ph ON ph.tenant_id = x.tenant_id AND ph.plot_id = x.plot_id
          JOIN contacts h ON h.tenant_id = ph.tenant_id AND h.id = ph.contact_id
         CROSS JOIN LATERAL split_words(h.name) AS w
    ) words
     ORDER BY 1, 2, 3;
$$;

-- Rewrites the words of the given plots.
CREATE OR REPLACE FUNCTION refresh_plot_search_words(tenants uuid[], plots uuid[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM plot_search_words w
     USING unnest(tenants, plots) AS x(tenant_id, plot_id)
     WHERE w.tenant_id = x.tenant_id AND w.plot_id = x.plot_id;
    SELECT add_plot_search_words(tenants, plots);
$$;

-- New plots have no words to remove.
CREATE OR REPLACE FUNCTION plots_search_words_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM add_plot_search_words(array_agg(tenant_id), array_agg(id)) FROM new_rows;
    ELSE
        PERFORM refresh_plot_search_words(array_agg(tenant_id), array_agg(id)) FROM new_rows;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION tickets_search_words_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Only tickets whose title or description changed.
        DELETE FROM ticket_search_words w
         USING new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
         WHERE w.tenant_id = n.tenant_id AND w.ticket_id = n.id
           AND (o.title IS DISTINCT FROM n.title OR o.description IS DISTINCT FROM n.description);
        INSERT INTO ticket_search_words (tenant_id, word, ticket_id)
        SELECT DISTINCT n.tenant_id, w, n.id
          FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
         CROSS JOIN LATERAL split_words(n.title || ' ' || n.description) AS w
         WHERE o.title IS DISTINCT FROM n.title OR o.description IS DISTINCT FROM n.description;
    ELSE
        INSERT INTO ticket_search_words (tenant_id, word, ticket_id)
        SELECT DISTINCT n.tenant_id, w, n.id
          FROM new_rows n CROSS JOIN LATERAL split_words(n.title || ' ' || n.description) AS w;
    END IF;
    RETURN NULL;
END;
$$;

-- A new homeowner adds their name's words to the plot; the plot's other words stay.
-- (Removing or changing a homeowner rewrites the plot's words, as before.)
CREATE OR REPLACE FUNCTION plot_homeowners_search_words_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO plot_search_words (tenant_id, word, plot_id)
        SELECT DISTINCT n.tenant_id, w, n.plot_id
          FROM new_rows n
          JOIN contacts h ON h.tenant_id = n.tenant_id AND h.id = n.contact_id
         CROSS JOIN LATERAL split_words(h.name) AS w
         ORDER BY 1, 2, 3
        ON CONFLICT DO NOTHING;
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
