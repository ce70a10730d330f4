//! Made-up but realistic records: plots on streets of towns in the North West
//! and the Midlands with valid postcode shapes, homeowners with names, phone
//! numbers from Ofcom's drama range and example.com emails, and
//! subcontractor companies with trades.
//!
//! Used by `plotcare demo` (a few hundred plots) and by `plotcare generate`
//! (many tenants with many plots each, for performance work). Everything is
//! written with set-based inserts (see `db::imports`), one TenantTx per tenant.

pub mod tickets;

use std::time::{Duration, Instant};

use sqlx::PgPool;
use time::Date;
use uuid::Uuid;

use crate::{
    auth::{TenantTx, cross_tenant, password},
    db::{
        audit::{self, Actor, Changes},
        imports::{self, NewContact, NewContract, NewHomeowner, NewPlot, NewScheme},
        users::NewUser,
    },
    domain::{Email, NewPassword, Role, Slug},
};

pub const STREETS: [&str; 48] = [
    "Larch Close",
    "Mill Lane",
    "Orchard Way",
    "Kingfisher Drive",
    "Heron Walk",
    "Church Road",
    "Bridgewater Way",
    "Meadow View",
    "Sandstone Rise",
    "Foundry Street",
    "Weaver Court",
    "Canal Side",
    "Ash Grove",
    "Bluebell Road",
    "Chestnut Avenue",
    "Damson Close",
    "Elder Way",
    "Foxglove Lane",
    "Goldcrest Road",
    "Hawthorn Drive",
    "Ivy Bank",
    "Juniper Close",
    "Kestrel Way",
    "Lime Tree Avenue",
    "Mulberry Gardens",
    "Nightingale Close",
    "Oak Tree Lane",
    "Primrose Hill",
    "Quarry Bank",
    "Rowan Drive",
    "Sorrel Way",
    "Teasel Close",
    "Upton Lane",
    "Vicarage Road",
    "Wheatfield Drive",
    "Yew Tree Close",
    "Brookside",
    "Cotton Mill Way",
    "Dovecote Lane",
    "Ferndale Road",
    "Gritstone Way",
    "Hollins Lane",
    "Lark Rise",
    "Pennine View",
    "Saxon Way",
    "Tatton Drive",
    "Wharf Road",
    "Wren Close",
];

/// Town, postcode district and region.
pub const TOWNS: [(&str, &str, &str); 16] = [
    ("Warrington", "WA4", "North West"),
    ("Crewe", "CW2", "North West"),
    ("Preston", "PR2", "North West"),
    ("Chester", "CH3", "North West"),
    ("Wigan", "WN3", "North West"),
    ("Bolton", "BL3", "North West"),
    ("Macclesfield", "SK11", "North West"),
    ("Lancaster", "LA1", "North West"),
    ("Stoke-on-Trent", "ST4", "Midlands"),
    ("Stafford", "ST16", "Midlands"),
    ("Derby", "DE22", "Midlands"),
    ("Leicester", "LE4", "Midlands"),
    ("Nottingham", "NG5", "Midlands"),
    ("Wolverhampton", "WV6", "Midlands"),
    ("Telford", "TF3", "Midlands"),
    ("Lichfield", "WS13", "Midlands"),
];

const FIRST_NAMES: [&str; 40] = [
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Freya", "Lily", "Sophie", "Emily", "Ella",
    "Priya", "Aisha", "Chloe", "Hannah", "Zara", "Ruth", "Megan", "Niamh", "Bethany", "Oliver",
    "George", "Harry", "Noah", "Jack", "Leo", "Arthur", "Muhammad", "Oscar", "Charlie", "Thomas",
    "James", "Daniel", "Samuel", "Ravi", "Connor", "Liam", "Kwame", "Tomasz", "Owen",
];

const SURNAMES: [&str; 40] = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Khan", "Hughes", "Edwards", "Turner", "Hill", "Moore", "Cooper",
    "Ward", "Morris", "Lee", "Harris", "Kaur", "Okafor", "Nowak", "Murphy", "Shaw", "Lloyd",
    "Begum", "Fletcher",
];

/// House types with their bedrooms.
const HOUSE_TYPES: [(&str, i32); 8] = [
    ("The Alder (apartment)", 1),
    ("The Aspen", 2),
    ("The Birch", 3),
    ("The Cedar", 3),
    ("The Hazel", 3),
    ("The Rowan", 4),
    ("The Sycamore", 4),
    ("The Willow", 5),
];

