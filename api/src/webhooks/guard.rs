//! Where webhook calls may go. An artist chooses the URL, so without this the API would
//! POST on their behalf to anything it can reach — the database, the cloud's metadata
//! service, other internal hosts — and each delivery's status would tell them what answered.
//! The rule is applied to the addresses actually connected to (after DNS, so a name that
//! later resolves inward does not help) and to IP literals; redirects are not followed and
//! proxy variables are ignored, so neither can route a call around it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Which receivers a dispatcher may call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reach {
    /// Public unicast addresses only: production.
    #[default]
    PublicOnly,
    /// Public addresses and this machine's loopback: tests' receivers, and nothing a
    /// deployed API is ever started with (`--webhooks-to-loopback`).
    AlsoLoopback,
}

/// Why a receiver's address is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error(
        "{0} is not a public address (loopback, private, link-local, shared, metadata or reserved)"
    )]
    NotPublic(IpAddr),
    #[error("the name resolves to no public address")]
    NoPublicAddress,
}

impl Reach {
    /// Whether a call may connect to `ip`.
    pub fn allows(self, ip: IpAddr) -> Result<(), Refused> {
        let ip = canonical(ip);
        if is_public(ip) || (self == Reach::AlsoLoopback && ip.is_loopback()) {
            Ok(())
        } else {
            Err(Refused::NotPublic(ip))
        }
    }

    /// Checks a URL whose host is an IP literal (names are checked when they resolve).
    pub fn allows_url(self, url: &Url) -> Result<(), Refused> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.allows(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.allows(IpAddr::V6(ip)),
            _ => Ok(()),
        }
    }

    /// The HTTP client webhook calls go through: this reach at every connection, no
    /// redirects, no proxies, short timeouts.
    pub fn client(self, connect: Duration, total: Duration) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(Resolver(self)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(connect)
            .timeout(total)
            .build()
    }
}

/// An IPv6 address that carries an IPv4 one (mapped `::ffff:a.b.c.d`, translated
/// `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96`) is judged as that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded =
                Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
            if let Some(v4) = v6.to_ipv4_mapped() {
                IpAddr::V4(v4)
            } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..6] == [0, 0, 0, 0, 0xffff, 0] {
                // NAT64, and IPv4-translated ::ffff:0:a.b.c.d.
                IpAddr::V4(embedded)
            } else {
                ip
            }
        }
        v4 => v4,
    }
}

/// Global unicast: not loopback, private (RFC 1918, unique-local), link-local (which holds
/// the 169.254.169.254 metadata service), shared CGNAT space, multicast, documentation,
/// benchmarking or reserved. `IpAddr::is_global` would say this but is not stable.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || ip.is_documentation()
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || ip.is_multicast()
        || a >= 240) // reserved and broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 is a metadata service)
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0] == 0x2002 // 6to4: relays to an IPv4 address we do not judge here
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: likewise
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64
        || s[..4] == [0x100, 0, 0, 0] // discard-only
        || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated), ::/96
}

/// Resolves with the system resolver, then keeps only the addresses the reach allows;
/// none left is an error, so the call is never made.
struct Resolver(Reach);

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.0;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| reach.allows(a.ip()).is_ok()).collect();
            if allowed.is_empty() {
                return Err(Box::new(Refused::NoPublicAddress) as Box<_>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(reach: Reach, s: &str) -> bool {
        reach.allows(s.parse().expect("an address")).is_ok()
    }

    #[test]
    fn internal_addresses_are_refused() {
        for s in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2002:7f00:1::",
            "2001::1",
            "::127.0.0.1",
            "::ffff:0:127.0.0.1",
            "::ffff:0:a9fe:a9fe",
        ] {
            assert!(!verdict(Reach::PublicOnly, s), "{s} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "64:ff9b::808:808",
        ] {
            assert!(verdict(Reach::PublicOnly, s), "{s} is public");
        }
    }

    #[test]
    fn the_test_reach_adds_loopback_and_nothing_else() {
        for s in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(verdict(Reach::AlsoLoopback, s), "{s}");
        }
        for s in [
            "10.0.0.1",
            "169.254.169.254",
            "192.168.0.1",
            "fd00::1",
            "0.0.0.0",
        ] {
            assert!(!verdict(Reach::AlsoLoopback, s), "{s}");
        }
    }

    #[test]
    fn url_literals_in_every_spelling_are_judged() {
        for u in [
            "http://127.0.0.1:5432/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
        ] {
            let url = Url::parse(u).expect("url");
            assert!(Reach::PublicOnly.allows_url(&url).is_err(), "{u}");
        }
        assert!(Reach::PublicOnly
            .allows_url(&Url::parse("https://hooks.example.com/x").expect("url"))
            .is_ok());
    }
}
