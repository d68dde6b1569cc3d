//! Bounds on work in progress per principal, so that one principal's bulk
//! work (uploads, say) cannot take the memory or the cores of everyone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use segment_contract::error::{AppError, AppResult};

/// Work in progress per principal, with a ceiling per principal and in all.
#[derive(Debug, Clone)]
pub struct Slots {
    taken: Arc<Mutex<HashMap<String, usize>>>,
    per_key: usize,
    total: usize,
    /// What is counted, for messages ("uploads").
    what: &'static str,
}

/// A taken slot; dropping it gives the slot back.
#[derive(Debug)]
pub struct Slot {
    slots: Slots,
    key: String,
}

impl Slots {
    pub fn new(what: &'static str, per_key: usize, total: usize) -> Slots {
        Slots {
            taken: Arc::default(),
            per_key: per_key.max(1),
            total: total.max(1),
            what,
        }
    }

    /// A slot for `key`, or 429 when it (or everyone) is at the limit.
    pub fn take(&self, key: &str) -> AppResult<Slot> {
        let mut taken = self.taken.lock().expect("slots lock");
        let mine = taken.get(key).copied().unwrap_or(0);
        if mine >= self.per_key {
            return Err(AppError::RateLimited(format!(
                "You have {mine} {} in progress; wait for one to finish.",
                self.what
            )));
        }
        if taken.values().sum::<usize>() >= self.total {
            return Err(AppError::RateLimited(format!(
                "The server is handling {} {} at once; try again in a minute.",
                self.total, self.what
            )));
        }
        *taken.entry(key.to_string()).or_default() += 1;
        Ok(Slot {
            slots: self.clone(),
            key: key.to_string(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut taken = self.slots.taken.lock().expect("slots lock");
        if let Some(count) = taken.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                taken.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_per_principal_and_in_all_and_come_back() {
        let slots = Slots::new("uploads", 2, 3);
        let a1 = slots.take("a").unwrap();
        let _a2 = slots.take("a").unwrap();
        let refused = slots.take("a").unwrap_err();
        assert!(
            refused.to_string().contains("You have 2 uploads in progress"),
            "{refused}"
        );
        let _b1 = slots.take("b").unwrap();
        let all = slots.take("c").unwrap_err();
        assert!(all.to_string().contains("3 uploads at once"), "{all}");
        drop(a1);
        assert!(slots.take("c").is_ok());
    }
}