/// Subcontractor companies and their trades. The first is the demo's Brightwater Plumbing.
pub const COMPANIES: [(&str, &[&str]); 9] = [
    ("Brightwater Plumbing Ltd", &["plumbing", "heating"]),
    ("Northway Electrical Ltd", &["electrical"]),
    ("Pennine Roofing Services", &["roofing"]),
    ("Cheshire Plastering Co", &["plastering", "decorating"]),
    ("Trentside Joinery Ltd", &["carpentry", "kitchens"]),
    ("Mersey Groundworks Ltd", &["groundworks", "drainage"]),
    ("Clearview Windows & Doors", &["windows_doors"]),
    ("Midshire Heating Ltd", &["heating", "plumbing"]),
    (
        "AllTrades Property Care",
        &["general", "decorating", "carpentry"],
    ),
];

/// Inward-code letters: the alphabet without C, I, K, M, O and V.
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// A well-mixed number from `n` (splitmix64): the same input always gives the same data.
pub fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<T: Copy>(list: &[T], n: u64) -> T {
    list[(mix(n) % list.len() as u64) as usize]
}

/// A postcode in `outward`'s district, e.g. "WA4 2TX".
pub fn postcode(outward: &str, n: u64) -> String {
    let m = mix(n);
    let letter = |k: u64| INWARD_LETTERS[(k % INWARD_LETTERS.len() as u64) as usize] as char;
    format!("{outward} {}{}{}", m % 10, letter(m / 10), letter(m / 1000))
}

pub fn person_name(n: u64) -> String {
    format!(
        "{} {}",
        pick(&FIRST_NAMES, n),
        pick(&SURNAMES, n.wrapping_mul(7).wrapping_add(3))
    )
}

/// A mobile number in Ofcom's range reserved for drama (07700 900000 to 900999).
pub fn mobile(n: u64) -> String {
    format!("07700 900{:03}", mix(n) % 1000)
}

/// An example.com address for a name.
pub fn email_for(name: &str, n: u64) -> String {
    let local: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect();
    format!("{local}{}@example.com", n % 1000)
}

/// A run of plots on one contract, along a few streets of a town.
pub struct PlotPlan<'a> {
    pub scheme_id: Uuid,
    pub contract_id: Uuid,
    pub first_number: u32,
    pub count: u32,
    pub town: &'a str,
    pub outward: &'a str,
    /// Of the plots reserved long enough ago, how many in a hundred are handed over.
    pub handed_over_percent: u64,
    /// Varies streets, names and dates between plans.
    pub seed: u64,
    pub today: Date,
}

/// Plots, their homeowners and the links between them.
#[derive(Debug, Default)]
pub struct Planned {
    pub plots: Vec<NewPlot>,
    pub homeowners: Vec<NewContact>,
    pub links: Vec<NewHomeowner>,
}

impl Planned {
    pub fn add(&mut self, other: Planned) {
        self.plots.extend(other.plots);
        self.homeowners.extend(other.homeowners);
        self.links.extend(other.links);
    }

    pub async fn insert(&self, tx: &mut TenantTx) -> sqlx::Result<()> {
        imports::insert_plots(tx, &self.plots).await?;
        imports::insert_contacts(tx, &self.homeowners).await?;
        imports::insert_homeowners(tx, &self.links).await?;
        Ok(())
    }
}

/// Houses per street before the next street starts.
const HOUSES_PER_STREET: u32 = 24;

pub fn plan_plots(plan: &PlotPlan<'_>) -> Planned {
    let mut out = Planned::default();
    for i in 0..plan.count {
        let number = plan.first_number + i;
        let n = plan
            .seed
            .wrapping_mul(1_000_003)
            .wrapping_add(u64::from(number));
        let street_index = plan
            .seed
            .wrapping_add(u64::from(number / HOUSES_PER_STREET));
        let street = STREETS[(street_index % STREETS.len() as u64) as usize];
        let house = (number % HOUSES_PER_STREET) * 2 + 1;
        let (house_type, bedrooms) = pick(&HOUSE_TYPES, n);
        let address_line1 = format!("{house} {street}");
        let postcode = postcode(
            plan.outward,
            street_index.wrapping_mul(31).wrapping_add(plan.seed),
        );
        // One plot in ten is not yet reserved; the rest were reserved up to five years ago.
        let m = mix(n ^ 0xDA7E);
        let reservation = (!m.is_multiple_of(10))
            .then(|| plan.today - time::Duration::days(20 + (m / 10 % 1800) as i64));
        let completion = reservation
            .filter(|_| (m / 20_000) % 100 < plan.handed_over_percent)
            .map(|r| r + time::Duration::days(60 + (m / 7 % 150) as i64))
            .filter(|c| *c <= plan.today);
        let plot = NewPlot {
            id: Uuid::now_v7(),
            scheme_id: plan.scheme_id,
            contract_id: plan.contract_id,
            plot_number: number.to_string(),
            address_line1: address_line1.clone(),
            address_line2: String::new(),
            town: plan.town.to_owned(),
            postcode: postcode.clone(),
            house_type: house_type.to_owned(),
            bedrooms: Some(bedrooms),
            reservation_date: reservation,
            completion_date: completion,
        };
        if completion.is_some() {
            let name = person_name(n);
            let contact = homeowner(
                &name,
                n,
                format!("{address_line1}, {}, {postcode}", plan.town),
            );
            out.links.push(NewHomeowner {
                id: Uuid::now_v7(),
                plot_id: plot.id,
                contact_id: contact.id,
                from_date: completion,
            });
            out.homeowners.push(contact);
        }
        out.plots.push(plot);
    }
    out
}

