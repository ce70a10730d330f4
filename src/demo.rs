//! Demo data for `plotcare demo`: a housebuilder with an admin (MFA not yet
//! enrolled), a customer-care user, a subcontractor and an out-of-hours user;
//! four schemes with their contracts (one affordable, for a housing
//! association, with a 12-month defects period), a few hundred plots with UK
//! addresses, homeowners for the plots handed over, and subcontractor
//! companies with their trades. Loading twice is harmless.

use sqlx::PgPool;
use uuid::Uuid;

use crate::media::{MediaKey, MediaStore};

use crate::{
    auth::{TenantId, TenantTx, cross_tenant, password},
    db::{
        audit::{self, Actor, Changes},
        imports::{self, NewContract, NewScheme},
        users::NewUser,
    },
    domain::{Email, NewPassword, Role, Slug},
    generate,
};

pub const SLUG: &str = "meadowbank";

/// How many tickets the demo logs (each taken through its story by the ticket service).
pub const DEMO_TICKETS: usize = 600;

/// A demo sign-in, printed for the person trying Plotcare.
pub struct DemoLogin {
    pub role: &'static str,
    pub email: &'static str,
    pub password: &'static str,
}

pub const LOGINS: [DemoLogin; 4] = [
    DemoLogin {
        role: "Admin (sets up MFA at first sign-in)",
        email: "admin@meadowbank.test",
        password: "meadowbank admin demo",
    },
    DemoLogin {
        role: "Customer care",
        email: "care@meadowbank.test",
        password: "meadowbank care demo",
    },
    DemoLogin {
        role: "Subcontractor admin (Brightwater Plumbing)",
        email: "dan@brightwater.test",
        password: "brightwater plumbing demo",
    },
    DemoLogin {
        role: "Out of hours",
        email: "oncall@meadowbank.test",
        password: "meadowbank on call demo",
    },
];

async fn hash(pw: &str) -> anyhow::Result<String> {
    password::hash(&NewPassword::parse("password", pw).map_err(|e| anyhow::anyhow!(e.message))?)
        .await
}

/// Loads the demo tenant unless it is already there, then its records unless they are.
pub async fn load(pool: &PgPool) -> anyhow::Result<()> {
    load_with_photos(pool, None).await
}

/// Loads the demo; with a media store, a few tickets also get photos.
pub async fn load_with_photos(pool: &PgPool, media: Option<&MediaStore>) -> anyhow::Result<()> {
    let tenant = match cross_tenant::tenant_by_slug(pool, SLUG).await? {
        Some(tenant) => tenant,
        None => create(pool).await?,
    };
    if grow(pool, tenant).await?
        && let Some(media) = media
    {
        add_photos(pool, media, tenant).await?;
    }
    Ok(())
}

