//! Per-client rate limits on what costs the service more than a read: signing in (each
//! challenge is a row, each verification a signature check) and writes. Without them one
//! client could fill the nonce table or flood threads and uploads. Reads are bounded by
//! timeouts instead, and the expensive ones by the rooms they are computed in
//! (`memo::Room`), where one client may hold at most [`COMPUTATIONS`] places in line: so no
//! one client fills a line and leaves everyone else's rare pages `busy`. A client is its IP
//! address — an IPv6 client its /64, which is what one subscriber gets — as the connection
//! shows it, or as the header a reverse proxy in front of the API sets
//! (`--client-ip-header`), never both.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::ApiError;

/// A bucket: `burst` at once, then one more every `per_one` seconds.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub burst: u32,
    pub per_one_secs: u32,
}

impl Rate {
    /// No limit (`burst` 0).
    pub const OFF: Rate = Rate {
        burst: 0,
        per_one_secs: 1,
    };

    fn limiter(self) -> Option<Arc<DefaultKeyedRateLimiter<IpAddr>>> {
        let burst = NonZeroU32::new(self.burst)?;
        let quota = Quota::with_period(std::time::Duration::from_secs(u64::from(
            self.per_one_secs.max(1),
        )))?
        .allow_burst(burst);
        Some(Arc::new(DefaultKeyedRateLimiter::keyed(quota)))
    }
}

/// Production's buckets per client: sign-in 20 at once then one every 3 s (a person signs
/// in a few times a day); writes 60 at once then one a second.
pub const SIGN_IN: Rate = Rate {
    burst: 20,
    per_one_secs: 3,
};
pub const WRITES: Rate = Rate {
    burst: 60,
    per_one_secs: 1,
};

impl std::str::FromStr for Rate {
    type Err = String;

    /// `BURST/SECONDS` (e.g. `20/3`: 20 at once, then one every 3 s), or `off`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "off" {
            return Ok(Rate::OFF);
        }
        let bad = || format!("{s:?}: expected BURST/SECONDS (e.g. 20/3) or off");
        let (burst, secs) = s.split_once('/').ok_or_else(bad)?;
        let burst: u32 = burst.trim().parse().map_err(|_| bad())?;
        let per_one_secs: u32 = secs.trim().parse().map_err(|_| bad())?;
        if burst == 0 || per_one_secs == 0 {
            return Err(bad());
        }
        Ok(Rate {
            burst,
            per_one_secs,
        })
    }
}

/// Computations one client may have in a room's line at once (running or waiting): a
/// sixteenth of the line (`memo::Room::LINE`), far more than a person's pages ask at once.
pub const COMPUTATIONS: usize = 64;

/// The client a request is answered for, and how many computations it may have in a
/// room's line at once: known to the rooms through [`for_client`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    pub computations: usize,
}

tokio::task_local! {
    static CLIENT: Client;
}

/// Runs `request` as `client`'s: the rooms it computes in count it as that client's.
pub async fn for_client<F: std::future::Future>(client: Client, request: F) -> F::Output {
    CLIENT.scope(client, request).await
}

/// The client the running request is answered for, when its computations are limited.
pub fn current_client() -> Option<Client> {
    CLIENT.try_with(|c| *c).ok()
}

/// The limits a router enforces.
#[derive(Clone, Default)]
pub struct Limits {
    sign_in: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    writes: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    /// A client's computations in a room's line at once (`None`: not limited).
    computations: Option<usize>,
    /// Where the client's address is when a reverse proxy connects for it.
    client_ip_header: Option<HeaderName>,
}

impl Limits {
    pub fn new(sign_in: Rate, writes: Rate) -> Self {
        Limits {
            sign_in: sign_in.limiter(),
            writes: writes.limiter(),
            computations: None,
            client_ip_header: None,
        }
    }

    pub fn production() -> Self {
        Self::new(SIGN_IN, WRITES).with_computations(COMPUTATIONS)
    }

    /// At most `n` computations of one client in a room's line at once.
    pub fn with_computations(mut self, n: usize) -> Self {
        self.computations = Some(n.max(1));
        self
    }