/// A homeowner contact with a phone and an email.
fn homeowner(name: &str, n: u64, address: String) -> NewContact {
    NewContact {
        id: Uuid::now_v7(),
        kind: "homeowner".into(),
        name: name.to_owned(),
        emails: vec![email_for(name, n)],
        phones: vec![mobile(n)],
        address,
        preferred_contact_method: if n.is_multiple_of(3) {
            "email"
        } else {
            "phone"
        }
        .into(),
        ..Default::default()
    }
}

/// The subcontractor companies (one person each), a housing association and a consultant.
pub struct Contacts {
    pub companies: Vec<NewContact>,
    pub people: Vec<NewContact>,
    pub client_id: Uuid,
    pub others: Vec<NewContact>,
}

/// The tenant-wide contacts. `skip_first_company` leaves out Brightwater (the demo made it before).
pub fn plan_contacts(seed: u64, skip_first_company: bool) -> Contacts {
    let mut companies = Vec::new();
    let mut people = Vec::new();
    for (i, (name, trades)) in COMPANIES
        .iter()
        .enumerate()
        .skip(usize::from(skip_first_company))
    {
        let domain: String = name
            .to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect();
        let (town, outward, _) = pick(&TOWNS, seed + i as u64);
        let company = NewContact {
            id: Uuid::now_v7(),
            kind: "subcontractor_company".into(),
            name: (*name).to_owned(),
            emails: vec![format!("office@{domain}.example")],
            phones: vec![format!(
                "01{:03} 555{:03}",
                200 + i * 37,
                mix(seed + i as u64) % 1000
            )],
            address: format!(
                "Unit {}, Trade Park, {town} {}",
                i + 2,
                postcode(outward, seed + i as u64)
            ),
            preferred_contact_method: "email".into(),
            trades: trades.iter().map(|t| (*t).to_owned()).collect(),
            ..Default::default()
        };
        let person = person_name(seed * 101 + i as u64);
        people.push(NewContact {
            id: Uuid::now_v7(),
            kind: "subcontractor_person".into(),
            name: person.clone(),
            company_id: Some(company.id),
            emails: vec![format!(
                "{}@{domain}.example",
                person.split(' ').next().unwrap_or("site").to_lowercase()
            )],
            phones: vec![mobile(seed * 101 + i as u64)],
            preferred_contact_method: "phone".into(),
            notes: "Site supervisor: first call for snagging visits.".into(),
            ..Default::default()
        });
        companies.push(company);
    }
    let client = NewContact {
        id: Uuid::now_v7(),
        kind: "client".into(),
        name: "Northern Housing Association".into(),
        emails: vec!["repairs@northernha.example".into()],
        phones: vec!["0161 496 0000".into()],
        address: "Northern House, 10 Piccadilly, Manchester M1 3BN".into(),
        preferred_contact_method: "email".into(),
        notes:
            "Client for the affordable contracts. Tenants report defects through the association."
                .into(),
        ..Default::default()
    };
    let consultant = NewContact {
        id: Uuid::now_v7(),
        kind: "consultant".into(),
        name: "Hughes Building Surveyors".into(),
        emails: vec!["enquiries@hughessurveyors.example".into()],
        phones: vec!["01925 496 123".into()],
        preferred_contact_method: "email".into(),
        ..Default::default()
    };
    Contacts {
        companies,
        people,
        client_id: client.id,
        others: vec![client, consultant],
    }
}

