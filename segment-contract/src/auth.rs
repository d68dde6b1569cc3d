//! Who is asking: roles, scopes and the principal every request runs as.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Platform operator who also manages users and API tokens.
    Admin,
    Operator,
    Merchant,
    StoreManager,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Operator, Role::Merchant, Role::StoreManager];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Merchant => "merchant",
            Role::StoreManager => "store_manager",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Operator => "Operator",
            Role::Merchant => "Merchant",
            Role::StoreManager => "Store manager",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

/// A stored role that names none is a decoding error, never a default.
impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(text: String) -> Result<Role, String> {
        Role::parse(&text).ok_or_else(|| format!("{text:?} is not a role"))
    }
}

/// What a principal may see and change. Platform principals see everything;
/// a merchant only what it owns and its audience; a store manager likewise
/// for its stores.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Scope {
    Platform,
    Merchant(String),
    /// Sorted and de-duplicated store IDs.
    Stores(Vec<String>),
}

impl Scope {
    /// Parses `platform`, `merchant:ID` or `store:ID[,ID…]`.
    pub fn parse(text: &str) -> Result<Scope, AppError> {
        let text = text.trim();
        let invalid = |message: String| AppError::validation("scope", message);
        if text == "platform" {
            return Ok(Scope::Platform);
        }
        if let Some(id) = text.strip_prefix("merchant:") {
            let id = id.trim();
            segment_core::ids::validate_entity_id(id)
                .map_err(|reason| invalid(format!("merchant ID {id:?}: {reason}")))?;
            return Ok(Scope::Merchant(id.to_string()));
        }
        if let Some(ids) = text.strip_prefix("store:") {
            let mut stores = Vec::new();
            for id in ids.split(',').map(str::trim) {
                segment_core::ids::validate_entity_id(id)
                    .map_err(|reason| invalid(format!("store ID {id:?}: {reason}")))?;
                stores.push(id.to_string());
            }
            return Ok(Scope::stores(stores));
        }
        Err(invalid(format!(
            "{text:?} is not a scope; use platform, merchant:ID or store:ID[,ID…]"
        )))
    }

    /// The audience keys (`merchant:ID`, `store:ID`) whose union bounds
    /// every entity set this scope produces; `None` for the platform.
    pub fn audience_scopes(&self) -> Option<Vec<String>> {
        match self {
            Scope::Platform => None,
            Scope::Merchant(id) => Some(vec![format!("merchant:{id}")]),
            Scope::Stores(ids) => Some(ids.iter().map(|id| format!("store:{id}")).collect()),
        }
    }

    pub fn stores(mut ids: Vec<String>) -> Scope {
        ids.sort();
        ids.dedup();
        Scope::Stores(ids)
    }

    pub fn is_platform(&self) -> bool {
        matches!(self, Scope::Platform)
    }

    /// The role a principal of this scope acts as when it is not a user (API tokens).
    pub fn token_role(&self) -> Role {
        match self {
            Scope::Platform => Role::Operator,
            Scope::Merchant(_) => Role::Merchant,
            Scope::Stores(_) => Role::StoreManager,
        }
    }

    /// Whether a principal of this scope may see an object owned by `owner`.
    pub fn can_see(&self, owner: &Scope) -> bool {
        self.is_platform() || self == owner
    }

    /// The catalog's view of a merchant or store scope (`None`: the platform).
    pub fn tenant(&self) -> Option<segment_core::catalog::Tenant> {
        use segment_core::catalog::{Tenant, TenantKind};
        match self {
            Scope::Platform => None,
            Scope::Merchant(id) => Some(Tenant {
                kind: TenantKind::Merchant,
                ids: vec![id.clone()],
            }),
            Scope::Stores(ids) => Some(Tenant {
                kind: TenantKind::Store,
                ids: ids.clone(),
            }),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Platform => f.write_str("platform"),
            Scope::Merchant(id) => write!(f, "merchant:{id}"),
            Scope::Stores(ids) => write!(f, "store:{}", ids.join(",")),
        }
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> String {
        scope.to_string()
    }
}

impl TryFrom<String> for Scope {
    type Error = String;
    fn try_from(text: String) -> Result<Scope, String> {
        Scope::parse(&text).map_err(|error| error.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    User { id: i64, username: String },
    Token { id: i64, name: String },
}

/// The authenticated caller of a request: a signed-in user or an API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub subject: Subject,
    pub role: Role,
    pub scope: Scope,
}

impl Principal {
    pub fn display_name(&self) -> String {
        match &self.subject {
            Subject::User { username, .. } => username.clone(),
            Subject::Token { name, .. } => format!("token {name}"),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Identifies the principal for per-principal limits and fairness.
    pub fn key(&self) -> String {
        match &self.subject {
            Subject::User { id, .. } => format!("user:{id}"),
            Subject::Token { id, .. } => format!("token:{id}"),
        }
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Builds the scope a new account of `role` is bound to from the form's
/// merchant and store fields.
pub fn scope_for_role(role: Role, merchant: &str, stores: &str) -> Result<Scope, AppError> {
    match role {
        Role::Admin | Role::Operator => Ok(Scope::Platform),
        Role::Merchant => Scope::parse(&format!("merchant:{}", merchant.trim()))
            .map_err(|error| AppError::validation("merchant", error.to_string())),
        Role::StoreManager => Scope::parse(&format!("store:{}", stores.trim()))
            .map_err(|error| AppError::validation("stores", error.to_string())),
    }
}

/// An API token as listed to administrators (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub scope: Scope,
    /// The first characters of the token, to recognise it without revealing it.
    #[cfg_attr(feature = "server", sqlx(rename = "token_prefix"))]
    pub prefix: String,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// When the token stops working (Unix ms); `None`: when revoked.
    pub expires_at: Option<i64>,
}

/// A user account as listed to administrators (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct UserView {
    pub id: i64,
    pub username: String,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub role: Role,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub scope: Scope,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

// ---------------------------------------------------------------- the session cookie

pub const SESSION_COOKIE: &str = "st_session";
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);

pub fn session_cookie(secret: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        SESSION_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

pub fn clearing_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

pub fn session_secret_from(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty())
}

/// The client address of a request as the server resolved it (behind a
/// trusted proxy, from `X-Forwarded-For`); the server's middleware puts it in
/// the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

/// A created token: the secret is shown once and never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub id: i64,
    pub token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_in_canonical_form() {
        assert_eq!(Scope::parse("platform").unwrap(), Scope::Platform);
        assert_eq!(Scope::parse("merchant:M1").unwrap().to_string(), "merchant:M1");
        assert_eq!(
            Scope::parse("store:S2, S1,S2").unwrap().to_string(),
            "store:S1,S2"
        );
    }

    #[test]
    fn bad_scopes_say_why() {
        let error = Scope::parse("merchant:").unwrap_err();
        assert!(error.to_string().contains("merchant ID"), "{error}");
        let error = Scope::parse("team:7").unwrap_err();
        assert!(error.to_string().contains("not a scope"), "{error}");
    }

    #[test]
    fn only_platform_sees_other_owners() {
        let m1 = Scope::Merchant("M1".into());
        let m2 = Scope::Merchant("M2".into());
        assert!(Scope::Platform.can_see(&m1));
        assert!(m1.can_see(&m1));
        assert!(!m1.can_see(&m2));
        assert!(!m1.can_see(&Scope::Platform));
    }
}
