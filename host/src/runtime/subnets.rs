//! Address ranges for sessions' networks.
//!
//! An engine left to itself hands each new bridge network a /16 or /20 from
//! a short default list and runs out after about thirty networks, far below
//! a school's sessions. So the runtime carves its own range (by default
//! `10.213.0.0/16`) into small subnets (by default /26: 62 addresses, room
//! for a session's machines and the containers its judges start) and names
//! one explicitly for each session's network: 1,024 sessions per engine.

use std::{collections::HashSet, net::Ipv4Addr, str::FromStr};

/// A range split into equal subnets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubnetPool {
    base: u32,
    prefix: u8,
    subnet_prefix: u8,
}

/// Why a pool could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid subnet pool `{0}`: expected an IPv4 range like 10.213.0.0/16 split into /24 to /29 subnets")]
pub struct InvalidPool(pub String);

impl SubnetPool {
    /// `range` (such as `10.213.0.0/16`) split into subnets of
    /// `subnet_prefix` bits.
    pub fn new(range: &str, subnet_prefix: u8) -> Result<SubnetPool, InvalidPool> {
        let bad = || InvalidPool(format!("{range} into /{subnet_prefix}"));
        let (addr, prefix) = range.split_once('/').ok_or_else(bad)?;
        let addr = Ipv4Addr::from_str(addr).map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if !(8..=24).contains(&prefix) || !(24..=29).contains(&subnet_prefix) || subnet_prefix <= prefix {
            return Err(bad());
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(SubnetPool { base: u32::from(addr) & mask, prefix, subnet_prefix })
    }

    /// How many subnets the range holds.
    pub fn len(&self) -> u32 {
        1 << (self.subnet_prefix - self.prefix)
    }

    /// Whether the range holds no subnet (never, for a valid pool).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Subnet `i` in CIDR form, with its gateway (the first host address).
    pub fn subnet(&self, i: u32) -> Option<(String, String)> {
        if i >= self.len() {
            return None;
        }
        let start = self.base + (i << (32 - self.subnet_prefix));
        Some((format!("{}/{}", Ipv4Addr::from(start), self.subnet_prefix), Ipv4Addr::from(start + 1).to_string()))
    }

    /// The first subnet not in `used` (CIDR strings), starting the search
    /// at `from` and wrapping round, so successive picks spread out.
    pub fn first_free(&self, used: &HashSet<String>, from: u32) -> Option<(String, String)> {
        (0..self.len()).map(|k| (from + k) % self.len()).filter_map(|i| self.subnet(i)).find(|(cidr, _)| !used.contains(cidr))
    }
}

impl Default for SubnetPool {
    fn default() -> Self {
        SubnetPool::new("10.213.0.0/16", 26).expect("the default pool is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_splits_into_equal_subnets_with_gateways() {
        let pool = SubnetPool::default();
        assert_eq!(pool.len(), 1024);
        assert_eq!(pool.subnet(0), Some(("10.213.0.0/26".into(), "10.213.0.1".into())));
        assert_eq!(pool.subnet(5), Some(("10.213.1.64/26".into(), "10.213.1.65".into())));
        assert_eq!(pool.subnet(1023), Some(("10.213.255.192/26".into(), "10.213.255.193".into())));
        assert_eq!(pool.subnet(1024), None);
    }

    #[test]
    fn free_subnets_skip_the_used_ones_and_wrap() {
        let pool = SubnetPool::new("192.168.10.0/24", 26).unwrap();
        let used: HashSet<String> = ["192.168.10.0/26", "192.168.10.128/26"].map(String::from).into();
        assert_eq!(pool.first_free(&used, 0).unwrap().0, "192.168.10.64/26");
        assert_eq!(pool.first_free(&used, 2).unwrap().0, "192.168.10.192/26");
        let all: HashSet<String> = (0..4).map(|i| pool.subnet(i).unwrap().0).collect();
        assert_eq!(pool.first_free(&all, 1), None);
    }

    #[test]
    fn nonsense_is_refused() {
        for (range, prefix) in [("10.0.0.0", 26), ("10.0.0.0/33", 26), ("10.0.0.0/16", 30), ("10.0.0.0/26", 26), ("x/16", 26)] {
            assert!(SubnetPool::new(range, prefix).is_err(), "{range} /{prefix}");
        }
        // Host bits in the range are ignored.
        assert_eq!(SubnetPool::new("10.213.7.9/16", 26).unwrap(), SubnetPool::default());
    }
}
