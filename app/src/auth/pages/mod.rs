mod account;
mod login;
mod tokens;
mod users;

pub use account::AccountPage;
pub use login::LoginPage;
pub use tokens::TokensPage;
pub use users::UsersPage;
