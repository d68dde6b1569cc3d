//! The sign-in limiter.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use segment_contract::error::{AppError, AppResult};

/// Limits password guessing without letting anyone lock an owner out.
///
/// - Per account and client address: after 5 failures in 15 minutes that
///   address may not try that account again until the window passes.
/// - Per address: after 20 failures in 15 minutes, on any accounts, the
///   address may not sign in at all for a while.
/// - Per account, from every address: once 10 attempts have failed in the
///   window, an address that has itself failed on the account waits a
///   doubling delay (up to 5 minutes) between attempts. An address with no
///   failure on the account is never held back by others' failures, so
///   the right password from a clean address always gets checked.
///
/// An attempt is counted before its password is checked, so parallel
/// requests cannot get more guesses than the limit.
pub struct LoginLimiter {
    window: Duration,
    per_pair: usize,
    per_address: usize,
    backoff_after: usize,
    failures: Mutex<Failures>,
}

#[derive(Default)]
struct Failures {
    pairs: HashMap<String, Vec<Instant>>,
    addresses: HashMap<String, Vec<Instant>>,
    accounts: HashMap<String, Vec<Instant>>,
}

/// Keys tracked at most per map; past it expired entries are swept, and if
/// that is not enough the map starts over (memory stays bounded whatever
/// number of names and addresses is tried).
const LIMITER_KEYS: usize = 50_000;
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);

/// A counted attempt: a failure unless [`LoginLimiter::succeeded`] says otherwise.
pub struct Attempt {
    pair: String,
    address: String,
    account: String,
    at: Instant,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(Duration::from_secs(15 * 60), 5, 20, 10)
    }
}

fn wait_message(wait: Duration) -> String {
    let seconds = wait.as_secs().max(1);
    if seconds < 90 {
        format!("Too many failed sign-in attempts. Try again in {seconds} seconds.")
    } else {
        let minutes = seconds.div_ceil(60);
        format!("Too many failed sign-in attempts. Try again in {minutes} minutes.")
    }
}

impl LoginLimiter {
    pub fn new(window: Duration, per_pair: usize, per_address: usize, backoff_after: usize) -> Self {
        Self {
            window,
            per_pair,
            per_address,
            backoff_after,
            failures: Mutex::new(Failures::default()),
        }
    }

    /// Counts an attempt on `username` from `address`, or refuses it with
    /// when to try again.
    pub fn begin(&self, username: &str, address: Option<IpAddr>) -> AppResult<Attempt> {
        let now = Instant::now();
        let account = username.trim().to_lowercase();
        let address = address.map(|a| a.to_string()).unwrap_or_default();
        let pair = format!("{account}\n{address}");
        let window = self.window;
        let mut failures = self.failures.lock().expect("limiter lock");
        let failures = &mut *failures;
        let recent = |map: &mut HashMap<String, Vec<Instant>>, key: &str| -> Vec<Instant> {
            match map.get_mut(key) {
                Some(times) => {
                    times.retain(|t| now.duration_since(*t) < window);
                    times.clone()
                }
                None => Vec::new(),
            }
        };
        let pair_failures = recent(&mut failures.pairs, &pair);
        let address_failures = recent(&mut failures.addresses, &address);
        let account_failures = recent(&mut failures.accounts, &account);
        let until_window_passes = |times: &[Instant]| window.saturating_sub(now.duration_since(times[0]));
        if pair_failures.len() >= self.per_pair {
            return Err(AppError::RateLimited(wait_message(until_window_passes(
                &pair_failures,
            ))));
        }
        if address_failures.len() >= self.per_address {
            return Err(AppError::RateLimited(wait_message(until_window_passes(
                &address_failures,
            ))));
        }
        if !pair_failures.is_empty() && account_failures.len() >= self.backoff_after {
            let doublings =
                u32::try_from((account_failures.len() - self.backoff_after).min(16)).unwrap_or(16);
            let delay = (Duration::from_secs(1) * 2u32.pow(doublings)).min(MAX_BACKOFF);
            let since = now.duration_since(*account_failures.last().expect("not empty"));
            if since < delay {
                return Err(AppError::RateLimited(wait_message(delay - since)));
            }
        }
        for (map, key) in [
            (&mut failures.pairs, &pair),
            (&mut failures.addresses, &address),
            (&mut failures.accounts, &account),
        ] {
            if map.len() >= LIMITER_KEYS && !map.contains_key(key) {
                map.retain(|_, times| times.last().is_some_and(|t| now.duration_since(*t) < window));
                if map.len() >= LIMITER_KEYS {
                    tracing::warn!("the login limiter forgot its history: too many names or addresses");
                    map.clear();
                }
            }
            map.entry(key.clone()).or_default().push(now);
        }
        Ok(Attempt {
            pair,
            address,
            account,
            at: now,
        })
    }

