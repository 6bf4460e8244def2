//! Failed sign-ins per client address, counted in memory (per instance): past
//! the limit within the window, further attempts from that address get 429.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per address and window.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 20;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_TRACKED: usize = 100_000;

/// Counts failures per address.
#[derive(Debug, Default)]
pub struct AddressThrottle {
    entries: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl AddressThrottle {
    /// `Err(seconds)` when `addr` must wait before trying again.
    pub fn check(&self, addr: IpAddr) -> Result<(), u64> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(&addr) {
            Some((failures, started))
                if *failures >= MAX_FAILURES_PER_ADDRESS && started.elapsed() < WINDOW =>
            {
                Err((WINDOW - started.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure from `addr`.
    pub fn failure(&self, addr: IpAddr) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_TRACKED {
            entries.retain(|_, (_, started)| started.elapsed() < WINDOW);
        }
        let entry = entries.entry(addr).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_throttled_after_the_limit_and_others_are_not() {
        let t = AddressThrottle::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..MAX_FAILURES_PER_ADDRESS {
            assert!(t.check(a).is_ok());
            t.failure(a);
        }
        assert!(t.check(a).is_err());
        assert!(t.check(b).is_ok());
    }
}
