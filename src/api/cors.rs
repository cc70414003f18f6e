//! CORS for the public listener, per tenant: a browser on one of the tenant's `cors.allowed_origins` may call the
//! tenant's public endpoints directly. Preflights are answered here; other responses get the CORS headers added.

use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

use crate::model::TenantId;
use crate::service::Tessera;

const ALLOW_METHODS: &str = "GET, POST, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS: &str = "content-type, apikey, authorization, x-request-id";
const EXPOSE_HEADERS: &str = "x-request-id, link, x-total-count";

/// The tenant named by the first path segment, if it is one.
fn path_tenant(req: &Request) -> Option<TenantId> {
    req.uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .and_then(TenantId::parse)
}

/// `Some(origin)` when the request's origin may call this tenant.
async fn allowed_origin(tessera: &Tessera, req: &Request) -> Option<HeaderValue> {
    let origin = req.headers().get("origin")?.clone();
    let tenant = path_tenant(req)?;
    let config = tessera.tenant_config(tenant).await.ok()?;
    let text = origin.to_str().ok()?;
    let ok = config.cors.allowed_origins.iter().any(|o| o == text)
        || (config.cors.allow_unsafe_wildcard
            && config.cors.allowed_origins.iter().any(|o| o == "*"));
    ok.then_some(origin)
}

/// Applies the tenant's CORS policy around `ep`.
pub async fn cors<E: Endpoint>(ep: E, req: Request, tessera: Tessera) -> poem::Result<Response> {
    let origin = allowed_origin(&tessera, &req).await;
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key("access-control-request-method");
    if preflight {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        if let Some(origin) = origin {
            let h = resp.headers_mut();
            h.insert("access-control-allow-origin", origin);
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static(ALLOW_METHODS),
            );
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            h.insert("access-control-max-age", HeaderValue::from_static("7200"));
        }
        resp.headers_mut()
            .insert("vary", HeaderValue::from_static("origin"));
        return Ok(resp);
    }
    // Errors become the envelope here so that they carry the CORS headers too.
    let mut resp = match ep.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => super::error::envelope_for(e),
    };
    if let Some(origin) = origin {
        let h = resp.headers_mut();
        h.insert("access-control-allow-origin", origin);
        h.insert(
            "access-control-expose-headers",
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    resp.headers_mut()
        .append("vary", HeaderValue::from_static("origin"));
    Ok(resp)
}

/// Treats an empty POST body as `{}` (the Hanko SDK sends login initialize without a body).
pub fn empty_body_is_empty_object(req: &mut Request) {
    if req.method() != Method::POST || req.headers().contains_key("transfer-encoding") {
        return;
    }
    let empty = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == "0");
    if empty {
        req.set_body("{}");
        req.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        req.headers_mut()
            .insert("content-length", HeaderValue::from_static("2"));
    }
}