/// The tenant, its first schemes, Brightwater Plumbing and the demo users.
async fn create(pool: &PgPool) -> anyhow::Result<TenantId> {
    let admin = &LOGINS[0];
    let (tenant, _) = cross_tenant::create_tenant(
        pool,
        &Slug::parse(SLUG).map_err(anyhow::Error::msg)?,
        "Meadowbank Homes",
        &Email::parse("email", admin.email).map_err(|e| anyhow::anyhow!(e.message))?,
        "Alex Morgan",
        &hash(admin.password).await?,
    )
    .await?;

    let mut tx = TenantTx::begin(pool, tenant).await?;
    let actor = Actor::default();
    let company = Uuid::now_v7();
    sqlx::query("INSERT INTO contacts (tenant_id, id, kind, name) VALUES ($1, $2, 'subcontractor_company', 'Brightwater Plumbing Ltd')")
        .bind(tx.tenant_id())
        .bind(company)
        .execute(&mut *tx)
        .await?;
    for scheme in ["Meadowbank Park", "Riverside Quarter", "Oakfield Grange"] {
        sqlx::query("INSERT INTO schemes (tenant_id, id, name) VALUES ($1, $2, $3)")
            .bind(tx.tenant_id())
            .bind(Uuid::now_v7())
            .bind(scheme)
            .execute(&mut *tx)
            .await?;
    }
    let people = [
        (&LOGINS[1], "Priya Shah", Role::Staff, None, false),
        (
            &LOGINS[2],
            "Dan Fletcher",
            Role::Subcontractor,
            Some(company),
            true,
        ),
        (&LOGINS[3], "Sam Okafor", Role::Emergency, None, false),
    ];
    for (login, name, role, company_id, is_company_admin) in people {
        let email = Email::parse("email", login.email).map_err(|e| anyhow::anyhow!(e.message))?;
        let hash = hash(login.password).await?;
        let new = NewUser {
            email: &email,
            name,
            role,
            company_id,
            is_company_admin,
            password_hash: Some(&hash),
        };
        if let Some(id) = crate::auth::cross_tenant::accounts::add_person(&mut tx, &new).await? {
            audit::record(
                &mut tx,
                &actor,
                "user.created",
                "user",
                Some(id),
                Changes::new()
                    .set("email", login.email)
                    .set("role", role.as_str())
                    .note("via", "plotcare demo"),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(tenant)
}

/// A scheme of the demo: name, reference, town (from `generate::TOWNS`), site manager, provider, and its
/// contracts as (name, type, plots, in a hundred handed over).
struct DemoScheme {
    name: &'static str,
    reference: &'static str,
    town: usize,
    site_manager: &'static str,
    provider: &'static str,
    contracts: &'static [(&'static str, &'static str, u32, u64)],
}

const SCHEMES: [DemoScheme; 4] = [
    DemoScheme {
        name: "Meadowbank Park",
        reference: "MBP",
        town: 0,
        site_manager: "Gareth Lloyd",
        provider: "nhbc",
        contracts: &[
            ("Phase 1", "private_sale", 70, 90),
            ("Phase 2", "private_sale", 45, 40),
            (
                "Affordable: Northern Housing Association",
                "affordable",
                30,
                80,
            ),
        ],
    },
    DemoScheme {
        name: "Riverside Quarter",
        reference: "RVQ",
        town: 8,
        site_manager: "Helen Shaw",
        provider: "premier_guarantee",
        contracts: &[
            ("Phase 1", "private_sale", 60, 85),
            ("Build to rent: Riverside Living", "build_to_rent", 30, 100),
        ],
    },
    DemoScheme {
        name: "Oakfield Grange",
        reference: "OFG",
        town: 1,
        site_manager: "Tom Ward",
        provider: "nhbc",
        contracts: &[
            ("Phase 1", "private_sale", 50, 80),
            ("Phase 2", "private_sale", 30, 20),
        ],
    },
    DemoScheme {
        name: "Canal Wharf",
        reference: "CNW",
        town: 13,
        site_manager: "Aisha Khan",
        provider: "labc_warranty",
        contracts: &[("Phase 1", "private_sale", 40, 50)],
    },
];

/// Schemes, contracts, plots, homeowners and companies, once (an older demo database grows on its next start).
/// Adds the schemes, plots, tickets and inspections, once. True when it did.
async fn grow(pool: &PgPool, tenant: TenantId) -> anyhow::Result<bool> {
    let mut tx = TenantTx::begin(pool, tenant).await?;
    if imports::has_contracts(&mut tx).await? {
        return Ok(false);
    }
    let brightwater =
        imports::contact_by_name(&mut tx, "subcontractor_company", generate::COMPANIES[0].0)
            .await?;
    let contacts = generate::plan_contacts(1, brightwater.is_some());
    contacts.insert(&mut tx).await?;
    if let Some(id) = brightwater {
        let trades: Vec<String> = generate::COMPANIES[0]
            .1
            .iter()
            .map(|t| (*t).to_owned())
            .collect();
        imports::set_company_details(
            &mut tx,
            id,
            &["jobs@brightwater.example".to_owned()],
            &["01925 555 014".to_owned()],
            "Unit 3, Winwick Quay, Warrington WA2 8LT",
            &trades,
        )
        .await?;
    }
    let today = crate::domain::clock::today();
    let mut planned = generate::Planned::default();
    let mut contracts = Vec::new();
    for (s, demo) in SCHEMES.iter().enumerate() {
        let (town, outward, region) = generate::TOWNS[demo.town];
        let scheme = NewScheme {
            id: Uuid::now_v7(),
            name: demo.name.to_owned(),
            reference_code: demo.reference.to_owned(),
            address: format!(
                "{} Road, {town}",
                demo.name.split(' ').next().unwrap_or(demo.name)
            ),
            region: region.to_owned(),
            site_manager: demo.site_manager.to_owned(),
            warranty_provider: demo.provider.to_owned(),
        };
        let scheme_id = imports::upsert_scheme_by_name(&mut tx, &scheme).await?;
        let mut first = 1;
        for (c, (name, kind, plots, handed)) in demo.contracts.iter().enumerate() {
            let affordable = *kind == "affordable";
            let contract = NewContract {
                id: Uuid::now_v7(),
                scheme_id,
                name: (*name).to_owned(),
                contract_type: (*kind).to_owned(),
                client_contact_id: affordable.then_some(contacts.client_id),
                defects_period_months: affordable.then_some(12),
                start_date: Some(today - time::Duration::days(1800 - 300 * c as i64)),
            };
            planned.add(generate::plan_plots(&generate::PlotPlan {
                scheme_id,
                contract_id: contract.id,
                first_number: first,
                count: *plots,
                town,
                outward,
                handed_over_percent: *handed,
                seed: s as u64 * 17 + 5,
                today,
            }));
            first += plots;
            contracts.push(contract);
        }
    }
    imports::insert_contracts(&mut tx, &contracts).await?;
    planned.insert(&mut tx).await?;
    let tickets = crate::demo_tickets::load_demo_tickets(&mut tx, DEMO_TICKETS).await?;
    crate::db::inspections::load_demo(&mut tx).await?;
    let changes = Changes::new()
        .note("tickets", tickets)
        .note("via", "plotcare demo")
        .note("plots", planned.plots.len())
        .note("homeowners", planned.homeowners.len())
        .note("companies", contacts.companies.len());
    audit::record(
        &mut tx,
        &Actor::default(),
        "demo.loaded",
        "tenant",
        Some(tenant.uuid()),
        changes,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub fn print_logins(port: u16) {
    println!("\nPlotcare demo is ready: open http://127.0.0.1:{port}/ and sign in as\n");
    for login in &LOGINS {
        println!(
            "  {:<45} {:<28} password: {}",
            login.role, login.email, login.password
        );
    }
    println!();
}

/// Photos (small generated images, with thumbnails) on the first few open tickets.
async fn add_photos(pool: &PgPool, media: &MediaStore, tenant: TenantId) -> anyhow::Result<()> {
    let mut tx = TenantTx::begin(pool, tenant).await?;
    let tickets: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT id, number FROM tickets
          WHERE tenant_id = $1 AND status IN ('open', 'in_progress') ORDER BY number LIMIT 6",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut *tx)
    .await?;
    let uploader = crate::demo_tickets::demo_actor(&mut tx, Role::Staff)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo has no staff user"))?;
    for (i, (ticket, number)) in tickets.into_iter().enumerate() {
        let png = demo_photo(i as u8);
        let thumbnail = crate::thumbnails::make(&png, crate::domain::file_type::FileType::Png)?;
        let key = MediaKey::new(tenant.uuid(), "tickets");
        let size = media
            .put(
                &key,
                "image/png",
                futures_util::stream::iter([Ok(bytes::Bytes::from(png))]),
            )
            .await?;
        let thumb_key = match thumbnail {
            Some(t) => {
                let k = MediaKey::new(tenant.uuid(), "thumbnails");
                media
                    .put(
                        &k,
                        "image/jpeg",
                        futures_util::stream::iter([Ok(bytes::Bytes::from(t))]),
                    )
                    .await?;
                Some(k)
            }
            None => None,
        };
        let name = format!("T-{number:05}-photo.png");
        crate::tickets::attach(
            &mut tx,
            &uploader,
            crate::db::files::NewFile {
                ticket_id: ticket,
                comment_id: None,
                storage_key: key.as_str(),
                thumbnail_key: thumb_key.as_ref().map(MediaKey::as_str),
                original_name: &name,
                content_type: "image/png",
                size_bytes: size as i64,
                visible_to_subcontractor: true,
                uploaded_by: uploader.user_id,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A small picture standing in for a homeowner's photo: a coloured gradient.
fn demo_photo(seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(480, 360, |x, y| {
        image::Rgb([
            (x / 2) as u8 ^ seed.wrapping_mul(40),
            (y / 2) as u8,
            160u8.wrapping_add(seed.wrapping_mul(20)),
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG in memory");
    out.into_inner()
}
