//! Who is asking: a request's client address and credentials resolved to a principal.

use std::net::IpAddr;

use crate::infra::db::Db;
use segment_contract::auth::{Principal, session_secret_from};
use segment_contract::error::AppResult;

use super::sessions::principal_for_session;
use super::tokens::TokenCache;

/// The client's address: the peer's, or behind a trusted reverse proxy
/// (`TRUSTED_PROXY`) the last address of `X-Forwarded-For` that is not
/// itself a trusted proxy. Off by default: the header is anyone's to write.
pub fn client_address(headers: &http::HeaderMap, peer: Option<IpAddr>, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|address| address.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|address| !trusted.contains(address))
        .or(Some(peer))
}

/// How a request identified itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    None,
    Session(String),
    Bearer(String),
}

impl Credentials {
    pub fn from_headers(headers: &http::HeaderMap) -> Credentials {
        if let Some(value) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .unwrap_or("")
                .trim();
            return Credentials::Bearer(token.to_string());
        }
        match session_secret_from(headers) {
            Some(secret) => Credentials::Session(secret),
            None => Credentials::None,
        }
    }
}

/// Resolves the credentials to a principal. A presented but unknown or
/// revoked bearer token is an error; an unknown session is just anonymous.
pub async fn resolve(
    db: &Db,
    tokens: &TokenCache,
    credentials: &Credentials,
) -> AppResult<Option<Principal>> {
    match credentials {
        Credentials::None => Ok(None),
        Credentials::Session(secret) => principal_for_session(db, secret).await,
        Credentials::Bearer(token) => tokens.resolve(db, token).await.map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 10.0.0.7, 127.0.0.1".parse().unwrap());
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let peer = Some(proxy);
        assert_eq!(client_address(&headers, peer, &[]), peer, "off by default");
        assert_eq!(
            client_address(&headers, peer, &[proxy]),
            "10.0.0.7".parse().ok(),
            "the nearest address the proxy saw, not what the client wrote"
        );
        assert_eq!(
            client_address(&headers, "10.9.9.9".parse().ok(), &[proxy]),
            "10.9.9.9".parse().ok(),
            "an untrusted peer's header is ignored"
        );
    }

    #[test]
    fn reads_the_session_cookie_among_others() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::COOKIE, "a=1; st_session=abc; b=2".parse().unwrap());
        assert_eq!(session_secret_from(&headers).as_deref(), Some("abc"));
        assert_eq!(
            Credentials::from_headers(&headers),
            Credentials::Session("abc".into())
        );
        headers.insert(http::header::AUTHORIZATION, "Bearer st_x".parse().unwrap());
        assert_eq!(
            Credentials::from_headers(&headers),
            Credentials::Bearer("st_x".into())
        );
    }
}
