-- Schemes, contracts, plots and contacts: the records customer care works on.

-- Schemes (developments) grow the fields customer care needs.
ALTER TABLE schemes
    ADD COLUMN reference_code    text,
    ADD COLUMN address           text NOT NULL DEFAULT '',
    ADD COLUMN region            text NOT NULL DEFAULT '',
    ADD COLUMN status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    ADD COLUMN warranty_provider text NOT NULL DEFAULT 'nhbc'
        CHECK (warranty_provider IN ('nhbc', 'premier_guarantee', 'labc_warranty', 'other')),
    ADD COLUMN warranty_months   integer NOT NULL DEFAULT 24 CHECK (warranty_months BETWEEN 1 AND 240),
    ADD COLUMN sla_enabled       boolean NOT NULL DEFAULT true,
    ADD COLUMN site_manager      text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX schemes_reference ON schemes (tenant_id, lower(reference_code)) WHERE reference_code IS NOT NULL;
CREATE INDEX schemes_name ON schemes (tenant_id, lower(name), id);

-- Contacts: people and companies.
ALTER TABLE contacts
    ADD COLUMN company_name   text NOT NULL DEFAULT '',
    -- A person at a subcontractor company points at the company.
    ADD COLUMN company_id     uuid,
    ADD COLUMN emails         text[] NOT NULL DEFAULT '{}',
    ADD COLUMN phones         text[] NOT NULL DEFAULT '{}',
    ADD COLUMN address        text NOT NULL DEFAULT '',
    ADD COLUMN notes          text NOT NULL DEFAULT '',
    ADD COLUMN preferred_contact_method text NOT NULL DEFAULT 'phone'
        CHECK (preferred_contact_method IN ('phone', 'email', 'sms', 'post')),
    ADD COLUMN consent_note   text NOT NULL DEFAULT '',
    -- Trades a subcontractor company covers.
    ADD COLUMN trades         text[] NOT NULL DEFAULT '{}'
        CHECK (trades <@ ARRAY['plumbing', 'electrical', 'carpentry', 'roofing', 'plastering', 'decorating',
                               'groundworks', 'heating', 'windows_doors', 'kitchens', 'drainage', 'general']),
    ADD COLUMN archived_at    timestamptz,
    ADD FOREIGN KEY (tenant_id, company_id) REFERENCES contacts (tenant_id, id);
CREATE INDEX contacts_name ON contacts (tenant_id, lower(name), id);
CREATE INDEX contacts_kind ON contacts (tenant_id, kind, lower(name), id);

CREATE TABLE contracts (
    tenant_id             uuid NOT NULL,
    id                    uuid NOT NULL,
    scheme_id             uuid NOT NULL,
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    contract_type         text NOT NULL DEFAULT 'private_sale'
        CHECK (contract_type IN ('private_sale', 'affordable', 'build_to_rent')),
    client_contact_id     uuid,
    -- Overrides the scheme's warranty period (social housing often uses 12).
    defects_period_months integer CHECK (defects_period_months BETWEEN 1 AND 240),
    start_date            date,
    end_date              date,
    archived_at           timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, scheme_id, id),
    FOREIGN KEY (tenant_id, scheme_id) REFERENCES schemes (tenant_id, id),
    FOREIGN KEY (tenant_id, client_contact_id) REFERENCES contacts (tenant_id, id),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
);
CREATE INDEX contracts_scheme ON contracts (tenant_id, scheme_id, lower(name));
CREATE TRIGGER contracts_updated_at BEFORE UPDATE ON contracts FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('contracts');

CREATE TABLE plots (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL,
    scheme_id        uuid NOT NULL,
    contract_id      uuid NOT NULL,
    plot_number      text NOT NULL CHECK (length(plot_number) BETWEEN 1 AND 20),
    address_line1    text NOT NULL DEFAULT '',
    address_line2    text NOT NULL DEFAULT '',
    town             text NOT NULL DEFAULT '',
    -- Normalised UK postcode, e.g. "SW1A 1AA".
    postcode         text NOT NULL DEFAULT '',
    house_type       text NOT NULL DEFAULT '',
    bedrooms         integer CHECK (bedrooms BETWEEN 0 AND 20),
    reservation_date date,
    completion_date  date,
    access_notes     text NOT NULL DEFAULT '',
    archived_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- The plot's scheme is its contract's scheme.
    FOREIGN KEY (tenant_id, scheme_id, contract_id) REFERENCES contracts (tenant_id, scheme_id, id),
    FOREIGN KEY (tenant_id, scheme_id) REFERENCES schemes (tenant_id, id),
    CONSTRAINT plots_number_unique_in_scheme UNIQUE (tenant_id, scheme_id, plot_number),
    CONSTRAINT plots_completion_after_reservation
        CHECK (completion_date IS NULL OR reservation_date IS NULL OR completion_date >= reservation_date)
);
CREATE INDEX plots_contract ON plots (tenant_id, contract_id, plot_number);
CREATE INDEX plots_postcode ON plots (tenant_id, postcode, id);
CREATE INDEX plots_list ON plots (tenant_id, scheme_id, plot_number, id);
CREATE TRIGGER plots_updated_at BEFORE UPDATE ON plots FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('plots');

-- Homeowners of a plot over time: a resale ends one row and starts another.
CREATE TABLE plot_homeowners (
    tenant_id  uuid NOT NULL,
    id         uuid NOT NULL,
    plot_id    uuid NOT NULL,
    contact_id uuid NOT NULL,
    from_date  date,
    to_date    date,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, plot_id) REFERENCES plots (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    CHECK (to_date IS NULL OR from_date IS NULL OR to_date >= from_date)
);
CREATE INDEX plot_homeowners_plot ON plot_homeowners (tenant_id, plot_id);
CREATE INDEX plot_homeowners_contact ON plot_homeowners (tenant_id, contact_id);
CREATE TRIGGER plot_homeowners_updated_at BEFORE UPDATE ON plot_homeowners FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CALL enable_tenant_isolation('plot_homeowners');