impl Contacts {
    pub async fn insert(&self, tx: &mut TenantTx) -> sqlx::Result<()> {
        imports::insert_contacts(tx, &self.companies).await?;
        imports::insert_contacts(tx, &self.others).await?;
        imports::insert_contacts(tx, &self.people).await?;
        Ok(())
    }
}

// ---------------------------------------------------------------- plotcare generate

pub const ADMIN_PASSWORD: &str = "generated admin password";
pub const STAFF_PASSWORD: &str = "generated staff password";
pub const SUBCONTRACTOR_PASSWORD: &str = "generated subcontractor password";

/// How many tenants load at once.
const PARALLEL: usize = 3;
/// Plots per scheme, roughly.
const PLOTS_PER_SCHEME: u32 = 500;

/// One generated tenant and its sign-ins.
#[derive(Debug, Clone)]
pub struct GeneratedTenant {
    pub slug: String,
    pub admin_email: String,
    pub staff_email: String,
    pub subcontractor_email: String,
    /// False when the tenant was there already (from an earlier run).
    pub created: bool,
}

#[derive(Debug)]
pub struct Report {
    pub tenants: Vec<GeneratedTenant>,
    pub plots_per_tenant: u32,
    pub elapsed: Duration,
}

struct Hashes {
    admin: String,
    staff: String,
    subcontractor: String,
}

async fn hash(pw: &str) -> anyhow::Result<String> {
    password::hash(&NewPassword::parse("password", pw).map_err(|e| anyhow::anyhow!(e.message))?)
        .await
}

/// Loads `tenants` tenants (gen-0001, gen-0002, ...), each with `plots` plots. Tenants already there are left alone.
/// Loads `tenants` tenants of `plots` plots and `tickets` tickets each (every ticket with two comments).
pub async fn run(pool: &PgPool, tenants: u32, plots: u32, tickets: u32) -> anyhow::Result<Report> {
    anyhow::ensure!(
        (1..=9999).contains(&tenants),
        "--tenants: give a number from 1 to 9999"
    );
    anyhow::ensure!(
        (1..=1_000_000).contains(&plots),
        "--plots: give a number from 1 to 1000000"
    );
    anyhow::ensure!(
        tickets <= 1_000_000,
        "--tickets: give a number from 0 to 1000000"
    );
    let started = Instant::now();
    let hashes = std::sync::Arc::new(Hashes {
        admin: hash(ADMIN_PASSWORD).await?,
        staff: hash(STAFF_PASSWORD).await?,
        subcontractor: hash(SUBCONTRACTOR_PASSWORD).await?,
    });
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::new();
    for i in 1..=tenants {
        if set.len() >= PARALLEL
            && let Some(done) = set.join_next().await
        {
            out.push(done??);
        }
        let (pool, hashes) = (pool.clone(), hashes.clone());
        set.spawn(async move { load_tenant(&pool, i, plots, tickets, &hashes).await });
    }
    while let Some(done) = set.join_next().await {
        out.push(done??);
    }
    out.sort_by(|a: &GeneratedTenant, b| a.slug.cmp(&b.slug));
    Ok(Report {
        tenants: out,
        plots_per_tenant: plots,
        elapsed: started.elapsed(),
    })
}

fn email(value: &str) -> anyhow::Result<Email> {
    Email::parse("email", value).map_err(|e| anyhow::anyhow!("{value}: {}", e.message))
}

