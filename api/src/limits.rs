//! Per-client rate limits on what costs the service more than a read: signing in (each
//! challenge is a row, each verification a signature check) and writes. Without them one
//! client could fill the nonce table or flood threads and uploads. Reads are bounded by
//! timeouts instead. A client is its IP address — an IPv6 client its /64, which is what one
//! subscriber gets — as the connection shows it, or as the header a reverse proxy in
//! front of the API sets (`--client-ip-header`), never both.

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
    pub const OFF: Rate = Rate { burst: 0, per_one_secs: 1 };

    fn limiter(self) -> Option<Arc<DefaultKeyedRateLimiter<IpAddr>>> {
        let burst = NonZeroU32::new(self.burst)?;
        let quota = Quota::with_period(std::time::Duration::from_secs(u64::from(self.per_one_secs.max(1))))?
            .allow_burst(burst);
        Some(Arc::new(DefaultKeyedRateLimiter::keyed(quota)))
    }
}

/// Production's buckets per client: sign-in 20 at once then one every 3 s (a person signs
/// in a few times a day); writes 60 at once then one a second.
pub const SIGN_IN: Rate = Rate { burst: 20, per_one_secs: 3 };
pub const WRITES: Rate = Rate { burst: 60, per_one_secs: 1 };

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
        Ok(Rate { burst, per_one_secs })
    }
}

/// The limits a router enforces.
#[derive(Clone, Default)]
pub struct Limits {
    sign_in: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    writes: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    /// Where the client's address is when a reverse proxy connects for it.
    client_ip_header: Option<HeaderName>,
}

impl Limits {
    pub fn new(sign_in: Rate, writes: Rate) -> Self {
        Limits {
            sign_in: sign_in.limiter(),
            writes: writes.limiter(),
            client_ip_header: None,
        }
    }

    pub fn production() -> Self {
        Self::new(SIGN_IN, WRITES)
    }

    /// No limit: load tests and benches that play thousands of clients from one address.
    pub fn off() -> Self {
        Self::default()
    }

    /// Take the client's address from `header` (set by the reverse proxy in front).
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
        let from_proxy = self.client_ip_header.as_ref().and_then(|h| {
            req.headers()
                .get(h)?
                .to_str()
                .ok()?
                .split(',')
                .next()?
                .trim()
                .parse::<IpAddr>()
                .ok()
        });
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        // A server started without connection info puts every client in one bucket.
        let ip = match &self.client_ip_header {
            Some(_) => from_proxy,
            None => peer,
        }
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        match ip {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
            IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().unwrap_or([0, 0, 0, 0].into())),
            v4 => v4,
        }
    }
}

/// The middleware: a request over its client's limit gets 429 with `Retry-After`.
pub async fn enforce(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let (bucket, what) = if req.uri().path().starts_with("/auth/") {
        (&limits.sign_in, "sign-in requests")
    } else if matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
        (&limits.writes, "writes")
    } else {
        (&None, "")
    };
    if let Some(limiter) = bucket {
        if let Err(not_until) = limiter.check_key(&limits.client(&req)) {
            let wait = not_until.wait_time_from(DefaultClock::default().now()).as_secs() + 1;
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
    next.run(req).await
}