    /// The attempt's password was right: it was no failure, and the
    /// address starts afresh on the account.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut failures = self.failures.lock().expect("limiter lock");
        let failures = &mut *failures;
        failures.pairs.remove(&attempt.pair);
        for (map, key) in [
            (&mut failures.addresses, &attempt.address),
            (&mut failures.accounts, &attempt.account),
        ] {
            if let Some(times) = map.get_mut(key)
                && let Some(at) = times.iter().rposition(|t| *t == attempt.at)
            {
                times.remove(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn parallel_attempts_get_no_more_guesses_than_the_limit() {
        let limiter = std::sync::Arc::new(LoginLimiter::new(Duration::from_secs(60), 5, 100, 100));
        let threads: Vec<_> = (0..30)
            .map(|_| {
                let limiter = limiter.clone();
                std::thread::spawn(move || limiter.begin("alice", addr("10.0.0.1")).is_ok())
            })
            .collect();
        let admitted = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|admitted| *admitted)
            .count();
        assert_eq!(admitted, 5, "attempts are counted before any password is checked");
    }

    #[test]
    fn an_address_that_guessed_wrong_is_refused_but_the_owner_from_a_clean_address_is_not() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 3, 100, 100);
        for _ in 0..3 {
            drop(limiter.begin("alice", addr("10.0.0.1")).unwrap());
        }
        let error = limiter.begin("Alice", addr("10.0.0.1")).err().unwrap();
        assert!(
            matches!(error, AppError::RateLimited(ref m) if m.contains("Try again")),
            "{error:?}"
        );
        let owner = limiter
            .begin("alice", addr("10.0.0.9"))
            .expect("a clean address is checked");
        limiter.succeeded(owner);
        assert!(
            limiter.begin("bob", addr("10.0.0.1")).is_ok(),
            "other accounts are unaffected"
        );
    }

    #[test]
    fn a_success_clears_the_address_on_that_account() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 3, 100, 100);
        for _ in 0..2 {
            drop(limiter.begin("alice", addr("10.0.0.1")).unwrap());
        }
        let right = limiter.begin("alice", addr("10.0.0.1")).unwrap();
        limiter.succeeded(right);
        for _ in 0..3 {
            drop(limiter.begin("alice", addr("10.0.0.1")).expect("starts afresh"));
        }
    }

    #[test]
    fn an_address_is_limited_across_accounts() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 100, 2, 100);
        drop(limiter.begin("a", addr("10.0.0.2")).unwrap());
        drop(limiter.begin("b", addr("10.0.0.2")).unwrap());
        assert!(limiter.begin("c", addr("10.0.0.2")).is_err());
        assert!(limiter.begin("c", addr("10.0.0.3")).is_ok());
    }

    #[test]
    fn an_account_under_attack_slows_addresses_that_failed_on_it_only() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 5, 100, 4);
        // Four addresses fail once each: the account is now under attack.
        for n in 1..=4 {
            drop(limiter.begin("alice", addr(&format!("10.0.1.{n}"))).unwrap());
        }
        let error = limiter
            .begin("alice", addr("10.0.1.1"))
            .err()
            .expect("a failed address waits");
        assert!(error.to_string().contains("seconds"), "{error}");
        let owner = limiter
            .begin("alice", addr("10.0.2.1"))
            .expect("a clean address is never held back");
        limiter.succeeded(owner);
    }

    #[test]
    fn the_limiter_forgets_when_too_many_names_are_tried() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 5, usize::MAX, 100);
        for n in 0..LIMITER_KEYS + 10 {
            drop(limiter.begin(&format!("user{n}"), addr("10.0.0.1")).unwrap());
        }
        let failures = limiter.failures.lock().unwrap();
        assert!(failures.pairs.len() <= LIMITER_KEYS, "{}", failures.pairs.len());
        assert!(failures.accounts.len() <= LIMITER_KEYS);
    }
}
