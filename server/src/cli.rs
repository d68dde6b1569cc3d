//! The binary's subcommands. Each works against whatever `DATABASE_URL`
//! says and applies migrations first.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use segment_contract::auth::{Role, Scope};
use segment_service::auth::{NewUser, create_token, create_user, find_user, reset_password, set_disabled};
use segment_service::infra::db::Db;

use crate::config::Config;
use crate::demo_data::{self, DemoOptions};
use crate::startup::{self, Application};

#[derive(Parser, Debug)]
#[command(
    name = "server",
    about = "Segment Targeting: audience segmentation console and engine"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the console and the HTTP API (the default).
    Serve {
        /// On an empty database, create the demo accounts (see README).
        #[arg(long)]
        demo: bool,
    },
    /// Create a user; the password is read from stdin.
    CreateUser {
        #[arg(long)]
        username: String,
        /// admin | operator | merchant | store_manager
        #[arg(long)]
        role: String,
        /// The merchant ID a merchant account is bound to.
        #[arg(long)]
        merchant: Option<String>,
        /// The store IDs a store manager is bound to, comma-separated.
        #[arg(long)]
        stores: Option<String>,
    },
    /// Load a directory in the import format (catalog.json, entities/,
    /// profile/, behavior/, scopes.csv) into the tag warehouse.
    Import {
        /// The directory to import.
        dir: PathBuf,
    },
    /// Write the demo dataset in the import format (deterministic for the same arguments).
    DemoData {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = demo_data::DEFAULT_USERS)]
        users: u32,
        /// Daily partitions of behavior data, ending at --end-date.
        #[arg(long, default_value_t = demo_data::DEFAULT_DAYS)]
        days: u32,
        #[arg(long, default_value_t = demo_data::DEFAULT_SEED)]
        seed: u64,
        /// The newest partition (YYYY-MM-DD); yesterday in Asia/Shanghai by default.
        #[arg(long)]
        end_date: Option<NaiveDate>,
        /// Plant a hidden persona in this share of the users (0.02 when no value is given),
        /// listed in persona.csv: the lookalike quality benchmark seeds with part of it.
        #[arg(long, num_args = 0..=1, default_missing_value = "0.02")]
        persona: Option<f64>,
        /// What the planted persona is like.
        #[arg(long, value_enum, default_value_t)]
        persona_shape: demo_data::PersonaShape,
    },
    /// Create an API token; prints the token alone on the last line.
    CreateToken {
        #[arg(long)]
        name: String,
        /// platform | merchant:ID | store:ID[,ID…]
        #[arg(long)]
        scope: String,
        /// The token stops working after this many days (default: when revoked).
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// Set a user's password (read from stdin); the user's sessions end.
    SetPassword {
        #[arg(long)]
        username: String,
    },
    /// Disable a user (sign-in refused, sessions ended), or enable it again.
    DisableUser {
        #[arg(long)]
        username: String,
        /// Enable the user instead.
        #[arg(long)]
        enable: bool,
    },
    /// Print the OpenAPI document of the HTTP API (JSON).
    Openapi,
}

/// A password from stdin, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from stdin")?;
    Ok(password.trim_end_matches(['\r', '\n']).to_string())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => {
            let app = Application::build(config, startup::Options { demo }).await?;
            app.serve().await
        }
        Command::CreateUser {
            username,
            role,
            merchant,
            stores,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}; use admin, operator, merchant or store_manager")
            })?;
            let scope = segment_contract::auth::scope_for_role(
                role,
                merchant.as_deref().unwrap_or_default(),
                stores.as_deref().unwrap_or_default(),
            )?;
            let password = read_password()?;
            let db = open_database(&config).await?;
            let id = create_user(
                &db,
                NewUser {
                    username: username.clone(),
                    password,
                    role,
                    scope: scope.clone(),
                },
            )
            .await?;
            println!(
                "created user {username} (id {id}, role {}, scope {scope})",
                role.as_str()
            );
            Ok(())
        }
        Command::Import { dir } => {
            let db = open_database(&config).await?;
            let spark = config.connect_spark().await?;
            let summary = crate::import::run_import(&db, &dir, spark.as_ref()).await?;
            println!(
                "imported {}: {}",
                dir.display(),
                segment_service::tags::import::describe(&summary)
            );
            Ok(())
        }
        Command::DemoData {
            out,
            users,
            days,
            seed,
            end_date,
            persona,
            persona_shape,
        } => {
            let options = DemoOptions {
                users,
                days,
                seed,
                end_date: end_date.unwrap_or_else(demo_data::default_end_date),
                persona,
                persona_shape,
            };
            let counts = demo_data::generate(&out, &options)?;
            let rows: u64 = counts.values().sum();
            println!(
                "wrote {} files, {rows} rows, to {} ({} users, {} days ending {})",
                counts.len() + 1,
                out.display(),
                options.users,
                options.days,
                options.end_date
            );
            Ok(())
        }
        Command::CreateToken {
            name,
            scope,
            expires_in_days,
        } => {
            let scope = Scope::parse(&scope)?;
            let db = open_database(&config).await?;
            let expires_at = expires_in_days.map(|days| segment_service::infra::now_ms() + days * 86_400_000);
            let (id, token) = create_token(&db, &name, &scope, "cli", expires_at).await?;
            let until = expires_at
                .map(|at| format!(", expires {}", segment_contract::segments::local_time(at, "UTC")))
                .unwrap_or_default();
            println!("created token {name:?} (id {id}, scope {scope}{until} UTC)");
            println!("{token}");
            Ok(())
        }
        Command::SetPassword { username } => {
            let password = read_password()?;
            let db = open_database(&config).await?;
            let user = find_user(&db, &username).await?;
            reset_password(&db, user.id, &password).await?;
            println!("set the password of {} and ended their sessions", user.username);
            Ok(())
        }
        Command::DisableUser { username, enable } => {
            let db = open_database(&config).await?;
            let user = find_user(&db, &username).await?;
            set_disabled(&db, None, user.id, !enable).await?;
            if enable {
                println!("enabled {}", user.username);
            } else {
                println!("disabled {} and ended their sessions", user.username);
            }
            Ok(())
        }
        Command::Openapi => {
            use utoipa::OpenApi;
            println!("{}", crate::api::openapi::ApiDoc::openapi().to_pretty_json()?);
            Ok(())
        }
    }
}

async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}