async fn load_tenant(
    pool: &PgPool,
    i: u32,
    plots: u32,
    tickets: u32,
    hashes: &Hashes,
) -> anyhow::Result<GeneratedTenant> {
    let slug = format!("gen-{i:04}");
    let generated = GeneratedTenant {
        admin_email: format!("admin@{slug}.test"),
        staff_email: format!("care@{slug}.test"),
        subcontractor_email: format!("sub@{slug}.test"),
        slug: slug.clone(),
        created: true,
    };
    if cross_tenant::tenant_by_slug(pool, &slug).await?.is_some() {
        return Ok(GeneratedTenant {
            created: false,
            ..generated
        });
    }
    let seed = u64::from(i) * 7919;
    let (tenant, _) = cross_tenant::create_tenant(
        pool,
        &Slug::parse(&slug).map_err(anyhow::Error::msg)?,
        &format!("Generated Homes {i:04}"),
        &email(&generated.admin_email)?,
        &person_name(seed),
        &hashes.admin,
    )
    .await?;
    let mut tx = TenantTx::begin(pool, tenant).await?;
    tx.allow_long_statements().await?;
    let contacts = plan_contacts(seed, false);
    contacts.insert(&mut tx).await?;

    let today = crate::domain::clock::today();
    let scheme_count = plots.div_ceil(PLOTS_PER_SCHEME).clamp(2, 40).min(plots);
    let mut schemes = Vec::new();
    let mut contracts = Vec::new();
    let mut planned = Planned::default();
    for s in 0..scheme_count {
        let (town, outward, region) =
            TOWNS[((u64::from(i) + u64::from(s) * 5) % TOWNS.len() as u64) as usize];
        let scheme = NewScheme {
            id: Uuid::now_v7(),
            name: format!(
                "{} {}",
                pick(
                    &[
                        "Meadow",
                        "Riverside",
                        "Oakfield",
                        "Canal",
                        "Mill",
                        "Orchard",
                        "Heron",
                        "Sandstone"
                    ],
                    seed + u64::from(s)
                ),
                pick(
                    &[
                        "Park", "Quarter", "Grange", "Wharf", "Fields", "Gardens", "View", "Green"
                    ],
                    seed * 3 + u64::from(s)
                )
            ) + &format!(" {town} {}", s + 1),
            reference_code: format!("G{i:04}-{:02}", s + 1),
            address: format!("{} Road, {town}", pick(&STREETS, seed + u64::from(s))),
            region: region.to_owned(),
            site_manager: person_name(seed * 13 + u64::from(s)),
            warranty_provider: pick(
                &["nhbc", "premier_guarantee", "labc_warranty"],
                seed + u64::from(s),
            )
            .to_owned(),
        };
        let private = NewContract {
            id: Uuid::now_v7(),
            scheme_id: scheme.id,
            name: "Phase 1".into(),
            contract_type: "private_sale".into(),
            ..Default::default()
        };
        let affordable = NewContract {
            id: Uuid::now_v7(),
            scheme_id: scheme.id,
            name: "Affordable: Northern Housing Association".into(),
            contract_type: "affordable".into(),
            client_contact_id: Some(contacts.client_id),
            defects_period_months: Some(12),
            ..Default::default()
        };
        let count = plots / scheme_count + u32::from(s < plots % scheme_count);
        let affordable_count = count / 5;
        for (contract, first, n) in [
            (&private, 1, count - affordable_count),
            (&affordable, 1 + count - affordable_count, affordable_count),
        ] {
            planned.add(plan_plots(&PlotPlan {
                scheme_id: scheme.id,
                contract_id: contract.id,
                first_number: first,
                count: n,
                town,
                outward,
                handed_over_percent: 75,
                seed: seed + u64::from(s),
                today,
            }));
        }
        schemes.push(scheme);
        contracts.push(private);
        contracts.push(affordable);
    }
    imports::insert_schemes(&mut tx, &schemes).await?;
    imports::insert_contracts(&mut tx, &contracts).await?;
    planned.insert(&mut tx).await?;

    let company = contacts.companies.first().map(|c| c.id);
    for (address, name, role, hash, company_id) in [
        (
            &generated.staff_email,
            person_name(seed + 1),
            Role::Staff,
            &hashes.staff,
            None,
        ),
        (
            &generated.subcontractor_email,
            person_name(seed + 2),
            Role::Subcontractor,
            &hashes.subcontractor,
            company,
        ),
    ] {
        let e = email(address)?;
        let new = NewUser {
            email: &e,
            name: &name,
            role,
            company_id,
            is_company_admin: company_id.is_some(),
            password_hash: Some(hash),
        };
        crate::auth::cross_tenant::accounts::add_person(&mut tx, &new)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{address} already has a Plotcare account"))?;
    }
    let changes = Changes::new()
        .note("via", "plotcare generate")
        .note("schemes", schemes.len())
        .note("plots", planned.plots.len())
        .note("homeowners", planned.homeowners.len());
    audit::record(
        &mut tx,
        &Actor::default(),
        "tenant.generated",
        "tenant",
        Some(tenant.uuid()),
        changes,
    )
    .await?;
    tx.commit().await?;
    if tickets > 0 {
        // Tickets in batches, each its own transaction, so memory and locks stay small.
        let mut left = i64::from(tickets);
        while left > 0 {
            let batch = left.min(TICKET_BATCH);
            let mut tx = TenantTx::begin(pool, tenant).await?;
            tx.allow_long_statements().await?;
            let made = tickets::bulk_tickets(&mut tx, batch).await?;
            add_commentary(&mut tx).await?;
            tx.commit().await?;
            left -= batch;
            if made == 0 {
                break; // no plots to put tickets on
            }
        }
    }
    Ok(generated)
}

