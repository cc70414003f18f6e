//! poem-openapi adapters: one `*Api` struct per resource, their DTOs, the error envelope and the request edge
//! (request ids, body limits, access logs). A handler checks auth, calls one service method and maps the result.

pub mod admin;
pub mod cors;
pub mod demo;
pub mod dto;
pub mod error;
pub mod health;
pub mod passkeys;
pub mod ratelimit;
pub mod transactions;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use crate::config::IpNet;
use crate::metrics::Metrics;
use crate::service::RequestMeta;
use error::ApiError;

/// The request id of the current request, stored in its extensions by [`edge`].
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Accepts a client-supplied request id only when it is short and plain.
fn sane_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Parses a tenant id from the path; a malformed id is a bad parameter.
pub fn parse_tenant_id(raw: &str) -> Result<crate::model::TenantId, ApiError> {
    crate::model::TenantId::parse(raw).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_tenant_id",
            "tenant_id must be a valid UUID",
            "",
        )
    })
}

/// The client's address as the edge decided it: the peer, or, when the peer is a trusted proxy, the nearest
/// untrusted address in `X-Forwarded-For`.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

/// The client address of a request from `peer`: `X-Forwarded-For` is walked from the right (the hop nearest to
/// us) past trusted proxies; anything unparsable stops the walk at the last trusted hop.
fn client_ip(req: &Request, peer: IpAddr, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Audit facts about a request: its id, the client's address and user agent.
pub fn request_meta(req: &Request) -> RequestMeta {
    RequestMeta {
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        source_ip: req
            .extensions()
            .get::<ClientIp>()
            .map(|c| c.0)
            .or_else(|| req.remote_addr().as_socket_addr().map(|a| a.ip()))
            .map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
    }
}

/// What the request edge of one listener needs.
#[derive(Clone)]
pub struct EdgeConfig {
    /// Maximum request body size in bytes.
    pub body_limit: usize,
    /// The listener's name in logs and metrics (`public` or `admin`).
    pub listener: &'static str,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[IpNet]>,
    /// Where requests are counted.
    pub metrics: Metrics,
}

/// The request edge shared by both listeners: assigns a request id (echoed in `X-Request-Id`), decides the
/// client address, bounds the body size, turns every error into the envelope, counts the request in the metrics
/// and logs one line per request inside a span with the request id.
pub async fn edge<E: Endpoint>(
    ep: E,
    mut req: Request,
    edge: EdgeConfig,
) -> poem::Result<Response> {
    let started = Instant::now();
    let listener = edge.listener;
    if let Some(peer) = req.remote_addr().as_socket_addr().map(|a| a.ip()) {
        let ip = client_ip(&req, peer, &edge.trusted_proxies);
        req.extensions_mut().insert(ClientIp(ip));
    }
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // The tenant is the first path segment on the public listener and the second on the admin one.
    let tenant = path
        .split('/')
        .filter(|s| !s.is_empty())
        .take(2)
        .find_map(crate::model::TenantId::parse)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        request.id = %id,
        tenant.id = %tenant,
        listener,
        http.method = %method,
        http.path = %path,
        operation = tracing::field::Empty,
        http.status = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    async move {
        let resp = match limit_body(&mut req, edge.body_limit).await {
            Err(e) => e.into_response(),
            Ok(()) => match ep.call(req).await {
                Ok(r) => r.into_response(),
                Err(e) => error::envelope_for(e),
            },
        };
        let mut resp = resp;
        if let Ok(v) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        let span = tracing::Span::current();
        let status = resp.status().as_u16();
        let operation = resp
            .data::<poem_openapi::OperationId>()
            .map(|o| o.0)
            .unwrap_or(if status == 404 { "unmatched" } else { "other" });
        span.record("operation", operation);
        edge.metrics
            .request(listener, operation, status, started.elapsed().as_secs_f64());
        span.record("http.status", status);
        span.record("duration_ms", started.elapsed().as_secs_f64() * 1000.0);
        if resp.status().is_server_error() {
            tracing::warn!("request failed");
        } else {
            tracing::debug!("request served");
        }
        Ok(resp)
    }
    .instrument(span)
    .await
}

/// Refuses bodies over `limit` bytes: at once when `Content-Length` says so, otherwise while reading.
async fn limit_body(req: &mut Request, limit: usize) -> Result<(), ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body too large",
            format!("the limit is {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(n) if n > limit => Err(too_large()),
        Some(_) => Ok(()),
        None if req.headers().contains_key("transfer-encoding") => {
            let body = req.take_body();
            let bytes = body.into_bytes_limit(limit).await.map_err(|e| match e {
                poem::error::ReadBodyError::PayloadTooLarge => too_large(),
                other => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    "unable to read request body",
                    other.to_string(),
                ),
            })?;
            req.set_body(Body::from_bytes(bytes));
            Ok(())
        }
        None => Ok(()),
    }
}
