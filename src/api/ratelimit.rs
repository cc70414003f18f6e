//! Rate limits on the public ceremony endpoints (`POST /{tenant}/.../initialize` and `.../finalize`): a token
//! bucket per tenant and one per client address and tenant, refilled continuously over the configured window.
//! A refused request gets `429` with `Retry-After` and the error envelope, and changes nothing. The client
//! address is the one the edge decided on (see [`super::ClientIp`]), so `X-Forwarded-For` counts only from
//! trusted proxies.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

use super::ClientIp;
use super::error::ApiError;
use crate::clock::Clock;
use crate::config::RateLimitConfig;
use crate::metrics::Metrics;
use crate::model::TenantId;

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum BucketKey {
    Tenant(TenantId),
    Client(TenantId, IpAddr),
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    /// When `tokens` was last brought up to date, in Unix milliseconds.
    at_ms: i64,
}

/// The limiter shared by every request of the public listener.
#[derive(Clone)]
pub struct RateLimiter {
    config: RateLimitConfig,
    buckets: moka::sync::Cache<BucketKey, Arc<Mutex<Bucket>>>,
    metrics: Metrics,
    clock: Clock,
}

impl RateLimiter {
    /// A limiter with `config`'s limits; idle buckets are forgotten after one window (they would be full again).
    pub fn new(config: RateLimitConfig, metrics: Metrics, clock: Clock) -> Self {
        RateLimiter {
            buckets: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(Duration::from_secs(config.window_secs.max(1)))
                .build(),
            config,
            metrics,
            clock,
        }
    }

    /// Takes one token from `key`'s bucket of `capacity`; `Err(retry_after)` when it is empty.
    fn take(&self, key: BucketKey, capacity: u32) -> Result<(), Duration> {
        let capacity = f64::from(capacity);
        #[expect(clippy::cast_precision_loss, reason = "windows are at most a few days")]
        let per_second = capacity / self.config.window_secs as f64;
        let now = self.clock.now_ms();
        let bucket = self.buckets.get_with(key, || {
            Arc::new(Mutex::new(Bucket {
                tokens: capacity,
                at_ms: now,
            }))
        });
        let mut b = bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        #[expect(
            clippy::cast_precision_loss,
            reason = "elapsed milliseconds stay far below 2^52"
        )]
        let elapsed = now.saturating_sub(b.at_ms).max(0) as f64 / 1000.0;
        b.tokens = (b.tokens + elapsed * per_second).min(capacity);
        b.at_ms = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / per_second))
        }
    }

    /// Checks a request against its client's and its tenant's buckets.
    fn check(
        &self,
        tenant: TenantId,
        client: Option<IpAddr>,
    ) -> Result<(), (&'static str, Duration)> {
        if let Some(ip) = client {
            self.take(BucketKey::Client(tenant, ip), self.config.per_ip)
                .map_err(|d| ("ip", d))?;
        }
        self.take(BucketKey::Tenant(tenant), self.config.per_tenant)
            .map_err(|d| ("tenant", d))
    }
}

/// The tenant of a ceremony request (`POST /{tenant}/.../initialize|finalize`), if it is one.
fn ceremony_tenant(req: &Request) -> Option<TenantId> {
    if req.method() != Method::POST {
        return None;
    }
    let mut segments = req.uri().path().trim_matches('/').split('/');
    let tenant = TenantId::parse(segments.next()?)?;
    matches!(segments.next_back()?, "initialize" | "finalize").then_some(tenant)
}

/// Applies the limits around `ep`.
pub async fn rate_limit<E: Endpoint>(
    ep: E,
    req: Request,
    limiter: Option<RateLimiter>,
) -> poem::Result<Response> {
    if let Some(limiter) = &limiter
        && let Some(tenant) = ceremony_tenant(&req)
    {
        let client = req.extensions().get::<ClientIp>().map(|c| c.0);
        if let Err((scope, wait)) = limiter.check(tenant, client) {
            limiter.metrics.rate_limited(scope);
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let secs = secs.max(1);
            let mut resp = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests",
                format!("the {scope} limit is reached; retry after {secs} s"),
            )
            .into_response();
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
            return Ok(resp);
        }
    }
    ep.call(req).await.map(IntoResponse::into_response)
}
