//! Random secrets for sessions and tokens, stored only as their hashes.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub(super) const TOKEN_PREFIX: &str = "st_";

pub(super) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Session and API tokens carry 256 random bits, so a fast hash is enough
/// to keep the stored form useless to a reader of the database.
pub(super) fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
