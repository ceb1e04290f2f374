//! [`PerIp`]: how many connections one remote address may hold, and how
//! fast it may open them (an endpoint's `max_connections_per_ip` and
//! `connection_rate_per_ip`); past either, the upgrade is refused with HTTP
//! 429.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::util::sync::lock;

/// Addresses tracked before entries that hold nothing are swept.
const SWEEP_ABOVE: usize = 4096;

/// The limits of one endpoint, and what each address holds.
#[derive(Debug)]
pub(crate) struct PerIp {
    max_connections: Option<usize>,
    /// New connections a second, and the burst.
    rate: Option<(f64, f64)>,
    table: Mutex<HashMap<IpAddr, Entry>>,
}

#[derive(Debug)]
struct Entry {
    live: usize,
    tokens: f64,
    at: Instant,
}

/// One connection of an address; released when dropped.
#[derive(Debug)]
pub(crate) struct IpSlot {
    per_ip: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    pub(crate) fn new(max_connections: Option<usize>, rate: Option<(u32, u32)>) -> PerIp {
        PerIp {
            max_connections,
            rate: rate.map(|(per_sec, burst)| (f64::from(per_sec.max(1)), f64::from(burst.max(1)))),
            table: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for a new connection from `ip`, or `None` past a limit.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let now = Instant::now();
        let mut table = lock(&self.table);
        if table.len() > SWEEP_ABOVE {
            let rate = self.rate;
            table.retain(|_, entry| entry.live > 0 || !full(entry, rate, now));
        }
        let burst = self.rate.map_or(0.0, |(_, burst)| burst);
        let entry = table.entry(ip).or_insert(Entry { live: 0, tokens: burst, at: now });
        if self.max_connections.is_some_and(|max| entry.live >= max) {
            return None;
        }
        if let Some((per_sec, burst)) = self.rate {
            entry.tokens =
                (entry.tokens + now.saturating_duration_since(entry.at).as_secs_f64() * per_sec).min(burst);
            entry.at = now;
            if entry.tokens < 1.0 {
                return None;
            }
            entry.tokens -= 1.0;
        }
        entry.live += 1;
        Some(IpSlot { per_ip: self.clone(), ip })
    }
}

/// Whether `entry`'s bucket is full again (it then holds nothing worth keeping).
fn full(entry: &Entry, rate: Option<(f64, f64)>, now: Instant) -> bool {
    rate.is_none_or(|(per_sec, burst)| {
        entry.tokens + now.saturating_duration_since(entry.at).as_secs_f64() * per_sec >= burst
    })
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut table = lock(&self.per_ip.table);
        if let Some(entry) = table.get_mut(&self.ip) {
            entry.live -= 1;
            if entry.live == 0 && self.per_ip.rate.is_none() {
                table.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_connections_and_new_ones_a_second_are_bounded_per_address() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let limits = Arc::new(PerIp::new(Some(2), None));
        let (a, _b) = (limits.admit(ip).unwrap(), limits.admit(ip).unwrap());
        assert!(limits.admit(ip).is_none(), "a third at once");
        assert!(limits.admit(other).is_some(), "per address");
        drop(a);
        assert!(limits.admit(ip).is_some(), "a slot was released");

        let rate = Arc::new(PerIp::new(None, Some((1, 2))));
        assert!(rate.admit(ip).is_some() && rate.admit(ip).is_some());
        assert!(rate.admit(ip).is_none(), "past the burst");
    }
}