/// Prints how to sign in as each tenant's users.
pub fn print(report: &Report, port: u16) {
    let created = report.tenants.iter().filter(|t| t.created).count();
    println!(
        "\nGenerated {created} tenant(s) with {} plots each in {:.1} s ({} already there).",
        report.plots_per_tenant,
        report.elapsed.as_secs_f64(),
        report.tenants.len() - created
    );
    println!("Sign in at http://127.0.0.1:{port}/ with these passwords:");
    println!(
        "  admin:         {ADMIN_PASSWORD} (sets up two-factor authentication at first sign-in)"
    );
    println!("  staff:         {STAFF_PASSWORD}");
    println!("  subcontractor: {SUBCONTRACTOR_PASSWORD}\n");
    println!(
        "  {:<10} {:<26} {:<26} subcontractor",
        "tenant", "admin", "staff"
    );
    for t in &report.tenants {
        println!(
            "  {:<10} {:<26} {:<26} {}",
            t.slug, t.admin_email, t.staff_email, t.subcontractor_email
        );
    }
    println!();
}

/// Tickets a generator transaction loads at most.
const TICKET_BATCH: i64 = 50_000;

/// Two comments (one shared with the subcontractor, one internal) on every
/// ticket that has none yet, written by the tenant's customer-care user.
pub async fn add_commentary(tx: &mut TenantTx) -> sqlx::Result<u64> {
    let made = sqlx::query(
        "WITH author AS (
             SELECT id FROM users WHERE tenant_id = $1 AND role IN ('staff', 'admin') ORDER BY role DESC, id LIMIT 1)
         INSERT INTO ticket_comments (tenant_id, id, ticket_id, author_user_id, visibility, body, created_at)
         SELECT t.tenant_id, gen_random_uuid(), t.id, author.id, v.visibility,
                CASE v.visibility
                     WHEN 'shared' THEN 'Homeowner available weekday mornings; please call ahead.'
                     ELSE 'Checked the warranty position: within the defects period.' END,
                t.reported_at + v.after
           FROM tickets t
           CROSS JOIN author
           CROSS JOIN (VALUES ('shared', interval '1 hour'), ('internal', interval '3 hours')) AS v(visibility, after)
          WHERE t.tenant_id = $1
            AND NOT EXISTS (SELECT 1 FROM ticket_comments c WHERE c.tenant_id = t.tenant_id AND c.ticket_id = t.id)",
    )
    .bind(tx.tenant_id())
    .execute(&mut **tx)
    .await?;
    Ok(made.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Postcode;

    #[test]
    fn generated_postcodes_are_valid_uk_postcodes() {
        for (_, outward, _) in TOWNS {
            for n in 0..500 {
                let p = postcode(outward, n);
                assert_eq!(
                    Postcode::parse("postcode", &p).map(|p| p.as_str().to_owned()),
                    Ok(p.clone()),
                    "{p}"
                );
            }
        }
    }

    #[test]
    fn generated_people_have_valid_emails_and_phones() {
        for n in 0..200 {
            let name = person_name(n);
            assert!(
                Email::parse("email", &email_for(&name, n)).is_ok(),
                "{name}"
            );
            assert!(crate::import::valid_phone(&mobile(n)));
        }
    }

    #[test]
    fn a_plan_hands_over_some_plots_with_homeowners_and_keeps_dates_in_order() {
        let today = time::macros::date!(2025 - 06 - 01);
        let planned = plan_plots(&PlotPlan {
            scheme_id: Uuid::now_v7(),
            contract_id: Uuid::now_v7(),
            first_number: 1,
            count: 200,
            town: "Warrington",
            outward: "WA4",
            handed_over_percent: 75,
            seed: 1,
            today,
        });
        assert_eq!(planned.plots.len(), 200);
        let handed = planned
            .plots
            .iter()
            .filter(|p| p.completion_date.is_some())
            .count();
        assert_eq!(planned.homeowners.len(), handed);
        assert!((50..190).contains(&handed), "{handed}");
        for p in &planned.plots {
            if let (Some(r), Some(c)) = (p.reservation_date, p.completion_date) {
                assert!(r <= c && c <= today);
            }
        }
        let numbers: std::collections::HashSet<&str> = planned
            .plots
            .iter()
            .map(|p| p.plot_number.as_str())
            .collect();
        assert_eq!(numbers.len(), 200);
    }
}