    /// No limit: load tests and benches that play thousands of clients from one address.
    pub fn off() -> Self {
        Self::default()
    }

    /// Take the client's address from `header`, as the reverse proxy in front sets it
    /// (its right-most entry). Only for an API every connection reaches through that proxy.
    pub fn behind_proxy(mut self, header: HeaderName) -> Self {
        self.client_ip_header = Some(header);
        self
    }

    /// Forgets clients whose buckets are full again, so the map holds only recent ones.
    pub fn forget_idle(&self) {
        for l in [&self.sign_in, &self.writes].into_iter().flatten() {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    fn client(&self, req: &Request) -> IpAddr {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        // Behind a proxy: the right-most entry is the one our proxy wrote (what a client
        // sends is to its left, so a forged list changes nothing). A value that does not
        // parse falls back to the connection's address, never to a bucket shared by all.
        let from_proxy = self.client_ip_header.as_ref().and_then(|h| {
            let value = req.headers().get(h)?.to_str().ok()?;
            parse_ip(value.rsplit(',').next()?.trim())
        });
        // A server started without connection info puts every client in one bucket.
        let ip = from_proxy.or(peer).unwrap_or(IpAddr::from([0, 0, 0, 0]));
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
            v4 => v4,
        }
    }
}

/// An address as proxies write it: bare, with a port (`1.2.3.4:5678`, `[::1]:80`), or
/// bracketed.
fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            text.trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .ok()
        })
}

/// The middleware: a request over its client's limit gets 429 with `Retry-After`.
pub async fn enforce(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let client = limits.client(&req);
    let (bucket, what) = if req.uri().path().starts_with("/auth/") {
        (&limits.sign_in, "sign-in requests")
    } else if matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        (&limits.writes, "writes")
    } else {
        (&None, "")
    };
    if let Some(limiter) = bucket {
        if let Err(not_until) = limiter.check_key(&client) {
            let wait = not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                + 1;
            let mut resp = ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many {what} from your address; try again in {wait} s"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
    }
    let mut resp = match limits.computations {
        Some(computations) => {
            for_client(
                Client {
                    ip: client,
                    computations,
                },
                next.run(req),
            )
            .await
        }
        None => next.run(req).await,
    };
    // A client past its share of a room (`memo::Room::seat`) may ask again once one of its
    // computations ends: in a moment.
    if resp.status() == axum::http::StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert(HeaderValue::from_static("1"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(limits: &Limits, peer: &str, header: Option<&str>) -> IpAddr {
        let mut req = Request::new(axum::body::Body::empty());
        req.extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().expect("peer")));
        if let Some(v) = header {
            req.headers_mut()
                .insert("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        }
        limits.client(&req)
    }

    #[test]
    fn a_forged_header_changes_nothing() {
        let direct = Limits::production();
        // No proxy configured: the header is the client's own words, ignored.
        assert_eq!(
            client(&direct, "9.9.9.9:4000", Some("1.2.3.4")),
            IpAddr::from([9, 9, 9, 9])
        );
        let proxied = Limits::production().behind_proxy(HeaderName::from_static("x-forwarded-for"));
        // Behind the proxy: its own (right-most) entry counts, not what the client prepended.
        assert_eq!(
            client(&proxied, "10.0.0.2:4000", Some("6.6.6.6, 203.0.113.7")),
            IpAddr::from([203, 0, 113, 7])
        );
        assert_eq!(
            client(&proxied, "10.0.0.2:4000", Some("203.0.113.7:5678")),
            IpAddr::from([203, 0, 113, 7])
        );
        // Garbage falls back to the connection, not to a bucket everyone shares.
        assert_eq!(
            client(&proxied, "10.0.0.2:4000", Some("for=bogus")),
            IpAddr::from([10, 0, 0, 2])
        );
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let l = Limits::production();
        let a = client(&l, "[2001:db8:1:2:aaaa::1]:1", None);
        let b = client(&l, "[2001:db8:1:2:bbbb::9]:1", None);
        let c = client(&l, "[2001:db8:1:3::1]:1", None);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            client(&l, "[::ffff:1.2.3.4]:1", None),
            IpAddr::from([1, 2, 3, 4])
        );
    }
}
