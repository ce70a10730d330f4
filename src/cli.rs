//! The commands of the `plotcare` binary.

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::{
    AppState,
    auth::{cross_tenant, password},
    config::Config,
    db,
    domain::{Email, NewPassword, Slug},
    media::MediaStore,
};

#[derive(Debug, Parser)]
#[command(name = "plotcare", version, about = "Customer care for housebuilders")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server, and the job worker too unless RUN_WORKER=false.
    Serve,
    /// Run only the job worker (emails and other background work) until SIGTERM or Ctrl-C.
    Worker,
    /// Apply database migrations and exit (the release phase).
    Migrate,
    /// Create the database if missing, migrate, load demo data, print how to sign in, then serve.
    Demo,
    /// Load many generated tenants with plots, contacts and users (for performance work), then print their sign-ins.
    Generate {
        /// How many tenants (gen-0001, gen-0002, ...); tenants already there are left alone.
        #[arg(long, default_value_t = 10)]
        tenants: u32,
        /// Plots per tenant, spread over its schemes and contracts.
        #[arg(long, default_value_t = 1000)]
        plots: u32,
        /// Tickets per tenant, each with two comments (one shared, one internal).
        #[arg(long, default_value_t = 0)]
        tickets: u32,
    },
    /// Manage tenants (housebuilders).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and its first admin. The password comes from ADMIN_PASSWORD, or a one-time password is printed.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long, default_value = "Administrator")]
        admin_name: String,
    },
    /// List every tenant.
    List,
}

pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Worker => {
            let pool = db::pool(&config)?;
            db::role::check(&pool, config.behind_tls).await?;
            let media = MediaStore::from_config(&config.media, &config.secret_key).await?;
            crate::jobs::Runner::new(pool, media, &config)?
                .run(crate::shutdown_signal())
                .await;
            Ok(())
        }
        Command::Migrate => {
            let pool = db::pool(&config)?;
            crate::migrate(&pool).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Demo => {
            let (url, created) = db::role::demo_database(config.database_url.expose()).await?;
            if created {
                tracing::info!("created the database");
            }
            let config = Config {
                database_url: crate::config::Secret::new(url),
                ..config
            };
            let pool = db::pool(&config)?;
            crate::migrate(&pool).await?;
            let media = MediaStore::from_config(&config.media, &config.secret_key).await?;
            crate::demo::load_with_photos(&pool, Some(&media)).await?;
            crate::demo::print_logins(config.port);
            serve(config).await
        }
        Command::Generate {
            tenants,
            plots,
            tickets,
        } => {
            let pool = db::pool(&config)?;
            crate::migrate(&pool).await?;
            let report = crate::generate::run(&pool, tenants, plots, tickets).await?;
            crate::generate::print(&report, config.port);
            Ok(())
        }
        Command::Tenant { command } => tenant(command, &config).await,
    }
}

async fn tenant(command: TenantCommand, config: &Config) -> anyhow::Result<()> {
    let pool = db::pool(config)?;
    match command {
        TenantCommand::Create {
            slug,
            name,
            admin_email,
            admin_name,
        } => {
            let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
            let email = Email::parse("admin-email", &admin_email)
                .map_err(|e| anyhow::anyhow!("--admin-email: {}", e.message))?;
            let name = name.trim();
            anyhow::ensure!(
                !name.is_empty() && name.len() <= 200,
                "--name: give the housebuilder's name"
            );
            let (password, shown) = match std::env::var("ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => (p, false),
                _ => (crate::auth::tokens::new_secret("").0[..24].to_owned(), true),
            };
            let password = NewPassword::parse("password", &password)
                .map_err(|e| anyhow::anyhow!("ADMIN_PASSWORD: {}", e.message))?;
            let hash = password::hash(&password).await?;
            let (tenant, _) =
                match cross_tenant::create_tenant(&pool, &slug, name, &email, &admin_name, &hash)
                    .await
                {
                    Ok(created) => created,
                    Err(sqlx::Error::Database(e)) if e.constraint() == Some("tenants_slug_key") => {
                        anyhow::bail!("--slug: a tenant called '{slug}' already exists")
                    }
                    Err(sqlx::Error::Database(e))
                        if e.constraint() == Some("accounts_email_key") =>
                    {
                        anyhow::bail!("--admin-email: {email} already has a Plotcare account")
                    }
                    Err(e) => return Err(e.into()),
                };
            println!("Created tenant {slug} ({tenant}) with admin {email}.");
            if shown {
                println!(
                    "One-time password (shown once; the admin should change it after signing in): {}",
                    password.expose()
                );
            }
            Ok(())
        }
        TenantCommand::List => {
            println!(
                "{:<24} {:<32} {:<10} {:<10} {:>6}  created",
                "slug", "name", "status", "region", "users"
            );
            for t in cross_tenant::list_tenants(&pool).await? {
                println!(
                    "{:<24} {:<32} {:<10} {:<10} {:>6}  {}",
                    t.slug,
                    t.name,
                    t.status,
                    t.data_region,
                    t.users,
                    t.created_at.date()
                );
            }
            Ok(())
        }
    }
}

/// Builds the state the configuration describes.
pub async fn state(config: Config) -> anyhow::Result<AppState> {
    let pool = db::pool(&config)?;
    let media = MediaStore::from_config(&config.media, &config.secret_key).await?;
    Ok(AppState::new(config, pool, media))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if config.secret_key_generated {
        tracing::warn!(
            "SECRET_KEY is not set: using a random key made for this process; \
             media download links and remembered devices stop working when it restarts"
        );
    }
    let port = config.port;
    let worker = match config.run_worker {
        true => {
            let media = MediaStore::from_config(&config.media, &config.secret_key).await?;
            Some(crate::jobs::Runner::new(
                db::pool(&config)?,
                media,
                &config,
            )?)
        }
        false => None,
    };
    let state = state(config).await?;
    db::role::check(&state.db, state.config.behind_tls).await?;
    tracing::info!(media = state.media.backend_name(), "starting");
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    tracing::info!(port, "listening");
    // The worker has its own pool, so background work never starves requests of connections.
    let worker = worker.map(|runner| tokio::spawn(runner.run(crate::shutdown_signal())));
    let limits = crate::ServeLimits::from(&*state.config);
    crate::serve(listener, crate::app(state), limits).await?;
    if let Some(worker) = worker {
        // It saw the same signal; let it finish the jobs in hand.
        let _ = worker.await;
    }
    tracing::info!("stopped");
    Ok(())
}
