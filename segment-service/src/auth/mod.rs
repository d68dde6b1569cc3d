//! Accounts, sessions, API tokens and the login rate limiter.

mod limiter;
mod passwords;
mod requests;
mod secrets;
mod sessions;
mod tokens;
mod users;

pub use limiter::{Attempt, LoginLimiter};
pub use passwords::hash_password;
pub use requests::{Credentials, client_address, resolve};
pub use sessions::{login, logout};
pub use tokens::{MAX_TOKEN_DAYS, TokenCache, create_token, list_tokens, revoke_token, validate_token_name};
pub use users::{
    MIN_PASSWORD, NewUser, change_password, check_role_scope, count_users, create_user, find_user,
    list_users, reset_password, set_disabled, validate_username,
};
