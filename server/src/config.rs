//! Configuration from the environment, as cargo-leptos defines it plus our own.

use leptos::config::{LeptosOptions, get_configuration};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/segments.db?mode=rwc";
const OUTPUT_NAME: &str = "segment-targeting";

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub leptos_options: LeptosOptions,
    /// Mark the session cookie `Secure`; set `COOKIE_SECURE=true` behind HTTPS.
    pub secure_cookies: bool,
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let mut leptos_options = get_configuration(None)?.leptos_options;
        if leptos_options.output_name.is_empty() {
            leptos_options.output_name = OUTPUT_NAME.into();
        }
        Ok(Config {
            database_url: std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string()),
            leptos_options,
            secure_cookies: std::env::var("COOKIE_SECURE").is_ok_and(|v| v == "true" || v == "1"),
        })
    }
}
